//! Reading a PKI directory back: every certificate with its subject, issuer, key type,
//! validity, fingerprint, and whether its signature verifies against its issuer in the
//! same directory.

use std::fs;
use std::path::{Path, PathBuf};

use ::time::OffsetDateTime;
use serde::Serialize;
use sha2::{Digest, Sha256};
use x509_parser::prelude::*;
use x509_parser::public_key::PublicKey;

use crate::PkiError;
use crate::layout::Layout;

/// Every certificate under a PKI directory.
#[derive(Debug, Clone, Serialize)]
pub struct Inventory {
    pub dir: PathBuf,
    pub certificates: Vec<CertInfo>,
}

/// One certificate.
#[derive(Debug, Clone, Serialize)]
pub struct CertInfo {
    /// Path relative to the PKI directory.
    pub file: String,
    pub subject: String,
    pub issuer: String,
    /// `EC P-256`, `RSA-2048`, …
    pub key_type: String,
    pub is_ca: bool,
    /// DNS names and IP addresses it is valid for (TLS certificates).
    pub names: Vec<String>,
    /// RFC 3339.
    pub not_before: String,
    /// RFC 3339.
    pub not_after: String,
    pub days_left: i64,
    /// SHA-256 of the DER encoding, colon-separated hex.
    pub sha256: String,
    /// Whether the signature verifies with the key of the issuer found in the same
    /// directory (`None` when the issuer is not there).
    pub issuer_verified: Option<bool>,
}

impl Inventory {
    /// The certificate stored at `file` (relative path).
    pub fn get(&self, file: &str) -> Option<&CertInfo> {
        self.certificates.iter().find(|c| c.file == file)
    }
}

/// Reads every `*.crt` under `dir`.
pub fn inventory(dir: &Path) -> Result<Inventory, PkiError> {
    if !Layout::new(dir).exists() {
        return Err(PkiError::Missing(dir.to_owned()));
    }
    let mut files = Vec::new();
    collect_certs(dir, &mut files)?;
    files.sort();

    let mut ders = Vec::with_capacity(files.len());
    for path in &files {
        let pem = fs::read(path).map_err(PkiError::io(path))?;
        let (_, pem) = parse_x509_pem(&pem).map_err(|e| PkiError::BadCertificate {
            path: path.clone(),
            message: e.to_string(),
        })?;
        ders.push(pem.contents);
    }
    let parsed: Vec<X509Certificate<'_>> = ders
        .iter()
        .zip(&files)
        .map(|(der, path)| {
            X509Certificate::from_der(der)
                .map(|(_, c)| c)
                .map_err(|e| PkiError::BadCertificate {
                    path: path.clone(),
                    message: e.to_string(),
                })
        })
        .collect::<Result<_, _>>()?;

    let now = OffsetDateTime::now_utc();
    let mut certificates = Vec::with_capacity(parsed.len());
    for ((cert, der), path) in parsed.iter().zip(&ders).zip(&files) {
        let issuer = parsed
            .iter()
            .find(|c| c.subject() == cert.issuer() && c.is_ca());
        let issuer_verified = issuer.map(|i| cert.verify_signature(Some(i.public_key())).is_ok());
        let not_after = cert.validity().not_after.to_datetime();
        certificates.push(CertInfo {
            file: path
                .strip_prefix(dir)
                .unwrap_or(path)
                .to_string_lossy()
                .replace('\\', "/"),
            subject: cert.subject().to_string(),
            issuer: cert.issuer().to_string(),
            key_type: key_type(cert),
            is_ca: cert.is_ca(),
            names: names(cert),
            not_before: rfc3339(cert.validity().not_before.to_datetime()),
            not_after: rfc3339(not_after),
            days_left: (not_after - now).whole_days(),
            sha256: fingerprint(der),
            issuer_verified,
        });
    }
    Ok(Inventory {
        dir: dir.to_owned(),
        certificates,
    })
}

fn collect_certs(dir: &Path, out: &mut Vec<PathBuf>) -> Result<(), PkiError> {
    for entry in fs::read_dir(dir).map_err(PkiError::io(dir))? {
        let path = entry.map_err(PkiError::io(dir))?.path();
        if path.is_dir() {
            collect_certs(&path, out)?;
        } else if path.extension().is_some_and(|e| e == "crt") {
            out.push(path);
        }
    }
    Ok(())
}

fn key_type(cert: &X509Certificate<'_>) -> String {
    match cert.public_key().parsed() {
        Ok(PublicKey::RSA(rsa)) => format!("RSA-{}", rsa.key_size()),
        Ok(PublicKey::EC(ec)) => match ec.key_size() {
            256 => "EC P-256".into(),
            384 => "EC P-384".into(),
            n => format!("EC ({n} bits)"),
        },
        Ok(_) => "other".into(),
        Err(_) => "unreadable".into(),
    }
}

fn names(cert: &X509Certificate<'_>) -> Vec<String> {
    let Ok(Some(san)) = cert.subject_alternative_name() else {
        return Vec::new();
    };
    san.value
        .general_names
        .iter()
        .filter_map(|n| match n {
            GeneralName::DNSName(d) => Some((*d).to_owned()),
            GeneralName::IPAddress(ip) => match ip.len() {
                4 => Some(std::net::IpAddr::from(<[u8; 4]>::try_from(*ip).ok()?).to_string()),
                16 => Some(std::net::IpAddr::from(<[u8; 16]>::try_from(*ip).ok()?).to_string()),
                _ => None,
            },
            _ => None,
        })
        .collect()
}

fn fingerprint(der: &[u8]) -> String {
    Sha256::digest(der)
        .iter()
        .map(|b| format!("{b:02X}"))
        .collect::<Vec<_>>()
        .join(":")
}

fn rfc3339(t: OffsetDateTime) -> String {
    t.format(&::time::format_description::well_known::Rfc3339)
        .unwrap_or_else(|_| t.to_string())
}
