//! The one HTML reader of the workspace: what the scenario runner, the TUI and the
//! tests read the sandbox's pages (and any ACS's challenge HTML) with.
//!
//! Tokenisation is html5gum's, which implements the WHATWG tokenizer (it passes
//! html5lib's tokenizer tests): every character reference is decoded as a browser
//! decodes it (named, decimal, hexadecimal, and the legacy ones without `;`), attribute
//! names are lower-cased, duplicate attributes keep the first, and the contents of
//! `script`, `style`, `textarea` and `title` are kept as text, not read as markup. On
//! top of the tokens, the queries the callers need: the forms and what a browser would
//! submit from them ([`forms`], [`form`]) and the text of an element by id
//! ([`text_of`]).
//!
//! It must never fetch anything, run script or do I/O: text in, tokens and forms out.
//! It reads; it does not correct mis-nested markup (html5gum is a tokenizer, not a
//! tree builder), which the pages it reads do not have.

/// One token of a page.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Token {
    Start(Tag),
    /// An end tag's name (lower case).
    End(String),
    /// Text, decoded (adjacent pieces joined).
    Text(String),
}

/// A start tag.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tag {
    /// Lower case.
    pub name: String,
    /// In the order of their names; values decoded.
    pub attributes: Vec<(String, String)>,
    pub self_closing: bool,
}

