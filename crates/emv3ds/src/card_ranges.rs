//! Card ranges and version negotiation: the preparation flow's rules, without I/O.
//!
//! - [`Registry`] is the DS side: the ranges it knows (each with its ACS's versions,
//!   capabilities and 3DS Method URL) and a history of changes, so it can answer a PReq
//!   with everything (no `serialNum`), nothing (`serialNum` current), the changes since
//!   (an older `serialNum` it issued), or `Erro` 307 (a `serialNum` it never issued).
//! - [`RangeCache`] is the 3DS Server side: it applies a PRes (all ranges as additions
//!   when the PReq carried no `serialNum`; otherwise `actionInd` A/M/D in order, all or
//!   nothing, 205/206 on overlap or an impossible action) and finds the range of a PAN.
//! - [`negotiate`] picks the highest version the 3DS Server, the DS and the ACS share.
//!
//! Decision: PANs and ranges of different lengths are compared on 19 digits, the range
//! start padded with 0s and the end with 9s, the PAN with 0s — so a 16-digit range
//! covers the 19-digit PANs that share its prefix.

use std::collections::BTreeMap;

use crate::codes::{AcsInfoIndicator, ActionIndicator, ErrorCode};
use crate::messages::{AcsProtocolVersion, CardRange, PReq, PRes};
use crate::values::TransId;
use crate::version::MessageVersion;

/// A range of PANs, as 19-digit bounds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct PanRange {
    start: u64,
    end: u64,
}

fn pad19(digits: &str, fill: u8) -> Option<u64> {
    if digits.is_empty() || digits.len() > 19 || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let mut value: u64 = 0;
    for i in 0..19 {
        let d = digits.as_bytes().get(i).copied().unwrap_or(fill) - b'0';
        value = value * 10 + u64::from(d);
    }
    Some(value)
}

impl PanRange {
    /// A range from its `startRange` and `endRange`; `None` unless both are 13–19
    /// digits and start is not above end.
    pub fn new(start: &str, end: &str) -> Option<PanRange> {
        if start.len() < 13 || end.len() < 13 {
            return None;
        }
        let (start, end) = (pad19(start, b'0')?, pad19(end, b'9')?);
        (start <= end).then_some(PanRange { start, end })
    }

    /// Whether the range covers `pan` (13–19 digits).
    pub fn contains(&self, pan: &str) -> bool {
        pan.len() >= 13 && pad19(pan, b'0').is_some_and(|p| self.start <= p && p <= self.end)
    }

    pub fn overlaps(&self, other: &PanRange) -> bool {
        self.start <= other.end && other.start <= self.end
    }
}

/// What a DS knows of one card range.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RangeEntry {
    pub start_range: String,
    pub end_range: String,
    /// The versions the range's ACS supports.
    pub acs_versions: Vec<MessageVersion>,
    /// `acsInfoInd` codes.
    pub acs_info_ind: Vec<String>,
    pub three_ds_method_url: Option<String>,
}

impl RangeEntry {
    fn range(&self) -> Option<PanRange> {
        PanRange::new(&self.start_range, &self.end_range)
    }

    /// The range as PRes card range data of `version`.
    pub fn to_card_range(&self, version: MessageVersion, action: ActionIndicator) -> CardRange {
        let info: Vec<AcsInfoIndicator> = self
            .acs_info_ind
            .iter()
            .filter_map(|c| AcsInfoIndicator::from_code(c))
            .collect();
        let info = (!info.is_empty()).then_some(info);
        let mut range = CardRange {
            start_range: Some(self.start_range.clone()),
            end_range: Some(self.end_range.clone()),
            action_ind: Some(action),
            ..CardRange::default()
        };
        // A deletion names the range and its versions (required members) only.
        let full = action != ActionIndicator::Delete;
        if version < MessageVersion::V2_3_1 {
            range.acs_start_protocol_version = self.acs_versions.first().map(|v| v.to_string());
            range.acs_end_protocol_version = self.acs_versions.last().map(|v| v.to_string());
            if full {
                range.acs_info_ind = info;
                range.three_ds_method_url = self.three_ds_method_url.clone();
            }
        } else {
            range.acs_protocol_versions = Some(
                self.acs_versions
                    .iter()
                    .map(|v| AcsProtocolVersion {
                        version: Some(v.to_string()),
                        acs_info_ind: if full { info.clone() } else { None },
                        three_ds_method_url: if full {
                            self.three_ds_method_url.clone()
                        } else {
                            None
                        },
                        supported_msg_ext: None,
                    })
                    .collect(),
            );
        }
        range
    }
}

