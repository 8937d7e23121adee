//! Probing a TLS endpoint from outside, as `threeds doctor` does: which protocol
//! versions and cipher suites it accepts, whether it asks for a client certificate, and
//! the chain it presents. Blocking I/O with timeouts: a probe is a handful of
//! connections, made one at a time.
//!
//! Two kinds of probe:
//! - [`legacy_hello`] writes a ClientHello by hand, for what rustls will not speak (TLS
//!   1.0 and 1.1, suites without AEAD or forward secrecy), and reads whether the server
//!   answers with a ServerHello picking it;
//! - [`handshake`] completes a real handshake with rustls, restricted to one version or
//!   one suite, optionally without a client certificate (and then sends one HTTP
//!   request to see whether the server goes on talking).

use std::io::{Read, Write};
use std::net::{TcpStream, ToSocketAddrs};
use std::sync::Arc;
use std::time::Duration;

use rustls::pki_types::{CertificateDer, ServerName};
use rustls::{ClientConfig, ClientConnection, StreamOwned, SupportedCipherSuite};

use crate::tls::{Identity, TlsError};

/// How long a probe waits to connect or for an answer.
const TIMEOUT: Duration = Duration::from_secs(5);

/// TLS 1.0's and 1.1's protocol version numbers on the wire.
pub const TLS10: u16 = 0x0301;
pub const TLS11: u16 = 0x0302;
pub const TLS12: u16 = 0x0303;

/// Suites no endpoint of ours may accept: no AEAD, or no forward secrecy. Offered by
/// [`legacy_hello`] (any one picked is a finding), with their IANA names.
pub const WEAK_SUITES: &[(u16, &str)] = &[
    (0x0005, "TLS_RSA_WITH_RC4_128_SHA"),
    (0x000a, "TLS_RSA_WITH_3DES_EDE_CBC_SHA"),
    (0x002f, "TLS_RSA_WITH_AES_128_CBC_SHA"),
    (0x0035, "TLS_RSA_WITH_AES_256_CBC_SHA"),
    (0x009c, "TLS_RSA_WITH_AES_128_GCM_SHA256"),
    (0xc009, "TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA"),
    (0xc00a, "TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA"),
    (0xc013, "TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA"),
    (0xc014, "TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA"),
    (0xc023, "TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA256"),
    (0xc027, "TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA256"),
];

/// What a hand-written ClientHello got back.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LegacyAnswer {
    /// A ServerHello for this version and suite.
    Accepted { version: u16, suite: u16 },
    /// An alert, a close, or a ServerHello for something not offered.
    Refused,
}

/// Offers `version` with `suites` (and nothing else) to `host:port` and reads the
/// answer.
pub fn legacy_hello(
    host: &str,
    port: u16,
    version: u16,
    suites: &[u16],
) -> std::io::Result<LegacyAnswer> {
    let mut tcp = connect(host, port)?;
    tcp.write_all(&client_hello(host, version, suites))?;
    let mut header = [0u8; 5];
    if tcp.read_exact(&mut header).is_err() {
        return Ok(LegacyAnswer::Refused);
    }
    // A handshake record whose first message is a ServerHello (type 2).
    if header[0] != 0x16 {
        return Ok(LegacyAnswer::Refused);
    }
    let len = usize::from(u16::from_be_bytes([header[3], header[4]]));
    let mut body = vec![0u8; len];
    if tcp.read_exact(&mut body).is_err() || body.len() < 4 + 2 + 32 + 1 || body[0] != 0x02 {
        return Ok(LegacyAnswer::Refused);
    }
    let chosen_version = u16::from_be_bytes([body[4], body[5]]);
    let session_id_len = usize::from(body[38]);
    let at = 39 + session_id_len;
    let Some(suite) = body
        .get(at..at + 2)
        .map(|b| u16::from_be_bytes([b[0], b[1]]))
    else {
        return Ok(LegacyAnswer::Refused);
    };
    if chosen_version == version && suites.contains(&suite) {
        Ok(LegacyAnswer::Accepted {
            version: chosen_version,
            suite,
        })
    } else {
        Ok(LegacyAnswer::Refused)
    }
}

