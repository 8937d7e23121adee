//! Reading scenario files: TOML → [`format::File`] → a checked [`Scenario`], or a
//! [`Diagnostic`] that says which file, which line and column, and what was expected.

use std::path::{Path, PathBuf};

use emv3ds::MessageVersion;
use toml::Spanned;

use crate::format::{self, CardRef, Channel, Expect, Requestor, TraceCheck};

/// Something wrong with a scenario file, and where.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Diagnostic {
    pub path: PathBuf,
    /// 1-based; 0 when the problem has no place (the file cannot be read).
    pub line: usize,
    pub column: usize,
    pub message: String,
}

impl std::fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.line == 0 {
            write!(f, "{}: {}", self.path.display(), self.message)
        } else {
            write!(
                f,
                "{}:{}:{}: {}",
                self.path.display(),
                self.line,
                self.column,
                self.message
            )
        }
    }
}

/// What the cardholder does on one screen.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Act {
    Otp(String),
    Select(Vec<String>),
    Continue,
    Resend,
    Cancel,
    /// Approves (or denies) in the issuer's app, then continues on the page.
    Approve,
    Deny,
    /// An app HTML screen's form data.
    Html(String),
    /// The SPC dialog: confirmed with the sandbox's test authenticator, or dismissed
    /// (the browser's `NotAllowedError`).
    SpcAccept,
    SpcReject,
    /// Does nothing on the current screen: the step's timer ends the challenge.
    Wait,
    /// Never opens the challenge (no CReq is sent): the ACS's first-CReq timer ends it.
    Abandon,
}

/// A step, checked.
#[derive(Debug, Clone)]
pub struct Step {
    pub name: String,
    pub pan: String,
    pub channel: Channel,
    pub version: Option<MessageVersion>,
    pub requestor: Requestor,
    pub acts: Vec<Act>,
    pub expect: Expect,
    pub trace: Vec<TraceCheck>,
    /// The earlier step a 3RI request refers to.
    pub prior: Option<String>,
    /// Faults in force during the step.
    pub faults: Vec<transport::faults::Fault>,
}

/// A scenario, checked: every card exists, every version and action is one we know.
#[derive(Debug, Clone)]
pub struct Scenario {
    pub path: PathBuf,
    pub name: String,
    pub description: String,
    pub tags: Vec<String>,
    pub steps: Vec<Step>,
}

impl Scenario {
    /// Whether a step sets faults (such scenarios run alone: faults are sandbox-wide).
    pub fn has_faults(&self) -> bool {
        self.steps.iter().any(|s| !s.faults.is_empty())
    }

    /// Whether a step waits for a challenge timer (`wait`, `abandon`): it needs the
    /// runner's own sandbox, whose timers are short.
    pub fn waits_for_timers(&self) -> bool {
        self.steps.iter().any(|s| {
            s.acts.iter().any(|a| matches!(a, Act::Wait | Act::Abandon))
                // A CReq kept from the ACS leaves the challenge to the ACS's timer.
                || s.faults.iter().any(|f| {
                    f.hop == "sdk->acs"
                        && !f.kind.changes_the_message()
                        && !matches!(f.kind, transport::faults::FaultKind::Delay { .. })
                })
        })
    }
}

/// Line and column (1-based, in characters) of byte `offset` of `text`.
fn place(text: &str, offset: usize) -> (usize, usize) {
    let before = &text[..offset.min(text.len())];
    let line = before.matches('\n').count() + 1;
    let column = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
    (line, column)
}

struct Reader<'a> {
    path: &'a Path,
    text: &'a str,
}

impl Reader<'_> {
    fn at(&self, span: std::ops::Range<usize>, message: impl Into<String>) -> Diagnostic {
        let (line, column) = place(self.text, span.start);
        Diagnostic {
            path: self.path.to_owned(),
            line,
            column,
            message: message.into(),
        }
    }

    fn spanned<T>(&self, value: &Spanned<T>, message: impl Into<String>) -> Diagnostic {
        self.at(value.span(), message)
    }
}

/// Reads and checks the scenario at `path`; `cards` are the test cards PANs and
/// outcomes resolve against.
pub fn load(path: &Path, cards: &[sandbox::TestCard]) -> Result<Scenario, Diagnostic> {
    let text = std::fs::read_to_string(path).map_err(|e| Diagnostic {
        path: path.to_owned(),
        line: 0,
        column: 0,
        message: format!("cannot read it: {e}"),
    })?;
    parse(path, &text, cards)
}

/// Checks the scenario text `text` (read from `path`).
pub fn parse(path: &Path, text: &str, cards: &[sandbox::TestCard]) -> Result<Scenario, Diagnostic> {
    let reader = Reader { path, text };
    let file: format::File = toml::from_str(text).map_err(|e| {
        let message = e.message().trim().replace('\n', " ");
        match e.span() {
            Some(span) => reader.at(span, message),
            None => Diagnostic {
                path: path.to_owned(),
                line: 0,
                column: 0,
                message,
            },
        }
    })?;
    if *file.version.get_ref() != format::VERSION {
        return Err(reader.spanned(
            &file.version,
            format!(
                "version {} is not one this threeds reads: expected version = {}",
                file.version.get_ref(),
                format::VERSION
            ),
        ));
    }
    if file.steps.is_empty() {
        return Err(reader.at(0..0, "a scenario needs at least one [[step]]"));
    }
    let mut steps: Vec<Step> = Vec::new();
    for (i, spanned) in file.steps.iter().enumerate() {
        let step = step(&reader, i, spanned, &steps, cards)?;
        steps.push(step);
    }
    Ok(Scenario {
        path: path.to_owned(),
        name: file.name,
        description: file.description,
        tags: file.tags,
        steps,
    })
}

