//! The shop's HTML: the product and checkout form, the "verifying your card" page
//! (3DS Method and browser facts), the challenge frame, and the result. Stable element
//! ids for automation are listed in the README.

use serde_json::Value;
use transport::html::escape;

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

/// A whole shop page.
pub(crate) fn page(title: &str, body: &str, head: &str) -> String {
    format!(
        r#"<!doctype html><html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1"><title>{title} · Sandbox Coffee Roasters</title><style>{STYLE}</style>{head}</head><body><header><strong>Sandbox Coffee Roasters</strong><span>a mock merchant of the EMV 3DS sandbox</span></header><main>{body}</main></body></html>"#,
        title = escape(title)
    )
}

fn select(id: &str, name: &str, label: &str, options: &[(&str, &str)], chosen: &str) -> String {
    let options: String = options
        .iter()
        .map(|(value, text)| {
            let selected = if *value == chosen { " selected" } else { "" };
            format!(
                r#"<option value="{value}"{selected}>{}</option>"#,
                escape(text)
            )
        })
        .collect();
    format!(
        r#"<label for="{id}">{label}</label><select id="{id}" name="{name}">{options}</select>"#
    )
}

/// The product and checkout form; `error` says what was wrong with the last attempt.
pub(crate) fn shop(error: Option<&str>, test_cards: &[(String, String)]) -> String {
    let error = error
        .map(|e| {
            format!(
                r#"<div class="error" role="alert" id="error">{}</div>"#,
                escape(e)
            )
        })
        .unwrap_or_default();
    let cards: String = test_cards
        .iter()
        .map(|(pan, what)| {
            format!(
                r#"<tr><td><button type="button" data-pan="{pan}">{pan}</button></td><td>{}</td></tr>"#,
                escape(what),
                pan = escape(pan)
            )
        })
        .collect();
    let cards = if cards.is_empty() {
        String::new()
    } else {
        format!(
            r#"<details class="cards"><summary>Test cards</summary><table><tbody>{cards}</tbody></table></details><script>document.querySelectorAll("[data-pan]").forEach(function(b){{b.addEventListener("click",function(){{document.getElementById("card-number").value=b.dataset.pan;}});}});</script>"#
        )
    };
    let body = format!(
        r#"<div class="grid"><section class="box product"><div class="art" aria-hidden="true">☕</div><h1>Burr coffee grinder</h1><p>Conical steel burrs, 40 grind settings, and a very patient 3-D Secure checkout.</p><p class="muted">Every payment here is authenticated through the sandbox: 3DS Server, Directory Server and ACS, over mutual TLS.</p></section>
<section class="box"><h2>Checkout</h2>{error}<form method="post" action="/checkout" id="checkout">
<label for="card-number">Card number</label><input id="card-number" name="cardNumber" inputmode="numeric" autocomplete="cc-number" required placeholder="4000 0000 0000 1000">
<div class="row"><div><label for="expiry">Expiry (MM/YY)</label><input id="expiry" name="expiry" value="12/30" autocomplete="cc-exp" required></div>
<div><label for="amount">Amount</label><input id="amount" name="amount" value="49.90" inputmode="decimal" required></div></div>
{currency}
<details><summary>3-D Secure options</summary>
{version}{challenge}{window}
<label><input type="checkbox" id="decoupled" name="decoupled" value="on"> Accept decoupled authentication (banking app)</label>
<label for="dec-max-time">Decoupled: minutes to wait</label><input id="dec-max-time" name="decMaxTime" value="5" inputmode="numeric">
<label><input type="checkbox" id="use-spc" name="useSpc" value="on"> Offer Secure Payment Confirmation when the browser supports it (2.3.1)</label>
</details>
<button type="submit" id="pay">Pay</button></form>{cards}</section></div>"#,
        currency = select(
            "currency",
            "currency",
            "Currency",
            &[("978", "EUR"), ("840", "USD"), ("826", "GBP")],
            "978"
        ),
        version = select(
            "message-version",
            "messageVersion",
            "Message version",
            &[
                ("", "Negotiated (highest common)"),
                ("2.1.0", "2.1.0"),
                ("2.2.0", "2.2.0"),
                ("2.3.1", "2.3.1")
            ],
            ""
        ),
        challenge = select(
            "challenge-ind",
            "challengeInd",
            "Challenge preference",
            &[
                ("01", "01 No preference"),
                ("02", "02 No challenge requested"),
                ("03", "03 Challenge requested"),
                ("04", "04 Challenge mandated")
            ],
            "01"
        ),
        window = select(
            "window-size",
            "windowSize",
            "Challenge window",
            &[
                ("01", "01 · 250 × 400"),
                ("02", "02 · 390 × 400"),
                ("03", "03 · 500 × 600"),
                ("04", "04 · 600 × 400"),
                ("05", "05 · full page")
            ],
            "03"
        ),
    );
    page("Checkout", &body, "")
}

