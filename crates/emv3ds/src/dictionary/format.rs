//! String formats of data elements and their checks.
//!
//! Checks are hand-written rather than regular expressions: each is a single pass over
//! the bytes, which keeps validation of a whole AReq within a few microseconds.

use crate::codes::{CodeCheck, CodeTable};
use crate::version::{MessageVersion, looks_like_version};

/// The format of a string-valued data element.
#[derive(Debug, Clone, Copy)]
pub enum Format {
    /// Any text of `min..=max` characters.
    Text {
        min: u16,
        max: u16,
    },
    /// ASCII digits, `min..=max` of them.
    Digits {
        min: u8,
        max: u8,
    },
    /// Exactly `len` digits whose value lies in `min..=max` (e.g. `sdkMaxTimeout`:
    /// two digits, at least 05).
    NumberIn {
        len: u8,
        min: u32,
        max: u32,
    },
    /// 1–3 digits, value `min..=max` (e.g. `purchaseInstalData`: 2–999).
    CountIn {
        min: u32,
        max: u32,
    },
    /// A code of an enumeration (known per version, or DS-reserved where allowed).
    Code(&'static CodeTable),
    /// One of a short fixed list. A list of two-digit codes also accepts the DS-reserved
    /// range 80–99, which every such list of the specification reserves (and which the
    /// public 2.2.0 tables' regexes allow).
    OneOf(&'static [&'static str]),
    /// A canonical 36-character UUID (8-4-4-4-12 hex digits).
    Uuid,
    /// An absolute `http`/`https` URL of at most `max` characters.
    Url {
        max: u16,
    },
    /// An absolute `https` URL of at most `max` characters (2.3.1 requires https for
    /// several URLs).
    HttpsUrl {
        max: u16,
    },
    /// An absolute URL of any scheme, at most `max` characters: an app's deep link
    /// (`threeDSRequestorAppURL`), which no sandbox page ever uses as a link or action.
    AppUrl {
        max: u16,
    },
    /// An `https` origin (scheme, host, optional port; no path).
    HttpsOrigin,
    Date(DateFormat),
    /// Standard base64 with padding, exactly `len` characters.
    Base64 {
        len: u16,
    },
    /// Standard base64 of `min..=max` characters.
    Base64Max {
        max: u16,
    },
    /// base64url without padding (padding tolerated), at most `max` characters.
    Base64Url {
        max: u32,
    },
    /// A JWS in compact serialisation (three base64url parts).
    Jws {
        max: u32,
    },
    /// A JWE in compact serialisation (five base64url parts, the second may be empty).
    Jwe {
        max: u32,
    },
    /// A protocol version string (`2.2.0`).
    Version,
    /// ISO 4217 numeric currency code: three digits, not 955–964 or 999.
    Currency,
    /// ISO 3166-1 numeric country code: three digits.
    Country,
    /// An e-mail address: `local@domain`, at most 254 characters.
    Email,
    /// An IPv4 or IPv6 address.
    Ip,
}

/// The date and time layouts the protocol uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DateFormat {
    /// `YYMM` (card expiry).
    Yymm,
    /// `YYYYMMDD`.
    Yyyymmdd,
    /// `YYYYMMDDHHMM`.
    Yyyymmddhhmm,
    /// `YYYYMMDDHHMMSS` (UTC).
    Yyyymmddhhmmss,
}

impl DateFormat {
    pub fn pattern(self) -> &'static str {
        match self {
            DateFormat::Yymm => "YYMM",
            DateFormat::Yyyymmdd => "YYYYMMDD",
            DateFormat::Yyyymmddhhmm => "YYYYMMDDHHMM",
            DateFormat::Yyyymmddhhmmss => "YYYYMMDDHHMMSS",
        }
    }
}

/// Why a value failed its format, in words for `errorDescription`.
pub type FormatError = String;

