//! The trace at the wire: one layer records what a service receives and answers, and a
//! traced [`Client`](crate::Client) records what a component sends and gets back. Both
//! ask `trace::classify` what a body is, so pages and polls stay out of the trace and
//! every protocol message, browser form and API call is in it — on each side of the hop.

use axum::Router;
use axum::body::{Body, to_bytes};
use axum::extract::Request;
use axum::http::header::CONTENT_TYPE;
use axum::middleware::{self, Next};
use axum::response::Response;
use trace::classify::{self, Classified, Seen};
use trace::{Annotation, Direction, Event, Kind, Party, Tracer};

use crate::Peer;

/// Bodies larger than this are passed through untraced.
const MAX_TRACED_BODY: usize = 1 << 20;

/// Who records, and for which scheme.
#[derive(Debug, Clone)]
pub struct Observer {
    pub tracer: Tracer,
    pub party: Party,
    /// The scheme of a DS (so the trace says which card network was involved).
    pub scheme: Option<String>,
}

impl Observer {
    /// A message event from what `classified` says.
    pub(crate) fn message(
        &self,
        classified: Classified,
        direction: Direction,
        counterpart: Option<Party>,
        path: &str,
    ) -> Event {
        let mut event = Event::new(Kind::Message, self.party, classified.label);
        event.direction = Some(direction);
        let (from, to) = match direction {
            Direction::Sent => (Some(self.party), counterpart),
            Direction::Received => (counterpart, Some(self.party)),
        };
        event.from = from;
        event.to = to;
        event.scheme.clone_from(&self.scheme);
        event.ids = classified.ids;
        event.message_type = classified.message_type;
        event.message_version = classified.message_version;
        event.path = Some(path.to_owned());
        event.findings = erro_findings(&classified.top);
        event.body = Some(classified.body);
        event.decoded = classified.decoded;
        event
    }
}

/// What an `Erro` body says was wrong (from its top-level members).
fn erro_findings(top: &[(String, String)]) -> Vec<String> {
    let field = |name: &str| {
        top.iter()
            .find(|(k, _)| k == name)
            .map_or("", |(_, v)| v.as_str())
    };
    if field("messageType") != "Erro" {
        return Vec::new();
    }
    vec![format!(
        "Erro {} ({}): {}",
        field("errorCode"),
        field("errorDetail"),
        field("errorDescription")
    )]
}

/// `app` with every message it receives and answers recorded by `observer`.
pub fn traced(app: Router, observer: Observer) -> Router {
    if !observer.tracer.is_enabled() {
        return app;
    }
    app.layer(middleware::from_fn(move |request: Request, next: Next| {
        let observer = observer.clone();
        async move { record(&observer, request, next).await }
    }))
}

fn content_type(headers: &axum::http::HeaderMap) -> Option<String> {
    headers
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned)
}

async fn record(observer: &Observer, request: Request, next: Next) -> Response {
    let started = observer.tracer.stopwatch();
    let path = request.uri().path().to_owned();
    let (parts, body) = request.into_parts();
    let Ok(bytes) = to_bytes(body, MAX_TRACED_BODY).await else {
        return Response::builder()
            .status(413)
            .body(Body::from("request body too large"))
            .unwrap_or_default();
    };
    let request_type = content_type(&parts.headers);
    let seen = Seen {
        path: &path,
        content_type: request_type.as_deref(),
        request: true,
    };
    let classified = classify::classify(seen, &bytes);
    let tls_peer = parts
        .extensions
        .get::<Peer>()
        .and_then(|p| p.0.as_ref())
        .map(|p| {
            format!(
                "{} ({})",
                p.common_name.as_deref().unwrap_or("no common name"),
                p.sha256.get(..23).unwrap_or(&p.sha256)
            )
        });
    let mut received = None;
    if let Some(classified) = classified {
        let counterpart = classify::counterpart(observer.party, &classified, false);
        let ids = classified.ids.clone();
        let mut event = observer.message(classified, Direction::Received, counterpart, &path);
        event.tls_peer.clone_from(&tls_peer);
        let seq = observer.tracer.emit(event);
        received = Some((seq, counterpart, ids));
    }
    let response = next
        .run(Request::from_parts(parts, Body::from(bytes)))
        .await;
    let Some((seq, counterpart, request_ids)) = received else {
        return response;
    };
    let (mut parts, body) = response.into_parts();
    let annotation = parts.extensions.remove::<Annotation>().unwrap_or_default();
    let Ok(bytes) = to_bytes(body, MAX_TRACED_BODY).await else {
        return Response::from_parts(parts, Body::empty());
    };
    let duration_ms = started.elapsed_ms();
    if let Some(plain) = annotation.request {
        let mut event = Event::new(Kind::Decoded, observer.party, plain.what.clone());
        event.of = Some(seq);
        event.ids = request_ids.clone();
        event.ids.merge(&annotation.ids);
        event.decoded = Some(plain);
        observer.tracer.emit(event);
    }
    let response_type = content_type(&parts.headers);
    let seen = Seen {
        path: &path,
        content_type: response_type.as_deref(),
        request: false,
    };
    let mut event = match classify::classify(seen, &bytes) {
        Some(classified) => observer.message(classified, Direction::Sent, counterpart, &path),
        None => {
            let mut event = Event::new(Kind::Message, observer.party, format!("answer to {path}"));
            event.direction = Some(Direction::Sent);
            event.from = Some(observer.party);
            event.to = counterpart;
            event.path = Some(path.clone());
            event
        }
    };
    event.http_status = Some(parts.status.as_u16());
    event.duration_ms = Some(duration_ms);
    event.reply_to = Some(seq);
    event.ids.merge(&request_ids);
    event.ids.merge(&annotation.ids);
    event.findings.extend(annotation.findings);
    if let Some(plain) = annotation.response {
        event.decoded = Some(plain);
    }
    event.tls_peer = tls_peer;
    parts
        .extensions
        .insert(crate::logged::SeenIds(event.ids.clone()));
    observer.tracer.emit(event);
    Response::from_parts(parts, Body::from(bytes))
}