/// A protocol error to answer with: the code and the elements at fault.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{code}: {detail} ({why})")]
pub struct RangeError {
    pub code: ErrorCode,
    /// For `errorDetail`.
    pub detail: String,
    /// For `errorDescription`.
    pub why: String,
}

fn range_error(code: ErrorCode, detail: impl Into<String>, why: impl Into<String>) -> RangeError {
    RangeError {
        code,
        detail: detail.into(),
        why: why.into(),
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Change {
    Upsert(RangeEntry),
    Delete(RangeEntry),
}

/// The DS's card ranges, with the history needed to answer incremental PReqs.
#[derive(Debug, Clone, Default)]
pub struct Registry {
    entries: Vec<RangeEntry>,
    /// The serial number of the current state; every change increments it.
    serial: u64,
    /// `(serial after the change, change)`, oldest first.
    history: Vec<(u64, Change)>,
    /// The ranges at serial 1, before any recorded change.
    initial: Vec<PanRange>,
}

impl Registry {
    /// A registry holding `entries` (which must be valid and must not overlap).
    pub fn new(entries: Vec<RangeEntry>) -> Result<Registry, RangeError> {
        let mut registry = Registry {
            entries: Vec::new(),
            serial: 1,
            history: Vec::new(),
            initial: Vec::new(),
        };
        for entry in entries {
            let range = registry.check(&entry)?;
            registry.entries.push(entry);
            registry.initial.push(range);
        }
        Ok(registry)
    }

    fn check(&self, entry: &RangeEntry) -> Result<PanRange, RangeError> {
        let range = entry.range().ok_or_else(|| {
            range_error(
                ErrorCode::InvalidFormat,
                "startRange,endRange",
                format!(
                    "{}–{} is not a card range",
                    entry.start_range, entry.end_range
                ),
            )
        })?;
        if entry.acs_versions.is_empty() {
            return Err(range_error(
                ErrorCode::InvalidFormat,
                "acsProtocolVersions",
                "a range needs at least one ACS version",
            ));
        }
        let clash = self
            .entries
            .iter()
            .find(|e| e.range().is_some_and(|r| r.overlaps(&range) && r != range));
        if let Some(other) = clash {
            return Err(range_error(
                ErrorCode::CardRangeOverlap,
                "cardRangeData",
                format!(
                    "{}–{} overlaps {}–{}",
                    entry.start_range, entry.end_range, other.start_range, other.end_range
                ),
            ));
        }
        Ok(range)
    }

    /// The current serial number, as sent in `serialNum`.
    pub fn serial(&self) -> String {
        self.serial.to_string()
    }

    pub fn entries(&self) -> &[RangeEntry] {
        &self.entries
    }

    /// The entry covering `pan`.
    pub fn find(&self, pan: &str) -> Option<&RangeEntry> {
        self.entries
            .iter()
            .find(|e| e.range().is_some_and(|r| r.contains(pan)))
    }

    /// Adds a range, or replaces the data of the range with the same bounds.
    pub fn upsert(&mut self, entry: RangeEntry) -> Result<(), RangeError> {
        let range = self.check(&entry)?;
        match self.entries.iter_mut().find(|e| e.range() == Some(range)) {
            Some(existing) => *existing = entry.clone(),
            None => self.entries.push(entry.clone()),
        }
        self.serial += 1;
        self.history.push((self.serial, Change::Upsert(entry)));
        Ok(())
    }

    /// Removes the range with these bounds; false if there is none.
    pub fn remove(&mut self, start_range: &str, end_range: &str) -> bool {
        let Some(range) = PanRange::new(start_range, end_range) else {
            return false;
        };
        let Some(pos) = self.entries.iter().position(|e| e.range() == Some(range)) else {
            return false;
        };
        let entry = self.entries.remove(pos);
        self.serial += 1;
        self.history.push((self.serial, Change::Delete(entry)));
        true
    }

    /// The PRes answering `preq`: everything without `serialNum`, the changes since an
    /// older serial number, nothing for the current one, 307 for one never issued.
    pub fn answer(
        &self,
        preq: &PReq,
        ds_trans_id: TransId,
        ds_versions: &[MessageVersion],
    ) -> Result<PRes, RangeError> {
        let version = preq.message_version;
        let ranges: Vec<CardRange> = match preq.serial_num.as_deref() {
            None => self
                .entries
                .iter()
                .map(|e| e.to_card_range(version, ActionIndicator::Add))
                .collect(),
            Some(s) => {
                let since = s
                    .parse::<u64>()
                    .ok()
                    .filter(|n| *n >= 1 && *n <= self.serial)
                    .ok_or_else(|| {
                        range_error(
                            ErrorCode::SerialNumberInvalid,
                            "serialNum",
                            format!("serialNum {s:?} was not issued by this DS"),
                        )
                    })?;
                self.changes_since(since, version)
            }
        };
        let mut pres = PRes::new(version);
        pres.three_ds_server_trans_id = preq.three_ds_server_trans_id.clone();
        pres.ds_trans_id = Some(ds_trans_id);
        pres.serial_num = Some(self.serial());
        if version < MessageVersion::V2_3_1 {
            pres.ds_start_protocol_version = ds_versions.first().map(|v| v.to_string());
            pres.ds_end_protocol_version = ds_versions.last().map(|v| v.to_string());
        } else {
            pres.ds_protocol_versions = Some(ds_versions.iter().map(|v| v.to_string()).collect());
        }
        pres.card_range_data = (!ranges.is_empty()).then_some(ranges);
        Ok(pres)
    }

    /// The ranges a 3DS Server holding `serial` has.
    fn known_at(&self, serial: u64) -> Vec<PanRange> {
        let mut known = self.initial.clone();
        for (_, change) in self.history.iter().take_while(|(at, _)| *at <= serial) {
            match change {
                Change::Upsert(e) => {
                    if let Some(r) = e.range()
                        && !known.contains(&r)
                    {
                        known.push(r);
                    }
                }
                Change::Delete(e) => known.retain(|r| Some(*r) != e.range()),
            }
        }
        known
    }

    /// The net change per range since `serial`, in the order ranges last changed: M for
    /// a range the 3DS Server has and we still have, A for one it lacks, D for one it has
    /// and we no longer have (a range added and removed since is not mentioned).
    fn changes_since(&self, serial: u64, version: MessageVersion) -> Vec<CardRange> {
        let known = self.known_at(serial);
        let mut touched: Vec<PanRange> = Vec::new();
        let mut last_entry: Vec<(PanRange, &RangeEntry)> = Vec::new();
        for (_, change) in self.history.iter().filter(|(at, _)| *at > serial) {
            let entry = match change {
                Change::Upsert(e) | Change::Delete(e) => e,
            };
            let Some(range) = entry.range() else { continue };
            touched.retain(|r| *r != range);
            touched.push(range);
            last_entry.retain(|(r, _)| *r != range);
            last_entry.push((range, entry));
        }
        let mut out = Vec::new();
        for range in touched {
            let had = known.contains(&range);
            let now = self.entries.iter().find(|e| e.range() == Some(range));
            match (had, now) {
                (true, Some(e)) => out.push(e.to_card_range(version, ActionIndicator::Modify)),
                (false, Some(e)) => out.push(e.to_card_range(version, ActionIndicator::Add)),
                (true, None) => {
                    if let Some((_, e)) = last_entry.iter().find(|(r, _)| *r == range) {
                        out.push(e.to_card_range(version, ActionIndicator::Delete));
                    }
                }
                (false, None) => {}
            }
        }
        out
    }
}

/// One range as the 3DS Server caches it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CachedRange {
    pub start_range: String,
    pub end_range: String,
    /// The ACS's versions, as strings (a DS may announce versions we do not speak).
    pub acs_versions: Vec<String>,
    pub acs_info_ind: Vec<String>,
    pub three_ds_method_url: Option<String>,
    /// The DS's versions for this range, when the range says so.
    pub ds_versions: Option<Vec<String>>,
}

/// The 3DS Server's card range cache, filled from PRes messages.
#[derive(Debug, Clone, Default)]
pub struct RangeCache {
    ranges: BTreeMap<PanRange, CachedRange>,
    serial: Option<String>,
    ds_versions: Vec<String>,
}

/// A cache as it is saved and restored (the 3DS Server's store keeps it as JSON).
#[derive(Debug, Clone, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RangeSnapshot {
    pub serial_num: Option<String>,
    pub ds_versions: Vec<String>,
    pub ranges: Vec<CachedRange>,
}

