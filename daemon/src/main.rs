//! The `floorwatch` command: run the daemon, check a configuration, play the demo, write or
//! replay a simulated trace.

use std::io::Write;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use clap::{Parser, Subcommand};
use floorwatch::config::{self, Config, parse_duration};
use floorwatch::engine::Effect;
use floorwatch::http::auth::Auth;
use floorwatch::ingest::replay::replay_texts;
use floorwatch::server::{self, DaemonOptions};
use floorwatch::sim::{self, Scenario};
use floorwatch::watch::{self, Clock};
use tokio::net::TcpListener;
use tracing::{info, warn};

#[derive(Parser)]
#[command(
    name = "floorwatch",
    version,
    about = "Crisis and SLA alerting for contact centers"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Clone, Copy, clap::ValueEnum)]
enum Format {
    /// Markdown, for people.
    Md,
    /// JSON, for programs.
    Json,
}

#[derive(Subcommand)]
enum Command {
    /// Run the daemon.
    Run {
        /// The configuration file.
        #[arg(long, env = "FLOORWATCH_CONFIG", default_value = "alerts.toml")]
        config: PathBuf,
        /// Listen address (overrides daemon.listen).
        #[arg(long, env = "FLOORWATCH_LISTEN")]
        listen: Option<SocketAddr>,
        /// Data directory (overrides daemon.data_dir).
        #[arg(long, env = "FLOORWATCH_DATA_DIR")]
        data_dir: Option<PathBuf>,
    },
    /// Check a configuration: report every error with file:line:column, then run its tests.
    Check {
        #[arg(default_value = "alerts.toml")]
        file: PathBuf,
    },
    /// Run the daemon on the built-in configuration with a simulated center playing an outage.
    Demo {
        #[arg(long, default_value = "127.0.0.1:8070")]
        listen: SocketAddr,
        /// Data directory (default: a fresh one under the system's temp dir).
        #[arg(long)]
        data_dir: Option<PathBuf>,
        /// How much faster than real time the simulated center runs.
        #[arg(long, default_value_t = 3.0)]
        speed: f64,
        #[arg(long, default_value_t = 1)]
        seed: u64,
    },
    /// Write a simulated trace as NDJSON, and its labels beside it (`OUT` minus its extension,
    /// plus `.labels.json`).
    Simulate {
        #[arg(long)]
        out: PathBuf,
        /// Start time (RFC 3339, or `now`). `labelled` starts at local midnight of its day.
        #[arg(long, default_value = "2026-11-23T08:00:00Z")]
        start: String,
        /// Length of the trace (default: 7d for `labelled`, 1h otherwise).
        #[arg(long)]
        duration: Option<String>,
        #[arg(long, default_value_t = 1)]
        seed: u64,
        /// outage, staffing-drop, complaint-wave, email-backlog, feed-outage, shift-change,
        /// campaign, holiday, normal, or labelled (a week with one of each at seeded times).
        #[arg(long, default_value = "outage")]
        scenario: String,
        /// When the injection starts, from the start of the trace.
        #[arg(long = "at", alias = "outage-at", default_value = "20m")]
        at: String,
        /// How long it lasts (default: outage 10m, staffing-drop 75m, complaint-wave 40m,
        /// email-backlog 4h, feed-outage 20m, shift-change 90m, campaign 3h, holiday 1d).
        #[arg(long = "for", alias = "outage-for")]
        length: Option<String>,
        /// Keep arrivals at the daily peak rate instead of following the time of day.
        #[arg(long)]
        flat: bool,
    },
    /// Replay a trace (or the daemon's journal) and count the pages it would send; with labels,
    /// the crises caught, their delay, and the false pages.
    Backtest {
        /// The trace (NDJSON); or --data-dir.
        trace: Option<PathBuf>,
        /// Replay the daemon's own journal instead: the segments under DIR/journal/, in order.
        #[arg(long, conflicts_with = "trace")]
        data_dir: Option<PathBuf>,
        #[arg(long, default_value = "alerts.toml")]
        config: PathBuf,
        /// The labels (default: `<trace stem>.labels.json` beside the trace, if there).
        #[arg(long)]
        labels: Option<PathBuf>,
        #[arg(long, value_enum, default_value = "md")]
        format: Format,
    },
    /// Run a drill (a `[[drill]]` of alerts.toml) on the running daemon.
    Drill {
        name: String,
        /// The daemon's address.
        #[arg(long, env = "FLOORWATCH_URL", default_value = "http://127.0.0.1:8070")]
        url: String,
        /// A lead or admin token, if the daemon has tokens.
        #[arg(long, env = "FLOORWATCH_TOKEN")]
        token: Option<String>,
    },
    /// Watch the live stream in the terminal: queues and open incidents, redrawn on every frame.
    Tail {
        /// The daemon's address.
        #[arg(long, env = "FLOORWATCH_URL", default_value = "http://127.0.0.1:8070")]
        url: String,
        /// A viewer token, if the daemon has tokens.
        #[arg(long, env = "FLOORWATCH_TOKEN")]
        token: Option<String>,
        /// Print the first full picture and stop.
        #[arg(long)]
        once: bool,
        /// Print each picture below the last instead of redrawing the screen.
        #[arg(long)]
        plain: bool,
    },
    /// Send a test message to one target (`webhook:NAME`) and say how it went.
    SendTest {
        target: String,
        #[arg(long, default_value = "alerts.toml")]
        config: PathBuf,
    },
    /// Feed a recorded trace through the engine and print the incidents it opens.
    Replay {
        file: PathBuf,
        #[arg(long, default_value = "alerts.toml")]
        config: PathBuf,
        /// Play at this many times real speed instead of as fast as possible.
        #[arg(long)]
        speed: Option<f64>,
    },
}

