//! What an app's backend does around the SDK: it sends the SDK's parameters with the
//! purchase to its 3DS Server (our requestor API: `/v1/auth`, `/v1/postauth`), and
//! hands the ARes back to the SDK. Used by `threeds sdk` and the tests; a real app's
//! backend would do the same with its own 3DS Server.

use serde_json::{Value, json};

use crate::AuthenticationRequestParameters;

/// The purchase an app authenticates.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Purchase {
    pub pan: String,
    pub expiry: String,
    /// Minor units.
    pub amount: String,
    /// ISO 4217 numeric.
    pub currency: String,
    pub exponent: String,
    pub merchant_name: String,
}

impl Purchase {
    pub fn new(pan: &str) -> Purchase {
        Purchase {
            pan: pan.to_owned(),
            expiry: "2712".into(),
            amount: "4999".into(),
            currency: "978".into(),
            exponent: "2".into(),
            merchant_name: "Sandbox App Shop".into(),
        }
    }
}

/// The `/v1/auth` body for an app-channel payment.
pub fn auth_request(purchase: &Purchase, params: &AuthenticationRequestParameters) -> Value {
    let mut body = json!({
        "messageCategory": "01",
        "threeDSRequestorAuthenticationInd": "01",
        "acctNumber": purchase.pan,
        "cardExpiryDate": purchase.expiry,
        "acquirerBIN": "412345",
        "acquirerMerchantID": "M-000001234",
        "mcc": "5411",
        "merchantCountryCode": "826",
        "merchantName": purchase.merchant_name,
        "purchaseAmount": purchase.amount,
        "purchaseCurrency": purchase.currency,
        "purchaseExponent": purchase.exponent,
        "purchaseDate": "20261124101530",
    });
    if params.message_version == emv3ds::MessageVersion::V2_3_1 {
        body["acquirerCountryCode"] = json!("826");
        body["acquirerCountryCodeSource"] = json!("01");
    }
    if let Value::Object(map) = &mut body {
        map.extend(params.areq_fields());
    }
    body
}

/// `{api}/v1/preauth` for a card: whether it is enrolled, its directory server id and
/// the message version the 3DS Server negotiated (what an app needs before it creates
/// the SDK transaction), and the `threeDSServerTransID` to pass on to `/v1/auth`.
pub async fn preauth(client: &transport::Client, api: &str, pan: &str) -> Result<Value, String> {
    let body = serde_json::json!({ "acctNumber": pan }).to_string();
    let reply = client
        .post_json(&format!("{api}/v1/preauth"), body.into_bytes())
        .await
        .map_err(|e| e.to_string())?;
    let answer: Value = serde_json::from_slice(&reply.body).map_err(|e| e.to_string())?;
    if reply.status != 200 {
        return Err(format!("/v1/preauth answered {}: {answer}", reply.status));
    }
    Ok(answer)
}

/// POSTs `body` to `{api}/v1/auth` and returns the answer; an error names the status
/// and body of a refusal.
pub async fn auth(client: &transport::Client, api: &str, body: &Value) -> Result<Value, String> {
    let reply = client
        .post_json(&format!("{api}/v1/auth"), body.to_string().into_bytes())
        .await
        .map_err(|e| e.to_string())?;
    let answer: Value = serde_json::from_slice(&reply.body).map_err(|e| e.to_string())?;
    if reply.status != 200 {
        return Err(format!("/v1/auth answered {}: {answer}", reply.status));
    }
    Ok(answer)
}

/// `{api}/v1/postauth/{id}`.
pub async fn postauth(client: &transport::Client, api: &str, id: &str) -> Result<Value, String> {
    let reply = client
        .get(&format!("{api}/v1/postauth/{id}"))
        .await
        .map_err(|e| e.to_string())?;
    serde_json::from_slice(&reply.body).map_err(|e| e.to_string())
}