/// The `i`-th step of the file, checked against the steps before it (`earlier`: names
/// are unique, `prior` names one of them) and the test `cards`.
fn step(
    reader: &Reader<'_>,
    i: usize,
    spanned: &Spanned<format::Step>,
    earlier: &[Step],
    cards: &[sandbox::TestCard],
) -> Result<Step, Diagnostic> {
    let step = spanned.get_ref();
    let name = step
        .name
        .clone()
        .unwrap_or_else(|| format!("step {}", i + 1));
    if earlier.iter().any(|s| s.name == name) {
        return Err(reader.spanned(spanned, format!("a second step named {name:?}")));
    }
    let pan = card(reader, &step.card, cards)?;
    let version = match &step.message_version {
        None => None,
        Some(v) => Some(MessageVersion::parse(v.get_ref()).ok_or_else(|| {
            reader.spanned(
                v,
                format!(
                    "message_version {:?}: expected \"2.1.0\", \"2.2.0\" or \"2.3.1\"",
                    v.get_ref()
                ),
            )
        })?),
    };
    let acts = step
        .cardholder
        .iter()
        .map(|a| act(a.get_ref()).map_err(|why| reader.spanned(a, why)))
        .collect::<Result<Vec<_>, _>>()?;
    let prior = prior(reader, step.requestor.prior.as_ref(), earlier)?;
    for fault in &step.faults {
        fault
            .get_ref()
            .check()
            .map_err(|why| reader.spanned(fault, why.to_string()))?;
    }
    for check in &step.expect.trace {
        if check.get_ref().message.trim().is_empty() {
            return Err(reader.spanned(check, "a trace check needs the message it is about"));
        }
        if check.get_ref().count.is_none() && check.get_ref().fields.is_empty() {
            return Err(reader.spanned(
                check,
                "a trace check needs `count` or `fields`: with neither it checks nothing",
            ));
        }
    }
    Ok(Step {
        name,
        pan,
        channel: step.channel,
        version,
        requestor: step.requestor.clone(),
        acts,
        prior,
        faults: step.faults.iter().map(|f| f.get_ref().clone()).collect(),
        trace: step
            .expect
            .trace
            .iter()
            .map(|c| c.get_ref().clone())
            .collect(),
        expect: step.expect.clone(),
    })
}

/// `requestor.prior`: the name of an earlier step, if given.
fn prior(
    reader: &Reader<'_>,
    prior: Option<&Spanned<String>>,
    earlier: &[Step],
) -> Result<Option<String>, Diagnostic> {
    match prior {
        None => Ok(None),
        Some(p) if earlier.iter().any(|s| &s.name == p.get_ref()) => Ok(Some(p.get_ref().clone())),
        Some(p) => {
            let known: Vec<&str> = earlier.iter().map(|s| s.name.as_str()).collect();
            Err(reader.spanned(
                p,
                format!(
                    "prior = {:?}: expected the name of an earlier step ({})",
                    p.get_ref(),
                    if known.is_empty() {
                        "there is none".to_owned()
                    } else {
                        known.join(", ")
                    }
                ),
            ))
        }
    }
}

fn card(
    reader: &Reader<'_>,
    spanned: &Spanned<CardRef>,
    cards: &[sandbox::TestCard],
) -> Result<String, Diagnostic> {
    match spanned.get_ref() {
        CardRef::Pan(pan) => {
            if !pan.bytes().all(|b| b.is_ascii_digit()) || !(13..=19).contains(&pan.len()) {
                return Err(reader.spanned(
                    spanned,
                    format!("card {pan:?}: expected a card number (13 to 19 digits) or {{ outcome = \"…\" }}"),
                ));
            }
            Ok(pan.clone())
        }
        CardRef::Outcome(wanted) => cards
            .iter()
            .find(|c| {
                c.outcome == wanted.outcome && wanted.scheme.as_ref().is_none_or(|s| &c.scheme == s)
            })
            .map(|c| c.pan.clone())
            .ok_or_else(|| {
                let mut outcomes: Vec<&str> = cards.iter().map(|c| c.outcome.as_str()).collect();
                outcomes.sort_unstable();
                outcomes.dedup();
                reader.spanned(
                    spanned,
                    format!(
                        "no test card with outcome {:?}{}: expected one of {}",
                        wanted.outcome,
                        wanted
                            .scheme
                            .as_ref()
                            .map(|s| format!(" in scheme {s:?}"))
                            .unwrap_or_default(),
                        outcomes.join(", ")
                    ),
                )
            }),
    }
}

fn act(text: &str) -> Result<Act, String> {
    let (kind, value) = text.split_once(':').unwrap_or((text, ""));
    Ok(match kind {
        "otp" => Act::Otp(value.to_owned()),
        "select" => Act::Select(value.split(',').map(str::trim).map(str::to_owned).collect()),
        "html" => Act::Html(value.to_owned()),
        "continue" => Act::Continue,
        "resend" => Act::Resend,
        "cancel" => Act::Cancel,
        "approve" => Act::Approve,
        "deny" => Act::Deny,
        "spc-accept" => Act::SpcAccept,
        "spc-reject" => Act::SpcReject,
        "wait" => Act::Wait,
        "abandon" => Act::Abandon,
        _ => {
            return Err(format!(
                "cardholder action {text:?}: expected otp:<code>, select:<a,b>, html:<form data>, continue, resend, cancel, approve, deny, spc-accept, spc-reject, wait or abandon"
            ));
        }
    })
}

#[cfg(test)]
mod tests {
    #[test]
    fn places_are_lines_and_columns() {
        assert_eq!(super::place("a\nbc\nd", 3), (2, 2));
        assert_eq!(super::place("abc", 0), (1, 1));
    }
}
