//! The sandbox's admin endpoint: the trace, read and streamed, and the faults in force.
//! It listens on loopback only, over mutual TLS: only the admin certificate
//! (`<certs>/tls/admin.crt`, named in the manifest) gets in, and with a second factor
//! enrolled (`threeds admin enrol`) every request but opening a session needs one
//! (`access`: the rules, the lock-out after wrong codes, the audit log; `totp`: RFC
//! 6238).
//!
//! - `POST /admin/session` with `{"totp": "123456"}` — opens a session (when a second
//!   factor is enrolled): `{"session": TOKEN, "expiresInSeconds": 900}`; every other
//!   request then carries `Authorization: Bearer TOKEN`;
//! - `GET /admin/trace?transaction=ID&after=SEQ&before=SEQ&limit=N` — stored events as
//!   JSON Lines (`application/x-ndjson`), in `seq` order;
//! - `GET /admin/trace/stream?after=SEQ&transaction=ID` — Server-Sent Events: the stored
//!   events after `SEQ` (or the `Last-Event-ID` header), then live ones as they happen.
//!   Each is `id: <seq>`, `event: trace`, `data: <event JSON>`; a subscriber that fell
//!   behind gets `event: lagged` with how many it missed (read them with `after`);
//! - `GET /admin/status` — the last `seq`, and every event the trace lost: dropped
//!   because the recorder's queue was full (`dropped`), or in a commit that failed
//!   (`failedCommits`, `eventsNotStored`, `lastCommitError`); it answers when the trace
//!   store itself is broken, which is when it matters;
//! - `GET|POST|DELETE /admin/faults` — the faults in force (`transport::faults`):
//!   list them, add one or a list (JSON), clear them all;
//! - `POST /admin/purge` — the retention purge now (`{"retentionSeconds": N}` optional);
//! - `/admin/issuer/…` — the ACS's issuer back office (`acs::issuer`: a card's SPC
//!   credentials, deleting one, a confirmation's check), when the ACS runs here.

use std::convert::Infallible;
use std::sync::Arc;

use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::{Query, Request, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde::Deserialize;
use store::{TraceQuery, TraceStore};
use tokio::sync::{broadcast, mpsc};
use trace::{Event, Tracer};

pub mod access;
pub mod totp;

/// What the admin endpoint serves from.
#[derive(Debug, Clone)]
pub struct AdminState {
    pub store: TraceStore,
    pub tracer: Tracer,
    /// Who may come in (`access`).
    pub access: Arc<access::Access>,
    /// The ACS's issuer back office (`acs::issuer`), under `/admin`, when the ACS runs
    /// in this process.
    pub issuer: Option<Router>,
    /// The components' database (`POST /admin/purge`).
    pub database: store::Store,
    /// What `POST /admin/purge` keeps by default.
    pub retention: std::time::Duration,
    /// Cancelled when the sandbox stops: live streams end then.
    pub closing: tokio_util::sync::CancellationToken,
    /// The faults the sandbox's clients apply (`/admin/faults`).
    pub faults: transport::faults::Faults,
    /// What the recorder could not store ([`record`]).
    pub losses: Arc<TraceLosses>,
}

/// Events the recorder could not store: counted, never silent. Shown by
/// `GET /admin/status` and in the TUI's title.
#[derive(Debug, Default)]
pub struct TraceLosses {
    pub failed_commits: std::sync::atomic::AtomicU64,
    pub events_not_stored: std::sync::atomic::AtomicU64,
    /// The last failure, for the operator (a database error: no message content).
    pub last_error: std::sync::Mutex<Option<String>>,
}

impl TraceLosses {
    fn failed(&self, events: usize, error: &store::StoreError) {
        use std::sync::atomic::Ordering::Relaxed;
        self.failed_commits.fetch_add(1, Relaxed);
        self.events_not_stored
            .fetch_add(u64::try_from(events).unwrap_or(u64::MAX), Relaxed);
        *self
            .last_error
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner) = Some(error.to_string());
    }
}

