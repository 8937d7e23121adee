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
    pub fn admit(&self, peer: Option<&Peer>) -> Result<(), String> {
        let identity = peer.and_then(|Peer(p)| p.as_ref());
        match identity.and_then(|p| p.common_name.as_deref()) {
            Some(name) if self.contains(name) => Ok(()),
            Some(name) => Err(format!(
                "this endpoint answers {} only; the client certificate \"{name}\" is not one",
                self.what
            )),
            None if identity.is_some() => Err(format!(
                "this endpoint answers {} only; the client certificate has no common name",
                self.what
            )),
            None => Err(format!(
                "this endpoint answers {} only, by client certificate; none was presented",
                self.what
            )),
        }
    }
}

/// A refusal of a caller: HTTP 403 with `role`'s `Erro` 303 saying `why`.
pub fn refuse_caller(role: Role, why: &str) -> Response {
    let erro = Validator::new(role).reject(ErrorCode::AccessDenied, "", why, None);
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
) -> impl Fn(Request, Next) -> std::pin::Pin<Box<dyn Future<Output = Response> + Send>>
+ Clone
+ Send
+ Sync
+ 'static {
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
        assert!(other.is_err_and(|why| why.contains("\"threeds requestor\" is not one")));
        assert!(callers.admit(Some(&peer(None))).is_err());
        assert!(callers.admit(Some(&Peer(None))).is_err());
        assert!(callers.admit(None).is_err());
    }
}