/// What applying a PRes did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Applied {
    pub added: usize,
    pub modified: usize,
    pub deleted: usize,
}

impl RangeCache {
    pub fn new() -> RangeCache {
        RangeCache::default()
    }

    /// The `serialNum` to send in the next PReq.
    pub fn serial(&self) -> Option<&str> {
        self.serial.as_deref()
    }

    pub fn len(&self) -> usize {
        self.ranges.len()
    }

    pub fn is_empty(&self) -> bool {
        self.ranges.is_empty()
    }

    /// The DS's protocol versions from the last PRes.
    pub fn ds_versions(&self) -> &[String] {
        &self.ds_versions
    }

    /// Everything the cache holds, to save.
    pub fn snapshot(&self) -> RangeSnapshot {
        RangeSnapshot {
            serial_num: self.serial.clone(),
            ds_versions: self.ds_versions.clone(),
            ranges: self.ranges.values().cloned().collect(),
        }
    }

    /// A cache from a saved snapshot, checked as a PRes would be (bounds, overlaps).
    pub fn restore(snapshot: RangeSnapshot) -> Result<RangeCache, RangeError> {
        let mut ranges = BTreeMap::new();
        for (i, cached) in snapshot.ranges.into_iter().enumerate() {
            let at = format!("ranges[{i}]");
            let Some(range) = PanRange::new(&cached.start_range, &cached.end_range) else {
                return Err(range_error(
                    ErrorCode::InvalidFormat,
                    at,
                    "not a card range",
                ));
            };
            if ranges.keys().any(|r: &PanRange| r.overlaps(&range)) {
                return Err(range_error(
                    ErrorCode::CardRangeOverlap,
                    at,
                    "overlapping ranges",
                ));
            }
            ranges.insert(range, cached);
        }
        Ok(RangeCache {
            ranges,
            serial: snapshot.serial_num,
            ds_versions: snapshot.ds_versions,
        })
    }

