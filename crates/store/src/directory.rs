//! The Directory Server's transactions: what it needs to relay an RReq to the 3DS
//! Server that sent the AReq.

use crate::{Store, StoreError, now_ms};

const TABLE: &str = "ds_transactions";

/// An AReq the DS forwards to an ACS.
#[derive(Debug, Clone, Copy)]
pub struct NewDsTransaction<'a> {
    pub ds_trans_id: &'a str,
    pub directory_server_id: &'a str,
    pub three_ds_server_trans_id: &'a str,
    pub three_ds_server_url: Option<&'a str>,
    pub acs_url: &'a str,
    pub pan: &'a str,
    pub message_version: &'a str,
}

/// A routed authentication as the DS keeps it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DsTransaction {
    pub ds_trans_id: String,
    pub directory_server_id: String,
    pub three_ds_server_trans_id: String,
    pub three_ds_server_url: Option<String>,
    pub acs_url: String,
    pub acs_trans_id: Option<String>,
    pub pan_hash: String,
    pub message_version: String,
    pub trans_status: Option<String>,
}

type Row = (
    String,
    String,
    String,
    Option<String>,
    String,
    Option<String>,
    String,
    String,
    Option<String>,
);

impl Store {
    pub async fn insert_ds_transaction(
        &self,
        new: &NewDsTransaction<'_>,
    ) -> Result<(), StoreError> {
        let protected = self.protect(TABLE, new.ds_trans_id, new.pan).await?;
        let now = now_ms();
        self.write(
            "INSERT INTO ds_transactions (ds_trans_id, directory_server_id, \
             three_ds_server_trans_id, three_ds_server_url, acs_url, pan_hash, pan_sealed, \
             message_version, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
            vec![
                (new.ds_trans_id).into(),
                (new.directory_server_id).into(),
                (new.three_ds_server_trans_id).into(),
                (new.three_ds_server_url).into(),
                (new.acs_url).into(),
                (&protected.pan_hash).into(),
                (&protected.sealed).into(),
                (new.message_version).into(),
                (now).into(),
                (now).into(),
            ],
        )
        .await?;
        Ok(())
    }

    /// Records the ACS's answer (ARes or RReq) to a routed authentication.
    pub async fn record_ds_answer(
        &self,
        ds_trans_id: &str,
        acs_trans_id: Option<&str>,
        trans_status: Option<&str>,
    ) -> Result<bool, StoreError> {
        let done = self
            .write(
                "UPDATE ds_transactions SET acs_trans_id = COALESCE($1, acs_trans_id), \
             trans_status = COALESCE($2, trans_status), updated_at = $3 WHERE ds_trans_id = $4",
                vec![
                    (acs_trans_id).into(),
                    (trans_status).into(),
                    (now_ms()).into(),
                    (ds_trans_id).into(),
                ],
            )
            .await?;
        Ok(done == 1)
    }

    pub async fn ds_transaction(
        &self,
        ds_trans_id: &str,
    ) -> Result<Option<DsTransaction>, StoreError> {
        let row: Option<Row> = self
            .fetch_optional(
                "SELECT ds_trans_id, directory_server_id, three_ds_server_trans_id, \
             three_ds_server_url, acs_url, acs_trans_id, pan_hash, message_version, trans_status \
             FROM ds_transactions WHERE ds_trans_id = $1",
                vec![(ds_trans_id).into()],
            )
            .await?;
        Ok(row.map(|r| DsTransaction {
            ds_trans_id: r.0,
            directory_server_id: r.1,
            three_ds_server_trans_id: r.2,
            three_ds_server_url: r.3,
            acs_url: r.4,
            acs_trans_id: r.5,
            pan_hash: r.6,
            message_version: r.7,
            trans_status: r.8,
        }))
    }
}
