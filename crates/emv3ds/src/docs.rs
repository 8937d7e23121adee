//! The Markdown reference of the data dictionary, generated from the tables so the
//! documentation cannot drift from what is validated. The repository keeps a copy in
//! `docs/data-dictionary.md`; a test fails when it is out of date.

use std::fmt::Write;

use crate::codes::MessageType;
use crate::dictionary::{self, CROSS_RULES, Channels, Form, ObjectDef, Presence, Rule, Type};

/// Renders the whole dictionary.
pub fn markdown() -> String {
    let mut out = String::new();
    out.push_str(
        "# EMV 3DS data dictionary\n\n\
         Generated from `crates/emv3ds/src/dictionary` by `threeds dictionary`; do not edit.\n\n\
         Presence: **R** required, **O** optional, **C** conditional (the condition follows), \
         per version and device channel. An element with no rule for a version or channel \
         is not allowed there and is answered with `Erro` 203.\n\n",
    );
    for t in MessageType::KNOWN {
        let _ = writeln!(out, "## {t}\n");
        let _ = writeln!(out, "{}\n", t.meaning().unwrap_or_default());
        out.push_str("| Element | Type | Presence |\n|---|---|---|\n");
        for e in dictionary::elements_of(t) {
            let rules = e.rules_for(t).unwrap_or(&[]);
            let _ = writeln!(
                out,
                "| `{}` | {} | {} |",
                e.name,
                forms(e.forms),
                presence(rules)
            );
        }
        out.push('\n');
        for ex in crate::examples::EXAMPLES
            .iter()
            .filter(|e| e.message_type() == t.as_str())
        {
            let _ = writeln!(
                out,
                "<details><summary>Example: {} <code>{}</code></summary>\n\n```json\n{}```\n\n</details>\n",
                ex.version, ex.name, ex.json
            );
        }
    }
    out.push_str("## Nested objects\n\n");
    let mut seen: Vec<&'static str> = Vec::new();
    for e in dictionary::ELEMENTS {
        for f in e.forms {
            if let Some(def) = object_of(&f.ty) {
                object(&mut out, def, &mut seen);
            }
        }
    }
    out.push_str("## Cross-field rules\n\n| Rule | Statement |\n|---|---|\n");
    for r in CROSS_RULES {
        let _ = writeln!(out, "| `{}` | {} |", r.id, r.text);
    }
    out
}

fn object(out: &mut String, def: &'static ObjectDef, seen: &mut Vec<&'static str>) {
    if seen.contains(&def.name) || def.members.is_empty() {
        return;
    }
    seen.push(def.name);
    let _ = writeln!(out, "### `{}`\n", def.name);
    if def.open {
        out.push_str("Other members are accepted and passed through.\n\n");
    }
    out.push_str("| Member | Type | Presence |\n|---|---|---|\n");
    for m in def.members {
        let _ = writeln!(
            out,
            "| `{}` | {} | {} |",
            m.name,
            forms(m.forms),
            presence(m.rules)
        );
    }
    out.push('\n');
    for m in def.members {
        for f in m.forms {
            if let Some(inner) = object_of(&f.ty) {
                object(out, inner, seen);
            }
        }
    }
}

fn object_of(ty: &Type) -> Option<&'static ObjectDef> {
    match ty {
        Type::Obj(d) | Type::ObjArray { def: d, .. } => Some(d),
        _ => None,
    }
}

fn forms(forms: &[Form]) -> String {
    let one = |ty: &Type| match ty {
        Type::Str(f) => f.describe(),
        Type::Bool => "boolean".into(),
        Type::UInt { max } => format!("integer 0–{max}"),
        Type::StrArray { item, min, max } => format!("array ({min}–{max}) of {}", item.describe()),
        Type::Obj(d) => format!("object `{}`", d.name),
        Type::ObjArray { def, min, max } => format!("array ({min}–{max}) of `{}`", def.name),
        Type::AnyObject { max_len } => format!("any object (≤{max_len})"),
        Type::Any { max_len } => format!("any JSON (≤{max_len})"),
    };
    if forms.len() == 1 {
        return one(&forms[0].ty);
    }
    forms
        .iter()
        .map(|f| format!("{}: {}", f.versions, one(&f.ty)))
        .collect::<Vec<_>>()
        .join("; ")
}

fn presence(rules: &[Rule]) -> String {
    rules
        .iter()
        .map(|r| {
            let p = match r.presence {
                Presence::Required => "R".to_owned(),
                Presence::Optional => "O".to_owned(),
                Presence::Conditional(c) => format!("C: {}", c.text),
            };
            let ch = if r.channels == Channels::ANY {
                String::new()
            } else {
                format!(" {:?}", r.channels)
            };
            format!("{}{ch}: {p}", r.versions)
        })
        .collect::<Vec<_>>()
        .join("<br>")
}
