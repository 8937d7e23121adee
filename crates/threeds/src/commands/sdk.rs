//! `threeds sdk`: an app-channel authentication by the mock 3DS SDK against a running
//! sandbox (its manifest tells where everything is), printing each step: the AReq
//! parameters, the ARes, the verified signed content, every CReq and CRes in
//! plaintext, and the result the 3DS Server holds. Challenge answers come from flags,
//! from a prompt when none is given, or, with `--interactive`, from the challenge's
//! native screens drawn in the terminal (`tui::challenge`).

use std::io::{BufRead, Write};
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use anyhow::{anyhow, bail};
use emv3ds::MessageVersion;
use sdk::backend::{self, Purchase};
use sdk::{Action, ChallengeParameters, ChallengeStatus, Screen};
use serde_json::Value;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// The card number (`threeds cards` lists them).
    #[arg(long)]
    card: String,
    /// The manifest `threeds up` wrote.
    #[arg(long, default_value = ".threeds/manifest.json", value_name = "FILE")]
    manifest: PathBuf,
    /// Message version (default: the one the 3DS Server negotiates for the card in
    /// /v1/preauth).
    #[arg(long = "message-version")]
    version: Option<String>,
    /// The CReq/CRes content encryption: A128CBC-HS256 or A128GCM.
    #[arg(long, default_value = "A128CBC-HS256")]
    enc: String,
    /// Answers, in order: `otp:123456`, `select:coffee,books`, `continue`, `html:otp=123456&action=submit`,
    /// `resend`, `cancel`, `wait` (let the SDK time out). Without any, you are asked.
    #[arg(long = "answer", value_name = "ANSWER", conflicts_with = "interactive")]
    answers: Vec<String>,
    /// Play the cardholder on the challenge's screens, drawn in the terminal (text,
    /// single and multi select, out of band, and HTML read for the terminal).
    #[arg(long)]
    interactive: bool,
    /// The SDK's challenge timer in seconds (the AReq still says 05 minutes).
    #[arg(long, default_value_t = 300)]
    timeout_secs: u64,
    /// Device security warnings to report (`SW01` rooted, …), repeatable.
    #[arg(long = "device-warning")]
    warnings: Vec<String>,
}

fn action(answer: &str) -> anyhow::Result<Action> {
    let (kind, value) = answer.split_once(':').unwrap_or((answer, ""));
    Ok(match kind {
        "otp" | "text" => Action::Text(value.to_owned()),
        "select" => Action::Select(value.split(',').map(str::to_owned).collect()),
        "html" => Action::HtmlForm(value.to_owned()),
        "continue" => Action::Continue,
        "resend" => Action::Resend,
        "cancel" => Action::Cancel,
        "wait" => Action::Wait,
        other => {
            bail!("--answer {other:?}: use otp:, select:, html:, continue, resend, cancel or wait")
        }
    })
}

/// Plays the flags' answers, then asks at the terminal.
struct Driver {
    answers: std::collections::VecDeque<Action>,
    prompt: bool,
}

impl sdk::ChallengeDriver for Driver {
    /// Reads the terminal where it is, on the CLI's own one-thread runtime: nothing
    /// else there needs to run while a person types.
    fn act<'a>(&'a mut self, screen: &'a Screen) -> sdk::Answer<'a> {
        sdk::answer_now(self.ask(screen))
    }
}

impl Driver {
    fn ask(&mut self, screen: &Screen) -> Action {
        println!("\n--- screen (acsUiType {}) ---", screen.ui_type);
        for line in [&screen.header, &screen.label, &screen.text]
            .into_iter()
            .flatten()
        {
            println!("{line}");
        }
        for (value, label) in &screen.options {
            println!("  [{value}] {label}");
        }
        if let Some(html) = &screen.html {
            println!("(HTML, {} bytes; answer with html:<form data>)", html.len());
        }
        if let Some(next) = self.answers.pop_front() {
            println!("> {next:?}");
            return next;
        }
        if !self.prompt {
            return Action::Wait;
        }
        print!("answer (otp:…, select:…, html:…, continue, resend, cancel, wait)> ");
        let _ = std::io::stdout().flush();
        let mut line = String::new();
        if std::io::stdin().lock().read_line(&mut line).unwrap_or(0) == 0 {
            return Action::Cancel;
        }
        action(line.trim()).unwrap_or(Action::Cancel)
    }
}

/// Prints each step.
struct Printer;

impl sdk::ChallengeStatusReceiver for Printer {
    fn verified(&mut self, acs_url: &str, alg: &str) {
        println!("acsSignedContent verified ({alg}); CReqs go to {acs_url}");
    }
    fn creq(&mut self, creq: &Value) {
        println!("\nCReq (encrypted on the wire):\n{creq:#}");
    }
    fn cres(&mut self, cres: &Value) {
        let mut shown = cres.clone();
        if shown.get("acsHTML").is_some() {
            shown["acsHTML"] = Value::from("<base64url HTML>");
        }
        println!("\nCRes (decrypted):\n{shown:#}");
    }
    fn erro_sent(&mut self, erro: &Value) {
        println!("\nErro sent to the ACS:\n{erro:#}");
    }
}

