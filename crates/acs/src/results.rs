//! Delivering results: the RReq to the DS (and the RRes back), for every challenge that
//! has a verdict, and the sweep that ends challenges whose timer ran out.
//!
//! Whoever finishes a challenge (the cardholder's page, the issuer app, the sweep)
//! first stores the verdict with a retry time a little ahead — a claim, so the sweep
//! does not send the same RReq at the same moment — then sends the RReq, then stores
//! how it went. An RReq that could not be delivered stays due and the sweep tries it
//! again; all of it lives in the store, so a restart resumes where it stopped.

use std::time::Duration;

use emv3ds::{Context, Message, Role, Validator};
use serde_json::Value;

use crate::AcsError;
use crate::AcsState;
use crate::challenge::{Challenge, Delivery};

/// A challenge loaded from the store, with the revision it was read at.
pub(crate) struct Loaded {
    pub challenge: Challenge,
    pub revision: i64,
}

pub(crate) async fn load(state: &AcsState, acs_trans_id: &str) -> Result<Option<Loaded>, AcsError> {
    let Some(stored) = state.store.challenge(acs_trans_id).await? else {
        return Ok(None);
    };
    let challenge = serde_json::from_value(stored.state)
        .map_err(|e| AcsError::unreadable(format!("challenge {acs_trans_id}"), e))?;
    Ok(Some(Loaded {
        challenge,
        revision: stored.revision,
    }))
}

/// Stores `challenge` if nobody changed it since `revision`; `false` if somebody did.
pub(crate) async fn save(
    state: &AcsState,
    challenge: &Challenge,
    revision: i64,
) -> Result<bool, AcsError> {
    let json = serde_json::to_value(challenge)?;
    state
        .store
        .update_challenge(
            challenge.acs_trans_id.as_str(),
            revision,
            &json,
            challenge.due_at(),
        )
        .await
        .map_err(AcsError::from)
}

/// Sends the RReq of a decided challenge that was just stored at `revision` (the
/// caller's claim), and records the outcome. Returns the challenge as stored last.
pub(crate) async fn deliver(
    state: &AcsState,
    mut challenge: Challenge,
    revision: i64,
) -> Result<Challenge, AcsError> {
    if matches!(challenge.delivery, Delivery::Delivered { .. }) || challenge.verdict.is_none() {
        return Ok(challenge);
    }
    let outcome = send_rreq(state, &challenge).await;
    if let Err(why) = &outcome {
        crate::note(
            state,
            &challenge,
            "RReq not delivered (will retry)".into(),
            vec![why.to_string()],
        );
    }
    let outcome = outcome.map_err(|why| why.to_string());
    challenge.delivered(state.clock.now_ms(), &state.timeouts, outcome);
    if !save(state, &challenge, revision).await? {
        return Err(AcsError::Changed(format!(
            "challenge {} changed while its RReq was out; the sweep will settle it",
            challenge.acs_trans_id
        )));
    }
    Ok(challenge)
}

/// Stores a decided challenge with a claim on its RReq, then delivers it.
pub(crate) async fn finish(
    state: &AcsState,
    mut challenge: Challenge,
    revision: i64,
) -> Result<Option<Challenge>, AcsError> {
    challenge.retry_at_ms = Some(state.clock.now_ms() + state.timeouts.rreq_retry_ms);
    challenge.sending = challenge.verdict.is_some();
    if !save(state, &challenge, revision).await? {
        return Ok(None);
    }
    if let Some(verdict) = &challenge.verdict {
        let mut label = format!("challenge decided: transStatus {}", verdict.trans_status);
        if let Some(reason) = &verdict.reason {
            label.push_str(&format!(", reason {reason}"));
        }
        if let Some(cancel) = &verdict.challenge_cancel {
            label.push_str(&format!(", challengeCancel {cancel}"));
        }
        crate::note(state, &challenge, label, Vec::new());
    }
    deliver(state, challenge, revision + 1).await.map(Some)
}

