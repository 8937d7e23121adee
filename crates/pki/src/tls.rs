//! The TLS policy, in one place: every server and client of the sandbox gets its rustls
//! configuration from here.
//!
//! - TLS 1.3 and 1.2 only;
//! - AEAD cipher suites with forward secrecy only ([`CIPHER_SUITES`]);
//! - on server-to-server endpoints, a client certificate is required and must chain to
//!   the trust anchor ([`ClientAuth::Required`]);
//! - the peer's certificate identity is readable after the handshake ([`PeerIdentity`]),
//!   so a DS knows which 3DS Server or ACS is calling.
//!
//! ALPN is left to the HTTP layer that uses these configurations.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use rustls::crypto::{CryptoProvider, ring};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use rustls::server::WebPkiClientVerifier;
use rustls::{ClientConfig, RootCertStore, ServerConfig, SupportedCipherSuite};
use sha2::{Digest, Sha256};

use crate::layout::{Layout, SchemeLayout};

/// The protocol versions offered and accepted.
pub static PROTOCOL_VERSIONS: &[&rustls::SupportedProtocolVersion] =
    &[&rustls::version::TLS13, &rustls::version::TLS12];

/// The cipher suites offered and accepted: AEAD (GCM, ChaCha20-Poly1305) with ECDHE.
pub static CIPHER_SUITES: &[SupportedCipherSuite] = &[
    ring::cipher_suite::TLS13_AES_256_GCM_SHA384,
    ring::cipher_suite::TLS13_AES_128_GCM_SHA256,
    ring::cipher_suite::TLS13_CHACHA20_POLY1305_SHA256,
    ring::cipher_suite::TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384,
    ring::cipher_suite::TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256,
    ring::cipher_suite::TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256,
    // RSA server keys: for users who plug in components with RSA certificates.
    ring::cipher_suite::TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384,
    ring::cipher_suite::TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256,
    ring::cipher_suite::TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256,
];

/// The crypto provider restricted to the policy's suites.
pub fn provider() -> Arc<CryptoProvider> {
    Arc::new(CryptoProvider {
        cipher_suites: CIPHER_SUITES.to_vec(),
        ..ring::default_provider()
    })
}

/// Whether `host` names the loopback interface: `localhost` and every `*.localhost`
/// (the sandbox's `acs.localhost`, …), as RFC 6761 says and browsers do, whatever the
/// system resolver thinks. Every client of ours resolves such names to 127.0.0.1.
pub fn is_loopback_name(host: &str) -> bool {
    let host = host.trim_end_matches('.').to_ascii_lowercase();
    host == "localhost" || host.ends_with(".localhost")
}

/// A certificate and its private key, as files.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Identity {
    pub cert: PathBuf,
    pub key: PathBuf,
}

impl Layout {
    /// The TLS identity of a component (`3ds-server`, `acs`, `merchant`, `requestor`).
    pub fn tls_identity(&self, name: &str) -> Identity {
        Identity {
            cert: self.tls_cert(name),
            key: self.tls_key(name),
        }
    }
}

impl SchemeLayout {
    /// The TLS identity of this scheme's DS.
    pub fn ds_tls_identity(&self) -> Identity {
        Identity {
            cert: self.ds_tls_cert(),
            key: self.ds_tls_key(),
        }
    }
}

/// Whether a server asks for and verifies client certificates.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ClientAuth {
    /// Server-to-server endpoints: a certificate chaining to the trust anchor is required.
    Required,
    /// Cardholder-facing endpoints (browser, SDK): server authentication only.
    None,
}

/// Why a configuration could not be built.
#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    #[error("{path}: {message}")]
    File { path: PathBuf, message: String },
    #[error("TLS configuration: {0}")]
    Config(String),
}

fn file_err(path: &Path) -> impl FnOnce(rustls::pki_types::pem::Error) -> TlsError + '_ {
    move |e| TlsError::File {
        path: path.to_owned(),
        message: e.to_string(),
    }
}

fn config_err(e: impl std::fmt::Display) -> TlsError {
    TlsError::Config(e.to_string())
}

