//! Envelope encryption: each record sealed with AES-256-GCM under its own data key, the
//! data key stored wrapped next to it, and the record bound by its encryption context
//! (used both to wrap the key and as the record's associated data). The plaintext data
//! key is zeroised as soon as the record is sealed or opened.

use rand_core::{OsRng, RngCore};
use zeroize::Zeroizing;

use crate::primitives::{aes_256_gcm_open, aes_256_gcm_seal};
use crate::{EncryptionContext, KeyError, KeyService, MacPurpose, WrappedKey};

/// A sealed record: everything needed to open it, given the key service and context.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sealed {
    pub wrapped_key: WrappedKey,
    pub nonce: [u8; 12],
    /// Ciphertext with the 16-byte GCM tag appended.
    pub ciphertext: Vec<u8>,
}

/// Format version of [`Sealed::to_bytes`].
const FORMAT: u8 = 1;

impl Sealed {
    /// One self-describing byte string for storage:
    /// `1 | len(key_id) u16 | key_id | len(wrapped) u16 | wrapped | nonce (12) | ciphertext`.
    pub fn to_bytes(&self) -> Vec<u8> {
        let id = self.wrapped_key.key_id.as_bytes();
        let blob = &self.wrapped_key.blob;
        let mut out = Vec::with_capacity(5 + id.len() + blob.len() + 12 + self.ciphertext.len());
        out.push(FORMAT);
        out.extend_from_slice(&(id.len() as u16).to_be_bytes());
        out.extend_from_slice(id);
        out.extend_from_slice(&(blob.len() as u16).to_be_bytes());
        out.extend_from_slice(blob);
        out.extend_from_slice(&self.nonce);
        out.extend_from_slice(&self.ciphertext);
        out
    }

    /// Parses [`Sealed::to_bytes`].
    pub fn from_bytes(bytes: &[u8]) -> Result<Sealed, KeyError> {
        let mut rest = bytes;
        let mut take = |n: usize, what: &'static str| -> Result<&[u8], KeyError> {
            if rest.len() < n {
                return Err(KeyError::Malformed(what));
            }
            let (head, tail) = rest.split_at(n);
            rest = tail;
            Ok(head)
        };
        if take(1, "empty")? != [FORMAT] {
            return Err(KeyError::Malformed("unknown format version"));
        }
        let len = |b: &[u8]| usize::from(u16::from_be_bytes([b[0], b[1]]));
        let id_len = len(take(2, "truncated key id length")?);
        let key_id = String::from_utf8(take(id_len, "truncated key id")?.to_vec())
            .map_err(|_| KeyError::Malformed("key id is not UTF-8"))?;
        let blob_len = len(take(2, "truncated wrapped key length")?);
        let blob = take(blob_len, "truncated wrapped key")?.to_vec();
        let nonce: [u8; 12] = take(12, "truncated nonce")?
            .try_into()
            .map_err(|_| KeyError::Malformed("nonce"))?;
        if rest.len() < 16 {
            return Err(KeyError::Malformed("ciphertext shorter than its tag"));
        }
        Ok(Sealed {
            wrapped_key: WrappedKey { key_id, blob },
            nonce,
            ciphertext: rest.to_vec(),
        })
    }
}

/// Seals `plaintext` for the record described by `context`.
pub async fn seal(
    keys: &dyn KeyService,
    context: &EncryptionContext,
    plaintext: &[u8],
) -> Result<Sealed, KeyError> {
    let data_key = keys.generate_data_key(context).await?;
    let mut nonce = [0u8; 12];
    OsRng.fill_bytes(&mut nonce);
    let ciphertext = aes_256_gcm_seal(&data_key.plaintext, &nonce, &context.to_aad(), plaintext);
    Ok(Sealed {
        wrapped_key: data_key.wrapped,
        nonce,
        ciphertext,
    })
    // `data_key.plaintext` is zeroised here, on drop.
}

/// Opens a record sealed for `context`.
pub async fn open(
    keys: &dyn KeyService,
    context: &EncryptionContext,
    sealed: &Sealed,
) -> Result<Zeroizing<Vec<u8>>, KeyError> {
    let data_key = keys.decrypt_data_key(&sealed.wrapped_key, context).await?;
    aes_256_gcm_open(
        &data_key.plaintext,
        &sealed.nonce,
        &context.to_aad(),
        &sealed.ciphertext,
    )
    .map(Zeroizing::new)
}

/// The keyed hash a store indexes a PAN by (never the PAN itself), hex.
pub async fn pan_lookup_hash(keys: &dyn KeyService, pan: &str) -> Result<String, KeyError> {
    let mac = keys.mac(&MacPurpose::PanLookup, pan.as_bytes()).await?;
    Ok(mac.iter().map(|b| format!("{b:02x}")).collect())
}
