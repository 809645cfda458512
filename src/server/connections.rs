//! Accepting connections: HTTP/1.1 on hyper with a header-read timeout
//! (which also closes idle keep-alive connections), and at most a bounded
//! number of connections at once, below the process's file-descriptor limit,
//! so half-sent requests (slowloris) can neither hold a connection forever
//! nor exhaust the descriptors that accepting needs. With TLS, the handshake
//! runs on the connection's own task and must finish within the header
//! timeout.

use axum::Router;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::service::TowerToHyperService;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::Semaphore;
use tokio_rustls::TlsAcceptor;

/// Bounds on connections.
#[derive(Clone, Copy, Debug)]
pub struct Limits {
    /// Connections served at once; more wait in the listen backlog.
    pub connections: usize,
    /// The longest a connection may take to send a request's headers, and
    /// the longest it may stay idle between requests.
    pub header_read: Duration,
}

impl Limits {
    /// Half the file-descriptor limit (at most 4,096 connections), and 10 s.
    pub fn from_system() -> Limits {
        let descriptors = open_file_limit().unwrap_or(1024);
        Limits { connections: (descriptors / 2).clamp(16, 4096), header_read: Duration::from_secs(10) }
    }
}

/// The soft limit on open files, from `/proc/self/limits` (Linux).
fn open_file_limit() -> Option<usize> {
    let limits = std::fs::read_to_string("/proc/self/limits").ok()?;
    let line = limits.lines().find(|l| l.starts_with("Max open files"))?;
    line.split_whitespace().nth(3)?.parse().ok()
}

/// Serves `router` on `listener` until the process ends, over TLS when
/// `tls` is given.
pub async fn serve_connections(
    listener: tokio::net::TcpListener,
    router: Router,
    limits: Limits,
    tls: Option<TlsAcceptor>,
) -> std::io::Result<()> {
    let slots = Arc::new(Semaphore::new(limits.connections));
    loop {
        let Ok(slot) = slots.clone().acquire_owned().await else { return Ok(()) };
        let stream = match listener.accept().await {
            Ok((stream, _)) => stream,
            Err(e) => {
                // Out of descriptors or a reset before accept: back off, go on.
                tracing::warn!(error = %e, "accept failed");
                tokio::time::sleep(Duration::from_millis(50)).await;
                continue;
            }
        };
        let service = TowerToHyperService::new(router.clone());
        let tls = tls.clone();
        tokio::spawn(async move {
            let _slot = slot;
            match tls {
                None => serve_one(stream, service, limits).await,
                Some(tls) => match tokio::time::timeout(limits.header_read, tls.accept(stream)).await {
                    Ok(Ok(stream)) => serve_one(stream, service, limits).await,
                    Ok(Err(e)) => tracing::debug!(error = %e, "TLS handshake failed"),
                    Err(_) => tracing::debug!("TLS handshake timed out"),
                },
            }
        });
    }
}

/// Serves HTTP/1.1 on one connection until it closes.
async fn serve_one<S>(stream: S, service: TowerToHyperService<Router>, limits: Limits)
where
    S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send + 'static,
{
    let mut builder = hyper::server::conn::http1::Builder::new();
    builder.timer(TokioTimer::new()).header_read_timeout(limits.header_read).keep_alive(true);
    if let Err(e) = builder.serve_connection(TokioIo::new(stream), service).await {
        tracing::debug!(error = %e, "connection closed");
    }
}
