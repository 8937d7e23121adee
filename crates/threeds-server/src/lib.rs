//! The 3DS Server.
//!
//! At start, and whenever asked, it downloads card ranges from each DS (PReq → PRes into
//! an `emv3ds::card_ranges::RangeCache`). Its requestor API lets a merchant backend ask
//! whether a card is enrolled (`/v1/preauth`), authenticate (`/v1/auth`: the 3DS Server
//! adds its own elements to the requestor's, negotiates the version, validates the AReq
//! as the DS would, sends it, validates the ARes) and fetch the result
//! (`/v1/postauth/{id}`). The API is documented in `openapi.yaml` beside this crate.
//! DSs deliver the results of challenges and decoupled authentications as RReq messages
//! to `POST /rreq` (answered with an RRes).
//!
//! Transactions and the card-range caches live in the `store`, so a restarted 3DS
//! Server still answers postauth and asks each DS only for the ranges that changed.
//!
//! `app(state)` builds the router; serving it over mutual TLS is the caller's.
//!
//! It must never: take a result (RReq) from anyone but a DS it sent the AReq to; hand
//! the requestor a result the ACS did not give; send a message the validator refuses;
//! or put a card number or an authentication value in a log, the trace or an error.

mod api;
mod error;
mod results;
mod spc;

use std::collections::HashMap;
use std::sync::{Arc, RwLock};
use std::time::Duration;

use emv3ds::card_ranges::{CachedRange, RangeCache, RangeSnapshot};
use emv3ds::messages::PReq;
use emv3ds::{Message, MessageVersion, Role, Validator};
use store::{SavedRanges, Store};

pub use api::app;
pub use error::{PrepareError, ServerError};

/// A Directory Server this 3DS Server talks to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DsPeer {
    pub scheme: String,
    pub directory_server_id: String,
    pub url: String,
    /// The common name of the DS's TLS client certificate: RReqs for this DS's
    /// transactions are taken from that certificate only.
    pub identity: String,
}

/// The 3DS Server's configuration.
#[derive(Debug, Clone)]
pub struct ServerConfig {
    pub reference_number: String,
    pub operator_id: String,
    /// Where DSs send RReq messages (sent as `threeDSServerURL`).
    pub url: String,
    pub versions: Vec<MessageVersion>,
    pub directory_servers: Vec<DsPeer>,
    /// Requestor identity used when the requestor does not send its own.
    pub requestor_id: String,
    pub requestor_name: String,
    pub requestor_url: String,
    /// The common names of the requestor (merchant backend) certificates the requestor
    /// API answers.
    pub requestor_identities: Vec<String>,
}

/// Everything the 3DS Server's handlers share.
#[derive(Debug, Clone)]
pub struct ServerState {
    pub(crate) config: Arc<ServerConfig>,
    pub(crate) caches: Arc<RwLock<HashMap<String, RangeCache>>>,
    pub(crate) store: Store,
    pub(crate) ds_client: transport::Client,
    /// Where `threeDSServerTransID`s come from.
    pub(crate) ids: transport::Ids,
    /// Where the time written into messages comes from.
    pub(crate) clock: Arc<dyn transport::clock::Clock>,
}

impl ServerState {
    pub fn new(config: ServerConfig, ds_client: transport::Client, store: Store) -> ServerState {
        ServerState {
            config: Arc::new(config),
            caches: Arc::new(RwLock::new(HashMap::new())),
            store,
            ds_client,
            ids: transport::Ids::random(),
            clock: transport::clock::system(),
        }
    }

    /// Draws transaction ids from `ids` and reads the time from `clock` (the scenario
    /// runner's deterministic mode).
    #[must_use]
    pub fn with_ids_and_clock(
        mut self,
        ids: transport::Ids,
        clock: Arc<dyn transport::clock::Clock>,
    ) -> ServerState {
        self.ids = ids;
        self.clock = clock;
        self
    }

    /// Who may call the requestor API.
    pub(crate) fn requestors(&self) -> transport::access::Callers {
        transport::access::Callers::new(
            "the 3DS Requestors of this 3DS Server",
            self.config.requestor_identities.iter().cloned(),
        )
    }

    /// Who may send RReqs: the DSs this 3DS Server sends AReqs to.
    pub(crate) fn directory_servers(&self) -> transport::access::Callers {
        transport::access::Callers::new(
            "the Directory Servers of this 3DS Server",
            self.config
                .directory_servers
                .iter()
                .map(|ds| ds.identity.clone()),
        )
    }

