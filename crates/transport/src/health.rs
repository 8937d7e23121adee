//! Health and readiness for orchestrators and probes: `GET /healthz` (the process
//! answers) and `GET /readyz` (every check of what the process runs passes: its
//! database, its keys, the peers it calls, its card ranges).
//!
//! They are served on a plain-HTTP listener of their own (the "health port", named in
//! the manifest), not on the components' listeners: those require a client certificate
//! in the TLS handshake, and a Docker `HEALTHCHECK`, a Kubernetes probe or a load
//! balancer has none. So the mutual-TLS policy stays whole and the probe needs nothing.
//! Because that port has no authentication, an answer holds a status and the names of
//! the failing checks, never data, and the router takes no request body. This module
//! must never serve anything else.

use std::future::Future;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::Router;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

/// How long one check may take before it counts as failing.
pub const CHECK_TIMEOUT: Duration = Duration::from_secs(2);

/// What a check returns: `Err` says why it fails (logged, not answered).
pub type CheckFuture = Pin<Box<dyn Future<Output = Result<(), String>> + Send>>;

/// When a cached check last ran, and what it found.
type LastRun = (Instant, Result<(), String>);

/// One named readiness check.
#[derive(Clone)]
pub struct Check {
    name: Arc<str>,
    run: Arc<dyn Fn() -> CheckFuture + Send + Sync>,
}

impl std::fmt::Debug for Check {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Check").field("name", &self.name).finish()
    }
}

impl Check {
    /// A check named `name` (what the answer lists when it fails, e.g. `database`).
    pub fn new<F, Fut>(name: impl Into<Arc<str>>, check: F) -> Check
    where
        F: Fn() -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<(), String>> + Send + 'static,
    {
        Check {
            name: name.into(),
            run: Arc::new(move || Box::pin(check())),
        }
    }

    /// This check, run at most once per `ttl`: for checks that cost a call to a paid or
    /// audited service (a KMS), which a probe every few seconds should not multiply.
    #[must_use]
    pub fn cached(self, ttl: Duration) -> Check {
        let last: Arc<Mutex<Option<LastRun>>> = Arc::default();
        let Check { name, run } = self;
        Check {
            name,
            run: Arc::new(move || {
                let last = last.clone();
                let run = run.clone();
                Box::pin(async move {
                    let fresh = {
                        let last = last.lock().unwrap_or_else(|e| e.into_inner());
                        last.as_ref()
                            .filter(|(at, _)| at.elapsed() < ttl)
                            .map(|(_, result)| result.clone())
                    };
                    if let Some(result) = fresh {
                        return result;
                    }
                    let result = run().await;
                    *last.lock().unwrap_or_else(|e| e.into_inner()) =
                        Some((Instant::now(), result.clone()));
                    result
                })
            }),
        }
    }

    /// The check that `url`'s host and port accept a TCP connection (the peer runs and
    /// is reachable; TLS and the protocol are the hop's own business).
    pub fn reachable(name: impl Into<Arc<str>>, url: &str) -> Check {
        let target = url::Url::parse(url)
            .ok()
            .and_then(|u| Some((u.host_str()?.to_owned(), u.port_or_known_default()?)));
        let url = url.to_owned();
        Check::new(name, move || {
            let target = target.clone();
            let url = url.clone();
            async move {
                let Some((host, port)) = target else {
                    return Err(format!("{url} has no host and port"));
                };
                let host = host
                    .trim_start_matches('[')
                    .trim_end_matches(']')
                    .to_owned();
                match tokio::net::TcpStream::connect((host.as_str(), port)).await {
                    Ok(_) => Ok(()),
                    Err(e) => Err(format!("{host}:{port}: {e}")),
                }
            }
        })
    }

    pub fn name(&self) -> &str {
        &self.name
    }
}

/// The checks of everything a process runs.
#[derive(Debug, Clone, Default)]
pub struct Readiness {
    checks: Vec<Check>,
}

impl Readiness {
    pub fn add(&mut self, check: Check) {
        self.checks.push(check);
    }

