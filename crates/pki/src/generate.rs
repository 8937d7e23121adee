//! Generating the PKI into a directory.

use std::fs;
use std::io::Write;
use std::path::Path;

use rcgen::{
    BasicConstraints, CertificateParams, CertifiedIssuer, DistinguishedName, DnType,
    ExtendedKeyUsagePurpose, IsCa, Issuer, KeyPair, KeyUsagePurpose, PKCS_ECDSA_P256_SHA256,
    SanType,
};
use time::{Duration, OffsetDateTime};

use crate::layout::{Layout, SchemeLayout, TLS_IDENTITIES};
use crate::{Inventory, PkiError, inventory};

/// What to generate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PkiSpec {
    pub schemes: Vec<SchemeSpec>,
    /// Lifetime of the CA certificates.
    pub ca_validity_days: i64,
    /// Lifetime of every other certificate.
    pub leaf_validity_days: i64,
    /// More names every server certificate covers, besides `localhost`, the loopback
    /// addresses and its own `*.localhost` name: the names components are advertised
    /// by (a public host, compose service names), each a DNS name or an IP address.
    pub names: Vec<String>,
}

/// One simulated card scheme.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SchemeSpec {
    /// Short name, used in file names (`[a-z0-9-]`).
    pub name: String,
    /// The scheme's directory server id (an RID). The defaults start with `F`, which no
    /// registered scheme uses, so sandbox ids cannot clash with real ones.
    pub directory_server_id: String,
    /// The type of the DS encryption key the SDK encrypts device data to, and of the
    /// ACS signing key (`acsSignedContent`: ES256 for EC, PS256 for RSA).
    pub encryption_key: EncryptionKey,
}

/// The key type of a DS encryption key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EncryptionKey {
    /// ECDH-ES on P-256 (JWE `alg: ECDH-ES`).
    EcP256,
    /// RSA-2048 (JWE `alg: RSA-OAEP-256`).
    Rsa2048,
}

impl Default for PkiSpec {
    /// Two schemes, one per device-data JWE path.
    fn default() -> PkiSpec {
        PkiSpec {
            schemes: vec![
                SchemeSpec {
                    name: "alpha".into(),
                    directory_server_id: "F000000001".into(),
                    encryption_key: EncryptionKey::EcP256,
                },
                SchemeSpec {
                    name: "beta".into(),
                    directory_server_id: "F000000002".into(),
                    encryption_key: EncryptionKey::Rsa2048,
                },
            ],
            ca_validity_days: 3650,
            // The longest lifetime browsers accept for a TLS server certificate.
            leaf_validity_days: 397,
            names: Vec::new(),
        }
    }
}

/// Whether `name` can be a certificate's subject alternative name: an IP address, or a
/// DNS name of labels of letters, digits and `-` (a leading `*.` allowed).
pub fn valid_name(name: &str) -> bool {
    if name.parse::<std::net::IpAddr>().is_ok() {
        return true;
    }
    let host = name.strip_prefix("*.").unwrap_or(name);
    !host.is_empty()
        && host.len() <= 253
        && host.split('.').all(|label| {
            !label.is_empty()
                && label.len() <= 63
                && !label.starts_with('-')
                && !label.ends_with('-')
                && label
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-')
        })
}

impl PkiSpec {
    fn check(&self) -> Result<(), PkiError> {
        if let Some(bad) = self.names.iter().find(|n| !valid_name(n)) {
            return Err(PkiError::BadName(bad.clone()));
        }
        let bad = |name: &str, why: &str| PkiError::BadScheme {
            name: name.to_owned(),
            why: why.to_owned(),
        };
        if self.schemes.is_empty() {
            return Err(bad("", "at least one scheme is needed"));
        }
        for (i, s) in self.schemes.iter().enumerate() {
            let name_ok = !s.name.is_empty()
                && s.name
                    .bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
            if !name_ok {
                return Err(bad(&s.name, "use lowercase letters, digits and '-'"));
            }
            let id_ok = s.directory_server_id.len() == 10
                && s.directory_server_id
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric());
            if !id_ok {
                return Err(bad(
                    &s.name,
                    "a directory server id has 10 letters or digits",
                ));
            }
            let dup = self.schemes[..i]
                .iter()
                .any(|o| o.name == s.name || o.directory_server_id == s.directory_server_id);
            if dup {
                return Err(bad(&s.name, "name and directory server id must be unique"));
            }
        }
        Ok(())
    }
}