    /// Refreshes the card ranges every `every` until the task is aborted: a log line per
    /// DS each time; failures are warnings and retried at the next tick.
    pub fn spawn_refresh(&self, every: Duration) -> tokio::task::JoinHandle<()> {
        let state = self.clone();
        tokio::spawn(async move {
            let mut ticks = tokio::time::interval(every);
            ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            ticks.tick().await; // the first tick is now: start() already prepared
            loop {
                ticks.tick().await;
                let started = std::time::Instant::now();
                for (ds, result) in state.prepare().await {
                    match result {
                        Ok(ranges) => tracing::info!(
                            target: "threeds::job",
                            job = "card-range refresh",
                            directory_server = %ds,
                            ranges,
                            ms = started.elapsed().as_millis(),
                            "job done"
                        ),
                        Err(why) => tracing::warn!(
                            target: "threeds::job",
                            job = "card-range refresh",
                            directory_server = %ds,
                            error = %why,
                            "card ranges not refreshed"
                        ),
                    }
                }
            }
        })
    }

    /// Downloads (or updates) the card ranges of every DS. Returns, per DS, the number
    /// of ranges cached or why it failed.
    pub async fn prepare(&self) -> Vec<(String, Result<usize, PrepareError>)> {
        let mut out = Vec::new();
        for ds in &self.config.directory_servers {
            out.push((ds.directory_server_id.clone(), self.prepare_one(ds).await));
        }
        out
    }

    /// The saved cache of `ds`, when this process has none yet.
    async fn restore(&self, ds: &DsPeer) -> Result<(), PrepareError> {
        let loaded = self
            .caches
            .read()
            .map_err(|_| PrepareError::Cache)?
            .contains_key(&ds.directory_server_id);
        if loaded {
            return Ok(());
        }
        let Some(saved) = self.store.load_ranges(&ds.directory_server_id).await? else {
            return Ok(());
        };
        // A saved cache that no longer reads is dropped: the PReq then asks for everything.
        let cache = serde_json::from_value::<RangeSnapshot>(saved.ranges)
            .ok()
            .and_then(|snapshot| RangeCache::restore(snapshot).ok());
        if let Some(cache) = cache {
            self.caches
                .write()
                .map_err(|_| PrepareError::Cache)?
                .insert(ds.directory_server_id.clone(), cache);
        }
        Ok(())
    }

    async fn prepare_one(&self, ds: &DsPeer) -> Result<usize, PrepareError> {
        self.restore(ds).await?;
        let serial = self
            .caches
            .read()
            .map_err(|_| PrepareError::Cache)?
            .get(&ds.directory_server_id)
            .and_then(|c| c.serial().map(str::to_owned));
        let version = self
            .config
            .versions
            .iter()
            .copied()
            .max()
            .unwrap_or(MessageVersion::V2_2_0);
        let mut preq = PReq::new(version);
        preq.three_ds_server_trans_id = Some(self.ids.trans_id());
        preq.three_ds_server_ref_number = Some(self.config.reference_number.clone());
        preq.three_ds_server_operator_id = Some(self.config.operator_id.clone());
        preq.serial_num = serial.clone();
        let preq = Message::PReq(preq);
        let validator = Validator::new(Role::ThreeDsServer);
        let answer = transport::exchange(&self.ds_client, &ds.url, &preq, &validator, "the DS")
            .await
            .map_err(PrepareError::Ds)?;
        let Message::PRes(pres) = answer else {
            return Err(PrepareError::NotPres);
        };
        let (snapshot, len) = {
            let mut caches = self.caches.write().map_err(|_| PrepareError::Cache)?;
            let cache = caches.entry(ds.directory_server_id.clone()).or_default();
            cache.apply(&pres, serial.as_deref())?;
            (cache.snapshot(), cache.len())
        };
        let saved = SavedRanges {
            serial_num: snapshot.serial_num.clone(),
            // A derived struct of strings and lists: it always serialises (and a Null
            // saved would only be dropped on restore, costing a full PReq).
            ranges: serde_json::to_value(&snapshot).unwrap_or_default(),
        };
        self.store
            .save_ranges(&ds.directory_server_id, &saved)
            .await?;
        Ok(len)
    }

    /// Whether card ranges from the DS `directory_server_id` are loaded (a readiness
    /// check: without them no card of that DS can be authenticated).
    pub fn has_ranges(&self, directory_server_id: &str) -> bool {
        self.caches
            .read()
            .is_ok_and(|c| c.get(directory_server_id).is_some_and(|r| !r.is_empty()))
    }

    /// The DS and cached range for a PAN.
    pub(crate) fn find_range(&self, pan: &str) -> Option<(DsPeer, CachedRange, Vec<String>)> {
        let caches = self.caches.read().ok()?;
        self.config.directory_servers.iter().find_map(|ds| {
            let cache = caches.get(&ds.directory_server_id)?;
            let range = cache.lookup(pan)?;
            let ds_versions = range
                .ds_versions
                .clone()
                .unwrap_or_else(|| cache.ds_versions().to_vec());
            Some((ds.clone(), range.clone(), ds_versions))
        })
    }
}
