//! What the browser-facing sites (the merchant shop, the ACS's pages) share: escaping
//! text into HTML, and the self-submitting form that carries protocol data from one
//! site to another (3DS Method, CReq, final CRes).

use axum::http::header;
use axum::response::{IntoResponse, Response};

/// base64url as senders write it in form fields (`threeDSMethodData`, `creq`, `cres`,
/// `threeDSSessionData`): with or without `=` padding, which receivers must both accept
/// (fact sheet §1.4, §1.5).
pub fn base64url_decode(text: &str) -> Option<Vec<u8>> {
    use base64::Engine;
    base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(text.trim().trim_end_matches('='))
        .ok()
}

/// `text` safe to put in HTML text or a double-quoted attribute.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// An HTML page answer, never cached: every page of a 3DS flow is single-use. No
/// frame-ancestors rule is set: the ACS's pages must be frameable by any merchant.
pub fn page(status: axum::http::StatusCode, body: String) -> Response {
    (
        status,
        [
            (header::CONTENT_TYPE, "text/html; charset=utf-8"),
            (header::CACHE_CONTROL, "no-store"),
        ],
        body,
    )
        .into_response()
}

/// A form that POSTs `fields` to `action` in `target` (`_self`, `_top`, a frame name),
/// submitted by script at once, with a visible button for browsers without JavaScript.
pub fn auto_post(
    id: &str,
    action: &str,
    target: &str,
    fields: &[(&str, &str)],
    button: &str,
) -> String {
    // Every caller checks its URLs where they arrive; this is the last line, so a
    // forgotten check shows as a refusal instead of script on our origin.
    if let Err(why) = emv3ds::dictionary::safe_url(action, false) {
        return format!(
            r#"<p class="notice error" role="alert" id="{}">The destination of this page was refused: {}</p>"#,
            escape(id),
            escape(&why)
        );
    }
    let inputs: String = fields
        .iter()
        .map(|(name, value)| {
            format!(
                r#"<input type="hidden" name="{}" value="{}">"#,
                escape(name),
                escape(value)
            )
        })
        .collect();
    format!(
        r#"<form id="{id}" method="post" action="{action}" target="{target}">{inputs}<noscript><button type="submit">{button}</button></noscript></form><script>document.getElementById("{id}").submit();</script>"#,
        id = escape(id),
        action = escape(action),
        target = escape(target),
        button = escape(button),
    )
}

/// The origin (`scheme://host[:port]`, lower case) of an absolute URL: what browsers
/// compare and what SPC's `payeeOrigin`, `origin` and `topOrigin` hold.
pub fn origin(url: &str) -> Option<String> {
    let (scheme, rest) = url.split_once("://")?;
    let authority = rest.split(['/', '?', '#']).next()?;
    (!scheme.is_empty() && !authority.is_empty()).then(|| {
        format!(
            "{}://{}",
            scheme.to_ascii_lowercase(),
            authority.to_ascii_lowercase()
        )
    })
}

/// The host name of an absolute URL, without its port (e.g. a WebAuthn rpId).
pub fn host(url: &str) -> Option<String> {
    let origin = origin(url)?;
    let (_, authority) = origin.split_once("://")?;
    Some(match authority.rsplit_once(':') {
        Some((name, port)) if port.bytes().all(|b| b.is_ascii_digit()) => name.to_owned(),
        _ => authority.to_owned(),
    })
}

/// A JSON value to embed in a `<script type="application/json">` element (no `</`).
pub fn script_json(value: &serde_json::Value) -> String {
    value.to_string().replace("</", "<\\/")
}

