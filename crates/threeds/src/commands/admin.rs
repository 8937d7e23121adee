//! `threeds admin`: access to the sandbox's admin endpoint. `enrol` sets up the second
//! factor (a TOTP secret sealed under the sandbox's master key); a sandbox started
//! after it wants a code (`THREEDS_ADMIN_TOTP` for `threeds tui`, `trace` and `run
//! --against`) on top of the admin certificate.

use std::process::ExitCode;

use anyhow::anyhow;

#[derive(Debug, clap::Subcommand)]
pub enum Command {
    /// Enrol a TOTP second factor (RFC 6238) for the admin endpoint: prints the
    /// otpauth:// URI to load into an authenticator app. Takes effect at the sandbox's
    /// next start.
    Enrol(EnrolArgs),
}

#[derive(Debug, clap::Args)]
pub struct EnrolArgs {
    #[command(flatten)]
    data: super::DataArg,
    /// Replace an existing enrolment (the old authenticator stops working).
    #[arg(long)]
    force: bool,
}

pub fn run(command: &Command) -> anyhow::Result<ExitCode> {
    match command {
        Command::Enrol(args) => {
            let runtime = tokio::runtime::Runtime::new()?;
            let uri = runtime
                .block_on(sandbox::admin::access::enrol(&args.data.data, args.force))
                .map_err(|e| anyhow!(e))?;
            println!("{uri}");
            eprintln!(
                "Load this URI into an authenticator app (it holds the secret: keep it to \
                 yourself).\nFrom the sandbox's next start, the admin endpoint wants a code: \
                 THREEDS_ADMIN_TOTP=<code> for threeds tui, trace and run --against."
            );
            Ok(ExitCode::SUCCESS)
        }
    }
}
