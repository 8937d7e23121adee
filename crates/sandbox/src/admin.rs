//! The sandbox's admin endpoint: the trace, read and streamed. It listens on loopback
//! only, over TLS (the sandbox's CA), and every request needs the bearer token written
//! in the manifest (owner-only), so nothing on the network and no other user of the
//! machine can read the trace.
//!
//! - `GET /admin/trace?transaction=ID&after=SEQ&before=SEQ&limit=N` — stored events as
//!   JSON Lines (`application/x-ndjson`), in `seq` order;
//! - `GET /admin/trace/stream?after=SEQ&transaction=ID` — Server-Sent Events: the stored
//!   events after `SEQ` (or the `Last-Event-ID` header), then live ones as they happen.
//!   Each is `id: <seq>`, `event: trace`, `data: <event JSON>`; a subscriber that fell
//!   behind gets `event: lagged` with how many it missed (read them with `after`);
//! - `GET /admin/status` — the last `seq` and how many events the recorder dropped.

use std::convert::Infallible;
use std::sync::Arc;

use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::{Query, Request, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use serde::Deserialize;
use store::{Store, TraceQuery};
use tokio::sync::{broadcast, mpsc};
use trace::{Event, Tracer};

/// What the admin endpoint serves from.
#[derive(Debug, Clone)]
pub struct AdminState {
    pub store: Store,
    pub tracer: Tracer,
    /// The bearer token every request must carry.
    pub token: Arc<str>,
}

/// A fresh admin token (256 random bits, hex).
pub fn fresh_token() -> String {
    use rand_core::{OsRng, RngCore};
    let mut bytes = [0u8; 32];
    OsRng.fill_bytes(&mut bytes);
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// The admin routes, behind the token check.
pub fn app(state: AdminState) -> Router {
    let token = state.token.clone();
    Router::new()
        .route("/admin/trace", get(events))
        .route("/admin/trace/stream", get(stream))
        .route("/admin/status", get(status))
        .with_state(state)
        .layer(middleware::from_fn(move |request: Request, next: Next| {
            let token = token.clone();
            async move { authorised(&token, request, next).await }
        }))
}

async fn authorised(token: &str, request: Request, next: Next) -> Response {
    let presented = request
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "));
    // Compared in constant time: the token is the only thing between a local process
    // and the trace.
    let ok = presented.is_some_and(|p| {
        p.len() == token.len()
            && p.bytes()
                .zip(token.bytes())
                .fold(0u8, |acc, (a, b)| acc | (a ^ b))
                == 0
    });
    if !ok {
        return (
            StatusCode::UNAUTHORIZED,
            [(header::WWW_AUTHENTICATE, "Bearer")],
            "the admin endpoint needs the token from the sandbox's manifest (admin.token)\n",
        )
            .into_response();
    }
    next.run(request).await
}

#[derive(Debug, Deserialize)]
struct TraceParams {
    transaction: Option<String>,
    after: Option<u64>,
    before: Option<u64>,
    limit: Option<u32>,
}

impl TraceParams {
    fn query(&self) -> TraceQuery {
        TraceQuery {
            transaction: self.transaction.clone(),
            after: self.after,
            before: self.before,
            limit: self.limit.unwrap_or(0),
        }
    }
}

fn failed(e: &store::StoreError) -> Response {
    (
        StatusCode::SERVICE_UNAVAILABLE,
        format!("reading the trace: {e}\n"),
    )
        .into_response()
}

async fn events(State(state): State<AdminState>, Query(params): Query<TraceParams>) -> Response {
    match state.store.trace_events(&params.query()).await {
        Ok(events) => {
            let mut body = Vec::with_capacity(events.len() * 512);
            for event in &events {
                if serde_json::to_writer(&mut body, event).is_ok() {
                    body.push(b'\n');
                }
            }
            ([(header::CONTENT_TYPE, "application/x-ndjson")], body).into_response()
        }
        Err(e) => failed(&e),
    }
}

async fn status(State(state): State<AdminState>) -> Response {
    match state.store.last_trace_seq().await {
        Ok(last) => axum::Json(serde_json::json!({
            "lastSeq": last,
            "dropped": state.tracer.dropped(),
        }))
        .into_response(),
        Err(e) => failed(&e),
    }
}

fn sse(event: &Event) -> Bytes {
    let json = serde_json::to_string(event).unwrap_or_default();
    Bytes::from(format!("id: {}\nevent: trace\ndata: {json}\n\n", event.seq))
}

async fn stream(
    State(state): State<AdminState>,
    headers: HeaderMap,
    Query(params): Query<TraceParams>,
) -> Response {
    let Some(mut live) = state.tracer.subscribe() else {
        return (StatusCode::NOT_FOUND, "this sandbox records no trace\n").into_response();
    };
    let resume = headers
        .get("last-event-id")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<u64>().ok())
        .or(params.after);
    let wanted = params.transaction.clone();
    let (frames, body) = mpsc::channel::<Result<Bytes, Infallible>>(256);
    tokio::spawn(async move {
        // Subscribed first, then the stored past: nothing falls between the two.
        let mut last = 0;
        if let Some(after) = resume {
            let query = TraceQuery {
                after: Some(after),
                ..params.query()
            };
            if let Ok(past) = state.store.trace_events(&query).await {
                for event in &past {
                    last = event.seq;
                    if frames.send(Ok(sse(event))).await.is_err() {
                        return;
                    }
                }
            }
        }
        let _ = frames.send(Ok(Bytes::from_static(b": live\n\n"))).await;
        loop {
            match live.recv().await {
                Ok(event) => {
                    if event.seq <= last {
                        continue;
                    }
                    if let Some(id) = &wanted
                        && event.transaction.as_deref() != Some(id)
                        && !event.ids.all().any(|i| i == id)
                    {
                        continue;
                    }
                    if frames.send(Ok(sse(&event))).await.is_err() {
                        return;
                    }
                }
                Err(broadcast::error::RecvError::Lagged(missed)) => {
                    let frame = format!("event: lagged\ndata: {missed}\n\n");
                    if frames.send(Ok(Bytes::from(frame))).await.is_err() {
                        return;
                    }
                }
                Err(broadcast::error::RecvError::Closed) => return,
            }
        }
    });
    let body = Body::from_stream(ReceiverStream(body));
    (
        [
            (header::CONTENT_TYPE, "text/event-stream"),
            (header::CACHE_CONTROL, "no-cache"),
        ],
        body,
    )
        .into_response()
}

/// An mpsc receiver as a `Stream` (what `Body::from_stream` takes).
struct ReceiverStream<T>(mpsc::Receiver<T>);

impl<T> futures_core::Stream for ReceiverStream<T> {
    type Item = T;
    fn poll_next(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Option<T>> {
        self.0.poll_recv(cx)
    }
}

/// Drains the tracer's recording sink into the store, a batch per commit, until
/// `stop` is cancelled; then stores what is still queued and returns.
pub async fn record(
    store: Store,
    mut recorded: mpsc::Receiver<Arc<Event>>,
    stop: tokio_util::sync::CancellationToken,
) {
    let mut batch = Vec::with_capacity(1024);
    loop {
        tokio::select! {
            n = recorded.recv_many(&mut batch, 1024) => {
                if n == 0 {
                    return;
                }
            }
            () = stop.cancelled() => {
                while let Ok(event) = recorded.try_recv() {
                    batch.push(event);
                }
                if !batch.is_empty() {
                    let _ = store.record_trace(&batch).await;
                }
                return;
            }
        }
        // A failed commit loses this batch's events, not the sandbox: the trace is
        // evidence, and the messages themselves already went through.
        let _ = store.record_trace(&batch).await;
        batch.clear();
    }
}
