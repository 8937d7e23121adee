//! The 3DS Server's card-range cache, one JSON document per Directory Server, so a
//! restarted 3DS Server asks only for the changes since its `serialNum`.

use serde_json::Value;

use crate::{Store, StoreError, now_ms};

/// A saved cache: the `serialNum` it is at and its ranges (the 3DS Server's own JSON).
#[derive(Debug, Clone, PartialEq)]
pub struct SavedRanges {
    pub serial_num: Option<String>,
    pub ranges: Value,
}

impl Store {
    pub async fn save_ranges(
        &self,
        directory_server_id: &str,
        saved: &SavedRanges,
    ) -> Result<(), StoreError> {
        self.write(
            "INSERT INTO card_range_caches (directory_server_id, serial_num, ranges, updated_at) \
             VALUES ($1, $2, $3, $4) ON CONFLICT (directory_server_id) DO UPDATE SET \
             serial_num = excluded.serial_num, ranges = excluded.ranges, \
             updated_at = excluded.updated_at",
            vec![
                (directory_server_id).into(),
                (&saved.serial_num).into(),
                (saved.ranges.to_string()).into(),
                (now_ms()).into(),
            ],
        )
        .await?;
        Ok(())
    }

    pub async fn load_ranges(
        &self,
        directory_server_id: &str,
    ) -> Result<Option<SavedRanges>, StoreError> {
        let row: Option<(Option<String>, String)> = self
            .fetch_optional(
                "SELECT serial_num, ranges FROM card_range_caches WHERE directory_server_id = $1",
                vec![(directory_server_id).into()],
            )
            .await?;
        row.map(|(serial_num, ranges)| {
            let ranges = serde_json::from_str(&ranges).map_err(|_| {
                StoreError::Corrupt(
                    format!("card_range_caches/{directory_server_id}"),
                    "ranges are not JSON".into(),
                )
            })?;
            Ok(SavedRanges { serial_num, ranges })
        })
        .transpose()
    }
}
