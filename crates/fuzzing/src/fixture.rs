//! The keys the targets use: a sandbox PKI (both default schemes: alpha with P-256 keys,
//! beta with RSA-2048) generated once per process into a temporary directory, read into
//! memory, and the directory removed. Plus fixed keys of our own where a target signs
//! what the fuzzer wrote (SPC assertions) or seals it (the app channel's session key).

use std::sync::OnceLock;

use app_crypto::device_data::{DsPrivateKey, DsPublicKey};
use app_crypto::keys::EphemeralKey;
use app_crypto::session::SessionKey;
use app_crypto::signed_content::{AcsSigner, TrustAnchors};

/// One scheme's keys.
pub struct Scheme {
    pub directory_server_id: String,
    pub ds_private: DsPrivateKey,
    pub ds_public: DsPublicKey,
    pub anchors: TrustAnchors,
    pub acs_signer: AcsSigner,
    /// The ACS signing key (PKCS#8 PEM) and its chain, DER leaf first: to sign any
    /// payload as the ACS would.
    pub acs_key_pem: Vec<u8>,
    pub acs_chain_der: Vec<Vec<u8>>,
}

/// Everything the targets need, made once.
pub struct Fixture {
    pub alpha: Scheme,
    pub beta: Scheme,
    /// The session key of the app channel targets.
    pub session: SessionKey,
    /// The SDK's ephemeral key `acsSignedContent` is signed for.
    pub sdk_ephemeral: EphemeralKey,
    /// The ACS's ephemeral key in signed content the targets write.
    pub acs_ephemeral: EphemeralKey,
}

// Keys are never printed.
impl std::fmt::Debug for Scheme {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Scheme({}, <keys>)", self.directory_server_id)
    }
}

impl std::fmt::Debug for Fixture {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list().entries(self.schemes()).finish()
    }
}

impl Fixture {
    /// The fixture, generated on first use.
    ///
    /// # Panics
    /// When the PKI cannot be generated or read (a broken build, not a finding).
    pub fn get() -> &'static Fixture {
        static FIXTURE: OnceLock<Fixture> = OnceLock::new();
        FIXTURE.get_or_init(|| {
            let dir = tempfile::tempdir().expect("a temporary directory for the PKI");
            pki::init(dir.path(), &pki::PkiSpec::default(), false).expect("the PKI");
            let layout = pki::Layout::new(dir.path());
            let scheme = |name: &str, directory_server_id: &str| {
                let files = layout.scheme(name);
                let read = |path: std::path::PathBuf| {
                    std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
                };
                let acs_key_pem = read(files.acs_signing_key());
                let chain_pem = read(files.acs_signing_chain());
                Scheme {
                    directory_server_id: directory_server_id.to_owned(),
                    ds_private: DsPrivateKey::from_pem(&read(files.ds_encryption_key()))
                        .expect("DS key"),
                    ds_public: DsPublicKey::from_certificate_pem(&read(files.ds_encryption_cert()))
                        .expect("DS certificate"),
                    anchors: TrustAnchors::from_pem(&read(files.ds_root_ca())).expect("DS root"),
                    acs_signer: AcsSigner::from_pem(&acs_key_pem, &chain_pem).expect("ACS key"),
                    acs_chain_der: openssl::x509::X509::stack_from_pem(&chain_pem)
                        .expect("ACS chain")
                        .iter()
                        .map(|c| c.to_der().expect("DER"))
                        .collect(),
                    acs_key_pem,
                }
            };
            Fixture {
                alpha: scheme("alpha", "F000000001"),
                beta: scheme("beta", "F000000002"),
                session: SessionKey::from_bytes(&[0x5a; 32]).expect("32 bytes"),
                sdk_ephemeral: EphemeralKey::from_scalar(&[0x21; 32]).expect("a scalar"),
                acs_ephemeral: EphemeralKey::from_scalar(&[0x42; 32]).expect("a scalar"),
            }
        })
    }

    /// Both schemes.
    pub fn schemes(&self) -> [&Scheme; 2] {
        [&self.alpha, &self.beta]
    }
}

/// The output of a future that never waits (a local signer's): polled once.
///
/// # Panics
/// When it would wait.
pub fn ready<F: std::future::Future>(future: F) -> F::Output {
    let mut future = std::pin::pin!(future);
    let mut context = std::task::Context::from_waker(std::task::Waker::noop());
    match future.as_mut().poll(&mut context) {
        std::task::Poll::Ready(output) => output,
        std::task::Poll::Pending => panic!("a local signer does not wait"),
    }
}
