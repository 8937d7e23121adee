//! The request log: one `tracing` line per request a component answers, with target
//! `threeds::request` and fields `component`, `method`, `path`, `status`, `ms`, `peer`
//! (the client certificate's common name) and, when the trace layer saw them in the
//! message, the transaction ids. 5xx answers are warnings, the rest info.
//!
//! It logs the path without the query, and never a header or a body: paths carry only
//! transaction ids (`/v1/postauth/{id}`, `/challenge/{acsTransID}`), never card data,
//! codes or keys. It must never read or buffer a body.

use std::sync::Arc;
use std::time::Instant;

use axum::Router;
use axum::extract::Request;
use axum::middleware::{self, Next};
use axum::response::Response;

use crate::Peer;

/// The transaction ids of a request and its answer, as the trace layer classified them;
/// it leaves them in the response's extensions for this layer (absent with the trace
/// off: then the line has the ids in the path only).
#[derive(Debug, Clone, Default)]
pub struct SeenIds(pub trace::Ids);

/// `app` with a log line per request, for `component` (`acs`, `ds-alpha`, …). Put it
/// outside [`traced`](crate::traced) so it sees the ids.
pub fn logged(app: Router, component: &str) -> Router {
    let component: Arc<str> = component.into();
    app.layer(middleware::from_fn(move |request: Request, next: Next| {
        log(component.clone(), request, next)
    }))
}

async fn log(component: Arc<str>, request: Request, next: Next) -> Response {
    let started = Instant::now();
    let method = request.method().clone();
    let path = request.uri().path().to_owned();
    let peer = request
        .extensions()
        .get::<Peer>()
        .and_then(|Peer(p)| p.as_ref())
        .map(|p| {
            p.common_name
                .clone()
                .unwrap_or_else(|| "(no common name)".into())
        });
    let response = next.run(request).await;
    let status = response.status().as_u16();
    let ms = started.elapsed().as_secs_f64() * 1000.0;
    let ids = response
        .extensions()
        .get::<SeenIds>()
        .map(|SeenIds(ids)| ids.clone())
        .unwrap_or_default();
    let peer = peer.as_deref().unwrap_or("-");
    macro_rules! line {
        ($level:ident) => {
            tracing::$level!(
                target: "threeds::request",
                component = &*component,
                method = %method,
                path = %path,
                status,
                ms = format_args!("{ms:.1}"),
                peer,
                // An absent id records no field at all.
                threeDSServerTransID = ids.three_ds_server_trans_id.as_deref(),
                dsTransID = ids.ds_trans_id.as_deref(),
                acsTransID = ids.acs_trans_id.as_deref(),
                sdkTransID = ids.sdk_trans_id.as_deref(),
                "request"
            )
        };
    }
    if status >= 500 {
        line!(warn);
    } else {
        line!(info);
    }
    response
}
