//! Running checked scenarios against a sandbox: each step authenticates as a requestor
//! would (the requestor API over mutual TLS), plays the cardholder (the browser's form
//! posts at HTTP level, or the mock SDK), reads the result the 3DS Server holds, and
//! reads the transaction's trace from the admin endpoint to check the messages
//! themselves. Nothing here reaches into a component: the sandbox is driven over the
//! wire, as any user's stack would be.
//!
//! `run` is the step loop; each kind of step is its own module (`browser`, `app`,
//! `three_ri`, with `confirmation` for SPC's), `checks` holds what a step expects,
//! and `target` where it all runs.

mod app;
mod browser;
mod checks;
mod confirmation;
mod target;
mod three_ri;

use std::time::{Duration, Instant};

use sdk::backend::{self, Purchase};
use serde_json::{Value, json};
use store::TraceQuery;
use trace::Event;

use crate::format::Channel;
use crate::load::{Scenario, Step};

pub use target::{Target, VirtualTime};

use app::app;
use browser::{browser, decide, version_of};
use checks::check;
use confirmation::{page_spc, spc_continuation};
use three_ri::three_ri;

/// How one scenario went.
#[derive(Debug, Clone)]
pub struct Outcome {
    pub name: String,
    pub path: std::path::PathBuf,
    /// Empty: passed.
    pub failures: Vec<String>,
    pub duration: Duration,
    /// The trace of every step's transaction, one line per event (for reports).
    pub trace: Vec<String>,
    /// Why it was not run, if it was not.
    pub skipped: Option<String>,
}

impl Outcome {
    /// Ran, and every expectation held.
    pub fn passed(&self) -> bool {
        self.failures.is_empty() && self.skipped.is_none()
    }

    /// Ran, and something did not hold (or could not be read).
    pub fn failed(&self) -> bool {
        !self.failures.is_empty()
    }
}

/// What a step ended with.
#[derive(Debug, Default)]
struct Ended {
    transaction: Option<String>,
    /// An earlier transaction of the same step (the `S` an SPC continuation follows).
    earlier: Option<String>,
    /// The ACS's id of the authentication (what a later 3RI step refers to).
    acs_trans_id: Option<String>,
    /// Postauth's result (final), when there is one.
    result: Option<Value>,
    /// The `Erro` the requestor got instead.
    erro: Option<Value>,
}

/// Runs `scenario` against `target`.
pub async fn run(target: &Target, scenario: &Scenario) -> Outcome {
    let started = Instant::now();
    if scenario.waits_for_timers() && !target.reaches_timers {
        return Outcome {
            name: scenario.name.clone(),
            path: scenario.path.clone(),
            failures: Vec::new(),
            duration: Duration::ZERO,
            trace: Vec::new(),
            skipped: Some(
                "waits for a challenge timer: needs the runner's own sandbox (short timers), not --against"
                    .into(),
            ),
        };
    }
    let mut failures = Vec::new();
    let mut trace = Vec::new();
    let mut acs_ids = std::collections::HashMap::new();
    for step in &scenario.steps {
        let prior = step.prior.as_ref().and_then(|p| acs_ids.get(p)).cloned();
        if let Err(why) = set_faults(target, &step.faults).await {
            failures.push(format!("{}: {why}", step.name));
            break;
        }
        let played = play(target, step, prior).await;
        target.own_faults.clear();
        if step.faults.iter().any(|f| f.hop != SDK_HOP)
            && let Err(why) = target.admin.clear_faults().await
        {
            failures.push(format!("{}: {why}", step.name));
        }
        let ended = match played {
            Ok(ended) => ended,
            Err(why) => {
                failures.push(format!("{}: {why}", step.name));
                break;
            }
        };
        let mut events = Vec::new();
        for id in [&ended.earlier, &ended.transaction].into_iter().flatten() {
            events.extend(settled_trace(target, id).await);
        }
        trace.extend(events.iter().map(Event::one_line));
        if let Some(id) = ended.acs_trans_id.clone().or_else(|| {
            ended.result.as_ref()?["acsTransID"]
                .as_str()
                .map(str::to_owned)
        }) {
            acs_ids.insert(step.name.clone(), id);
        }
        for why in check(step, &ended, &events) {
            failures.push(format!("{}: {why}", step.name));
        }
    }
    Outcome {
        name: scenario.name.clone(),
        path: scenario.path.clone(),
        failures,
        duration: started.elapsed(),
        trace,
        skipped: None,
    }
}

/// The hop from the app's SDK to the ACS: the runner's own SDK applies its faults.
const SDK_HOP: &str = "sdk->acs";

/// Sets a step's faults: on the sandbox through its admin endpoint, and on the runner's
/// own clients for the hops it sends on (it is the requestor, and the app's SDK).
async fn set_faults(target: &Target, faults: &[transport::faults::Fault]) -> Result<(), String> {
    for fault in faults {
        if fault.hop == SDK_HOP || fault.hop == "merchant->3ds-server" {
            target
                .own_faults
                .add(fault.clone())
                .map_err(|e| e.to_string())?;
        }
    }
    let sandbox: Vec<_> = faults
        .iter()
        .filter(|f| f.hop != SDK_HOP)
        .cloned()
        .collect();
    if sandbox.is_empty() {
        return Ok(());
    }
    target
        .admin
        .add_faults(&sandbox)
        .await
        .map_err(|e| e.to_string())
}

