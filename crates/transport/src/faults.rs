//! Faults as data (architecture principle 8): a table of faults, each for a hop and a
//! message type, that the sending side's [`Client`](crate::Client) applies — the one
//! layer every component sends through. A fault can add latency, make the peer not
//! answer (a timeout, reported at once rather than after the read timeout), refuse
//! the connection, answer an HTTP error status or an `Erro` in the peer's name, or
//! change the message on the wire: a named element removed, emptied or set, or the
//! `messageVersion` changed — the request if the fault names the request's type, the
//! answer if it names the answer's. Each application is recorded in the trace.
//!
//! The table is shared by every client of a sandbox and set at run time through the
//! admin endpoint (`/admin/faults`), so a running sandbox can be broken on purpose.
//!
//! The app channel's CReq travels as a JWE: a fault that changes it is applied by the
//! SDK to the plaintext before sealing ([`Client::fault_plaintext`](crate::Client::fault_plaintext)),
//! the others to the JWE on the wire, like any message.

use std::sync::{Arc, Mutex};

use emv3ds::{ErrorCode, Message, Role, Validator};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

/// What goes wrong.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "kebab-case", deny_unknown_fields)]
pub enum FaultKind {
    /// The answer comes `ms` milliseconds later.
    Delay { ms: u64 },
    /// The peer does not answer (the sender sees its read timeout).
    Timeout,
    /// The connection is refused.
    Refused,
    /// The peer answers this HTTP status, with no message.
    HttpStatus { status: u16 },
    /// The peer answers an `Erro` with this code instead of its answer.
    Erro { code: String },
    /// The message loses this element.
    Remove { field: String },
    /// The element is there, empty.
    Empty { field: String },
    /// The element takes this (JSON) value.
    Set { field: String, value: Value },
    /// The message claims another version.
    Version { version: String },
    /// The TLS handshake fails on a certificate: `wrong-name` (the peer's certificate
    /// does not name the host the sender asks for: the sender refuses it), `expired`
    /// or `wrong-ca` (the sender presents a client certificate that is expired, or
    /// from a CA the peer does not trust: the peer refuses it).
    Certificate { problem: CertificateProblem },
}

/// What is wrong with a certificate.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum CertificateProblem {
    WrongName,
    Expired,
    WrongCa,
}

/// One fault: where, on which message, what, and how many times (`None`: until
/// cleared). Members it does not know are refused by [`FaultKind`], which receives
/// what `hop`, `message` and `times` leave.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Fault {
    /// `3ds-server->ds`, `ds->acs`, `acs->ds`, `ds->3ds-server`, `merchant->3ds-server`,
    /// `sdk->acs`.
    pub hop: String,
    /// The message type it applies to (`AReq`, `ARes`, `RReq`, …); any when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
    #[serde(flatten)]
    pub kind: FaultKind,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub times: Option<u32>,
}

/// The hops a fault can be set on, as `from->to`.
pub const HOPS: [&str; 6] = [
    "merchant->3ds-server",
    "3ds-server->ds",
    "ds->acs",
    "acs->ds",
    "ds->3ds-server",
    "sdk->acs",
];

impl FaultKind {
    /// It changes the message itself (an element removed, emptied or set, the version).
    pub fn changes_the_message(&self) -> bool {
        matches!(
            self,
            FaultKind::Remove { .. }
                | FaultKind::Empty { .. }
                | FaultKind::Set { .. }
                | FaultKind::Version { .. }
        )
    }
}

/// Why a fault cannot be applied.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FaultError {
    #[error("hop {0:?}: expected one of {hops}", hops = HOPS.join(", "))]
    UnknownHop(String),
    #[error("sdk->acs: the SDK presents no client certificate (only wrong-name applies)")]
    NoClientCertificate,
    #[error("status {0}: expected an HTTP status (100–599)")]
    NotAnHttpStatus(u16),
}

impl Fault {
    /// Why the fault cannot be applied, if it cannot.
    pub fn check(&self) -> Result<(), FaultError> {
        if !HOPS.contains(&self.hop.as_str()) {
            return Err(FaultError::UnknownHop(self.hop.clone()));
        }
        if self.hop == "sdk->acs"
            && matches!(
                self.kind,
                FaultKind::Certificate {
                    problem: CertificateProblem::Expired | CertificateProblem::WrongCa
                }
            )
        {
            return Err(FaultError::NoClientCertificate);
        }
        if let FaultKind::HttpStatus { status } = self.kind
            && !(100..=599).contains(&status)
        {
            return Err(FaultError::NotAnHttpStatus(status));
        }
        Ok(())
    }
}

/// The faults in force, shared by every client of a sandbox.
#[derive(Debug, Clone, Default)]
pub struct Faults(Arc<Mutex<Vec<Fault>>>);

impl Faults {
    pub fn list(&self) -> Vec<Fault> {
        self.0.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }

    pub fn add(&self, fault: Fault) -> Result<(), FaultError> {
        fault.check()?;
        self.0.lock().unwrap_or_else(|e| e.into_inner()).push(fault);
        Ok(())
    }

    pub fn clear(&self) {
        self.0.lock().unwrap_or_else(|e| e.into_inner()).clear();
    }