/// A ClientHello record for `version` offering `suites`, with the extensions an ECDHE
/// server needs to pick one (server name, groups, point formats, signature algorithms).
fn client_hello(host: &str, version: u16, suites: &[u16]) -> Vec<u8> {
    fn extension(out: &mut Vec<u8>, kind: u16, data: &[u8]) {
        out.extend(kind.to_be_bytes());
        out.extend(u16::try_from(data.len()).unwrap_or(0).to_be_bytes());
        out.extend(data);
    }
    let mut extensions = Vec::new();
    let name = host.as_bytes();
    let name_len = u16::try_from(name.len()).unwrap_or(0);
    let mut sni = Vec::new();
    sni.extend((name_len + 3).to_be_bytes());
    sni.push(0);
    sni.extend(name_len.to_be_bytes());
    sni.extend(name);
    if host.parse::<std::net::IpAddr>().is_err() {
        extension(&mut extensions, 0x0000, &sni);
    }
    // secp256r1, x25519, secp384r1.
    extension(&mut extensions, 0x000a, &[0, 6, 0, 0x17, 0, 0x1d, 0, 0x18]);
    extension(&mut extensions, 0x000b, &[1, 0]);
    // ecdsa_secp256r1_sha256, rsa_pss_rsae_sha256, rsa_pkcs1_sha256, ecdsa_sha1, rsa_sha1.
    extension(
        &mut extensions,
        0x000d,
        &[0, 10, 4, 3, 8, 4, 4, 1, 2, 3, 2, 1],
    );

    let mut hello = Vec::new();
    hello.extend(version.to_be_bytes());
    hello.extend(random());
    hello.push(0); // no session id
    hello.extend(u16::try_from(suites.len() * 2).unwrap_or(0).to_be_bytes());
    for suite in suites {
        hello.extend(suite.to_be_bytes());
    }
    hello.extend([1, 0]); // null compression only
    hello.extend(u16::try_from(extensions.len()).unwrap_or(0).to_be_bytes());
    hello.extend(extensions);

    let mut handshake = vec![0x01];
    handshake.extend(&u32::try_from(hello.len()).unwrap_or(0).to_be_bytes()[1..]);
    handshake.extend(hello);
    let mut record = vec![0x16, 0x03, 0x01];
    record.extend(u16::try_from(handshake.len()).unwrap_or(0).to_be_bytes());
    record.extend(handshake);
    record
}

fn random() -> [u8; 32] {
    use rand_core::{OsRng, RngCore};
    let mut bytes = [0u8; 32];
    OsRng.fill_bytes(&mut bytes);
    bytes
}

/// What a real handshake (and one request after it) showed.
#[derive(Debug, Clone)]
pub struct Handshake {
    /// The negotiated version (`TLSv1_3`, …) and suite, as rustls names them.
    pub version: String,
    pub suite: String,
    /// The chain the server presented, leaf first.
    pub chain: Vec<CertificateDer<'static>>,
    /// Without a client certificate: the server answered an HTTP request on the
    /// connection, so it does not require one. Always false with a certificate.
    pub answered: bool,
}

/// How a handshake probe is restricted.
#[derive(Debug, Clone, Default)]
pub struct HandshakeOptions {
    /// Offer this version only (`None`: the policy's).
    pub version: Option<&'static rustls::SupportedProtocolVersion>,
    /// Offer this suite only (`None`: the policy's).
    pub suite: Option<SupportedCipherSuite>,
    /// Present this client certificate (`None`: none).
    pub identity: Option<Identity>,
}

