//! A 3RI step: the requestor authenticates with no cardholder, optionally naming a
//! prior authentication.

use serde_json::json;

use crate::load::Step;

use super::*;

/// A requestor-initiated authentication: recurring (01), instalment (02), add card (03)
/// or another `threeRIInd`, referring to the prior step's authentication if given.
pub(super) async fn three_ri(
    target: &Target,
    step: &Step,
    prior: Option<String>,
) -> Result<Ended, String> {
    let (version, _) = version_of(target, step).await?;
    let indicator = step
        .requestor
        .three_ri_indicator
        .clone()
        .unwrap_or_else(|| "01".into());
    let purchase = purchase(step, "999");
    // 2.1.0 has no 3RI payment: its 3RI messages are non-payment (02).
    let payment = version != emv3ds::MessageVersion::V2_1_0 && indicator != "03";
    let mut body = json!({
        "deviceChannel": "03",
        "messageCategory": if payment { "01" } else { "02" },
        "threeRIInd": indicator,
        "acctNumber": purchase.pan,
        "acquirerBIN": "412345",
        "acquirerMerchantID": "M-000001234",
        "mcc": "5411",
        "merchantCountryCode": "826",
        "merchantName": "Sandbox Shop",
    });
    if payment {
        body["purchaseAmount"] = json!(purchase.amount);
        body["purchaseCurrency"] = json!(purchase.currency);
        body["purchaseExponent"] = json!(purchase.exponent);
        body["purchaseDate"] = json!("20261224101530");
    }
    match indicator.as_str() {
        "01" => {
            body["recurringExpiry"] = json!("20271231");
            body["recurringFrequency"] = json!("30");
        }
        "02" => {
            body["purchaseInstalData"] = json!("3");
            body["recurringExpiry"] = json!("20271231");
            body["recurringFrequency"] = json!("30");
        }
        _ => {}
    }
    if version == emv3ds::MessageVersion::V2_3_1 && matches!(indicator.as_str(), "01" | "02") {
        body["recurringInd"] = json!({"amountInd": "01", "frequencyInd": "01"});
    }
    if version == emv3ds::MessageVersion::V2_3_1 {
        body["acquirerCountryCode"] = json!("826");
        body["acquirerCountryCodeSource"] = json!("01");
    }
    if let Some(prior) = prior {
        let info = json!({
            "threeDSReqPriorRef": prior,
            "threeDSReqPriorAuthMethod": "02",
            "threeDSReqPriorAuthTimestamp": "202611241010",
        });
        body["threeDSRequestorPriorAuthenticationInfo"] =
            if version == emv3ds::MessageVersion::V2_3_1 {
                json!([info])
            } else {
                info
            };
    }
    requested(step, version, &mut body);
    let answer = match auth(target, &body).await? {
        Ok(answer) => answer,
        Err(erro) => return Ok(refused(erro)),
    };
    let id = trans_id(&answer)?;
    Ok(Ended {
        result: Some(final_result(target, &id).await?),
        acs_trans_id: answer["ares"]["acsTransID"].as_str().map(str::to_owned),
        transaction: Some(id),
        ..Ended::default()
    })
}