    /// The range covering `pan`.
    pub fn lookup(&self, pan: &str) -> Option<&CachedRange> {
        // Ranges do not overlap, so the candidate is the last one starting at or
        // before the PAN.
        let probe = pad19(pan, b'0')?;
        self.ranges
            .range(
                ..=PanRange {
                    start: probe,
                    end: u64::MAX,
                },
            )
            .next_back()
            .filter(|(r, _)| r.contains(pan))
            .map(|(_, c)| c)
    }

    /// Applies a PRes answering a PReq that carried `sent_serial`. All or nothing: on an
    /// error the cache is unchanged.
    pub fn apply(&mut self, pres: &PRes, sent_serial: Option<&str>) -> Result<Applied, RangeError> {
        let mut next = if sent_serial.is_none() {
            BTreeMap::new()
        } else {
            self.ranges.clone()
        };
        let mut applied = Applied::default();
        for (i, card_range) in pres.card_range_data.iter().flatten().enumerate() {
            let at = |member: &str| format!("cardRangeData[{i}]{member}");
            let (Some(start), Some(end)) = (&card_range.start_range, &card_range.end_range) else {
                return Err(range_error(
                    ErrorCode::RequiredElementMissing,
                    at(".startRange"),
                    "range without bounds",
                ));
            };
            let Some(range) = PanRange::new(start, end) else {
                return Err(range_error(
                    ErrorCode::InvalidFormat,
                    at(".endRange"),
                    "not a card range",
                ));
            };
            // Without a serial number every range is an addition (actionInd ignored).
            let action = if sent_serial.is_none() {
                ActionIndicator::Add
            } else {
                card_range.action_ind.unwrap_or(ActionIndicator::Add)
            };
            match action {
                ActionIndicator::Add => {
                    if let Some(other) = next.keys().find(|r| r.overlaps(&range) && **r != range) {
                        let other = &next[other];
                        return Err(range_error(
                            ErrorCode::CardRangeOverlap,
                            at(""),
                            format!(
                                "{start}–{end} overlaps cached {}–{}",
                                other.start_range, other.end_range
                            ),
                        ));
                    }
                    next.insert(range, cached(card_range, start, end));
                    applied.added += 1;
                }
                ActionIndicator::Modify => {
                    if !next.contains_key(&range) {
                        return Err(range_error(
                            ErrorCode::ActionNotPossible,
                            at(".actionInd"),
                            format!("cannot modify {start}–{end}: not in the cache"),
                        ));
                    }
                    next.insert(range, cached(card_range, start, end));
                    applied.modified += 1;
                }
                ActionIndicator::Delete => {
                    if next.remove(&range).is_none() {
                        return Err(range_error(
                            ErrorCode::ActionNotPossible,
                            at(".actionInd"),
                            format!("cannot delete {start}–{end}: not in the cache"),
                        ));
                    }
                    applied.deleted += 1;
                }
                ActionIndicator::Other(_) => {
                    return Err(range_error(
                        ErrorCode::InvalidFormat,
                        at(".actionInd"),
                        "unknown actionInd",
                    ));
                }
            }
        }
        self.ranges = next;
        self.serial = pres.serial_num.clone();
        self.ds_versions = match (
            &pres.ds_protocol_versions,
            &pres.ds_start_protocol_version,
            &pres.ds_end_protocol_version,
        ) {
            (Some(list), _, _) => list.clone(),
            (None, Some(start), Some(end)) => versions_between(start, end),
            _ => Vec::new(),
        };
        Ok(applied)
    }
}

