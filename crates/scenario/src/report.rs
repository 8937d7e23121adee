//! Reports: one line per scenario for people, one JSON object per scenario for
//! scripts, and JUnit XML for CI (the trace of each failed scenario attached as its
//! `system-out`). The last text line is always `N passed, N failed`.

use std::fmt::Write as _;

use serde_json::json;

use crate::run::Outcome;

/// The text line of one scenario.
pub fn line(outcome: &Outcome) -> String {
    let ms = outcome.duration.as_millis();
    if let Some(why) = &outcome.skipped {
        return format!("SKIP {} ({why})", outcome.name);
    }
    if outcome.passed() {
        format!("PASS {} ({ms} ms)", outcome.name)
    } else {
        let mut text = format!("FAIL {} ({ms} ms)", outcome.name);
        for why in &outcome.failures {
            let _ = write!(text, "\n     {why}");
        }
        let _ = write!(text, "\n     ({})", outcome.path.display());
        text
    }
}

/// The JSON object of one scenario.
pub fn json(outcome: &Outcome) -> serde_json::Value {
    json!({
        "name": outcome.name,
        "file": outcome.path.display().to_string(),
        "passed": outcome.passed(),
        "skipped": outcome.skipped,
        "failures": outcome.failures,
        "durationMs": u64::try_from(outcome.duration.as_millis()).unwrap_or(u64::MAX),
    })
}

/// `N passed, N failed` (and `, N skipped` when some were).
pub fn summary(outcomes: &[Outcome]) -> String {
    let passed = outcomes.iter().filter(|o| o.passed()).count();
    let failed = outcomes.iter().filter(|o| o.failed()).count();
    let skipped = outcomes.len() - passed - failed;
    if skipped == 0 {
        format!("{passed} passed, {failed} failed")
    } else {
        format!("{passed} passed, {failed} failed, {skipped} skipped")
    }
}

/// `text` for XML text or a double-quoted attribute: the five markup characters as
/// entities, and the control characters XML 1.0 forbids replaced by spaces.
fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c if (c as u32) < 0x20 && !matches!(c, '\n' | '\r' | '\t') => out.push(' '),
            c => out.push(c),
        }
    }
    out
}

/// JUnit XML for `outcomes` (one test suite, one test case per scenario).
pub fn junit(outcomes: &[Outcome]) -> String {
    let failed = outcomes.iter().filter(|o| o.failed()).count();
    let skipped = outcomes.iter().filter(|o| o.skipped.is_some()).count();
    let total: f64 = outcomes.iter().map(|o| o.duration.as_secs_f64()).sum();
    let mut xml = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    let _ = writeln!(
        xml,
        "<testsuites name=\"threeds scenarios\" tests=\"{}\" failures=\"{failed}\" time=\"{total:.3}\">",
        outcomes.len()
    );
    let _ = writeln!(
        xml,
        "  <testsuite name=\"scenarios\" tests=\"{}\" failures=\"{failed}\" skipped=\"{skipped}\" time=\"{total:.3}\">",
        outcomes.len()
    );
    for outcome in outcomes {
        let _ = write!(
            xml,
            "    <testcase name=\"{}\" classname=\"{}\" time=\"{:.3}\"",
            escape(&outcome.name),
            escape(&outcome.path.display().to_string()),
            outcome.duration.as_secs_f64()
        );
        if let Some(why) = &outcome.skipped {
            let _ = writeln!(
                xml,
                ">\n      <skipped message=\"{}\"/>\n    </testcase>",
                escape(why)
            );
            continue;
        }
        if outcome.passed() {
            xml.push_str("/>\n");
            continue;
        }
        xml.push_str(">\n");
        let _ = writeln!(
            xml,
            "      <failure message=\"{}\">{}</failure>",
            escape(outcome.failures.first().map_or("", String::as_str)),
            escape(&outcome.failures.join("\n"))
        );
        let _ = writeln!(
            xml,
            "      <system-out>{}</system-out>",
            escape(&outcome.trace.join("\n"))
        );
        xml.push_str("    </testcase>\n");
    }
    xml.push_str("  </testsuite>\n</testsuites>\n");
    xml
}

#[cfg(test)]
mod tests {
    #[test]
    fn junit_text_is_xml() {
        assert_eq!(
            super::escape("a<b & 'c'\u{1}\n"),
            "a&lt;b &amp; &#39;c&#39; \n"
        );
    }
}
