//! A browser step: the shop's requestor data, the 3DS Method, the challenge pages as
//! a browser posts them, the issuer app.

use std::collections::VecDeque;

use serde_json::{Value, json};

use crate::load::{Act, Step};

use super::*;

/// A browser authentication's requestor data, as the sandbox's shop builds it
/// (`merchant::request`: the elements each version defines and no other, the 3DS Method
/// indicator `method`, SPC support), for a browser with JavaScript, then the step's own
/// elements.
pub(super) fn browser_body(
    target: &Target,
    step: &Step,
    version: emv3ds::MessageVersion,
    trans_id: &str,
    method: &str,
) -> Result<Value, String> {
    use merchant::request::{Browser, MethodOutcome, Order, ScriptFacts, Shop};
    let purchase = purchase(step, "12345");
    let shop = Shop {
        name: "Sandbox Shop".into(),
        acquirer_bin: "412345".into(),
        acquirer_merchant_id: "M-000001234".into(),
        mcc: "5411".into(),
        country: "826".into(),
    };
    let order = Order {
        pan: purchase.pan.clone().into(),
        expiry: purchase.expiry.clone(),
        amount_minor: purchase.amount.parse().map_err(|_| {
            format!(
                "amount {:?}: expected minor units (digits)",
                purchase.amount
            )
        })?,
        currency: purchase.currency.clone(),
        version: Some(version.as_str().to_owned()),
        challenge_ind: step
            .requestor
            .challenge_indicator
            .clone()
            .unwrap_or_else(|| "01".into()),
        window_size: "05".into(),
        decoupled_minutes: None,
        spc: step.requestor.spc,
    };
    let browser = Browser {
        accept: "text/html,application/xhtml+xml".into(),
        user_agent: "threeds-scenario".into(),
        accept_language: "en-GB".into(),
        script: Some(ScriptFacts {
            language: "en-GB".into(),
            color_depth: "24".into(),
            screen_height: "1080".into(),
            screen_width: "1920".into(),
            tz: "0".into(),
        }),
        spc_available: true,
    };
    let method = match method {
        "Y" => MethodOutcome::Completed,
        "N" => MethodOutcome::NotCompleted,
        _ => MethodOutcome::Unavailable,
    };
    let mut body = merchant::request::auth_request(
        &shop,
        &order,
        &browser,
        version.as_str(),
        trans_id,
        method,
        &format!("{}/3ds/notify", target.merchant),
        "20261124101530",
    );
    for (name, value) in &step.requestor.fields {
        body[name] = toml_to_json(value);
    }
    Ok(body)
}

/// The version of a step: its own, else the one the 3DS Server negotiates for the card
/// (`/v1/preauth`, as a merchant asks before building its page).
pub(super) async fn version_of(
    target: &Target,
    step: &Step,
) -> Result<(emv3ds::MessageVersion, Value), String> {
    // As the shop asks: with where the 3DS Method's page should notify it.
    let body = json!({
        "acctNumber": step.pan,
        "threeDSMethodNotificationURL": format!("{}/3ds/method-notify", target.merchant),
    });
    let reply = target
        .requestor
        .post_json(
            &format!("{}/v1/preauth", target.requestor_api),
            body.to_string().into_bytes(),
        )
        .await
        .map_err(|e| format!("the 3DS Server did not answer /v1/preauth: {e}"))?;
    let pre: Value = serde_json::from_slice(&reply.body).map_err(|e| e.to_string())?;
    if reply.status != 200 {
        return Err(format!("/v1/preauth answered {}: {pre}", reply.status));
    }
    let negotiated = pre["messageVersion"]
        .as_str()
        .and_then(emv3ds::MessageVersion::parse);
    let version = step
        .version
        .or(negotiated)
        .unwrap_or(emv3ds::MessageVersion::V2_2_0);
    Ok((version, pre))
}

/// A browser purchase: the CReq posted to the ACS as the merchant's frame would, each
/// cardholder action a form post to the challenge page; an ARes `S` answered by the SPC
/// dialog (the sandbox's test authenticator) and `/v1/auth/{id}/spc`.
pub(super) async fn browser(target: &Target, step: &Step) -> Result<Ended, String> {
    let (version, pre) = version_of(target, step).await?;
    let method = three_ds_method(target, step, &pre).await?;
    // As the shop does: the transaction preauth opened (and ran the 3DS Method for).
    let opened = pre["threeDSServerTransID"].as_str().unwrap_or_default();
    let body = browser_body(target, step, version, opened, method)?;
    let mut acts: VecDeque<Act> = step.acts.iter().cloned().collect();
    let mut answer = match auth(target, &body).await? {
        Ok(answer) => answer,
        Err(erro) => return Ok(refused(erro)),
    };
    let mut earlier = None;
    if answer["ares"]["transStatus"] == "S" {
        earlier = answer["threeDSServerTransID"].as_str().map(str::to_owned);
        answer = match spc_continuation(target, step, &answer, acts.pop_front()).await? {
            Ok(answer) => answer,
            Err(erro) => return Ok(refused(erro)),
        };
    }
    let id = trans_id(&answer)?;
    let acs_id = answer["ares"]["acsTransID"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    match answer["ares"]["transStatus"].as_str() {
        Some("C") => challenge(target, step, &answer["challenge"], &acs_id, acts).await?,
        Some("D") => decoupled(target, &acs_id, acts).await?,
        _ => {}
    }
    Ok(Ended {
        result: Some(final_result(target, &id).await?),
        acs_trans_id: Some(acs_id).filter(|a| !a.is_empty()),
        transaction: Some(id),
        earlier,
        erro: None,
    })
}

/// As the shop's page does: the 3DS Method in its hidden frame, when the card's range
/// has one, unless the step says it did not complete (`N`) or is unavailable (`U`).
/// Returns the `threeDSCompInd` to send.
async fn three_ds_method(
    target: &Target,
    step: &Step,
    pre: &Value,
) -> Result<&'static str, String> {
    Ok(
        match (
            step.requestor.method_completed.as_deref(),
            &pre["threeDSMethodURL"],
        ) {
            (Some("N"), _) => "N",
            (Some("U"), _) | (_, Value::Null) => "U",
            (_, url) => {
                let url = url.as_str().unwrap_or_default();
                let data = pre["threeDSMethodData"].as_str().unwrap_or_default();
                post_form(target, url, &[("threeDSMethodData", data)]).await?;
                "Y"
            }
        },
    )
}