impl Format {
    /// Checks `s` against the format for `version`.
    pub fn check(&self, s: &str, version: MessageVersion) -> Result<(), FormatError> {
        match *self {
            Format::Text { min, max } => {
                let n = s.chars().count();
                if n < min as usize || n > max as usize {
                    return Err(format!("length {n}, expected {min} to {max} characters"));
                }
                Ok(())
            }
            Format::Digits { min, max } => {
                digits(s)?;
                let n = s.len();
                if n < min as usize || n > max as usize {
                    return Err(format!("{n} digits, expected {min} to {max}"));
                }
                Ok(())
            }
            Format::NumberIn { len, min, max } => {
                digits(s)?;
                if s.len() != len as usize {
                    return Err(format!("expected exactly {len} digits"));
                }
                in_range(s, min, max)
            }
            Format::CountIn { min, max } => {
                digits(s)?;
                if s.len() > 3 {
                    return Err("expected at most 3 digits".into());
                }
                in_range(s, min, max)
            }
            Format::Code(table) => match table.check(s, version) {
                CodeCheck::Known | CodeCheck::Reserved => Ok(()),
                CodeCheck::TooNew(since) => Err(format!(
                    "value {s:?} is defined from {since} on, not in {version}"
                )),
                CodeCheck::Unknown => Err(format!("value {s:?} is not a {} code", table.name)),
            },
            Format::OneOf(list) => {
                if list.contains(&s) || (two_digit_codes(list) && crate::codes::is_ds_reserved(s)) {
                    Ok(())
                } else {
                    Err(format!("value {s:?} is not one of {}", list.join(", ")))
                }
            }
            Format::Uuid => {
                if is_uuid(s) {
                    Ok(())
                } else {
                    Err("expected a canonical 36-character UUID".into())
                }
            }
            Format::Url { max } => url(s, max, false),
            Format::HttpsUrl { max } => url(s, max, true),
            Format::AppUrl { max } => {
                if s.len() > max as usize {
                    return Err(format!("length {}, at most {max}", s.len()));
                }
                if s.bytes()
                    .any(|b| b.is_ascii_whitespace() || b.is_ascii_control())
                {
                    return Err("a URL with white space or control characters".into());
                }
                url::Url::parse(s)
                    .map(drop)
                    .map_err(|e| format!("not an absolute URL ({e})"))
            }
            Format::HttpsOrigin => {
                url(s, 2048, true)?;
                let rest = &s["https://".len()..];
                if rest.contains('/') || rest.contains('?') || rest.contains('#') {
                    return Err("expected an origin (no path, query or fragment)".into());
                }
                Ok(())
            }
            Format::Date(f) => date(s, f),
            Format::Base64 { len } => {
                if s.len() != len as usize {
                    return Err(format!("length {}, expected {len}", s.len()));
                }
                base64(s)
            }
            Format::Base64Max { max } => {
                if s.is_empty() || s.len() > max as usize {
                    return Err(format!("length {}, expected 1 to {max}", s.len()));
                }
                base64(s)
            }
            Format::Base64Url { max } => {
                if s.is_empty() || s.len() > max as usize {
                    return Err(format!("length {}, expected 1 to {max}", s.len()));
                }
                base64url(s.trim_end_matches('='))
            }
            Format::Jws { max } => compact_jose(s, max, 3, false),
            Format::Jwe { max } => compact_jose(s, max, 5, true),
            Format::Version => {
                if looks_like_version(s) {
                    Ok(())
                } else {
                    Err("expected a version such as 2.2.0".into())
                }
            }
            Format::Currency => {
                digits(s)?;
                if s.len() != 3 {
                    return Err("expected a 3-digit ISO 4217 numeric code".into());
                }
                let n: u32 = s.parse().unwrap_or(0);
                if (955..=964).contains(&n) || n == 999 {
                    return Err(format!(
                        "{s} is an ISO 4217 code for a fund, metal or test (955–964, 999), not a currency"
                    ));
                }
                Ok(())
            }
            Format::Country => {
                digits(s)?;
                if s.len() != 3 {
                    return Err("expected a 3-digit ISO 3166-1 numeric code".into());
                }
                Ok(())
            }
            Format::Email => {
                let ok = s.len() <= 254
                    && s.split_once('@').is_some_and(|(l, d)| {
                        !l.is_empty() && !d.is_empty() && !d.contains('@') && !s.contains(' ')
                    });
                if ok {
                    Ok(())
                } else {
                    Err("expected an e-mail address".into())
                }
            }
            Format::Ip => {
                if s.len() <= 45 && s.parse::<std::net::IpAddr>().is_ok() {
                    Ok(())
                } else {
                    Err("expected an IPv4 or IPv6 address".into())
                }
            }
        }
    }