/// Reads every certificate of a PEM file.
pub fn load_certs(path: &Path) -> Result<Vec<CertificateDer<'static>>, TlsError> {
    let certs = CertificateDer::pem_file_iter(path)
        .map_err(file_err(path))?
        .collect::<Result<Vec<_>, _>>()
        .map_err(file_err(path))?;
    if certs.is_empty() {
        return Err(TlsError::File {
            path: path.to_owned(),
            message: "no certificate in the file".into(),
        });
    }
    Ok(certs)
}

pub fn load_key(path: &Path) -> Result<PrivateKeyDer<'static>, TlsError> {
    PrivateKeyDer::from_pem_file(path).map_err(file_err(path))
}

/// The trust anchors in a PEM file.
pub fn roots(path: &Path) -> Result<Arc<RootCertStore>, TlsError> {
    let mut store = RootCertStore::empty();
    for cert in load_certs(path)? {
        store.add(cert).map_err(|e| TlsError::File {
            path: path.to_owned(),
            message: format!("not a usable trust anchor: {e}"),
        })?;
    }
    Ok(Arc::new(store))
}

/// A server configuration under the policy.
pub fn server_config(
    identity: &Identity,
    trust_anchor: &Path,
    client_auth: ClientAuth,
) -> Result<Arc<ServerConfig>, TlsError> {
    let provider = provider();
    let builder = ServerConfig::builder_with_provider(provider.clone())
        .with_protocol_versions(PROTOCOL_VERSIONS)
        .map_err(config_err)?;
    let builder = match client_auth {
        ClientAuth::Required => {
            let verifier =
                WebPkiClientVerifier::builder_with_provider(roots(trust_anchor)?, provider)
                    .build()
                    .map_err(config_err)?;
            builder.with_client_cert_verifier(verifier)
        }
        ClientAuth::None => builder.with_no_client_auth(),
    };
    let config = builder
        .with_single_cert(load_certs(&identity.cert)?, load_key(&identity.key)?)
        .map_err(config_err)?;
    Ok(Arc::new(config))
}

/// A client configuration under the policy, presenting `identity` when given.
pub fn client_config(
    trust_anchor: &Path,
    identity: Option<&Identity>,
) -> Result<Arc<ClientConfig>, TlsError> {
    let builder = ClientConfig::builder_with_provider(provider())
        .with_protocol_versions(PROTOCOL_VERSIONS)
        .map_err(config_err)?
        .with_root_certificates(roots(trust_anchor)?);
    let config = match identity {
        Some(id) => builder
            .with_client_auth_cert(load_certs(&id.cert)?, load_key(&id.key)?)
            .map_err(config_err)?,
        None => builder.with_no_client_auth(),
    };
    Ok(Arc::new(config))
}

/// Like [`client_config`], TLS 1.2 only: a client certificate is then checked during
/// the handshake, before any request is written, so a refused one fails the connection
/// itself (what certificate faults need to be reproducible; TLS 1.3 checks it after the
/// client considers the handshake done).
pub fn client_config_tls12(
    trust_anchor: &Path,
    identity: &Identity,
) -> Result<Arc<ClientConfig>, TlsError> {
    let config = ClientConfig::builder_with_provider(provider())
        .with_protocol_versions(&[&rustls::version::TLS12])
        .map_err(config_err)?
        .with_root_certificates(roots(trust_anchor)?)
        .with_client_auth_cert(load_certs(&identity.cert)?, load_key(&identity.key)?)
        .map_err(config_err)?;
    Ok(Arc::new(config))
}

/// Who is on the other end of a connection, from its certificate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PeerIdentity {
    /// The subject's common name, if it has one.
    pub common_name: Option<String>,
    /// SHA-256 of the certificate, colon-separated hex (what `threeds pki show` prints).
    pub sha256: String,
}

impl PeerIdentity {
    /// The identity of the leaf of a peer's certificate chain.
    pub fn from_chain(chain: &[CertificateDer<'_>]) -> Option<PeerIdentity> {
        use x509_parser::prelude::*;
        let leaf = chain.first()?;
        let common_name = X509Certificate::from_der(leaf).ok().and_then(|(_, cert)| {
            cert.subject()
                .iter_common_name()
                .next()
                .and_then(|cn| cn.as_str().ok())
                .map(str::to_owned)
        });
        let sha256 = Sha256::digest(leaf.as_ref())
            .iter()
            .map(|b| format!("{b:02X}"))
            .collect::<Vec<_>>()
            .join(":");
        Some(PeerIdentity {
            common_name,
            sha256,
        })
    }
}
