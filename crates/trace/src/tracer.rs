//! The handle every component emits through. Cheap to clone; a disabled tracer (the
//! default) costs one branch per hop.
//!
//! `emit` numbers the event, stamps it, links it to its transaction and hands it to two
//! places without waiting: the recording sink (a bounded channel the store drains) and
//! the live broadcast (the admin endpoint's subscribers). A full sink counts the event as
//! dropped instead of slowing the message down; [`Tracer::dropped`] reports it.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use tokio::sync::{broadcast, mpsc};

use crate::{Decoded, Event, Ids};

/// Events waiting for the store beyond this are dropped (and counted).
const RECORD_QUEUE: usize = 65_536;
/// Live subscribers further behind than this skip ahead (and are told how far).
const LIVE_QUEUE: usize = 8_192;
/// Id links kept to find an event's transaction; forgotten all at once beyond this.
const MAX_LINKS: usize = 200_000;

/// What a handler tells the trace about the message it answered, as an extension of its
/// response: views only it can produce (the plaintext of an encrypted CReq and CRes),
/// ids the bodies do not show, and what it found wrong.
#[derive(Debug, Clone, Default)]
pub struct Annotation {
    pub request: Option<Decoded>,
    pub response: Option<Decoded>,
    pub ids: Ids,
    pub findings: Vec<String>,
}

type Now = Box<dyn Fn() -> u64 + Send + Sync>;

struct Inner {
    next: AtomicU64,
    now: Now,
    /// Durations are read off `now` (a virtual clock) rather than measured.
    virtual_time: bool,
    record: mpsc::Sender<Arc<Event>>,
    live: broadcast::Sender<Arc<Event>>,
    dropped: AtomicU64,
    /// dsTransID / acsTransID / sdkTransID → threeDSServerTransID.
    links: Mutex<HashMap<String, String>>,
}

/// Where events go. `Tracer::default()` is disabled: it records nothing.
#[derive(Clone, Default)]
pub struct Tracer {
    inner: Option<Arc<Inner>>,
}

impl std::fmt::Debug for Tracer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.inner {
            None => f.write_str("Tracer(disabled)"),
            Some(inner) => write!(
                f,
                "Tracer(next: {}, dropped: {})",
                inner.next.load(Ordering::Relaxed),
                inner.dropped.load(Ordering::Relaxed)
            ),
        }
    }
}

impl Tracer {
    /// A tracer numbering from `first_seq` and reading the time from `now` (Unix ms),
    /// and the receiving end of its recording sink (drain it into the store).
    pub fn new(
        first_seq: u64,
        now: impl Fn() -> u64 + Send + Sync + 'static,
    ) -> (Tracer, mpsc::Receiver<Arc<Event>>) {
        Tracer::build(first_seq, Box::new(now), false)
    }

    /// As [`Tracer::new`], for a virtual clock (deterministic runs): durations are the
    /// clock's, not measured, so a run records the same durations every time.
    pub fn on_virtual_time(
        first_seq: u64,
        now: impl Fn() -> u64 + Send + Sync + 'static,
    ) -> (Tracer, mpsc::Receiver<Arc<Event>>) {
        Tracer::build(first_seq, Box::new(now), true)
    }

    fn build(first_seq: u64, now: Now, virtual_time: bool) -> (Tracer, mpsc::Receiver<Arc<Event>>) {
        let (record, recorded) = mpsc::channel(RECORD_QUEUE);
        let (live, _) = broadcast::channel(LIVE_QUEUE);
        let inner = Inner {
            next: AtomicU64::new(first_seq.max(1)),
            now,
            virtual_time,
            record,
            live,
            dropped: AtomicU64::new(0),
            links: Mutex::new(HashMap::new()),
        };
        (
            Tracer {
                inner: Some(Arc::new(inner)),
            },
            recorded,
        )
    }

    pub fn is_enabled(&self) -> bool {
        self.inner.is_some()
    }

    /// The tracer's clock (Unix ms); 0 when disabled.
    pub fn now_ms(&self) -> u64 {
        self.inner.as_ref().map_or(0, |i| (i.now)())
    }

