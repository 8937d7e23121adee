//! Secure Payment Confirmation at the ACS: the credentials registered per card, and the
//! single-use confirmations issued with an ARes `S`.

use serde_json::Value;

use crate::{Store, StoreError, now_ms};

/// A registered credential.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SpcCredential {
    /// base64url.
    pub credential_id: String,
    pub rp_id: String,
    /// `ES256` or `RS256`.
    pub algorithm: String,
    /// SubjectPublicKeyInfo, DER.
    pub public_key: Vec<u8>,
    pub sign_count: u32,
    pub created_at: i64,
    pub last_used_at: Option<i64>,
}

/// A confirmation issued for an ARes `S`.
#[derive(Debug, Clone, PartialEq)]
pub struct SpcOffer {
    pub pan_hash: String,
    pub issued: Value,
    pub used: bool,
    pub result: Option<Value>,
}

type CredentialRow = (String, String, String, Vec<u8>, i64, i64, Option<i64>);
/// A credential row and its card.
type OwnedCredentialRow = (
    String,
    String,
    String,
    Vec<u8>,
    i64,
    i64,
    Option<i64>,
    String,
);

fn credential(row: CredentialRow) -> SpcCredential {
    SpcCredential {
        credential_id: row.0,
        rp_id: row.1,
        algorithm: row.2,
        public_key: row.3,
        sign_count: u32::try_from(row.4).unwrap_or(0),
        created_at: row.5,
        last_used_at: row.6,
    }
}

const CREDENTIAL_COLUMNS: &str =
    "credential_id, rp_id, algorithm, public_key, sign_count, created_at, last_used_at";

impl Store {
    /// Registers a credential for the card `pan_hash`. Registering the same credential id
    /// again (for the same card) replaces its key and counter; an id registered for
    /// another card is refused (`false`).
    pub async fn add_spc_credential(
        &self,
        pan_hash: &str,
        credential: &SpcCredential,
    ) -> Result<bool, StoreError> {
        let done = self
            .write(
                "INSERT INTO spc_credentials (credential_id, pan_hash, rp_id, algorithm, \
                 public_key, sign_count, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7) \
                 ON CONFLICT (credential_id) DO UPDATE SET rp_id = excluded.rp_id, \
                 algorithm = excluded.algorithm, public_key = excluded.public_key, \
                 sign_count = excluded.sign_count WHERE spc_credentials.pan_hash = excluded.pan_hash",
                vec![
                    credential.credential_id.as_str().into(),
                    pan_hash.into(),
                    credential.rp_id.as_str().into(),
                    credential.algorithm.as_str().into(),
                    (&credential.public_key).into(),
                    i64::from(credential.sign_count).into(),
                    now_ms().into(),
                ],
            )
            .await?;
        Ok(done == 1)
    }

    /// The card's credentials, oldest first.
    pub async fn spc_credentials(&self, pan_hash: &str) -> Result<Vec<SpcCredential>, StoreError> {
        let rows: Vec<CredentialRow> = self
            .fetch_all(
                &format!(
                    "SELECT {CREDENTIAL_COLUMNS} FROM spc_credentials WHERE pan_hash = $1 \
             ORDER BY created_at, credential_id"
                ),
                vec![(pan_hash).into()],
            )
            .await?;
        Ok(rows.into_iter().map(credential).collect())
    }

    /// One credential and the card it belongs to.
    pub async fn spc_credential(
        &self,
        credential_id: &str,
    ) -> Result<Option<(SpcCredential, String)>, StoreError> {
        let row: Option<OwnedCredentialRow> = self
            .fetch_optional(
                &format!(
                    "SELECT {CREDENTIAL_COLUMNS}, pan_hash FROM spc_credentials \
                 WHERE credential_id = $1"
                ),
                vec![(credential_id).into()],
            )
            .await?;
        Ok(row.map(|r| (credential((r.0, r.1, r.2, r.3, r.4, r.5, r.6)), r.7)))
    }

    /// Deletes a credential of the card; `false` if the card has no such credential.
    pub async fn delete_spc_credential(
        &self,
        pan_hash: &str,
        credential_id: &str,
    ) -> Result<bool, StoreError> {
        let done = self
            .write(
                "DELETE FROM spc_credentials WHERE credential_id = $1 AND pan_hash = $2",
                vec![credential_id.into(), pan_hash.into()],
            )
            .await?;
        Ok(done == 1)
    }

    /// Moves a credential's counter on after an accepted assertion, if it still is at
    /// `seen` (two assertions checked at once cannot both move it).
    pub async fn use_spc_credential(
        &self,
        credential_id: &str,
        seen: u32,
        now: u32,
    ) -> Result<bool, StoreError> {
        let done = self
            .write(
                "UPDATE spc_credentials SET sign_count = $1, last_used_at = $2 \
                 WHERE credential_id = $3 AND sign_count = $4",
                vec![
                    i64::from(now).into(),
                    now_ms().into(),
                    credential_id.into(),
                    i64::from(seen).into(),
                ],
            )
            .await?;
        Ok(done == 1)
    }

    /// Records a confirmation issued with the ARes `S` of `acs_trans_id`.
    pub async fn insert_spc_offer(
        &self,
        acs_trans_id: &str,
        pan_hash: &str,
        issued: &Value,
    ) -> Result<(), StoreError> {
        self.write(
            "INSERT INTO spc_offers (acs_trans_id, pan_hash, issued, created_at) \
             VALUES ($1, $2, $3, $4)",
            vec![
                acs_trans_id.into(),
                pan_hash.into(),
                issued.to_string().into(),
                now_ms().into(),
            ],
        )
        .await?;
        Ok(())
    }

    /// The confirmation issued with the ARes `S` of `acs_trans_id`.
    pub async fn spc_offer(&self, acs_trans_id: &str) -> Result<Option<SpcOffer>, StoreError> {
        let row: Option<(String, String, Option<i64>, Option<String>)> = self
            .fetch_optional(
                "SELECT pan_hash, issued, used_at, result FROM spc_offers WHERE acs_trans_id = $1",
                vec![(acs_trans_id).into()],
            )
            .await?;
        let Some((pan_hash, issued, used_at, result)) = row else {
            return Ok(None);
        };
        let corrupt = |what: &str| {
            StoreError::Corrupt(
                format!("spc_offers/{acs_trans_id}"),
                format!("{what} is not JSON"),
            )
        };
        Ok(Some(SpcOffer {
            pan_hash,
            issued: serde_json::from_str(&issued).map_err(|_| corrupt("issued"))?,
            used: used_at.is_some(),
            result: result
                .map(|r| serde_json::from_str(&r).map_err(|_| corrupt("result")))
                .transpose()?,
        }))
    }

    /// Uses the confirmation up, recording what the check of its assertion found; `false`
    /// if it was already used (a replay).
    pub async fn use_spc_offer(
        &self,
        acs_trans_id: &str,
        result: &Value,
    ) -> Result<bool, StoreError> {
        let done = self
            .write(
                "UPDATE spc_offers SET used_at = $1, result = $2 \
                 WHERE acs_trans_id = $3 AND used_at IS NULL",
                vec![
                    now_ms().into(),
                    result.to_string().into(),
                    acs_trans_id.into(),
                ],
            )
            .await?;
        Ok(done == 1)
    }
}