/// "Verifying your card": runs the 3DS Method in a hidden frame (when there is one),
/// reads the browser's facts, and posts them on; without JavaScript, a button posts.
pub(crate) fn verifying(id: &str, method: Option<(&str, &str)>, method_timeout_ms: u64) -> String {
    let id = escape(id);
    let (frame, start) = match method {
        Some((url, data)) => (
            format!(
                r#"<iframe name="threeds-method" id="threeds-method" title="3DS Method" style="display:none" aria-hidden="true"></iframe><form id="method-form" method="post" action="{}" target="threeds-method"><input type="hidden" name="threeDSMethodData" value="{}"></form>"#,
                escape(url),
                escape(data)
            ),
            "document.getElementById('method-form').submit();",
        ),
        None => (String::new(), ""),
    };
    let has_method = if method.is_some() { "true" } else { "false" };
    let body = format!(
        r#"<section class="box"><h1 id="verifying">Verifying your card…</h1><p class="muted">Your bank may ask you to confirm the payment.</p>{frame}
<form id="auth-form" method="post" action="/authenticate/{id}"><input type="hidden" name="js" value="true"><input type="hidden" name="language"><input type="hidden" name="colorDepth"><input type="hidden" name="screenHeight"><input type="hidden" name="screenWidth"><input type="hidden" name="tz"><input type="hidden" name="spcAvailable" value="false"></form>
<noscript><form method="post" action="/authenticate/{id}"><input type="hidden" name="js" value="false"><p>JavaScript is off: continue to authenticate without it.</p><button type="submit" id="continue">Continue</button></form></noscript>
<script>
(function(){{
  var f=document.getElementById("auth-form"), sent=false;
  f.language.value=navigator.language||"en";
  f.colorDepth.value=String(screen.colorDepth);
  f.screenHeight.value=String(screen.height);
  f.screenWidth.value=String(screen.width);
  f.tz.value=String(new Date().getTimezoneOffset());
  f.spcAvailable.value=String(typeof window.PaymentRequest!=="undefined");
  function go(){{ if(!sent){{ sent=true; f.submit(); }} }}
  if({has_method}){{
    window.addEventListener("message",function(e){{ if(e.origin===location.origin&&e.data==="threeds-method-done"){{ go(); }} }});
    setTimeout(go,{method_timeout_ms});
    {start}
  }} else {{ go(); }}
}})();
</script></section>"#
    );
    page("Verifying your card", &body, "")
}

/// The page the ACS's 3DS Method page lands on (inside the hidden frame).
pub(crate) fn method_notified() -> String {
    page(
        "3DS Method",
        r#"<p>3DS Method complete.</p><script>parent.postMessage("threeds-method-done", location.origin);</script>"#,
        "",
    )
}