/// Why a handshake probe did not complete.
#[derive(Debug, thiserror::Error)]
pub enum ProbeError {
    #[error("{0}")]
    Config(#[from] TlsError),
    /// The server's certificate does not cover the name the endpoint was asked by.
    #[error("{0}")]
    NameNotCovered(String),
    #[error("{0}")]
    Tls(String),
    #[error("{0}")]
    Io(#[from] std::io::Error),
}

/// A handshake with `host:port` under `options`, trusting `trust_anchor` (and, without
/// a client certificate, `GET /`).
pub fn handshake(
    host: &str,
    port: u16,
    trust_anchor: &std::path::Path,
    options: &HandshakeOptions,
) -> Result<Handshake, ProbeError> {
    let mut provider = (*crate::tls::provider()).clone();
    if let Some(suite) = options.suite {
        provider.cipher_suites = vec![suite];
    }
    let versions: Vec<&'static rustls::SupportedProtocolVersion> = match options.version {
        Some(v) => vec![v],
        None => crate::tls::PROTOCOL_VERSIONS.to_vec(),
    };
    let builder = ClientConfig::builder_with_provider(Arc::new(provider))
        .with_protocol_versions(&versions)
        .map_err(|e| ProbeError::Tls(e.to_string()))?
        .with_root_certificates(crate::tls::roots(trust_anchor)?);
    let config = match &options.identity {
        Some(id) => builder
            .with_client_auth_cert(
                crate::tls::load_certs(&id.cert)?,
                crate::tls::load_key(&id.key)?,
            )
            .map_err(|e| ProbeError::Tls(e.to_string()))?,
        None => builder.with_no_client_auth(),
    };
    let name = ServerName::try_from(host.to_owned()).map_err(|e| ProbeError::Tls(e.to_string()))?;
    let connection = ClientConnection::new(Arc::new(config), name)
        .map_err(|e| ProbeError::Tls(e.to_string()))?;
    let mut tls = StreamOwned::new(connection, connect(host, port)?);
    while tls.conn.is_handshaking() {
        tls.conn.complete_io(&mut tls.sock).map_err(|e| {
            let rustls_error = e.get_ref().and_then(|i| i.downcast_ref::<rustls::Error>());
            match rustls_error {
                Some(rustls::Error::InvalidCertificate(
                    rustls::CertificateError::NotValidForName
                    | rustls::CertificateError::NotValidForNameContext { .. },
                )) => ProbeError::NameNotCovered(e.to_string()),
                _ => ProbeError::Tls(e.to_string()),
            }
        })?;
    }
    let version = tls
        .conn
        .protocol_version()
        .map(|v| format!("{v:?}"))
        .unwrap_or_default();
    let suite = tls
        .conn
        .negotiated_cipher_suite()
        .map(|s| format!("{:?}", s.suite()))
        .unwrap_or_default();
    let chain: Vec<CertificateDer<'static>> = tls
        .conn
        .peer_certificates()
        .map(|c| c.iter().map(|c| c.clone().into_owned()).collect())
        .unwrap_or_default();
    // Without a client certificate: TLS 1.3 finishes the client's handshake before the
    // server has checked the client's certificate, so whether it wanted one shows in
    // what comes next. (With one, no request: it would only add to the trace.)
    let answered = options.identity.is_none() && {
        let request = format!("GET / HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n");
        tls.write_all(request.as_bytes()).is_ok() && {
            let mut first = [0u8; 5];
            tls.read_exact(&mut first).is_ok() && first.starts_with(b"HTTP/")
        }
    };
    Ok(Handshake {
        version,
        suite,
        chain,
        answered,
    })
}

/// A TCP connection to `host:port` (loopback names to 127.0.0.1, as all our clients do).
fn connect(host: &str, port: u16) -> std::io::Result<TcpStream> {
    let host = if crate::tls::is_loopback_name(host) {
        "127.0.0.1"
    } else {
        host
    };
    let address = (host, port).to_socket_addrs()?.next().ok_or_else(|| {
        std::io::Error::new(std::io::ErrorKind::NotFound, format!("{host}: no address"))
    })?;
    let tcp = TcpStream::connect_timeout(&address, TIMEOUT)?;
    tcp.set_read_timeout(Some(TIMEOUT))?;
    tcp.set_write_timeout(Some(TIMEOUT))?;
    Ok(tcp)
}

/// Days from now until the certificate `der` expires (negative: expired), and its
/// subject's common name.
pub fn days_left(der: &CertificateDer<'_>) -> Option<(i64, String)> {
    use x509_parser::prelude::*;
    let (_, cert) = X509Certificate::from_der(der).ok()?;
    let until = cert.validity().not_after.timestamp();
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .ok()?
        .as_secs();
    let seconds = until - i64::try_from(now).ok()?;
    let name = cert
        .subject()
        .iter_common_name()
        .next()
        .and_then(|cn| cn.as_str().ok())
        .unwrap_or("?")
        .to_owned();
    Some((seconds.div_euclid(86_400), name))
}
