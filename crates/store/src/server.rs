//! The 3DS Server's transactions.

use serde_json::Value;

use crate::{Store, StoreError, now_ms};

const TABLE: &str = "server_transactions";

/// Whether the result of an authentication is known.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    Pending,
    Final,
}

impl Status {
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Pending => "pending",
            Status::Final => "final",
        }
    }
}

/// The message a result came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Source {
    ARes,
    RReq,
}

impl Source {
    pub fn as_str(self) -> &'static str {
        match self {
            Source::ARes => "ARes",
            Source::RReq => "RReq",
        }
    }
}

/// An authentication the 3DS Server starts (at preauth, or at auth without preauth).
#[derive(Debug, Clone, Copy)]
pub struct NewServerTransaction<'a> {
    pub three_ds_server_trans_id: &'a str,
    pub pan: &'a str,
    pub directory_server_id: &'a str,
    pub message_version: Option<&'a str>,
    pub device_channel: Option<&'a str>,
    pub message_category: Option<&'a str>,
    /// The authentication this one continues (SPC: the one answered `S`).
    pub prior_trans_id: Option<&'a str>,
}

/// An authentication as the 3DS Server keeps it.
#[derive(Debug, Clone, PartialEq)]
pub struct ServerTransaction {
    pub three_ds_server_trans_id: String,
    pub pan_hash: String,
    pub directory_server_id: String,
    pub message_version: Option<String>,
    pub device_channel: Option<String>,
    pub message_category: Option<String>,
    pub status: Status,
    pub source: Option<Source>,
    /// The ARes or RReq as received.
    pub result: Option<Value>,
    /// The authentication this one continues (SPC: the one answered `S`).
    pub prior_trans_id: Option<String>,
    pub created_at: i64,
    pub updated_at: i64,
}

type Row = (
    String,
    String,
    String,
    Option<String>,
    Option<String>,
    Option<String>,
    String,
    Option<String>,
    Option<String>,
    i64,
    i64,
    Option<String>,
);

impl Store {
    /// Records a new, pending authentication, or (same id again) what is now known of it:
    /// directory server, version, channel and category. The card is the first one given.
    pub async fn begin_server_transaction(
        &self,
        new: &NewServerTransaction<'_>,
    ) -> Result<(), StoreError> {
        let protected = self
            .protect(TABLE, new.three_ds_server_trans_id, new.pan)
            .await?;
        let now = now_ms();
        self.write(
            "INSERT INTO server_transactions (three_ds_server_trans_id, pan_hash, pan_sealed, \
             directory_server_id, message_version, device_channel, message_category, status, \
             created_at, updated_at, prior_trans_id) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, 'pending', $8, $9, $10) \
             ON CONFLICT (three_ds_server_trans_id) DO UPDATE SET \
             directory_server_id = excluded.directory_server_id, \
             message_version = COALESCE(excluded.message_version, server_transactions.message_version), \
             device_channel = COALESCE(excluded.device_channel, server_transactions.device_channel), \
             message_category = COALESCE(excluded.message_category, server_transactions.message_category), \
             prior_trans_id = COALESCE(excluded.prior_trans_id, server_transactions.prior_trans_id), \
             updated_at = excluded.updated_at",
            vec![
                (new.three_ds_server_trans_id).into(),
                (&protected.pan_hash).into(),
                (&protected.sealed).into(),
                (new.directory_server_id).into(),
                (new.message_version).into(),
                (new.device_channel).into(),
                (new.message_category).into(),
                (now).into(),
                (now).into(),
                (new.prior_trans_id).into(),
            ],
        )
        .await?;
        Ok(())
    }

    /// Records the result of an authentication. Returns false when there is no such
    /// transaction.
    pub async fn record_server_result(
        &self,
        three_ds_server_trans_id: &str,
        status: Status,
        source: Source,
        result: &Value,
    ) -> Result<bool, StoreError> {
        let done = self
            .write(
                "UPDATE server_transactions SET status = $1, source = $2, result = $3, updated_at = $4 \
             WHERE three_ds_server_trans_id = $5",
                vec![
                    (status.as_str()).into(),
                    (source.as_str()).into(),
                    (result.to_string()).into(),
                    (now_ms()).into(),
                    (three_ds_server_trans_id).into(),
                ],
            )
            .await?;
        Ok(done == 1)
    }

