//! An app step: the mock SDK, driven by the scenario's cardholder actions.

use std::time::Duration;

use sdk::backend::{self};
use sdk::{Action, ChallengeParameters, Screen};
use serde_json::json;

use crate::load::{Act, Step};

use super::*;

/// The SDK's driver: the step's actions in order. Approving (or denying) in the
/// issuer's app is a request of its own, awaited before the next action; if it fails,
/// the cardholder cancels and the step fails with why.
pub(super) struct Cardholder<'t> {
    acts: std::collections::VecDeque<Act>,
    target: &'t Target,
    acs_trans_id: String,
    failed: Option<String>,
}

impl sdk::ChallengeDriver for Cardholder<'_> {
    fn act<'a>(&'a mut self, _screen: &'a Screen) -> sdk::Answer<'a> {
        Box::pin(async move {
            loop {
                let Some(act) = self.acts.pop_front() else {
                    return Action::Cancel;
                };
                return match act {
                    Act::Otp(code) => Action::Text(code),
                    Act::Select(options) => Action::Select(options),
                    Act::Continue => Action::Continue,
                    Act::Resend => Action::Resend,
                    Act::Cancel => Action::Cancel,
                    Act::Html(data) => Action::HtmlForm(data),
                    // The app channel has no SPC: the SDK carries on with what follows.
                    Act::SpcAccept | Act::SpcReject | Act::Abandon => continue,
                    // The SDK's own timer runs out (challengeCancel 08).
                    Act::Wait => Action::Wait,
                    Act::Approve | Act::Deny => {
                        let approve = act == Act::Approve;
                        if let Err(e) = decide(self.target, &self.acs_trans_id, approve).await {
                            self.failed = Some(format!("in the issuer's app: {e}"));
                            return Action::Cancel;
                        }
                        continue;
                    }
                };
            }
        })
    }
}

/// An app purchase by the mock SDK: device data, the signed content, the encrypted
/// challenge.
pub(super) async fn app(target: &Target, step: &Step) -> Result<Ended, String> {
    let pre = backend::preauth(&target.requestor, &target.requestor_api, &step.pan)
        .await
        .map_err(|e| e.to_string())?;
    if pre["enrolled"] != true {
        return Ok(Ended {
            transaction: pre["threeDSServerTransID"].as_str().map(str::to_owned),
            erro: Some(json!({"errorCode": "not-enrolled", "detail": pre})),
            ..Ended::default()
        });
    }
    let ds = pre["directoryServerId"]
        .as_str()
        .ok_or("/v1/preauth gave no directoryServerId")?;
    let version = match step.version {
        Some(v) => v,
        None => pre["messageVersion"]
            .as_str()
            .and_then(emv3ds::MessageVersion::parse)
            .ok_or("/v1/preauth gave no usable messageVersion")?,
    };
    let transaction = target
        .sdk
        .create_transaction(ds, version)
        .map_err(|e| e.to_string())?;
    let params = transaction
        .authentication_request_parameters()
        .map_err(|e| e.to_string())?;
    let mut body = backend::auth_request(&purchase(step, "4999"), &params);
    body["threeDSServerTransID"] = pre["threeDSServerTransID"].clone();
    requested(step, version, &mut body);
    let answer = match auth(target, &body).await? {
        Ok(answer) => answer,
        Err(erro) => {
            return Ok(Ended {
                transaction: pre["threeDSServerTransID"].as_str().map(str::to_owned),
                erro: Some(erro),
                ..Ended::default()
            });
        }
    };
    let id = trans_id(&answer)?;
    let ares = &answer["ares"];
    if ares["transStatus"] == "C" {
        let challenge = ChallengeParameters::from_ares(ares).map_err(|e| e.to_string())?;
        let mut cardholder = Cardholder {
            acts: step.acts.iter().cloned().collect(),
            target,
            acs_trans_id: ares["acsTransID"].as_str().unwrap_or_default().to_owned(),
            failed: None,
        };
        if step.acts.first() != Some(&Act::Abandon) {
            // A cardholder who waits meets the SDK's timer soon, not after 20 s.
            let waits = step.acts.contains(&Act::Wait);
            let timer = Duration::from_millis(if waits { 600 } else { 20_000 });
            transaction
                .do_challenge(&challenge, &mut cardholder, &mut (), timer)
                .await;
        }
        if let Some(failed) = cardholder.failed {
            return Err(failed);
        }
    }
    Ok(Ended {
        result: Some(final_result(target, &id).await?),
        transaction: Some(id),
        ..Ended::default()
    })
}