/// The RReq, checked as the DS will check it, sent; `Ok(resultsStatus)` or why not.
async fn send_rreq(state: &AcsState, challenge: &Challenge) -> Result<String, AcsError> {
    let rreq = challenge
        .rreq()
        .ok_or_else(|| AcsError::Missing("the challenge has no result yet".into()))?;
    let bytes = Message::RReq(rreq).to_json();
    let message = Validator::new(Role::DirectoryServer)
        .validate(&bytes, &Context::default())
        .map_err(|erro| AcsError::invalid("RReq", &erro))?
        .message;
    let Some(client) = &state.ds_client else {
        return Err(AcsError::Missing("the ACS has no client for the DS".into()));
    };
    if challenge.ds_url.is_empty() {
        return Err(AcsError::Missing(
            "the AReq gave no dsURL to send the RReq to".into(),
        ));
    }
    let answer = transport::exchange(
        client,
        &challenge.ds_url,
        &message,
        &Validator::new(Role::Acs),
        "the DS",
    )
    .await
    .map_err(|erro| {
        AcsError::Undelivered(format!(
            "Erro {} from the RReq: {} ({})",
            erro.error_code.as_str(),
            erro.error_description,
            erro.error_detail
        ))
    })?;
    match answer {
        Message::RRes(rres) => Ok(rres
            .results_status
            .map(|s| s.as_str().to_owned())
            .unwrap_or_default()),
        other => Err(AcsError::Undelivered(format!(
            "the DS answered the RReq with {}",
            other.message_type()
        ))),
    }
}

/// Acts on one due challenge: ends it if its timer ran out, (re)sends its RReq if it
/// has a result that was not delivered.
pub async fn settle(state: &AcsState, acs_trans_id: &str) -> Result<(), AcsError> {
    let Some(Loaded {
        mut challenge,
        revision,
    }) = load(state, acs_trans_id).await?
    else {
        return Ok(());
    };
    let now = state.clock.now_ms();
    if challenge.verdict.is_none() {
        if !challenge.expire(now) {
            return Ok(());
        }
        crate::note(
            state,
            &challenge,
            "challenge timer fired".into(),
            Vec::new(),
        );
    } else if challenge.due_at().is_none_or(|due| due > now) {
        return Ok(());
    }
    finish(state, challenge, revision).await.map(|_| ())
}

/// When the next challenge timer of `store` goes off (a deadline, or the retry of an
/// RReq that failed), Unix ms: where a virtual clock moves to when the scenario runner
/// waits for a result (deterministic mode). RReqs still out are not timers.
pub async fn next_timer(store: &store::Store) -> Result<Option<u64>, AcsError> {
    let open = store.open_challenges(u32::MAX).await?;
    let mut next: Option<u64> = None;
    for (id, state) in open {
        let challenge: Challenge = serde_json::from_value(state)
            .map_err(|e| AcsError::unreadable(format!("challenge {id}"), e))?;
        if let Some(at) = challenge.timer_at() {
            next = Some(next.map_or(at, |n| n.min(at)));
        }
    }
    Ok(next)
}

/// Every `every`, settles the challenges that are due by the ACS's clock (timeouts,
/// RReq retries), until the task is aborted: a log line for each sweep that found any;
/// failures are logged and retried at the next tick.
pub fn spawn_sweeper(state: AcsState, every: Duration) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let mut ticks = tokio::time::interval(every);
        ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            ticks.tick().await;
            let due = match state.store.due_challenges(state.clock.now_ms(), 64).await {
                Ok(due) => due,
                Err(e) => {
                    tracing::error!(target: "threeds::job", job = "challenge sweep", error = %e, "cannot read the challenges that are due");
                    continue;
                }
            };
            if due.is_empty() {
                continue;
            }
            let (started, count) = (std::time::Instant::now(), due.len());
            let mut failed = 0_usize;
            for id in due {
                if let Err(e) = settle(&state, &id).await {
                    failed += 1;
                    tracing::warn!(target: "threeds::job", job = "challenge sweep", acs_trans_id = %id, error = %e, "a due challenge was not settled");
                }
            }
            // A line only when a timer was due: the sweep runs twice a second.
            tracing::info!(
                target: "threeds::job",
                job = "challenge sweep",
                due = count,
                failed,
                ms = started.elapsed().as_millis(),
                "job done"
            );
        }
    })
}

/// A challenge's state as JSON for the issuer-app listing.
pub(crate) fn parse(state: Value) -> Option<Challenge> {
    serde_json::from_value(state).ok()
}