/// glibc gives each thread that allocates under contention an arena of its own, up to eight per
/// core, and keeps what each arena once held: the daemon's RSS then steps up by tens of MiB at
/// random moments of a steady load (seen in the soak bench) although its data stay bounded. Two
/// arenas keep memory following what is open; `MALLOC_ARENA_MAX` in the environment still wins.
fn limit_malloc_arenas() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    if std::env::var_os("MALLOC_ARENA_MAX").is_none() {
        // SAFETY: mallopt only sets a tunable of the allocator; called before any thread starts.
        unsafe {
            libc::mallopt(libc::M_ARENA_MAX, 2);
        }
    }
}

fn main() -> anyhow::Result<()> {
    limit_malloc_arenas();
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into()),
        )
        .with_writer(std::io::stderr)
        .init();
    let cli = Cli::parse();
    match cli.command {
        Command::Check { file } => check(&file),
        Command::Simulate {
            out,
            start,
            duration,
            seed,
            scenario,
            at,
            length,
            flat,
        } => simulate(
            &out,
            &start,
            duration.as_deref(),
            seed,
            &scenario,
            (&at, length.as_deref()),
            flat,
        ),
        Command::Backtest {
            trace,
            data_dir,
            config,
            labels,
            format,
        } => backtest(trace, data_dir, &config, labels, format),
        Command::Replay {
            file,
            config,
            speed,
        } => replay(&file, &config, speed),
        Command::Run {
            config,
            listen,
            data_dir,
        } => runtime()?.block_on(run(config, listen, data_dir)),
        Command::SendTest { target, config } => runtime()?.block_on(send_test(&target, &config)),
        Command::Drill { name, url, token } => runtime()?.block_on(drill(&name, &url, token)),
        Command::Tail {
            url,
            token,
            once,
            plain,
        } => runtime()?.block_on(floorwatch::tail::run(floorwatch::tail::TailOptions {
            url,
            token,
            once,
            plain,
        })),
        Command::Demo {
            listen,
            data_dir,
            speed,
            seed,
        } => runtime()?.block_on(demo(listen, data_dir, speed, seed)),
    }
}