    /// One authentication, if known.
    pub async fn server_transaction(
        &self,
        three_ds_server_trans_id: &str,
    ) -> Result<Option<ServerTransaction>, StoreError> {
        let row: Option<Row> = self
            .fetch_optional(
                "SELECT three_ds_server_trans_id, pan_hash, directory_server_id, message_version, \
             device_channel, message_category, status, source, result, created_at, updated_at, \
             prior_trans_id FROM server_transactions WHERE three_ds_server_trans_id = $1",
                vec![(three_ds_server_trans_id).into()],
            )
            .await?;
        let Some(row) = row else { return Ok(None) };
        let corrupt = |why: &str| StoreError::Corrupt(format!("{TABLE}/{}", row.0), why.to_owned());
        let status = match row.6.as_str() {
            "pending" => Status::Pending,
            "final" => Status::Final,
            _ => return Err(corrupt("unknown status")),
        };
        let source = match row.7.as_deref() {
            None => None,
            Some("ARes") => Some(Source::ARes),
            Some("RReq") => Some(Source::RReq),
            Some(_) => return Err(corrupt("unknown source")),
        };
        let result = match &row.8 {
            None => None,
            Some(json) => {
                Some(serde_json::from_str(json).map_err(|_| corrupt("result is not JSON"))?)
            }
        };
        Ok(Some(ServerTransaction {
            three_ds_server_trans_id: row.0,
            pan_hash: row.1,
            directory_server_id: row.2,
            message_version: row.3,
            device_channel: row.4,
            message_category: row.5,
            status,
            source,
            result,
            prior_trans_id: row.11,
            created_at: row.9,
            updated_at: row.10,
        }))
    }

    /// Keeps the request of an authentication (sealed: it holds the card), so a second
    /// authentication can be built from it.
    pub async fn keep_server_request(
        &self,
        three_ds_server_trans_id: &str,
        request: &Value,
    ) -> Result<(), StoreError> {
        let sealed = self
            .seal_bytes(
                "server_transactions.request",
                three_ds_server_trans_id,
                &serde_json::to_vec(request).unwrap_or_default(),
            )
            .await?;
        self.write(
            "UPDATE server_transactions SET request_sealed = $1 WHERE three_ds_server_trans_id = $2",
            vec![sealed.into(), three_ds_server_trans_id.into()],
        )
        .await?;
        Ok(())
    }

    /// The request kept by [`Store::keep_server_request`].
    pub async fn server_request(
        &self,
        three_ds_server_trans_id: &str,
    ) -> Result<Option<Value>, StoreError> {
        let row: Option<(Option<Vec<u8>>,)> = self.fetch_optional("SELECT request_sealed FROM server_transactions WHERE three_ds_server_trans_id = $1", vec![(three_ds_server_trans_id).into()])
        .await?;
        let Some((Some(sealed),)) = row else {
            return Ok(None);
        };
        let plain = self
            .reveal_bytes(
                "server_transactions.request",
                three_ds_server_trans_id,
                &sealed,
            )
            .await?;
        serde_json::from_slice(&plain).map(Some).map_err(|_| {
            StoreError::Corrupt(
                format!("{TABLE}/{three_ds_server_trans_id}"),
                "the kept request is not JSON".into(),
            )
        })
    }

    /// The authentication that continues `three_ds_server_trans_id`, if any.
    pub async fn continued_by(
        &self,
        three_ds_server_trans_id: &str,
    ) -> Result<Option<String>, StoreError> {
        let row: Option<(String,)> = self.fetch_optional("SELECT three_ds_server_trans_id FROM server_transactions WHERE prior_trans_id = $1 \
             ORDER BY created_at LIMIT 1", vec![(three_ds_server_trans_id).into()])
        .await?;
        Ok(row.map(|r| r.0))
    }
}
