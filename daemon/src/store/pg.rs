//! PostgreSQL connections as the store and the cluster use them: made from
//! `FLOORWATCH_DATABASE_URL` with a deadline on everything (connecting, each statement, a dead
//! peer), made again by the next call after one broke, and used from wherever the caller is.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use postgres::{Client, NoTls};

use super::{Result, StoreError};

/// The longest any one statement may run.
pub const STATEMENT_TIMEOUT: Duration = Duration::from_secs(10);
/// The longest connecting may take.
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

/// The client settings for `url` (a `postgres://` URL or a key=value string), with deadlines.
pub fn config(url: &str, application: &str) -> Result<postgres::Config> {
    let mut config: postgres::Config = url
        .parse()
        .map_err(|e| StoreError::Corrupt(format!("FLOORWATCH_DATABASE_URL: {e}")))?;
    config
        .connect_timeout(CONNECT_TIMEOUT)
        .tcp_user_timeout(STATEMENT_TIMEOUT)
        // A peer that is gone (a dead host, a cut network) is noticed within about 11 s.
        .keepalives(true)
        .keepalives_idle(Duration::from_secs(5))
        .keepalives_interval(Duration::from_secs(2))
        .keepalives_retries(3)
        .options(&format!(
            "-c statement_timeout={}",
            STATEMENT_TIMEOUT.as_millis()
        ))
        .application_name(application);
    Ok(config)
}

/// Connection attempts still waiting for a server that does not answer, at most.
const MAX_PENDING_CONNECTS: usize = 4;
static PENDING_CONNECTS: AtomicUsize = AtomicUsize::new(0);

/// Connects within `CONNECT_TIMEOUT`, all told. The client's own timeout covers only the TCP
/// connect: a server that accepts and never speaks would hold the handshake for ever. The
/// attempt runs on a thread of its own, abandoned when the time is up (it ends when the server
/// answers or the connection dies); no more than `MAX_PENDING_CONNECTS` wait at once.
pub fn connect(config: &postgres::Config) -> Result<Client> {
    if PENDING_CONNECTS.fetch_add(1, Ordering::AcqRel) >= MAX_PENDING_CONNECTS {
        PENDING_CONNECTS.fetch_sub(1, Ordering::AcqRel);
        return Err(StoreError::Unreachable(format!(
            "{MAX_PENDING_CONNECTS} connection attempts are still waiting for an answer"
        )));
    }
    let (tx, rx) = std::sync::mpsc::channel();
    let config = config.clone();
    let spawned = std::thread::Builder::new()
        .name("floorwatch-connect".into())
        .spawn(move || {
            let r = config.connect(NoTls);
            PENDING_CONNECTS.fetch_sub(1, Ordering::AcqRel);
            let _ = tx.send(r);
        });
    if let Err(e) = spawned {
        PENDING_CONNECTS.fetch_sub(1, Ordering::AcqRel);
        return Err(StoreError::Unreachable(format!("connecting: {e}")));
    }
    match rx.recv_timeout(CONNECT_TIMEOUT) {
        Ok(r) => Ok(r?),
        Err(_) => Err(StoreError::Unreachable(format!(
            "no answer within {} s",
            CONNECT_TIMEOUT.as_secs()
        ))),
    }
}

/// One connection, made again after it broke.
pub struct Conn {
    config: postgres::Config,
    client: Option<Client>,
}

impl Conn {
    pub fn new(config: postgres::Config) -> Self {
        Conn {
            config,
            client: None,
        }
    }

    /// Runs `f` on the connection, connecting first if there is none.
    pub fn run<T: Send, E: Into<StoreError> + Send>(
        &mut self,
        f: impl FnOnce(&mut Client) -> std::result::Result<T, E> + Send,
    ) -> Result<T> {
        blocking(|| {
            if self.client.as_ref().is_none_or(Client::is_closed) {
                self.client = Some(connect(&self.config)?);
            }
            let client = self.client.as_mut().expect("connected above");
            let r = f(client);
            if r.is_err() && client.is_closed() {
                self.client = None;
            }
            r.map_err(Into::into)
        })
    }
}

/// Runs blocking database work from wherever the caller is. The client blocks on a runtime of
/// its own, which a thread driving async tasks may not do: on a worker of a multi-threaded
/// runtime it steps aside first, on a single-threaded runtime it runs on a thread of its own.
pub fn blocking<T: Send>(f: impl FnOnce() -> T + Send) -> T {
    use tokio::runtime::{Handle, RuntimeFlavor};
    match Handle::try_current() {
        Ok(h) if h.runtime_flavor() == RuntimeFlavor::MultiThread => tokio::task::block_in_place(f),
        Ok(_) => std::thread::scope(|s| s.spawn(f).join().expect("a database call panicked")),
        Err(_) => f(),
    }
}

/// Closing a connection blocks too (see `blocking`).
impl Drop for Conn {
    fn drop(&mut self) {
        if let Some(c) = self.client.take() {
            blocking(move || drop(c));
        }
    }
}