impl Tag {
    /// The value of attribute `name` (lower case), if the tag has it.
    pub fn attribute(&self, name: &str) -> Option<&str> {
        self.attributes
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// The tokens of `html` (comments, doctypes and parse errors left out: the tokenizer
/// recovers from errors as a browser does).
pub fn tokens(html: &str) -> Vec<Token> {
    let mut emitter = html5gum::DefaultEmitter::default();
    // Script, style, textarea and title contents are text, as a browser reads them.
    emitter.naively_switch_states(true);
    let mut out: Vec<Token> = Vec::new();
    for token in html5gum::Tokenizer::new_with_emitter(html, emitter) {
        let Ok(token) = token;
        match token {
            html5gum::Token::StartTag(tag) => out.push(Token::Start(Tag {
                name: text(&tag.name),
                attributes: tag
                    .attributes
                    .iter()
                    .map(|(name, value)| (text(name), text(value)))
                    .collect(),
                self_closing: tag.self_closing,
            })),
            html5gum::Token::EndTag(tag) => out.push(Token::End(text(&tag.name))),
            html5gum::Token::String(s) => match out.last_mut() {
                Some(Token::Text(previous)) => previous.push_str(&text(&s)),
                _ => out.push(Token::Text(text(&s))),
            },
            html5gum::Token::Comment(_)
            | html5gum::Token::Doctype(_)
            | html5gum::Token::Error(_) => {}
        }
    }
    out
}

/// A form: where it posts, and the fields a browser would submit without a click.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Form {
    pub id: Option<String>,
    /// As written (empty: the page's own URL).
    pub action: String,
    /// Lower case; `get` when absent.
    pub method: String,
    /// Every named `input` but buttons (submit, button, image, reset) and unchecked
    /// checkboxes and radios, every named `textarea` and `select` (its selected option,
    /// else its first), in document order.
    pub fields: Vec<(String, String)>,
}

impl Form {
    /// The value of field `name`, if the form has it.
    pub fn field(&self, name: &str) -> Option<&str> {
        self.fields
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }
}

/// The forms of `html`, in document order.
pub fn forms(html: &str) -> Vec<Form> {
    let mut forms: Vec<Form> = Vec::new();
    let mut open = false;
    // A textarea or select being read: its name, and what it holds so far.
    let mut pending: Option<(String, String, bool)> = None;
    let mut tokens = tokens(html).into_iter();
    while let Some(token) = tokens.next() {
        match token {
            Token::Start(tag) if tag.name == "form" => {
                forms.push(Form {
                    id: tag.attribute("id").map(str::to_owned),
                    action: tag.attribute("action").unwrap_or_default().to_owned(),
                    method: tag
                        .attribute("method")
                        .unwrap_or("get")
                        .to_ascii_lowercase(),
                    fields: Vec::new(),
                });
                open = true;
            }
            Token::End(name) if name == "form" => open = false,
            Token::Start(tag) if open => {
                let Some(form) = forms.last_mut() else {
                    continue;
                };
                let name = tag.attribute("name").map(str::to_owned);
                match (tag.name.as_str(), name) {
                    ("input", Some(name)) => {
                        let kind = tag.attribute("type").unwrap_or("text").to_ascii_lowercase();
                        let checked = tag.attribute("checked").is_some();
                        let submitted = match kind.as_str() {
                            "submit" | "button" | "image" | "reset" => false,
                            "checkbox" | "radio" => checked,
                            _ => true,
                        };
                        if submitted {
                            let default = if matches!(kind.as_str(), "checkbox" | "radio") {
                                "on"
                            } else {
                                ""
                            };
                            let value = tag.attribute("value").unwrap_or(default).to_owned();
                            form.fields.push((name, value));
                        }
                    }
                    ("textarea", Some(name)) => {
                        let value = match tokens.next() {
                            Some(Token::Text(text)) => text,
                            _ => String::new(),
                        };
                        form.fields.push((name, value));
                    }
                    ("select", Some(name)) => pending = Some((name, String::new(), false)),
                    ("option", _) => {
                        if let Some((_, value, chosen)) = pending.as_mut()
                            && !*chosen
                        {
                            let selected = tag.attribute("selected").is_some();
                            if selected || value.is_empty() {
                                *value = tag.attribute("value").unwrap_or_default().to_owned();
                                *chosen = selected;
                            }
                        }
                    }
                    _ => {}
                }
            }
            Token::End(name) if name == "select" => {
                if let (Some((field, value, _)), Some(form)) = (pending.take(), forms.last_mut()) {
                    form.fields.push((field, value));
                }
            }
            _ => {}
        }
    }
    forms
}

/// The form with id `id`.
pub fn form(html: &str, id: &str) -> Option<Form> {
    forms(html)
        .into_iter()
        .find(|f| f.id.as_deref() == Some(id))
}

/// The text inside the element with id `id` (a `script`'s or `style`'s contents as
/// written), up to its end tag; `None` when no element has that id.
pub fn text_of(html: &str, id: &str) -> Option<String> {
    let mut tokens = tokens(html).into_iter();
    let name = loop {
        match tokens.next()? {
            Token::Start(tag) if tag.attribute("id") == Some(id) => break tag.name,
            _ => {}
        }
    };
    let mut text = String::new();
    let mut depth = 0usize;
    for token in tokens {
        match token {
            Token::Text(t) => text.push_str(&t),
            Token::Start(tag) if tag.name == name => depth += 1,
            Token::End(end) if end == name => {
                if depth == 0 {
                    break;
                }
                depth -= 1;
            }
            _ => {}
        }
    }
    Some(text)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_kind_of_character_reference_is_decoded() {
        let page = r#"<p title="a&amp;b &quot;c&quot; &#39;d&#x27;">x &lt; y &eacute;&nbsp;&copy; &amp &notit;</p>"#;
        let tokens = tokens(page);
        let Token::Start(tag) = &tokens[0] else {
            panic!("{tokens:?}");
        };
        assert_eq!(tag.attribute("title"), Some("a&b \"c\" 'd'"));
        // `&amp` without `;` is a legacy reference; `&notit;` is `¬it;` as browsers read it.
        assert_eq!(tokens[1], Token::Text("x < y é\u{a0}© & ¬it;".into()));
    }

    #[test]
    fn script_contents_are_text_not_markup() {
        let page = r#"<script id="offer" type="application/json">{"a":"<b>&amp;</b>"}</script><p>after</p>"#;
        assert_eq!(
            text_of(page, "offer").as_deref(),
            Some(r#"{"a":"<b>&amp;</b>"}"#)
        );
        assert_eq!(text_of(page, "nothing"), None);
    }

    #[test]
    fn a_form_gives_what_a_browser_would_submit() {
        let page = r#"
            <form id="f" action="https://acs.localhost/challenge?x=1&amp;y=2" method="POST">
              <input type="hidden" name="creq" value="ab&#x3D;">
              <input name="otp">
              <input type="checkbox" name="a" value="1" checked>
              <input type="checkbox" name="b" value="2">
              <input type="radio" name="r" checked>
              <input type="submit" name="go" value="Go">
              <textarea name="note">one &amp; two</textarea>
              <select name="s"><option value="x">X</option><option value="y" selected>Y</option></select>
              <select name="t"><option value="first">F</option><option value="second">S</option></select>
              <button name="cancel" value="1">Cancel</button>
            </form>
            <form><input name="other" value="o"></form>"#;
        let form = form(page, "f").expect("the form");
        assert_eq!(form.action, "https://acs.localhost/challenge?x=1&y=2");
        assert_eq!(form.method, "post");
        assert_eq!(
            form.fields,
            [
                ("creq", "ab="),
                ("otp", ""),
                ("a", "1"),
                ("r", "on"),
                ("note", "one & two"),
                ("s", "y"),
                ("t", "first"),
            ]
            .map(|(n, v)| (n.to_owned(), v.to_owned()))
        );
        assert_eq!(form.field("creq"), Some("ab="));
        let all = forms(page);
        assert_eq!(all.len(), 2);
        assert_eq!(all[1].field("other"), Some("o"));
        assert_eq!(all[1].method, "get");
    }

    #[test]
    fn broken_markup_is_read_as_a_browser_would_and_never_panics() {
        for page in [
            "<",
            "<form",
            "<p a=\"unterminated",
            "</>",
            "<!-- x",
            "&#xFFFFFFFF;",
            "<script>never closed",
        ] {
            let _ = tokens(page);
            let _ = forms(page);
            let _ = text_of(page, "x");
        }
        // An out-of-range numeric reference is U+FFFD, as in a browser.
        assert_eq!(tokens("&#x110000;"), [Token::Text("\u{fffd}".into())]);
    }
}
