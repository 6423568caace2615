//! Debian's headless Chromium driven through chromedriver (WebDriver) with fantoccini, for the
//! wall-board's tests and its first-paint figure. The flags keep Chromium off the network (this
//! machine has none) and out of any profile but a fresh one.

#![allow(dead_code)]

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use fantoccini::{Client, ClientBuilder, Locator};
use serde_json::json;

pub const CHROMIUM: &str = "/usr/bin/chromium";
pub const CHROMEDRIVER: &str = "/usr/bin/chromedriver";

pub struct Browser {
    pub client: Client,
    driver: Child,
    _profile: tempfile::TempDir,
}

impl Browser {
    /// Starts chromedriver on a free port of 127.0.0.1 and a headless 1920x1080 Chromium.
    pub async fn start() -> Browser {
        Self::start_with(None, (1920, 1080)).await
    }

    /// The same with a page of exactly `w` x `h` CSS pixels (a 720p wall, say): the window's
    /// own frame would otherwise take some of it.
    pub async fn start_sized(w: u32, h: u32) -> Browser {
        let b = Self::start_with(None, (w, h)).await;
        b.client
            .issue_cmd(Cdp {
                cmd: "Emulation.setDeviceMetricsOverride",
                params: json!({ "width": w, "height": h, "deviceScaleFactor": 1, "mobile": false }),
            })
            .await
            .expect("Emulation.setDeviceMetricsOverride");
        b
    }

    /// The same, as a phone: a 390x844 screen at three device pixels per CSS pixel, with touch.
    pub async fn start_phone() -> Browser {
        Self::start_with(
            Some(json!({
            "deviceMetrics": { "width": 390, "height": 844, "pixelRatio": 3.0, "touch": true },
            "userAgent": "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/156.0 Mobile Safari/537.36"
            })),
            (1920, 1080),
        )
        .await
    }

    async fn start_with(mobile: Option<serde_json::Value>, (w, h): (u32, u32)) -> Browser {
        for bin in [CHROMIUM, CHROMEDRIVER] {
            assert!(
                std::path::Path::new(bin).exists(),
                "{bin} is missing: install Debian's chromium and chromium-driver (scripts/test.sh does)"
            );
        }
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let driver = Command::new(CHROMEDRIVER)
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start chromedriver");
        let profile = tempfile::tempdir().unwrap();
        let caps = json!({
            "goog:chromeOptions": {
                "binary": CHROMIUM,
                "args": [
                    "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-quic",
                    "--no-first-run", "--disable-background-networking",
                    "--disable-component-update", "--disable-sync",
                    "--disable-dev-shm-usage", format!("--window-size={w},{h}"),
                    format!("--user-data-dir={}", profile.path().display()),
                ]
            }
        });
        let mut caps = caps;
        if let Some(m) = mobile {
            caps["goog:chromeOptions"]["mobileEmulation"] = m;
        }
        let caps = caps.as_object().unwrap().clone().into_iter().collect();
        let mut builder =
            ClientBuilder::new(hyper_util::client::legacy::connect::HttpConnector::new());
        builder.capabilities(caps);
        let url = format!("http://127.0.0.1:{port}");
        let deadline = Instant::now() + Duration::from_secs(30);
        let client = loop {
            match builder.connect(&url).await {
                Ok(c) => break c,
                Err(e) if Instant::now() < deadline => {
                    let _ = e;
                    tokio::time::sleep(Duration::from_millis(200)).await;
                }
                Err(e) => panic!("no WebDriver session from chromedriver: {e}"),
            }
        };
        Browser {
            client,
            driver,
            _profile: profile,
        }
    }

    /// Runs a script and returns what it returns.
    pub async fn eval(&self, script: &str) -> serde_json::Value {
        self.client.execute(script, vec![]).await.expect(script)
    }

    /// Polls `script` (which returns a value) until `ok` holds, for at most `secs`.
    pub async fn wait_until(
        &self,
        secs: f64,
        what: &str,
        script: &str,
        ok: impl Fn(&serde_json::Value) -> bool,
    ) -> serde_json::Value {
        let deadline = Instant::now() + Duration::from_secs_f64(secs);
        loop {
            let v = self.eval(script).await;
            if ok(&v) {
                return v;
            }
            if Instant::now() >= deadline {
                panic!("timed out after {secs} s waiting for {what}; last: {v}");
            }
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
    }

    pub async fn click(&self, css: &str) {
        self.client
            .find(Locator::Css(css))
            .await
            .unwrap_or_else(|e| panic!("no element {css}: {e}"))
            .click()
            .await
            .unwrap_or_else(|e| panic!("clicking {css}: {e}"));
    }

    /// Saves a screenshot as target/test-artifacts/`name`.png.
    pub async fn screenshot(&self, name: &str) -> std::path::PathBuf {
        let png = self.client.screenshot().await.expect("a screenshot");
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../target/test-artifacts");
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join(format!("{name}.png"));
        std::fs::write(&path, png).unwrap();
        path
    }

    /// Renders the page as for `media` (`print`, or `screen` again), through Chromium's DevTools
    /// protocol: what "print to PDF" lays out, visible to `eval` and `screenshot`.
    pub async fn emulate_media(&self, media: &str) {
        self.client
            .issue_cmd(Cdp {
                cmd: "Emulation.setEmulatedMedia",
                params: json!({ "media": media }),
            })
            .await
            .expect("Emulation.setEmulatedMedia");
    }

    /// The page printed to PDF (WebDriver's Print), saved as target/test-artifacts/`name`.pdf.
    pub async fn print_pdf(&self, name: &str) -> Vec<u8> {
        let pdf = self
            .client
            .print(fantoccini::wd::PrintConfiguration::default())
            .await
            .expect("a PDF");
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../target/test-artifacts");
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join(format!("{name}.pdf")), &pdf).unwrap();
        pdf
    }

    pub async fn close(self) {
        let _ = self.client.clone().close().await;
    }
}

/// A DevTools protocol command, sent through chromedriver's `goog/cdp/execute`.
#[derive(Debug)]
struct Cdp {
    cmd: &'static str,
    params: serde_json::Value,
}

impl fantoccini::wd::WebDriverCompatibleCommand for Cdp {
    fn endpoint(
        &self,
        base_url: &url::Url,
        session_id: Option<&str>,
    ) -> Result<url::Url, url::ParseError> {
        base_url.join(&format!(
            "session/{}/goog/cdp/execute",
            session_id.unwrap_or_default()
        ))
    }

    fn method_and_body(&self, _: &url::Url) -> (http::Method, Option<String>) {
        let body = json!({ "cmd": self.cmd, "params": self.params });
        (http::Method::POST, Some(body.to_string()))
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        let _ = self.driver.kill();
        let _ = self.driver.wait();
    }
}