fn runtime() -> anyhow::Result<tokio::runtime::Runtime> {
    Ok(tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?)
}

/// The configuration for sending: every secret must be set.
fn load(path: &Path) -> anyhow::Result<Config> {
    config::load(path)
        .and_then(Config::require_secrets)
        .map_err(|e| anyhow::anyhow!("{e}"))
}

fn check(file: &Path) -> anyhow::Result<()> {
    let cfg = match config::load(file) {
        Ok(c) => Arc::new(c),
        Err(e) => {
            eprintln!("{e}");
            std::process::exit(1);
        }
    };
    for w in &cfg.unset_secrets {
        eprintln!("warning: {w} (`floorwatch run` needs it)");
    }
    println!(
        "{}: ok ({} queues, {} rules, {} schedules)",
        file.display(),
        cfg.queues.len(),
        cfg.rules.len(),
        cfg.schedules.len()
    );
    let outcomes = floorwatch::check::run_tests(&cfg);
    let failed = outcomes.iter().filter(|o| !o.failures.is_empty()).count();
    for o in &outcomes {
        if o.failures.is_empty() {
            println!("test \"{}\": passed", o.name);
        } else {
            println!("test \"{}\" ({}): FAILED", o.name, o.origin);
            for f in &o.failures {
                println!("  - {f}");
            }
        }
    }
    if !outcomes.is_empty() {
        println!("{} passed, {} failed", outcomes.len() - failed, failed);
    }
    if failed > 0 {
        std::process::exit(1);
    }
    Ok(())
}

fn simulate(
    out: &Path,
    start: &str,
    duration: Option<&str>,
    seed: u64,
    scenario: &str,
    (at, length): (&str, Option<&str>),
    flat: bool,
) -> anyhow::Result<()> {
    use floorwatch::sim::{Kind, scenarios::default_length};
    let start = match start {
        "now" => chrono::Utc::now().timestamp_millis(),
        s => chrono::DateTime::parse_from_rfc3339(s)
            .context("--start must be an RFC 3339 time or \"now\"")?
            .timestamp_millis(),
    };
    let dur = |flag: &str, s: &str| parse_duration(s).map_err(|e| anyhow::anyhow!("{flag}: {e}"));
    let default_duration = if scenario == "labelled" { "7d" } else { "1h" };
    let duration = dur("--duration", duration.unwrap_or(default_duration))?;
    let mut s = match (scenario, Kind::parse(scenario)) {
        ("labelled", _) => Scenario::labelled(start, duration, seed),
        ("normal", _) => Scenario::mid_size_center(start, duration, seed),
        (_, Some(kind)) if kind != Kind::QuietNight => {
            let length = match (length, kind) {
                (Some(l), _) => dur("--for", l)?,
                (None, Kind::Outage) => 10 * 60_000,
                (None, k) => default_length(k),
            };
            Scenario::single(kind, start, duration, seed, dur("--at", at)?, length)
        }
        _ => bail!(
            "unknown scenario \"{scenario}\"; expected outage, staffing-drop, complaint-wave, \
             email-backlog, feed-outage, shift-change, campaign, holiday, normal or labelled"
        ),
    };
    s.daily_curve = !flat;
    let events = sim::simulate(&s);
    std::fs::write(out, sim::to_ndjson(&events))
        .with_context(|| format!("writing {}", out.display()))?;
    let labels = s.labels();
    let labels_out = sim::labels_path(out);
    labels.write(&labels_out)?;
    eprintln!(
        "wrote {} events to {} ({} to {}), {} labels to {}",
        events.len(),
        out.display(),
        chrono::DateTime::from_timestamp_millis(s.start).unwrap_or_default(),
        chrono::DateTime::from_timestamp_millis(s.start + s.duration).unwrap_or_default(),
        labels.labels.len(),
        labels_out.display()
    );
    Ok(())
}

