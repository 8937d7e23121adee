//! What the browser-facing sites (the merchant shop, the ACS's pages) share: the page
//! answer with its Content-Security-Policy, the self-submitting form that carries
//! protocol data from one site to another (3DS Method, CReq, final CRes), and the
//! script and data blocks a page may hold.
//!
//! Pages are [maud] templates: text is escaped unless marked `PreEscaped`, and the only
//! `PreEscaped` content is constant script and style, or JSON made safe by
//! [`json_data`]. Scripts never carry data: they read it from `data-` attributes or a
//! JSON data block, so no value is ever written into JavaScript. Every page answer has
//! a policy ([`Csp`]) that lets only the page's own nonce run script, and lets forms
//! post only where the page's own forms go.

use std::collections::BTreeSet;

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use maud::{Markup, PreEscaped, html};

/// base64url as senders write it in form fields (`threeDSMethodData`, `creq`, `cres`,
/// `threeDSSessionData`): with or without `=` padding, which receivers must both accept
/// (`docs/protocol.md` §1.4, §1.5).
pub fn base64url_decode(text: &str) -> Option<Vec<u8>> {
    use base64::Engine;
    base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(text.trim().trim_end_matches('='))
        .ok()
}

/// Who may show a page in a frame (`frame-ancestors`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Framing {
    /// Any site: the ACS's challenge and 3DS Method pages live in the merchant's frames.
    /// A frame of another origin still cannot script the page (same-origin policy).
    Anyone,
    /// Only the site itself (the shop's pages that its own frames load).
    SameOrigin,
    /// Nobody (the issuer's app pages).
    Nobody,
}

/// The Content-Security-Policy of one page, grown by what the page holds: a fresh
/// script nonce, and the origins its forms post to and its frames load.
#[derive(Clone, Debug)]
pub struct Csp {
    nonce: String,
    /// Set for a page without scripts whose style goes by its hash
    /// ([`Csp::without_scripts`]); the nonce is then empty.
    style_hash: Option<String>,
    forms: BTreeSet<String>,
    frames: BTreeSet<String>,
    fetches: bool,
    framing: Framing,
}

impl Csp {
    /// A policy with a fresh nonce: script and style only by that nonce, forms only to
    /// the page's own origin, no frames, no fetches, images from the site or `data:`.
    pub fn new(framing: Framing) -> Self {
        use base64::Engine;
        use rand_core::RngCore;
        let mut bytes = [0u8; 16];
        rand_core::OsRng.fill_bytes(&mut bytes);
        Self {
            nonce: base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes),
            style_hash: None,
            forms: BTreeSet::new(),
            frames: BTreeSet::new(),
            fetches: false,
            framing,
        }
    }

    /// A policy for a document that must come out the same byte for byte each time it
    /// is made (the HTML an ACS puts in an app CRes, which seeded runs compare): no
    /// script at all, and the one style sheet `css` allowed by its SHA-256 hash rather
    /// than by a nonce.
    pub fn without_scripts(framing: Framing, css: &'static str) -> Self {
        use base64::Engine;
        use sha2::Digest;
        let hash = base64::engine::general_purpose::STANDARD.encode(sha2::Sha256::digest(css));
        Self {
            nonce: String::new(),
            style_hash: Some(hash),
            forms: BTreeSet::new(),
            frames: BTreeSet::new(),
            fetches: false,
            framing,
        }
    }

    /// The nonce a `<script>` or `<style>` of this page carries.
    pub fn nonce(&self) -> &str {
        &self.nonce
    }

    /// Lets forms post to the origin of `url` (a relative URL is the page's own origin).
    pub fn forms_to(&mut self, url: &str) -> &mut Self {
        if let Some(origin) = source(url) {
            self.forms.insert(origin);
        }
        self
    }

    /// Lets frames load the origin of `url` (and, once there is a frame, the page's own
    /// origin, where frames come back to).
    pub fn frames(&mut self, url: &str) -> &mut Self {
        if let Some(origin) = source(url) {
            self.frames.insert(origin);
        }
        self
    }

    /// Lets scripts `fetch` the page's own origin.
    pub fn fetches_own_origin(&mut self) -> &mut Self {
        self.fetches = true;
        self
    }

    /// The header value.
    pub fn header(&self) -> String {
        let mut policy = self.header_for_meta();
        policy.push_str(match self.framing {
            Framing::Anyone => "; frame-ancestors *",
            Framing::SameOrigin => "; frame-ancestors 'self'",
            Framing::Nobody => "; frame-ancestors 'none'",
        });
        policy
    }

    /// The policy as a `<meta http-equiv>` element may carry it: without
    /// `frame-ancestors`, which only a header can set.
    pub fn header_for_meta(&self) -> String {
        let nonce = &self.nonce;
        let mut policy = match &self.style_hash {
            None => format!(
                "default-src 'none'; script-src 'nonce-{nonce}'; style-src 'nonce-{nonce}'; img-src 'self' data:; base-uri 'none'"
            ),
            Some(hash) => format!(
                "default-src 'none'; script-src 'none'; style-src 'sha256-{hash}'; img-src 'self' data:; base-uri 'none'"
            ),
        };
        policy.push_str("; form-action 'self'");
        for origin in &self.forms {
            policy.push(' ');
            policy.push_str(origin);
        }
        if !self.frames.is_empty() {
            // A frame's later navigations are checked too: the ACS's pages in the
            // shop's frames post back to the shop, so the page's own origin is in.
            policy.push_str("; frame-src 'self'");
            for origin in &self.frames {
                policy.push(' ');
                policy.push_str(origin);
            }
        }
        if self.fetches {
            policy.push_str("; connect-src 'self'");
        }
        policy
    }
}

