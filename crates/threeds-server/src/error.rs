//! What can go wrong inside the 3DS Server, typed, and the one place each failure
//! becomes an answer: [`ServerError`] for a requestor (an `Erro`-shaped body from
//! component S with the HTTP status its [`ServerError::status`] gives), and
//! [`PrepareError`] for the card-range refresh (logged and shown by `threeds up`).
//! The RReq endpoint answers a DS with the same codes ([`ServerError::error_code`]).
//!
//! It must never carry a card number, a key or an authentication value: the texts name
//! what failed and which elements, not the data.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use emv3ds::card_ranges::RangeError;
use emv3ds::messages::Erro;
use emv3ds::{ErrorCode, Role, Validator};

/// A request the 3DS Server cannot carry out, or a failure of its own.
#[derive(Debug, thiserror::Error)]
pub enum ServerError {
    /// The request is wrong as the requestor sent it: `code` (101, 102, 201, 203, 301,
    /// 305) says how and `elements` where.
    #[error("{why}")]
    Request {
        code: ErrorCode,
        elements: String,
        why: String,
    },
    /// A caller the endpoint does not take (by its TLS certificate).
    #[error(transparent)]
    Caller(transport::access::Refused),
    /// The components' database failed while the 3DS Server was `doing` something; the
    /// requestor is told to retry, nothing is lost silently.
    #[error("the 3DS Server could not {doing}: {source}")]
    Store {
        doing: &'static str,
        source: store::StoreError,
    },
    /// The DS answered with an `Erro`, or did not answer: passed on as it came.
    #[error("the DS: {} {}", .0.error_code.as_str(), .0.error_description)]
    Ds(Box<Erro>),
    /// A message the 3DS Server built failed its receiver's validator: a bug, never sent.
    #[error("the 3DS Server built an invalid {message} ({} {detail})", code.as_str())]
    Invalid {
        message: &'static str,
        code: ErrorCode,
        detail: String,
    },
}

impl ServerError {
    fn request(code: ErrorCode, elements: &str, why: impl Into<String>) -> ServerError {
        ServerError::Request {
            code,
            elements: elements.to_owned(),
            why: why.into(),
        }
    }

    /// 101: the body is not a JSON object, or a message of the wrong type.
    pub(crate) fn bad_body(why: impl Into<String>) -> ServerError {
        ServerError::request(ErrorCode::MessageInvalid, "request", why)
    }

    /// 201: a required element is absent.
    pub(crate) fn missing(element: &str, why: impl Into<String>) -> ServerError {
        ServerError::request(ErrorCode::RequiredElementMissing, element, why)
    }

    /// 203: elements of the wrong format.
    pub(crate) fn format(elements: &str, why: impl Into<String>) -> ServerError {
        ServerError::request(ErrorCode::InvalidFormat, elements, why)
    }

    /// 301: a transaction id the 3DS Server does not know, or cannot continue.
    pub(crate) fn unknown_transaction(element: &str, why: impl Into<String>) -> ServerError {
        ServerError::request(ErrorCode::TransactionIdNotRecognised, element, why)
    }

    /// 305: data that is well formed and still cannot be used (a card in no range).
    pub(crate) fn data_invalid(element: &str, why: impl Into<String>) -> ServerError {
        ServerError::request(ErrorCode::TransactionDataInvalid, element, why)
    }

    /// 102: no version the parties share, or one the 3DS Server does not speak.
    pub(crate) fn version(why: impl Into<String>) -> ServerError {
        ServerError::request(ErrorCode::VersionNotSupported, "messageVersion", why)
    }

    /// A database failure while `doing`.
    pub(crate) fn store(doing: &'static str) -> impl FnOnce(store::StoreError) -> ServerError {
        move |source| ServerError::Store { doing, source }
    }

    /// The `errorCode` of the answer.
    pub fn error_code(&self) -> ErrorCode {
        match self {
            ServerError::Request { code, .. } => *code,
            ServerError::Caller(_) => ErrorCode::AccessDenied,
            ServerError::Store { .. } => ErrorCode::TransientSystemFailure,
            ServerError::Ds(erro) => erro.error_code,
            ServerError::Invalid { .. } => ErrorCode::PermanentSystemFailure,
        }
    }

