//! Running checked scenarios against a sandbox: each step authenticates as a requestor
//! would (the requestor API over mutual TLS), plays the cardholder (the browser's form
//! posts at HTTP level, or the mock SDK), reads the result the 3DS Server holds, and
//! reads the transaction's trace from the admin endpoint to check the messages
//! themselves. Nothing here reaches into a component: the sandbox is driven over the
//! wire, as any user's stack would be.

use std::time::{Duration, Instant};

use sdk::backend::{self, Purchase};
use sdk::{Action, ChallengeParameters, Screen, ThreeDs2Service};
use serde_json::{Value, json};
use store::TraceQuery;
use trace::Event;

use crate::format::{Channel, Presence, TraceCheck};
use crate::load::{Act, Scenario, Step};

/// Where the scenarios run: a sandbox, as its manifest describes it.
#[derive(Debug)]
pub struct Target {
    pub requestor_api: String,
    pub acs_site: String,
    /// The shop's origin (the top-level page an SPC dialog is shown for).
    pub merchant: String,
    requestor: transport::Client,
    browser: transport::Client,
    sdk: ThreeDs2Service,
    admin: sandbox::admin::AdminClient,
    /// The runner's own sandbox, whose challenge timers are short or on virtual time:
    /// scenarios that wait for a timer can run.
    pub reaches_timers: bool,
    /// The runner's own sandbox on a virtual clock (deterministic mode): a result
    /// that waits for a timer moves the clock straight to it.
    virtual_time: Option<VirtualTime>,
    /// Faults on the hops this runner sends on itself (`sdk->acs` from its SDK,
    /// `merchant->3ds-server` from its requestor client), applied by its own clients.
    own_faults: transport::faults::Faults,
    /// Held from reading a test credential's counter to the ACS's check of the
    /// assertion made with it: scenarios in parallel on one card must not sign with the
    /// same counter (the ACS refuses a counter that does not grow).
    spc: tokio::sync::Mutex<()>,
}

/// A sandbox's virtual clock, and where its timers can be read (the runner's own
/// sandbox, in process).
#[derive(Debug, Clone)]
pub struct VirtualTime {
    pub clock: transport::clock::ManualClock,
    pub store: store::Store,
}

impl VirtualTime {
    /// Moves the clock to the next timer, if one is ahead of it (one behind it is due
    /// already: the ACS's sweep is about to act on it).
    async fn to_next_timer(&self) {
        if let Ok(Some(due)) = acs::next_timer(&self.store).await
            && due > transport::clock::Clock::now_ms(&self.clock)
        {
            self.clock.advance_to(due);
        }
    }
}

impl Target {
    /// Clients for the sandbox `manifest` describes.
    pub fn new(manifest: &sandbox::Manifest) -> Result<Target, String> {
        Target::build(manifest, manifest.sdk_config()?)
    }

    /// Clients for the runner's own sandbox in deterministic mode: the SDK draws its ids
    /// from `ids`, and results that wait for a timer move `time` to it.
    pub fn on_virtual_time(
        manifest: &sandbox::Manifest,
        ids: &transport::Ids,
        time: VirtualTime,
    ) -> Result<Target, String> {
        let mut sdk = manifest.sdk_config()?;
        sdk.ids = ids.stream("sdk");
        sdk.sdk_app_id = ids.stream("sdk-app").trans_id().as_str().to_owned();
        let mut target = Target::build(manifest, sdk)?;
        target.virtual_time = Some(time);
        Ok(target)
    }

    fn build(manifest: &sandbox::Manifest, sdk: sdk::ConfigParameters) -> Result<Target, String> {
        let root = &manifest.tls.root_ca;
        let own_faults = transport::faults::Faults::default();
        let requestor = manifest
            .requestor_client()?
            .with_faults(own_faults.clone(), trace::Party::Merchant);
        let tls = pki::tls::client_config(root, None).map_err(|e| e.to_string())?;
        let browser = transport::Client::new(&tls, transport::Timeouts::default())
            .map_err(|e| e.to_string())?;
        let sdk = ThreeDs2Service::initialize(sdk)
            .map_err(|e| e.to_string())?
            .with_faults(own_faults.clone());
        let admin = sandbox::admin::AdminClient::of(manifest)?;
        Ok(Target {
            requestor_api: manifest.endpoints.requestor_api.clone(),
            acs_site: manifest.endpoints.acs_site.clone(),
            merchant: manifest.endpoints.merchant.trim_end_matches('/').to_owned(),
            requestor,
            browser,
            sdk,
            admin,
            reaches_timers: false,
            virtual_time: None,
            own_faults,
            spc: tokio::sync::Mutex::new(()),
        })
    }
}

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
            target.own_faults.add(fault.clone())?;
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
    target.admin.add_faults(&sandbox).await
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