/// The origin of an absolute `url` as a CSP source expression, or `None` (for a relative
/// URL, the page's own origin, which every policy allows). The origin is the URL
/// parser's, and only the characters of a host and port pass, so no URL can add a
/// directive of its own (`;`, quotes or spaces).
fn source(url: &str) -> Option<String> {
    let origin = url::Url::parse(url).ok()?.origin().ascii_serialization();
    origin
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || b".-:/[]".contains(&b))
        .then_some(origin)
}

/// A page and the policy it is served with.
#[derive(Debug)]
pub struct Page {
    html: String,
    csp: Csp,
}

impl Page {
    /// `markup` served under `csp`.
    pub fn new(csp: Csp, markup: Markup) -> Self {
        Self {
            html: markup.into_string(),
            csp,
        }
    }

    /// The markup.
    pub fn html(&self) -> &str {
        &self.html
    }

    /// The markup alone, for HTML that travels inside a message (the app channel's
    /// `acsHTML`), which carries its policy in a `<meta>` element instead.
    pub fn into_html(self) -> String {
        self.html
    }

    /// The policy.
    pub fn csp(&self) -> &Csp {
        &self.csp
    }

    /// The answer: never cached (every page of a 3DS flow is single-use), never
    /// sniffed as another type, never leaking its URL (which holds transaction ids) as
    /// a referrer, and under its policy.
    pub fn respond(self, status: StatusCode) -> Response {
        let policy = HeaderValue::from_str(&self.csp.header())
            .unwrap_or_else(|_| HeaderValue::from_static("default-src 'none'"));
        (
            status,
            [
                (
                    header::CONTENT_TYPE,
                    HeaderValue::from_static("text/html; charset=utf-8"),
                ),
                (header::CACHE_CONTROL, HeaderValue::from_static("no-store")),
                (
                    header::X_CONTENT_TYPE_OPTIONS,
                    HeaderValue::from_static("nosniff"),
                ),
                (
                    header::REFERRER_POLICY,
                    HeaderValue::from_static("no-referrer"),
                ),
                (header::CONTENT_SECURITY_POLICY, policy),
            ],
            self.html,
        )
            .into_response()
    }
}

/// A script of the page: constant code (never data, which goes in `data-` attributes
/// or [`json_data`]), run by the page's nonce.
pub fn script(csp: &Csp, code: &'static str) -> Markup {
    html! { script nonce=(csp.nonce()) { (PreEscaped(code)) } }
}

/// The page's style sheet, by the page's nonce.
pub fn style(csp: &Csp, css: &'static str) -> Markup {
    if csp.style_hash.is_some() {
        return html! { style { (PreEscaped(css)) } };
    }
    html! { style nonce=(csp.nonce()) { (PreEscaped(css)) } }
}

/// `value` as a JSON data block (`<script type="application/json" id=…>`), which
/// browsers never run. `<`, `>` and `&` are written as JSON escapes, so no text in
/// the value can end the element or open a comment.
pub fn json_data(id: &str, value: &serde_json::Value) -> Markup {
    let json = value
        .to_string()
        .replace('<', "\\u003c")
        .replace('>', "\\u003e")
        .replace('&', "\\u0026");
    html! { script type="application/json" id=(id) { (PreEscaped(json)) } }
}

