//! The issuer's HTML: what a cardholder sees of the ACS (3DS Method, challenge steps,
//! the hand-back to the merchant, errors) and the "Sandbox Bank app" page. Markup only;
//! `site` decides which page to show. Every page has a heading, every input a label,
//! and every form submits with the keyboard.

use emv3ds::Erro;
use serde_json::json;
use transport::html::{SPC_SCRIPT, auto_post, escape, script_json};

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

/// A whole page in the issuer's look.
pub(crate) fn page(title: &str, body: &str) -> String {
    format!(
        r#"<!doctype html><html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1"><title>{title} · Sandbox Bank</title><style>{STYLE}</style></head><body><main><div class="bank" role="banner"><span class="logo" aria-hidden="true">SB</span><strong>Sandbox Bank</strong><span class="tag">Secure payment</span></div><div class="panel">{body}</div></main></body></html>"#,
        title = escape(title),
    )
}

fn purchase(c: &Challenge) -> String {
    format!(
        "<dl><dt>Merchant</dt><dd>{}</dd><dt>Amount</dt><dd>{}</dd><dt>Card</dt><dd>•••• {}</dd></dl>",
        escape(&c.purchase.merchant_name),
        escape(&c.purchase.amount),
        escape(&c.purchase.card_last4)
    )
}

fn notice(c: &Challenge) -> String {
    c.notice
        .as_deref()
        .map(|n| {
            format!(
                r#"<p class="notice" role="alert" id="notice">{}</p>"#,
                escape(n)
            )
        })
        .unwrap_or_default()
}

fn cancel_form(action: &str) -> String {
    format!(
        r#"<form method="post" action="{action}"><div class="actions"><button type="submit" class="link" name="action" value="cancel" id="cancel">Cancel this payment</button></div></form>"#
    )
}

fn question(q: &Question, multi: bool) -> String {
    let kind = if multi { "checkbox" } else { "radio" };
    let required = if multi { "" } else { " required" };
    let options: String = q
        .options
        .iter()
        .map(|(value, label)| {
            format!(
                r#"<label class="choice" for="option-{value}"><input type="{kind}" name="option" value="{value}" id="option-{value}"{required}>{label}</label>"#,
                label = escape(label)
            )
        })
        .collect();
    format!(
        r#"<fieldset><legend>{}</legend>{options}</fieldset>"#,
        escape(q.text)
    )
}

/// ACS-initiated SPC: the button that opens the SPC dialog, and the way to the OTP.
fn spc_offer(c: &Challenge, action: &str) -> Option<String> {
    let step = c.spc.as_ref().filter(|_| c.spc_open())?;
    let i = &step.issued;
    let request = json!({
        "challenge": i.challenge, "credentialIds": i.credential_ids, "rpId": i.rp_id,
        "payeeName": i.payee_name, "payeeOrigin": i.payee_origin, "timeout": i.timeout_ms,
        "displayName": i.display_name, "icon": i.icon, "value": i.value, "currency": i.currency,
    });
    Some(format!(
        r#"<p>Confirm this payment with this device: no code needed.</p><script type="application/json" id="spc-request">{request}</script><form method="post" action="{action}" id="spc-form"><input type="hidden" name="action" id="spc-action" value="spc"><input type="hidden" name="assertion" id="spc-assertion"><input type="hidden" name="error" id="spc-error"><div class="actions"><button type="button" id="spc-confirm">Confirm with this device</button><button type="submit" class="secondary" id="spc-other" onclick="document.getElementById('spc-action').value='spc-failed';document.getElementById('spc-error').value='chose-otp';">Use a one-time code instead</button></div></form>{SPC_SCRIPT}<script>spcConfirm("spc-confirm","spc-request","spc-form",function(f,n){{f.elements.action.value="spc-failed";f.elements.error.value=n;}});</script>"#,
        request = script_json(&request),
    ))
}