    /// A short description for the generated reference.
    pub fn describe(&self) -> String {
        match *self {
            Format::Text { min, max } => format!("text, {min}–{max} characters"),
            Format::Digits { min, max } if min == max => format!("{min} digits"),
            Format::Digits { min, max } => format!("{min}–{max} digits"),
            Format::NumberIn { len, min, max } => {
                format!("{len} digits, {min:0w$}–{max:0w$}", w = len as usize)
            }
            Format::CountIn { min, max } => format!("1–3 digits, {min}–{max}"),
            Format::Code(t) => format!("code ({})", t.name),
            Format::OneOf(l) if two_digit_codes(l) => {
                format!("one of {}, or 80–99 (DS use)", l.join(", "))
            }
            Format::OneOf(l) => format!("one of {}", l.join(", ")),
            Format::Uuid => "UUID (36 characters)".into(),
            Format::Url { max } => format!("URL, at most {max} characters"),
            Format::HttpsUrl { max } => format!("https URL, at most {max} characters"),
            Format::AppUrl { max } => format!("absolute URL, at most {max} characters"),
            Format::HttpsOrigin => "https origin".into(),
            Format::Date(d) => d.pattern().into(),
            Format::Base64 { len } => format!("base64, {len} characters"),
            Format::Base64Max { max } => format!("base64, at most {max} characters"),
            Format::Base64Url { max } => format!("base64url, at most {max} characters"),
            Format::Jws { max } => format!("JWS compact, at most {max} characters"),
            Format::Jwe { max } => format!("JWE compact, at most {max} characters"),
            Format::Version => "protocol version".into(),
            Format::Currency => "ISO 4217 numeric".into(),
            Format::Country => "ISO 3166-1 numeric".into(),
            Format::Email => "e-mail address".into(),
            Format::Ip => "IP address".into(),
        }
    }
}

/// Whether a list is of two-digit codes (and so reserves 80–99 for DS use).
fn two_digit_codes(list: &[&str]) -> bool {
    list.iter()
        .all(|c| c.len() == 2 && c.bytes().all(|b| b.is_ascii_digit()))
}

fn digits(s: &str) -> Result<(), FormatError> {
    if !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()) {
        Ok(())
    } else {
        Err("expected digits only".into())
    }
}

fn in_range(s: &str, min: u32, max: u32) -> Result<(), FormatError> {
    let n: u32 = s.parse().map_err(|_| "not a number".to_owned())?;
    if n < min || n > max {
        return Err(format!("value {n} is outside {min}–{max}"));
    }
    Ok(())
}

/// Whether `s` is a canonical UUID: 8-4-4-4-12 hexadecimal digits.
pub fn is_uuid(s: &str) -> bool {
    let b = s.as_bytes();
    b.len() == 36
        && b.iter().enumerate().all(|(i, c)| match i {
            8 | 13 | 18 | 23 => *c == b'-',
            _ => c.is_ascii_hexdigit(),
        })
}

fn url(s: &str, max: u16, https_only: bool) -> Result<(), FormatError> {
    if s.len() > max as usize {
        return Err(format!("length {}, at most {max}", s.len()));
    }
    safe_url(s, https_only)
}

/// Whether `s` is a URL the sandbox lets reach a page, a redirect or a form `action`:
/// an absolute `https` URL with a host, or `http` on a loopback host (`localhost`,
/// `*.localhost`, 127.0.0.0/8, `[::1]`) where `http` is allowed at all; no user
/// name or password, no white space or control characters (which URL parsers drop
/// silently, turning `java\nscript:` into `javascript:`). Decision: the specification
/// allows `http` notification URLs before 2.3.1; the sandbox takes them on loopback
/// only, so no page it serves posts card data in clear across a network.
pub fn safe_url(s: &str, https_only: bool) -> Result<(), FormatError> {
    if s.bytes()
        .any(|b| b.is_ascii_whitespace() || b.is_ascii_control())
    {
        return Err("a URL with white space or control characters".into());
    }
    let parsed = url::Url::parse(s).map_err(|e| format!("not an absolute URL ({e})"))?;
    let Some(host) = parsed.host() else {
        return Err("expected an absolute URL with a host".into());
    };
    if !parsed.username().is_empty() || parsed.password().is_some() {
        return Err("a URL with a user name or password".into());
    }
    match parsed.scheme() {
        "https" => Ok(()),
        "http" if https_only => Err("expected an https URL".into()),
        "http" if is_loopback(&host) => Ok(()),
        "http" => Err("expected an https URL (http only on a loopback host)".into()),
        other => Err(format!(
            "expected an https URL, not a{} {other}: URL",
            if other.starts_with(['a', 'e', 'i', 'o', 'u']) {
                "n"
            } else {
                ""
            }
        )),
    }
}