/// A requestor-initiated authentication: recurring (01), instalment (02), add card (03)
/// or another `threeRIInd`, referring to the prior step's authentication if given.
async fn three_ri(target: &Target, step: &Step, prior: Option<String>) -> Result<Ended, String> {
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

/// `/v1/auth`: the answer, or the `Erro` (any status other than 200).
/// `/v1/auth`: the answer, or the `Erro` the requestor ends with — the 3DS Server's, or,
/// when the call itself failed, the code a requestor reports for it (402 no answer, 405
/// no connection, 403 an answer that is no message), as any component does for a peer.
async fn auth(target: &Target, body: &Value) -> Result<Result<Value, Value>, String> {
    let url = format!("{}/v1/auth", target.requestor_api);
    let own = |code: emv3ds::ErrorCode, why: String| json!({ "messageType": "Erro", "errorCode": code.as_str(), "errorDescription": why });
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
        let result = backend::postauth(&target.requestor, &target.requestor_api, id).await?;
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

/// A browser authentication's requestor data, as the sandbox's shop builds it
/// (`merchant::request`: the elements each version defines and no other, the 3DS Method
/// indicator `method`, SPC support), for a browser with JavaScript, then the step's own
/// elements.
fn browser_body(
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
async fn version_of(
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
async fn browser(target: &Target, step: &Step) -> Result<Ended, String> {
    let (version, pre) = version_of(target, step).await?;
    // As the shop's page does: the 3DS Method in its hidden frame, when the card's range
    // has one, unless the step says it did not complete (`N`) or is unavailable (`U`).
    let method = match (
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
    };
    // As the shop does: the transaction preauth opened (and ran the 3DS Method for).
    let opened = pre["threeDSServerTransID"].as_str().unwrap_or_default();
    let body = browser_body(target, step, version, opened, method)?;
    let mut acts: std::collections::VecDeque<Act> = step.acts.iter().cloned().collect();
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
    if answer["ares"]["transStatus"] == "C" {
        let challenge = &answer["challenge"];
        let acs_url = challenge["acsURL"]
            .as_str()
            .ok_or("the answer has no challenge.acsURL")?;
        let creq = challenge["creq"]
            .as_str()
            .ok_or("the answer has no challenge.creq")?;
        if acts.front() == Some(&Act::Abandon) {
            // The frame never loads: no CReq; the ACS's first-CReq timer decides.
            return Ok(Ended {
                result: Some(final_result(target, &id).await?),
                acs_trans_id: Some(acs_id).filter(|a| !a.is_empty()),
                transaction: Some(id),
                earlier,
                erro: None,
            });
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
                    decide(target, &acs_id, act == Act::Approve).await?;
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
    } else if answer["ares"]["transStatus"] == "D" {
        for act in acts {
            match act {
                Act::Approve | Act::Deny => decide(target, &acs_id, act == Act::Approve).await?,
                Act::Wait => break,
                other => {
                    return Err(format!(
                        "{other:?}: a decoupled authentication has no page to act on"
                    ));
                }
            }
        }
    }
    Ok(Ended {
        result: Some(final_result(target, &id).await?),
        acs_trans_id: Some(acs_id).filter(|a| !a.is_empty()),
        transaction: Some(id),
        earlier,
        erro: None,
    })
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

/// The sandbox's test authenticator for `pan`, its counter where the ACS's record of
/// the credential has it (the issuer back office, behind the admin endpoint).
async fn authenticator(
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
        .await?;
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
async fn spc_continuation(
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
async fn page_spc(target: &Target, page: &str, pan: &str) -> Result<String, String> {
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

/// A form post as the browser makes it; the page it gets back.
async fn post_form(target: &Target, url: &str, fields: &[(&str, &str)]) -> Result<String, String> {
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
async fn decide(target: &Target, acs_id: &str, approve: bool) -> Result<(), String> {
    let url = format!("{}/issuer-app/{acs_id}", target.acs_site);
    let decision = if approve { "approve" } else { "deny" };
    post_form(target, &url, &[("decision", decision)])
        .await
        .map(|_| ())
}

/// The SDK's driver: the step's actions in order. Approving (or denying) in the
/// issuer's app is a request of its own, awaited before the next action; if it fails,
/// the cardholder cancels and the step fails with why.
struct Cardholder<'t> {
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
async fn app(target: &Target, step: &Step) -> Result<Ended, String> {
    let pre = backend::preauth(&target.requestor, &target.requestor_api, &step.pan).await?;
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

/// What is not as the step expects.
fn check(step: &Step, ended: &Ended, events: &[Event]) -> Vec<String> {
    let mut failures = Vec::new();
    let expect = &step.expect;
    match (&ended.erro, &expect.error_code) {
        (Some(erro), Some(code)) => {
            if erro["errorCode"].as_str() != Some(code.as_str()) {
                failures.push(format!("expected Erro {code}, got {erro}"));
            }
        }
        (Some(erro), None) => failures.push(format!("the requestor got an Erro: {erro}")),
        (None, Some(code)) => failures.push(format!(
            "expected Erro {code}, got a result: {}",
            ended.result.clone().unwrap_or_default()
        )),
        (None, None) => {}
    }
    if let Some(result) = &ended.result {
        let field = |name: &str| result[name].as_str().map(str::to_owned);
        for (what, expected, got) in [
            ("transStatus", &expect.trans_status, field("transStatus")),
            (
                "transStatusReason",
                &expect.reason,
                field("transStatusReason"),
            ),
            ("eci", &expect.eci, field("eci")),
            (
                "challengeCancel",
                &expect.challenge_cancel,
                field("challengeCancel"),
            ),
        ] {
            if let Some(expected) = expected
                && got.as_deref() != Some(expected.as_str())
            {
                failures.push(format!(
                    "expected {what} {expected}, got {}",
                    got.as_deref().unwrap_or("none")
                ));
            }
        }
        match (expect.authentication_value, field("authenticationValue")) {
            (Some(Presence::Present), Some(av)) if av.len() == 28 => {}
            (Some(Presence::Present), got) => failures.push(format!(
                "expected an authenticationValue of 28 characters, got {got:?}"
            )),
            (Some(Presence::Absent), Some(av)) => {
                failures.push(format!("expected no authenticationValue, got {av}"));
            }
            _ => {}
        }
    }
    for check in &step.trace {
        if let Some(why) = trace_check(check, events) {
            failures.push(why);
        }
    }
    failures
}

/// `name = value` pairs, for messages.
fn fields_text(fields: &toml::Table) -> String {
    fields
        .iter()
        .map(|(k, v)| format!("{k} = {v}"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// Whether the transaction's messages pass `check` (`None`) or why not.
fn trace_check(check: &TraceCheck, events: &[Event]) -> Option<String> {
    // A note (a fault injected, an RReq not delivered, a challenge step) counts once
    // per occurrence; its label starts with the check's text.
    if check.from.is_none() && check.to.is_none() && check.fields.is_empty() {
        let notes = events
            .iter()
            .filter(|e| e.kind == trace::Kind::Note && e.label.starts_with(check.message.as_str()))
            .count();
        if notes > 0 {
            return match check.count {
                Some(expected) if expected != notes => Some(format!(
                    "expected {expected} notes \"{}\", the trace has {notes}",
                    check.message
                )),
                _ => None,
            };
        }
    }
    let matching: Vec<&Event> = events
        .iter()
        .filter(|e| e.kind == trace::Kind::Message)
        .filter(|e| {
            e.message_type.as_deref() == Some(check.message.as_str()) || e.label == check.message
        })
        .filter(|e| check.from.is_none_or(|p| e.from == Some(p)))
        .filter(|e| check.to.is_none_or(|p| e.to == Some(p)))
        .collect();
    // Each message is seen by its sender and its receiver when both are ours: count
    // the messages, not the sightings.
    let mut pairs: Vec<(Option<trace::Party>, Option<trace::Party>)> =
        matching.iter().map(|e| (e.from, e.to)).collect();
    pairs.sort();
    pairs.dedup();
    let count: usize = pairs
        .iter()
        .map(|(from, to)| {
            let side = |d: trace::Direction| {
                matching
                    .iter()
                    .filter(|e| e.from == *from && e.to == *to && e.direction == Some(d))
                    .count()
            };
            side(trace::Direction::Sent).max(side(trace::Direction::Received))
        })
        .sum();
    let what = format!(
        "{}{}{}",
        check.message,
        check.from.map(|p| format!(" from {p}")).unwrap_or_default(),
        check.to.map(|p| format!(" to {p}")).unwrap_or_default()
    );
    if let Some(expected) = check.count
        && count != expected
    {
        return Some(format!("expected {expected} {what}, the trace has {count}"));
    }
    if !check.fields.is_empty() && matching.is_empty() {
        return Some(format!(
            "no {what} in the trace to check {:?} on",
            check.fields.keys().collect::<Vec<_>>()
        ));
    }
    let carries = |event: &Event| -> Result<(), String> {
        let body = event.body_value().unwrap_or_default();
        for (name, expected) in &check.fields {
            let expected = match expected {
                toml::Value::String(s) => s.clone(),
                other => other.to_string(),
            };
            let got = match &body[name] {
                Value::String(s) => Some(s.clone()),
                Value::Null => None,
                other => Some(other.to_string()),
            };
            if got.as_deref() != Some(expected.as_str()) {
                return Err(format!(
                    "{what} seen by {} carries {name} = {}, expected {expected}",
                    event.observer,
                    got.as_deref().unwrap_or("(absent)")
                ));
            }
        }
        Ok(())
    };
    if check.fields.is_empty() {
        return None;
    }
    if check.any {
        if matching.iter().any(|e| carries(e).is_ok()) {
            return None;
        }
        return Some(format!("no {what} carries {}", fields_text(&check.fields)));
    }
    for event in &matching {
        if let Err(why) = carries(event) {
            return Some(why);
        }
    }
    None
}
