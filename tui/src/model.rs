//! What the TUI knows: trace events grouped into transactions (newest first), each with
//! the summary the list shows and its hops for the sequence diagram. Memory is bounded:
//! at most `capacity` transactions are kept, the oldest forgotten first (they stay in
//! the store, and come back when the list is scrolled past its end).

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use serde_json::Value;
use trace::{Direction, Event, Kind, Party};

/// How a transaction ended, as far as the trace shows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// No final status yet.
    Pending,
    /// A `transStatus` (final: from the RReq if there was one, else the ARes).
    Status(String),
    /// An `Erro`, or a peer that did not answer.
    Error(String),
}

impl Outcome {
    pub fn label(&self) -> String {
        match self {
            Outcome::Pending => "…".into(),
            Outcome::Status(s) => s.clone(),
            Outcome::Error(code) => format!("Erro {code}"),
        }
    }

    /// The filter key this outcome matches.
    pub fn key(&self) -> &str {
        match self {
            Outcome::Pending => "pending",
            Outcome::Status(s) => s,
            Outcome::Error(_) => "error",
        }
    }
}

/// One arrow (or note) of the sequence diagram: a message seen by its sender, its
/// receiver or both, with the decoded views recorded for it.
#[derive(Debug, Clone)]
pub struct Hop {
    pub from: Option<Party>,
    pub to: Option<Party>,
    pub label: String,
    pub sent: Option<Arc<Event>>,
    pub received: Option<Arc<Event>>,
    /// A note (no message).
    pub note: Option<Arc<Event>>,
    pub decoded: Vec<Arc<Event>>,
}

impl Hop {
    /// The event that speaks for this hop (the receiver's view first: it holds the
    /// verdict and the TLS peer).
    pub fn main(&self) -> Option<&Arc<Event>> {
        self.received
            .as_ref()
            .or(self.sent.as_ref())
            .or(self.note.as_ref())
    }

    pub fn at_ms(&self) -> u64 {
        [&self.sent, &self.received, &self.note]
            .into_iter()
            .flatten()
            .map(|e| e.at_ms)
            .min()
            .unwrap_or(0)
    }

    /// How long the answer took (the sender's round trip if known, else the receiver's
    /// handling time).
    pub fn duration_ms(&self) -> Option<u64> {
        self.received
            .as_ref()
            .and_then(|e| e.duration_ms)
            .or_else(|| self.sent.as_ref().and_then(|e| e.duration_ms))
    }

    /// Findings of either side.
    pub fn findings(&self) -> Vec<&str> {
        [&self.sent, &self.received, &self.note]
            .into_iter()
            .flatten()
            .flat_map(|e| e.findings.iter().map(String::as_str))
            .collect()
    }

    /// The decoded or decrypted view: a `decoded` event recorded for it, else what
    /// either side's event carries.
    pub fn decoded(&self) -> Option<&trace::Decoded> {
        self.decoded
            .iter()
            .rev()
            .find_map(|e| e.decoded.as_ref())
            .or_else(|| {
                [&self.received, &self.sent]
                    .into_iter()
                    .flatten()
                    .find_map(|e| e.decoded.as_ref())
            })
    }
}

/// One authentication (or one card-range exchange), by its `threeDSServerTransID`.
#[derive(Debug, Clone)]
pub struct Transaction {
    pub id: String,
    pub first_seq: u64,
    pub first_at: u64,
    pub last_at: u64,
    /// `browser`, `app`, `3RI`, or `PReq` for a card-range exchange.
    pub channel: String,
    pub scheme: String,
    pub card: String,
    pub amount: String,
    pub version: String,
    pub outcome: Outcome,
    final_from_rreq: bool,
    pub events: Vec<Arc<Event>>,
    /// Events past [`MAX_EVENTS`] not kept (shown in the sequence's title).
    pub omitted: u64,
}

/// Events kept per transaction: an authentication has tens, a long challenge a few
/// hundred. A foreign component repeating one transaction ID cannot grow the TUI
/// without bound (or make each insert slower than the last).
pub const MAX_EVENTS: usize = 2_000;

