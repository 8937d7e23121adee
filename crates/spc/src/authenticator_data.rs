//! WebAuthn authenticator data: `rpIdHash (32) ‖ flags (1) ‖ signCount (4, big-endian)`,
//! then, when the AT flag is set, the attested credential data
//! (`aaguid (16) ‖ idLength (2) ‖ id ‖ COSE key`).

use crate::verify::Failure;

pub(crate) const USER_PRESENT: u8 = 0x01;
pub(crate) const USER_VERIFIED: u8 = 0x04;
pub(crate) const ATTESTED: u8 = 0x40;

/// The parts of authenticator data the verifier reads.
#[derive(Debug)]
pub(crate) struct AuthenticatorData<'a> {
    pub rp_id_hash: &'a [u8],
    pub flags: u8,
    pub sign_count: u32,
    /// With the AT flag: the credential id and the bytes from its COSE key on.
    pub attested: Option<(&'a [u8], &'a [u8])>,
}

impl AuthenticatorData<'_> {
    pub fn parse(bytes: &[u8]) -> Result<AuthenticatorData<'_>, Failure> {
        let malformed = |why: &str| Failure::Malformed {
            field: "authenticatorData",
            why: why.to_owned(),
        };
        if bytes.len() < 37 {
            return Err(malformed(&format!(
                "{} bytes; at least 37 are needed",
                bytes.len()
            )));
        }
        let (rp_id_hash, rest) = bytes.split_at(32);
        let flags = rest[0];
        let sign_count = u32::from_be_bytes([rest[1], rest[2], rest[3], rest[4]]);
        let rest = &rest[5..];
        let attested = if flags & ATTESTED == 0 {
            None
        } else {
            if rest.len() < 18 {
                return Err(malformed("the attested credential data is cut short"));
            }
            let length = usize::from(u16::from_be_bytes([rest[16], rest[17]]));
            let rest = &rest[18..];
            if rest.len() < length {
                return Err(malformed("the credential id is cut short"));
            }
            Some(rest.split_at(length))
        };
        Ok(AuthenticatorData {
            rp_id_hash,
            flags,
            sign_count,
            attested,
        })
    }
}
