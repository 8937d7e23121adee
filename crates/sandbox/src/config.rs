//! The ecosystem file (`sandbox.toml`): which schemes exist, their card ranges, the
//! issuer's cards, and the 3DS Server's and ACS's identities. The shipped default is
//! built in ([`Ecosystem::shipped`]); users edit a copy (`threeds config`).
//!
//! Reading checks everything a component would trip on later — versions, card numbers
//! (digits, Luhn), overlapping ranges, cards outside their scheme's ranges, outcomes
//! this version does not implement — and names the place of each mistake.

use std::fmt;
use std::path::Path;

use acs::Outcome;
use acs::issuer::{Card, IssuerData, Scheme};
use acs::risk::Rules;
use emv3ds::MessageVersion;
use emv3ds::card_ranges::{PanRange, RangeEntry, Registry};
use emv3ds::values::is_card_number;
use serde::Deserialize;

/// The shipped ecosystem file.
pub const SHIPPED: &str = include_str!("../sandbox.toml");

/// What is wrong with an ecosystem file, and where.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{origin}: {at}{sep}{why}", sep = if at.is_empty() { "" } else { ": " })]
pub struct ConfigError {
    /// The file (or `shipped sandbox.toml`).
    pub origin: String,
    /// The element at fault, e.g. `schemes[0].cards[2].pan`.
    pub at: String,
    pub why: String,
}

/// The whole file.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Ecosystem {
    pub threeds_server: ServerSection,
    pub acs: AcsSection,
    pub schemes: Vec<SchemeSection>,
    /// Where it was read from (not part of the file).
    #[serde(skip)]
    pub origin: Origin,
}

/// Where an ecosystem was read from, and a hash of exactly what was read: the sandbox
/// records it in its manifest, and `threeds doctor` compares the file with it.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Origin {
    /// The file (`None`: the shipped one, built into the binary).
    pub file: Option<std::path::PathBuf>,
    /// SHA-256 of the text, hex.
    pub sha256: String,
}

