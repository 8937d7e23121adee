//! What the browser-facing sites (the merchant shop, the ACS's pages) share: escaping
//! text into HTML, and the self-submitting form that carries protocol data from one
//! site to another (3DS Method, CReq, final CRes).

use axum::http::header;
use axum::response::{IntoResponse, Response};

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

#[cfg(test)]
mod tests {
    use super::*;

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
