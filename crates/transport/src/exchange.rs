//! One protocol request–response with a peer, checked: the one way every component
//! calls another (3DS Server → DS, DS → ACS, DS → 3DS Server).
//!
//! The answer is validated as the caller's role receives it, against the facts of the
//! request, and must be the request's answer type. Everything else becomes the `Erro`
//! the caller passes on: the peer's own `Erro`, or one from the caller's role when the
//! peer did not answer (402/405/403), answered other than HTTP 200 (403), sent an
//! invalid message (its validation `Erro`) or the wrong type (101).

use emv3ds::codes::MessageType;
use emv3ds::{Context, Erro, ErrorCode, Message, RequestFacts, Validator};

use crate::Client;

/// The message type that answers `request`.
fn answer_type(request: MessageType) -> Option<MessageType> {
    match request {
        MessageType::PReq => Some(MessageType::PRes),
        MessageType::AReq => Some(MessageType::ARes),
        MessageType::RReq => Some(MessageType::RRes),
        MessageType::CReq => Some(MessageType::CRes),
        _ => None,
    }
}

/// Sends `request` to the peer at `url` (`peer` names it in descriptions, e.g. "the
/// ACS") and returns its answer, valid and of the answering type, or the `Erro` to pass
/// on.
pub async fn exchange(
    client: &Client,
    url: &str,
    request: &Message,
    validator: &Validator,
    peer: &str,
) -> Result<Message, Box<Erro>> {
    let refuse =
        |code, detail: &str, why: String| validator.reject(code, detail, &why, Some(request));
    let reply = client
        .post_json(url, request.to_json())
        .await
        .map_err(|e| refuse(e.erro_code(), "", format!("{peer} did not answer: {e}")))?;
    if reply.status != 200 {
        return Err(refuse(
            ErrorCode::TransientSystemFailure,
            "",
            format!("{peer} answered HTTP {}", reply.status),
        ));
    }
    let facts = RequestFacts::of(request);
    let context = Context {
        request: Some(&facts),
        channel: None,
    };
    let answer = match validator.validate(&reply.body, &context) {
        Ok(valid) => valid.message,
        Err(mut erro) => {
            erro.error_description =
                format!("{peer}'s answer is invalid: {}", erro.error_description);
            refused(client, request, &erro);
            return Err(erro);
        }
    };
    let expected = answer_type(request.message_type());
    match answer {
        Message::Erro(erro) => Err(Box::new(erro)),
        answer if Some(answer.message_type()) == expected => Ok(answer),
        other => {
            let erro = refuse(
                ErrorCode::MessageInvalid,
                "messageType",
                format!(
                    "{peer} answered the {} with a {}",
                    request.message_type(),
                    other.message_type()
                ),
            );
            refused(client, request, &erro);
            Err(erro)
        }
    }
}

/// Records in the trace that the caller refused its peer's answer, and why.
fn refused(client: &Client, request: &Message, erro: &Erro) {
    let Some(observer) = client.observer() else {
        return;
    };
    let ids = trace::Ids::of(&serde_json::from_slice(&request.to_json()).unwrap_or_default());
    let mut note = trace::Event::note(observer.party, "answer refused", ids);
    note.findings.push(format!(
        "Erro {} ({}): {}",
        erro.error_code, erro.error_detail, erro.error_description
    ));
    observer.tracer.emit(note);
}