/// Generates the PKI described by `spec` into `dir` and returns its inventory.
///
/// Refuses to touch a directory that already holds a PKI unless `force` is set; with
/// `force` it replaces the `tls/` and `schemes/` trees (and nothing else in `dir`).
pub fn init(dir: &Path, spec: &PkiSpec, force: bool) -> Result<Inventory, PkiError> {
    spec.check()?;
    let layout = Layout::new(dir);
    if layout.exists() {
        if !force {
            return Err(PkiError::AlreadyExists(dir.to_owned()));
        }
        for sub in ["tls", "schemes"] {
            let path = dir.join(sub);
            if path.exists() {
                fs::remove_dir_all(&path).map_err(PkiError::io(&path))?;
            }
        }
    }
    let now = OffsetDateTime::now_utc();
    let generator = Generator {
        not_before: now - Duration::days(1),
        ca_until: now + Duration::days(spec.ca_validity_days),
        leaf_until: now + Duration::days(spec.leaf_validity_days),
    };

    // TLS hierarchy.
    let root = generator.ca("threeds sandbox TLS root CA")?;
    write_pair(
        &layout.tls_root_ca(),
        &root.pem(),
        &layout.tls_root_ca_key(),
        None,
    )?;
    write_key(&layout.tls_root_ca_key(), &root_key_pem(&root))?;
    for (identity, _) in TLS_IDENTITIES {
        let (cn, names, usage): (&str, &[&str], Usage) = match *identity {
            "3ds-server" => (
                crate::names::THREEDS_SERVER,
                &["3ds-server.localhost"],
                Usage::ServerAndClient,
            ),
            "acs" => (
                crate::names::ACS,
                &["acs.localhost"],
                Usage::ServerAndClient,
            ),
            "merchant" => (
                crate::names::MERCHANT,
                &["merchant.localhost"],
                Usage::Server,
            ),
            _ => (
                crate::names::REQUESTOR,
                &["requestor.localhost"],
                Usage::Client,
            ),
        };
        let (cert, key) = generator.tls_leaf(cn, names, &spec.names, usage, &root)?;
        write_pair(
            &layout.tls_cert(identity),
            &cert,
            &layout.tls_key(identity),
            Some(&key),
        )?;
    }

    // Per scheme: the DS's TLS identity, and the scheme's protocol hierarchy.
    for scheme in &spec.schemes {
        scheme_hierarchy(&generator, &layout, spec, scheme, &root)?;
    }
    inventory(dir)
}

/// One scheme's certificates: its DS's TLS identity under the TLS `root`, and its own
/// protocol hierarchy (DS root CA, ACS signing certificate and chain, DS encryption
/// certificate).
fn scheme_hierarchy(
    generator: &Generator,
    layout: &Layout,
    spec: &PkiSpec,
    scheme: &SchemeSpec,
    root: &Ca,
) -> Result<(), PkiError> {
    let files = layout.scheme(&scheme.name);
    let ds_name = format!("ds-{}.localhost", scheme.name);
    let (cert, key) = generator.tls_leaf(
        &crate::names::directory_server(&scheme.name, &scheme.directory_server_id),
        &[&ds_name, "ds.localhost"],
        &spec.names,
        Usage::ServerAndClient,
        root,
    )?;
    write_pair(&files.ds_tls_cert(), &cert, &files.ds_tls_key(), Some(&key))?;

    let ds_root = generator.ca(&format!(
        "threeds {} DS root CA ({})",
        scheme.name, scheme.directory_server_id
    ))?;
    write_pair(
        &files.ds_root_ca(),
        &ds_root.pem(),
        &files.ds_root_ca_key(),
        None,
    )?;
    write_key(&files.ds_root_ca_key(), &root_key_pem(&ds_root))?;

    acs_signing(generator, &files, scheme, &ds_root)?;
    ds_encryption(generator, &files, scheme, &ds_root)
}

/// The ACS's `acsSignedContent` certificate under the scheme's DS root, in the scheme's
/// key type, with its chain.
fn acs_signing(
    generator: &Generator,
    files: &SchemeLayout,
    scheme: &SchemeSpec,
    ds_root: &Ca,
) -> Result<(), PkiError> {
    // The ACS signs with the scheme's key type: ES256 for EC, PS256 for RSA, so
    // SDKs meet both acsSignedContent algorithms.
    let (signing_key, signing_key_pem) =
        generator.key_of(scheme.encryption_key, "ACS signing key")?;
    let signing = generator
        .leaf_params(
            &format!("threeds {} ACS signing", scheme.name),
            &[],
            &[KeyUsagePurpose::DigitalSignature],
            &[],
        )?
        .signed_by(&signing_key, ds_root)
        .map_err(gen_err("ACS signing certificate"))?;
    write_pair(
        &files.acs_signing_cert(),
        &signing.pem(),
        &files.acs_signing_key(),
        Some(&signing_key_pem),
    )?;
    write_public(
        &files.acs_signing_chain(),
        &format!("{}{}", signing.pem(), ds_root.pem()),
    )?;

    Ok(())
}