/// The transaction's events once the recorder has stored them all (the count stops
/// changing), within a second.
async fn settled_trace(target: &Target, id: &str) -> Vec<Event> {
    let query = TraceQuery {
        transaction: Some(id.to_owned()),
        ..TraceQuery::default()
    };
    let mut last: Vec<Event> = Vec::new();
    let deadline = Instant::now() + Duration::from_secs(1);
    loop {
        tokio::time::sleep(Duration::from_millis(30)).await;
        let events = target.admin.events(&query).await.unwrap_or_default();
        if (!events.is_empty() && events.len() == last.len()) || Instant::now() > deadline {
            return events;
        }
        last = events;
    }
}

fn purchase(step: &Step, default_amount: &str) -> Purchase {
    let mut purchase = Purchase::new(&step.pan);
    purchase.amount = step
        .requestor
        .amount
        .clone()
        .unwrap_or_else(|| default_amount.to_owned());
    if let Some(currency) = &step.requestor.currency {
        purchase.currency.clone_from(currency);
    }
    purchase
}

/// Applies the step's requestor choices to an app or 3RI auth body for `version` (the
/// browser's is the shop's, `browser_body`).
fn requested(step: &Step, version: emv3ds::MessageVersion, body: &mut Value) {
    body["messageVersion"] = json!(version.as_str());
    if let Some(ind) = &step.requestor.challenge_indicator {
        // 2.3.1 made it a list.
        body["threeDSRequestorChallengeInd"] = if version == emv3ds::MessageVersion::V2_3_1 {
            json!([ind])
        } else {
            json!(ind)
        };
    }
    for (name, value) in &step.requestor.fields {
        body[name] = toml_to_json(value);
    }
}

fn toml_to_json(value: &toml::Value) -> Value {
    serde_json::to_value(value).unwrap_or(Value::Null)
}

async fn play(target: &Target, step: &Step, prior: Option<String>) -> Result<Ended, String> {
    match step.channel {
        Channel::Browser => browser(target, step).await,
        Channel::App => app(target, step).await,
        Channel::ThreeRi => three_ri(target, step, prior).await,
    }
}

/// `/v1/auth`: the answer, or the `Erro` (any status other than 200).
/// `/v1/auth`: the answer, or the `Erro` the requestor ends with — the 3DS Server's, or,
/// when the call itself failed, the code a requestor reports for it (402 no answer, 405
/// no connection, 403 an answer that is no message), as any component does for a peer.
async fn auth(target: &Target, body: &Value) -> Result<Result<Value, Value>, String> {
    let url = format!("{}/v1/auth", target.requestor_api);
    // The requestor's own `Erro`, built by the protocol core as the 3DS Server side.
    let own = |code: emv3ds::ErrorCode, why: String| {
        let erro = emv3ds::Validator::new(emv3ds::Role::ThreeDsServer).reject(code, "", &why, None);
        serde_json::from_slice::<Value>(&erro.to_json()).unwrap_or(Value::Null)
    };
    let reply = match target
        .requestor
        .post_json(&url, body.to_string().into_bytes())
        .await
    {
        Ok(reply) => reply,
        Err(e) => return Ok(Err(own(e.erro_code(), e.to_string()))),
    };
    let Ok(answer) = serde_json::from_slice::<Value>(&reply.body) else {
        return Ok(Err(own(
            emv3ds::ErrorCode::TransientSystemFailure,
            format!("/v1/auth answered HTTP {} with no JSON", reply.status),
        )));
    };
    Ok(if reply.status == 200 && answer["messageType"] != "Erro" {
        Ok(answer)
    } else {
        Err(answer)
    })
}

/// Postauth once final, within ten seconds (on virtual time, the clock moves to the
/// next timer each time it is not).
async fn final_result(target: &Target, id: &str) -> Result<Value, String> {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let result = backend::postauth(&target.requestor, &target.requestor_api, id)
            .await
            .map_err(|e| e.to_string())?;
        if result["status"] == "final" {
            return Ok(result);
        }
        if let Some(time) = &target.virtual_time {
            time.to_next_timer().await;
        }
        if Instant::now() > deadline {
            return Err(format!("no final result within 10 s: {result}"));
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// The `threeDSServerTransID` of a `/v1/auth` answer.
fn trans_id(answer: &Value) -> Result<String, String> {
    answer["threeDSServerTransID"]
        .as_str()
        .map(str::to_owned)
        .ok_or_else(|| format!("/v1/auth answered no threeDSServerTransID: {answer}"))
}

/// The step's end when the requestor got an `Erro`.
fn refused(erro: Value) -> Ended {
    Ended {
        transaction: erro["threeDSServerTransID"].as_str().map(str::to_owned),
        erro: Some(erro),
        ..Ended::default()
    }
}
