//! The ACS's transactions: what it answered, for 3RI prior-authentication checks and
//! for later challenge and RReq work.

use crate::{Protected, Store, StoreError, now_ms};

/// An authentication the ACS answered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AcsTransaction {
    pub acs_trans_id: String,
    pub ds_trans_id: Option<String>,
    pub three_ds_server_trans_id: String,
    pub message_version: String,
    pub device_channel: String,
    pub message_category: String,
    pub trans_status: String,
    pub trans_status_reason: Option<String>,
    pub eci: Option<String>,
}

type Row = (
    String,
    Option<String>,
    String,
    String,
    String,
    String,
    String,
    Option<String>,
    Option<String>,
    String,
);

impl Store {
    /// Records an answered authentication; `card` is the PAN protected for table
    /// `acs_transactions` and this `acsTransID`.
    pub async fn insert_acs_transaction(
        &self,
        transaction: &AcsTransaction,
        card: &Protected,
    ) -> Result<(), StoreError> {
        let t = transaction;
        self.write(
            "INSERT INTO acs_transactions (acs_trans_id, ds_trans_id, three_ds_server_trans_id, \
             pan_hash, pan_sealed, message_version, device_channel, message_category, \
             trans_status, trans_status_reason, eci, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)",
            vec![
                (&t.acs_trans_id).into(),
                (&t.ds_trans_id).into(),
                (&t.three_ds_server_trans_id).into(),
                (&card.pan_hash).into(),
                (&card.sealed).into(),
                (&t.message_version).into(),
                (&t.device_channel).into(),
                (&t.message_category).into(),
                (&t.trans_status).into(),
                (&t.trans_status_reason).into(),
                (&t.eci).into(),
                (now_ms()).into(),
            ],
        )
        .await?;
        Ok(())
    }

    /// An answered authentication and the hash of its card.
    pub async fn acs_transaction(
        &self,
        acs_trans_id: &str,
    ) -> Result<Option<(AcsTransaction, String)>, StoreError> {
        let row: Option<Row> = self
            .fetch_optional(
                "SELECT acs_trans_id, ds_trans_id, three_ds_server_trans_id, message_version, \
             device_channel, message_category, trans_status, trans_status_reason, eci, pan_hash \
             FROM acs_transactions WHERE acs_trans_id = $1",
                vec![(acs_trans_id).into()],
            )
            .await?;
        Ok(row.map(|r| {
            (
                AcsTransaction {
                    acs_trans_id: r.0,
                    ds_trans_id: r.1,
                    three_ds_server_trans_id: r.2,
                    message_version: r.3,
                    device_channel: r.4,
                    message_category: r.5,
                    trans_status: r.6,
                    trans_status_reason: r.7,
                    eci: r.8,
                },
                r.9,
            )
        }))
    }
}
