//! `PReq` / `PRes`: the 3DS Server fetches card ranges from the DS.

use serde::{Deserialize, Serialize};

use super::{CardRange, MessageExtension, message};
use crate::values::TransId;

message! {
    /// Preparation request: 3DS Server → DS.
    ///
    /// ```json
    #[doc = include_str!("../../tests/data/valid/2.2.0/PReq.json")]
    /// ```
    pub struct PReq {
        three_ds_server_trans_id: TransId = "threeDSServerTransID",
        three_ds_server_ref_number: String = "threeDSServerRefNumber",
        three_ds_server_operator_id: String = "threeDSServerOperatorID",
        serial_num: String = "serialNum",
        card_range_data_download_ind: String = "cardRangeDataDownloadInd",
        message_extension: Vec<MessageExtension> = "messageExtension",
    }
}

message! {
    /// Preparation response: DS → 3DS Server, with the card ranges.
    ///
    /// ```json
    #[doc = include_str!("../../tests/data/valid/2.3.1/PRes.json")]
    /// ```
    pub struct PRes {
        three_ds_server_trans_id: TransId = "threeDSServerTransID",
        ds_trans_id: TransId = "dsTransID",
        serial_num: String = "serialNum",
        ds_start_protocol_version: String = "dsStartProtocolVersion",
        ds_end_protocol_version: String = "dsEndProtocolVersion",
        ds_protocol_versions: Vec<String> = "dsProtocolVersions",
        card_range_data: Vec<CardRange> = "cardRangeData",
        card_range_data_file_url: String = "cardRangeDataFileURL",
        ds_url_list: Vec<String> = "dsUrlList",
        read_order: String = "readOrder",
        message_extension: Vec<MessageExtension> = "messageExtension",
    }
}