/// The page script both SPC callers share (the merchant's page for an ARes `S`, the
/// ACS's challenge page): `spcRequest(d)` builds the `PaymentRequest` from
/// `{challenge, credentialIds, rpId, payeeName, payeeOrigin, timeout, displayName, icon,
/// value, currency}` (the names of `spcTransData`), and `spcCredentialJson(c)` /
/// `spcRegistrationJson(c)` serialise a `PublicKeyCredential` as the sandbox's
/// endpoints take it (binary members base64url without padding).
/// `spcConfirm(button, request, form, onFailure)` wires a button to the SPC dialog:
/// the assertion goes into the form's `assertion` field, a failure to `onFailure(form,
/// errorName)`, and the form is submitted once.
pub const SPC_SCRIPT: &str = r#"<script>
function spcB64(buf){var a=new Uint8Array(buf),s="";for(var i=0;i<a.length;i++)s+=String.fromCharCode(a[i]);return btoa(s).replace(/\+/g,"-").replace(/\//g,"_").replace(/=+$/,"");}
function spcUnB64(t){t=t.replace(/-/g,"+").replace(/_/g,"/");while(t.length%4)t+="=";var s=atob(t),a=new Uint8Array(s.length);for(var i=0;i<s.length;i++)a[i]=s.charCodeAt(i);return a.buffer;}
function spcRequest(d){var data={credentialIds:d.credentialIds.map(spcUnB64),challenge:spcUnB64(d.challenge),rpId:d.rpId,timeout:d.timeout,instrument:{displayName:d.displayName,icon:d.icon}};if(d.payeeName)data.payeeName=d.payeeName;if(d.payeeOrigin)data.payeeOrigin=d.payeeOrigin;return new PaymentRequest([{supportedMethods:"secure-payment-confirmation",data:data}],{total:{label:"Total",amount:{currency:d.currency,value:d.value}}});}
function spcCredentialJson(c){var r=c.response;return {id:c.id,rawId:spcB64(c.rawId),type:c.type,authenticatorAttachment:c.authenticatorAttachment,response:{authenticatorData:spcB64(r.authenticatorData),clientDataJSON:spcB64(r.clientDataJSON),signature:spcB64(r.signature),userHandle:r.userHandle?spcB64(r.userHandle):null},clientExtensionResults:c.getClientExtensionResults()};}
function spcConfirm(buttonId,requestId,formId,onFailure){var f=document.getElementById(formId),sent=false;function send(){if(!sent){sent=true;f.submit();}}function fail(n){if(sent)return;onFailure(f,n);send();}
document.getElementById(buttonId).addEventListener("click",function(){var d=JSON.parse(document.getElementById(requestId).textContent),r;if(!window.PaymentRequest){fail("NotSupportedError");return;}try{r=spcRequest(d);}catch(e){fail(e.name||"NotSupportedError");return;}
r.show().then(function(resp){return resp.complete("success").then(function(){f.elements.assertion.value=JSON.stringify(spcCredentialJson(resp.details));send();});}).catch(function(e){fail(e.name||"Error");});});}
function spcRegistrationJson(c){var r=c.response;return {id:c.id,rawId:spcB64(c.rawId),type:c.type,authenticatorAttachment:c.authenticatorAttachment,response:{clientDataJSON:spcB64(r.clientDataJSON),attestationObject:spcB64(r.attestationObject)},clientExtensionResults:c.getClientExtensionResults()};}
</script>"#;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn origins_and_hosts_of_urls() {
        assert_eq!(
            origin("https://Shop.Example:7445/notify?x=1").as_deref(),
            Some("https://shop.example:7445")
        );
        assert_eq!(
            origin("https://acs.localhost").as_deref(),
            Some("https://acs.localhost")
        );
        assert_eq!(origin("not a url"), None);
        assert_eq!(
            host("https://acs.localhost:7444/x").as_deref(),
            Some("acs.localhost")
        );
        assert_eq!(
            host("https://acs.localhost").as_deref(),
            Some("acs.localhost")
        );
    }

    #[test]
    fn base64url_is_read_with_or_without_padding() {
        assert_eq!(base64url_decode("YQ").as_deref(), Some(&b"a"[..]));
        assert_eq!(base64url_decode("YQ==").as_deref(), Some(&b"a"[..]));
        assert_eq!(base64url_decode("-_8").as_deref(), Some(&[0xfb, 0xff][..]));
        assert_eq!(base64url_decode("%%"), None);
    }

    #[test]
    fn markup_is_escaped() {
        assert_eq!(
            escape(r#"<a href="x">'&'</a>"#),
            "&lt;a href=&quot;x&quot;&gt;&#39;&amp;&#39;&lt;/a&gt;"
        );
    }

    #[test]
    fn an_auto_post_form_carries_escaped_fields() {
        let form = auto_post(
            "f",
            "https://acs/x?a=1&b=2",
            "_top",
            &[("creq", "a\"b")],
            "Go",
        );
        assert!(form.contains(r#"action="https://acs/x?a=1&amp;b=2""#));
        assert!(form.contains(r#"name="creq" value="a&quot;b""#));
        assert!(form.contains("<noscript><button"));
    }
}