/// A fresh session token (256 random bits, hex).
pub fn fresh_token() -> String {
    use rand_core::{OsRng, RngCore};
    let mut bytes = [0u8; 32];
    OsRng.fill_bytes(&mut bytes);
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// The admin routes, behind the access check.
pub fn app(state: AdminState) -> Router {
    let access = state.access.clone();
    let issuer = state.issuer.clone();
    let mut router = Router::new()
        .route("/admin/session", post(open_session))
        .route("/admin/trace", get(events))
        .route("/admin/trace/stream", get(stream))
        .route("/admin/status", get(status))
        .route(
            "/admin/faults",
            get(list_faults).post(add_faults).delete(clear_faults),
        )
        .route("/admin/purge", post(purge))
        .with_state(state);
    if let Some(issuer) = issuer {
        router = router.nest("/admin", issuer);
    }
    router.layer(middleware::from_fn(move |request: Request, next: Next| {
        let access = access.clone();
        async move { authorised(&access, request, next).await }
    }))
}

/// Lets a request through if `access` allows it: the admin certificate always, and a
/// session when a second factor is enrolled (opening one needs the certificate only).
async fn authorised(access: &access::Access, request: Request, next: Next) -> Response {
    let peer = request
        .extensions()
        .get::<transport::Peer>()
        .and_then(|p| p.0.clone());
    let action = format!("{} {}", request.method(), request.uri().path());
    if request.uri().path() == "/admin/session" {
        // The handler checks the certificate and the code, and audits.
        return next.run(request).await;
    }
    let bearer = request
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "));
    let changes = request.method() != axum::http::Method::GET;
    match access.check(peer.as_ref(), bearer, &action, changes) {
        Ok(()) => next.run(request).await,
        Err(refusal) => refused(&refusal),
    }
}

fn refused(refusal: &access::Refusal) -> Response {
    let status = StatusCode::from_u16(refusal.status).unwrap_or(StatusCode::FORBIDDEN);
    let mut response = (status, format!("{}\n", refusal.reason)).into_response();
    if status == StatusCode::UNAUTHORIZED {
        response.headers_mut().insert(
            header::WWW_AUTHENTICATE,
            header::HeaderValue::from_static("Bearer"),
        );
    }
    if let Some(seconds) = refusal.retry_after
        && let Ok(value) = header::HeaderValue::from_str(&seconds.to_string())
    {
        response.headers_mut().insert(header::RETRY_AFTER, value);
    }
    response
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
struct PurgeRequest {
    /// Keep what changed less than this long ago (default: the sandbox's retention).
    retention_seconds: Option<u64>,
}

/// `POST /admin/purge` (`{"retentionSeconds": N}`, optional): the retention purge now,
/// rather than at the next minute; answers how many records it changed.
async fn purge(State(state): State<AdminState>, body: Bytes) -> Response {
    let asked = if body.is_empty() {
        PurgeRequest::default()
    } else {
        match serde_json::from_slice::<PurgeRequest>(&body) {
            Ok(asked) => asked,
            Err(e) => {
                return (
                    StatusCode::BAD_REQUEST,
                    format!("expected {{\"retentionSeconds\": N}}: {e}\n"),
                )
                    .into_response();
            }
        }
    };
    let retention = asked
        .retention_seconds
        .map_or(state.retention, std::time::Duration::from_secs);
    match state.database.purge_expired(retention).await {
        Ok(changed) => axum::Json(serde_json::json!({
            "purged": changed,
            "retentionSeconds": retention.as_secs(),
        }))
        .into_response(),
        Err(e) => (StatusCode::SERVICE_UNAVAILABLE, format!("{e}\n")).into_response(),
    }
}

#[derive(Debug, Deserialize)]
struct SessionRequest {
    totp: String,
}

async fn open_session(
    State(state): State<AdminState>,
    peer: Option<axum::Extension<transport::Peer>>,
    body: Bytes,
) -> Response {
    let peer = peer.and_then(|axum::Extension(p)| p.0);
    let Ok(asked) = serde_json::from_slice::<SessionRequest>(&body) else {
        return (
            StatusCode::BAD_REQUEST,
            "expected {\"totp\": \"<six digits>\"}\n",
        )
            .into_response();
    };
    match state.access.open_session(peer.as_ref(), &asked.totp) {
        Ok(session) => axum::Json(serde_json::json!({
            "session": session.token,
            "expiresInSeconds": session.expires_in_seconds,
        }))
        .into_response(),
        Err(refusal) => refused(&refusal),
    }
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
    match state.store.events(&params.query()).await {
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
    use std::sync::atomic::Ordering::Relaxed;
    let (last_seq, store_error) = match state.store.last_seq().await {
        Ok(last) => (Some(last), None),
        Err(e) => (None, Some(e.to_string())),
    };
    let losses = &state.losses;
    let last_error = losses
        .last_error
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
        .clone();
    axum::Json(Status {
        last_seq,
        store_error,
        dropped: state.tracer.dropped(),
        failed_commits: losses.failed_commits.load(Relaxed),
        events_not_stored: losses.events_not_stored.load(Relaxed),
        last_commit_error: last_error,
    })
    .into_response()
}

/// `GET /admin/status`: the trace's health.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Status {
    /// The last stored `seq`; `None` when the store cannot be read (`store_error`).
    pub last_seq: Option<u64>,
    pub store_error: Option<String>,
    /// Events dropped because the recorder's queue was full.
    pub dropped: u64,
    /// Commits of the trace store that failed, and the events they held.
    pub failed_commits: u64,
    pub events_not_stored: u64,
    pub last_commit_error: Option<String>,
}

impl Status {
    /// Events the trace lost in all (dropped or not stored).
    pub fn lost(&self) -> u64 {
        self.dropped.saturating_add(self.events_not_stored)
    }
}

async fn list_faults(State(state): State<AdminState>) -> Response {
    axum::Json(state.faults.list()).into_response()
}

async fn add_faults(State(state): State<AdminState>, body: Bytes) -> Response {
    let faults: Vec<transport::faults::Fault> =
        match serde_json::from_slice::<serde_json::Value>(&body) {
            Ok(serde_json::Value::Array(list)) => {
                match list
                    .into_iter()
                    .map(serde_json::from_value)
                    .collect::<Result<_, _>>()
                {
                    Ok(faults) => faults,
                    Err(e) => {
                        return (StatusCode::BAD_REQUEST, format!("a fault: {e}\n"))
                            .into_response();
                    }
                }
            }
            Ok(one) => match serde_json::from_value(one) {
                Ok(fault) => vec![fault],
                Err(e) => {
                    return (StatusCode::BAD_REQUEST, format!("a fault: {e}\n")).into_response();
                }
            },
            Err(e) => return (StatusCode::BAD_REQUEST, format!("not JSON: {e}\n")).into_response(),
        };
    for fault in &faults {
        if let Err(why) = fault.check() {
            return (StatusCode::BAD_REQUEST, format!("{why}\n")).into_response();
        }
        // The SDK is the app's, not the sandbox's: it applies its own faults.
        if fault.hop == "sdk->acs" {
            return (
                StatusCode::BAD_REQUEST,
                "sdk->acs: the SDK is not part of the sandbox; set the fault in a scenario \
                 (the runner's SDK applies it)\n",
            )
                .into_response();
        }
    }
    for fault in faults {
        let _ = state.faults.add(fault);
    }
    axum::Json(state.faults.list()).into_response()
}

async fn clear_faults(State(state): State<AdminState>) -> Response {
    state.faults.clear();
    StatusCode::NO_CONTENT.into_response()
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
            if let Ok(past) = state.store.events(&query).await {
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
            let received = tokio::select! {
                received = live.recv() => received,
                () = state.closing.cancelled() => return,
            };
            match received {
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
    store: TraceStore,
    mut recorded: mpsc::Receiver<Arc<Event>>,
    stop: tokio_util::sync::CancellationToken,
    losses: Arc<TraceLosses>,
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
                if !batch.is_empty()
                    && let Err(e) = store.record(&batch).await
                {
                    losses.failed(batch.len(), &e);
                }
                return;
            }
        }
        // A failed commit loses this batch's events, not the sandbox: the trace is
        // evidence, and the messages themselves already went through. The loss is
        // counted and shown (`/admin/status`, the TUI).
        if let Err(e) = store.record(&batch).await {
            losses.failed(batch.len(), &e);
        }
        batch.clear();
    }
}

/// What a follower gets from the live stream.
#[derive(Debug, Clone)]
pub enum Live {
    Event(Box<Event>),
    /// The follower fell this many events behind and skipped them (read them back with
    /// `after`).
    Lagged(u64),
}

/// The admin endpoint of a running sandbox, as its manifest describes it: what
/// `threeds trace` and the TUI read the trace through.
#[derive(Debug, Clone)]
pub struct AdminClient {
    base: String,
    client: transport::Client,
    /// A second factor is enrolled: requests need a session.
    needs_totp: bool,
    /// The code to open a session with when one is needed (`THREEDS_ADMIN_TOTP`).
    code: Option<String>,
    session: Arc<tokio::sync::Mutex<Option<String>>>,
}

/// Why the admin endpoint gave no answer to use.
#[derive(Debug, thiserror::Error)]
pub enum AdminError {
    /// The manifest that names the endpoint could not be read.
    #[error("{0}")]
    Manifest(String),
    /// The client (its TLS identity) could not be made.
    #[error("the admin client: {0}")]
    Client(String),
    #[error("the admin endpoint did not answer: {0}")]
    Unreachable(#[from] transport::TransportError),
    /// It answered with an error status; `body` says why.
    #[error("the admin endpoint refused {what} (HTTP {status}): {body}")]
    Refused {
        what: &'static str,
        status: u16,
        body: String,
    },
    #[error(
        "the sandbox's admin endpoint wants a second factor: set THREEDS_ADMIN_TOTP to the \
         current code of the authenticator enrolled with `threeds admin enrol`"
    )]
    NeedsTotp,
    #[error("the admin endpoint opened no session")]
    NoSession,
    #[error("{what}: {source}")]
    Unreadable {
        what: &'static str,
        source: serde_json::Error,
    },
}

