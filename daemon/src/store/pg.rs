//! PostgreSQL connections as the store and the cluster use them: made from
//! `FLOORWATCH_DATABASE_URL` with a deadline on everything (connecting, each statement, a dead
//! peer), made again by the next call after one broke, and used from wherever the caller is.

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
        .keepalives(true)
        .keepalives_idle(Duration::from_secs(5))
        .options(&format!(
            "-c statement_timeout={}",
            STATEMENT_TIMEOUT.as_millis()
        ))
        .application_name(application);
    Ok(config)
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
                self.client = Some(self.config.connect(NoTls)?);
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