impl Transaction {
    fn new(id: &str, event: &Event) -> Transaction {
        Transaction {
            id: id.to_owned(),
            first_seq: event.seq,
            first_at: event.at_ms,
            last_at: event.at_ms,
            channel: String::new(),
            scheme: String::new(),
            card: String::new(),
            amount: String::new(),
            version: String::new(),
            outcome: Outcome::Pending,
            final_from_rreq: false,
            events: Vec::new(),
            omitted: 0,
        }
    }

    pub fn duration_ms(&self) -> u64 {
        self.last_at.saturating_sub(self.first_at)
    }

    fn take(&mut self, event: Arc<Event>) {
        if self.events.len() >= MAX_EVENTS {
            self.omitted += 1;
            return;
        }
        self.first_at = self.first_at.min(event.at_ms);
        self.last_at = self.last_at.max(event.at_ms);
        let summarises = matches!(
            event.message_type.as_deref(),
            Some("AReq" | "ARes" | "RReq" | "Erro" | "PReq")
        );
        if summarises && let Some(body) = event.body_value() {
            self.learn(&event, &body);
        }
        if self.scheme.is_empty()
            && let Some(scheme) = &event.scheme
        {
            self.scheme.clone_from(scheme);
        }
        if event.kind == Kind::Note
            && event.label.starts_with("no answer")
            && self.outcome == Outcome::Pending
        {
            self.outcome = Outcome::Error("no answer".into());
        }
        // Keep seq order even when events arrive out of order (paging, two sources).
        let at = self.events.partition_point(|e| e.seq < event.seq);
        if self.events.get(at).is_none_or(|e| e.seq != event.seq) {
            self.events.insert(at, event);
        }
    }

    fn learn(&mut self, event: &Event, body: &Value) {
        let text = |name: &str| body.get(name).and_then(Value::as_str).unwrap_or("");
        match event.message_type.as_deref() {
            Some("AReq") => {
                if self.channel.is_empty() {
                    self.channel = match text("deviceChannel") {
                        "01" => "app",
                        "02" => "browser",
                        "03" => "3RI",
                        _ => "",
                    }
                    .into();
                }
                if self.card.is_empty() {
                    self.card = text("acctNumber").into();
                }
                if self.amount.is_empty() {
                    self.amount = amount(
                        text("purchaseAmount"),
                        text("purchaseCurrency"),
                        text("purchaseExponent"),
                    );
                }
                self.version = text("messageVersion").into();
            }
            Some("PReq") if self.channel.is_empty() => {
                self.channel = "PReq".into();
                self.version = text("messageVersion").into();
            }
            Some("ARes") if !self.final_from_rreq && !text("transStatus").is_empty() => {
                self.outcome = Outcome::Status(text("transStatus").into());
            }
            Some("RReq") if !text("transStatus").is_empty() => {
                self.outcome = Outcome::Status(text("transStatus").into());
                self.final_from_rreq = true;
            }
            Some("Erro") => self.outcome = Outcome::Error(text("errorCode").into()),
            _ => {}
        }
        if self.version.is_empty()
            && let Some(v) = &event.message_version
        {
            self.version.clone_from(v);
        }
    }

    /// The hops of the sequence diagram, in order: a message's send and receive merged
    /// into one arrow, decoded views attached to their message, notes on their own.
    pub fn hops(&self) -> Vec<Hop> {
        let mut hops: Vec<Hop> = Vec::new();
        let mut by_seq: HashMap<u64, usize> = HashMap::new();
        for event in &self.events {
            match event.kind {
                Kind::Decoded => {
                    if let Some(&i) = event.of.and_then(|of| by_seq.get(&of)) {
                        hops[i].decoded.push(event.clone());
                    }
                }
                Kind::Note => hops.push(Hop {
                    from: Some(event.observer),
                    to: event.to,
                    label: event.label.clone(),
                    sent: None,
                    received: None,
                    note: Some(event.clone()),
                    decoded: Vec::new(),
                }),
                Kind::Message => {
                    let from = lane_party(event.from);
                    let to = lane_party(event.to);
                    // The other side's view of the same message, not yet paired.
                    let pair = hops.iter().rposition(|h| {
                        h.note.is_none()
                            && lane_party(h.from) == from
                            && lane_party(h.to) == to
                            && h.label == event.label
                            && match event.direction {
                                Some(Direction::Received) => {
                                    h.received.is_none() && h.sent.is_some()
                                }
                                _ => h.sent.is_none() && h.received.is_some(),
                            }
                    });
                    let i = match pair {
                        Some(i) => i,
                        None => {
                            hops.push(Hop {
                                from: event.from,
                                to: event.to,
                                label: event.label.clone(),
                                sent: None,
                                received: None,
                                note: None,
                                decoded: Vec::new(),
                            });
                            hops.len() - 1
                        }
                    };
                    match event.direction {
                        Some(Direction::Received) => hops[i].received = Some(event.clone()),
                        _ => hops[i].sent = Some(event.clone()),
                    }
                    by_seq.insert(event.seq, i);
                }
            }
        }
        hops
    }