impl AdminError {
    fn refused(what: &'static str, status: u16, body: &[u8]) -> AdminError {
        AdminError::Refused {
            what,
            status,
            body: String::from_utf8_lossy(body).trim().to_owned(),
        }
    }
}

impl AdminClient {
    /// The admin endpoint at `url`, trusting the sandbox CA at `root`, presenting the
    /// admin certificate `identity`; `needs_totp` when a second factor is enrolled.
    pub fn new(
        url: &str,
        root: &std::path::Path,
        identity: &pki::tls::Identity,
        needs_totp: bool,
    ) -> Result<AdminClient, AdminError> {
        let tls = pki::tls::client_config(root, Some(identity))
            .map_err(|e| AdminError::Client(e.to_string()))?;
        let client = transport::Client::new(&tls, transport::Timeouts::default())?;
        Ok(AdminClient {
            base: url.trim_end_matches('/').to_owned(),
            client,
            needs_totp,
            code: None,
            session: Arc::default(),
        })
    }

    /// From the manifest `threeds up` wrote (`admin.url`, the admin certificate,
    /// `tls.rootCa`). When a second factor is enrolled, the first request opens a
    /// session with the code in `THREEDS_ADMIN_TOTP`.
    pub fn from_manifest(path: &std::path::Path) -> Result<AdminClient, AdminError> {
        AdminClient::of(&crate::Manifest::read(path).map_err(AdminError::Manifest)?)
    }

