//! The Concat KDF of NIST SP 800-56A (one-step, SHA-256), as RFC 7518 §4.6 uses it and
//! as 3DS uses it (`docs/protocol.md` §6.1, §6.3).

use sha2::{Digest, Sha256};
use zeroize::Zeroizing;

/// The general form: `OtherInfo = AlgorithmID ‖ PartyUInfo ‖ PartyVInfo ‖ SuppPubInfo`,
/// each of the first three prefixed with its 32-bit big-endian length, SuppPubInfo the
/// key length in bits. Returns `key_bits / 8` bytes.
pub fn concat_kdf_sha256(
    z: &[u8],
    algorithm_id: &[u8],
    party_u: &[u8],
    party_v: &[u8],
    key_bits: u32,
) -> Zeroizing<Vec<u8>> {
    let len = (key_bits as usize).div_ceil(8);
    let mut out = Zeroizing::new(Vec::with_capacity(len + 32));
    let mut round: u32 = 1;
    while out.len() < len {
        let mut hash = Sha256::new();
        hash.update(round.to_be_bytes());
        hash.update(z);
        for part in [algorithm_id, party_u, party_v] {
            hash.update((part.len() as u32).to_be_bytes());
            hash.update(part);
        }
        hash.update(key_bits.to_be_bytes());
        out.extend_from_slice(&hash.finalize());
        round += 1;
    }
    out.truncate(len);
    out
}

/// The 3DS form: AlgorithmID and PartyUInfo empty, `party_v` the directory server id
/// (device data) or the SDK reference number (session key), 256 bits.
pub fn three_ds_kdf(z: &[u8], party_v: &[u8]) -> Zeroizing<[u8; 32]> {
    let derived = concat_kdf_sha256(z, b"", b"", party_v, 256);
    let mut key = Zeroizing::new([0u8; 32]);
    key.copy_from_slice(&derived);
    key
}
