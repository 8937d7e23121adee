//! Serving a `Router` over TLS, with the peer's certificate identity in every request.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use axum::Router;
use axum::extract::Request;
use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::server::conn::auto;
use hyper_util::service::TowerToHyperService;
use pki::tls::PeerIdentity;
use rustls::ServerConfig;
use tokio::net::TcpListener;
use tokio_rustls::TlsAcceptor;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;
use tower::ServiceExt;

/// The identity of the client that opened the connection a request came on (`None` on
/// endpoints without client authentication). Handlers take it as
/// `axum::Extension<Peer>`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Peer(pub Option<PeerIdentity>);

/// How long a client may take to complete the TLS handshake.
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);
/// How long open connections get to finish after shutdown is asked for.
const DRAIN_TIMEOUT: Duration = Duration::from_secs(5);
/// How long a client may take to send a request's headers (HTTP/1.1), and then its
/// body: a slow client is cut off instead of holding a connection and a task.
pub const HEADER_READ_TIMEOUT: Duration = Duration::from_secs(10);
/// See [`HEADER_READ_TIMEOUT`].
pub const BODY_READ_TIMEOUT: Duration = Duration::from_secs(10);

/// A running server.
#[derive(Debug)]
pub struct TlsServer {
    local_addr: SocketAddr,
    shutdown: CancellationToken,
    tasks: TaskTracker,
    connections: Arc<AtomicU64>,
    handshake_failures: Arc<AtomicU64>,
}

impl TlsServer {
    /// The address it listens on (useful with port 0).
    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }

    /// TLS connections accepted so far (connections are kept alive, so this stays far
    /// below the number of requests).
    pub fn connections(&self) -> u64 {
        self.connections.load(Ordering::Relaxed)
    }

    /// TLS handshakes that failed (no or untrusted client certificate, old protocol, …).
    pub fn handshake_failures(&self) -> u64 {
        self.handshake_failures.load(Ordering::Relaxed)
    }

    /// Stops accepting, lets open connections finish (up to a few seconds), returns.
    pub async fn shutdown(self) {
        self.shutdown.cancel();
        self.tasks.close();
        let _ = tokio::time::timeout(DRAIN_TIMEOUT, self.tasks.wait()).await;
    }
}

/// Told of each refused TLS handshake: the client's address and why (an untrusted or
/// missing client certificate, an old protocol, no shared suite, a timeout).
pub type OnRefused = Arc<dyn Fn(SocketAddr, &str) + Send + Sync>;

/// Serves `app` on `listener` with `tls` (ALPN offers h2 and http/1.1).
pub fn serve(listener: TcpListener, tls: &ServerConfig, app: Router) -> std::io::Result<TlsServer> {
    serve_watched(listener, tls, app, None)
}

/// [`serve`], telling `on_refused` of each handshake it refuses (the admin endpoint
/// audits them: they never reach a handler).
pub fn serve_watched(
    listener: TcpListener,
    tls: &ServerConfig,
    app: Router,
    on_refused: Option<OnRefused>,
) -> std::io::Result<TlsServer> {
    let local_addr = listener.local_addr()?;
    let mut config = tls.clone();
    config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    let acceptor = TlsAcceptor::from(Arc::new(config));
    let shutdown = CancellationToken::new();
    let tasks = TaskTracker::new();
    let connections = Arc::new(AtomicU64::new(0));
    let handshake_failures = Arc::new(AtomicU64::new(0));

    let server = TlsServer {
        local_addr,
        shutdown: shutdown.clone(),
        tasks: tasks.clone(),
        connections: connections.clone(),
        handshake_failures: handshake_failures.clone(),
    };
    let conn_tasks = tasks.clone();
    tasks.spawn(async move {
        loop {
            let accepted = tokio::select! {
                () = shutdown.cancelled() => break,
                accepted = listener.accept() => accepted,
            };
            // Accept errors (e.g. too many open files) are transient: keep serving.
            let Ok((tcp, remote)) = accepted else {
                continue;
            };
            // Small request/answer exchanges: without this, Nagle's algorithm meets the
            // peer's delayed ACK and some answers wait ~40 ms.
            let _ = tcp.set_nodelay(true);
            let acceptor = acceptor.clone();
            let app = app.clone();
            let shutdown = shutdown.clone();
            let connections = connections.clone();
            let handshake_failures = handshake_failures.clone();
            let on_refused = on_refused.clone();
            conn_tasks.spawn(async move {
                let stream =
                    match tokio::time::timeout(HANDSHAKE_TIMEOUT, acceptor.accept(tcp)).await {
                        Ok(Ok(stream)) => stream,
                        refused => {
                            handshake_failures.fetch_add(1, Ordering::Relaxed);
                            if let Some(on_refused) = on_refused {
                                let why = match refused {
                                    Ok(Err(e)) => e.to_string(),
                                    _ => format!("no handshake within {HANDSHAKE_TIMEOUT:?}"),
                                };
                                on_refused(remote, &why);
                            }
                            return;
                        }
                    };
                connections.fetch_add(1, Ordering::Relaxed);
                let peer = Peer(
                    stream
                        .get_ref()
                        .1
                        .peer_certificates()
                        .and_then(PeerIdentity::from_chain),
                );
                let service =
                    app.map_request(move |mut request: Request<hyper::body::Incoming>| {
                        request.extensions_mut().insert(peer.clone());
                        request.map(|body| {
                            axum::body::Body::new(Deadline {
                                inner: body,
                                sleep: Box::pin(tokio::time::sleep(BODY_READ_TIMEOUT)),
                            })
                        })
                    });
                let mut builder = auto::Builder::new(TokioExecutor::new());
                builder
                    .http1()
                    .timer(hyper_util::rt::TokioTimer::new())
                    .header_read_timeout(HEADER_READ_TIMEOUT);
                let connection = builder
                    .serve_connection(TokioIo::new(stream), TowerToHyperService::new(service));
                let mut connection = std::pin::pin!(connection);
                tokio::select! {
                    _ = connection.as_mut() => {}
                    () = shutdown.cancelled() => {
                        connection.as_mut().graceful_shutdown();
                        let _ = connection.await;
                    }
                }
            });
        }
    });
    Ok(server)
}

/// A request body that fails once [`BODY_READ_TIMEOUT`] has passed since its headers
/// arrived, so a handler reading it gets an error (axum answers 400) instead of waiting
/// on a client that sends a byte a minute.
struct Deadline {
    inner: hyper::body::Incoming,
    sleep: std::pin::Pin<Box<tokio::time::Sleep>>,
}

impl hyper::body::Body for Deadline {
    type Data = axum::body::Bytes;
    type Error = Box<dyn std::error::Error + Send + Sync>;

    fn poll_frame(
        self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Option<Result<hyper::body::Frame<Self::Data>, Self::Error>>> {
        use std::future::Future;
        let this = self.get_mut();
        if this.sleep.as_mut().poll(cx).is_ready() {
            return std::task::Poll::Ready(Some(Err(format!(
                "the request body did not arrive within {BODY_READ_TIMEOUT:?}"
            )
            .into())));
        }
        std::pin::Pin::new(&mut this.inner)
            .poll_frame(cx)
            .map_err(Into::into)
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> hyper::body::SizeHint {
        self.inner.size_hint()
    }
}