fn is_loopback(host: &url::Host<&str>) -> bool {
    match host {
        url::Host::Domain(name) => {
            let name = name.trim_end_matches('.');
            name.eq_ignore_ascii_case("localhost")
                || name.to_ascii_lowercase().ends_with(".localhost")
        }
        url::Host::Ipv4(ip) => ip.is_loopback(),
        url::Host::Ipv6(ip) => ip.is_loopback(),
    }
}

fn date(s: &str, f: DateFormat) -> Result<(), FormatError> {
    let bad = || Err(format!("expected a date as {}", f.pattern()));
    let len = match f {
        DateFormat::Yymm => 4,
        DateFormat::Yyyymmdd => 8,
        DateFormat::Yyyymmddhhmm => 12,
        DateFormat::Yyyymmddhhmmss => 14,
    };
    if s.len() != len || !s.bytes().all(|b| b.is_ascii_digit()) {
        return bad();
    }
    let n = |r: std::ops::Range<usize>| s[r].parse::<u32>().unwrap_or(99);
    if f == DateFormat::Yymm {
        return if (1..=12).contains(&n(2..4)) {
            Ok(())
        } else {
            bad()
        };
    }
    let (year, month, day) = (n(0..4), n(4..6), n(6..8));
    let leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
    let days = match month {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        2 if leap => 29,
        2 => 28,
        _ => return bad(),
    };
    if day == 0 || day > days {
        return bad();
    }
    if len >= 12 && (n(8..10) > 23 || n(10..12) > 59) {
        return bad();
    }
    if len == 14 && n(12..14) > 59 {
        return bad();
    }
    Ok(())
}

fn base64(s: &str) -> Result<(), FormatError> {
    let body = s.trim_end_matches('=');
    let pad = s.len() - body.len();
    let ok = pad <= 2
        && s.len().is_multiple_of(4)
        && body
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'+' || b == b'/');
    if ok {
        Ok(())
    } else {
        Err("expected standard base64".into())
    }
}

fn base64url(s: &str) -> Result<(), FormatError> {
    if s.bytes()
        .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        && s.len() % 4 != 1
    {
        Ok(())
    } else {
        Err("expected base64url".into())
    }
}

