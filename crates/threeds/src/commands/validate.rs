//! `threeds validate`: judge one message as a receiving role would.

use std::io::{Read, Write};
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context as _, bail};
use emv3ds::validate::request_type_for;
use emv3ds::{Context, Message, MessageType, RequestFacts, Role, Validator};

#[derive(Debug, clap::Args)]
pub struct Args {
    /// The receiving role: 3dss (3DS Server), ds (Directory Server), acs, sdk.
    #[arg(long = "as", value_name = "ROLE", default_value = "ds")]
    role: Role,
    /// The message being answered (the AReq for an ARes, the CReq for a CRes, the RReq
    /// for an RRes, the PReq for a PRes; the AReq for an RReq), so that rules depending
    /// on it apply. Without it they are skipped, and the output lists them.
    #[arg(long, value_name = "FILE")]
    request: Option<PathBuf>,
    /// Indent the JSON output.
    #[arg(long)]
    pretty: bool,
    /// The message to validate; `-` or nothing reads standard input.
    #[arg(value_name = "FILE")]
    file: Option<PathBuf>,
}

pub fn run(args: &Args) -> anyhow::Result<ExitCode> {
    let bytes = read_input(args.file.as_ref())?;
    let facts = match &args.request {
        Some(path) => Some(request_facts(path, &bytes)?),
        None => None,
    };
    let validator = Validator::new(args.role);
    let ctx = Context {
        request: facts.as_ref(),
        channel: None,
    };
    let mut out = std::io::stdout().lock();
    match validator.validate(&bytes, &ctx) {
        Ok(valid) => {
            let message_type = valid.message.message_type();
            let verdict = Verdict {
                valid: true,
                message_type: message_type.as_str(),
                message_version: valid.message.message_version().as_str(),
                skipped: valid
                    .skipped
                    .iter()
                    .map(|s| SkippedRule {
                        element: &s.subject,
                        rule: s.rule,
                        needs: s.needs,
                    })
                    .collect(),
            };
            write_json(&mut out, &verdict, args.pretty)?;
            Ok(ExitCode::SUCCESS)
        }
        Err(erro) => {
            // Exactly the bytes the role would send; `--pretty` only re-indents them,
            // keeping the field order.
            let wire = erro.to_json();
            if args.pretty {
                let tree = emv3ds::json::Json::parse(&wire)?;
                write_json(&mut out, &tree, true)?;
            } else {
                out.write_all(&wire)?;
                writeln!(out)?;
            }
            Ok(ExitCode::from(1))
        }
    }
}

fn read_input(file: Option<&PathBuf>) -> anyhow::Result<Vec<u8>> {
    match file {
        Some(path) if path.as_os_str() != "-" => {
            std::fs::read(path).with_context(|| format!("cannot read {}", path.display()))
        }
        _ => {
            let mut buf = Vec::new();
            std::io::stdin()
                .read_to_end(&mut buf)
                .context("cannot read standard input")?;
            Ok(buf)
        }
    }
}

/// Reads the `--request` file and checks it is the kind of message `message` answers.
fn request_facts(path: &PathBuf, message: &[u8]) -> anyhow::Result<RequestFacts> {
    let bytes =
        std::fs::read(path).with_context(|| format!("cannot read --request {}", path.display()))?;
    let request = Message::parse(&bytes)
        .map_err(|e| anyhow::anyhow!("{e}"))
        .with_context(|| format!("--request {} is not a 3DS message", path.display()))?;
    // The validated message's type, if it can be read at all; if not, validation
    // answers 101 and the request does not matter.
    let message_type = serde_json::from_slice::<serde_json::Value>(message)
        .ok()
        .and_then(|v| {
            v.get("messageType")?
                .as_str()
                .and_then(MessageType::from_code)
        });
    if let Some(t) = message_type.filter(|t| t.index().is_some()) {
        match request_type_for(t) {
            Some(expected) if expected != request.message_type() => bail!(
                "--request {}: a {t} is validated against a {expected}, not a {}",
                path.display(),
                request.message_type()
            ),
            None => bail!("--request: no rule of a {t} depends on another message"),
            _ => {}
        }
    }
    Ok(RequestFacts::of(&request))
}

/// What `validate` prints for a valid message.
#[derive(serde::Serialize)]
struct Verdict<'a> {
    valid: bool,
    #[serde(rename = "messageType")]
    message_type: &'a str,
    #[serde(rename = "messageVersion")]
    message_version: &'a str,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    skipped: Vec<SkippedRule<'a>>,
}

/// A rule that could not be checked without `--request`.
#[derive(serde::Serialize)]
struct SkippedRule<'a> {
    element: &'a str,
    rule: &'a str,
    needs: &'a str,
}

fn write_json(
    out: &mut impl Write,
    value: &impl serde::Serialize,
    pretty: bool,
) -> anyhow::Result<()> {
    if pretty {
        serde_json::to_writer_pretty(&mut *out, value)?;
    } else {
        serde_json::to_writer(&mut *out, value)?;
    }
    writeln!(out)?;
    Ok(())
}