fn backtest(
    trace: Option<PathBuf>,
    data_dir: Option<PathBuf>,
    config_path: &Path,
    labels: Option<PathBuf>,
    format: Format,
) -> anyhow::Result<()> {
    let cfg = Arc::new(load(config_path)?);
    let (source, texts) = match (&trace, &data_dir) {
        (Some(t), _) => (
            t.display().to_string(),
            vec![std::fs::read_to_string(t).with_context(|| format!("reading {}", t.display()))?],
        ),
        (None, Some(d)) => {
            let dir = d.join("journal");
            if !dir.is_dir() {
                bail!(
                    "{}: no journal here (is it a Floorwatch data dir?)",
                    dir.display()
                );
            }
            let segments = floorwatch::ingest::journal::Journal::open(&dir)
                .and_then(|j| j.segments_since(i64::MIN))
                .with_context(|| format!("listing {}", dir.display()))?;
            let texts = segments
                .iter()
                .map(|p| {
                    std::fs::read_to_string(p).with_context(|| format!("reading {}", p.display()))
                })
                .collect::<anyhow::Result<Vec<_>>>()?;
            (
                format!("{} ({} journal segments)", d.display(), texts.len()),
                texts,
            )
        }
        (None, None) => bail!("name a trace (floorwatch backtest TRACE.ndjson) or --data-dir DIR"),
    };
    let labels_file = labels.or_else(|| {
        let p = sim::labels_path(trace.as_ref()?);
        p.exists().then_some(p)
    });
    let labels = labels_file.as_deref().map(sim::Labels::read).transpose()?;
    let report = floorwatch::backtest::backtest(&cfg, &texts, labels.as_ref(), &source)
        .with_context(|| format!("{source}: no valid event to replay"))?;
    match format {
        Format::Md => {
            if let Some(l) = &labels_file {
                eprintln!("labels: {}", l.display());
            }
            print!("{}", floorwatch::backtest::markdown(&report));
        }
        Format::Json => println!("{}", serde_json::to_string_pretty(&report)?),
    }
    Ok(())
}

fn replay(file: &Path, config_path: &Path, speed: Option<f64>) -> anyhow::Result<()> {
    let cfg = Arc::new(load(config_path)?);
    let text =
        std::fs::read_to_string(file).with_context(|| format!("reading {}", file.display()))?;
    let mut opened = 0;
    let mut stdout = std::io::stdout().lock();
    let print = |_: i64, fx: &mut Vec<Effect>| {
        for f in fx.drain(..) {
            if let Effect::Timeline(e) = f {
                use floorwatch_protocol::TimelineKind::*;
                if matches!(e.kind, Opened | SeverityRaised | Reopened | Resolved) {
                    if e.kind == Opened {
                        opened += 1;
                    }
                    let _ = writeln!(
                        stdout,
                        "{}  #{:<4} {:<15} {}",
                        e.at.format("%Y-%m-%d %H:%M:%S"),
                        e.incident_id,
                        e.kind.as_str(),
                        e.message
                    );
                }
            }
        }
    };
    let done = replay_texts(&cfg, &[text], speed, print)
        .with_context(|| format!("{}: the trace has no valid event", file.display()))?;
    let r = &done.replay.report;
    eprintln!(
        "{} events ({} accepted, {} duplicates, {} refused) in {:.3}s ({:.0} events/s); {} incidents opened, {} still open",
        done.events,
        r.accepted,
        r.duplicates,
        r.refused.len(),
        done.secs,
        done.events as f64 / done.secs,
        opened,
        done.engine.snapshot().incidents.len()
    );
    for refusal in r.refused.iter().take(10) {
        eprintln!("  line {}: {}", refusal.line, refusal.error);
    }
    Ok(())
}

