//! The server's TCP acceptor: a cap on open client connections, and back-off with one warning
//! when `accept` fails (out of file descriptors, for example) instead of retrying in a busy
//! loop. At the cap, new connections wait in the kernel's backlog until one closes.

use std::{
    io,
    pin::Pin,
    sync::Arc,
    task::{Context, Poll},
    time::{Duration, Instant},
};

use std::net::SocketAddr;

use tokio::{
    io::{AsyncRead, AsyncWrite, ReadBuf},
    net::{TcpListener, TcpStream},
    sync::{OwnedSemaphorePermit, Semaphore},
};

/// Longest pause between attempts after `accept` failed.
const MAX_BACKOFF: Duration = Duration::from_secs(1);
/// At most one warning per this long while `accept` keeps failing.
const WARN_EVERY: Duration = Duration::from_secs(60);

/// What the acceptors of one listener (one per serving thread) share: the connection cap,
/// and when the last warning about failing accepts was logged (one warning per
/// `WARN_EVERY` for the server, not per thread).
pub struct Cap {
    permits: Arc<Semaphore>,
    max: usize,
    warned_at: std::sync::Mutex<Option<Instant>>,
}

impl Cap {
    /// At most `max` client connections open at once.
    pub fn new(max: usize) -> Arc<Self> {
        let max = max.max(1);
        Arc::new(Self { permits: Arc::new(Semaphore::new(max)), max, warned_at: std::sync::Mutex::new(None) })
    }

    /// Whether a warning is due now (none logged within `WARN_EVERY`); if so, notes it.
    fn warning_due(&self) -> bool {
        let mut warned_at = self.warned_at.lock().unwrap_or_else(|e| e.into_inner());
        let due = warned_at.is_none_or(|at| at.elapsed() >= WARN_EVERY);
        if due {
            *warned_at = Some(Instant::now());
        }
        due
    }
}

/// A TCP listener with a connection cap and accept back-off.
pub struct Limited {
    inner: TcpListener,
    cap: Arc<Cap>,
    failures: u32,
}

impl Limited {
    /// Accepts from `inner` under `cap`, shared with the other acceptors of the listener.
    pub fn new(inner: TcpListener, cap: Arc<Cap>) -> Self {
        Self { inner, cap, failures: 0 }
    }
}

/// A client connection; its slot under the cap is released when it closes.
pub struct LimitedIo {
    inner: TcpStream,
    _slot: OwnedSemaphorePermit,
}

impl AsyncRead for LimitedIo {
    fn poll_read(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_read(cx, buf)
    }
}

impl AsyncWrite for LimitedIo {
    fn poll_write(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.inner).poll_write(cx, buf)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.inner).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }
}

impl Limited {
    /// The next client connection and its peer's address; waits while the cap is reached,
    /// backs off while `accept` fails.
    pub async fn accept(&mut self) -> io::Result<(LimitedIo, SocketAddr)> {
        let slot = self.cap.permits.clone().acquire_owned().await.map_err(io::Error::other)?;
        loop {
            match self.inner.accept().await {
                Ok((inner, remote)) => {
                    if self.failures > 0 {
                        tracing::info!(failures = self.failures, "accepting connections again");
                        self.failures = 0;
                    }
                    let _ = inner.set_nodelay(true);
                    return Ok((LimitedIo { inner, _slot: slot }, remote));
                }
                Err(e) => {
                    self.failures = self.failures.saturating_add(1);
                    if self.cap.warning_due() {
                        tracing::warn!(
                            error = %e,
                            open = self.cap.max - self.cap.permits.available_permits(),
                            "cannot accept connections (out of file descriptors? raise `ulimit -n` or lower \
                             NANGO_MAX_CONNECTIONS); backing off"
                        );
                    }
                    let wait = Duration::from_millis(10).saturating_mul(1 << self.failures.min(7)).min(MAX_BACKOFF);
                    tokio::time::sleep(wait).await;
                }
            }
        }
    }
}

/// The soft limit on open file descriptors of this process (`/proc/self/limits`), if known.
pub fn open_files_limit() -> Option<usize> {
    let limits = std::fs::read_to_string("/proc/self/limits").ok()?;
    let line = limits.lines().find(|l| l.starts_with("Max open files"))?;
    line.split_whitespace().nth(3)?.parse().ok()
}

/// The default connection cap: the descriptor limit minus room for the database pool,
/// upstream connections and files (at least 16; 4096 when the limit is unknown).
pub fn default_max_connections() -> usize {
    open_files_limit().map_or(4096, |n| n.saturating_sub(128).max(16))
}