    /// The names of the checks that fail now (all run at once, each within
    /// [`CHECK_TIMEOUT`]); each failure is logged with its reason.
    pub async fn failing(&self) -> Vec<String> {
        let mut runs = tokio::task::JoinSet::new();
        for (i, check) in self.checks.iter().enumerate() {
            let (name, run) = (check.name.clone(), (check.run)());
            runs.spawn(async move {
                let result = match tokio::time::timeout(CHECK_TIMEOUT, run).await {
                    Ok(result) => result,
                    Err(_) => Err(format!("no answer within {CHECK_TIMEOUT:?}")),
                };
                result.err().map(|why| {
                    tracing::warn!(check = %name, %why, "readiness check failing");
                    (i, name.to_string())
                })
            });
        }
        let mut failing: Vec<(usize, String)> =
            runs.join_all().await.into_iter().flatten().collect();
        // In the order the checks were added, whichever finished first.
        failing.sort();
        failing.into_iter().map(|(_, name)| name).collect()
    }
}

fn json(status: StatusCode, body: &serde_json::Value) -> Response {
    (
        status,
        [
            (header::CONTENT_TYPE, "application/json"),
            (header::CACHE_CONTROL, "no-store"),
        ],
        body.to_string(),
    )
        .into_response()
}

async fn healthz() -> Response {
    json(StatusCode::OK, &serde_json::json!({ "status": "ok" }))
}

async fn readyz(State(readiness): State<Arc<Readiness>>) -> Response {
    let failing = readiness.failing().await;
    if failing.is_empty() {
        json(StatusCode::OK, &serde_json::json!({ "status": "ready" }))
    } else {
        json(
            StatusCode::SERVICE_UNAVAILABLE,
            &serde_json::json!({ "status": "not ready", "failing": failing }),
        )
    }
}

/// The health router: `/healthz` and `/readyz`, nothing else (404).
pub fn app(readiness: Readiness) -> Router {
    Router::new()
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
        .with_state(Arc::new(readiness))
}

/// A running health listener.
#[derive(Debug)]
pub struct HealthServer {
    local_addr: SocketAddr,
    shutdown: CancellationToken,
    task: tokio::task::JoinHandle<()>,
}

impl HealthServer {
    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }

    /// Stops answering probes.
    pub async fn shutdown(self) {
        self.shutdown.cancel();
        let _ = self.task.await;
    }
}

/// Serves [`app`] for `readiness` over plain HTTP on `listener`.
pub fn serve(listener: TcpListener, readiness: Readiness) -> std::io::Result<HealthServer> {
    let local_addr = listener.local_addr()?;
    let shutdown = CancellationToken::new();
    let stop = shutdown.clone();
    let task = tokio::spawn(async move {
        let served = axum::serve(listener, app(readiness))
            .with_graceful_shutdown(async move { stop.cancelled().await })
            .await;
        if let Err(e) = served {
            tracing::error!(error = %e, "the health listener stopped");
        }
    });
    Ok(HealthServer {
        local_addr,
        shutdown,
        task,
    })
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};

    use super::*;

    #[tokio::test]
    async fn readiness_names_only_the_failing_checks() {
        let mut readiness = Readiness::default();
        readiness.add(Check::new("database", || async { Ok(()) }));
        readiness.add(Check::new("keys", || async {
            Err("the secret reason stays in the log".to_owned())
        }));
        assert_eq!(readiness.failing().await, ["keys"]);
    }

    #[tokio::test]
    async fn a_cached_check_runs_once_per_ttl() {
        let runs = Arc::new(AtomicUsize::new(0));
        let counted = runs.clone();
        let check = Check::new("kms", move || {
            counted.fetch_add(1, Ordering::Relaxed);
            async { Ok(()) }
        })
        .cached(Duration::from_secs(60));
        let mut readiness = Readiness::default();
        readiness.add(check);
        for _ in 0..3 {
            assert!(readiness.failing().await.is_empty());
        }
        assert_eq!(runs.load(Ordering::Relaxed), 1);
    }

    #[tokio::test]
    async fn a_peer_is_reachable_while_it_listens() {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!(
            "https://127.0.0.1:{}/areq",
            listener.local_addr().unwrap().port()
        );
        let check = Check::reachable("ACS", &url);
        assert_eq!((check.run)().await, Ok(()));
        drop(listener);
        assert!((check.run)().await.is_err());
        assert!((Check::reachable("x", "not a url").run)().await.is_err());
    }
}
