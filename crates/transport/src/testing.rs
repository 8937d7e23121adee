//! Tests only (feature `testing`): a component's router driven in-process with
//! `tower::ServiceExt::oneshot`, as a caller whose TLS certificate names
//! `common_name` — the identity `serve` would have set after the handshake. The cheap
//! way to cover every `Erro` path of a handler.
//!
//! It must never be enabled outside tests: it makes up the caller's identity.

use axum::body::Body;
use axum::http::{Request, StatusCode};
use serde_json::Value;
use tower::ServiceExt as _;

use crate::Peer;

/// `body` sent to `app` with `method` on `path` (JSON), by a caller whose certificate's
/// common name is `caller` (`None`: no certificate). The status and the JSON answer
/// (`Null` when the answer is not JSON).
pub async fn call(
    app: &axum::Router,
    caller: Option<&str>,
    method: &str,
    path: &str,
    body: &str,
) -> (StatusCode, Value) {
    let mut request = Request::builder()
        .method(method)
        .uri(path)
        .header("content-type", "application/json")
        .body(Body::from(body.to_owned()))
        .expect("a request from a method and a path");
    request
        .extensions_mut()
        .insert(Peer(caller.map(|name| pki::tls::PeerIdentity {
            common_name: Some(name.to_owned()),
            sha256: "00".into(),
        })));
    let response = app
        .clone()
        .oneshot(request)
        .await
        .expect("a router does not fail");
    let status = response.status();
    let bytes = axum::body::to_bytes(response.into_body(), 1 << 20)
        .await
        .unwrap_or_default();
    (
        status,
        serde_json::from_slice(&bytes).unwrap_or(Value::Null),
    )
}
