//! Secure Payment Confirmation steps: the test authenticator confirms the offer an
//! ARes `S` or a challenge page makes, as the page's script would have the browser do.

use serde_json::{Value, json};

use crate::load::{Act, Step};

use super::*;

/// The sandbox's test authenticator for `pan`, its counter where the ACS's record of
/// the credential has it (the issuer back office, behind the admin endpoint).
pub(super) async fn authenticator(
    target: &Target,
    rp_id: &str,
    pan: &str,
) -> Result<spc::software::SoftwareAuthenticator, String> {
    let mut authenticator = spc::software::SoftwareAuthenticator::test_key(rp_id, pan);
    let (_, reply) = target
        .admin
        .call(
            "POST",
            "/admin/issuer/spc-credentials",
            json!({ "acctNumber": pan }).to_string().into_bytes(),
        )
        .await
        .map_err(|e| e.to_string())?;
    let listed: Value = serde_json::from_slice(&reply).unwrap_or_default();
    let id = authenticator.credential_id();
    let count = listed["credentials"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|c| c["credentialId"] == id.as_str())
        .and_then(|c| c["signCount"].as_u64())
        .ok_or_else(|| {
            format!(
                "the ACS has no test credential registered for card {}",
                trace::redact::mask_pan(pan)
            )
        })?;
    authenticator.set_sign_count(u32::try_from(count).unwrap_or(u32::MAX));
    Ok(authenticator)
}

/// After an ARes `S`: the SPC dialog as the shop's page runs it, and the second
/// authentication (`/v1/auth/{id}/spc`).
pub(super) async fn spc_continuation(
    target: &Target,
    step: &Step,
    first: &Value,
    act: Option<Act>,
) -> Result<Result<Value, Value>, String> {
    let _signing = target.spc.lock().await;
    let body = match act {
        Some(Act::SpcAccept) => {
            let request =
                spc::software::PaymentRequest::from_ares(&first["ares"], &target.merchant)
                    .ok_or("the ARes S lacks spcTransData or webAuthnCredList")?;
            let mut authenticator = authenticator(target, &request.rp_id, &step.pan).await?;
            let assertion = authenticator
                .confirm(&request)
                .map_err(|e| format!("the test authenticator refused: {e:?}"))?;
            json!({ "assertion": assertion })
        }
        Some(Act::SpcReject) => json!({ "spcIncompInd": "02" }),
        other => {
            return Err(format!(
                "the ACS offered SPC (ARes S): the next cardholder action must be spc-accept or spc-reject, not {other:?}"
            ));
        }
    };
    let id = first["threeDSServerTransID"].as_str().unwrap_or_default();
    let reply = target
        .requestor
        .post_json(
            &format!("{}/v1/auth/{id}/spc", target.requestor_api),
            body.to_string().into_bytes(),
        )
        .await
        .map_err(|e| format!("the 3DS Server did not answer /v1/auth/{{id}}/spc: {e}"))?;
    let answer: Value = serde_json::from_slice(&reply.body).map_err(|e| {
        format!(
            "/v1/auth/{{id}}/spc answered HTTP {} with no JSON: {e}",
            reply.status
        )
    })?;
    Ok(if reply.status == 200 {
        Ok(answer)
    } else {
        Err(answer)
    })
}

/// The assertion for the SPC offer a challenge page embeds (`#spc-request`), made by
/// the test authenticator as the page's script would have the browser make it.
pub(super) async fn page_spc(target: &Target, page: &str, pan: &str) -> Result<String, String> {
    let offer =
        html_reader::text_of(page, "spc-request").ok_or("the challenge page offers no SPC")?;
    let offered: Value = serde_json::from_str(&offer)
        .map_err(|e| format!("the page's SPC offer is not JSON: {e}"))?;
    let text = |name: &str| offered[name].as_str().unwrap_or_default().to_owned();
    let request = spc::software::PaymentRequest {
        rp_id: text("rpId"),
        credential_ids: offered["credentialIds"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|c| c.as_str().map(str::to_owned))
            .collect(),
        challenge: text("challenge"),
        payee_name: offered["payeeName"].as_str().map(str::to_owned),
        payee_origin: offered["payeeOrigin"].as_str().map(str::to_owned),
        display_name: text("displayName"),
        icon: text("icon"),
        value: text("value"),
        currency: text("currency"),
        origin: target.acs_site.trim_end_matches('/').to_owned(),
        top_origin: target.merchant.clone(),
    };
    let mut authenticator = authenticator(target, &request.rp_id, pan).await?;
    authenticator
        .confirm(&request)
        .map(|a| a.to_string())
        .map_err(|e| format!("the test authenticator refused: {e:?}"))
}
