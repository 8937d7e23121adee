//! One trace event and its JSON form. Every field is documented here because the JSON
//! Lines output of `threeds trace --format json` is these structs, serialised.

use serde::{Deserialize, Serialize};
use serde_json::Value;
use serde_json::value::RawValue;

/// A party of the ecosystem (the lanes of the TUI's sequence diagram, left to right).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum Party {
    #[serde(rename = "browser")]
    Browser,
    #[serde(rename = "sdk")]
    Sdk,
    #[serde(rename = "merchant")]
    Merchant,
    #[serde(rename = "3ds-server")]
    ThreeDsServer,
    #[serde(rename = "ds")]
    Ds,
    #[serde(rename = "acs")]
    Acs,
}

impl Party {
    /// Its name in the JSON form.
    pub fn as_str(self) -> &'static str {
        match self {
            Party::Browser => "browser",
            Party::Sdk => "sdk",
            Party::Merchant => "merchant",
            Party::ThreeDsServer => "3ds-server",
            Party::Ds => "ds",
            Party::Acs => "acs",
        }
    }
}

impl std::fmt::Display for Party {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What an event records.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Kind {
    /// A message on the wire, seen by its sender or its receiver.
    Message,
    /// The plaintext of an earlier message event (`of`), recovered with a key the
    /// observer holds (a decrypted CReq, say).
    Decoded,
    /// Something that is not a message: a challenge step shown or answered, a timer
    /// fired, an answer refused, a call that got no answer.
    Note,
}

/// Which side of a message the observer is on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Direction {
    Sent,
    Received,
}

/// The transaction ids a message carries (or a note is about).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Ids {
    #[serde(
        rename = "threeDSServerTransID",
        skip_serializing_if = "Option::is_none"
    )]
    pub three_ds_server_trans_id: Option<String>,
    #[serde(rename = "dsTransID", skip_serializing_if = "Option::is_none")]
    pub ds_trans_id: Option<String>,
    #[serde(rename = "acsTransID", skip_serializing_if = "Option::is_none")]
    pub acs_trans_id: Option<String>,
    #[serde(rename = "sdkTransID", skip_serializing_if = "Option::is_none")]
    pub sdk_trans_id: Option<String>,
}

impl Ids {
    /// The ids found at the top level of a message.
    pub fn of(body: &Value) -> Ids {
        let id = |name: &str| body.get(name).and_then(Value::as_str).map(str::to_owned);
        Ids {
            three_ds_server_trans_id: id("threeDSServerTransID"),
            ds_trans_id: id("dsTransID"),
            acs_trans_id: id("acsTransID"),
            sdk_trans_id: id("sdkTransID"),
        }
    }

    /// Fills the ids this one lacks from `other`.
    pub fn merge(&mut self, other: &Ids) {
        for (mine, theirs) in [
            (
                &mut self.three_ds_server_trans_id,
                &other.three_ds_server_trans_id,
            ),
            (&mut self.ds_trans_id, &other.ds_trans_id),
            (&mut self.acs_trans_id, &other.acs_trans_id),
            (&mut self.sdk_trans_id, &other.sdk_trans_id),
        ] {
            if mine.is_none() {
                mine.clone_from(theirs);
            }
        }
    }

    pub fn is_empty(&self) -> bool {
        *self == Ids::default()
    }

    /// Every id, for matching a search.
    pub fn all(&self) -> impl Iterator<Item = &str> {
        [
            &self.three_ds_server_trans_id,
            &self.ds_trans_id,
            &self.acs_trans_id,
            &self.sdk_trans_id,
        ]
        .into_iter()
        .filter_map(|id| id.as_deref())
    }
}

/// A view of a message the wire does not show as such.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Decoded {
    /// How it was obtained: `"decoded"` (base64url, a JWS payload: no key needed) or
    /// `"decrypted"` (with a key the sandbox holds: no production tool could show it).
    pub how: String,
    /// What was decoded, for the reader (e.g. "CReq plaintext (JWE, A128GCM)").
    pub what: String,
    /// The view, redacted like every body.
    pub value: Value,
}

/// One trace event. The JSON Lines form is this struct (camelCase names; absent
/// optional fields are left out).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Event {
    /// Increasing per sandbox (per database): the order events were recorded in.
    pub seq: u64,
    /// When, in Unix milliseconds (the sandbox's clock).
    pub at_ms: u64,
    /// The `threeDSServerTransID` of the authentication this event belongs to, when the
    /// observer could tell (found in the message, or linked through another id).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub transaction: Option<String>,
    pub kind: Kind,
    /// Who recorded it.
    pub observer: Party,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub direction: Option<Direction>,
    /// Sender and receiver of a message (for notes, `from` is the observer).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub from: Option<Party>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub to: Option<Party>,
    /// The card scheme whose DS was involved, when the observer knows it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub scheme: Option<String>,
    #[serde(default, skip_serializing_if = "Ids::is_empty")]
    pub ids: Ids,
    /// `AReq`, `CRes`, `Erro`, … for protocol messages.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub message_type: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub message_version: Option<String>,
    /// A short description: the message type, the API call (`POST /v1/auth`), or what a
    /// note says.
    pub label: String,
    /// The HTTP request path (messages).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub path: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub http_status: Option<u16>,
    /// For an answer: how long after its request it came (the receiver's handling time,
    /// or the sender's round trip).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub duration_ms: Option<u64>,
    /// For an answer: the `seq` of the request event it answers.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reply_to: Option<u64>,
    /// For a `decoded` event: the `seq` of the message it decodes.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub of: Option<u64>,
    /// The body as JSON (forms as an object of their fields), redacted. Kept as text
    /// (it is written and streamed far more often than read): [`Event::body_value`]
    /// parses it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub body: Option<Box<RawValue>>,
    /// What the wire encodes, decoded or decrypted.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub decoded: Option<Decoded>,
    /// What the receiver found wrong (the `Erro` it answered, an answer it refused).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub findings: Vec<String>,
    /// The TLS identity of the peer (certificate common name and SHA-256).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tls_peer: Option<String>,
}