pub fn run(args: &Args) -> anyhow::Result<ExitCode> {
    use std::io::IsTerminal as _;
    if args.interactive && !(std::io::stdin().is_terminal() && std::io::stdout().is_terminal()) {
        bail!("--interactive draws the challenge on a terminal; use --answer in scripts");
    }
    let manifest = sandbox::Manifest::read(&args.manifest).map_err(|e| anyhow!(e))?;
    let forced = match &args.version {
        None => None,
        Some(v) => Some(
            MessageVersion::parse(v)
                .ok_or_else(|| anyhow!("--message-version {v}: use 2.1.0, 2.2.0 or 2.3.1"))?,
        ),
    };
    let enc = app_crypto::session::Enc::from_name(&args.enc)
        .ok_or_else(|| anyhow!("--enc {}: use A128CBC-HS256 or A128GCM", args.enc))?;
    let answers = args
        .answers
        .iter()
        .map(|a| action(a))
        .collect::<anyhow::Result<_>>()?;
    let mut config = manifest.sdk_config().map_err(|e| anyhow!(e))?;
    config.device.warnings.clone_from(&args.warnings);
    let service = sdk::ThreeDs2Service::initialize(config)?;
    let requestor = manifest.requestor_client().map_err(|e| anyhow!(e))?;
    let api = manifest.endpoints.requestor_api;

    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    runtime.block_on(async {
        // As an app does: ask the 3DS Server which DS and version the card takes.
        let pre = backend::preauth(&requestor, &api, &args.card).await?;
        if pre["enrolled"] != true {
            bail!(
                "card {} is not enrolled (in no card range of any DS)",
                args.card
            );
        }
        let ds = super::manifest_text(&pre, &["directoryServerId"])?;
        let version = match forced {
            Some(v) => v,
            None => MessageVersion::parse(&super::manifest_text(&pre, &["messageVersion"])?)
                .ok_or_else(|| anyhow!("/v1/preauth gave no usable messageVersion: {pre}"))?,
        };
        let mut transaction = service.create_transaction(&ds, version)?;
        transaction.enc = enc;
        let params = transaction.authentication_request_parameters()?;
        let mut body = backend::auth_request(&Purchase::new(&args.card), &params);
        body["threeDSServerTransID"] = pre["threeDSServerTransID"].clone();
        println!(
            "AReq app elements (sdkEncData is encrypted to DS {ds}):\n{:#}",
            Value::Object(params.areq_fields())
        );
        let answer = backend::auth(&requestor, &api, &body).await?;
        let ares = &answer["ares"];
        println!("\nARes:\n{ares:#}");
        let id = super::manifest_text(&answer, &["threeDSServerTransID"])?;
        if ares["transStatus"] == "C" && !challenge(args, transaction, ares, answers).await? {
            return Ok(ExitCode::from(1));
        }
        let result = settled(&requestor, &api, &id).await?;
        println!("\npostauth:\n{result:#}");
        Ok(ExitCode::SUCCESS)
    })
}

/// The app challenge the ARes `ares` asks for, answered from `--answer` (or prompted,
/// or drawn with `--interactive`); `false` when it ended in a protocol or runtime
/// error.
async fn challenge(
    args: &Args,
    transaction: sdk::Transaction,
    ares: &Value,
    answers: std::collections::VecDeque<sdk::Action>,
) -> anyhow::Result<bool> {
    let challenge = ChallengeParameters::from_ares(ares)?;
    let mut prompted = Driver {
        answers,
        prompt: args.answers.is_empty(),
    };
    let mut screens = tui::challenge::InteractiveDriver;
    let driver: &mut dyn sdk::ChallengeDriver = if args.interactive {
        &mut screens
    } else {
        &mut prompted
    };
    let status = transaction
        .do_challenge(
            &challenge,
            driver,
            &mut Printer,
            Duration::from_secs(args.timeout_secs),
        )
        .await;
    println!("\nchallenge: {status:?}");
    Ok(!matches!(
        status,
        ChallengeStatus::ProtocolError { .. } | ChallengeStatus::RuntimeError { .. }
    ))
}

/// `/v1/postauth/{id}` once it is final (the RReq arrived), or as it is after 5 s.
async fn settled(requestor: &transport::Client, api: &str, id: &str) -> anyhow::Result<Value> {
    let mut result = backend::postauth(requestor, api, id).await?;
    for _ in 0..50 {
        if result["status"] == "final" {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
        result = backend::postauth(requestor, api, id).await?;
    }
    Ok(result)
}