fn cached(card_range: &CardRange, start: &str, end: &str) -> CachedRange {
    let codes = |list: &Option<Vec<AcsInfoIndicator>>| -> Vec<String> {
        list.iter()
            .flatten()
            .map(|c| c.as_str().to_owned())
            .collect()
    };
    match &card_range.acs_protocol_versions {
        Some(per_version) => CachedRange {
            start_range: start.to_owned(),
            end_range: end.to_owned(),
            acs_versions: per_version
                .iter()
                .filter_map(|v| v.version.clone())
                .collect(),
            // Capabilities and 3DS Method URL of the highest version listed.
            acs_info_ind: per_version
                .last()
                .map(|v| codes(&v.acs_info_ind))
                .unwrap_or_default(),
            three_ds_method_url: per_version
                .iter()
                .rev()
                .find_map(|v| v.three_ds_method_url.clone()),
            ds_versions: None,
        },
        None => CachedRange {
            start_range: start.to_owned(),
            end_range: end.to_owned(),
            acs_versions: match (
                &card_range.acs_start_protocol_version,
                &card_range.acs_end_protocol_version,
            ) {
                (Some(s), Some(e)) => versions_between(s, e),
                _ => Vec::new(),
            },
            acs_info_ind: codes(&card_range.acs_info_ind),
            three_ds_method_url: card_range.three_ds_method_url.clone(),
            ds_versions: match (
                &card_range.ds_start_protocol_version,
                &card_range.ds_end_protocol_version,
            ) {
                (Some(s), Some(e)) => Some(versions_between(s, e)),
                _ => None,
            },
        },
    }
}

fn version_key(v: &str) -> Option<(u32, u32, u32)> {
    let mut parts = v.split('.').map(|p| p.parse::<u32>().ok());
    Some((parts.next()??, parts.next()??, parts.next()??))
}

/// The versions this crate knows between `start` and `end` inclusive (the 2.1.0/2.2.0
/// PRes gives ranges, not lists).
pub fn versions_between(start: &str, end: &str) -> Vec<String> {
    let (Some(lo), Some(hi)) = (version_key(start), version_key(end)) else {
        return Vec::new();
    };
    MessageVersion::ALL
        .iter()
        .filter(|v| version_key(v.as_str()).is_some_and(|k| lo <= k && k <= hi))
        .map(|v| v.as_str().to_owned())
        .collect()
}

/// The highest version that the 3DS Server (`ours`), the DS and the ACS all support.
pub fn negotiate(ours: &[MessageVersion], ds: &[String], acs: &[String]) -> Option<MessageVersion> {
    ours.iter()
        .copied()
        .filter(|v| ds.iter().any(|d| d == v.as_str()) && acs.iter().any(|a| a == v.as_str()))
        .max()
}