    /// Starts timing something (a request handled, a round trip).
    pub fn stopwatch(&self) -> Stopwatch {
        match &self.inner {
            Some(inner) if inner.virtual_time => Stopwatch::Virtual {
                tracer: self.clone(),
                started_ms: (inner.now)(),
            },
            _ => Stopwatch::Real(std::time::Instant::now()),
        }
    }

    /// Records `event`; returns its `seq` (0 when disabled). An `at_ms` of 0 is stamped
    /// with now.
    pub fn emit(&self, mut event: Event) -> u64 {
        let Some(inner) = &self.inner else {
            return 0;
        };
        event.seq = inner.next.fetch_add(1, Ordering::Relaxed);
        if event.at_ms == 0 {
            event.at_ms = (inner.now)();
        }
        if event.transaction.is_none() {
            event.transaction = inner.link(&event.ids);
        }
        let seq = event.seq;
        let event = Arc::new(event);
        if inner.record.try_send(event.clone()).is_err() {
            inner.dropped.fetch_add(1, Ordering::Relaxed);
        }
        let _ = inner.live.send(event);
        seq
    }

    /// Live events from now on.
    pub fn subscribe(&self) -> Option<broadcast::Receiver<Arc<Event>>> {
        self.inner.as_ref().map(|i| i.live.subscribe())
    }

    /// Events the recording sink had no room for.
    pub fn dropped(&self) -> u64 {
        self.inner
            .as_ref()
            .map_or(0, |i| i.dropped.load(Ordering::Relaxed))
    }

    /// The transaction `ids` belong to, as far as this tracer has seen.
    pub fn transaction_of(&self, ids: &Ids) -> Option<String> {
        self.inner.as_ref()?.link(ids)
    }
}

impl Inner {
    /// Learns the links `ids` show and returns their transaction.
    fn link(&self, ids: &Ids) -> Option<String> {
        let others = [&ids.ds_trans_id, &ids.acs_trans_id, &ids.sdk_trans_id];
        let mut links = self.links.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(transaction) = &ids.three_ds_server_trans_id {
            if links.len() > MAX_LINKS {
                links.clear();
            }
            for id in others.into_iter().flatten() {
                if !links.contains_key(id) {
                    links.insert(id.clone(), transaction.clone());
                }
            }
            return Some(transaction.clone());
        }
        others
            .into_iter()
            .flatten()
            .find_map(|id| links.get(id).cloned())
    }
}

/// A duration being timed: with the monotonic clock, or on the tracer's virtual clock.
#[derive(Debug)]
pub enum Stopwatch {
    Real(std::time::Instant),
    Virtual { tracer: Tracer, started_ms: u64 },
}

impl Stopwatch {
    /// Milliseconds since the start.
    pub fn elapsed_ms(&self) -> u64 {
        match self {
            Stopwatch::Real(started) => {
                u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX)
            }
            Stopwatch::Virtual { tracer, started_ms } => {
                tracer.now_ms().saturating_sub(*started_ms)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Kind, Party};

    #[test]
    fn events_are_numbered_stamped_and_linked_to_their_transaction() {
        let (tracer, mut recorded) = Tracer::new(10, || 1_000);
        let mut live = tracer.subscribe().unwrap_or_else(|| panic!("enabled"));
        let mut first = Event::new(Kind::Message, Party::Ds, "AReq");
        first.ids = Ids {
            three_ds_server_trans_id: Some("t".into()),
            acs_trans_id: Some("a".into()),
            ..Ids::default()
        };
        assert_eq!(tracer.emit(first), 10);
        let mut later = Event::new(Kind::Message, Party::Acs, "CReq");
        later.ids.acs_trans_id = Some("a".into());
        assert_eq!(tracer.emit(later), 11);
        let a = recorded.try_recv().unwrap_or_else(|e| panic!("{e}"));
        let b = recorded.try_recv().unwrap_or_else(|e| panic!("{e}"));
        assert_eq!((a.seq, a.at_ms), (10, 1_000));
        assert_eq!(b.transaction.as_deref(), Some("t"));
        assert_eq!(live.try_recv().map(|e| e.seq).ok(), Some(10));
    }

    #[test]
    fn a_disabled_tracer_records_nothing() {
        let tracer = Tracer::default();
        assert_eq!(tracer.emit(Event::new(Kind::Note, Party::Acs, "x")), 0);
        assert!(tracer.subscribe().is_none());
    }
}