/// Whether a page may post to, frame or link to `url`: the core's URL policy
/// (`emv3ds::dictionary::safe_url`: https, or http on a loopback host; no credentials,
/// no whitespace or control characters), with the reason when it may not.
pub fn destination(url: &str) -> Result<(), String> {
    emv3ds::dictionary::safe_url(url, false)
}

/// A form that POSTs `fields` to `action` in `target` (`_self`, `_top`, a frame name),
/// submitted by script at once, with a visible button for browsers without JavaScript.
/// The form's destination joins `csp`'s `form-action`.
pub fn auto_post(
    csp: &mut Csp,
    id: &'static str,
    action: &str,
    target: &str,
    fields: &[(&str, &str)],
    button: &str,
) -> Markup {
    // Every caller checks its URLs where they arrive; this is the last line, so a
    // forgotten check shows as a refusal instead of script on our origin.
    if let Err(why) = destination(action) {
        return html! {
            p.notice.error role="alert" id=(id) { "The destination of this page was refused: " (why) }
        };
    }
    csp.forms_to(action);
    html! {
        form id=(id) method="post" action=(action) target=(target) data-auto-submit {
            @for (name, value) in fields {
                input type="hidden" name=(name) value=(value);
            }
            noscript { button type="submit" { (button) } }
        }
        (script(csp, AUTO_SUBMIT))
    }
}

/// Submits the page's `data-auto-submit` forms.
const AUTO_SUBMIT: &str =
    r#"document.querySelectorAll("form[data-auto-submit]").forEach(function(f){f.submit();});"#;

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

