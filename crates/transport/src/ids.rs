//! Where transaction ids come from (architecture principle 7, like the clock): random
//! version 4 UUIDs, as the spec asks, or — for the scenario runner's deterministic mode
//! — a sequence drawn from a seed, so two runs number their transactions alike.
//!
//! Each component draws from its own [`Ids::stream`], so one component drawing an id
//! more or less does not renumber another's.

use std::sync::{Arc, Mutex};

use emv3ds::values::TransId;
use rand_core::{OsRng, RngCore};

/// A source of transaction ids. Clones share the sequence.
#[derive(Debug, Clone, Default)]
pub struct Ids(Option<Arc<Mutex<SplitMix64>>>);

impl Ids {
    /// Random ids (the default).
    pub fn random() -> Ids {
        Ids(None)
    }

    /// Ids drawn from `seed`: the same seed gives the same sequence. Not for production:
    /// such ids are guessable.
    pub fn seeded(seed: u64) -> Ids {
        Ids(Some(Arc::new(Mutex::new(SplitMix64(seed)))))
    }

    /// Whether ids come from a seed.
    pub fn is_seeded(&self) -> bool {
        self.0.is_some()
    }

    /// A sequence of its own for `name`, derived from this one's seed (random stays
    /// random). It does not draw from this sequence.
    pub fn stream(&self, name: &str) -> Ids {
        match &self.0 {
            None => Ids(None),
            Some(state) => {
                let seed = state.lock().map_or(0, |s| s.0);
                Ids::seeded(SplitMix64(seed ^ fnv1a(name.as_bytes())).next())
            }
        }
    }

    /// A fresh id: a version 4 UUID, random or drawn from the seed.
    pub fn trans_id(&self) -> TransId {
        let mut bytes = [0u8; 16];
        match &self.0 {
            None => OsRng.fill_bytes(&mut bytes),
            Some(state) => {
                // A poisoned lock only means another drawer panicked; the state is a
                // plain counter and stays valid.
                let mut state = state
                    .lock()
                    .unwrap_or_else(std::sync::PoisonError::into_inner);
                bytes[..8].copy_from_slice(&state.next().to_be_bytes());
                bytes[8..].copy_from_slice(&state.next().to_be_bytes());
            }
        }
        TransId::from_random_bytes(bytes)
    }
}

/// SplitMix64 (Steele, Lea, Flood 2014): tiny, and every seed gives a full-period
/// sequence. Not cryptographic, which ids drawn for reproducibility need not be.
#[derive(Debug)]
struct SplitMix64(u64);

impl SplitMix64 {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }
}

/// FNV-1a, 64 bits: a stable hash of a stream's name (std's hasher may change).
fn fnv1a(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |h, b| {
        (h ^ u64::from(*b)).wrapping_mul(0x0000_0100_0000_01b3)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splitmix_matches_its_reference_output() {
        // The first outputs for seed 1234567 from the reference implementation
        // (prng.di.unimi.it/splitmix64.c).
        let mut s = SplitMix64(1_234_567);
        assert_eq!(s.next(), 6_457_827_717_110_365_317);
        assert_eq!(s.next(), 3_203_168_211_198_807_973);
        assert_eq!(s.next(), 9_817_491_932_198_370_423);
    }

    #[test]
    fn the_same_seed_gives_the_same_ids_and_streams_differ() {
        let (a, b) = (Ids::seeded(7), Ids::seeded(7));
        let first: Vec<String> = (0..3).map(|_| a.trans_id().as_str().to_owned()).collect();
        let again: Vec<String> = (0..3).map(|_| b.trans_id().as_str().to_owned()).collect();
        assert_eq!(first, again);
        assert_ne!(first[0], first[1]);
        let (acs, ds) = (Ids::seeded(7).stream("acs"), Ids::seeded(7).stream("ds"));
        assert_eq!(
            acs.trans_id().as_str(),
            Ids::seeded(7).stream("acs").trans_id().as_str()
        );
        assert_ne!(acs.trans_id().as_str(), ds.trans_id().as_str());
        // Still version 4 UUIDs, as a peer expects.
        let id = a.trans_id();
        assert_eq!(id.as_str().as_bytes()[14], b'4');
    }

    #[test]
    fn random_ids_differ() {
        let ids = Ids::random();
        assert!(!ids.is_seeded());
        assert_ne!(ids.trans_id().as_str(), ids.trans_id().as_str());
        assert!(!ids.stream("acs").is_seeded());
    }
}
