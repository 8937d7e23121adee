//! `acsSignedContent` (`docs/protocol.md` §6.2): a compact JWS, `alg` ES256 (EC signing key) or
//! PS256 (RSA), `x5c` the ACS signing chain leaf first (standard base64 DER), payload
//! `{acsURL, acsEphemPubKey, sdkEphemPubKey}`.
//!
//! The SDK trusts it only if the `x5c` chain leads to the DS root of the directory
//! server it is talking to (OpenSSL's path validation: signatures, validity dates, CA
//! constraints), the leaf key fits `alg`, the signature verifies with the leaf key, and
//! the payload echoes its own `sdkEphemPubKey`.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use josekit::jws::{self, JwsHeader, JwsSigner, JwsVerifier};
use openssl::pkey::{Id, PKey};
use openssl::stack::Stack;
use openssl::x509::store::{X509Store, X509StoreBuilder};
use openssl::x509::{X509, X509StoreContext};
use p256::PublicKey;
use serde_json::{Value, json};

use crate::jose::{compact_header, header_str};
use crate::keys::{parse_public_jwk, public_jwk};
use crate::{CryptoError, malformed};

const WHAT: &str = "acsSignedContent";

/// What the SDK learns from a trusted `acsSignedContent`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignedContent {
    /// Where the SDK sends its CReqs.
    pub acs_url: String,
    pub acs_ephem_pub_key: PublicKey,
    /// The signing algorithm (`ES256` or `PS256`).
    pub alg: String,
}

/// A remote signature: DER, or why there is none.
pub type DerSignature<'a> =
    std::pin::Pin<Box<dyn std::future::Future<Output = Result<Vec<u8>, String>> + Send + 'a>>;

/// An ES256 key held elsewhere (a KMS): it signs, the ACS never sees it.
pub trait RemoteEs256: Send + Sync + std::fmt::Debug {
    /// An ECDSA P-256 / SHA-256 signature of `message` (the signer hashes), DER-encoded.
    fn sign_der<'a>(&'a self, message: &'a [u8]) -> DerSignature<'a>;
}

/// Who signs: a key in memory, or one held elsewhere.
enum Signer {
    Local(Box<dyn JwsSigner>),
    Remote(std::sync::Arc<dyn RemoteEs256>),
}

/// The ACS's signing key and chain for one directory server.
pub struct AcsSigner {
    signer: Signer,
    /// DER certificates, leaf first.
    chain: Vec<Vec<u8>>,
}

impl std::fmt::Debug for AcsSigner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let whose = match &self.signer {
            Signer::Local(_) => "in memory",
            Signer::Remote(_) => "remote",
        };
        write!(
            f,
            "AcsSigner({}, {whose}, {} certificates)",
            self.algorithm(),
            self.chain.len()
        )
    }
}

/// DER certificates from a PEM chain (leaf first); at least one.
fn chain_from_pem(chain_pem: &[u8]) -> Result<Vec<Vec<u8>>, CryptoError> {
    let key_err = |e: &dyn std::fmt::Display| CryptoError::Key(e.to_string());
    let chain = X509::stack_from_pem(chain_pem)
        .map_err(|e| key_err(&e))?
        .iter()
        .map(|c| c.to_der())
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| key_err(&e))?;
    if chain.is_empty() {
        return Err(key_err(&"the signing chain has no certificate"));
    }
    Ok(chain)
}

impl AcsSigner {
    /// A PKCS#8 PEM private key and the PEM chain (leaf first). The key type picks the
    /// algorithm: EC P-256 → ES256, RSA → PS256.
    pub fn from_pem(key_pem: &[u8], chain_pem: &[u8]) -> Result<AcsSigner, CryptoError> {
        let key_err = |e: &dyn std::fmt::Display| CryptoError::Key(e.to_string());
        let key = PKey::private_key_from_pem(key_pem).map_err(|e| key_err(&e))?;
        // Through PKCS#8 DER: josekit's PEM reader is stricter than OpenSSL's.
        let der = key.private_key_to_pkcs8().map_err(|e| key_err(&e))?;
        let signer: Box<dyn JwsSigner> = match key.id() {
            Id::EC => Box::new(jws::ES256.signer_from_der(&der).map_err(|e| key_err(&e))?),
            Id::RSA => Box::new(jws::PS256.signer_from_der(&der).map_err(|e| key_err(&e))?),
            other => return Err(key_err(&format_args!("cannot sign with a {other:?} key"))),
        };
        Ok(AcsSigner {
            signer: Signer::Local(signer),
            chain: chain_from_pem(chain_pem)?,
        })
    }

