//! The sandbox's own PKI: it generates every key and certificate the sandbox needs into
//! a directory (`certs/` by default) and reports what is there.
//!
//! Two hierarchies, kept apart as in production:
//!
//! - **TLS**: one sandbox root CA issues the TLS certificates of every component (DS per
//!   scheme, ACS, 3DS Server, merchant web server) and the requestor's client
//!   certificate, so one trust anchor serves all mutual-TLS hops.
//! - **Protocol, per card scheme**: a DS root CA issues the DS encryption certificate
//!   (the key the SDK encrypts device data to; EC P-256 for one scheme, RSA-2048 for the
//!   other, so both JWE paths get used) and the ACS signing certificate
//!   (`acsSignedContent`; the same key type as the scheme's encryption key, so both
//!   ES256 and PS256 get used).
//!
//! ECDSA P-256 everywhere the protocol allows. The crate owns key generation, file
//! layout ([`Layout`]), inspection ([`inventory`]) and the TLS policy every component's
//! rustls configuration comes from ([`tls`]); it never talks to the network and never
//! prints a private key.

mod generate;
mod inspect;
mod layout;
pub mod probe;
pub mod tls;

pub use generate::{
    EncryptionKey, FaultyIdentities, PkiSpec, SchemeSpec, acs_signing_chain_for_key,
    admin_identity, faulty_identities, init, valid_name,
};
pub use inspect::{CertInfo, Inventory, inventory};

/// The common names on the TLS certificates `init` issues: what endpoints admit callers
/// by (`transport::access`).
pub mod names {
    /// The 3DS Server's certificate (server and client).
    pub const THREEDS_SERVER: &str = "threeds 3DS Server";
    /// The ACS's certificate (server and client).
    pub const ACS: &str = "threeds ACS";
    /// The mock merchant's web shop (server only).
    pub const MERCHANT: &str = "threeds merchant";
    /// The requestor (merchant backend): client of the requestor API.
    pub const REQUESTOR: &str = "threeds requestor";

    /// A scheme's Directory Server (server and client).
    pub fn directory_server(scheme: &str, directory_server_id: &str) -> String {
        format!("threeds DS {scheme} ({directory_server_id})")
    }
}
pub use layout::{Layout, SchemeLayout};

use std::path::PathBuf;

/// What can go wrong, and where.
#[derive(Debug, thiserror::Error)]
pub enum PkiError {
    #[error("{0} already holds a PKI; pass --force to replace it")]
    AlreadyExists(PathBuf),
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("generating {what}: {message}")]
    Generate { what: String, message: String },
    #[error("{path}: not a readable certificate: {message}")]
    BadCertificate { path: PathBuf, message: String },
    #[error("no PKI in {0}: run `threeds pki init` first")]
    Missing(PathBuf),
    #[error("invalid scheme {name:?}: {why}")]
    BadScheme { name: String, why: String },
    #[error(
        "invalid certificate name {0:?}: expected a DNS name (letters, digits, '-' and '.') or \
         an IP address"
    )]
    BadName(String),
}

impl PkiError {
    fn io(path: impl Into<PathBuf>) -> impl FnOnce(std::io::Error) -> PkiError {
        let path = path.into();
        move |source| PkiError::Io { path, source }
    }
}
