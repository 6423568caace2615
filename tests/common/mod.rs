//! The shared harness of the end-to-end tests: the real `floorwatch` binary on an ephemeral port
//! of 127.0.0.1, with its own data dir, and an HTTP client for its API.

#![allow(dead_code)]

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::Value;

pub const BIN: &str = env!("CARGO_BIN_EXE_floorwatch");

/// The repository's alerts.toml.
pub fn repo_config() -> String {
    std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("../alerts.toml")).unwrap()
}

pub struct Daemon {
    child: Child,
    pub url: String,
    pub dir: PathBuf,
    pub log: Arc<Mutex<Vec<String>>>,
    pub http: reqwest::Client,
    token: Option<String>,
}

pub struct Start<'a> {
    pub config: &'a str,
    pub dir: &'a Path,
    pub env: Vec<(&'a str, &'a str)>,
}

impl Daemon {
    /// Starts `floorwatch run` with `config` written into `dir`, and waits until it listens.
    pub fn start(s: Start) -> Daemon {
        Self::start_at(s, "127.0.0.1:0")
    }

    /// Starts on a given address: a restart on the port the clients already know.
    pub fn start_at(s: Start, listen: &str) -> Daemon {
        let config = s.dir.join("alerts.toml");
        std::fs::write(&config, s.config).unwrap();
        let mut cmd = Command::new(BIN);
        cmd.args(["run", "--config"])
            .arg(&config)
            .args(["--listen", listen, "--data-dir"])
            .arg(s.dir.join("data"));
        for (k, v) in &s.env {
            cmd.env(k, v);
        }
        Self::spawn(cmd, s.dir)
    }

