//! The ACS's cards: seeded from the issuer configuration at start, found by the keyed
//! hash of the PAN at authentication time.

use crate::{Store, StoreError, now_ms};

const TABLE: &str = "issuer_cards";

/// A card as the ACS keeps it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IssuerCard {
    /// First six and last four digits.
    pub pan_masked: String,
    /// The outcome name (`frictionless-Y`, …).
    pub outcome: String,
    pub description: String,
}

/// The PAN as `emv3ds::values::Pan` shows it (first six, last four).
fn mask(pan: &str) -> String {
    emv3ds::values::Pan::parse(pan).map_or_else(|| "•".repeat(pan.chars().count()), |p| p.masked())
}

impl Store {
    /// Adds a card, or replaces what an existing one does.
    pub async fn upsert_card(
        &self,
        pan: &str,
        outcome: &str,
        description: &str,
    ) -> Result<(), StoreError> {
        let pan_hash = self.pan_hash(pan).await?;
        let protected = self.seal(TABLE, &pan_hash, pan, pan_hash.clone()).await?;
        self.write(
            "INSERT INTO issuer_cards (pan_hash, pan_sealed, pan_masked, outcome, description, \
             updated_at) VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (pan_hash) DO UPDATE SET \
             outcome = excluded.outcome, description = excluded.description, \
             updated_at = excluded.updated_at",
            vec![
                (&protected.pan_hash).into(),
                (&protected.sealed).into(),
                (mask(pan)).into(),
                (outcome).into(),
                (description).into(),
                (now_ms()).into(),
            ],
        )
        .await?;
        Ok(())
    }

    /// The card whose PAN has this keyed hash.
    pub async fn card_by_hash(&self, pan_hash: &str) -> Result<Option<IssuerCard>, StoreError> {
        let row: Option<(String, String, String)> = self
            .fetch_optional(
                "SELECT pan_masked, outcome, description FROM issuer_cards WHERE pan_hash = $1",
                vec![(pan_hash).into()],
            )
            .await?;
        Ok(row.map(|(pan_masked, outcome, description)| IssuerCard {
            pan_masked,
            outcome,
            description,
        }))
    }

    /// Every card, by masked PAN.
    pub async fn cards(&self) -> Result<Vec<IssuerCard>, StoreError> {
        let rows: Vec<(String, String, String)> = self
            .fetch_all(
                "SELECT pan_masked, outcome, description FROM issuer_cards ORDER BY pan_masked",
                vec![],
            )
            .await?;
        Ok(rows
            .into_iter()
            .map(|(pan_masked, outcome, description)| IssuerCard {
                pan_masked,
                outcome,
                description,
            })
            .collect())
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn masks_keep_six_and_four() {
        assert_eq!(super::mask("4000000000000002"), "400000••••••0002");
        assert_eq!(super::mask("123"), "•••");
    }
}
