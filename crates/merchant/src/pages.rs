//! The shop's HTML: the product and checkout form, the "verifying your card" page
//! (3DS Method and browser facts), the challenge frame, and the result. Stable element
//! ids for automation are listed in the README.
//!
//! Pages are maud templates (escaped by construction, see `transport::html`); scripts
//! are constants that read their data from `data-` attributes and JSON data blocks.
//! The shop's pages may be framed only by the shop itself (its challenge and 3DS Method
//! frames land on its own pages).

use maud::{DOCTYPE, Markup, html};
use serde_json::Value;
use transport::html::{Csp, Framing, Page, SPC_SCRIPT, auto_post, json_data, script, style};

const STYLE: &str = r#"
:root{--ink:#1f2328;--muted:#636c76;--accent:#7a3e1d;--line:#e3e0da;--bg:#faf7f2}
*{box-sizing:border-box}
body{margin:0;font:15px/1.5 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;color:var(--ink);background:var(--bg)}
header{background:#2b1a10;color:#f6e7d8;padding:14px 24px;display:flex;align-items:baseline;gap:14px}
header strong{font-size:20px;letter-spacing:.02em}header span{opacity:.75;font-size:13px}
main{max-width:980px;margin:24px auto;padding:0 20px}
.grid{display:grid;grid-template-columns:1fr 1fr;gap:24px}
@media (max-width:760px){.grid{grid-template-columns:1fr}}
.box{background:#fff;border:1px solid var(--line);border-radius:12px;padding:20px}
.product .art{height:170px;border-radius:10px;background:linear-gradient(135deg,#c58b5a,#6b3a1f);display:grid;place-items:center;color:#fff;font-size:46px}
h1{font-size:22px;margin:0 0 8px}h2{font-size:17px;margin:0 0 12px}
label{display:block;font-weight:600;margin:10px 0 4px;font-size:14px}
input,select{width:100%;font:inherit;padding:8px 10px;border:1px solid #b9b4ab;border-radius:6px;background:#fff}
input[type=checkbox]{width:auto}
.row{display:grid;grid-template-columns:1fr 1fr;gap:10px}
details{margin-top:12px}summary{cursor:pointer;font-weight:600}
button{font:inherit;margin-top:16px;width:100%;padding:11px;border:0;border-radius:8px;background:var(--accent);color:#fff;font-weight:700;cursor:pointer}
button:focus,input:focus,select:focus{outline:3px solid #e0a878;outline-offset:1px}
.muted{color:var(--muted);font-size:13px}
table{border-collapse:collapse;width:100%;font-size:13px}td,th{text-align:left;padding:4px 6px;border-bottom:1px solid var(--line)}
.cards button{margin:0;width:auto;padding:2px 8px;background:#efe6dc;color:var(--ink);font-weight:400}
.error{background:#fde7e9;border:1px solid #d1242f;border-radius:8px;padding:10px;margin-bottom:14px}
.frame{display:flex;justify-content:center}.frame iframe{border:1px solid var(--line);border-radius:8px;background:#fff}
.outcome{border-left:6px solid #888}.outcome.ok{border-color:#1a7f37}.outcome.bad{border-color:#d1242f}
dl{display:grid;grid-template-columns:auto 1fr;gap:4px 16px}dt{color:var(--muted)}dd{margin:0;font-family:ui-monospace,monospace;word-break:break-all}
"#;

/// A whole shop page; `refresh` makes it reload itself every second.
fn page(csp: Csp, title: &str, body: &Markup, refresh: bool) -> Page {
    let markup = html! {
        (DOCTYPE)
        html lang="en" {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width,initial-scale=1";
                title { (title) " · Sandbox Coffee Roasters" }
                (style(&csp, STYLE))
                @if refresh {
                    meta http-equiv="refresh" content="1";
                }
            }
            body {
                header {
                    strong { "Sandbox Coffee Roasters" }
                    span { "a mock merchant of the EMV 3DS sandbox" }
                }
                main { (body) }
            }
        }
    };
    Page::new(csp, markup)
}

fn shop_policy() -> Csp {
    Csp::new(Framing::SameOrigin)
}

fn select(id: &str, name: &str, label: &str, options: &[(&str, &str)], chosen: &str) -> Markup {
    html! {
        label for=(id) { (label) }
        select id=(id) name=(name) {
            @for (value, text) in options {
                option value=(value) selected[*value == chosen] { (text) }
            }
        }
    }
}

/// Fills the card number from a test card's button.
const PICK_CARD: &str = r#"document.querySelectorAll("[data-pan]").forEach(function(b){b.addEventListener("click",function(){document.getElementById("card-number").value=b.dataset.pan;});});"#;

/// The product and checkout form; `error` says what was wrong with the last attempt.
pub(crate) fn shop(error: Option<&str>, test_cards: &[(String, String)]) -> Page {
    let csp = shop_policy();
    let body = html! {
        div.grid {
            section.box.product {
                div.art aria-hidden="true" { "☕" }
                h1 { "Burr coffee grinder" }
                p { "Conical steel burrs, 40 grind settings, and a very patient 3-D Secure checkout." }
                p.muted { "Every payment here is authenticated through the sandbox: 3DS Server, Directory Server and ACS, over mutual TLS." }
            }
            section.box {
                h2 { "Checkout" }
                @if let Some(e) = error {
                    div.error role="alert" id="error" { (e) }
                }
                form method="post" action="/checkout" id="checkout" {
                    label for="card-number" { "Card number" }
                    input id="card-number" name="cardNumber" inputmode="numeric" autocomplete="cc-number" required placeholder="4000 0000 0000 1000";
                    div.row {
                        div {
                            label for="expiry" { "Expiry (MM/YY)" }
                            input id="expiry" name="expiry" value="12/30" autocomplete="cc-exp" required;
                        }
                        div {
                            label for="amount" { "Amount" }
                            input id="amount" name="amount" value="49.90" inputmode="decimal" required;
                        }
                    }
                    (select("currency", "currency", "Currency", &[("978", "EUR"), ("840", "USD"), ("826", "GBP")], "978"))
                    details {
                        summary { "3-D Secure options" }
                        (select("message-version", "messageVersion", "Message version", &[
                            ("", "Negotiated (highest common)"),
                            ("2.1.0", "2.1.0"),
                            ("2.2.0", "2.2.0"),
                            ("2.3.1", "2.3.1"),
                        ], ""))
                        (select("challenge-ind", "challengeInd", "Challenge preference", &[
                            ("01", "01 No preference"),
                            ("02", "02 No challenge requested"),
                            ("03", "03 Challenge requested"),
                            ("04", "04 Challenge mandated"),
                        ], "01"))
                        (select("window-size", "windowSize", "Challenge window", &[
                            ("01", "01 · 250 × 400"),
                            ("02", "02 · 390 × 400"),
                            ("03", "03 · 500 × 600"),
                            ("04", "04 · 600 × 400"),
                            ("05", "05 · full page"),
                        ], "03"))
                        label {
                            input type="checkbox" id="decoupled" name="decoupled" value="on";
                            " Accept decoupled authentication (banking app)"
                        }
                        label for="dec-max-time" { "Decoupled: minutes to wait" }
                        input id="dec-max-time" name="decMaxTime" value="5" inputmode="numeric";
                        label {
                            input type="checkbox" id="use-spc" name="useSpc" value="on";
                            " Offer Secure Payment Confirmation when the browser supports it (2.3.1)"
                        }
                    }
                    button type="submit" id="pay" { "Pay" }
                }
                @if !test_cards.is_empty() {
                    details.cards {
                        summary { "Test cards" }
                        table {
                            tbody {
                                @for (pan, what) in test_cards {
                                    tr {
                                        td { button type="button" data-pan=(pan) { (pan) } }
                                        td { (what) }
                                    }
                                }
                            }
                        }
                    }
                    (script(&csp, PICK_CARD))
                }
            }
        }
    };
    page(csp, "Checkout", &body, false)
}

/// The "verifying your card" script: fills in the browser's facts, runs the 3DS
/// Method when the form says there is one (`data-method`), and posts when the method
/// page reports back or after `data-timeout` milliseconds, whichever comes first.
const VERIFY: &str = r#"(function(){
  var f=document.getElementById("auth-form"), sent=false;
  f.language.value=navigator.language||"en";
  f.colorDepth.value=String(screen.colorDepth);
  f.screenHeight.value=String(screen.height);
  f.screenWidth.value=String(screen.width);
  f.tz.value=String(new Date().getTimezoneOffset());
  f.spcAvailable.value=String(typeof window.PaymentRequest!=="undefined");
  function go(){ if(!sent){ sent=true; f.submit(); } }
  if(f.dataset.method==="true"){
    window.addEventListener("message",function(e){ if(e.origin===location.origin&&e.data==="threeds-method-done"){ go(); } });
    setTimeout(go,Number(f.dataset.timeout));
    document.getElementById("method-form").submit();
  } else { go(); }
})();"#;

/// "Verifying your card": runs the 3DS Method in a hidden frame (when there is one),
/// reads the browser's facts, and posts them on; without JavaScript, a button posts.
pub(crate) fn verifying(id: &str, method: Option<(&str, &str)>, method_timeout_ms: u64) -> Page {
    let mut csp = shop_policy();
    // The 3DS Method URL comes from the ACS (through the DS's card ranges); one the
    // URL policy refuses gets no frame, and the page goes on without the method.
    let method = method.filter(|(url, _)| transport::html::destination(url).is_ok());
    if let Some((url, _)) = method {
        csp.forms_to(url).frames(url);
    }
    let action = format!("/authenticate/{id}");
    let body = html! {
        section.box {
            h1 id="verifying" { "Verifying your card…" }
            p.muted { "Your bank may ask you to confirm the payment." }
            @if let Some((url, data)) = method {
                iframe name="threeds-method" id="threeds-method" title="3DS Method" hidden aria-hidden="true" {}
                form id="method-form" method="post" action=(url) target="threeds-method" {
                    input type="hidden" name="threeDSMethodData" value=(data);
                }
            }
            form id="auth-form" method="post" action=(action) data-method=(method.is_some()) data-timeout=(method_timeout_ms) {
                input type="hidden" name="js" value="true";
                input type="hidden" name="language";
                input type="hidden" name="colorDepth";
                input type="hidden" name="screenHeight";
                input type="hidden" name="screenWidth";
                input type="hidden" name="tz";
                input type="hidden" name="spcAvailable" value="false";
            }
            noscript {
                form method="post" action=(action) {
                    input type="hidden" name="js" value="false";
                    p { "JavaScript is off: continue to authenticate without it." }
                    button type="submit" id="continue" { "Continue" }
                }
            }
            (script(&csp, VERIFY))
        }
    };
    page(csp, "Verifying your card", &body, false)
}

/// Tells the "verifying" page (the frame's parent, same origin) the 3DS Method ran.
const METHOD_NOTIFIED: &str = r#"parent.postMessage("threeds-method-done", location.origin);"#;

/// The page the ACS's 3DS Method page lands on (inside the hidden frame).
pub(crate) fn method_notified() -> Page {
    let csp = shop_policy();
    let body = html! {
        p { "3DS Method complete." }
        (script(&csp, METHOD_NOTIFIED))
    };
    page(csp, "3DS Method", &body, false)
}

/// The challenge: the CReq posted into a frame sized for `challengeWindowSize`, or
/// the whole page for `05`.
pub(crate) fn challenge(acs_url: &str, creq: &str, session_data: &str, window_size: &str) -> Page {
    let mut csp = shop_policy();
    let (width, height) = match window_size {
        "01" => (250, 400),
        "02" => (390, 400),
        "04" => (600, 400),
        _ => (500, 600),
    };
    let fields = [("creq", creq), ("threeDSSessionData", session_data)];
    if window_size == "05" {
        let form = auto_post(
            &mut csp,
            "challenge-form",
            acs_url,
            "_self",
            &fields,
            "Continue to your bank",
        );
        let body = html! { section.box { h1 { "Redirecting to your bank…" } (form) } };
        return page(csp, "Redirecting to your bank", &body, false);
    }
    csp.frames(acs_url);
    let form = auto_post(
        &mut csp,
        "challenge-form",
        acs_url,
        "challenge-frame",
        &fields,
        "Continue to your bank",
    );
    let body = html! {
        section.box {
            h1 { "Confirm the payment with your bank" }
            div.frame {
                iframe name="challenge-frame" id="challenge-frame" title="Your bank's authentication" width=(width) height=(height) data-window-size=(window_size) allow="payment *; publickey-credentials-get *; publickey-credentials-create *" {}
            }
            (form)
        }
    };
    page(csp, "Confirm with your bank", &body, false)
}

/// The shop's SPC script: the button opens the SPC dialog; a failure posts its name.
const SPC_PAY: &str =
    r#"spcConfirm("spc-pay","spc-request","spc-form",function(f,n){f.elements.error.value=n;});"#;

/// An ARes `S`: the shop's page runs Secure Payment Confirmation with what the ACS
/// sent (`spcTransData`, `webAuthnCredList`) and posts the outcome to `/spc/{id}`.
pub(crate) fn spc(id: &str, request: &Value) -> Page {
    let csp = shop_policy();
    let body = html! {
        section.box {
            h1 { "Confirm with your bank" }
            p { "Your bank lets you confirm this payment with this device." }
            (json_data("spc-request", request))
            form id="spc-form" method="post" action=(format!("/spc/{id}")) {
                input type="hidden" name="assertion" id="spc-assertion";
                input type="hidden" name="error" id="spc-error";
            }
            button type="button" id="spc-pay" { "Confirm the payment" }
            (script(&csp, SPC_SCRIPT))
            (script(&csp, SPC_PAY))
        }
    };
    page(csp, "Confirm with your bank", &body, false)
}

/// Leaves the challenge frame for the result page the link names.
const TO_RESULT: &str =
    r#"window.top.location.href=document.getElementById("to-result").getAttribute("href");"#;

/// The `notificationURL` page: leaves the challenge frame for the result page.
pub(crate) fn notified(id: &str) -> Page {
    let csp = shop_policy();
    let body = html! {
        section.box {
            h1 { "Back from your bank" }
            p { a href=(format!("/result/{id}")) target="_top" id="to-result" { "See the result" } }
        }
        (script(&csp, TO_RESULT))
    };
    page(csp, "Back from your bank", &body, false)
}

/// Waiting for a result the 3DS Server does not have yet (decoupled; an RReq on
/// its way): the page reloads itself.
pub(crate) fn waiting(id: &str, cardholder_info: Option<&str>) -> Page {
    let body = html! {
        section.box {
            h1 id="waiting" data-three-ds-server-trans-id=(id) { "Waiting for your bank…" }
            @if let Some(info) = cardholder_info {
                p id="cardholder-info" { (info) }
            }
            p.muted { "This page refreshes itself until your bank answers." }
        }
    };
    page(shop_policy(), "Waiting for your bank", &body, true)
}

/// The result, from `/v1/postauth`.
pub(crate) fn result(
    id: &str,
    postauth: &Value,
    browser_said: Option<&str>,
    sent: &[(&str, String)],
) -> Page {
    let status = postauth
        .get("transStatus")
        .and_then(Value::as_str)
        .unwrap_or("");
    let (class, headline) = match status {
        "Y" => ("ok", "Payment authenticated"),
        "A" => ("ok", "Authentication attempted"),
        "N" => ("bad", "Payment not authenticated"),
        "R" => ("bad", "Payment rejected by the issuer"),
        "U" => ("bad", "Authentication unavailable"),
        _ => ("", "No 3-D Secure result"),
    };
    // Every field postauth gives, as it gives them (its id is shown below).
    let fields: Vec<(&String, String)> = postauth
        .as_object()
        .into_iter()
        .flatten()
        .filter(|(n, _)| !matches!(n.as_str(), "threeDSServerTransID" | "status"))
        .map(|(n, v)| (n, v.as_str().map_or_else(|| v.to_string(), str::to_owned)))
        .collect();
    let source = postauth.get("source").and_then(Value::as_str).unwrap_or("");
    let body = html! {
        section.box.outcome.(class) id="outcome" data-trans-status=(status) data-three-ds-server-trans-id=(id) data-source=(source) {
            h1 { (headline) }
            dl {
                @for (name, value) in &fields {
                    dt { (name) }
                    dd id=(format!("result-{name}")) { (value) }
                }
                @for (name, value) in sent {
                    dt { (name) " (sent)" }
                    dd id=(format!("result-{name}")) { (value) }
                }
                @if let Some(said) = browser_said {
                    dt { "final CRes (browser)" }
                    dd id="result-cres" { (said) }
                }
                dt { "threeDSServerTransID" }
                dd { (id) }
            }
            p { a href="/" { "Back to the shop" } }
        }
    };
    page(shop_policy(), headline, &body, false)
}

/// A problem the shop cannot get past.
pub(crate) fn problem(title: &str, why: &str, detail: Option<&Value>) -> Page {
    let body = html! {
        section.box {
            h1 { (title) }
            div.error role="alert" id="error" { (why) }
            @if let Some(d) = detail {
                details open {
                    summary { "Answer of the 3DS Server" }
                    pre { (serde_json::to_string_pretty(d).unwrap_or_default()) }
                }
            }
            p { a href="/" { "Back to the shop" } }
        }
    };
    page(shop_policy(), title, &body, false)
}
