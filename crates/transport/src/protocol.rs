//! What every service answers and numbers the same way.

use axum::http::header;
use axum::response::{IntoResponse, Response};
use emv3ds::values::TransId;
use rand_core::{OsRng, RngCore};

/// A protocol answer: the message's JSON with HTTP 200. Decision: every protocol answer,
/// `Erro` included, is HTTP 200 `application/json`; the message type says what happened,
/// and another status means the transport failed (callers map it to 403).
pub fn protocol_answer(message_json: Vec<u8>) -> Response {
    (
        [(header::CONTENT_TYPE, "application/json; charset=utf-8")],
        message_json,
    )
        .into_response()
}

/// A fresh random (version 4) transaction id. The deterministic mode of the scenario
/// runner will replace this with an injected id source.
pub fn fresh_trans_id() -> TransId {
    let mut bytes = [0u8; 16];
    OsRng.fill_bytes(&mut bytes);
    TransId::from_random_bytes(bytes)
}
