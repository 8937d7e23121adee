//! What a step expects, checked against how it ended and the transaction's trace.

use serde_json::Value;
use trace::Event;

use crate::format::{Presence, TraceCheck};
use crate::load::Step;

use super::*;

/// What is not as the step expects.
pub(super) fn check(step: &Step, ended: &Ended, events: &[Event]) -> Vec<String> {
    let mut failures = Vec::new();
    let expect = &step.expect;
    match (&ended.erro, &expect.error_code) {
        (Some(erro), Some(code)) => {
            if erro["errorCode"].as_str() != Some(code.as_str()) {
                failures.push(format!("expected Erro {code}, got {erro}"));
            }
        }
        (Some(erro), None) => failures.push(format!("the requestor got an Erro: {erro}")),
        (None, Some(code)) => failures.push(format!(
            "expected Erro {code}, got a result: {}",
            ended.result.clone().unwrap_or_default()
        )),
        (None, None) => {}
    }
    if let Some(result) = &ended.result {
        let field = |name: &str| result[name].as_str().map(str::to_owned);
        for (what, expected, got) in [
            ("transStatus", &expect.trans_status, field("transStatus")),
            (
                "transStatusReason",
                &expect.reason,
                field("transStatusReason"),
            ),
            ("eci", &expect.eci, field("eci")),
            (
                "challengeCancel",
                &expect.challenge_cancel,
                field("challengeCancel"),
            ),
        ] {
            if let Some(expected) = expected
                && got.as_deref() != Some(expected.as_str())
            {
                failures.push(format!(
                    "expected {what} {expected}, got {}",
                    got.as_deref().unwrap_or("none")
                ));
            }
        }
        match (expect.authentication_value, field("authenticationValue")) {
            (Some(Presence::Present), Some(av)) if av.len() == 28 => {}
            (Some(Presence::Present), got) => failures.push(format!(
                "expected an authenticationValue of 28 characters, got {got:?}"
            )),
            (Some(Presence::Absent), Some(av)) => {
                failures.push(format!("expected no authenticationValue, got {av}"));
            }
            _ => {}
        }
    }
    for check in &step.trace {
        if let Some(why) = trace_check(check, events) {
            failures.push(why);
        }
    }
    failures
}

/// `name = value` pairs, for messages.
pub(super) fn fields_text(fields: &toml::Table) -> String {
    fields
        .iter()
        .map(|(k, v)| format!("{k} = {v}"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// Whether the transaction's messages pass `check` (`None`) or why not.
pub(super) fn trace_check(check: &TraceCheck, events: &[Event]) -> Option<String> {
    if let Some(verdict) = note_check(check, events) {
        return verdict;
    }
    let matching: Vec<&Event> = events
        .iter()
        .filter(|e| e.kind == trace::Kind::Message)
        .filter(|e| {
            e.message_type.as_deref() == Some(check.message.as_str()) || e.label == check.message
        })
        .filter(|e| check.from.is_none_or(|p| e.from == Some(p)))
        .filter(|e| check.to.is_none_or(|p| e.to == Some(p)))
        .collect();
    let what = format!(
        "{}{}{}",
        check.message,
        check.from.map(|p| format!(" from {p}")).unwrap_or_default(),
        check.to.map(|p| format!(" to {p}")).unwrap_or_default()
    );
    let count = messages(&matching);
    if let Some(expected) = check.count
        && count != expected
    {
        return Some(format!("expected {expected} {what}, the trace has {count}"));
    }
    if check.fields.is_empty() {
        return None;
    }
    if matching.is_empty() {
        return Some(format!(
            "no {what} in the trace to check {:?} on",
            check.fields.keys().collect::<Vec<_>>()
        ));
    }
    if check.any {
        if matching.iter().any(|e| carries(check, &what, e).is_ok()) {
            return None;
        }
        return Some(format!("no {what} carries {}", fields_text(&check.fields)));
    }
    matching
        .iter()
        .find_map(|event| carries(check, &what, event).err())
}

/// A check of notes (a fault injected, an RReq not delivered, a challenge step): each
/// counts once per occurrence, its label starting with the check's text. `None` when
/// the check is not about notes (it names parties or fields, or no note matches).
fn note_check(check: &TraceCheck, events: &[Event]) -> Option<Option<String>> {
    if check.from.is_some() || check.to.is_some() || !check.fields.is_empty() {
        return None;
    }
    let notes = events
        .iter()
        .filter(|e| e.kind == trace::Kind::Note && e.label.starts_with(check.message.as_str()))
        .count();
    (notes > 0).then(|| match check.count {
        Some(expected) if expected != notes => Some(format!(
            "expected {expected} notes \"{}\", the trace has {notes}",
            check.message
        )),
        _ => None,
    })
}

/// How many messages `matching` holds: each is seen by its sender and its receiver
/// when both are ours, so the sightings of one hop count once.
fn messages(matching: &[&Event]) -> usize {
    let mut pairs: Vec<(Option<trace::Party>, Option<trace::Party>)> =
        matching.iter().map(|e| (e.from, e.to)).collect();
    pairs.sort();
    pairs.dedup();
    pairs
        .iter()
        .map(|(from, to)| {
            let side = |d: trace::Direction| {
                matching
                    .iter()
                    .filter(|e| e.from == *from && e.to == *to && e.direction == Some(d))
                    .count()
            };
            side(trace::Direction::Sent).max(side(trace::Direction::Received))
        })
        .sum()
}

/// Whether `event` (a sighting of `what`) carries every field `check` names.
fn carries(check: &TraceCheck, what: &str, event: &Event) -> Result<(), String> {
    let body = event.body_value().unwrap_or_default();
    for (name, expected) in &check.fields {
        let expected = match expected {
            toml::Value::String(s) => s.clone(),
            other => other.to_string(),
        };
        let got = match &body[name] {
            Value::String(s) => Some(s.clone()),
            Value::Null => None,
            other => Some(other.to_string()),
        };
        if got.as_deref() != Some(expected.as_str()) {
            return Err(format!(
                "{what} seen by {} carries {name} = {}, expected {expected}",
                event.observer,
                got.as_deref().unwrap_or("(absent)")
            ));
        }
    }
    Ok(())
}