    /// For the sandbox `manifest` describes (see [`AdminClient::from_manifest`]).
    pub fn of(manifest: &crate::Manifest) -> Result<AdminClient, AdminError> {
        let identity = pki::tls::Identity {
            cert: manifest.admin.client_cert.clone(),
            key: manifest.admin.client_key.clone(),
        };
        let mut client = AdminClient::new(
            &manifest.admin.url,
            &manifest.tls.root_ca,
            &identity,
            manifest.admin.totp,
        )?;
        client.code = std::env::var("THREEDS_ADMIN_TOTP").ok();
        Ok(client)
    }

    /// Opens a session with the TOTP code `code` (needed when a second factor is
    /// enrolled); later requests use it.
    pub async fn open_session(&self, code: &str) -> Result<(), AdminError> {
        let body = serde_json::json!({ "totp": code }).to_string().into_bytes();
        let reply = self
            .client
            .send_with_bearer("POST", &format!("{}/admin/session", self.base), "", body)
            .await?;
        if reply.status != 200 {
            return Err(AdminError::refused("the code", reply.status, &reply.body));
        }
        let opened: serde_json::Value =
            serde_json::from_slice(&reply.body).map_err(|source| AdminError::Unreadable {
                what: "/admin/session",
                source,
            })?;
        let token = opened["session"].as_str().ok_or(AdminError::NoSession)?;
        *self.session.lock().await = Some(token.to_owned());
        Ok(())
    }

    /// What requests carry as `Authorization: Bearer`: the session, opened first if
    /// one is needed and a code was given; nothing when no second factor is enrolled.
    async fn bearer(&self) -> Result<String, AdminError> {
        if !self.needs_totp {
            return Ok(String::new());
        }
        if let Some(session) = self.session.lock().await.clone() {
            return Ok(session);
        }
        let code = self.code.as_deref().ok_or(AdminError::NeedsTotp)?;
        self.open_session(code).await?;
        Ok(self.session.lock().await.clone().unwrap_or_default())
    }