/// The challenge: the CReq posted into a frame sized for `challengeWindowSize`, or
/// the whole page for `05`.
pub(crate) fn challenge(
    acs_url: &str,
    creq: &str,
    session_data: &str,
    window_size: &str,
) -> String {
    let (width, height) = match window_size {
        "01" => (250, 400),
        "02" => (390, 400),
        "04" => (600, 400),
        _ => (500, 600),
    };
    let fields = [("creq", creq), ("threeDSSessionData", session_data)];
    if window_size == "05" {
        let form = transport::html::auto_post(
            "challenge-form",
            acs_url,
            "_self",
            &fields,
            "Continue to your bank",
        );
        return page(
            "Redirecting to your bank",
            &format!(r#"<section class="box"><h1>Redirecting to your bank…</h1>{form}</section>"#),
            "",
        );
    }
    let form = transport::html::auto_post(
        "challenge-form",
        acs_url,
        "challenge-frame",
        &fields,
        "Continue to your bank",
    );
    page(
        "Confirm with your bank",
        &format!(
            r#"<section class="box"><h1>Confirm the payment with your bank</h1><div class="frame"><iframe name="challenge-frame" id="challenge-frame" title="Your bank's authentication" width="{width}" height="{height}" data-window-size="{}" allow="payment *; publickey-credentials-get *; publickey-credentials-create *"></iframe></div>{form}</section>"#,
            escape(window_size)
        ),
        "",
    )
}

/// An ARes `S`: the shop's page runs Secure Payment Confirmation with what the ACS
/// sent (`spcTransData`, `webAuthnCredList`) and posts the outcome to `/spc/{id}`.
pub(crate) fn spc(id: &str, request: &Value) -> String {
    let body = format!(
        r#"<section class="box"><h1>Confirm with your bank</h1><p>Your bank lets you confirm this payment with this device.</p><script type="application/json" id="spc-request">{request}</script><form id="spc-form" method="post" action="/spc/{id}"><input type="hidden" name="assertion" id="spc-assertion"><input type="hidden" name="error" id="spc-error"></form><button type="button" id="spc-pay">Confirm the payment</button>{script}<script>spcConfirm("spc-pay","spc-request","spc-form",function(f,n){{f.elements.error.value=n;}});</script></section>"#,
        request = transport::html::script_json(request),
        id = escape(id),
        script = transport::html::SPC_SCRIPT,
    );
    page("Confirm with your bank", &body, "")
}

/// The `notificationURL` page: leaves the challenge frame for the result page.
pub(crate) fn notified(id: &str) -> String {
    let id = escape(id);
    page(
        "Back from your bank",
        &format!(
            r#"<section class="box"><h1>Back from your bank</h1><p><a href="/result/{id}" target="_top" id="to-result">See the result</a></p></section><script>window.top.location.href="/result/{id}";</script>"#
        ),
        "",
    )
}

/// Waiting for a result the 3DS Server does not have yet (decoupled; an RReq on
/// its way): the page reloads itself.
pub(crate) fn waiting(id: &str, cardholder_info: Option<&str>) -> String {
    let id = escape(id);
    let info = cardholder_info
        .map(|i| format!(r#"<p id="cardholder-info">{}</p>"#, escape(i)))
        .unwrap_or_default();
    page(
        "Waiting for your bank",
        &format!(
            r#"<section class="box"><h1 id="waiting" data-three-ds-server-trans-id="{id}">Waiting for your bank…</h1>{info}<p class="muted">This page refreshes itself until your bank answers.</p></section>"#
        ),
        r#"<meta http-equiv="refresh" content="1">"#,
    )
}

/// The result, from `/v1/postauth`.
pub(crate) fn result(
    id: &str,
    postauth: &Value,
    browser_said: Option<&str>,
    sent: &[(&str, String)],
) -> String {
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
    let mut rows = String::new();
    // Every field postauth gives, as it gives them (its id is shown below).
    let fields = postauth.as_object().into_iter().flatten();
    for (name, v) in
        fields.filter(|(n, _)| !matches!(n.as_str(), "threeDSServerTransID" | "status"))
    {
        let v = v.as_str().map_or_else(|| v.to_string(), str::to_owned);
        rows.push_str(&format!(
            r#"<dt>{name}</dt><dd id="result-{name}">{v}</dd>"#,
            name = escape(name),
            v = escape(&v)
        ));
    }
    for (name, value) in sent {
        rows.push_str(&format!(
            r#"<dt>{name} (sent)</dt><dd id="result-{name}">{}</dd>"#,
            escape(value)
        ));
    }
    if let Some(said) = browser_said {
        rows.push_str(&format!(
            r#"<dt>final CRes (browser)</dt><dd id="result-cres">{}</dd>"#,
            escape(said)
        ));
    }
    let source = postauth.get("source").and_then(Value::as_str).unwrap_or("");
    page(
        headline,
        &format!(
            r#"<section class="box outcome {class}" id="outcome" data-trans-status="{status}" data-three-ds-server-trans-id="{id}" data-source="{source}"><h1>{headline}</h1><dl>{rows}<dt>threeDSServerTransID</dt><dd>{id}</dd></dl><p><a href="/">Back to the shop</a></p></section>"#,
            status = escape(status),
            id = escape(id),
            source = escape(source)
        ),
        "",
    )
}

/// A problem the shop cannot get past.
pub(crate) fn problem(title: &str, why: &str, detail: Option<&Value>) -> String {
    let detail = detail
        .map(|d| {
            format!(
                "<details open><summary>Answer of the 3DS Server</summary><pre>{}</pre></details>",
                escape(&serde_json::to_string_pretty(d).unwrap_or_default())
            )
        })
        .unwrap_or_default();
    page(
        title,
        &format!(
            r#"<section class="box"><h1>{}</h1><div class="error" role="alert" id="error">{}</div>{detail}<p><a href="/">Back to the shop</a></p></section>"#,
            escape(title),
            escape(why)
        ),
        "",
    )
}
