//! The generated PKI, checked by reading it back with an independent parser
//! (x509-parser), not with the generator's own view of what it wrote.

use std::path::Path;
use std::sync::OnceLock;

use pki::{EncryptionKey, Layout, PkiError, PkiSpec, SchemeSpec, init, inventory};
use x509_parser::prelude::*;

/// One PKI shared by the read-only tests (RSA key generation is the slow part).
fn shared() -> &'static Path {
    static DIR: OnceLock<tempfile::TempDir> = OnceLock::new();
    DIR.get_or_init(|| {
        let dir = tempfile::tempdir().expect("tempdir");
        init(dir.path(), &PkiSpec::default(), false).expect("init");
        dir
    })
    .path()
}

fn der_of(path: &Path) -> Vec<u8> {
    let pem = std::fs::read(path).expect("read cert");
    let (_, pem) = parse_x509_pem(&pem).expect("pem");
    pem.contents
}

fn ekus(path: &Path) -> (bool, bool) {
    let der = der_of(path);
    let (_, cert) = X509Certificate::from_der(&der).expect("der");
    let eku = cert
        .extended_key_usage()
        .expect("eku ext")
        .map(|e| e.value.clone());
    eku.map_or((false, false), |e| (e.server_auth, e.client_auth))
}

#[test]
fn every_file_is_there_and_every_signature_verifies() {
    let dir = shared();
    let inv = inventory(dir).expect("inventory");
    let files: Vec<&str> = inv.certificates.iter().map(|c| c.file.as_str()).collect();
    for expected in [
        "tls/root-ca.crt",
        "tls/3ds-server.crt",
        "tls/acs.crt",
        "tls/merchant.crt",
        "tls/requestor.crt",
        "tls/ds-alpha.crt",
        "tls/ds-beta.crt",
        "schemes/alpha/ds-root-ca.crt",
        "schemes/alpha/ds-encryption.crt",
        "schemes/alpha/acs-signing.crt",
        "schemes/beta/ds-root-ca.crt",
        "schemes/beta/ds-encryption.crt",
        "schemes/beta/acs-signing.crt",
    ] {
        assert!(
            files.contains(&expected),
            "{expected} missing from {files:?}"
        );
    }
    for c in &inv.certificates {
        assert_eq!(
            c.issuer_verified,
            Some(true),
            "{} does not verify against its issuer",
            c.file
        );
        assert_eq!(c.sha256.len(), 95, "{}", c.sha256);
    }
}

#[test]
fn hierarchies_are_separate() {
    let inv = inventory(shared()).unwrap();
    let tls_root = inv.get("tls/root-ca.crt").unwrap();
    for c in inv
        .certificates
        .iter()
        .filter(|c| c.file.starts_with("tls/") && !c.is_ca)
    {
        assert_eq!(c.issuer, tls_root.subject, "{}", c.file);
    }
    for scheme in ["alpha", "beta"] {
        let root = inv
            .get(&format!("schemes/{scheme}/ds-root-ca.crt"))
            .unwrap();
        assert!(root.is_ca);
        for leaf in ["ds-encryption.crt", "acs-signing.crt"] {
            let c = inv.get(&format!("schemes/{scheme}/{leaf}")).unwrap();
            assert_eq!(c.issuer, root.subject, "{scheme}/{leaf}");
            assert!(!c.is_ca);
        }
    }
    assert_ne!(
        inv.get("schemes/alpha/ds-root-ca.crt").unwrap().subject,
        inv.get("schemes/beta/ds-root-ca.crt").unwrap().subject
    );
}

#[test]
fn key_types_follow_the_spec() {
    let inv = inventory(shared()).unwrap();
    for c in &inv.certificates {
        // The RSA scheme's DS encryption key and ACS signing key are RSA.
        let rsa = [
            "schemes/beta/ds-encryption.crt",
            "schemes/beta/acs-signing.crt",
        ];
        let expected = if rsa.contains(&c.file.as_str()) {
            "RSA-2048"
        } else {
            "EC P-256"
        };
        assert_eq!(c.key_type, expected, "{}", c.file);
    }
}

#[test]
fn tls_certificates_name_loopback_and_their_component() {
    let inv = inventory(shared()).unwrap();
    let acs = inv.get("tls/acs.crt").unwrap();
    for name in ["localhost", "acs.localhost", "127.0.0.1", "::1"] {
        assert!(
            acs.names.iter().any(|n| n == name),
            "acs lacks {name}: {:?}",
            acs.names
        );
    }
    let ds = inv.get("tls/ds-beta.crt").unwrap();
    assert!(
        ds.names.iter().any(|n| n == "ds-beta.localhost"),
        "{:?}",
        ds.names
    );
    assert!(ds.subject.contains("F000000002"), "{}", ds.subject);

    let layout = Layout::new(shared());
    assert_eq!(
        ekus(&layout.tls_cert("acs")),
        (true, true),
        "servers are also clients"
    );
    assert_eq!(
        ekus(&layout.tls_cert("requestor")),
        (false, true),
        "the requestor is a client only"
    );
    assert_eq!(ekus(&layout.tls_cert("merchant")), (true, false));
}