fn compact_jose(s: &str, max: u32, parts: usize, allow_empty: bool) -> Result<(), FormatError> {
    let what = if parts == 3 { "JWS" } else { "JWE" };
    if s.len() > max as usize {
        return Err(format!("length {}, at most {max}", s.len()));
    }
    let mut n = 0;
    for (i, part) in s.split('.').enumerate() {
        n += 1;
        // The header must be present; a JWE's encrypted key is empty for `dir`/`ECDH-ES`.
        if part.is_empty() && !(allow_empty && i == 1) {
            return Err(format!(
                "expected a compact {what} (part {} is empty)",
                i + 1
            ));
        }
        if !part.is_empty() && base64url(part).is_err() {
            return Err(format!(
                "expected a compact {what} (part {} is not base64url)",
                i + 1
            ));
        }
    }
    if n != parts {
        return Err(format!(
            "expected a compact {what} with {parts} parts, found {n}"
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::codes::TransStatus;
    use MessageVersion::*;

    fn ok(f: Format, s: &str) -> bool {
        f.check(s, V2_2_0).is_ok()
    }

    #[test]
    fn dates() {
        let f = Format::Date(DateFormat::Yyyymmddhhmmss);
        assert!(ok(f, "20240229235959"));
        assert!(!ok(f, "20230229120000"), "not a leap year");
        assert!(!ok(f, "20241301120000"));
        assert!(!ok(f, "20240101246000"));
        assert!(!ok(f, "2024010112000"));
        assert!(ok(Format::Date(DateFormat::Yymm), "2712"));
        assert!(!ok(Format::Date(DateFormat::Yymm), "2713"));
        assert!(ok(Format::Date(DateFormat::Yyyymmddhhmm), "201711071307"));
    }

    #[test]
    fn numbers() {
        let timeout = Format::NumberIn {
            len: 2,
            min: 5,
            max: 99,
        };
        assert!(ok(timeout, "05"));
        assert!(!ok(timeout, "04"));
        assert!(!ok(timeout, "5"));
        let instal = Format::CountIn { min: 2, max: 999 };
        assert!(ok(instal, "2") && ok(instal, "999"));
        assert!(!ok(instal, "1") && !ok(instal, "1000"));
        assert!(!ok(Format::Digits { min: 13, max: 19 }, "41111111111x1111"));
    }

    #[test]
    fn identifiers_and_urls() {
        assert!(ok(Format::Uuid, "8a880dc0-d2d2-4067-bcb1-b08d1690b26e"));
        assert!(!ok(Format::Uuid, "8a880dc0d2d24067bcb1b08d1690b26e"));
        assert!(!ok(Format::Uuid, "8a880dc0-d2d2-4067-bcb1-b08d1690b26g"));
        assert!(ok(Format::Url { max: 256 }, "http://localhost:8080/notify"));
        for refused in [
            "javascript:alert(1)",
            "JAVASCRIPT:alert(document.domain)",
            "java\nscript:alert(1)",
            "data:text/html,<script>alert(1)</script>",
            "http://shop.example/notify",
            "http://10.0.0.1/notify",
            "https://user:pw@shop.example/",
            "//shop.example/notify",
            "/notify",
        ] {
            assert!(!ok(Format::Url { max: 256 }, refused), "{refused}");
        }
        for taken in [
            "https://shop.example/notify?x=1",
            "http://127.0.0.1:9/n",
            "http://[::1]:9/n",
            "http://acs.localhost/n",
        ] {
            assert!(ok(Format::Url { max: 256 }, taken), "{taken}");
        }
        assert!(!ok(
            Format::HttpsUrl { max: 256 },
            "http://localhost/notify"
        ));
        assert!(!ok(
            Format::HttpsUrl { max: 256 },
            "http://localhost/notify"
        ));
        assert!(!ok(Format::Url { max: 256 }, "ftp://x"));
        assert!(!ok(Format::Url { max: 256 }, "https://"));
        assert!(ok(Format::HttpsOrigin, "https://shop.example:8443"));
        assert!(!ok(Format::HttpsOrigin, "https://shop.example/pay"));
    }

    #[test]
    fn encodings() {
        assert!(ok(
            Format::Base64 { len: 28 },
            "mK225wGt2bLnnLB0UlRky0oHLnU="
        ));
        assert!(!ok(
            Format::Base64 { len: 28 },
            "mK225wGt2bLnnLB0UlRky0oHLnU"
        ));
        assert!(ok(Format::Jws { max: 100 }, "eyJh.eyJi.c2ln"));
        assert!(!ok(Format::Jws { max: 100 }, "eyJh.eyJi"));
        assert!(ok(Format::Jwe { max: 100 }, "eyJh..aXY.Y3Q.dGFn"));
        assert!(!ok(Format::Jwe { max: 100 }, "eyJh..aXY.Y3Q"));
        assert!(ok(Format::Currency, "978"));
        assert!(!ok(Format::Currency, "999"));
        assert!(!ok(Format::Currency, "960"));
    }

    #[test]
    fn two_digit_lists_accept_the_ds_range() {
        let list = Format::OneOf(&["01", "02", "03"]);
        assert!(ok(list, "03") && ok(list, "80") && ok(list, "99"));
        assert!(!ok(list, "04") && !ok(list, "79"));
        let letters = Format::OneOf(&["Y", "N"]);
        assert!(!ok(letters, "80"));
    }

    #[test]
    fn codes_follow_the_version() {
        let f = Format::Code(&TransStatus::TABLE);
        assert!(f.check("D", V2_2_0).is_ok());
        assert!(f.check("D", V2_1_0).is_err());
        assert!(f.check("S", V2_3_1).is_ok());
    }
}
