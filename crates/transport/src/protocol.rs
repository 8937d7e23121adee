//! What every service answers the same way.

use axum::http::header;
use axum::response::{IntoResponse, Response};

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

/// A protocol answer refusing `about`: the `Erro` `validator`'s role sends, with `code`,
/// the elements at fault (`detail`) and why.
pub fn protocol_refusal(
    validator: &emv3ds::Validator,
    code: emv3ds::ErrorCode,
    detail: &str,
    why: &str,
    about: &emv3ds::Message,
) -> Response {
    protocol_answer(validator.reject(code, detail, why, Some(about)).to_json())
}