    /// An ES256 key held elsewhere (a KMS), and the PEM chain certifying it (leaf
    /// first).
    pub fn remote(
        signer: std::sync::Arc<dyn RemoteEs256>,
        chain_pem: &[u8],
    ) -> Result<AcsSigner, CryptoError> {
        Ok(AcsSigner {
            signer: Signer::Remote(signer),
            chain: chain_from_pem(chain_pem)?,
        })
    }

    /// `ES256` or `PS256`.
    pub fn algorithm(&self) -> &str {
        match &self.signer {
            Signer::Local(signer) => signer.algorithm().name(),
            Signer::Remote(_) => "ES256",
        }
    }

    /// Signs the content for one challenge (a remote signer is asked over the network).
    pub async fn sign(
        &self,
        acs_url: &str,
        acs_ephem_pub_key: &PublicKey,
        sdk_ephem_pub_key: &Value,
    ) -> Result<String, CryptoError> {
        let payload = json!({
            "acsURL": acs_url,
            "acsEphemPubKey": public_jwk(acs_ephem_pub_key),
            "sdkEphemPubKey": sdk_ephem_pub_key,
        });
        let bytes = serde_json::to_vec(&payload).map_err(|e| CryptoError::Key(e.to_string()))?;
        match &self.signer {
            Signer::Local(signer) => {
                let mut header = JwsHeader::new();
                header.set_x509_certificate_chain(&self.chain);
                jws::serialize_compact(&bytes, &header, signer.as_ref())
                    .map_err(|e| CryptoError::Key(e.to_string()))
            }
            Signer::Remote(signer) => {
                use base64::engine::general_purpose::URL_SAFE_NO_PAD;
                let x5c: Vec<String> = self.chain.iter().map(|c| STANDARD.encode(c)).collect();
                let header = json!({ "alg": "ES256", "x5c": x5c });
                let input = format!(
                    "{}.{}",
                    URL_SAFE_NO_PAD.encode(header.to_string()),
                    URL_SAFE_NO_PAD.encode(&bytes)
                );
                let der = signer
                    .sign_der(input.as_bytes())
                    .await
                    .map_err(CryptoError::Key)?;
                let raw = es256_raw(&der)?;
                Ok(format!("{input}.{}", URL_SAFE_NO_PAD.encode(raw)))
            }
        }
    }
}

/// An ECDSA signature in DER (what a KMS returns) as JOSE's `R‖S`, 32 bytes each.
fn es256_raw(der: &[u8]) -> Result<[u8; 64], CryptoError> {
    let bad = |e: &dyn std::fmt::Display| CryptoError::Key(format!("ECDSA signature: {e}"));
    let signature = openssl::ecdsa::EcdsaSig::from_der(der).map_err(|e| bad(&e))?;
    let r = signature.r().to_vec_padded(32).map_err(|e| bad(&e))?;
    let s = signature.s().to_vec_padded(32).map_err(|e| bad(&e))?;
    let mut raw = [0u8; 64];
    raw[..32].copy_from_slice(&r);
    raw[32..].copy_from_slice(&s);
    Ok(raw)
}

/// The DS root certificates an SDK trusts for one directory server.
#[derive(Clone)]
pub struct TrustAnchors {
    store: std::sync::Arc<X509Store>,
}

impl std::fmt::Debug for TrustAnchors {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "TrustAnchors({} roots)",
            self.store.all_certificates().len()
        )
    }
}

impl TrustAnchors {
    /// One or more PEM root certificates.
    pub fn from_pem(pem: &[u8]) -> Result<TrustAnchors, CryptoError> {
        let key_err = |e: &dyn std::fmt::Display| CryptoError::Key(e.to_string());
        let roots = X509::stack_from_pem(pem).map_err(|e| key_err(&e))?;
        if roots.is_empty() {
            return Err(key_err(&"no root certificate"));
        }
        let mut builder = X509StoreBuilder::new().map_err(|e| key_err(&e))?;
        for root in roots {
            builder.add_cert(root).map_err(|e| key_err(&e))?;
        }
        Ok(TrustAnchors {
            store: std::sync::Arc::new(builder.build()),
        })
    }
}

