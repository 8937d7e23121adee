//! The ACS's open challenges and decoupled authentications (durable, so a restart loses
//! neither a challenge nor its timeout), and what its 3DS Method page saw.

use serde_json::Value;

use crate::{Store, StoreError, now_ms};

const TABLE: &str = "acs_challenges";

/// A challenge as stored: the ACS's state (JSON) and the revision it was read at.
#[derive(Debug, Clone, PartialEq)]
pub struct StoredChallenge {
    pub state: Value,
    pub revision: i64,
}

fn due(due_at: Option<u64>) -> Option<i64> {
    due_at.map(|d| i64::try_from(d).unwrap_or(i64::MAX))
}

impl Store {
    /// Records a new challenge at revision 1.
    pub async fn insert_challenge(
        &self,
        acs_trans_id: &str,
        state: &Value,
        due_at: Option<u64>,
    ) -> Result<(), StoreError> {
        let json = state.to_string();
        self.write(
            "INSERT INTO acs_challenges (acs_trans_id, state, revision, due_at, updated_at) \
             VALUES ($1, $2, 1, $3, $4)",
            vec![
                acs_trans_id.into(),
                json.into(),
                due(due_at).into(),
                now_ms().into(),
            ],
        )
        .await?;
        Ok(())
    }

    /// The challenge of `acs_trans_id`, if there is one.
    pub async fn challenge(
        &self,
        acs_trans_id: &str,
    ) -> Result<Option<StoredChallenge>, StoreError> {
        let row: Option<(String, i64)> = self
            .fetch_optional(
                "SELECT state, revision FROM acs_challenges WHERE acs_trans_id = $1",
                vec![(acs_trans_id).into()],
            )
            .await?;
        row.map(|(state, revision)| {
            serde_json::from_str(&state)
                .map(|state| StoredChallenge { state, revision })
                .map_err(|e| StoreError::Corrupt(format!("{TABLE}/{acs_trans_id}"), e.to_string()))
        })
        .transpose()
    }

    /// Replaces the challenge's state if it is still at `revision`; `false` (and no
    /// change) if someone changed it since it was read.
    pub async fn update_challenge(
        &self,
        acs_trans_id: &str,
        revision: i64,
        state: &Value,
        due_at: Option<u64>,
    ) -> Result<bool, StoreError> {
        let json = state.to_string();
        let changed = self
            .write(
                "UPDATE acs_challenges SET state = $1, revision = revision + 1, \
                 due_at = $2, updated_at = $3 \
                 WHERE acs_trans_id = $4 AND revision = $5",
                vec![
                    json.into(),
                    due(due_at).into(),
                    now_ms().into(),
                    acs_trans_id.into(),
                    revision.into(),
                ],
            )
            .await?;
        Ok(changed == 1)
    }

    /// Challenges due at `now` (Unix ms) or before, oldest first, at most `limit`.
    pub async fn due_challenges(&self, now: u64, limit: u32) -> Result<Vec<String>, StoreError> {
        let now = i64::try_from(now).unwrap_or(i64::MAX);
        let rows: Vec<(String,)> = self
            .fetch_all(
                "SELECT acs_trans_id FROM acs_challenges WHERE due_at IS NOT NULL AND due_at <= $1 \
             ORDER BY due_at LIMIT $2",
                vec![(now).into(), (i64::from(limit)).into()],
            )
            .await?;
        Ok(rows.into_iter().map(|(id,)| id).collect())
    }

    /// The challenges still waiting for something (a timer or a delivery), newest
    /// first, at most `limit`: `(acsTransID, state)`.
    pub async fn open_challenges(&self, limit: u32) -> Result<Vec<(String, Value)>, StoreError> {
        let rows: Vec<(String, String)> = self
            .fetch_all(
                "SELECT acs_trans_id, state FROM acs_challenges WHERE due_at IS NOT NULL \
             ORDER BY updated_at DESC LIMIT $1",
                vec![(i64::from(limit)).into()],
            )
            .await?;
        rows.into_iter()
            .map(|(id, state)| {
                serde_json::from_str(&state)
                    .map(|state| (id.clone(), state))
                    .map_err(|e| StoreError::Corrupt(format!("{TABLE}/{id}"), e.to_string()))
            })
            .collect()
    }

    /// Records what the 3DS Method page saw for a transaction (the last run wins).
    pub async fn record_method_run(
        &self,
        three_ds_server_trans_id: &str,
        facts: &Value,
    ) -> Result<(), StoreError> {
        let json = facts.to_string();
        self.write(
            "INSERT INTO acs_method_runs (three_ds_server_trans_id, facts, created_at) \
             VALUES ($1, $2, $3) ON CONFLICT (three_ds_server_trans_id) \
             DO UPDATE SET facts = excluded.facts, created_at = excluded.created_at",
            vec![
                three_ds_server_trans_id.into(),
                json.into(),
                now_ms().into(),
            ],
        )
        .await?;
        Ok(())
    }

    /// What the 3DS Method page saw for a transaction, if it ran.
    pub async fn method_run(
        &self,
        three_ds_server_trans_id: &str,
    ) -> Result<Option<Value>, StoreError> {
        let row: Option<(String,)> = self
            .fetch_optional(
                "SELECT facts FROM acs_method_runs WHERE three_ds_server_trans_id = $1",
                vec![(three_ds_server_trans_id).into()],
            )
            .await?;
        row.map(|(facts,)| {
            serde_json::from_str(&facts).map_err(|e| {
                StoreError::Corrupt(
                    format!("acs_method_runs/{three_ds_server_trans_id}"),
                    e.to_string(),
                )
            })
        })
        .transpose()
    }
}
