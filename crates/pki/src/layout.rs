//! Where each file of the PKI lives. Every component finds its keys through this, so
//! the layout is written down once.

use std::path::{Path, PathBuf};

/// The files of a PKI directory.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Layout {
    root: PathBuf,
}

/// The TLS identities the sandbox's components use. Each has `<name>.crt` and
/// `<name>.key` under `tls/`.
pub const TLS_IDENTITIES: &[(&str, &str)] = &[
    (
        "3ds-server",
        "3DS Server: requestor API and RReq endpoint (server), client to the DS",
    ),
    (
        "acs",
        "ACS: AReq endpoint and cardholder-facing pages (server), client to the DS",
    ),
    ("merchant", "Mock merchant web shop (server)"),
    (
        "requestor",
        "Requestor (merchant backend): client certificate for the requestor API",
    ),
];

impl Layout {
    pub fn new(root: impl Into<PathBuf>) -> Layout {
        Layout { root: root.into() }
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    /// The sandbox TLS root CA certificate: the trust anchor of every TLS hop.
    pub fn tls_root_ca(&self) -> PathBuf {
        self.root.join("tls/root-ca.crt")
    }
    pub fn tls_root_ca_key(&self) -> PathBuf {
        self.root.join("tls/root-ca.key")
    }

    /// A component's TLS certificate (`3ds-server`, `acs`, `merchant`, `requestor`).
    pub fn tls_cert(&self, identity: &str) -> PathBuf {
        self.root.join(format!("tls/{identity}.crt"))
    }
    pub fn tls_key(&self, identity: &str) -> PathBuf {
        self.root.join(format!("tls/{identity}.key"))
    }

    /// The files of one card scheme.
    pub fn scheme(&self, name: &str) -> SchemeLayout {
        SchemeLayout {
            dir: self.root.join("schemes").join(name),
            tls_dir: self.root.join("tls"),
            name: name.to_owned(),
        }
    }

    /// Whether the directory already holds a PKI.
    pub fn exists(&self) -> bool {
        self.tls_root_ca().exists()
    }
}

/// The files of one card scheme.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SchemeLayout {
    dir: PathBuf,
    tls_dir: PathBuf,
    name: String,
}

impl SchemeLayout {
    pub fn dir(&self) -> &Path {
        &self.dir
    }
    /// The scheme's DS root CA: trust anchor of `acsSignedContent` chains.
    pub fn ds_root_ca(&self) -> PathBuf {
        self.dir.join("ds-root-ca.crt")
    }
    pub fn ds_root_ca_key(&self) -> PathBuf {
        self.dir.join("ds-root-ca.key")
    }
    /// The DS encryption certificate (its public key encrypts `sdkEncData`).
    pub fn ds_encryption_cert(&self) -> PathBuf {
        self.dir.join("ds-encryption.crt")
    }
    pub fn ds_encryption_key(&self) -> PathBuf {
        self.dir.join("ds-encryption.key")
    }
    /// The ACS signing certificate (`acsSignedContent`).
    pub fn acs_signing_cert(&self) -> PathBuf {
        self.dir.join("acs-signing.crt")
    }
    pub fn acs_signing_key(&self) -> PathBuf {
        self.dir.join("acs-signing.key")
    }
    /// The ACS signing chain, leaf first, for the JWS `x5c` header.
    pub fn acs_signing_chain(&self) -> PathBuf {
        self.dir.join("acs-signing-chain.pem")
    }
    /// The scheme's DS TLS certificate (server for 3DS Servers and ACSs, client to both).
    pub fn ds_tls_cert(&self) -> PathBuf {
        self.tls_dir.join(format!("ds-{}.crt", self.name))
    }
    pub fn ds_tls_key(&self) -> PathBuf {
        self.tls_dir.join(format!("ds-{}.key", self.name))
    }
}
