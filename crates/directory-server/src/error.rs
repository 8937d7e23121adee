//! What can go wrong inside the DS, typed, and the one place each failure becomes the
//! `Erro` a 3DS Server or an ACS gets ([`DsError::error_code`], [`DsError::detail`]).
//! Failures of the message itself (101–204) are the validator's; failures of a peer
//! the DS called (402, 405, an invalid answer) are `transport::exchange`'s.
//!
//! It must never carry a card number, decrypted device data or a key: the texts name
//! what failed, not the data.

use emv3ds::ErrorCode;
use emv3ds::card_ranges::RangeError;

/// A failure of the DS's own work on a message the validator accepted.
#[derive(Debug, thiserror::Error)]
pub enum DsError {
    /// The configured card ranges are not a valid registry (overlap, bad bounds).
    #[error("the card ranges: {0}")]
    CardRanges(RangeError),
    /// The card-range registry cannot be read (a writer panicked holding it).
    #[error("the card range registry is unavailable")]
    RegistryUnavailable,
    /// The registry refused a PReq (its serial number, say).
    #[error("{}", .0.why)]
    Refused(RangeError),
    /// The AReq's card number is in no range of this DS.
    #[error("the card number is in no card range of this DS")]
    NoRange,
    /// An app AReq came, and the DS has no key to open its `sdkEncData`.
    #[error("this DS has no device data key, so it cannot read sdkEncData")]
    NoDeviceDataKey,
    /// The `sdkEncData` does not decrypt, or its plaintext is not device data.
    #[error("{0}")]
    DeviceData(#[from] app_crypto::CryptoError),
    /// The components' database failed while the DS was `doing` something.
    #[error("the DS could not {doing}: {source}")]
    Store {
        doing: &'static str,
        source: store::StoreError,
    },
    /// An RReq for a `dsTransID` this DS did not route.
    #[error("this DS routed no authentication with this dsTransID")]
    UnknownTransaction,
    /// An RReq whose ids disagree with the authentication the DS routed.
    #[error("the transaction ids do not match the authentication this DS routed")]
    Mismatched(Vec<&'static str>),
    /// The AReq of the transaction gave no `threeDSServerURL`, so the RReq has nowhere
    /// to go.
    #[error("the AReq of this transaction gave no threeDSServerURL to send the RReq to")]
    NoServerUrl,
    /// A message type the DS does not take.
    #[error("{} is not handled by this DS", .0.as_str())]
    NotHandled(emv3ds::codes::MessageType),
}

impl DsError {
    /// A database failure while `doing`.
    pub(crate) fn store(doing: &'static str) -> impl FnOnce(store::StoreError) -> DsError {
        move |source| DsError::Store { doing, source }
    }

    /// The `errorCode` the sender gets.
    ///
    /// Decision: a PAN in no card range is 305 (transaction data not valid), as
    /// 3dsecure.io answers for an unknown BIN; a missing device data key is 302 like
    /// device data that does not decrypt, since either way the DS cannot read it.
    pub fn error_code(&self) -> ErrorCode {
        match self {
            DsError::Refused(e) | DsError::CardRanges(e) => e.code,
            DsError::RegistryUnavailable | DsError::Store { .. } => {
                ErrorCode::TransientSystemFailure
            }
            DsError::NoRange | DsError::NoServerUrl => ErrorCode::TransactionDataInvalid,
            DsError::NoDeviceDataKey | DsError::DeviceData(_) => ErrorCode::DecryptionFailure,
            DsError::UnknownTransaction | DsError::Mismatched(_) => {
                ErrorCode::TransactionIdNotRecognised
            }
            DsError::NotHandled(_) => ErrorCode::MessageInvalid,
        }
    }

    /// The `errorDetail`: the elements at fault (empty for a system failure).
    pub fn detail(&self) -> String {
        match self {
            DsError::Refused(e) | DsError::CardRanges(e) => e.detail.clone(),
            DsError::RegistryUnavailable => "cardRangeData".into(),
            DsError::Store { .. } => String::new(),
            DsError::NoRange => "acctNumber".into(),
            DsError::NoDeviceDataKey | DsError::DeviceData(_) => "sdkEncData".into(),
            DsError::UnknownTransaction => "dsTransID".into(),
            DsError::Mismatched(elements) => elements.join(","),
            DsError::NoServerUrl => "threeDSServerURL".into(),
            DsError::NotHandled(_) => "messageType".into(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_failure_has_the_code_and_elements_its_sender_needs() {
        let cases = [
            (DsError::RegistryUnavailable, "403", "cardRangeData"),
            (
                DsError::store("record the transaction")(store::StoreError::Closed),
                "403",
                "",
            ),
            (DsError::NoRange, "305", "acctNumber"),
            (DsError::NoDeviceDataKey, "302", "sdkEncData"),
            (DsError::UnknownTransaction, "301", "dsTransID"),
            (
                DsError::Mismatched(vec!["threeDSServerTransID", "acsTransID"]),
                "301",
                "threeDSServerTransID,acsTransID",
            ),
            (DsError::NoServerUrl, "305", "threeDSServerURL"),
            (
                DsError::NotHandled(emv3ds::codes::MessageType::CReq),
                "101",
                "messageType",
            ),
        ];
        for (error, code, detail) in cases {
            assert_eq!(error.error_code().as_str(), code, "{error}");
            assert_eq!(error.detail(), detail, "{error}");
        }
    }

    #[test]
    fn a_store_failure_says_what_the_ds_was_doing() {
        let error = DsError::store("record the RReq")(store::StoreError::Closed);
        assert!(
            error
                .to_string()
                .starts_with("the DS could not record the RReq: "),
            "{error}"
        );
    }
}
