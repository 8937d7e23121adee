//! What can go wrong inside the ACS, typed, and the one place each failure becomes a
//! wire answer ([`AcsError::error_code`]): a DS gets it as the `Erro` answering its
//! AReq, an SDK as the `Erro` answering its CReq, a cardholder as the error page.
//!
//! It must never carry a card number, an OTP, a key or an authentication value: the
//! texts name what failed, not the data.

use emv3ds::ErrorCode;

/// A failure of the ACS's own work (not of the message it was given, which the
/// validator answers).
#[derive(Debug, thiserror::Error)]
pub enum AcsError {
    /// The components' database.
    #[error("the database: {0}")]
    Store(#[from] store::StoreError),
    /// The key service (MAC, sealing, signing).
    #[error("the key service: {0}")]
    Keys(#[from] kms::KeyError),
    /// The app channel's cryptography (session key, JWE, signed content).
    #[error("the app channel's cryptography: {0}")]
    Crypto(#[from] app_crypto::CryptoError),
    /// Something the ACS stored cannot be read back (a bug or a database edited by
    /// hand).
    #[error("{what} cannot be read: {why}")]
    Unreadable { what: String, why: String },
    /// A fact the ACS needs is missing: its configuration (no signing key for a DS)
    /// or an element the validator should have required.
    #[error("{0}")]
    Missing(String),
    /// The RReq did not reach the 3DS Server (the DS answered an `Erro`, or nothing);
    /// the sweep retries it.
    #[error("the RReq was not delivered: {0}")]
    Undelivered(String),
    /// Someone else changed the record meanwhile; it will be settled from what is
    /// stored.
    #[error("{0}")]
    Changed(String),
    /// A message the ACS built failed the receiver's validator: the ACS's bug, never
    /// sent.
    #[error("the ACS built an invalid {message} ({code} {detail})")]
    Invalid {
        message: &'static str,
        code: ErrorCode,
        detail: String,
    },
}

impl AcsError {
    /// Stored state that does not parse.
    pub(crate) fn unreadable(what: impl Into<String>, why: impl std::fmt::Display) -> AcsError {
        AcsError::Unreadable {
            what: what.into(),
            why: why.to_string(),
        }
    }

    /// The `errorCode` a peer gets for this failure: 403 (transient) for what a retry
    /// can cure — the database or the key backend failing, a lost write —, 404
    /// (permanent) for what it cannot: data that does not decrypt or parse, a missing
    /// key, a message the ACS got wrong.
    pub fn error_code(&self) -> ErrorCode {
        use store::StoreError as S;
        match self {
            AcsError::Store(S::Open { .. } | S::Database(_) | S::Commit(_) | S::Closed)
            | AcsError::Store(S::Keys(kms::KeyError::Backend(_)))
            | AcsError::Undelivered(_)
            | AcsError::Changed(_)
            | AcsError::Keys(kms::KeyError::Backend(_)) => ErrorCode::TransientSystemFailure,
            AcsError::Store(_)
            | AcsError::Keys(_)
            | AcsError::Crypto(_)
            | AcsError::Unreadable { .. }
            | AcsError::Missing(_)
            | AcsError::Invalid { .. } => ErrorCode::PermanentSystemFailure,
        }
    }
}

impl AcsError {
    /// The HTTP status of a page or JSON answer that reports this failure: 503 when a
    /// retry can cure it, 500 when it cannot (the same split as [`AcsError::error_code`]).
    pub fn http_status(&self) -> axum::http::StatusCode {
        if self.error_code() == ErrorCode::TransientSystemFailure {
            axum::http::StatusCode::SERVICE_UNAVAILABLE
        } else {
            axum::http::StatusCode::INTERNAL_SERVER_ERROR
        }
    }

    /// `message` as the ACS built it failed its receiver's validation with `erro`.
    pub(crate) fn invalid(message: &'static str, erro: &emv3ds::Erro) -> AcsError {
        AcsError::Invalid {
            message,
            code: erro.error_code,
            detail: erro.error_detail.clone(),
        }
    }
}

impl From<serde_json::Error> for AcsError {
    fn from(e: serde_json::Error) -> AcsError {
        AcsError::unreadable("a stored record", e)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn what_a_retry_can_cure_is_transient_and_the_rest_permanent() {
        for transient in [
            AcsError::Store(store::StoreError::Closed),
            AcsError::Store(store::StoreError::Commit("disk full".into())),
            AcsError::Keys(kms::KeyError::Backend("connection refused".into())),
            AcsError::Store(store::StoreError::Keys(kms::KeyError::Backend(
                "throttled".into(),
            ))),
        ] {
            assert_eq!(
                transient.error_code(),
                ErrorCode::TransientSystemFailure,
                "{transient}"
            );
            assert_eq!(
                transient.http_status(),
                axum::http::StatusCode::SERVICE_UNAVAILABLE
            );
        }
        for permanent in [
            AcsError::Keys(kms::KeyError::Decrypt),
            AcsError::Store(store::StoreError::Corrupt(
                "challenge".into(),
                "not JSON".into(),
            )),
            AcsError::unreadable("challenge x", "bad JSON"),
            AcsError::Missing("the AReq has no sdkTransID".into()),
            AcsError::Invalid {
                message: "CRes",
                code: ErrorCode::RequiredElementMissing,
                detail: "acsCounterAtoS".into(),
            },
        ] {
            assert_eq!(
                permanent.error_code(),
                ErrorCode::PermanentSystemFailure,
                "{permanent}"
            );
            assert_eq!(
                permanent.http_status(),
                axum::http::StatusCode::INTERNAL_SERVER_ERROR
            );
        }
    }
}
