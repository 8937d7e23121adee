//! The mock merchant: a web shop whose checkout runs the browser 3DS journey the way an
//! outside merchant would, through the 3DS Server's requestor API over mutual TLS
//! (the requestor's client certificate) and nothing else.
//!
//! The journey: the checkout form (`/`) → `/checkout` asks `/v1/preauth` → the
//! "verifying" page runs the 3DS Method in a hidden frame (10 s, then
//! `threeDSCompInd=N`; no URL: `U`) and reads the browser's facts (or, without
//! JavaScript, a button carries on without them) → `/authenticate/{id}` calls `/v1/auth`
//! → on `C` the CReq is posted into a frame sized by `challengeWindowSize` (`05`: the
//! whole page) → the ACS posts the final CRes to `/notify` → `/result/{id}` shows
//! `/v1/postauth`, which holds the RReq's result. On `D` the result page waits for it.
//!
//! What a shopper typed stays in memory for the length of the checkout only; the shop
//! keeps no card number once `/v1/auth` has been called.

mod pages;
pub mod request;

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use base64::Engine;
use serde_json::{Value, json};
use transport::clock::Clock;
use transport::html;

use request::{Browser, MethodOutcome, Order, ScriptFacts, Shop};

/// The shop's configuration.
#[derive(Debug, Clone)]
pub struct MerchantConfig {
    /// The shop's own base URL as browsers reach it (`notificationURL` and the 3DS
    /// Method notification are under it).
    pub url: String,
    /// The 3DS Server's requestor API base URL.
    pub requestor_api: String,
    pub shop: Shop,
    /// How long the page waits for the 3DS Method (the spec's 10 s).
    pub method_timeout_ms: u64,
    /// Cards offered on the checkout page for convenience: (PAN, what it does).
    pub test_cards: Vec<(String, String)>,
}

impl MerchantConfig {
    /// A shop at `url` using the requestor API at `requestor_api`.
    pub fn new(url: &str, requestor_api: &str) -> MerchantConfig {
        MerchantConfig {
            url: url.trim_end_matches('/').to_owned(),
            requestor_api: requestor_api.trim_end_matches('/').to_owned(),
            shop: Shop {
                name: "Sandbox Coffee Roasters".into(),
                acquirer_bin: "412345".into(),
                acquirer_merchant_id: "SANDBOX-SHOP-0001".into(),
                mcc: "5499".into(),
                country: "826".into(),
            },
            method_timeout_ms: 10_000,
            test_cards: Vec::new(),
        }
    }
}

/// A checkout in progress.
#[derive(Debug)]
struct Checkout {
    /// Until `/v1/auth` is called.
    order: Option<Order>,
    version: String,
    has_method: bool,
    method_notified: bool,
    cardholder_info: Option<String>,
    browser_said: Option<String>,
    /// `challengeWindowSize` for the challenge frame.
    window_size: String,
    /// What the shop sent that the result page shows (`threeDSCompInd`, …).
    sent: Vec<(&'static str, String)>,
}

impl Checkout {
    /// The checkout of a second authentication (SPC) that continues this one: what the
    /// shop sent and the challenge window carry over; the card is long gone.
    fn continuation(&self) -> Checkout {
        Checkout {
            order: None,
            version: self.version.clone(),
            has_method: self.has_method,
            method_notified: self.method_notified,
            cardholder_info: None,
            browser_said: None,
            sent: self.sent.clone(),
            window_size: self.window_size.clone(),
        }
    }
}

/// What the shop's handlers share.
#[derive(Debug, Clone)]
pub struct MerchantState {
    config: Arc<MerchantConfig>,
    client: transport::Client,
    clock: Arc<dyn Clock>,
    checkouts: Arc<Mutex<HashMap<String, Checkout>>>,
}

impl MerchantState {
    /// `client` carries the requestor's TLS client certificate.
    pub fn new(
        config: MerchantConfig,
        client: transport::Client,
        clock: Arc<dyn Clock>,
    ) -> MerchantState {
        MerchantState {
            config: Arc::new(config),
            client,
            clock,
            checkouts: Arc::new(Mutex::new(HashMap::new())),
        }
    }

