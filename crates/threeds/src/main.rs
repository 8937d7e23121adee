//! `threeds`: the sandbox's command-line entry point. It parses flags and calls library
//! functions; no protocol logic lives here.

mod commands;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

/// An EMV 3-D Secure 2.x sandbox: every party of a 3DS authentication, on your laptop.
#[derive(Debug, Parser)]
#[command(
    name = "threeds",
    version,
    after_help = "Environment: THREEDS_LOG (or RUST_LOG) = error|warn|info|debug|trace, or \
                  target=level directives, chooses the servers' log lines on standard error \
                  (default info: a line per request; it never holds card data); \
                  THREEDS_LOG_FORMAT=text|json as --log-format."
)]
struct Cli {
    /// How the servers' log lines are written on standard error.
    #[arg(
        long,
        global = true,
        env = "THREEDS_LOG_FORMAT",
        value_enum,
        default_value = "text"
    )]
    log_format: LogFormat,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run the whole sandbox (3DS Server, a DS per scheme, ACS and its cardholder pages,
    /// the merchant shop) on loopback until Ctrl-C; generates the PKI first if there is
    /// none, and writes a manifest for scripts. Open the shop's URL it prints in a browser.
    Up(commands::up::Args),
    /// Run one component alone (3DS Server, ACS, one scheme's DS, or the merchant shop)
    /// until Ctrl-C, to pair it with your own implementation of the others.
    ///
    /// It listens where `threeds up` would put it (port base, plus 0 for 3dss, 1 for acs,
    /// 2 + n for the DS of the n-th scheme, then the ACS's cardholder pages and the
    /// merchant shop) and finds its peers the same way, unless the
    /// ecosystem file (--config) gives their `url`. Its database is <data>/<component>.db,
    /// or the PostgreSQL database all components share (--database postgres://…).
    ///
    /// Example, one terminal each: `threeds serve acs`, `threeds serve ds --scheme alpha`,
    /// `threeds serve ds --scheme beta`, then `threeds serve 3dss` (after the DSs: it asks
    /// them for card ranges at start).
    Serve(commands::serve::Args),
    /// Print the shipped ecosystem file (schemes, card ranges, cards) to edit and pass
    /// back with --config.
    Config,
    /// Pay in an app: the mock 3DS SDK runs an app-channel authentication against a
    /// running sandbox (device data to the DS, the signed content checked, the
    /// encrypted challenge), printing every step. Answers from --answer, else a prompt;
    /// --interactive draws the challenge's screens in the terminal.
    Sdk(commands::sdk::Args),
    /// List the test cards and what each does.
    Cards(commands::cards::Args),
    /// Print the trace: every message of every hop (card numbers masked), with the
    /// decrypted views the sandbox can give, from a running sandbox (its manifest) or a
    /// database. `--follow` streams; `--format json` prints JSON Lines.
    Trace(commands::trace::Args),
    /// Run scenario files (default: scenarios/) against an isolated sandbox started for
    /// them, or --against a running one; one line per scenario, then `N passed, N
    /// failed`; --junit writes a report; --seed makes the run deterministic (seeded ids,
    /// timers on a virtual clock). See scenarios/README.md.
    Run(commands::run::Args),
    /// The terminal UI: transactions as they happen, each as a sequence diagram with
    /// every message (wire form, or decoded/decrypted). `?` lists the keys, `q` quits.
    Tui(commands::tui::Args),
    /// Secure Payment Confirmation, the issuer's side, on a running sandbox: a card's
    /// registered credentials (`list`), deleting one (`delete`), and what the check of
    /// a transaction's confirmation found (`check`).
    #[command(subcommand)]
    Spc(commands::spc::Command),
    /// Validate one EMV 3DS message as a receiving component would.
    ///
    /// Prints {"valid":true,"messageType":…,"messageVersion":…} and exits 0 when the
    /// message is valid; prints the Erro the receiving role would send back and exits 1
    /// when it is not; exits 2 on bad usage (no such file, unreadable request, …).
    Validate(commands::validate::Args),
    /// Print the data dictionary (every element, its format and presence rules) as Markdown.
    Dictionary,
    /// The sandbox's own PKI (TLS and protocol certificates in certs/).
    #[command(subcommand)]
    Pki(commands::pki::Command),
    /// Check a running sandbox (or the endpoints of any manifest): per endpoint, the TLS
    /// versions and suites accepted, whether a client certificate is required, chains
    /// and days to expiry; the key backend and every key; the database scanned for card
    /// numbers in clear and refused data; the config file against the hash recorded at
    /// start. A table (or --json); exit status 1 when a check fails.
    Doctor(commands::doctor::Args),
    /// Ask a health port whether its process is ready (`/readyz`; `--live`: runs,
    /// `/healthz`): exit status 0 on 200. The image's HEALTHCHECK.
    Health(commands::health::Args),
    /// The admin endpoint's access: it takes the admin certificate alone
    /// (certs/tls/admin.crt, named in the manifest) and, once `enrol`led, a TOTP code.
    #[command(subcommand)]
    Admin(commands::admin::Command),
}