/// Verifies `acsSignedContent` against `anchors` and checks that it names
/// `sdk_ephem_pub_key` (the SDK's own key). Every failure is
/// [`CryptoError::Untrusted`] or [`CryptoError::Malformed`].
pub fn verify(
    token: &str,
    anchors: &TrustAnchors,
    sdk_ephem_pub_key: &PublicKey,
) -> Result<SignedContent, CryptoError> {
    let untrusted = |why: &dyn std::fmt::Display| CryptoError::Untrusted {
        what: WHAT,
        why: why.to_string(),
    };
    let header = compact_header(token, 3, WHAT)?;
    let alg = header_str(&header, "alg").unwrap_or_default().to_owned();
    let chain = header
        .get("x5c")
        .and_then(Value::as_array)
        .filter(|c| !c.is_empty())
        .ok_or_else(|| untrusted(&"no x5c certificate chain in the header"))?
        .iter()
        .map(|entry| {
            let der = STANDARD
                .decode(entry.as_str().unwrap_or_default())
                .map_err(|_| untrusted(&"an x5c entry is not base64 DER"))?;
            X509::from_der(&der).map_err(|_| untrusted(&"an x5c entry is not a certificate"))
        })
        .collect::<Result<Vec<_>, _>>()?;
    let leaf = &chain[0];
    let mut intermediates = Stack::new().map_err(|e| untrusted(&e))?;
    for cert in &chain[1..] {
        intermediates
            .push(cert.clone())
            .map_err(|e| untrusted(&e))?;
    }
    let mut context = X509StoreContext::new().map_err(|e| untrusted(&e))?;
    let path = context
        .init(&anchors.store, leaf, &intermediates, |c| {
            let ok = c.verify_cert()?;
            Ok((ok, c.error()))
        })
        .map_err(|e| untrusted(&e))?;
    if !path.0 {
        return Err(untrusted(&format_args!(
            "the x5c chain does not lead to this directory server's root: {}",
            path.1
        )));
    }
    let spki = leaf
        .public_key()
        .and_then(|k| k.public_key_to_der().map(|der| (k.id(), der)))
        .map_err(|e| untrusted(&e))?;
    let verifier: Box<dyn JwsVerifier> = match (alg.as_str(), spki.0) {
        ("ES256", Id::EC) => Box::new(
            jws::ES256
                .verifier_from_der(&spki.1)
                .map_err(|e| untrusted(&e))?,
        ),
        ("PS256", Id::RSA) => Box::new(
            jws::PS256
                .verifier_from_der(&spki.1)
                .map_err(|e| untrusted(&e))?,
        ),
        (alg, key) => {
            return Err(untrusted(&format_args!(
                "alg {alg:?} does not fit the signing certificate's {key:?} key (ES256 for EC, PS256 for RSA)"
            )));
        }
    };
    let (payload, _) = jws::deserialize_compact(token, verifier.as_ref())
        .map_err(|_| untrusted(&"the signature does not verify with the x5c leaf's key"))?;
    let content: Value = serde_json::from_slice(&payload)
        .map_err(|_| malformed(WHAT)(&"the payload is not JSON"))?;
    let acs_url = content
        .get("acsURL")
        .and_then(Value::as_str)
        .ok_or_else(|| malformed(WHAT)(&"acsURL is missing"))?
        .to_owned();
    let acs_ephem_pub_key = parse_public_jwk(
        content
            .get("acsEphemPubKey")
            .ok_or_else(|| malformed(WHAT)(&"acsEphemPubKey is missing"))?,
    )?;
    let echoed = parse_public_jwk(
        content
            .get("sdkEphemPubKey")
            .ok_or_else(|| malformed(WHAT)(&"sdkEphemPubKey is missing"))?,
    )?;
    if &echoed != sdk_ephem_pub_key {
        return Err(untrusted(&"it was signed for another SDK ephemeral key"));
    }
    Ok(SignedContent {
        acs_url,
        acs_ephem_pub_key,
        alg,
    })
}