#[test]
fn validity_windows() {
    let inv = inventory(shared()).unwrap();
    for c in &inv.certificates {
        let range = if c.is_ca { 3640..=3650 } else { 390..=397 };
        assert!(
            range.contains(&c.days_left),
            "{}: {} days left",
            c.file,
            c.days_left
        );
    }
}

#[test]
fn private_keys_are_owner_only_and_parse() {
    let layout = Layout::new(shared());
    let keys = [
        layout.tls_root_ca_key(),
        layout.tls_key("3ds-server"),
        layout.scheme("alpha").acs_signing_key(),
        layout.scheme("beta").ds_encryption_key(),
        layout.scheme("beta").ds_tls_key(),
    ];
    for key in keys {
        let text = std::fs::read_to_string(&key).expect("key file");
        assert!(
            text.starts_with("-----BEGIN PRIVATE KEY-----"),
            "{}",
            key.display()
        );
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&key).unwrap().permissions().mode() & 0o777;
            assert_eq!(mode, 0o600, "{}", key.display());
        }
    }
}

#[test]
fn acs_signing_chain_is_leaf_then_root() {
    let layout = Layout::new(shared()).scheme("alpha");
    let chain = std::fs::read(layout.acs_signing_chain()).unwrap();
    let mut certs = Vec::new();
    for pem in Pem::iter_from_buffer(&chain) {
        certs.push(pem.expect("pem").contents);
    }
    assert_eq!(certs.len(), 2);
    assert_eq!(certs[0], der_of(&layout.acs_signing_cert()));
    assert_eq!(certs[1], der_of(&layout.ds_root_ca()));
}

#[test]
fn init_refuses_to_overwrite_unless_forced() {
    let dir = tempfile::tempdir().unwrap();
    let spec = PkiSpec {
        schemes: vec![SchemeSpec {
            name: "solo".into(),
            directory_server_id: "F000000009".into(),
            encryption_key: EncryptionKey::EcP256,
        }],
        ..PkiSpec::default()
    };
    let first = init(dir.path(), &spec, false).unwrap();
    assert!(matches!(
        init(dir.path(), &spec, false),
        Err(PkiError::AlreadyExists(_))
    ));
    let unrelated = dir.path().join("notes.txt");
    std::fs::write(&unrelated, "mine").unwrap();
    let second = init(dir.path(), &spec, true).unwrap();
    assert_ne!(
        first.get("tls/root-ca.crt").unwrap().sha256,
        second.get("tls/root-ca.crt").unwrap().sha256,
        "--force makes new keys"
    );
    assert!(
        unrelated.exists(),
        "--force only replaces what the PKI owns"
    );
}

#[test]
fn errors_name_what_is_wrong() {
    let empty = tempfile::tempdir().unwrap();
    let err = inventory(empty.path()).unwrap_err();
    assert!(matches!(err, PkiError::Missing(_)));
    assert!(err.to_string().contains("threeds pki init"), "{err}");

    let bad = PkiSpec {
        schemes: vec![SchemeSpec {
            name: "Bad Name".into(),
            directory_server_id: "F000000001".into(),
            encryption_key: EncryptionKey::EcP256,
        }],
        ..PkiSpec::default()
    };
    assert!(matches!(
        init(empty.path(), &bad, false),
        Err(PkiError::BadScheme { .. })
    ));

    let dir = tempfile::tempdir().unwrap();
    let spec = PkiSpec {
        schemes: vec![PkiSpec::default().schemes[0].clone()],
        ..PkiSpec::default()
    };
    init(dir.path(), &spec, false).unwrap();
    let broken = dir.path().join("tls/merchant.crt");
    std::fs::write(
        &broken,
        "-----BEGIN CERTIFICATE-----\nnot base64!\n-----END CERTIFICATE-----\n",
    )
    .unwrap();
    let err = inventory(dir.path()).unwrap_err();
    assert!(err.to_string().contains("merchant.crt"), "{err}");
}