    /// The HTTP status of the answer: 400 for the requestor's mistakes, 403 for a
    /// caller refused, 503 for a failure a retry can cure, 502 for the DS's, 500 for
    /// the 3DS Server's own bug.
    pub fn status(&self) -> StatusCode {
        match self {
            ServerError::Request { .. } => StatusCode::BAD_REQUEST,
            ServerError::Caller(_) => StatusCode::FORBIDDEN,
            ServerError::Store { .. } => StatusCode::SERVICE_UNAVAILABLE,
            ServerError::Ds(_) => StatusCode::BAD_GATEWAY,
            ServerError::Invalid { .. } => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    /// The `errorDetail`: the elements at fault (empty for a system failure).
    pub fn detail(&self) -> String {
        match self {
            ServerError::Request { elements, .. } => elements.clone(),
            ServerError::Ds(erro) => erro.error_detail.clone(),
            ServerError::Caller(_) | ServerError::Store { .. } | ServerError::Invalid { .. } => {
                String::new()
            }
        }
    }

    /// The `Erro` this failure is answered with, from component S.
    pub fn to_erro(&self, about: Option<&emv3ds::Message>) -> Erro {
        if let ServerError::Ds(erro) = self {
            return (**erro).clone();
        }
        *Validator::new(Role::ThreeDsServer).reject(
            self.error_code(),
            &self.detail(),
            &self.to_string(),
            about,
        )
    }
}

impl IntoResponse for ServerError {
    fn into_response(self) -> Response {
        if matches!(
            self,
            ServerError::Store { .. } | ServerError::Invalid { .. }
        ) {
            tracing::warn!("{self}");
        }
        crate::api::erro_reply(self.status(), &self.to_erro(None))
    }
}

/// Why the card ranges of a DS were not refreshed.
#[derive(Debug, thiserror::Error)]
pub enum PrepareError {
    /// The DS answered the PReq with an `Erro`, or did not answer.
    #[error("{} {}: {}", .0.error_code.as_str(), .0.error_detail, .0.error_description)]
    Ds(Box<Erro>),
    /// The DS answered with another message than a PRes.
    #[error("the DS's answer is not a PRes")]
    NotPres,
    /// The PRes does not apply to the cached ranges (a serial number out of order,
    /// overlapping ranges).
    #[error("the DS's card ranges: {0}")]
    Ranges(#[from] RangeError),
    /// The database.
    #[error("the card ranges could not be read or saved: {0}")]
    Store(#[from] store::StoreError),
    /// The in-memory cache is unusable (a writer panicked holding it).
    #[error("the card range cache is unavailable")]
    Cache,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_failure_has_its_status_code_and_elements() {
        let cases = [
            (ServerError::bad_body("not JSON"), 400, "101", "request"),
            (
                ServerError::missing("acctNumber", "x"),
                400,
                "201",
                "acctNumber",
            ),
            (ServerError::format("a,b", "x"), 400, "203", "a,b"),
            (ServerError::version("x"), 400, "102", "messageVersion"),
            (
                ServerError::unknown_transaction("threeDSServerTransID", "x"),
                400,
                "301",
                "threeDSServerTransID",
            ),
            (
                ServerError::data_invalid("acctNumber", "x"),
                400,
                "305",
                "acctNumber",
            ),
            (
                ServerError::Caller(transport::access::Refused::PartyGone { party: "DS" }),
                403,
                "303",
                "",
            ),
            (
                ServerError::store("record the transaction")(store::StoreError::Closed),
                503,
                "403",
                "",
            ),
            (
                ServerError::Invalid {
                    message: "CReq",
                    code: ErrorCode::InvalidFormat,
                    detail: "acsTransID".into(),
                },
                500,
                "404",
                "",
            ),
        ];
        for (error, status, code, detail) in cases {
            assert_eq!(error.status().as_u16(), status, "{error}");
            assert_eq!(error.error_code().as_str(), code, "{error}");
            assert_eq!(error.detail(), detail, "{error}");
            let erro = error.to_erro(None);
            assert_eq!(erro.error_code.as_str(), code);
            assert_eq!(erro.error_component, emv3ds::ErrorComponent::ThreeDsServer);
        }
    }

    #[test]
    fn the_ds_erro_is_passed_on_as_it_came() {
        let erro = Validator::new(Role::DirectoryServer).reject(
            ErrorCode::TransactionDataInvalid,
            "acctNumber",
            "the card number is in no card range of this DS",
            None,
        );
        let error = ServerError::Ds(erro.clone());
        assert_eq!(error.status().as_u16(), 502);
        assert_eq!(error.to_erro(None), *erro);
    }
}