    /// Starts `cmd` (a `floorwatch` command that serves: `run`, `demo`) with its log captured,
    /// and waits until it listens.
    pub fn spawn(mut cmd: Command, dir: &Path) -> Daemon {
        cmd.env("RUST_LOG", "info")
            .env("NO_COLOR", "1")
            .stdout(Stdio::null())
            .stderr(Stdio::piped());
        let mut child = cmd.spawn().expect("start floorwatch");
        let log = Arc::new(Mutex::new(Vec::new()));
        let (tx, rx) = std::sync::mpsc::channel();
        let stderr = child.stderr.take().unwrap();
        let sink = log.clone();
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                if let Some(i) = line.find("listening on http://") {
                    let url = line[i + "listening on ".len()..]
                        .split_whitespace()
                        .next()
                        .unwrap()
                        .to_string();
                    let _ = tx.send(url);
                }
                sink.lock().unwrap().push(line);
            }
        });
        let url = match rx.recv_timeout(Duration::from_secs(30)) {
            Ok(u) => u,
            Err(_) => {
                let _ = child.kill();
                panic!(
                    "floorwatch did not start:\n{}",
                    log.lock().unwrap().join("\n")
                );
            }
        };
        Daemon {
            child,
            url,
            dir: dir.to_path_buf(),
            log,
            http: reqwest::Client::new(),
            token: None,
        }
    }

    pub fn with_token(mut self, token: &str) -> Self {
        self.token = Some(token.to_string());
        self
    }

    pub fn logs(&self) -> String {
        self.log.lock().unwrap().join("\n")
    }

    /// Waits until the daemon has logged a line containing `needle`. The log is read by another
    /// thread, so a line can arrive after the API already shows what it reports.
    pub async fn wait_for_log(&self, needle: &str, secs: u64) {
        let deadline = Instant::now() + Duration::from_secs(secs);
        while !self.logs().contains(needle) {
            if Instant::now() > deadline {
                panic!(
                    "no log line with {needle:?} in {secs} s; logs:\n{}",
                    self.logs()
                );
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    fn req(
        &self,
        method: reqwest::Method,
        path: &str,
        token: Option<&str>,
    ) -> reqwest::RequestBuilder {
        let r = self.http.request(method, format!("{}{path}", self.url));
        match token.or(self.token.as_deref()) {
            Some(t) => r.bearer_auth(t),
            None => r,
        }
    }

    pub async fn get(&self, path: &str) -> (u16, Value) {
        let r = self
            .req(reqwest::Method::GET, path, None)
            .send()
            .await
            .unwrap();
        let status = r.status().as_u16();
        let text = r.text().await.unwrap();
        (
            status,
            serde_json::from_str(&text).unwrap_or(Value::String(text)),
        )
    }

    pub async fn get_text(&self, path: &str) -> (u16, String) {
        let r = self
            .req(reqwest::Method::GET, path, None)
            .send()
            .await
            .unwrap();
        (r.status().as_u16(), r.text().await.unwrap())
    }

    pub async fn post(
        &self,
        path: &str,
        body: impl Into<reqwest::Body>,
        token: Option<&str>,
    ) -> (u16, Value) {
        let r = self
            .req(reqwest::Method::POST, path, token)
            .body(body)
            .send()
            .await
            .unwrap();
        let status = r.status().as_u16();
        let text = r.text().await.unwrap();
        (
            status,
            serde_json::from_str(&text).unwrap_or(Value::String(text)),
        )
    }

    /// Polls `GET path` until `ok` holds, for at most `secs` seconds.
    pub async fn wait_for(&self, path: &str, secs: u64, ok: impl Fn(&Value) -> bool) -> Value {
        let deadline = Instant::now() + Duration::from_secs(secs);
        loop {
            let (_, v) = self.get(path).await;
            if ok(&v) {
                return v;
            }
            if Instant::now() > deadline {
                panic!(
                    "timed out waiting on {path}; last answer: {v:#}\nlogs:\n{}",
                    self.logs()
                );
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    pub fn signal(&self, sig: &str) {
        let ok = Command::new("kill")
            .args([&format!("-{sig}"), &self.child.id().to_string()])
            .status()
            .unwrap();
        assert!(ok.success());
    }

    /// SIGKILL: no chance to flush or clean up.
    pub fn kill_hard(mut self) {
        self.child.kill().unwrap();
        self.child.wait().unwrap();
    }

    /// SIGTERM and the exit status.
    pub fn stop(mut self) -> std::process::ExitStatus {
        self.signal("TERM");
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            if let Some(s) = self.child.try_wait().unwrap() {
                return s;
            }
            assert!(
                Instant::now() < deadline,
                "floorwatch did not stop on SIGTERM"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A port of 127.0.0.1 free a moment ago, for a server a test starts later (or not at all).
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// RFC 3339 for `secs` seconds from now (negative: in the past).
pub fn at(secs: i64) -> String {
    (chrono::Utc::now() + chrono::Duration::seconds(secs))
        .to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}

/// An ACD queue reading: `waiting` contacts on `queue`, stamped `secs` from now.
pub fn reading(queue: &str, waiting: u32, secs: i64) -> String {
    format!(
        r#"{{"type":"queue","queue":"{queue}","at":"{}","waiting":{waiting}}}"#,
        at(secs)
    )
}

/// Polls `f` until it gives something, for at most `secs` seconds.
pub async fn until<T>(secs: u64, what: &str, f: impl Fn() -> Option<T>) -> T {
    let deadline = Instant::now() + Duration::from_secs(secs);
    loop {
        if let Some(v) = f() {
            return v;
        }
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Runs `cmd` to its end, or kills it after `secs` seconds and fails the test: a command that
/// should stop (an error at start, a `check`) must not hang the suite.
pub fn output_within(cmd: &mut Command, secs: u64) -> std::process::Output {
    let mut child = cmd
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start the command");
    let deadline = Instant::now() + Duration::from_secs(secs);
    while child.try_wait().unwrap().is_none() {
        if Instant::now() > deadline {
            let _ = child.kill();
            let out = child.wait_with_output().unwrap();
            panic!(
                "still running after {secs} s; stderr:\n{}",
                String::from_utf8_lossy(&out.stderr)
            );
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    child.wait_with_output().unwrap()
}
