//! Who may call an endpoint: the TLS layer admits any certificate under the sandbox's
//! root, and [`Callers`] narrows that to the parties an endpoint serves, by the common
//! name of the client certificate (the identities `pki` issues, or the ones an
//! ecosystem file names for a foreign component).
//!
//! A refused call is answered HTTP 403 with the `Erro` the endpoint's role sends,
//! `errorCode` 303 ("access denied, invalid endpoint"), saying whom the endpoint takes;
//! the handler never runs, so nothing it would have changed is changed. This module must
//! never decide by anything the caller sends in the request itself.

use std::sync::Arc;

use axum::extract::Request;
use axum::http::{StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use emv3ds::{ErrorCode, Role, Validator};

use crate::Peer;

/// What a middleware of this module returns.
pub type Answer = std::pin::Pin<Box<dyn Future<Output = Response> + Send>>;

/// The parties an endpoint answers: their certificates' common names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Callers {
    /// What these callers are, for refusals ("a 3DS Server registered with this DS").
    what: Arc<str>,
    names: Arc<[String]>,
}

impl Callers {
    /// Callers whose client certificate has one of `names` as its common name.
    pub fn new(what: &str, names: impl IntoIterator<Item = String>) -> Callers {
        Callers {
            what: what.into(),
            names: names.into_iter().collect(),
        }
    }

    /// Whether `name` is one of these callers' common names.
    pub fn contains(&self, name: &str) -> bool {
        self.names.iter().any(|n| n == name)
    }

    /// `Ok` when `peer` is one of these callers, or why not (for the `Erro`).
    pub fn admit(&self, peer: Option<&Peer>) -> Result<(), Refused> {
        let identity = peer.and_then(|Peer(p)| p.as_ref());
        let what = self.what.clone();
        match identity.and_then(|p| p.common_name.as_deref()) {
            Some(name) if self.contains(name) => Ok(()),
            Some(name) => Err(Refused::NotOne {
                what,
                name: name.to_owned(),
            }),
            None if identity.is_some() => Err(Refused::NoCommonName { what }),
            None => Err(Refused::NoCertificate { what }),
        }
    }
}

/// Why a caller is refused: the `errorDescription` of the `Erro` 303 it gets. Says who
/// the endpoint takes and what the caller presented; never anything from the request.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Refused {
    /// The client certificate names another party.
    #[error("this endpoint answers {what} only; the client certificate \"{name}\" is not one")]
    NotOne { what: Arc<str>, name: String },
    /// The client certificate has no common name to go by.
    #[error("this endpoint answers {what} only; the client certificate has no common name")]
    NoCommonName { what: Arc<str> },
    /// No client certificate at all.
    #[error("this endpoint answers {what} only, by client certificate; none was presented")]
    NoCertificate { what: Arc<str> },
    /// The card's scheme has its own DS, and the caller is another scheme's.
    #[error(
        "this card is in a range of directory server {directory_server_id}, so its AReqs come \
         only from \"{expected}\"; the client certificate \"{caller}\" is another Directory \
         Server's"
    )]
    OtherScheme {
        directory_server_id: String,
        expected: String,
        caller: String,
    },
    /// The party that may send this (the transaction's DS or ACS) is no longer
    /// configured, so nobody may.
    #[error("the {party} of this transaction is no longer configured here")]
    PartyGone { party: &'static str },
}

/// A refusal of a caller: HTTP 403 with `role`'s `Erro` 303 saying `why`.
pub fn refuse_caller(role: Role, why: &Refused) -> Response {
    let erro = Validator::new(role).reject(ErrorCode::AccessDenied, "", &why.to_string(), None);
    (
        StatusCode::FORBIDDEN,
        [(header::CONTENT_TYPE, "application/json; charset=utf-8")],
        erro.to_json(),
    )
        .into_response()
}

/// A middleware (for `Router::route_layer`) that lets only `callers` through; `role`
/// is the component answering.
pub fn only(
    callers: Callers,
    role: Role,
) -> impl Fn(Request, Next) -> Answer + Clone + Send + Sync + 'static {
    move |request: Request, next: Next| {
        let admitted = callers.admit(request.extensions().get::<Peer>());
        Box::pin(async move {
            match admitted {
                Ok(()) => next.run(request).await,
                Err(why) => refuse_caller(role, &why),
            }
        })
    }
}

/// The largest request body a protocol endpoint reads (AReq, ARes, RReq, PReq, the
/// requestor API): the largest legal message is an app AReq, whose `sdkEncData` alone
/// may be 64,000 characters; the rest of its elements stay well under 64 KiB more. A
/// larger body is answered 413 when its length says so, before it is read, and
/// otherwise once this much has been read.
pub const MESSAGE_BODY_LIMIT: usize = 128 * 1024;

/// The largest request body a browser-facing page reads (3DS Method and CReq forms,
/// challenge steps, SPC registrations with their attestation): a few KiB in practice.
pub const FORM_BODY_LIMIT: usize = 64 * 1024;

/// `router` reading at most `limit` bytes of any request body: a body whose
/// `Content-Length` is larger is answered 413 before a byte of it is read
/// ([`length_limit`]), and one sent without a length (chunked) fails with 413 once
/// `limit` bytes have arrived (axum's `DefaultBodyLimit`).
pub fn body_limit<S: Clone + Send + Sync + 'static>(
    router: axum::Router<S>,
    limit: usize,
) -> axum::Router<S> {
    router
        .layer(axum::extract::DefaultBodyLimit::max(limit))
        .layer(axum::middleware::from_fn(length_limit(limit)))
}

/// A middleware answering 413 to a request whose `Content-Length` exceeds `limit`,
/// without reading its body.
pub fn length_limit(
    limit: usize,
) -> impl Fn(Request, Next) -> Answer + Clone + Send + Sync + 'static {
    move |request: Request, next: Next| {
        let announced = request
            .headers()
            .get(header::CONTENT_LENGTH)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse::<u64>().ok());
        Box::pin(async move {
            match announced {
                Some(length) if length > limit as u64 => (
                    StatusCode::PAYLOAD_TOO_LARGE,
                    format!(
                        "a request body of {length} bytes; this endpoint takes at most {limit}"
                    ),
                )
                    .into_response(),
                _ => next.run(request).await,
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use pki::tls::PeerIdentity;

    fn peer(name: Option<&str>) -> Peer {
        Peer(Some(PeerIdentity {
            common_name: name.map(str::to_owned),
            sha256: "AB".into(),
        }))
    }

    #[test]
    fn only_the_named_certificates_are_admitted() {
        let callers = Callers::new("the DS", ["threeds DS alpha".to_owned()]);
        assert_eq!(callers.admit(Some(&peer(Some("threeds DS alpha")))), Ok(()));
        let other = callers.admit(Some(&peer(Some("threeds requestor"))));
        assert!(
            other
                .is_err_and(|why| { why.to_string().contains("\"threeds requestor\" is not one") })
        );
        assert!(callers.admit(Some(&peer(None))).is_err());
        assert!(callers.admit(Some(&Peer(None))).is_err());
        assert!(callers.admit(None).is_err());
    }
}