/// The page script both SPC callers share (the merchant's page for an ARes `S`, the
/// ACS's challenge page): `spcRequest(d)` builds the `PaymentRequest` from
/// `{challenge, credentialIds, rpId, payeeName, payeeOrigin, timeout, displayName, icon,
/// value, currency}` (the names of `spcTransData`), and `spcCredentialJson(c)` /
/// `spcRegistrationJson(c)` serialise a `PublicKeyCredential` as the sandbox's
/// endpoints take it (binary members base64url without padding).
/// `spcConfirm(button, request, form, onFailure)` wires a button to the SPC dialog:
/// the assertion goes into the form's `assertion` field, a failure to `onFailure(form,
/// errorName)`, and the form is submitted once.
pub const SPC_SCRIPT: &str = r#"
function spcB64(buf){var a=new Uint8Array(buf),s="";for(var i=0;i<a.length;i++)s+=String.fromCharCode(a[i]);return btoa(s).replace(/\+/g,"-").replace(/\//g,"_").replace(/=+$/,"");}
function spcUnB64(t){t=t.replace(/-/g,"+").replace(/_/g,"/");while(t.length%4)t+="=";var s=atob(t),a=new Uint8Array(s.length);for(var i=0;i<s.length;i++)a[i]=s.charCodeAt(i);return a.buffer;}
function spcRequest(d){var data={credentialIds:d.credentialIds.map(spcUnB64),challenge:spcUnB64(d.challenge),rpId:d.rpId,timeout:d.timeout,instrument:{displayName:d.displayName,icon:d.icon}};if(d.payeeName)data.payeeName=d.payeeName;if(d.payeeOrigin)data.payeeOrigin=d.payeeOrigin;return new PaymentRequest([{supportedMethods:"secure-payment-confirmation",data:data}],{total:{label:"Total",amount:{currency:d.currency,value:d.value}}});}
function spcCredentialJson(c){var r=c.response;return {id:c.id,rawId:spcB64(c.rawId),type:c.type,authenticatorAttachment:c.authenticatorAttachment,response:{authenticatorData:spcB64(r.authenticatorData),clientDataJSON:spcB64(r.clientDataJSON),signature:spcB64(r.signature),userHandle:r.userHandle?spcB64(r.userHandle):null},clientExtensionResults:c.getClientExtensionResults()};}
function spcConfirm(buttonId,requestId,formId,onFailure){var f=document.getElementById(formId),sent=false;function send(){if(!sent){sent=true;f.submit();}}function fail(n){if(sent)return;onFailure(f,n);send();}
document.getElementById(buttonId).addEventListener("click",function(){var d=JSON.parse(document.getElementById(requestId).textContent),r;if(!window.PaymentRequest){fail("NotSupportedError");return;}try{r=spcRequest(d);}catch(e){fail(e.name||"NotSupportedError");return;}
r.show().then(function(resp){return resp.complete("success").then(function(){f.elements.assertion.value=JSON.stringify(spcCredentialJson(resp.details));send();});}).catch(function(e){fail(e.name||"Error");});});}
function spcRegistrationJson(c){var r=c.response;return {id:c.id,rawId:spcB64(c.rawId),type:c.type,authenticatorAttachment:c.authenticatorAttachment,response:{clientDataJSON:spcB64(r.clientDataJSON),attestationObject:spcB64(r.attestationObject)},clientExtensionResults:c.getClientExtensionResults()};}
"#;

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
    fn an_auto_post_form_carries_escaped_fields_and_opens_the_policy_to_its_destination() {
        let mut csp = Csp::new(Framing::Anyone);
        let form = auto_post(
            &mut csp,
            "f",
            "https://acs.example:7444/x?a=1&b=2",
            "_top",
            &[("creq", "a\"b<")],
            "Go",
        )
        .into_string();
        assert!(
            form.contains(r#"action="https://acs.example:7444/x?a=1&amp;b=2""#),
            "{form}"
        );
        assert!(
            form.contains(r#"name="creq" value="a&quot;b&lt;""#),
            "{form}"
        );
        assert!(form.contains("<noscript><button"));
        assert!(form.contains(&format!(r#"<script nonce="{}">"#, csp.nonce())));
        let policy = csp.header();
        assert!(
            policy.contains("form-action 'self' https://acs.example:7444;"),
            "{policy}"
        );
        assert!(policy.contains(&format!("script-src 'nonce-{}';", csp.nonce())));
    }

    #[test]
    fn a_refused_destination_is_said_and_never_reaches_the_policy() {
        let mut csp = Csp::new(Framing::Nobody);
        let form =
            auto_post(&mut csp, "f", "javascript:alert(1)", "_self", &[], "Go").into_string();
        assert!(!form.contains("<form"), "{form}");
        assert!(form.contains("refused"), "{form}");
        assert!(!csp.header().contains("javascript"));
        assert!(csp.header().ends_with("frame-ancestors 'none'"));
    }

    #[test]
    fn no_url_adds_a_directive_of_its_own() {
        let mut csp = Csp::new(Framing::SameOrigin);
        csp.forms_to("https://a.example;script-src *")
            .forms_to("https://b.example/ 'unsafe-inline'")
            .frames("https://c.example:1'/x");
        let policy = csp.header();
        assert_eq!(policy.matches("script-src").count(), 1, "{policy}");
        assert!(!policy.contains("unsafe"), "{policy}");
        assert!(!policy.contains("frame-src"), "{policy}");
    }

    #[test]
    fn json_data_cannot_end_its_element() {
        let block = json_data(
            "d",
            &serde_json::json!({"x": "</script><script>alert(1)</script><!--&"}),
        )
        .into_string();
        assert_eq!(block.matches("</script>").count(), 1, "{block}");
        assert!(!block.contains("<!--"), "{block}");
        let inner = block
            .trim_start_matches(r#"<script type="application/json" id="d">"#)
            .trim_end_matches("</script>");
        let back: serde_json::Value = serde_json::from_str(inner).unwrap_or_default();
        assert_eq!(back["x"], "</script><script>alert(1)</script><!--&");
    }

    #[test]
    fn a_page_without_scripts_has_the_same_policy_every_time() {
        let css = "body{margin:0}";
        let a = Csp::without_scripts(Framing::Nobody, css);
        let b = Csp::without_scripts(Framing::Nobody, css);
        assert_eq!(a.header_for_meta(), b.header_for_meta());
        // printf 'body{margin:0}' | openssl dgst -sha256 -binary | base64
        assert!(
            a.header_for_meta().contains(
                "script-src 'none'; style-src 'sha256-IAdwN3biDCQ3brrgp1m8kBEsPQYyqfREKOEfeoREopc='"
            ),
            "{}",
            a.header_for_meta()
        );
        assert_eq!(
            style(&a, css).into_string(),
            "<style>body{margin:0}</style>"
        );
    }

    #[test]
    fn every_page_is_sent_with_its_policy_nosniff_and_no_referrer() {
        let csp = Csp::new(Framing::Anyone);
        let header = csp.header();
        let response = Page::new(csp, maud::html! { p { "hi" } }).respond(StatusCode::OK);
        let h = response.headers();
        assert_eq!(h[header::CONTENT_SECURITY_POLICY], header.as_str());
        assert_eq!(h[header::X_CONTENT_TYPE_OPTIONS], "nosniff");
        assert_eq!(h[header::REFERRER_POLICY], "no-referrer");
        assert_eq!(h[header::CACHE_CONTROL], "no-store");
        assert_ne!(
            Csp::new(Framing::Anyone).nonce(),
            Csp::new(Framing::Anyone).nonce()
        );
    }
}