/// The DS encryption certificate (what SDKs encrypt device data to) under the scheme's
/// DS root.
fn ds_encryption(
    generator: &Generator,
    files: &SchemeLayout,
    scheme: &SchemeSpec,
    ds_root: &Ca,
) -> Result<(), PkiError> {
    let (enc_key, enc_key_pem) = generator.key_of(scheme.encryption_key, "DS encryption key")?;
    let usages = match scheme.encryption_key {
        EncryptionKey::EcP256 => vec![KeyUsagePurpose::KeyAgreement],
        EncryptionKey::Rsa2048 => vec![KeyUsagePurpose::KeyEncipherment],
    };
    let enc = generator
        .leaf_params(
            &format!(
                "threeds {} DS encryption ({})",
                scheme.name, scheme.directory_server_id
            ),
            &[],
            &usages,
            &[],
        )?
        .signed_by(&enc_key, ds_root)
        .map_err(gen_err("DS encryption certificate"))?;
    write_pair(
        &files.ds_encryption_cert(),
        &enc.pem(),
        &files.ds_encryption_key(),
        Some(&enc_key_pem),
    )?;
    Ok(())
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Usage {
    Server,
    Client,
    ServerAndClient,
}

struct Generator {
    not_before: OffsetDateTime,
    ca_until: OffsetDateTime,
    leaf_until: OffsetDateTime,
}

/// A CA with its key, able to sign. The key PEM is kept for writing.
type Ca = CertifiedIssuer<'static, KeyPair>;

fn root_key_pem(ca: &Ca) -> String {
    ca.key().serialize_pem()
}

fn gen_err(what: &str) -> impl FnOnce(rcgen::Error) -> PkiError + '_ {
    move |e| PkiError::Generate {
        what: what.to_owned(),
        message: e.to_string(),
    }
}

impl Generator {
    fn ec_key(&self, what: &str) -> Result<KeyPair, PkiError> {
        KeyPair::generate_for(&PKCS_ECDSA_P256_SHA256).map_err(gen_err(what))
    }

    /// A fresh key of the scheme's type (`what` names it in errors), with its PEM.
    fn key_of(&self, kind: EncryptionKey, what: &str) -> Result<(KeyPair, String), PkiError> {
        match kind {
            EncryptionKey::EcP256 => {
                let key = self.ec_key(what)?;
                let pem = key.serialize_pem();
                Ok((key, pem))
            }
            EncryptionKey::Rsa2048 => {
                let pem = rsa_2048_pkcs8_pem()?;
                let key = KeyPair::from_pem(&pem).map_err(gen_err(what))?;
                Ok((key, pem))
            }
        }
    }

    fn ca(&self, common_name: &str) -> Result<Ca, PkiError> {
        let mut params = CertificateParams::default();
        params.distinguished_name = name(common_name);
        params.is_ca = IsCa::Ca(BasicConstraints::Constrained(0));
        params.key_usages = vec![
            KeyUsagePurpose::KeyCertSign,
            KeyUsagePurpose::CrlSign,
            KeyUsagePurpose::DigitalSignature,
        ];
        params.not_before = self.not_before;
        params.not_after = self.ca_until;
        let key = self.ec_key(common_name)?;
        CertifiedIssuer::self_signed(params, key).map_err(gen_err(common_name))
    }

    fn leaf_params(
        &self,
        common_name: &str,
        dns_names: &[&str],
        usages: &[KeyUsagePurpose],
        extended: &[ExtendedKeyUsagePurpose],
    ) -> Result<CertificateParams, PkiError> {
        let mut params = CertificateParams::default();
        params.distinguished_name = name(common_name);
        for dns in dns_names {
            let dns = (*dns).try_into().map_err(gen_err(common_name))?;
            params.subject_alt_names.push(SanType::DnsName(dns));
        }
        params.key_usages = usages.to_vec();
        params.extended_key_usages = extended.to_vec();
        params.use_authority_key_identifier_extension = true;
        params.not_before = self.not_before;
        params.not_after = self.leaf_until;
        Ok(params)
    }