/// A browser challenge: the CReq posted to the `acsURL` as the merchant's frame would,
/// then each cardholder action a form post to the challenge page (or a decision in
/// the issuer app). An abandoned one posts nothing: the ACS's first-CReq timer decides.
async fn challenge(
    target: &Target,
    step: &Step,
    challenge: &Value,
    acs_id: &str,
    acts: VecDeque<Act>,
) -> Result<(), String> {
    let acs_url = challenge["acsURL"]
        .as_str()
        .ok_or("the answer has no challenge.acsURL")?;
    let creq = challenge["creq"]
        .as_str()
        .ok_or("the answer has no challenge.creq")?;
    if acts.front() == Some(&Act::Abandon) {
        return Ok(());
    }
    let mut page = post_form(
        target,
        acs_url,
        &[("creq", creq), ("threeDSSessionData", "c2NlbmFyaW8")],
    )
    .await?;
    let url = format!("{}/challenge/{acs_id}", target.acs_site);
    for act in acts {
        let fields: Vec<(String, String)> = match act {
            Act::Otp(code) => vec![("otp".into(), code)],
            Act::Select(options) => options.into_iter().map(|o| ("option".into(), o)).collect(),
            Act::Continue => vec![("action".into(), "continue".into())],
            Act::Resend => vec![("action".into(), "resend".into())],
            Act::Cancel => vec![("action".into(), "cancel".into())],
            Act::Approve | Act::Deny => {
                decide(target, acs_id, act == Act::Approve).await?;
                continue;
            }
            Act::SpcAccept => {
                // Signed and checked under the lock (see `Target::spc`).
                let _signing = target.spc.lock().await;
                let assertion = page_spc(target, &page, &step.pan).await?;
                let fields = [("action", "spc"), ("assertion", assertion.as_str())];
                page = post_form(target, &url, &fields).await?;
                continue;
            }
            Act::SpcReject => vec![
                ("action".into(), "spc-failed".into()),
                ("error".into(), "NotAllowedError".into()),
            ],
            Act::Html(_) => return Err("html: actions are for app HTML screens".into()),
            // Nothing more is done: the step's timer ends the challenge.
            Act::Wait => break,
            Act::Abandon => return Err("abandon: only before the challenge is opened".into()),
        };
        let pairs: Vec<(&str, &str)> = fields
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect();
        page = post_form(target, &url, &pairs).await?;
    }
    Ok(())
}

/// A decoupled authentication: the cardholder approves or denies in the issuer app, or
/// waits for its timer.
async fn decoupled(target: &Target, acs_id: &str, acts: VecDeque<Act>) -> Result<(), String> {
    for act in acts {
        match act {
            Act::Approve | Act::Deny => decide(target, acs_id, act == Act::Approve).await?,
            Act::Wait => break,
            other => {
                return Err(format!(
                    "{other:?}: a decoupled authentication has no page to act on"
                ));
            }
        }
    }
    Ok(())
}

/// A form post as the browser makes it; the page it gets back.
pub(super) async fn post_form(
    target: &Target,
    url: &str,
    fields: &[(&str, &str)],
) -> Result<String, String> {
    let body: String = form_urlencoded::Serializer::new(String::new())
        .extend_pairs(fields)
        .finish();
    let reply = target
        .browser
        .post(url, "application/x-www-form-urlencoded", body.into_bytes())
        .await
        .map_err(|e| format!("POST {url}: {e}"))?;
    if reply.status != 200 {
        return Err(format!(
            "POST {url} answered HTTP {}: {}",
            reply.status,
            String::from_utf8_lossy(&reply.body)
                .chars()
                .take(200)
                .collect::<String>()
        ));
    }
    Ok(String::from_utf8_lossy(&reply.body).into_owned())
}

/// The cardholder approves (or denies) in the issuer's app.
pub(super) async fn decide(target: &Target, acs_id: &str, approve: bool) -> Result<(), String> {
    let url = format!("{}/issuer-app/{acs_id}", target.acs_site);
    let decision = if approve { "approve" } else { "deny" };
    post_form(target, &url, &[("decision", decision)])
        .await
        .map(|_| ())
}