/// The challenge step the cardholder is at.
pub(crate) fn challenge(c: &Challenge) -> String {
    let action = format!("/challenge/{}", escape(&c.acs_trans_id));
    if let Some(offer) = spc_offer(c, &action) {
        return page(
            "Confirm your payment",
            &format!(
                r#"<h1>Confirm your payment</h1>{}{}{offer}{}"#,
                purchase(c),
                notice(c),
                cancel_form(&action)
            ),
        );
    }
    let form = match c.method {
        Method::Otp => format!(
            r#"<p>We sent a one-time code by text message to your phone ending ••42.</p><form method="post" action="{action}"><label for="otp">Enter the 6-digit code</label><input type="text" id="otp" name="otp" inputmode="numeric" autocomplete="one-time-code" maxlength="8" autofocus required><div class="actions"><button type="submit" name="action" value="submit" id="submit">Confirm payment</button><button type="submit" class="secondary" name="action" value="resend" id="resend" formnovalidate>Send a new code</button></div></form>"#
        ),
        Method::SingleSelect | Method::MultiSelect => {
            let multi = c.method == Method::MultiSelect;
            let q = if multi { &MULTI_SELECT } else { &SINGLE_SELECT };
            format!(
                r#"<p>Answer this question to confirm it is you.</p><form method="post" action="{action}">{}<div class="actions"><button type="submit" name="action" value="submit" id="submit">Confirm payment</button></div></form>"#,
                question(q, multi)
            )
        }
        Method::OutOfBand | Method::Decoupled => format!(
            r#"<p>We sent a request to the Sandbox Bank app on your phone. Approve the payment there, then continue here.</p><p><a href="/issuer-app/{id}" target="_blank" rel="noopener" id="open-issuer-app">Open the Sandbox Bank app</a></p><form method="post" action="{action}" id="oob-form"><div class="actions"><button type="submit" name="action" value="continue" id="continue">I have approved it: continue</button></div></form><script>
(function(){{var f=document.getElementById("oob-form");var t=setInterval(function(){{fetch("{action}/status").then(function(r){{return r.json()}}).then(function(s){{if(s.approval){{clearInterval(t);f.requestSubmit(document.getElementById("continue"));}}}}).catch(function(){{}});}},1000);}})();
</script>"#,
            id = escape(&c.acs_trans_id)
        ),
    };
    page(
        "Confirm your payment",
        &format!(
            r#"<h1>Confirm your payment</h1>{}{}{form}{}<p class="hint">Sandbox: the answers for each test card are listed by <code>threeds cards</code>.</p>"#,
            purchase(c),
            notice(c),
            cancel_form(&action)
        ),
    )
}

/// The app channel's HTML template (`acsUiType` 05): the step as a page for the SDK's
/// web view, its form posting to `HTTPS://EMV3DS/challenge`, where the SDK catches it
/// and sends the form data as `challengeHTMLDataEntry`. The field names are the
/// browser page's, so one reader serves both.
pub(crate) fn app_html(c: &Challenge) -> String {
    const ACTION: &str = "HTTPS://EMV3DS/challenge";
    let fields = match c.method {
        Method::Otp => r#"<p>We sent a one-time code by text message to your phone ending ••42.</p><label for="otp">Enter the 6-digit code</label><input type="text" id="otp" name="otp" inputmode="numeric" autocomplete="one-time-code" maxlength="8" required><div class="actions"><button type="submit" name="action" value="submit" id="submit">Confirm payment</button><button type="submit" class="secondary" name="action" value="resend" id="resend" formnovalidate>Send a new code</button></div>"#.to_owned(),
        Method::SingleSelect | Method::MultiSelect => {
            let multi = c.method == Method::MultiSelect;
            let q = if multi { &MULTI_SELECT } else { &SINGLE_SELECT };
            format!(
                r#"{}<div class="actions"><button type="submit" name="action" value="submit" id="submit">Confirm payment</button></div>"#,
                question(q, multi)
            )
        }
        Method::OutOfBand | Method::Decoupled => r#"<p>Approve the payment in the Sandbox Bank app, then continue here.</p><div class="actions"><button type="submit" name="action" value="continue" id="continue">I have approved it: continue</button></div>"#.to_owned(),
    };
    page(
        "Confirm your payment",
        &format!(
            r#"<h1>Confirm your payment</h1>{}{}<form method="post" action="{ACTION}">{fields}</form><form method="post" action="{ACTION}"><div class="actions"><button type="submit" class="link" name="action" value="cancel" id="cancel">Cancel this payment</button></div></form>"#,
            purchase(c),
            notice(c),
        ),
    )
}