/// SHA-256 of `text`, hex.
pub fn sha256_hex(text: &[u8]) -> String {
    use sha2::{Digest, Sha256};
    Sha256::digest(text)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ServerSection {
    pub reference_number: String,
    pub operator_id: String,
    pub versions: Vec<String>,
    pub requestor_id: String,
    pub requestor_name: String,
    pub requestor_url: String,
    #[serde(default = "default_refresh")]
    pub range_refresh_secs: u64,
    /// Where DSs reach the 3DS Server (RReq endpoint base); derived from ports if absent.
    pub url: Option<String>,
    /// The common name of the 3DS Server's TLS client certificate, which the DSs take
    /// PReqs and AReqs from; the sandbox 3DS Server's if absent.
    pub identity: Option<String>,
    /// The common names of the requestor certificates the requestor API answers; the
    /// sandbox requestor's if absent.
    pub requestor_identities: Option<Vec<String>>,
}

impl ServerSection {
    /// Whom the DSs take PReqs and AReqs from.
    pub fn identity(&self) -> String {
        self.identity
            .clone()
            .unwrap_or_else(|| pki::names::THREEDS_SERVER.to_owned())
    }

    /// Whom the requestor API answers.
    pub fn requestor_identities(&self) -> Vec<String> {
        self.requestor_identities
            .clone()
            .unwrap_or_else(|| vec![pki::names::REQUESTOR.to_owned()])
    }
}

fn default_refresh() -> u64 {
    3600
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AcsSection {
    pub reference_number: String,
    #[serde(default = "default_limit")]
    pub frictionless_limit_minor: u64,
    /// The ACS's AReq endpoint as DSs call it; derived from ports if absent.
    pub url: Option<String>,
    /// The ACS's browser-facing site (challenge pages, 3DS Method, issuer app) as
    /// browsers reach it; `https://acs.localhost:PORT` if absent.
    pub site_url: Option<String>,
}

fn default_limit() -> u64 {
    Rules::default().frictionless_limit_minor
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SchemeSection {
    pub name: String,
    pub directory_server_id: String,
    pub reference_number: String,
    pub versions: Vec<String>,
    pub encryption_key: KeyType,
    pub eci: Eci,
    /// This scheme's DS as the 3DS Server calls it; derived from ports if absent.
    pub url: Option<String>,
    /// The common name of this DS's TLS client certificate (the 3DS Server takes its
    /// RReqs, the ACS its AReqs from it only); the sandbox DS's if absent.
    pub identity: Option<String>,
    #[serde(default)]
    pub ranges: Vec<RangeSection>,
    #[serde(default)]
    pub cards: Vec<CardSection>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
pub enum KeyType {
    #[serde(rename = "ec-p256")]
    EcP256,
    #[serde(rename = "rsa-2048")]
    Rsa2048,
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
#[allow(non_snake_case, reason = "the keys are the transStatus codes")]
pub struct Eci {
    pub Y: String,
    pub A: String,
    pub N: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RangeSection {
    pub start: String,
    pub end: String,
    pub acs_versions: Vec<String>,
    #[serde(default)]
    pub acs_info_ind: Vec<String>,
    pub three_ds_method_url: Option<String>,
    /// Offer the sandbox ACS's 3DS Method page for this range (when no
    /// `three_ds_method_url` is given).
    #[serde(default)]
    pub three_ds_method: bool,
    /// The ACS this range routes to; the sandbox's ACS if absent.
    pub acs_url: Option<String>,
    /// The common name of that ACS's TLS client certificate (RReqs are taken from it
    /// only); the sandbox ACS's if absent.
    pub acs_identity: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CardSection {
    pub pan: String,
    pub outcome: String,
    pub description: String,
    pub otp: Option<String>,
    /// SPC cards: register the shipped software authenticator's test credential.
    #[serde(default)]
    pub spc_test_credential: bool,
}

/// The common name on the sandbox ACS's TLS certificate.
pub const SANDBOX_ACS_IDENTITY: &str = pki::names::ACS;

impl SchemeSection {
    /// Whom the 3DS Server takes this scheme's RReqs from, and the ACS its AReqs.
    pub fn identity(&self) -> String {
        self.identity
            .clone()
            .unwrap_or_else(|| pki::names::directory_server(&self.name, &self.directory_server_id))
    }
}

/// The outcome name of a card in no range.
pub const NOT_ENROLLED: &str = "not-enrolled";

impl Ecosystem {
    /// The shipped default.
    pub fn shipped() -> Result<Ecosystem, ConfigError> {
        Ecosystem::parse(SHIPPED, "shipped sandbox.toml")
    }

    /// Reads and checks the file at `path`.
    pub fn load(path: &Path) -> Result<Ecosystem, ConfigError> {
        let origin = path.display().to_string();
        let text = std::fs::read_to_string(path).map_err(|e| ConfigError {
            origin: origin.clone(),
            at: String::new(),
            why: format!("cannot read: {e}"),
        })?;
        let mut ecosystem = Ecosystem::parse(&text, &origin)?;
        ecosystem.origin.file = Some(std::path::absolute(path).unwrap_or_else(|_| path.to_owned()));
        Ok(ecosystem)
    }

    /// Parses and checks `text`; `origin` names it in errors.
    pub fn parse(text: &str, origin: &str) -> Result<Ecosystem, ConfigError> {
        let mut ecosystem: Ecosystem = toml::from_str(text).map_err(|e| ConfigError {
            origin: origin.to_owned(),
            at: match e.span() {
                Some(span) => {
                    let before = &text[..span.start.min(text.len())];
                    let line = before.matches('\n').count() + 1;
                    let column = before.len() - before.rfind('\n').map_or(0, |i| i + 1) + 1;
                    format!("line {line}, column {column}")
                }
                None => String::new(),
            },
            why: e.message().trim_end().to_owned(),
        })?;
        ecosystem.check().map_err(|(at, why)| ConfigError {
            origin: origin.to_owned(),
            at,
            why,
        })?;
        ecosystem.origin.sha256 = sha256_hex(text.as_bytes());
        Ok(ecosystem)
    }

    /// Every rule of the file, with the place of the first broken one (`schemes[1].
    /// cards[0].pan`) and what is wrong.
    fn check(&self) -> Result<(), (String, String)> {
        versions(&self.threeds_server.versions, "threeds_server.versions")?;
        if self.schemes.is_empty() {
            return Err(("schemes".into(), "at least one scheme is needed".into()));
        }
        for (i, scheme) in self.schemes.iter().enumerate() {
            self.check_scheme(i, scheme)?;
            for (c, card) in scheme.cards.iter().enumerate() {
                self.check_card(scheme, card, &format!("schemes[{i}].cards[{c}]"))?;
            }
        }
        let mut pans: Vec<(&str, String)> = Vec::new();
        for (i, s) in self.schemes.iter().enumerate() {
            for (c, card) in s.cards.iter().enumerate() {
                let here = format!("schemes[{i}].cards[{c}].pan");
                if let Some((_, first)) = pans.iter().find(|(p, _)| *p == card.pan) {
                    return Err((here, format!("the same card as {first}")));
                }
                pans.push((&card.pan, here));
            }
        }
        Ok(())
    }

    /// The `i`-th scheme's own fields and card ranges: a file-name-safe name and an RID
    /// no other scheme has, versions, two-digit ECIs, ranges that read and do not
    /// overlap.
    fn check_scheme(&self, i: usize, scheme: &SchemeSection) -> Result<(), (String, String)> {
        let at = |what: &str| format!("schemes[{i}]{what}");
        let valid_name = !scheme.name.is_empty()
            && scheme
                .name
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
        if !valid_name {
            return Err((at(".name"), "use lowercase letters, digits and '-'".into()));
        }
        if let Some(j) = self.schemes[..i].iter().position(|s| {
            s.name == scheme.name || s.directory_server_id == scheme.directory_server_id
        }) {
            return Err((
                at(""),
                format!("same name or directory_server_id as schemes[{j}]"),
            ));
        }
        let id = &scheme.directory_server_id;
        if id.len() != 10 || !id.bytes().all(|b| b.is_ascii_alphanumeric()) {
            return Err((
                at(".directory_server_id"),
                "an RID is 10 letters or digits".into(),
            ));
        }
        versions(&scheme.versions, &at(".versions"))?;
        for (code, value) in [
            ("Y", &scheme.eci.Y),
            ("A", &scheme.eci.A),
            ("N", &scheme.eci.N),
        ] {
            if value.len() != 2 || !value.bytes().all(|b| b.is_ascii_digit()) {
                return Err((at(&format!(".eci.{code}")), "an ECI is two digits".into()));
            }
        }
        for (r, range) in scheme.ranges.iter().enumerate() {
            let at = |what: &str| format!("schemes[{i}].ranges[{r}]{what}");
            versions(&range.acs_versions, &at(".acs_versions"))?;
            if PanRange::new(&range.start, &range.end).is_none() {
                return Err((
                    at(""),
                    "start and end must be 13 to 19 digits, start not above end".into(),
                ));
            }
        }
        Registry::new(
            self.routes_of(scheme, "", "")
                .into_iter()
                .map(|r| r.range)
                .collect(),
        )
        .map_err(|e| (at(".ranges"), format!("{} ({})", e.why, e.detail)))?;
        Ok(())
    }

    /// A test card of `scheme`, at `place`: a card number, an outcome that exists, in
    /// one of its scheme's ranges (a not-enrolled card in none), the SPC credential
    /// only on an SPC card.
    fn check_card(
        &self,
        scheme: &SchemeSection,
        card: &CardSection,
        place: &str,
    ) -> Result<(), (String, String)> {
        let at = |what: &str| format!("{place}{what}");
        if !is_card_number(&card.pan) {
            return Err((
                at(".pan"),
                "not a card number (13 to 19 digits, Luhn check digit)".into(),
            ));
        }
        let covers = |r: &RangeSection| {
            PanRange::new(&r.start, &r.end).is_some_and(|r| r.contains(&card.pan))
        };
        let in_range = self.schemes.iter().any(|s| s.ranges.iter().any(covers));
        let own_range = scheme.ranges.iter().any(covers);
        if card.spc_test_credential && card.outcome != Outcome::Spc.name() {
            return Err((
                at(".spc_test_credential"),
                "only a card with outcome spc can have the SPC test credential".into(),
            ));
        }
        match card.outcome.as_str() {
            NOT_ENROLLED if in_range => Err((
                at(".pan"),
                "a not-enrolled card must be in no card range".into(),
            )),
            NOT_ENROLLED => Ok(()),
            outcome if Outcome::from_name(outcome).is_some() => match own_range {
                true => Ok(()),
                false => Err((
                    at(".pan"),
                    format!("not in any card range of scheme {}", scheme.name),
                )),
            },
            outcome => Err((
                at(".outcome"),
                format!(
                    "unknown outcome {outcome}; one of {}, {NOT_ENROLLED}",
                    Outcome::ALL.map(Outcome::name).join(", ")
                ),
            )),
        }
    }

    /// The scheme's card ranges as its DS routes them; ranges without their own ACS URL
    /// go to `default_acs_url`, and ranges with `three_ds_method = true` get the sandbox
    /// ACS's 3DS Method page under `acs_site`.
    pub fn routes_of(
        &self,
        scheme: &SchemeSection,
        default_acs_url: &str,
        acs_site: &str,
    ) -> Vec<directory_server::AcsRoute> {
        scheme
            .ranges
            .iter()
            .map(|r| directory_server::AcsRoute {
                range: RangeEntry {
                    start_range: r.start.clone(),
                    end_range: r.end.clone(),
                    acs_versions: r
                        .acs_versions
                        .iter()
                        .filter_map(|v| MessageVersion::parse(v))
                        .collect(),
                    acs_info_ind: r.acs_info_ind.clone(),
                    three_ds_method_url: r.three_ds_method_url.clone().or_else(|| {
                        r.three_ds_method
                            .then(|| format!("{}/3ds-method", acs_site.trim_end_matches('/')))
                    }),
                },
                acs_url: r
                    .acs_url
                    .clone()
                    .unwrap_or_else(|| default_acs_url.to_owned()),
                acs_identity: r
                    .acs_identity
                    .clone()
                    .unwrap_or_else(|| SANDBOX_ACS_IDENTITY.to_owned()),
            })
            .collect()
    }

    /// What the sandbox's ACS knows: every enrolled card routed to it, and each scheme's
    /// ECI convention.
    pub fn issuer_data(&self) -> IssuerData {
        let cards = self
            .schemes
            .iter()
            .flat_map(|s| &s.cards)
            .filter_map(|c| {
                Some(Card {
                    outcome: Outcome::from_name(&c.outcome)?,
                    pan: c.pan.clone(),
                    description: c.description.clone(),
                    otp: c.otp.clone(),
                    spc_test_credential: c.spc_test_credential,
                })
            })
            .collect();
        let schemes = self
            .schemes
            .iter()
            .map(|s| Scheme {
                name: s.name.clone(),
                directory_server_id: s.directory_server_id.clone(),
                ranges: s
                    .ranges
                    .iter()
                    .filter_map(|r| PanRange::new(&r.start, &r.end))
                    .collect(),
                eci: [s.eci.Y.clone(), s.eci.A.clone(), s.eci.N.clone()],
            })
            .collect();
        IssuerData {
            cards,
            schemes,
            rules: Rules {
                frictionless_limit_minor: self.acs.frictionless_limit_minor,
            },
        }
    }

    /// The PKI these schemes need.
    /// The hosts of the URLs the ecosystem file gives its components (`url`,
    /// `site_url`): names the PKI's server certificates must cover.
    pub fn advertised_hosts(&self) -> Vec<String> {
        let urls = [
            self.threeds_server.url.as_deref(),
            self.acs.url.as_deref(),
            self.acs.site_url.as_deref(),
        ]
        .into_iter()
        .chain(self.schemes.iter().map(|s| s.url.as_deref()));
        let mut hosts: Vec<String> = Vec::new();
        for url in urls.flatten() {
            if let Some(host) = url::Url::parse(url).ok().and_then(|u| {
                u.host_str()
                    .map(|h| h.trim_start_matches('[').trim_end_matches(']').to_owned())
            }) && !hosts.contains(&host)
            {
                hosts.push(host);
            }
        }
        hosts
    }

    pub fn pki_spec(&self) -> pki::PkiSpec {
        pki::PkiSpec {
            names: self.advertised_hosts(),
            schemes: self
                .schemes
                .iter()
                .map(|s| pki::SchemeSpec {
                    name: s.name.clone(),
                    directory_server_id: s.directory_server_id.clone(),
                    encryption_key: match s.encryption_key {
                        KeyType::EcP256 => pki::EncryptionKey::EcP256,
                        KeyType::Rsa2048 => pki::EncryptionKey::Rsa2048,
                    },
                })
                .collect(),
            ..pki::PkiSpec::default()
        }
    }

    /// Every card with what it does (`threeds cards`).
    pub fn cards(&self) -> Vec<crate::TestCard> {
        self.schemes
            .iter()
            .flat_map(|s| {
                s.cards.iter().map(|c| {
                    let outcome = Outcome::from_name(&c.outcome);
                    let otp_card = matches!(
                        outcome,
                        Some(Outcome::Challenge | Outcome::Decoupled | Outcome::Spc)
                    );
                    crate::TestCard {
                        pan: c.pan.clone(),
                        scheme: s.name.clone(),
                        outcome: c.outcome.clone(),
                        otp: c
                            .otp
                            .clone()
                            .or_else(|| otp_card.then(|| acs::issuer::DEFAULT_OTP.to_owned())),
                        answer: match outcome {
                            Some(Outcome::ChallengeSelect) => {
                                Some(acs::issuer::SINGLE_SELECT.answer())
                            }
                            Some(Outcome::ChallengeMultiSelect) => {
                                Some(acs::issuer::MULTI_SELECT.answer())
                            }
                            _ => None,
                        },
                        description: c.description.clone(),
                    }
                })
            })
            .collect()
    }
}

fn versions(list: &[String], at: &str) -> Result<(), (String, String)> {
    if list.is_empty() {
        return Err((at.to_owned(), "at least one version is needed".into()));
    }
    for (i, v) in list.iter().enumerate() {
        if MessageVersion::parse(v).is_none() {
            return Err((
                format!("{at}[{i}]"),
                format!("{v} is not a supported version (2.1.0, 2.2.0, 2.3.1)"),
            ));
        }
    }
    Ok(())
}

impl fmt::Display for KeyType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            KeyType::EcP256 => "ec-p256",
            KeyType::Rsa2048 => "rsa-2048",
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The shipped file with `from` replaced by `to` (which must occur).
    fn edited(from: &str, to: &str) -> Result<Ecosystem, ConfigError> {
        assert!(SHIPPED.contains(from), "{from}");
        Ecosystem::parse(&SHIPPED.replacen(from, to, 1), "test.toml")
    }

    fn error_at(from: &str, to: &str) -> (String, String) {
        let e = edited(from, to).expect_err("must be refused");
        assert_eq!(e.origin, "test.toml");
        (e.at, e.why)
    }

    #[test]
    fn mistakes_are_refused_with_their_place() {
        let (at, why) = error_at("pan = \"4000000000001000\"", "pan = \"4000000000001001\"");
        assert_eq!(at, "schemes[0].cards[0].pan");
        assert!(why.contains("Luhn"), "{why}");
        let (at, why) = error_at(
            "outcome = \"frictionless-A\"",
            "outcome = \"frictionless-A\"\nspc_test_credential = true",
        );
        assert_eq!(
            (at.as_str(), why.as_str()),
            (
                "schemes[0].cards[1].spc_test_credential",
                "only a card with outcome spc can have the SPC test credential"
            )
        );
        let (at, _) = error_at("outcome = \"frictionless-A\"", "outcome = \"magic\"");
        assert_eq!(at, "schemes[0].cards[1].outcome");
        let (at, why) = error_at(
            "versions = [\"2.1.0\", \"2.2.0\", \"2.3.1\"]",
            "versions = [\"2.1.0\", \"2.4.0\"]",
        );
        assert_eq!(at, "threeds_server.versions[1]");
        assert!(why.contains("2.4.0"), "{why}");
        let (at, why) = error_at("end = \"4000000000099999\"", "end = \"4000000000100000\"");
        assert_eq!(at, "schemes[0].ranges");
        assert!(why.contains("overlap"), "{why}");
        // A card of one scheme in the other's ranges.
        let (at, why) = error_at("pan = \"5200000000001005\"", "pan = \"4000000000099996\"");
        assert_eq!(at, "schemes[1].cards[0].pan");
        assert!(why.contains("scheme beta"), "{why}");
        let (at, _) = error_at("pan = \"4242424242424242\"", "pan = \"4000000000099996\"");
        assert_eq!(
            at, "schemes[0].cards[14].pan",
            "a not-enrolled card inside a range"
        );
        let (at, why) = error_at("pan = \"5200000000001005\"", "pan = \"4000000000001000\"");
        assert_eq!(at, "schemes[1].cards[0].pan");
        assert!(
            why.contains("scheme beta") || why.contains("same card"),
            "{why}"
        );
        let (at, _) = error_at(
            "directory_server_id = \"F000000002\"",
            "directory_server_id = \"F000000001\"",
        );
        assert_eq!(at, "schemes[1]");
    }

    #[test]
    fn syntax_and_unknown_keys_name_the_line() {
        let e = edited("[acs]", "[acs]\nfrictionless_limit = 5").expect_err("unknown key");
        assert!(e.why.contains("frictionless_limit"), "{e}");
        assert!(e.at.starts_with("line "), "{e}");
        let e = edited("name = \"alpha\"", "name = alpha").expect_err("syntax");
        let line = 1 + SHIPPED
            .lines()
            .position(|l| l.starts_with("name = \"alpha\""))
            .expect("the alpha scheme");
        assert_eq!(e.at, format!("line {line}, column 8"), "{e}");
        let e = Ecosystem::load(Path::new("/nonexistent/sandbox.toml")).expect_err("missing");
        assert_eq!(e.origin, "/nonexistent/sandbox.toml");
        assert!(e.why.starts_with("cannot read"), "{e}");
    }

    #[test]
    fn the_shipped_file_maps_to_components() {
        let e = Ecosystem::shipped().expect("shipped");
        let routes = e.routes_of(
            &e.schemes[0],
            "https://localhost:1/areq",
            "https://acs.localhost:2",
        );
        assert_eq!(routes.len(), 2);
        assert_eq!(routes[0].acs_url, "https://localhost:1/areq");
        assert_eq!(
            routes[0].range.three_ds_method_url.as_deref(),
            Some("https://acs.localhost:2/3ds-method")
        );
        assert_eq!(routes[1].range.three_ds_method_url, None);
        assert_eq!(routes[0].acs_identity, SANDBOX_ACS_IDENTITY);
        let issuer = e.issuer_data();
        assert_eq!(
            issuer
                .scheme_of("5200000000001005")
                .map(|s| s.name.as_str()),
            Some("beta")
        );
        assert_eq!(
            issuer.cards.len(),
            28,
            "not-enrolled cards are not the ACS's"
        );
        let spec = e.pki_spec();
        assert_eq!(spec.schemes[1].encryption_key, pki::EncryptionKey::Rsa2048);
    }
}