    fn with<R>(&self, id: &str, f: impl FnOnce(&mut Checkout) -> R) -> Option<R> {
        let mut checkouts = self
            .checkouts
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        checkouts.get_mut(id).map(f)
    }
}

/// The shop's router.
pub fn app(state: MerchantState) -> Router {
    transport::access::body_limit(
        Router::new()
            .route("/", get(shop))
            .route("/checkout", post(checkout))
            .route("/3ds-method/done", post(method_done))
            .route("/authenticate/{id}", post(authenticate))
            .route("/spc/{id}", post(spc_done))
            .route("/notify", post(notify))
            .route("/result/{id}", get(result)),
        transport::access::FORM_BODY_LIMIT,
    )
    .with_state(state)
}

fn shown(status: StatusCode, page: html::Page) -> Response {
    page.respond(status)
}

fn form(body: &[u8]) -> HashMap<String, String> {
    form_urlencoded::parse(body).into_owned().collect()
}

async fn shop(State(state): State<MerchantState>) -> Response {
    shown(StatusCode::OK, pages::shop(None, &state.config.test_cards))
}

/// Why a call to the requestor API gave no answer the shop can read.
#[derive(Debug, thiserror::Error)]
pub enum CallError {
    #[error("the 3DS Server could not be reached: {0}")]
    Unreachable(#[from] transport::TransportError),
    #[error("the 3DS Server answered HTTP {status} with no JSON: {source}")]
    NotJson {
        status: u16,
        source: serde_json::Error,
    },
}

/// A call to the requestor API: the HTTP status and the JSON body.
async fn call(
    state: &MerchantState,
    path: &str,
    body: Option<&Value>,
) -> Result<(u16, Value), CallError> {
    let url = format!("{}{path}", state.config.requestor_api);
    let reply = match body {
        Some(body) => {
            state
                .client
                .post_json(&url, body.to_string().into_bytes())
                .await
        }
        None => state.client.get(&url).await,
    }?;
    let json = serde_json::from_slice(&reply.body).map_err(|source| CallError::NotJson {
        status: reply.status,
        source,
    })?;
    Ok((reply.status, json))
}

/// The page for a requestor-API call that got no answer: 502 with what went wrong.
fn no_answer(title: &str, why: &CallError) -> Response {
    shown(
        StatusCode::BAD_GATEWAY,
        pages::problem(title, &why.to_string(), None),
    )
}

/// The order a checkout form describes, or what the cardholder must correct.
fn order_of(fields: &HashMap<String, String>) -> Result<Order, &'static str> {
    let get = |name: &str| fields.get(name).map(String::as_str).unwrap_or("");
    let pan: String = get("cardNumber")
        .chars()
        .filter(char::is_ascii_digit)
        .collect();
    if !(13..=19).contains(&pan.len()) {
        return Err("The card number must have 13 to 19 digits.");
    }
    let expiry = request::expiry_yymm(get("expiry")).ok_or("The expiry date must read MM/YY.")?;
    let amount_minor = request::amount_minor(get("amount"))
        .filter(|a| *a > 0)
        .ok_or("The amount must be a positive number with at most two decimals.")?;
    let pick = |name: &str, allowed: &[&str], default: &str| {
        let v = get(name);
        if allowed.contains(&v) {
            v.to_owned()
        } else {
            default.to_owned()
        }
    };
    Ok(Order {
        pan: zeroize::Zeroizing::new(pan),
        expiry,
        amount_minor,
        currency: pick("currency", &["978", "840", "826"], "978"),
        version: Some(get("messageVersion").to_owned())
            .filter(|v| ["2.1.0", "2.2.0", "2.3.1"].contains(&v.as_str())),
        challenge_ind: pick("challengeInd", &["01", "02", "03", "04"], "01"),
        window_size: pick("windowSize", &["01", "02", "03", "04", "05"], "03"),
        decoupled_minutes: (get("decoupled") == "on")
            .then(|| get("decMaxTime").parse().unwrap_or(5)),
        spc: get("useSpc") == "on",
    })
}

async fn checkout(State(state): State<MerchantState>, body: Bytes) -> Response {
    let order = match order_of(&form(&body)) {
        Ok(order) => order,
        Err(why) => {
            return shown(
                StatusCode::BAD_REQUEST,
                pages::shop(Some(why), &state.config.test_cards),
            );
        }
    };
    let notify = format!("{}/3ds-method/done", state.config.url);
    let preauth =
        json!({ "acctNumber": order.pan.as_str(), "threeDSMethodNotificationURL": notify });
    let (status, answer) = match call(&state, "/v1/preauth", Some(&preauth)).await {
        Ok(answer) => answer,
        Err(why) => return no_answer("The payment could not start", &why),
    };
    if status != 200 {
        return shown(
            StatusCode::BAD_GATEWAY,
            pages::problem(
                "The payment could not start",
                "the 3DS Server refused the preauthentication",
                Some(&answer),
            ),
        );
    }
    let id = answer
        .get("threeDSServerTransID")
        .and_then(Value::as_str)
        .unwrap_or("")
        .to_owned();
    if answer.get("enrolled") == Some(&Value::Bool(false)) {
        return shown(StatusCode::OK, pages::result(&id, &json!({}), None, &[]));
    }
    let version = order.version.clone().unwrap_or_else(|| {
        answer
            .get("messageVersion")
            .and_then(Value::as_str)
            .unwrap_or("2.2.0")
            .to_owned()
    });
    let method = match (
        answer.get("threeDSMethodURL").and_then(Value::as_str),
        answer.get("threeDSMethodData").and_then(Value::as_str),
    ) {
        (Some(url), Some(data)) => Some((url.to_owned(), data.to_owned())),
        _ => None,
    };
    state
        .checkouts
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
        .insert(
            id.clone(),
            Checkout {
                order: Some(order),
                version,
                has_method: method.is_some(),
                method_notified: false,
                cardholder_info: None,
                browser_said: None,
                sent: Vec::new(),
                window_size: String::new(),
            },
        );
    let method = method.as_ref().map(|(u, d)| (u.as_str(), d.as_str()));
    shown(
        StatusCode::OK,
        pages::verifying(&id, method, state.config.method_timeout_ms),
    )
}

async fn method_done(State(state): State<MerchantState>, body: Bytes) -> Response {
    let fields = form(&body);
    let id = fields
        .get("threeDSMethodData")
        .and_then(|d| html::base64url_decode(d))
        .and_then(|b| serde_json::from_slice::<Value>(&b).ok())
        .and_then(|v| {
            v.get("threeDSServerTransID")
                .and_then(Value::as_str)
                .map(str::to_owned)
        });
    match id.and_then(|id| state.with(&id, |c| c.method_notified = true)) {
        Some(()) => shown(StatusCode::OK, pages::method_notified()),
        None => shown(
            StatusCode::BAD_REQUEST,
            pages::problem(
                "3DS Method",
                "threeDSMethodData names no checkout of this shop",
                None,
            ),
        ),
    }
}

fn header_text(headers: &HeaderMap, name: header::HeaderName) -> String {
    headers
        .get(name)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_owned()
}

async fn authenticate(
    State(state): State<MerchantState>,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let fields = form(&body);
    let taken = state.with(&id, |c| {
        let method = match (c.has_method, c.method_notified) {
            (false, _) => MethodOutcome::Unavailable,
            (true, true) => MethodOutcome::Completed,
            (true, false) => MethodOutcome::NotCompleted,
        };
        (c.order.take(), c.version.clone(), method)
    });
    let Some((Some(order), version, method)) = taken else {
        return shown(
            StatusCode::NOT_FOUND,
            pages::problem("This checkout is over", "start again from the shop", None),
        );
    };
    let get = |name: &str| fields.get(name).cloned().unwrap_or_default();
    let language = header_text(&headers, header::ACCEPT_LANGUAGE)
        .split([',', ';'])
        .next()
        .unwrap_or("")
        .trim()
        .to_owned();
    let browser = Browser {
        accept: header_text(&headers, header::ACCEPT),
        user_agent: header_text(&headers, header::USER_AGENT),
        accept_language: language,
        script: (get("js") == "true").then(|| ScriptFacts {
            language: get("language"),
            color_depth: get("colorDepth"),
            screen_height: get("screenHeight"),
            screen_width: get("screenWidth"),
            tz: get("tz"),
        }),
        spc_available: get("spcAvailable") == "true",
    };
    let notification_url = format!("{}/notify", state.config.url);
    let body = request::auth_request(
        &state.config.shop,
        &order,
        &browser,
        &version,
        &id,
        method,
        &notification_url,
        &purchase_date(state.clock.now_ms()),
    );
    drop(order);
    let sent = vec![
        ("threeDSCompInd", method.code().to_owned()),
        (
            "browserJavascriptEnabled",
            browser.script.is_some().to_string(),
        ),
    ];
    state.with(&id, |c| {
        c.sent = sent;
        c.window_size = body
            .get("challengeWindowSize")
            .and_then(Value::as_str)
            .unwrap_or("03")
            .to_owned();
    });
    let (status, answer) = match call(&state, "/v1/auth", Some(&body)).await {
        Ok(answer) => answer,
        Err(why) => return no_answer("The payment could not be authenticated", &why),
    };
    next_step(&state, &id, status, &answer)
}

/// What the shop shows after `/v1/auth` (or the second, SPC, authentication) for the
/// transaction `id`.
fn next_step(state: &MerchantState, id: &str, status: u16, answer: &Value) -> Response {
    if status != 200 {
        return shown(
            StatusCode::BAD_GATEWAY,
            pages::problem(
                "The payment could not be authenticated",
                "the 3DS Server refused the authentication",
                Some(answer),
            ),
        );
    }
    let ares = answer.get("ares").cloned().unwrap_or(Value::Null);
    match ares.get("transStatus").and_then(Value::as_str) {
        Some("C") => {
            let challenge = answer.get("challenge");
            let field = |name: &str| challenge.and_then(|c| c.get(name)).and_then(Value::as_str);
            let (Some(acs_url), Some(creq)) = (field("acsURL"), field("creq")) else {
                return shown(
                    StatusCode::BAD_GATEWAY,
                    pages::problem(
                        "The payment could not be authenticated",
                        "the ARes asks for a challenge the 3DS Server gave no CReq for",
                        Some(answer),
                    ),
                );
            };
            let session = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(id);
            let window = state
                .with(id, |c| c.window_size.clone())
                .unwrap_or_default();
            shown(
                StatusCode::OK,
                pages::challenge(acs_url, creq, &session, &window),
            )
        }
        Some("S") => {
            let Some(mut request) = ares.get("spcTransData").cloned() else {
                return shown(
                    StatusCode::BAD_GATEWAY,
                    pages::problem(
                        "The payment could not be authenticated",
                        "the ARes asks for SPC but carries no spcTransData",
                        Some(answer),
                    ),
                );
            };
            let list = ares.get("webAuthnCredList").and_then(|l| l.get(0));
            request["credentialIds"] = list
                .and_then(|l| l.get("credentialIds"))
                .cloned()
                .unwrap_or(json!([]));
            request["rpId"] = list
                .and_then(|l| l.get("rpID"))
                .cloned()
                .unwrap_or(Value::Null);
            shown(StatusCode::OK, pages::spc(id, &request))
        }
        Some("D") => {
            let info = match ares.get("cardholderInfo") {
                Some(Value::String(text)) => Some(text.clone()),
                Some(object) => object
                    .get("text")
                    .and_then(Value::as_str)
                    .map(str::to_owned),
                None => None,
            };
            state.with(id, |c| c.cardholder_info = info);
            Redirect::to(&format!("/result/{id}")).into_response()
        }
        _ => Redirect::to(&format!("/result/{id}")).into_response(),
    }
}

/// The SPC page's outcome: the assertion, or why there is none (`spcIncompInd`: 02 the
/// cardholder cancelled, 03 timed out, 01 otherwise). The second authentication is a
/// new transaction; the shop follows it under its own id.
async fn spc_done(
    State(state): State<MerchantState>,
    Path(id): Path<String>,
    body: Bytes,
) -> Response {
    let fields = form(&body);
    let assertion = fields
        .get("assertion")
        .filter(|a| !a.is_empty())
        .and_then(|a| serde_json::from_str::<Value>(a).ok());
    let request = match assertion {
        Some(assertion) => json!({ "assertion": assertion }),
        None => {
            let code = match fields.get("error").map(String::as_str) {
                Some("AbortError") => "02",
                Some("TimeoutError") => "03",
                _ => "01",
            };
            json!({ "spcIncompInd": code })
        }
    };
    let Some(continuation) = state.with(&id, |c| c.continuation()) else {
        return shown(
            StatusCode::NOT_FOUND,
            pages::problem("This checkout is over", "start again from the shop", None),
        );
    };
    let (status, answer) = match call(&state, &format!("/v1/auth/{id}/spc"), Some(&request)).await {
        Ok(answer) => answer,
        Err(why) => return no_answer("The payment could not be authenticated", &why),
    };
    let next = answer
        .get("threeDSServerTransID")
        .and_then(Value::as_str)
        .unwrap_or(&id)
        .to_owned();
    state
        .checkouts
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
        .entry(next.clone())
        .or_insert(continuation);
    next_step(&state, &next, status, &answer)
}

async fn notify(State(state): State<MerchantState>, body: Bytes) -> Response {
    let fields = form(&body);
    let cres = fields
        .get("cres")
        .and_then(|c| html::base64url_decode(c))
        .and_then(|b| serde_json::from_slice::<Value>(&b).ok());
    let Some(cres) = cres else {
        return shown(
            StatusCode::BAD_REQUEST,
            pages::problem(
                "Back from your bank",
                "the bank's answer (cres) is not base64url JSON",
                None,
            ),
        );
    };
    let id = cres
        .get("threeDSServerTransID")
        .and_then(Value::as_str)
        .unwrap_or("")
        .to_owned();
    let session = fields
        .get("threeDSSessionData")
        .and_then(|s| html::base64url_decode(s))
        .map(|b| String::from_utf8_lossy(&b).into_owned());
    if session.as_deref() != Some(id.as_str()) {
        return shown(
            StatusCode::BAD_REQUEST,
            pages::problem(
                "Back from your bank",
                "threeDSSessionData does not match the transaction of the CRes",
                Some(&cres),
            ),
        );
    }
    let said = cres
        .get("transStatus")
        .and_then(Value::as_str)
        .map(str::to_owned);
    if state.with(&id, |c| c.browser_said = said).is_none() {
        return shown(
            StatusCode::NOT_FOUND,
            pages::problem(
                "Back from your bank",
                "this shop has no such checkout",
                Some(&cres),
            ),
        );
    }
    shown(StatusCode::OK, pages::notified(&id))
}

async fn result(State(state): State<MerchantState>, Path(id): Path<String>) -> Response {
    let (status, answer) = match call(&state, &format!("/v1/postauth/{id}"), None).await {
        Ok(answer) => answer,
        Err(why) => return no_answer("The result could not be read", &why),
    };
    if status != 200 {
        return shown(
            StatusCode::BAD_GATEWAY,
            pages::problem(
                "The result could not be read",
                "the 3DS Server has no result for this payment",
                Some(&answer),
            ),
        );
    }
    let (info, said, sent) = state
        .with(&id, |c| {
            (
                c.cardholder_info.clone(),
                c.browser_said.clone(),
                c.sent.clone(),
            )
        })
        .unwrap_or_default();
    if answer.get("status").and_then(Value::as_str) == Some("pending") {
        return shown(StatusCode::OK, pages::waiting(&id, info.as_deref()));
    }
    shown(
        StatusCode::OK,
        pages::result(&id, &answer, said.as_deref(), &sent),
    )
}

/// `purchaseDate`: UTC, `YYYYMMDDHHMMSS`.
fn purchase_date(now_ms: u64) -> String {
    let at = time::OffsetDateTime::from_unix_timestamp(i64::try_from(now_ms / 1000).unwrap_or(0))
        .unwrap_or(time::OffsetDateTime::UNIX_EPOCH);
    format!(
        "{:04}{:02}{:02}{:02}{:02}{:02}",
        at.year(),
        u8::from(at.month()),
        at.day(),
        at.hour(),
        at.minute(),
        at.second()
    )
}