    /// Whether `needle` (lower case) is in the summary or the ids.
    pub fn matches(&self, needle: &str) -> bool {
        if needle.is_empty() {
            return true;
        }
        [
            &self.id,
            &self.channel,
            &self.scheme,
            &self.card,
            &self.amount,
            &self.version,
        ]
        .iter()
        .any(|s| s.to_lowercase().contains(needle))
            || self.outcome.label().to_lowercase().contains(needle)
            || self
                .events
                .iter()
                .any(|e| e.ids.all().any(|id| id.contains(needle)))
    }
}

/// The SDK and the browser share the leftmost lane.
fn lane_party(party: Option<Party>) -> Option<Party> {
    match party {
        Some(Party::Sdk) => Some(Party::Browser),
        other => other,
    }
}

/// `EUR 123.45` from the AReq's amount, ISO 4217 numeric currency and exponent.
fn amount(minor: &str, currency: &str, exponent: &str) -> String {
    if minor.is_empty() {
        return String::new();
    }
    let code = match currency {
        "978" => "EUR",
        "840" => "USD",
        "826" => "GBP",
        "392" => "JPY",
        "756" => "CHF",
        other => other,
    };
    // One digit, as the element is defined (ISO 4217 exponents are 0 to 4). The value
    // comes from a foreign AReq or a `--file`: taken as a number it would size the
    // padding below, so anything else is shown as it came, never used.
    let exponent = match exponent.as_bytes() {
        [] => 2,
        [digit @ b'0'..=b'9'] => usize::from(digit - b'0'),
        _ => return format!("{code} {minor} (minor units; exponent {exponent:?} is not a digit)"),
    };
    if !minor.bytes().all(|b| b.is_ascii_digit()) {
        return format!("{code} {minor} (not a number of minor units)");
    }
    let digits = minor.trim_start_matches('0');
    let digits = format!("{digits:0>width$}", width = exponent + 1);
    if exponent == 0 {
        return format!("{code} {digits}");
    }
    let (units, cents) = digits.split_at(digits.len() - exponent);
    format!("{code} {units}.{cents}")
}

/// Transactions by arrival, bounded.
#[derive(Debug)]
pub struct Model {
    /// By the `seq` of their first event: iterating backwards gives newest first.
    transactions: BTreeMap<u64, Transaction>,
    by_id: HashMap<String, u64>,
    /// Events that named no transaction yet (a requestor API call), by `seq`, until
    /// their answer says whose they are.
    orphans: HashMap<u64, Event>,
    pub capacity: usize,
    /// The smallest `seq` ever ingested (paging older events starts below it).
    pub oldest_seq: Option<u64>,
    pub newest_seq: u64,
    /// Events seen in all.
    pub events_seen: u64,
}

impl Model {
    pub fn new(capacity: usize) -> Model {
        Model {
            transactions: BTreeMap::new(),
            by_id: HashMap::new(),
            orphans: HashMap::new(),
            capacity: capacity.max(1),
            oldest_seq: None,
            newest_seq: 0,
            events_seen: 0,
        }
    }

    pub fn len(&self) -> usize {
        self.transactions.len()
    }

    pub fn is_empty(&self) -> bool {
        self.transactions.is_empty()
    }