/// `text` as `tracing` directives, each a level or `target=level` (a bare word that
/// is no level is refused: `Targets` would take it for a target and log nothing).
fn log_filter(text: &str) -> Option<tracing_subscriber::filter::Targets> {
    use tracing_subscriber::filter::LevelFilter;
    let levels_read = text.split(',').all(|directive| {
        let level = directive
            .rsplit_once('=')
            .map_or(directive, |(_, level)| level);
        level.trim().parse::<LevelFilter>().is_ok()
    });
    levels_read.then(|| text.parse().ok()).flatten()
}

/// How log lines are written (`--log-format`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
enum LogFormat {
    /// One human-readable line per event.
    Text,
    /// One JSON object per line (what log collectors read; the image's default).
    Json,
}

/// The servers' log: `tracing` events from every component (a line per request with
/// target `threeds::request`, background jobs, warnings and errors with their causes),
/// on standard error, as text or JSON Lines. Which events: `THREEDS_LOG`, else
/// `RUST_LOG`, as `tracing` target directives (`debug`, `warn,threeds::request=info`,
/// …); `info` when unset. A value that does not read is said once and `info` is used.
fn init_logs(format: LogFormat) {
    use tracing_subscriber::filter::{LevelFilter, Targets};
    use tracing_subscriber::layer::SubscriberExt as _;
    use tracing_subscriber::util::SubscriberInitExt as _;
    let (variable, wanted) = match std::env::var("THREEDS_LOG") {
        Ok(value) => ("THREEDS_LOG", value),
        Err(_) => ("RUST_LOG", std::env::var("RUST_LOG").unwrap_or_default()),
    };
    let default = Targets::new().with_default(LevelFilter::INFO);
    let filter = match wanted.trim() {
        "" => default,
        text => log_filter(text).unwrap_or_else(|| {
            eprintln!(
                "threeds: {variable}={text:?} is no level (error, warn, info, debug, trace) nor \
                 target=level directives; using info"
            );
            default
        }),
    };
    let lines = tracing_subscriber::fmt::layer().with_writer(std::io::stderr);
    let registry = tracing_subscriber::registry().with(filter);
    let _ = match format {
        LogFormat::Text => registry.with(lines).try_init(),
        LogFormat::Json => registry
            .with(lines.json().flatten_event(true).with_current_span(false))
            .try_init(),
    };
}

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(err) => return usage_error(&err),
    };
    init_logs(cli.log_format);
    let result = match cli.command {
        Command::Validate(args) => commands::validate::run(&args),
        Command::Up(args) => commands::up::run(&args),
        Command::Serve(args) => commands::serve::run(&args),
        Command::Config => {
            print!("{}", sandbox::config::SHIPPED);
            Ok(ExitCode::SUCCESS)
        }
        Command::Cards(args) => commands::cards::run(&args),
        Command::Trace(args) => commands::trace::run(&args),
        Command::Run(args) => commands::run::run(&args),
        Command::Tui(args) => commands::tui::run(&args),
        Command::Sdk(args) => commands::sdk::run(&args),
        Command::Spc(command) => commands::spc::run(&command),
        Command::Pki(command) => commands::pki::run(&command),
        Command::Admin(command) => commands::admin::run(&command),
        Command::Doctor(args) => commands::doctor::run(&args),
        Command::Health(args) => commands::health::run(&args),
        Command::Dictionary => {
            print!("{}", emv3ds::docs::markdown());
            Ok(ExitCode::SUCCESS)
        }
    };
    match result {
        Ok(code) => code,
        // A reader that stopped reading (`threeds pki show | head`) is not an error.
        Err(err) if is_broken_pipe(&err) => ExitCode::SUCCESS,
        Err(err) => {
            // One line: the whole context chain, outermost first.
            eprintln!("threeds: {err:#}");
            ExitCode::from(2)
        }
    }
}

/// Help and version go to standard output as usual; a usage error is one line on
/// standard error, and exit status 2.
fn usage_error(err: &clap::Error) -> ExitCode {
    use clap::error::ErrorKind;
    if matches!(
        err.kind(),
        ErrorKind::DisplayHelp
            | ErrorKind::DisplayVersion
            | ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand
    ) {
        let _ = err.print();
        return if err.use_stderr() {
            ExitCode::from(2)
        } else {
            ExitCode::SUCCESS
        };
    }
    // The error's first paragraph, on one line: clap lists what is missing on the lines
    // after the first ("the following required arguments were not provided:").
    let rendered = err.render().to_string();
    let paragraph: Vec<&str> = rendered
        .lines()
        .skip_while(|l| l.trim().is_empty())
        .take_while(|l| !l.trim().is_empty())
        .map(str::trim)
        .collect();
    let joined = paragraph.join(" ");
    let message = joined.strip_prefix("error: ").unwrap_or(&joined);
    let message = if message.is_empty() {
        "invalid usage"
    } else {
        message
    };
    eprintln!("threeds: {message} (see --help)");
    ExitCode::from(2)
}

fn is_broken_pipe(err: &anyhow::Error) -> bool {
    err.chain().any(|cause| {
        cause
            .downcast_ref::<std::io::Error>()
            .is_some_and(|e| e.kind() == std::io::ErrorKind::BrokenPipe)
            || cause
                .downcast_ref::<serde_json::Error>()
                .and_then(serde_json::Error::io_error_kind)
                == Some(std::io::ErrorKind::BrokenPipe)
    })
}