    /// `method` (`GET`, `POST`, `DELETE`) `path` (from `/admin/…`), with a JSON `body`
    /// (empty: none): the status and body. For the routes without a method here (the
    /// issuer back office, the purge).
    pub async fn call(
        &self,
        method: &str,
        path: &str,
        body: Vec<u8>,
    ) -> Result<(u16, Vec<u8>), AdminError> {
        let bearer = self.bearer().await?;
        let url = format!("{}{path}", self.base);
        let reply = match method {
            "GET" => self.client.get_with_bearer(&url, &bearer).await,
            _ => {
                self.client
                    .send_with_bearer(method, &url, &bearer, body)
                    .await
            }
        }?;
        Ok((reply.status, reply.body))
    }

    /// Adds `faults` to those in force.
    pub async fn add_faults(&self, faults: &[transport::faults::Fault]) -> Result<(), AdminError> {
        let body = serde_json::to_vec(faults).map_err(|source| AdminError::Unreadable {
            what: "the faults",
            source,
        })?;
        let (status, reply) = self.call("POST", "/admin/faults", body).await?;
        if status != 200 {
            return Err(AdminError::refused("the faults", status, &reply));
        }
        Ok(())
    }

    /// Clears every fault.
    pub async fn clear_faults(&self) -> Result<(), AdminError> {
        let (status, reply) = self.call("DELETE", "/admin/faults", Vec::new()).await?;
        if status != 204 {
            return Err(AdminError::refused("clearing the faults", status, &reply));
        }
        Ok(())
    }

    /// The trace's health (`GET /admin/status`).
    pub async fn status(&self) -> Result<Status, AdminError> {
        let (status, reply) = self.call("GET", "/admin/status", Vec::new()).await?;
        if status != 200 {
            return Err(AdminError::refused("/admin/status", status, &reply));
        }
        serde_json::from_slice(&reply).map_err(|source| AdminError::Unreadable {
            what: "/admin/status",
            source,
        })
    }

    /// Stored events, as `query` selects them.
    pub async fn events(&self, query: &TraceQuery) -> Result<Vec<Event>, AdminError> {
        let path = format!("/admin/trace?{}", query_string(query));
        let (status, reply) = self.call("GET", &path, Vec::new()).await?;
        if status != 200 {
            return Err(AdminError::refused("/admin/trace", status, &reply));
        }
        String::from_utf8_lossy(&reply)
            .lines()
            .filter(|l| !l.trim().is_empty())
            .map(|line| {
                serde_json::from_str(line).map_err(|source| AdminError::Unreadable {
                    what: "a trace line",
                    source,
                })
            })
            .collect()
    }

    /// The stored events after `after` (none when `None`) and then live ones, for as
    /// long as the receiver is kept.
    pub async fn follow(
        &self,
        after: Option<u64>,
        transaction: Option<&str>,
    ) -> Result<mpsc::Receiver<Live>, AdminError> {
        let query = TraceQuery {
            transaction: transaction.map(str::to_owned),
            after,
            ..TraceQuery::default()
        };
        let url = format!("{}/admin/trace/stream?{}", self.base, query_string(&query));
        let bearer = self.bearer().await?;
        let mut lines = self.client.get_lines(&url, &bearer).await?;
        let (out, received) = mpsc::channel(1024);
        tokio::spawn(async move {
            let mut kind = String::new();
            let mut data = String::new();
            while let Some(line) = lines.recv().await {
                if let Some(value) = line.strip_prefix("event:") {
                    kind = value.trim().to_owned();
                } else if let Some(value) = line.strip_prefix("data:") {
                    data.push_str(value.trim_start());
                } else if line.is_empty() && !data.is_empty() {
                    let item = match kind.as_str() {
                        "lagged" => Live::Lagged(data.trim().parse().unwrap_or(0)),
                        _ => match serde_json::from_str(&data) {
                            Ok(event) => Live::Event(Box::new(event)),
                            Err(_) => {
                                data.clear();
                                continue;
                            }
                        },
                    };
                    data.clear();
                    kind.clear();
                    if out.send(item).await.is_err() {
                        return;
                    }
                }
            }
        });
        Ok(received)
    }
}

fn query_string(query: &TraceQuery) -> String {
    let mut parts = Vec::new();
    if let Some(t) = &query.transaction {
        let safe: String = t
            .chars()
            .filter(|c| c.is_ascii_alphanumeric() || *c == '-')
            .collect();
        parts.push(format!("transaction={safe}"));
    }
    if let Some(after) = query.after {
        parts.push(format!("after={after}"));
    }
    if let Some(before) = query.before {
        parts.push(format!("before={before}"));
    }
    if query.limit > 0 {
        parts.push(format!("limit={}", query.limit));
    }
    parts.join("&")
}