    /// Adds an event (one without a transaction waits for its answer to name it).
    pub fn ingest(&mut self, event: Event) {
        self.events_seen += 1;
        self.newest_seq = self.newest_seq.max(event.seq);
        self.oldest_seq = Some(self.oldest_seq.map_or(event.seq, |o| o.min(event.seq)));
        let Some(id) = event.transaction.clone() else {
            if self.orphans.len() >= 1024 {
                self.orphans.clear();
            }
            self.orphans.insert(event.seq, event);
            return;
        };
        if let Some(mut request) = event.reply_to.and_then(|r| self.orphans.remove(&r)) {
            request.transaction = Some(id.clone());
            self.events_seen -= 1;
            self.ingest(request);
        }
        let key = match self.by_id.get(&id) {
            Some(&key) => key,
            None => {
                // Older than everything kept, with the window full: not kept.
                if self.transactions.len() >= self.capacity
                    && self
                        .transactions
                        .keys()
                        .next()
                        .is_some_and(|&oldest| event.seq < oldest)
                {
                    return;
                }
                self.transactions
                    .insert(event.seq, Transaction::new(&id, &event));
                self.by_id.insert(id.clone(), event.seq);
                self.evict();
                event.seq
            }
        };
        let key = match self.transactions.get(&key) {
            Some(t) if event.seq < t.first_seq => {
                // An earlier event of a known transaction (paging): re-key it.
                let mut t = self
                    .transactions
                    .remove(&key)
                    .unwrap_or_else(|| Transaction::new(&id, &event));
                t.first_seq = event.seq;
                self.transactions.insert(event.seq, t);
                self.by_id.insert(id, event.seq);
                event.seq
            }
            _ => key,
        };
        if let Some(t) = self.transactions.get_mut(&key) {
            t.take(Arc::new(event));
        }
    }

    fn evict(&mut self) {
        while self.transactions.len() > self.capacity {
            if let Some((_, gone)) = self.transactions.pop_first() {
                self.by_id.remove(&gone.id);
            }
        }
    }

    /// Newest first.
    pub fn newest_first(&self) -> impl Iterator<Item = &Transaction> {
        self.transactions.values().rev()
    }

    pub fn get(&self, id: &str) -> Option<&Transaction> {
        self.transactions.get(self.by_id.get(id)?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn amounts_read_like_money() {
        assert_eq!(amount("12345", "978", "2"), "EUR 123.45");
        assert_eq!(amount("5", "840", "2"), "USD 0.05");
        assert_eq!(amount("1000", "392", "0"), "JPY 1000");
        assert_eq!(amount("", "978", "2"), "");
        // A foreign AReq's exponent never sizes an allocation.
        assert_eq!(
            amount("5", "978", "18446744073709551615"),
            "EUR 5 (minor units; exponent \"18446744073709551615\" is not a digit)"
        );
        assert_eq!(amount("5", "978", "9"), "EUR 0.000000005");
        assert_eq!(
            amount("1e9", "978", "2"),
            "EUR 1e9 (not a number of minor units)"
        );
    }

    fn event(seq: u64, tx: &str) -> Event {
        let mut e = Event::new(Kind::Note, Party::Acs, "x");
        e.seq = seq;
        e.transaction = Some(tx.into());
        e
    }

    #[test]
    fn the_window_keeps_the_newest_transactions() {
        let mut model = Model::new(2);
        for (seq, tx) in [(1, "a"), (2, "b"), (3, "a"), (4, "c")] {
            model.ingest(event(seq, tx));
        }
        let ids: Vec<&str> = model.newest_first().map(|t| t.id.as_str()).collect();
        assert_eq!(ids, ["c", "b"]);
        // Older than the window: not kept.
        model.ingest(event(0, "z"));
        assert_eq!(model.len(), 2);
    }

    #[test]
    fn one_transaction_keeps_at_most_max_events_and_counts_the_rest() {
        let mut model = Model::new(2);
        for seq in 0..(MAX_EVENTS as u64 + 10) {
            model.ingest(event(seq, "a"));
        }
        let t = model.get("a").unwrap();
        assert_eq!(t.events.len(), MAX_EVENTS);
        assert_eq!(t.omitted, 10);
        assert_eq!(t.events.last().map(|e| e.seq), Some(MAX_EVENTS as u64 - 1));
    }
}