    /// The first fault for `hop` and message type `message` whose kind `applies` (a use
    /// is counted).
    pub(crate) fn take(
        &self,
        hop: &str,
        message: &str,
        applies: impl Fn(&FaultKind) -> bool,
    ) -> Option<Fault> {
        let mut faults = self.0.lock().unwrap_or_else(|e| e.into_inner());
        if faults.is_empty() {
            return None;
        }
        let at = faults.iter().position(|f| {
            f.hop == hop && f.message.as_deref().is_none_or(|m| m == message) && applies(&f.kind)
        })?;
        let fault = faults[at].clone();
        if let Some(times) = &mut faults[at].times {
            *times = times.saturating_sub(1);
            if *times == 0 {
                faults.remove(at);
            }
        }
        Some(fault)
    }

    /// Whether any fault is set (the fast path skips everything when none is).
    pub(crate) fn any(&self) -> bool {
        !self.0.lock().unwrap_or_else(|e| e.into_inner()).is_empty()
    }
}

/// `url` with its host replaced by one no sandbox certificate names (same port, still
/// loopback: `*.localhost`), so the handshake fails on the server's certificate.
pub(crate) fn misnamed(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_owned();
    };
    let (authority, path) = rest.split_at(rest.find('/').unwrap_or(rest.len()));
    let port = authority.rsplit_once(':').map(|(_, p)| p);
    match port {
        Some(port) => format!("{scheme}://not-this-peer.localhost:{port}{path}"),
        None => format!("{scheme}://not-this-peer.localhost{path}"),
    }
}

/// `message` (JSON) changed as `kind` says; `None` when `kind` does not change
/// messages or `message` is not a JSON object.
pub(crate) fn mutate(kind: &FaultKind, message: &[u8]) -> Option<Vec<u8>> {
    let mut value: Value = serde_json::from_slice(message).ok()?;
    let object = value.as_object_mut()?;
    match kind {
        FaultKind::Remove { field } => {
            object.shift_remove(field);
        }
        FaultKind::Empty { field } => {
            object.insert(field.clone(), json!(""));
        }
        FaultKind::Set { field, value } => {
            object.insert(field.clone(), value.clone());
        }
        FaultKind::Version { version } => {
            object.insert("messageVersion".into(), json!(version));
        }
        _ => return None,
    }
    serde_json::to_vec(&value).ok()
}

/// The `Erro` a peer would send about `request`, built by the protocol core as the
/// role of whoever answers on `hop` (the ids and version of `request` when it is a
/// message).
pub(crate) fn erro(code: &str, hop: &str, request: &[u8]) -> Vec<u8> {
    let role = match hop.rsplit("->").next() {
        Some("ds") => Role::DirectoryServer,
        Some("acs") => Role::Acs,
        _ => Role::ThreeDsServer,
    };
    let code = ErrorCode::from_code(code).unwrap_or(ErrorCode::TransientSystemFailure);
    let about = Message::parse(request).ok();
    Validator::new(role)
        .reject(
            code,
            "fault",
            &format!("fault injected on {hop}"),
            about.as_ref(),
        )
        .to_json()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fault(hop: &str, message: Option<&str>, times: Option<u32>) -> Fault {
        Fault {
            hop: hop.into(),
            message: message.map(str::to_owned),
            kind: FaultKind::Timeout,
            times,
        }
    }

    #[test]
    fn faults_match_by_hop_and_message_and_wear_out() {
        let faults = Faults::default();
        faults
            .add(fault("ds->acs", Some("AReq"), Some(2)))
            .unwrap_or_else(|e| panic!("{e}"));
        let any = |_: &FaultKind| true;
        assert!(faults.take("3ds-server->ds", "AReq", any).is_none());
        assert!(faults.take("ds->acs", "RReq", any).is_none());
        assert!(
            faults
                .take("ds->acs", "AReq", FaultKind::changes_the_message)
                .is_none(),
            "a timeout does not change the message"
        );
        assert!(faults.take("ds->acs", "AReq", any).is_some());
        assert!(faults.take("ds->acs", "AReq", any).is_some());
        assert!(
            faults.take("ds->acs", "AReq", any).is_none(),
            "used twice, gone"
        );
        assert!(faults.add(fault("moon->ds", None, None)).is_err());
        let mut expired = fault("sdk->acs", Some("CReq"), None);
        expired.kind = FaultKind::Certificate {
            problem: CertificateProblem::Expired,
        };
        assert!(
            faults.add(expired).is_err(),
            "the SDK has no client certificate"
        );
    }

    #[test]
    fn a_misnamed_url_keeps_port_and_path() {
        assert_eq!(
            misnamed("https://localhost:7442/areq"),
            "https://not-this-peer.localhost:7442/areq"
        );
    }

    #[test]
    fn faults_read_as_data() {
        let fault: Fault = serde_json::from_str(
            r#"{"hop":"ds->acs","message":"ARes","kind":"remove","field":"transStatus","times":1}"#,
        )
        .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(
            fault.kind,
            FaultKind::Remove {
                field: "transStatus".into()
            }
        );
        let changed = mutate(&fault.kind, br#"{"a":1,"transStatus":"Y"}"#).unwrap_or_default();
        assert_eq!(changed, br#"{"a":1}"#);
        assert!(serde_json::from_str::<Fault>(r#"{"hop":"ds->acs","kind":"explode"}"#).is_err());
        let typo = r#"{"hop":"ds->acs","kind":"delay","ms":5,"tims":1}"#;
        assert!(serde_json::from_str::<Fault>(typo).is_err());
    }
}
