//! `threeds cards`: the test cards of the ecosystem file and what each does.

use std::io::Write;
use std::process::ExitCode;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// JSON: `[{"pan", "scheme", "outcome", "otp"?, "answer"?, "description"}]`.
    #[arg(long)]
    json: bool,
    #[command(flatten)]
    ecosystem: super::EcosystemArg,
}

pub fn run(args: &Args) -> anyhow::Result<ExitCode> {
    let cards = args.ecosystem.load()?.cards();
    let mut out = std::io::stdout().lock();
    if args.json {
        serde_json::to_writer_pretty(&mut out, &cards)?;
        writeln!(out)?;
    } else {
        writeln!(
            out,
            "{:<18} {:<7} {:<23} description",
            "pan", "scheme", "outcome"
        )?;
        for c in &cards {
            let answer = match (&c.otp, &c.answer) {
                (Some(otp), _) => format!(" [OTP {otp}]"),
                (None, Some(answer)) => format!(" [answer: {answer}]"),
                (None, None) => String::new(),
            };
            writeln!(
                out,
                "{:<18} {:<7} {:<23} {}{answer}",
                c.pan, c.scheme, c.outcome, c.description
            )?;
        }
    }
    Ok(ExitCode::SUCCESS)
}
