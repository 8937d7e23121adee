//! The issuer's HTML: what a cardholder sees of the ACS (3DS Method, challenge steps,
//! the hand-back to the merchant, errors) and the "Sandbox Bank app" page. Markup only;
//! `site` decides which page to show. Every page has a heading, every input a label,
//! and every form submits with the keyboard.
//!
//! Pages are maud templates (escaped by construction, see `transport::html`); scripts
//! are constants that read their data from `data-` attributes and JSON data blocks.
//! Challenge, 3DS Method and hand-back pages may be framed by any merchant; the
//! issuer's app pages by nobody.

use emv3ds::Erro;
use maud::{DOCTYPE, Markup, html};
use serde_json::json;
use transport::html::{Csp, Framing, Page, SPC_SCRIPT, auto_post, json_data, script, style};

use crate::challenge::{Approval, Challenge, Method, Phase};
use crate::issuer::{MULTI_SELECT, Question, SINGLE_SELECT};

const STYLE: &str = r#"
:root{--ink:#14213d;--muted:#5c6784;--brand:#0b5cab;--brand-dark:#084683;--line:#d9dfeb;--bg:#f3f6fb;--bad:#a4262c}
*{box-sizing:border-box}
body{margin:0;font:15px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;color:var(--ink);background:var(--bg)}
main{max-width:460px;margin:0 auto;padding:14px}
.bank{display:flex;align-items:center;gap:10px;padding:10px 14px;background:var(--brand);color:#fff;border-radius:10px 10px 0 0}
.logo{display:inline-grid;place-items:center;width:30px;height:30px;border-radius:50%;background:#fff;color:var(--brand);font-weight:800;font-size:13px}
.bank strong{font-size:16px}.bank span.tag{margin-left:auto;font-size:12px;opacity:.85}
.panel{background:#fff;border:1px solid var(--line);border-top:0;border-radius:0 0 10px 10px;padding:16px}
h1{font-size:19px;margin:0 0 10px}
dl{display:grid;grid-template-columns:auto 1fr;gap:2px 12px;margin:0 0 14px;font-size:14px}
dt{color:var(--muted)}dd{margin:0;font-weight:600}
label,legend{display:block;font-weight:600;margin:0 0 6px}
input[type=text]{width:100%;font-size:20px;letter-spacing:.2em;padding:8px 10px;border:1px solid #9aa6bf;border-radius:6px}
input:focus,button:focus{outline:3px solid #7fb0e6;outline-offset:1px}
fieldset{border:0;padding:0;margin:0 0 12px}
.choice{display:flex;align-items:center;gap:8px;padding:7px 9px;border:1px solid var(--line);border-radius:6px;margin:0 0 6px;font-weight:400}
.actions{display:flex;flex-wrap:wrap;gap:8px;align-items:center;margin-top:12px}
button{font:inherit;border-radius:6px;padding:9px 16px;border:1px solid var(--brand);background:var(--brand);color:#fff;cursor:pointer}
button:hover{background:var(--brand-dark)}
button.secondary{background:#fff;color:var(--brand)}
button.link{border:0;background:none;color:var(--brand);padding:4px;text-decoration:underline}
.notice{padding:8px 10px;border-radius:6px;background:#fff4e5;border:1px solid #f0c36d;margin:0 0 12px}
.error{background:#fde7e9;border-color:var(--bad)}
.hint{color:var(--muted);font-size:13px;margin:12px 0 0}
pre{white-space:pre-wrap;word-break:break-all;font-size:12px;background:#f6f8fa;padding:8px;border-radius:6px}
a{color:var(--brand)}
"#;

/// Where the app channel's HTML posts: the SDK's web view catches this URL and sends
/// the form data as `challengeHTMLDataEntry`.
const APP_ACTION: &str = "HTTPS://EMV3DS/challenge";

/// A whole document in the issuer's look; `policy_in_page` puts the policy in a
/// `<meta>` element, for HTML that travels inside a message instead of as an answer.
fn document(csp: &Csp, title: &str, body: &Markup, policy_in_page: bool) -> Markup {
    html! {
        (DOCTYPE)
        html lang="en" {
            head {
                meta charset="utf-8";
                @if policy_in_page {
                    meta http-equiv="Content-Security-Policy" content=(csp.header_for_meta());
                }
                meta name="viewport" content="width=device-width,initial-scale=1";
                title { (title) " · Sandbox Bank" }
                (style(csp, STYLE))
            }
            body {
                main {
                    div.bank role="banner" {
                        span.logo aria-hidden="true" { "SB" }
                        strong { "Sandbox Bank" }
                        span.tag { "Secure payment" }
                    }
                    div.panel { (body) }
                }
            }
        }
    }
}

/// A page served by the ACS's site.
fn page(csp: Csp, title: &str, body: &Markup) -> Page {
    let markup = document(&csp, title, body, false);
    Page::new(csp, markup)
}

fn purchase(c: &Challenge) -> Markup {
    html! {
        dl {
            dt { "Merchant" } dd { (c.purchase.merchant_name) }
            dt { "Amount" } dd { (c.purchase.amount) }
            dt { "Card" } dd { "•••• " (c.purchase.card_last4) }
        }
    }
}

fn notice(c: &Challenge) -> Markup {
    html! {
        @if let Some(n) = &c.notice {
            p.notice role="alert" id="notice" { (n) }
        }
    }
}

fn cancel_form(action: &str) -> Markup {
    html! {
        form method="post" action=(action) {
            div.actions {
                button.link type="submit" name="action" value="cancel" id="cancel" { "Cancel this payment" }
            }
        }
    }
}

fn question(q: &Question, multi: bool) -> Markup {
    let kind = if multi { "checkbox" } else { "radio" };
    html! {
        fieldset {
            legend { (q.text) }
            @for (value, label) in q.options {
                @let id = format!("option-{value}");
                label.choice for=(id) {
                    input type=(kind) name="option" value=(value) id=(id) required[!multi];
                    (label)
                }
            }
        }
    }
}

fn otp_fields(autofocus: bool) -> Markup {
    html! {
        p { "We sent a one-time code by text message to your phone ending ••42." }
        label for="otp" { "Enter the 6-digit code" }
        input type="text" id="otp" name="otp" inputmode="numeric" autocomplete="one-time-code" maxlength="8" autofocus[autofocus] required;
        div.actions {
            button type="submit" name="action" value="submit" id="submit" { "Confirm payment" }
            button.secondary type="submit" name="action" value="resend" id="resend" formnovalidate { "Send a new code" }
        }
    }
}

fn submit_button() -> Markup {
    html! {
        div.actions {
            button type="submit" name="action" value="submit" id="submit" { "Confirm payment" }
        }
    }
}

fn continue_button() -> Markup {
    html! {
        div.actions {
            button type="submit" name="action" value="continue" id="continue" { "I have approved it: continue" }
        }
    }
}

/// ACS-initiated SPC's page script: the button opens the SPC dialog; "use a code"
/// (or a failed dialog) posts `spc-failed` with the reason.
const SPC_OFFER: &str = r#"spcConfirm("spc-confirm","spc-request","spc-form",function(f,n){f.elements.action.value="spc-failed";f.elements.error.value=n;});
document.getElementById("spc-other").addEventListener("click",function(){document.getElementById("spc-action").value="spc-failed";document.getElementById("spc-error").value="chose-otp";});"#;

/// ACS-initiated SPC: the button that opens the SPC dialog, and the way to the OTP.
fn spc_offer(c: &Challenge, csp: &Csp, action: &str) -> Option<Markup> {
    let step = c.spc.as_ref().filter(|_| c.spc_open())?;
    let i = &step.issued;
    let request = json!({
        "challenge": i.challenge, "credentialIds": i.credential_ids, "rpId": i.rp_id,
        "payeeName": i.payee_name, "payeeOrigin": i.payee_origin, "timeout": i.timeout_ms,
        "displayName": i.display_name, "icon": i.icon, "value": i.value, "currency": i.currency,
    });
    Some(html! {
        p { "Confirm this payment with this device: no code needed." }
        (json_data("spc-request", &request))
        form method="post" action=(action) id="spc-form" {
            input type="hidden" name="action" id="spc-action" value="spc";
            input type="hidden" name="assertion" id="spc-assertion";
            input type="hidden" name="error" id="spc-error";
            div.actions {
                button type="button" id="spc-confirm" { "Confirm with this device" }
                button.secondary type="submit" id="spc-other" { "Use a one-time code instead" }
            }
        }
        (script(csp, SPC_SCRIPT))
        (script(csp, SPC_OFFER))
    })
}

/// Out-of-band and decoupled steps: the page asks the ACS every second whether the
/// cardholder has answered in the app, and continues by itself when they have.
const OOB_POLL: &str = r#"(function(){var f=document.getElementById("oob-form");var t=setInterval(function(){fetch(f.dataset.status).then(function(r){return r.json()}).then(function(s){if(s.approval){clearInterval(t);f.requestSubmit(document.getElementById("continue"));}}).catch(function(){});},1000);})();"#;

/// The challenge step the cardholder is at.
pub(crate) fn challenge(c: &Challenge) -> Page {
    let mut csp = Csp::new(Framing::Anyone);
    let action = format!("/challenge/{}", c.acs_trans_id);
    if let Some(offer) = spc_offer(c, &csp, &action) {
        let body = html! {
            h1 { "Confirm your payment" }
            (purchase(c)) (notice(c)) (offer) (cancel_form(&action))
        };
        return page(csp, "Confirm your payment", &body);
    }
    let form = match c.method {
        Method::Otp => html! {
            form method="post" action=(action) { (otp_fields(true)) }
        },
        Method::SingleSelect | Method::MultiSelect => {
            let multi = c.method == Method::MultiSelect;
            let q = if multi { &MULTI_SELECT } else { &SINGLE_SELECT };
            html! {
                p { "Answer this question to confirm it is you." }
                form method="post" action=(action) { (question(q, multi)) (submit_button()) }
            }
        }
        Method::OutOfBand | Method::Decoupled => {
            csp.fetches_own_origin();
            html! {
                p { "We sent a request to the Sandbox Bank app on your phone. Approve the payment there, then continue here." }
                p {
                    a href=(format!("/issuer-app/{}", c.acs_trans_id)) target="_blank" rel="noopener" id="open-issuer-app" {
                        "Open the Sandbox Bank app"
                    }
                }
                form method="post" action=(action) id="oob-form" data-status=(format!("{action}/status")) {
                    (continue_button())
                }
                (script(&csp, OOB_POLL))
            }
        }
    };
    let body = html! {
        h1 { "Confirm your payment" }
        (purchase(c)) (notice(c)) (form) (cancel_form(&action))
        p.hint { "Sandbox: the answers for each test card are listed by " code { "threeds cards" } "." }
    };
    page(csp, "Confirm your payment", &body)
}

/// The app channel's HTML template (`acsUiType` 05): the step as a page for the SDK's
/// web view, its form posting to `HTTPS://EMV3DS/challenge`, where the SDK catches it
/// and sends the form data as `challengeHTMLDataEntry`. The field names are the
/// browser page's, so one reader serves both. No script; the policy travels in the
/// page and lets forms post only to the SDK's address.
pub(crate) fn app_html(c: &Challenge) -> String {
    // Seeded runs must give the same CRes: no nonce, the style by its hash.
    let mut csp = Csp::without_scripts(Framing::Nobody, STYLE);
    csp.forms_to(APP_ACTION);
    let fields = match c.method {
        Method::Otp => otp_fields(false),
        Method::SingleSelect | Method::MultiSelect => {
            let multi = c.method == Method::MultiSelect;
            let q = if multi { &MULTI_SELECT } else { &SINGLE_SELECT };
            html! { (question(q, multi)) (submit_button()) }
        }
        Method::OutOfBand | Method::Decoupled => html! {
            p { "Approve the payment in the Sandbox Bank app, then continue here." }
            (continue_button())
        },
    };
    let body = html! {
        h1 { "Confirm your payment" }
        (purchase(c)) (notice(c))
        form method="post" action=(APP_ACTION) { (fields) }
        (cancel_form(APP_ACTION))
    };
    document(&csp, "Confirm your payment", &body, true).into_string()
}

/// The hand-back: the final CRes posted to the merchant's notification URL.
pub(crate) fn hand_back(c: &Challenge, cres: &str) -> Page {
    let mut csp = Csp::new(Framing::Anyone);
    let authenticated = c
        .verdict
        .as_ref()
        .is_some_and(|v| v.trans_status == emv3ds::codes::TransStatus::Y);
    let (heading, line) = if authenticated {
        (
            "Thank you",
            "Payment confirmed. Returning you to the merchant…",
        )
    } else {
        (
            "Not confirmed",
            "The payment was not confirmed. Returning you to the merchant…",
        )
    };
    let mut fields = vec![("cres", cres)];
    if let Some(data) = &c.session_data {
        fields.push(("threeDSSessionData", data));
    }
    let form = auto_post(
        &mut csp,
        "cres-form",
        c.notification_url.as_deref().unwrap_or(""),
        "_self",
        &fields,
        "Return to the merchant",
    );
    let body = html! {
        h1 { (heading) }
        p id="final" data-trans-status=(if authenticated { "Y" } else { "N" }) { (line) }
        (form)
    };
    page(csp, "Returning to the merchant", &body)
}

/// The "use this device next time" page script: registers a credential with the
/// `payment` extension, sends it to the button's `data-register` URL, and returns to
/// the merchant.
const SPC_ENROL: &str = r#"(function(){var o=JSON.parse(document.getElementById("spc-registration").textContent),s=document.getElementById("spc-status"),f=document.getElementById("cres-form"),b=document.getElementById("spc-enroll");function say(t,ok){s.hidden=false;s.textContent=t;s.setAttribute("data-registered",ok?"yes":"no");}
b.addEventListener("click",function(){if(!navigator.credentials||!window.PublicKeyCredential){say("This browser cannot register a device.",false);return;}
navigator.credentials.create({publicKey:{rp:{id:o.rpId,name:"Sandbox Bank"},user:{id:spcUnB64(o.userHandle),name:o.name,displayName:o.displayName},challenge:spcUnB64(o.challenge),pubKeyCredParams:[{type:"public-key",alg:-7},{type:"public-key",alg:-257}],authenticatorSelection:{userVerification:"required",residentKey:"preferred",authenticatorAttachment:"platform"},timeout:60000,attestation:"none",extensions:{payment:{isPayment:true}}}})
.then(function(c){return fetch(b.dataset.register,{method:"POST",headers:{"Content-Type":"application/json"},body:JSON.stringify(spcRegistrationJson(c))});})
.then(function(r){return r.json().then(function(j){if(!r.ok)throw new Error(j.error||("HTTP "+r.status));say("This device is registered. Returning you to the merchant…",true);f.submit();});})
.catch(function(e){say("The device could not be registered: "+(e.message||e.name),false);});});})();"#;

/// After a successful challenge of a card that allows SPC: "use this device next
/// time" (registers a credential with the `payment` extension), or go back to the
/// merchant at once.
pub(crate) fn enrolment(c: &Challenge, cres: &str, rp_id: &str) -> Page {
    let Some(e) = &c.enrolment else {
        return hand_back(c, cres);
    };
    let mut csp = Csp::new(Framing::Anyone);
    let notify = c.notification_url.as_deref().unwrap_or("");
    if transport::html::destination(notify).is_err() {
        return hand_back(c, cres);
    }
    csp.forms_to(notify).fetches_own_origin();
    let options = json!({
        "rpId": rp_id, "challenge": e.challenge, "userHandle": e.user_handle,
        "name": format!("card-{}", c.purchase.card_last4),
        "displayName": format!("Sandbox Bank card •••• {}", c.purchase.card_last4),
    });
    let body = html! {
        h1 { "Thank you" }
        p id="final" data-trans-status="Y" { "Payment confirmed." }
        h2 { "Use this device next time?" }
        p { "Next time you pay with this card, confirm with this device's screen lock instead of a code (Secure Payment Confirmation)." }
        (json_data("spc-registration", &options))
        p.notice role="status" id="spc-status" hidden {}
        div.actions {
            button type="button" id="spc-enroll" data-register=(format!("/challenge/{}/spc/register", c.acs_trans_id)) {
                "Use this device next time"
            }
        }
        form id="cres-form" method="post" action=(notify) target="_self" {
            input type="hidden" name="cres" value=(cres);
            @if let Some(data) = &c.session_data {
                input type="hidden" name="threeDSSessionData" value=(data);
            }
            div.actions {
                button.secondary type="submit" id="spc-skip" { "Not now: return to the merchant" }
            }
        }
        (script(&csp, SPC_SCRIPT))
        (script(&csp, SPC_ENROL))
    };
    page(csp, "Use this device next time?", &body)
}

/// The 3DS Method page: tells the 3DS Server's page it ran.
pub(crate) fn method_done(notification_url: &str, data: &str) -> Page {
    let mut csp = Csp::new(Framing::Anyone);
    let form = auto_post(
        &mut csp,
        "method-form",
        notification_url,
        "_self",
        &[("threeDSMethodData", data)],
        "Continue",
    );
    page(
        csp,
        "Checking your browser",
        &html! { h1 { "Checking your browser" } (form) },
    )
}

/// A request the ACS cannot take, with the `Erro` it stands for when there is one.
pub(crate) fn error(title: &str, why: &str, erro: Option<&Erro>) -> Page {
    let body = html! {
        h1 { (title) }
        p.notice.error role="alert" { (why) }
        @if let Some(e) = erro {
            details {
                summary { "Protocol error " (e.error_code.as_str()) }
                pre { (String::from_utf8_lossy(&e.to_json())) }
            }
        }
    };
    page(Csp::new(Framing::Anyone), title, &body)
}

/// The "Sandbox Bank app": requests waiting for the cardholder's approval.
pub(crate) fn issuer_app(waiting: &[Challenge]) -> Page {
    let body = html! {
        h1 { "Payments waiting for you" }
        @if waiting.is_empty() {
            p { "Nothing is waiting for your approval." }
        } @else {
            ul id="waiting" {
                @for c in waiting {
                    li {
                        a href=(format!("/issuer-app/{}", c.acs_trans_id)) {
                            (c.purchase.merchant_name) " — " (c.purchase.amount)
                            " (card •••• " (c.purchase.card_last4) ")"
                        }
                    }
                }
            }
        }
        p.hint { "This page stands for the issuer's banking app on the cardholder's phone." }
    };
    page(Csp::new(Framing::Nobody), "Sandbox Bank app", &body)
}

/// One request in the app, with approve and deny.
/// The issuer app's page for one request. `tried` is the answer the cardholder just
/// gave, if any: when it did not count (the request had ended, or ended while it was
/// being stored), the page says so and what really happened.
pub(crate) fn issuer_app_request(c: &Challenge, tried: Option<Approval>) -> Page {
    let answered = match (c.phase, c.approval) {
        (Phase::Decided, _) | (_, Some(_)) => Some(match c.approval {
            Some(Approval::Approved) => "You approved this payment.".to_owned(),
            Some(Approval::Denied) => "You declined this payment.".to_owned(),
            None => format!("This request is over: {}", ending(c)),
        }),
        _ => None,
    };
    let not_taken = tried
        .filter(|t| c.approval != Some(*t))
        .map(|_| format!("Your answer was not taken: {}", ending(c)));
    let body = html! {
        h1 { "Approve a payment" }
        (purchase(c))
        @if let Some(said) = not_taken {
            p.notice role="alert" id="not-taken" { (said) }
        } @else if let Some(said) = answered {
            p.notice role="status" id="answered" { (said) }
        } @else {
            p { "Do you want to approve this payment?" }
            form method="post" action=(format!("/issuer-app/{}", c.acs_trans_id)) {
                div.actions {
                    button type="submit" name="decision" value="approve" id="approve" { "Approve" }
                    button.secondary type="submit" name="decision" value="deny" id="deny" { "Decline" }
                }
            }
        }
        p { a href="/issuer-app" { "All requests" } }
    };
    page(Csp::new(Framing::Nobody), "Approve a payment", &body)
}

/// How a request ended, for the cardholder.
fn ending(c: &Challenge) -> &'static str {
    let Some(verdict) = &c.verdict else {
        return "it is still open.";
    };
    use emv3ds::codes::{ChallengeCancel, TransStatus, TransStatusReason};
    match (
        verdict.trans_status,
        verdict.reason,
        verdict.challenge_cancel,
    ) {
        (TransStatus::Y, _, _) => "the payment had already been approved.",
        (
            _,
            Some(TransStatusReason::TimedOutAtAcs | TransStatusReason::DecoupledMaxTimeExceeded),
            _,
        ) => "the time to answer ran out, so the payment was not approved.",
        (_, _, Some(ChallengeCancel::CardholderCancelled)) => {
            "the payment was cancelled on the merchant's page."
        }
        _ => "the request had already ended, and the payment was not approved.",
    }
}
