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

/// Why a call to the app's backend (the 3DS Server's requestor API) gave no answer to
/// use.
#[derive(Debug, thiserror::Error)]
pub enum BackendError {
    /// The request did not get through (connection, TLS, timeout).
    #[error(transparent)]
    Transport(#[from] transport::TransportError),
    /// The answer is not JSON.
    #[error("{endpoint} answered {status} with a body that is not JSON: {source}")]
    NotJson {
        endpoint: &'static str,
        status: u16,
        source: serde_json::Error,
    },
    /// The requestor API refused the request; `answer` is its error body (an `Erro`
    /// or `{"error": ...}`), which names the problem.
    #[error("{endpoint} answered {status}: {answer}")]
    Refused {
        endpoint: &'static str,
        status: u16,
        answer: Value,
    },
}

/// The JSON answer of a requestor-API call, or why there is none.
fn answer(endpoint: &'static str, reply: &transport::Reply) -> Result<Value, BackendError> {
    let answer: Value =
        serde_json::from_slice(&reply.body).map_err(|source| BackendError::NotJson {
            endpoint,
            status: reply.status,
            source,
        })?;
    if reply.status != 200 {
        return Err(BackendError::Refused {
            endpoint,
            status: reply.status,
            answer,
        });
    }
    Ok(answer)
}

/// `{api}/v1/preauth` for a card: whether it is enrolled, its directory server id and
/// the message version the 3DS Server negotiated (what an app needs before it creates
/// the SDK transaction), and the `threeDSServerTransID` to pass on to `/v1/auth`.
pub async fn preauth(
    client: &transport::Client,
    api: &str,
    pan: &str,
) -> Result<Value, BackendError> {
    let body = json!({ "acctNumber": pan }).to_string();
    let reply = client
        .post_json(&format!("{api}/v1/preauth"), body.into_bytes())
        .await?;
    answer("/v1/preauth", &reply)
}

/// POSTs `body` to `{api}/v1/auth` and returns the answer; a refusal carries the
/// status and the body that explains it.
pub async fn auth(
    client: &transport::Client,
    api: &str,
    body: &Value,
) -> Result<Value, BackendError> {
    let reply = client
        .post_json(&format!("{api}/v1/auth"), body.to_string().into_bytes())
        .await?;
    answer("/v1/auth", &reply)
}

/// `{api}/v1/postauth/{id}`: the transaction's result as the 3DS Server holds it.
pub async fn postauth(
    client: &transport::Client,
    api: &str,
    id: &str,
) -> Result<Value, BackendError> {
    let reply = client.get(&format!("{api}/v1/postauth/{id}")).await?;
    answer("/v1/postauth", &reply)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn reply(status: u16, body: &str) -> transport::Reply {
        transport::Reply {
            status,
            content_type: Some("application/json".into()),
            body: body.as_bytes().to_vec(),
        }
    }

    #[test]
    fn a_refusal_keeps_its_status_and_body() {
        let refused = answer("/v1/auth", &reply(400, r#"{"errorCode":"201"}"#));
        let Err(BackendError::Refused { status, answer, .. }) = refused else {
            panic!("a 400 is a refusal: {refused:?}");
        };
        assert_eq!((status, answer["errorCode"].as_str()), (400, Some("201")));
    }

    #[test]
    fn a_body_that_is_not_json_says_where_it_came_from() {
        let Err(why) = answer("/v1/preauth", &reply(502, "<html>")) else {
            panic!("not JSON");
        };
        assert!(
            why.to_string().starts_with("/v1/preauth answered 502"),
            "{why}"
        );
        let ok = answer("/v1/postauth", &reply(200, r#"{"status":"final"}"#));
        assert_eq!(ok.ok().map(|v| v["status"].clone()), Some(json!("final")));
    }
}