impl Event {
    /// An event with only the required fields (the tracer numbers and stamps it).
    pub fn new(kind: Kind, observer: Party, label: impl Into<String>) -> Event {
        Event {
            seq: 0,
            at_ms: 0,
            transaction: None,
            kind,
            observer,
            direction: None,
            from: None,
            to: None,
            scheme: None,
            ids: Ids::default(),
            message_type: None,
            message_version: None,
            label: label.into(),
            path: None,
            http_status: None,
            duration_ms: None,
            reply_to: None,
            of: None,
            body: None,
            decoded: None,
            findings: Vec::new(),
            tls_peer: None,
        }
    }

    /// A note from `observer` about the transaction these `ids` name.
    pub fn note(observer: Party, label: impl Into<String>, ids: Ids) -> Event {
        let mut event = Event::new(Kind::Note, observer, label);
        event.from = Some(observer);
        event.ids = ids;
        event
    }

    /// The body, parsed.
    pub fn body_value(&self) -> Option<Value> {
        serde_json::from_str(self.body.as_ref()?.get()).ok()
    }

    /// The `transStatus` the body carries, if any.
    pub fn trans_status(&self) -> Option<String> {
        self.body_value()?
            .get("transStatus")?
            .as_str()
            .map(str::to_owned)
    }

    /// `observer side label` (side: `sent`, `received`, `note` or `decoded`): how tests
    /// and scenario checks name a hop, e.g. `ds received AReq`.
    pub fn hop(&self) -> String {
        let side = match (self.kind, self.direction) {
            (Kind::Message, Some(Direction::Sent)) => "sent",
            (Kind::Message, _) => "received",
            (Kind::Note, _) => "note",
            (Kind::Decoded, _) => "decoded",
        };
        format!("{} {side} {}", self.observer, self.label)
    }

    /// One line for people: time, parties, label, status, duration.
    pub fn one_line(&self) -> String {
        let mut line = format_time(self.at_ms);
        line.push(' ');
        match (self.kind, self.from, self.to) {
            (Kind::Message, Some(from), Some(to)) => {
                let arrow = match self.direction {
                    Some(Direction::Received) => format!("{to} ◀ {from}"),
                    _ => format!("{from} ▶ {to}"),
                };
                line.push_str(&format!("{arrow:<24}"));
            }
            _ => line.push_str(&format!("{:<24}", self.observer.as_str())),
        }
        line.push(' ');
        line.push_str(&self.label);
        if let Some(version) = &self.message_version {
            line.push_str(&format!(" {version}"));
        }
        if let Some(status) = self.trans_status() {
            line.push_str(&format!(" transStatus={status}"));
        }
        if let Some(code) = self.body_value().and_then(|b| {
            b.get("errorCode")
                .and_then(Value::as_str)
                .map(str::to_owned)
        }) {
            line.push_str(&format!(" errorCode={code}"));
        }
        if let Some(status) = self.http_status.filter(|s| *s != 200) {
            line.push_str(&format!(" HTTP {status}"));
        }
        if let Some(ms) = self.duration_ms {
            line.push_str(&format!(" ({ms} ms)"));
        }
        if let Some(tx) = &self.transaction {
            line.push_str(&format!(" [{}]", short_id(tx)));
        }
        for finding in &self.findings {
            line.push_str(&format!("\n    ! {finding}"));
        }
        line
    }
}

/// The first eight characters of an id (what a person needs to tell ids apart).
pub fn short_id(id: &str) -> &str {
    id.get(..8).unwrap_or(id)
}

/// `HH:MM:SS.mmm` (UTC) of Unix milliseconds.
pub fn format_time(at_ms: u64) -> String {
    let ms = at_ms % 1000;
    let s = at_ms / 1000;
    format!(
        "{:02}:{:02}:{:02}.{ms:03}",
        (s / 3600) % 24,
        (s / 60) % 60,
        s % 60
    )
}

/// The first of `expected` hops (as [`Event::hop`] names them) that `events` do not show
/// in that order (other events may come between); `None` when all are there.
pub fn first_missing_in_order<'a>(events: &[Event], expected: &[&'a str]) -> Option<&'a str> {
    let mut wanted = expected.iter().peekable();
    for event in events {
        if wanted.peek().is_some_and(|w| **w == event.hop()) {
            wanted.next();
        }
    }
    wanted.next().copied()
}