/// The hand-back: the final CRes posted to the merchant's notification URL.
pub(crate) fn hand_back(c: &Challenge, cres: &str) -> String {
    let authenticated = c.verdict.as_ref().is_some_and(|v| v.trans_status == "Y");
    let line = if authenticated {
        "Payment confirmed. Returning you to the merchant…"
    } else {
        "The payment was not confirmed. Returning you to the merchant…"
    };
    let mut fields = vec![("cres", cres)];
    if let Some(data) = &c.session_data {
        fields.push(("threeDSSessionData", data));
    }
    let form = auto_post(
        "cres-form",
        c.notification_url.as_deref().unwrap_or(""),
        "_self",
        &fields,
        "Return to the merchant",
    );
    page(
        "Returning to the merchant",
        &format!(
            r#"<h1>{}</h1><p id="final" data-trans-status="{}">{line}</p>{form}"#,
            if authenticated {
                "Thank you"
            } else {
                "Not confirmed"
            },
            if authenticated { "Y" } else { "N" }
        ),
    )
}

/// After a successful challenge of a card that allows SPC: "use this device next
/// time" (registers a credential with the `payment` extension), or go back to the
/// merchant at once.
pub(crate) fn enrolment(c: &Challenge, cres: &str, rp_id: &str) -> String {
    let Some(e) = &c.enrolment else {
        return hand_back(c, cres);
    };
    let options = json!({
        "rpId": rp_id, "challenge": e.challenge, "userHandle": e.user_handle,
        "name": format!("card-{}", c.purchase.card_last4),
        "displayName": format!("Sandbox Bank card •••• {}", c.purchase.card_last4),
    });
    let session = c
        .session_data
        .as_deref()
        .map(|d| {
            format!(
                r#"<input type="hidden" name="threeDSSessionData" value="{}">"#,
                escape(d)
            )
        })
        .unwrap_or_default();
    page(
        "Use this device next time?",
        &format!(
            r#"<h1>Thank you</h1><p id="final" data-trans-status="Y">Payment confirmed.</p><h2>Use this device next time?</h2><p>Next time you pay with this card, confirm with this device's screen lock instead of a code (Secure Payment Confirmation).</p><script type="application/json" id="spc-registration">{options}</script><p class="notice" role="status" id="spc-status" hidden></p><div class="actions"><button type="button" id="spc-enroll">Use this device next time</button></div><form id="cres-form" method="post" action="{notify}" target="_self"><input type="hidden" name="cres" value="{cres}">{session}<div class="actions"><button type="submit" class="secondary" id="spc-skip">Not now: return to the merchant</button></div></form>{SPC_SCRIPT}<script>
(function(){{var o=JSON.parse(document.getElementById("spc-registration").textContent),s=document.getElementById("spc-status"),f=document.getElementById("cres-form");function say(t,ok){{s.hidden=false;s.textContent=t;s.setAttribute("data-registered",ok?"yes":"no");}}
document.getElementById("spc-enroll").addEventListener("click",function(){{if(!navigator.credentials||!window.PublicKeyCredential){{say("This browser cannot register a device.",false);return;}}
navigator.credentials.create({{publicKey:{{rp:{{id:o.rpId,name:"Sandbox Bank"}},user:{{id:spcUnB64(o.userHandle),name:o.name,displayName:o.displayName}},challenge:spcUnB64(o.challenge),pubKeyCredParams:[{{type:"public-key",alg:-7}},{{type:"public-key",alg:-257}}],authenticatorSelection:{{userVerification:"required",residentKey:"preferred",authenticatorAttachment:"platform"}},timeout:60000,attestation:"none",extensions:{{payment:{{isPayment:true}}}}}}}})
.then(function(c){{return fetch("/challenge/{id}/spc/register",{{method:"POST",headers:{{"Content-Type":"application/json"}},body:JSON.stringify(spcRegistrationJson(c))}});}})
.then(function(r){{return r.json().then(function(b){{if(!r.ok)throw new Error(b.error||("HTTP "+r.status));say("This device is registered. Returning you to the merchant…",true);f.submit();}});}})
.catch(function(e){{say("The device could not be registered: "+(e.message||e.name),false);}});}});}})();
</script>"#,
            options = script_json(&options),
            notify = escape(c.notification_url.as_deref().unwrap_or("")),
            cres = escape(cres),
            id = escape(&c.acs_trans_id),
        ),
    )
}