async fn drill(name: &str, url: &str, token: Option<String>) -> anyhow::Result<()> {
    let mut req = reqwest::Client::new()
        .post(format!(
            "{}/api/v1/drills/{name}",
            url.trim_end_matches('/')
        ))
        .header("content-type", "application/json")
        .body(r#"{"by":"floorwatch drill"}"#);
    if let Some(t) = token {
        req = req.bearer_auth(t);
    }
    let resp = req
        .send()
        .await
        .with_context(|| format!("reaching the daemon at {url}"))?;
    let status = resp.status();
    let body: serde_json::Value = resp.json().await.unwrap_or_default();
    if !status.is_success() {
        bail!(
            "drill refused ({status}): {}",
            body["error"].as_str().unwrap_or("?")
        );
    }
    println!(
        "drill started: incident #{} \"{}\"; follow it at {url}/api/v1/incidents/{}",
        body["id"],
        body["title"].as_str().unwrap_or(""),
        body["id"]
    );
    Ok(())
}

async fn send_test(target: &str, config_path: &Path) -> anyhow::Result<()> {
    use floorwatch::notify::deliver::{Senders, deliver};
    use floorwatch::notify::page::{Links, Page, Reason};
    use floorwatch::notify::{Attempt, oncall};
    use floorwatch_protocol::{PageTarget, TargetKind};
    let cfg = load(config_path)?;
    let now = chrono::Utc::now();
    let incident = floorwatch_protocol::Incident::new(
        0,
        "send-test".into(),
        "test".into(),
        "floorwatch".into(),
        floorwatch_protocol::Severity::Info,
        format!("Floorwatch test message to {target}: if you read this, pages reach you"),
        now,
        Default::default(),
    );
    let incident = floorwatch_protocol::Incident {
        title_zh: Some(format!(
            "Floorwatch 发往 {target} 的测试消息：看到它，说明告警能送达"
        )),
        ..incident
    };
    let key = format!("fw-test-{}", now.timestamp_millis());
    let public_url = &cfg.daemon.public_url;
    let page = |lang| Page {
        incident: &incident,
        reason: Reason::Test,
        lang,
        // No incident behind a test: Open leads to the board.
        links: Links {
            open: format!("{public_url}/"),
            ack: None,
        },
    };
    let Some(to) = PageTarget::parse(target) else {
        bail!("unknown target \"{target}\"; write webhook:NAME, email:NAME or oncall:NAME");
    };
    let known = match to.kind {
        TargetKind::Webhook => cfg.webhooks.iter().any(|w| w.name == to.name),
        TargetKind::Email => cfg.emails.iter().any(|e| e.name == to.name),
        TargetKind::OnCall => cfg.oncall.iter().any(|s| s.name == to.name),
    };
    if !known {
        bail!(
            "no {} \"{}\" in {}",
            to.kind,
            to.name,
            config_path.display()
        );
    }
    if to.kind != TargetKind::Webhook && cfg.smtp.is_none() {
        bail!("{} has no [smtp] section", config_path.display());
    }
    // Whoever holds a rota now (overrides are the running daemon's: not seen here).
    let on_duty = |name: &str| {
        let s = cfg.oncall.iter().find(|s| s.name == name)?;
        let (i, _, _) = oncall::on_duty(s, &[], now.timestamp_millis());
        s.people.get(i).cloned()
    };
    let senders = Senders::new(None);
    let attempt = deliver(&cfg, &senders, &to, &key, on_duty, |_, lang| page(lang)).await;
    match attempt {
        Attempt::Delivered { detail } => {
            println!("{target}: delivered ({detail})");
            Ok(())
        }
        Attempt::Retry { error, .. } | Attempt::Final { error } => {
            bail!("{target}: not delivered: {error}")
        }
    }
}

/// Resolves when SIGTERM or SIGINT arrives; reloads on SIGHUP meanwhile.
async fn signals(reload: Option<floorwatch::http::Reloader>) {
    use tokio::signal::unix::{SignalKind, signal};
    let mut term = signal(SignalKind::terminate()).expect("SIGTERM handler");
    let mut int = signal(SignalKind::interrupt()).expect("SIGINT handler");
    let mut hup = signal(SignalKind::hangup()).expect("SIGHUP handler");
    loop {
        tokio::select! {
            _ = term.recv() => { info!("SIGTERM: shutting down"); return; }
            _ = int.recv() => { info!("SIGINT: shutting down"); return; }
            _ = hup.recv() => match reload.clone() {
                Some(r) => { let _ = tokio::task::spawn_blocking(move || r()).await; }
                None => warn!("SIGHUP: nothing to reload (embedded configuration)"),
            },
        }
    }
}

async fn run(
    config_path: PathBuf,
    listen: Option<SocketAddr>,
    data_dir: Option<PathBuf>,
) -> anyhow::Result<()> {
    let mut cfg = load(&config_path)?;
    let overrides = move |c: &mut Config| {
        if let Some(l) = listen {
            c.daemon.listen = l;
        }
        if let Some(d) = &data_dir {
            c.daemon.data_dir = d.clone();
        }
    };
    overrides(&mut cfg);
    let auth = Auth::from_env().map_err(|e| anyhow::anyhow!("refusing the tokens:\n{e}"))?;
    if auth.is_open() {
        warn!("no FLOORWATCH_*_TOKENS set: the API is open to anyone who can reach it");
    }
    let opts = DaemonOptions {
        data_dir: cfg.daemon.data_dir.clone(),
        config: Arc::new(cfg),
        config_path: Some(config_path.clone()),
        clock: watch::wall_clock(),
        auth,
        prometheus: Some(floorwatch::telemetry::install()?),
        extra_routes: None,
        mail_folder: None,
    };
    let watch = server::open(&opts)?;
    let reload = server::reloader(watch.clone(), config_path, overrides);
    let listener = TcpListener::bind(opts.config.daemon.listen)
        .await
        .with_context(|| format!("binding {}", opts.config.daemon.listen))?;
    server::serve(
        listener,
        watch,
        &opts,
        Some(reload.clone()),
        signals(Some(reload)),
    )
    .await
}

async fn demo(
    listen: SocketAddr,
    data_dir: Option<PathBuf>,
    speed: f64,
    seed: u64,
) -> anyhow::Result<()> {
    if !(0.1..=100.0).contains(&speed) {
        bail!("--speed must be between 0.1 and 100");
    }
    let mut cfg = config::parse_config(config::EMBEDDED, "alerts.toml (embedded)", None)
        .map_err(|e| anyhow::anyhow!("the embedded configuration is invalid:\n{e}"))?;
    cfg.daemon.listen = listen;
    cfg.daemon.public_url = format!("http://{listen}");
    let data_dir = data_dir.unwrap_or_else(|| {
        std::env::temp_dir().join(format!("floorwatch-demo-{}", std::process::id()))
    });
    cfg.daemon.data_dir = data_dir.clone();
    // A board on the demo's own machine needs no token (the shipped alerts.toml keeps it off).
    cfg.live.open_on_loopback = true;
    // Every page goes to the built-in receiver, which logs it.
    for w in &mut cfg.webhooks {
        w.url = format!("http://{listen}/-/demo/hooks/{}", w.name);
    }
    // Demo time runs `speed` times faster than the wall clock, from now.
    let wall0 = Instant::now();
    let sim0 = chrono::Utc::now().timestamp_millis();
    let clock: Clock = Arc::new(move || sim0 + (wall0.elapsed().as_millis() as f64 * speed) as i64);
    let opts = DaemonOptions {
        config: Arc::new(cfg),
        config_path: None,
        data_dir: data_dir.clone(),
        clock: clock.clone(),
        auth: Auth::default(),
        prometheus: Some(floorwatch::telemetry::install()?),
        extra_routes: Some(sim::receiver::router()),
        mail_folder: Some(data_dir.join("mail")),
    };
    let watch = server::open(&opts)?;
    let listener = TcpListener::bind(listen)
        .await
        .with_context(|| format!("binding {listen}"))?;
    let addr = listener.local_addr()?;
    eprintln!(
        "\nFloorwatch demo: a simulated mid-size center (phone, chat, e-mail) plays an outage every\n\
         30 simulated minutes ({:.1} minutes of wall time at --speed {speed}).\n\
         \n  wall-board:  http://{addr}/{}\n  live state:  http://{addr}/api/v1/state  (or: floorwatch tail --url http://{addr})\n  incidents:   http://{addr}/api/v1/incidents\n  pages sent:  http://{addr}/-/demo/hooks (the built-in webhook receiver)\n  e-mail:      {}/mail/*.eml\n  metrics:     http://{addr}/metrics\n  data dir:    {}\n\
         \nIncidents and notifications are logged below as they happen. Ctrl-C stops.\n",
        30.0 / speed,
        if floorwatch::http::board::is_built() {
            ""
        } else {
            "  (not built into this binary: run scripts/build-board.sh)"
        },
        data_dir.display(),
        data_dir.display()
    );
    let feeder = tokio::spawn(feed_simulation(watch.clone(), clock, speed, seed));
    let result = server::serve(listener, watch, &opts, None, signals(None)).await;
    feeder.abort();
    result
}

/// The queues whose feed a running drill cuts (`stop_feed`): the drill's scope.
fn drills_cutting_feeds(watch: &watch::Watch) -> Vec<String> {
    let cfg = watch.config();
    let cutting: Vec<&str> = cfg
        .drills
        .iter()
        .filter(|d| d.stop_feed)
        .map(|d| d.scope.as_str())
        .collect();
    if cutting.is_empty() {
        return Vec::new();
    }
    watch
        .snapshot()
        .incidents
        .into_iter()
        .filter(|i| i.drill && cutting.contains(&i.scope.as_str()))
        .map(|i| i.scope)
        .collect()
}

/// Plays the outage scenario over and over, handing each event to the watch when the demo
/// clock reaches its time.
async fn feed_simulation(watch: Arc<watch::Watch>, clock: Clock, speed: f64, seed: u64) {
    let mut start = clock();
    for cycle in 0u64.. {
        let mut s = Scenario::outage_demo(start, seed + cycle);
        s.id_prefix = format!("d{cycle}-");
        let events = sim::simulate(&s);
        // Which queue each contact is on (its later steps do not say), for drills that cut a
        // queue's feed.
        let queue_of: std::collections::HashMap<&str, &str> = events
            .iter()
            .filter_map(|e| match e {
                floorwatch_protocol::Event::Contact(c) => {
                    Some((c.id.as_str(), c.queue.as_deref()?))
                }
                _ => None,
            })
            .collect();
        let mut next = 0;
        while next < events.len() {
            let now = clock();
            let due = events[next..].partition_point(|e| e.at().timestamp_millis() <= now);
            if due > 0 {
                let cut = drills_cutting_feeds(&watch);
                let kept: Vec<_> = events[next..next + due]
                    .iter()
                    .filter(|e| {
                        let queue = match e {
                            floorwatch_protocol::Event::Contact(c) => {
                                queue_of.get(c.id.as_str()).copied()
                            }
                            floorwatch_protocol::Event::Queue(q) => Some(q.queue.as_str()),
                            _ => None,
                        };
                        queue.is_none_or(|q| !cut.iter().any(|c| c == q))
                    })
                    .cloned()
                    .collect();
                let body = sim::to_ndjson(&kept);
                next += due;
                let w = watch.clone();
                match tokio::task::spawn_blocking(move || w.ingest("demo", body.as_bytes())).await {
                    Ok(Ok(r)) if !r.refused.is_empty() => {
                        warn!(
                            "demo: {} events refused, first: {}",
                            r.refused.len(),
                            r.refused[0].error
                        )
                    }
                    Ok(Err(e)) => warn!("demo: ingest failed: {e}"),
                    _ => {}
                }
            }
            tokio::time::sleep(Duration::from_millis((250.0 / speed.max(1.0)) as u64 + 50)).await;
        }
        start += s.duration;
    }
}