    /// A TLS certificate for `localhost`, the loopback addresses and `names`; a server
    /// certificate also for `advertised` (DNS names or IP addresses).
    fn tls_leaf(
        &self,
        common_name: &str,
        names: &[&str],
        advertised: &[String],
        usage: Usage,
        root: &Issuer<'_, KeyPair>,
    ) -> Result<(String, String), PkiError> {
        let mut dns = vec!["localhost"];
        dns.extend_from_slice(names);
        let mut ips = vec![
            std::net::IpAddr::from([127, 0, 0, 1]),
            std::net::IpAddr::from(std::net::Ipv6Addr::LOCALHOST),
        ];
        if usage != Usage::Client {
            for name in advertised {
                match name.parse::<std::net::IpAddr>() {
                    Ok(ip) if !ips.contains(&ip) => ips.push(ip),
                    Ok(_) => {}
                    Err(_) if !dns.contains(&name.as_str()) => dns.push(name),
                    Err(_) => {}
                }
            }
        }
        let extended = match usage {
            Usage::Server => vec![ExtendedKeyUsagePurpose::ServerAuth],
            Usage::Client => vec![ExtendedKeyUsagePurpose::ClientAuth],
            Usage::ServerAndClient => vec![
                ExtendedKeyUsagePurpose::ServerAuth,
                ExtendedKeyUsagePurpose::ClientAuth,
            ],
        };
        let mut params = self.leaf_params(
            common_name,
            &dns,
            &[KeyUsagePurpose::DigitalSignature],
            &extended,
        )?;
        if usage != Usage::Client {
            for ip in ips {
                params.subject_alt_names.push(SanType::IpAddress(ip));
            }
        }
        let key = self.ec_key(common_name)?;
        let cert = params.signed_by(&key, root).map_err(gen_err(common_name))?;
        Ok((cert.pem(), key.serialize_pem()))
    }
}

fn name(common_name: &str) -> DistinguishedName {
    let mut dn = DistinguishedName::new();
    dn.push(DnType::OrganizationName, "threeds sandbox");
    dn.push(DnType::CommonName, common_name);
    dn
}

/// A fresh RSA-2048 private key as PKCS#8 PEM. (ring, rcgen's backend, signs with RSA
/// keys but cannot generate them.)
fn rsa_2048_pkcs8_pem() -> Result<String, PkiError> {
    use rsa::pkcs8::{EncodePrivateKey, LineEnding};
    let err = |e: &dyn std::fmt::Display| PkiError::Generate {
        what: "RSA-2048 key".into(),
        message: e.to_string(),
    };
    let key = rsa::RsaPrivateKey::new(&mut rand_core::OsRng, 2048).map_err(|e| err(&e))?;
    let pem = key.to_pkcs8_pem(LineEnding::LF).map_err(|e| err(&e))?;
    Ok(pem.to_string())
}

fn write_pair(
    cert_path: &Path,
    cert_pem: &str,
    key_path: &Path,
    key_pem: Option<&str>,
) -> Result<(), PkiError> {
    write_public(cert_path, cert_pem)?;
    if let Some(key) = key_pem {
        write_key(key_path, key)?;
    }
    Ok(())
}

fn create_parent(path: &Path) -> Result<(), PkiError> {
    if let Some(parent) = path.parent() {
        fs::create_dir_all(parent).map_err(PkiError::io(parent))?;
    }
    Ok(())
}

fn write_public(path: &Path, pem: &str) -> Result<(), PkiError> {
    create_parent(path)?;
    fs::write(path, pem).map_err(PkiError::io(path))
}

/// Private keys are readable by their owner only.
fn write_key(path: &Path, pem: &str) -> Result<(), PkiError> {
    create_parent(path)?;
    let mut options = fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let mut file = options.open(path).map_err(PkiError::io(path))?;
    file.write_all(pem.as_bytes()).map_err(PkiError::io(path))
}

/// The sandbox's TLS root CA, to issue more certificates under it.
fn tls_root_issuer(layout: &Layout) -> Result<Issuer<'static, KeyPair>, PkiError> {
    let read = |path: &Path| fs::read_to_string(path).map_err(PkiError::io(path));
    let root_key = KeyPair::from_pem(&read(&layout.tls_root_ca_key())?)
        .map_err(gen_err("the TLS root CA key"))?;
    Issuer::from_ca_cert_pem(&read(&layout.tls_root_ca())?, root_key)
        .map_err(gen_err("the TLS root CA"))
}