/// The 3DS Method page: tells the 3DS Server's page it ran.
pub(crate) fn method_done(notification_url: &str, data: &str) -> String {
    page(
        "Checking your browser",
        &format!(
            "<h1>Checking your browser</h1>{}",
            auto_post(
                "method-form",
                notification_url,
                "_self",
                &[("threeDSMethodData", data)],
                "Continue"
            )
        ),
    )
}

/// A request the ACS cannot take, with the `Erro` it stands for when there is one.
pub(crate) fn error(title: &str, why: &str, erro: Option<&Erro>) -> String {
    let erro = erro
        .map(|e| {
            format!(
                "<details><summary>Protocol error {}</summary><pre>{}</pre></details>",
                escape(e.error_code.as_str()),
                escape(&String::from_utf8_lossy(&e.to_json()))
            )
        })
        .unwrap_or_default();
    page(
        title,
        &format!(
            r#"<h1>{}</h1><p class="notice error" role="alert">{}</p>{erro}"#,
            escape(title),
            escape(why)
        ),
    )
}

/// The "Sandbox Bank app": requests waiting for the cardholder's approval.
pub(crate) fn issuer_app(waiting: &[Challenge]) -> String {
    let items: String = waiting
        .iter()
        .map(|c| {
            format!(
                r#"<li><a href="/issuer-app/{id}">{} — {} (card •••• {})</a></li>"#,
                escape(&c.purchase.merchant_name),
                escape(&c.purchase.amount),
                escape(&c.purchase.card_last4),
                id = escape(&c.acs_trans_id)
            )
        })
        .collect();
    let list = if items.is_empty() {
        "<p>Nothing is waiting for your approval.</p>".to_owned()
    } else {
        format!(r#"<ul id="waiting">{items}</ul>"#)
    };
    page(
        "Sandbox Bank app",
        &format!(
            "<h1>Payments waiting for you</h1>{list}<p class=\"hint\">This page stands for the issuer's banking app on the cardholder's phone.</p>"
        ),
    )
}

/// One request in the app, with approve and deny.
pub(crate) fn issuer_app_request(c: &Challenge) -> String {
    let id = escape(&c.acs_trans_id);
    let body = match (c.phase, c.approval) {
        (Phase::Decided, _) | (_, Some(_)) => {
            let said = match c.approval {
                Some(Approval::Approved) => "You approved this payment.",
                Some(Approval::Denied) => "You declined this payment.",
                None => "This request is over.",
            };
            format!(r#"<p class="notice" role="status" id="answered">{said}</p>"#)
        }
        _ => format!(
            r#"<p>Do you want to approve this payment?</p><form method="post" action="/issuer-app/{id}"><div class="actions"><button type="submit" name="decision" value="approve" id="approve">Approve</button><button type="submit" class="secondary" name="decision" value="deny" id="deny">Decline</button></div></form>"#
        ),
    };
    page(
        "Approve a payment",
        &format!(
            "<h1>Approve a payment</h1>{}{body}<p><a href=\"/issuer-app\">All requests</a></p>",
            purchase(c)
        ),
    )
}
