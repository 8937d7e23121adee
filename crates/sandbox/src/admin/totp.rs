//! Time-based one-time passwords (RFC 6238, on RFC 4226's HOTP): the admin endpoint's
//! second factor. HMAC-SHA-1, 30-second steps from the Unix epoch, six digits — what
//! every authenticator app reads from an `otpauth://` URI.
//!
//! A code is accepted for its own step and the one before or after (clock drift, a code
//! typed as it changes), and once only: a code whose step is not later than the last
//! one accepted is refused, so an overheard code cannot be replayed.

use hmac::{Hmac, Mac};
use sha1::Sha1;
use zeroize::Zeroizing;

/// Seconds per step.
pub const STEP_SECONDS: u64 = 30;
/// Digits per code.
pub const DIGITS: u32 = 6;
/// Steps either side of now a code may come from.
const DRIFT_STEPS: u64 = 1;
/// Bytes of secret `Totp::generate` draws (RFC 4226 recommends 160 bits).
const SECRET_BYTES: usize = 20;

/// A TOTP secret, and the last step a code was accepted for.
pub struct Totp {
    secret: Zeroizing<Vec<u8>>,
    last_accepted: Option<u64>,
}

impl std::fmt::Debug for Totp {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Totp(<secret>)")
    }
}

impl Totp {
    /// A fresh random secret.
    pub fn generate() -> Totp {
        use rand_core::{OsRng, RngCore};
        let mut secret = Zeroizing::new(vec![0u8; SECRET_BYTES]);
        OsRng.fill_bytes(&mut secret);
        Totp::from_secret(secret.to_vec())
    }

    pub fn from_secret(secret: Vec<u8>) -> Totp {
        Totp {
            secret: Zeroizing::new(secret),
            last_accepted: None,
        }
    }

    /// The secret (to seal it at enrolment).
    pub fn secret(&self) -> &[u8] {
        &self.secret
    }

    /// The code for Unix time `unix_seconds`, with `digits` digits.
    pub fn code_at(&self, unix_seconds: u64, digits: u32) -> String {
        hotp(&self.secret, unix_seconds / STEP_SECONDS, digits)
    }

    /// Whether `code` is right at `unix_seconds` and was not used before; an accepted
    /// code's step becomes the last one accepted.
    pub fn accept(&mut self, code: &str, unix_seconds: u64) -> bool {
        let code = code.trim();
        if code.len() != DIGITS as usize || !code.bytes().all(|b| b.is_ascii_digit()) {
            return false;
        }
        let now = unix_seconds / STEP_SECONDS;
        let first = now.saturating_sub(DRIFT_STEPS);
        let matched = (first..=now + DRIFT_STEPS).find(|&step| {
            let expected = hotp(&self.secret, step, DIGITS);
            // Constant time: the comparison must not tell how many digits were right.
            expected
                .bytes()
                .zip(code.bytes())
                .fold(0u8, |acc, (a, b)| acc | (a ^ b))
                == 0
        });
        match matched {
            Some(step) if self.last_accepted.is_none_or(|last| step > last) => {
                self.last_accepted = Some(step);
                true
            }
            _ => false,
        }
    }

    /// The `otpauth://` URI an authenticator app enrols from (often shown as a QR code).
    pub fn uri(&self, account: &str, issuer: &str) -> String {
        let secret = data_encoding::BASE32_NOPAD.encode(&self.secret);
        let label: String = form_escape(&format!("{issuer}:{account}"));
        format!(
            "otpauth://totp/{label}?secret={secret}&issuer={}&algorithm=SHA1&digits={DIGITS}&period={STEP_SECONDS}",
            form_escape(issuer)
        )
    }

    /// The secret an `otpauth://` URI carries (what a test or a second device enrols).
    pub fn from_uri(uri: &str) -> Option<Totp> {
        let query = uri.strip_prefix("otpauth://totp/")?.split_once('?')?.1;
        let secret = query
            .split('&')
            .find_map(|pair| pair.strip_prefix("secret="))?;
        data_encoding::BASE32_NOPAD
            .decode(secret.as_bytes())
            .ok()
            .map(Totp::from_secret)
    }
}

/// RFC 4226's HOTP: HMAC-SHA-1 of the big-endian counter, dynamically truncated.
fn hotp(secret: &[u8], counter: u64, digits: u32) -> String {
    let Ok(mut mac) = Hmac::<Sha1>::new_from_slice(secret) else {
        // HMAC takes a key of any length; this cannot happen.
        return String::new();
    };
    mac.update(&counter.to_be_bytes());
    let digest = mac.finalize().into_bytes();
    let offset = usize::from(digest[19] & 0x0f);
    let binary = u32::from_be_bytes([
        digest[offset] & 0x7f,
        digest[offset + 1],
        digest[offset + 2],
        digest[offset + 3],
    ]);
    let code = u64::from(binary) % 10u64.pow(digits);
    format!("{code:0width$}", width = digits as usize)
}

/// Percent-encodes what a URI label or query value may not hold as is.
fn form_escape(text: &str) -> String {
    text.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => {
                char::from(b).to_string()
            }
            b':' => ":".to_owned(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// RFC 6238 Appendix B, the SHA-1 rows (secret "12345678901234567890", 8 digits).
    #[test]
    fn rfc_6238_vectors() {
        let totp = Totp::from_secret(b"12345678901234567890".to_vec());
        for (time, code) in [
            (59, "94287082"),
            (1_111_111_109, "07081804"),
            (1_111_111_111, "14050471"),
            (1_234_567_890, "89005924"),
            (2_000_000_000, "69279037"),
            (20_000_000_000, "65353130"),
        ] {
            assert_eq!(totp.code_at(time, 8), code, "T = {time}");
        }
    }

    /// RFC 4226 Appendix D: HOTP values for counters 0 and 9 (6 digits).
    #[test]
    fn rfc_4226_vectors() {
        assert_eq!(hotp(b"12345678901234567890", 0, 6), "755224");
        assert_eq!(hotp(b"12345678901234567890", 9, 6), "520489");
    }

    #[test]
    fn a_code_is_accepted_near_its_time_and_once() {
        let now = 1_800_000_000;
        let mut totp = Totp::from_secret(b"12345678901234567890".to_vec());
        let previous = totp.code_at(now - STEP_SECONDS, DIGITS);
        let current = totp.code_at(now, DIGITS);
        let stale = totp.code_at(now - 3 * STEP_SECONDS, DIGITS);
        assert!(!totp.accept(&stale, now), "three steps old");
        assert!(!totp.accept("12345", now), "too short");
        assert!(!totp.accept("abcdef", now), "not digits");
        assert!(totp.accept(&previous, now), "one step of drift");
        assert!(totp.accept(&current, now));
        assert!(!totp.accept(&current, now), "a replay");
        assert!(!totp.accept(&previous, now), "older than the last accepted");
    }

    #[test]
    fn the_uri_carries_the_secret() {
        let totp = Totp::generate();
        let uri = totp.uri("admin", "threeds sandbox");
        assert!(
            uri.starts_with("otpauth://totp/threeds%20sandbox:admin?secret="),
            "{uri}"
        );
        assert!(uri.ends_with("&algorithm=SHA1&digits=6&period=30"), "{uri}");
        let back = Totp::from_uri(&uri).unwrap();
        assert_eq!(back.secret(), totp.secret());
    }
}