/// OpenSSL, an independent X.509 implementation, accepts every chain for its purpose.
/// (`cargo xtask test` installs openssl where it is missing.)
#[test]
fn openssl_verifies_every_chain_for_its_purpose() {
    let layout = Layout::new(shared());
    let root = layout.tls_root_ca();
    let mut cases = vec![
        (root.clone(), layout.tls_cert("3ds-server"), "sslserver"),
        (root.clone(), layout.tls_cert("3ds-server"), "sslclient"),
        (root.clone(), layout.tls_cert("acs"), "sslserver"),
        (root.clone(), layout.tls_cert("merchant"), "sslserver"),
        (root.clone(), layout.tls_cert("requestor"), "sslclient"),
    ];
    for scheme in ["alpha", "beta"] {
        let s = layout.scheme(scheme);
        cases.push((root.clone(), s.ds_tls_cert(), "sslserver"));
        cases.push((root.clone(), s.ds_tls_cert(), "sslclient"));
        cases.push((s.ds_root_ca(), s.acs_signing_cert(), "any"));
        cases.push((s.ds_root_ca(), s.ds_encryption_cert(), "any"));
    }
    for (ca, cert, purpose) in cases {
        let out = std::process::Command::new("openssl")
            .args(["verify", "-purpose", purpose, "-CAfile"])
            .arg(&ca)
            .arg(&cert)
            .output()
            .expect("openssl must be installed (cargo xtask test installs it)");
        assert!(
            out.status.success(),
            "openssl verify -purpose {purpose} {}: {}{}",
            cert.display(),
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }
    // And refuses a chain across hierarchies.
    let s = layout.scheme("alpha");
    let out = std::process::Command::new("openssl")
        .args(["verify", "-CAfile"])
        .arg(&root)
        .arg(s.acs_signing_cert())
        .output()
        .unwrap();
    assert!(
        !out.status.success(),
        "the ACS signing cert must not chain to the TLS root"
    );
}

/// The identities certificate faults present: OpenSSL (independent of us) finds the
/// expired one expired under the real root and the other one from an unknown issuer;
/// both are made once and reused.
#[test]
fn faulty_identities_fail_verification_for_the_right_reason() {
    let dir = tempfile::tempdir().expect("tempdir");
    init(dir.path(), &PkiSpec::default(), false).expect("init");
    let ids = pki::faulty_identities(dir.path(), "acs").expect("faulty identities");
    let root = Layout::new(dir.path()).tls_root_ca();
    let verify = |cert: &Path| {
        let out = std::process::Command::new("openssl")
            .arg("verify")
            .arg("-CAfile")
            .arg(&root)
            .arg(cert)
            .output()
            .expect("openssl must be installed (cargo xtask test installs it)");
        format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        )
    };
    let expired = verify(&ids.expired.cert);
    assert!(expired.contains("certificate has expired"), "{expired}");
    let foreign = verify(&ids.wrong_ca.cert);
    assert!(
        foreign.contains("unable to get local issuer certificate"),
        "{foreign}"
    );
    let before = std::fs::read(&ids.expired.cert).expect("read");
    let again = pki::faulty_identities(dir.path(), "acs").expect("again");
    assert_eq!(
        std::fs::read(&again.expired.cert).expect("read"),
        before,
        "reused"
    );
}

#[test]
fn advertised_names_are_on_every_server_certificate_and_no_client_one() {
    let dir = tempfile::tempdir().unwrap();
    let spec = PkiSpec {
        schemes: vec![PkiSpec::default().schemes[0].clone()],
        names: vec!["sandbox.example".into(), "192.0.2.7".into(), "::2".into()],
        ..PkiSpec::default()
    };
    let made = init(dir.path(), &spec, false).unwrap();
    for file in [
        "tls/3ds-server.crt",
        "tls/acs.crt",
        "tls/merchant.crt",
        "tls/ds-alpha.crt",
    ] {
        let names = &made
            .get(file)
            .unwrap_or_else(|| panic!("{file} in {:?}", made.certificates))
            .names;
        for name in [
            "localhost",
            "127.0.0.1",
            "sandbox.example",
            "192.0.2.7",
            "::2",
        ] {
            assert!(
                names.iter().any(|n| n == name),
                "{file}: {name} not in {names:?}"
            );
        }
    }
    let client = &made.get("tls/requestor.crt").unwrap().names;
    assert!(!client.iter().any(|n| n == "sandbox.example"), "{client:?}");
    for bad in ["bad name", "", "-lead.example", "a..b", "host/path"] {
        let spec = PkiSpec {
            names: vec![bad.into()],
            ..PkiSpec::default()
        };
        let empty = tempfile::tempdir().unwrap();
        let err = init(empty.path(), &spec, false).unwrap_err();
        assert!(matches!(err, PkiError::BadName(_)), "{bad}: {err}");
    }
}