/// A certificate for an ACS signing key held elsewhere (a KMS), under the DS root CA of
/// scheme `scheme` in the PKI at `dir`, for the public key `spki_der` (a DER
/// SubjectPublicKeyInfo): the chain an `acsSignedContent` carries, leaf then root, as
/// PEM. Issued afresh each time (it is cheap, and follows the key).
pub fn acs_signing_chain_for_key(
    dir: &Path,
    scheme: &str,
    spki_der: &[u8],
) -> Result<String, PkiError> {
    let files = Layout::new(dir).scheme(scheme);
    let read = |path: &Path| fs::read_to_string(path).map_err(PkiError::io(path));
    let root_pem = read(&files.ds_root_ca())?;
    let root_key = KeyPair::from_pem(&read(&files.ds_root_ca_key())?)
        .map_err(gen_err("the DS root CA key"))?;
    let root = Issuer::from_ca_cert_pem(&root_pem, root_key).map_err(gen_err("the DS root CA"))?;
    let public =
        rcgen::SubjectPublicKeyInfo::from_der(spki_der).map_err(gen_err("the signing key"))?;
    let now = OffsetDateTime::now_utc();
    let generator = Generator {
        not_before: now - Duration::days(1),
        ca_until: now + Duration::days(397),
        leaf_until: now + Duration::days(397),
    };
    let leaf = generator
        .leaf_params(
            &format!("threeds {scheme} ACS signing (KMS)"),
            &[],
            &[KeyUsagePurpose::DigitalSignature],
            &[],
        )?
        .signed_by(&public, &root)
        .map_err(gen_err("ACS signing certificate"))?;
    Ok(format!("{}{root_pem}", leaf.pem()))
}

/// The sandbox's administrator's client certificate (`<dir>/tls/admin.crt` and `.key`),
/// under the sandbox's TLS root; made the first time it is asked for, so a PKI made
/// before it existed gets one too. The admin endpoint accepts this certificate alone.
pub fn admin_identity(dir: &Path) -> Result<crate::tls::Identity, PkiError> {
    let layout = Layout::new(dir);
    let identity = layout.tls_identity("admin");
    if identity.cert.exists() && identity.key.exists() {
        return Ok(identity);
    }
    let root = tls_root_issuer(&layout)?;
    let now = OffsetDateTime::now_utc();
    let generator = Generator {
        not_before: now - Duration::days(1),
        ca_until: now + Duration::days(365),
        leaf_until: now + Duration::days(365),
    };
    let (cert, key) = generator.tls_leaf("threeds admin", &[], &[], Usage::Client, &root)?;
    write_pair(&identity.cert, &cert, &identity.key, Some(&key))?;
    Ok(identity)
}

/// Client identities that a peer must refuse, for certificate faults: one signed by the
/// sandbox's TLS root but expired, one valid but from a CA nobody trusts. Made once per
/// `name` under `<dir>/faults/` (kept like the rest of the generated PKI, never
/// committed) and reused.
#[derive(Debug, Clone)]
pub struct FaultyIdentities {
    pub expired: crate::tls::Identity,
    pub wrong_ca: crate::tls::Identity,
}

/// The faulty identities for `name` in the PKI at `dir` (made if missing).
pub fn faulty_identities(dir: &Path, name: &str) -> Result<FaultyIdentities, PkiError> {
    let layout = Layout::new(dir);
    let faults = dir.join("faults");
    let identity = |kind: &str| crate::tls::Identity {
        cert: faults.join(format!("{name}-{kind}.crt")),
        key: faults.join(format!("{name}-{kind}.key")),
    };
    let made = FaultyIdentities {
        expired: identity("expired"),
        wrong_ca: identity("wrong-ca"),
    };
    if made.expired.cert.exists() && made.wrong_ca.cert.exists() {
        return Ok(made);
    }
    let root = tls_root_issuer(&layout)?;
    let now = OffsetDateTime::now_utc();
    // Expired yesterday, under the real root.
    let expired = Generator {
        not_before: now - Duration::days(30),
        ca_until: now - Duration::days(1),
        leaf_until: now - Duration::days(1),
    };
    let (cert, key) = expired.tls_leaf(
        &format!("threeds {name} (expired, fault)"),
        &[],
        &[],
        Usage::ServerAndClient,
        &root,
    )?;
    write_pair(&made.expired.cert, &cert, &made.expired.key, Some(&key))?;
    // Valid, under a CA of its own.
    let valid = Generator {
        not_before: now - Duration::days(1),
        ca_until: now + Duration::days(365),
        leaf_until: now + Duration::days(365),
    };
    let foreign = valid.ca("threeds foreign CA (fault)")?;
    let (cert, key) = valid.tls_leaf(
        &format!("threeds {name} (wrong CA, fault)"),
        &[],
        &[],
        Usage::ServerAndClient,
        &foreign,
    )?;
    write_pair(&made.wrong_ca.cert, &cert, &made.wrong_ca.key, Some(&key))?;
    Ok(made)
}
