//! Who may use the admin endpoint, and the record of who tried.
//!
//! - **The admin certificate.** The listener requires a client certificate chaining to
//!   the sandbox's TLS root (a connection without one fails its handshake), and
//!   [`Access::check`] then accepts one certificate only: the admin's
//!   (`pki::admin_identity`), by its SHA-256. A component's certificate is refused.
//! - **A second factor, when enrolled** (`threeds admin enrol`): a TOTP code (RFC 6238,
//!   [`super::totp`]) opens a session (`POST /admin/session` with `{"totp": "123456"}`),
//!   and every other request carries the session as `Authorization: Bearer`. A session
//!   lasts [`SESSION_TTL_MS`]. The secret is sealed under the sandbox's software master
//!   key (whatever the key backend) in `<data>/keys/admin-totp`.
//! - **Failed codes are rate limited:** after [`MAX_FAILURES`] wrong codes within
//!   [`FAILURE_WINDOW_MS`], every code, right or wrong, is refused (429) until the
//!   oldest failure leaves the window.
//! - **Audit:** every refusal, every session opened and every change (any request but a
//!   read) is appended to `<data>/audit.jsonl` (owner-only): when, who (certificate
//!   name and SHA-256), what, and the result.

use std::collections::{HashMap, VecDeque};
use std::io::Write as _;
use std::path::Path;
use std::sync::Mutex;
use std::time::{SystemTime, UNIX_EPOCH};

use pki::tls::PeerIdentity;
use serde_json::json;

use super::totp::Totp;

/// How long a session opened with a TOTP code lasts.
pub const SESSION_TTL_MS: u64 = 15 * 60 * 1000;
/// Wrong codes tolerated within [`FAILURE_WINDOW_MS`].
pub const MAX_FAILURES: usize = 5;
/// The window wrong codes are counted in.
pub const FAILURE_WINDOW_MS: u64 = 5 * 60 * 1000;

/// The file holding the sealed TOTP secret, under the data directory.
const TOTP_FILE: &str = "keys/admin-totp";
/// The software master key the secret is sealed under, under the data directory.
const MASTER_KEY: &str = "keys/master.key";

/// The admin endpoint's gatekeeper.
#[derive(Debug)]
pub struct Access {
    /// The admin certificate's SHA-256, as `PeerIdentity::sha256` spells it.
    admin: String,
    state: Mutex<State>,
    audit: Audit,
}

#[derive(Debug)]
struct State {
    totp: Option<Totp>,
    /// Open sessions: token → expiry (Unix ms).
    sessions: HashMap<String, u64>,
    /// When recent wrong codes came (Unix ms), oldest first.
    failures: VecDeque<u64>,
}

/// Why a request was refused: the status, and what to tell the caller.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refusal {
    pub status: u16,
    pub reason: String,
    /// Seconds until a locked-out caller may try again.
    pub retry_after: Option<u64>,
}

impl Refusal {
    fn new(status: u16, reason: impl Into<String>) -> Refusal {
        Refusal {
            status,
            reason: reason.into(),
            retry_after: None,
        }
    }
}

/// A session opened by a right code.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Session {
    pub token: String,
    pub expires_in_seconds: u64,
}

impl Access {
    /// Accepts the certificate `admin_cert` (PEM) alone, with the second factor `totp`
    /// when enrolled; audits to `audit_log`, rotated by `rotation`.
    pub fn new(
        admin_cert: &Path,
        totp: Option<Totp>,
        audit_log: &Path,
        rotation: kms::audit::Rotation,
    ) -> Result<Access, String> {
        let admin = fingerprint(admin_cert)?;
        Ok(Access {
            admin,
            state: Mutex::new(State {
                totp,
                sessions: HashMap::new(),
                failures: VecDeque::new(),
            }),
            audit: Audit {
                lines: kms::audit::JsonLines::open_rotating(audit_log, rotation)
                    .map_err(|e| e.to_string())?,
            },
        })
    }

    /// Whether a second factor is required.
    pub fn needs_totp(&self) -> bool {
        self.state().totp.is_some()
    }

    /// Whether `peer`, presenting `bearer`, may do `action` (`METHOD /path`). Refusals
    /// are audited; so is an allowed change (`changes`).
    pub fn check(
        &self,
        peer: Option<&PeerIdentity>,
        bearer: Option<&str>,
        action: &str,
        changes: bool,
    ) -> Result<(), Refusal> {
        let result = self.decide(peer, bearer);
        match &result {
            Err(refusal) => {
                self.audit
                    .record(peer, action, &format!("refused: {}", refusal.reason))
            }
            Ok(()) if changes => self.audit.record(peer, action, "allowed"),
            Ok(()) => {}
        }
        result
    }

    fn decide(&self, peer: Option<&PeerIdentity>, bearer: Option<&str>) -> Result<(), Refusal> {
        self.admin_certificate(peer)?;
        let now = now_ms();
        let mut state = self.state();
        if state.totp.is_none() {
            return Ok(());
        }
        state.sessions.retain(|_, expires| *expires > now);
        match bearer {
            Some(token) if state.sessions.contains_key(token) => Ok(()),
            Some(_) => Err(Refusal::new(
                401,
                "the session is unknown or expired: open one with POST /admin/session",
            )),
            None => Err(Refusal::new(
                401,
                "a second factor is enrolled: open a session with POST /admin/session {\"totp\": \"<code>\"}",
            )),
        }
    }

    fn admin_certificate(&self, peer: Option<&PeerIdentity>) -> Result<(), Refusal> {
        match peer {
            Some(peer) if peer.sha256 == self.admin => Ok(()),
            Some(peer) => Err(Refusal::new(
                403,
                format!(
                    "{} is not the admin certificate",
                    peer.common_name.as_deref().unwrap_or("this certificate")
                ),
            )),
            None => Err(Refusal::new(403, "the admin certificate is required")),
        }
    }

    /// Audits a TLS handshake the endpoint refused (no or another CA's certificate, an
    /// old protocol): such a caller never reaches [`Access::check`].
    pub fn handshake_refused(&self, remote: std::net::SocketAddr, why: &str) {
        self.audit.record(
            None,
            &format!("TLS handshake from {remote}"),
            &format!("refused: {why}"),
        );
    }

    /// Opens a session for `peer` if `code` is right now and the caller is not locked
    /// out. Every outcome is audited; a wrong code counts towards the lock-out.
    pub fn open_session(
        &self,
        peer: Option<&PeerIdentity>,
        code: &str,
    ) -> Result<Session, Refusal> {
        let action = "POST /admin/session";
        let result = self
            .admin_certificate(peer)
            .and_then(|()| self.try_code(code));
        let outcome = match &result {
            Ok(_) => "session opened".to_owned(),
            Err(refusal) => format!("refused: {}", refusal.reason),
        };
        self.audit.record(peer, action, &outcome);
        result
    }

    fn try_code(&self, code: &str) -> Result<Session, Refusal> {
        let now = now_ms();
        let mut state = self.state();
        let State {
            totp,
            sessions,
            failures,
        } = &mut *state;
        let Some(totp) = totp.as_mut() else {
            return Err(Refusal::new(
                409,
                "no second factor is enrolled (threeds admin enrol): the certificate suffices",
            ));
        };
        while failures
            .front()
            .is_some_and(|at| now.saturating_sub(*at) >= FAILURE_WINDOW_MS)
        {
            failures.pop_front();
        }
        if failures.len() >= MAX_FAILURES {
            let oldest = failures.front().copied().unwrap_or(now);
            let wait_ms = (oldest + FAILURE_WINDOW_MS).saturating_sub(now);
            return Err(Refusal {
                status: 429,
                reason: format!(
                    "{MAX_FAILURES} wrong codes in {} minutes: locked",
                    FAILURE_WINDOW_MS / 60_000
                ),
                retry_after: Some(wait_ms.div_ceil(1000)),
            });
        }
        if !totp.accept(code, now / 1000) {
            failures.push_back(now);
            return Err(Refusal::new(
                401,
                format!(
                    "wrong or reused code ({} of {MAX_FAILURES} failures allowed in {} minutes)",
                    failures.len(),
                    FAILURE_WINDOW_MS / 60_000
                ),
            ));
        }
        let token = super::fresh_token();
        sessions.insert(token.clone(), now + SESSION_TTL_MS);
        Ok(Session {
            token,
            expires_in_seconds: SESSION_TTL_MS / 1000,
        })
    }

    fn state(&self) -> std::sync::MutexGuard<'_, State> {
        // A panic while holding the lock leaves consistent data (plain inserts): go on.
        self.state
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

/// The admin endpoint's audit log: one JSON object per line, appended.
#[derive(Debug)]
struct Audit {
    lines: kms::audit::JsonLines,
}

impl Audit {
    fn record(&self, peer: Option<&PeerIdentity>, action: &str, result: &str) {
        self.lines.append(&json!({
            "at": now_ms(),
            "who": peer.map(|p| json!({"commonName": p.common_name, "sha256": p.sha256})),
            "action": action,
            "result": result,
        }));
    }
}

/// Appends `text` to `path`, creating it readable by its owner only.
fn append_private(path: &Path, text: &str) -> std::io::Result<()> {
    let mut options = std::fs::OpenOptions::new();
    options.create(true).append(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    options.open(path)?.write_all(text.as_bytes())
}

/// The SHA-256 of the certificate in the PEM file `path`, as `PeerIdentity` spells it.
fn fingerprint(path: &Path) -> Result<String, String> {
    let chain = pki::tls::load_certs(path).map_err(|e| e.to_string())?;
    PeerIdentity::from_chain(&chain)
        .map(|id| id.sha256)
        .ok_or_else(|| format!("{}: unreadable certificate", path.display()))
}

/// The key the TOTP secret is sealed under: the software master key in `data`, whatever
/// the sandbox's key backend, so enrolling needs nothing but the data directory.
fn sealing_keys(data: &Path) -> Result<kms::SoftwareKeys, String> {
    kms::SoftwareKeys::open_or_create(&data.join(MASTER_KEY)).map_err(|e| e.to_string())
}

/// Enrols a new TOTP secret for the sandbox whose data directory is `data`, sealed
/// under its software master key (made if missing); returns the `otpauth://` URI to load
/// into an authenticator app. Refuses to replace an enrolment unless `replace`.
pub async fn enrol(data: &Path, replace: bool) -> Result<String, String> {
    let path = data.join(TOTP_FILE);
    if path.exists() && !replace {
        return Err(format!(
            "{} exists: a second factor is enrolled already (--force replaces it)",
            path.display()
        ));
    }
    let keys = sealing_keys(data)?;
    let totp = Totp::generate();
    let sealed = kms::envelope::seal(&keys, &totp_context(), totp.secret())
        .await
        .map_err(|e| e.to_string())?;
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent).map_err(|e| format!("{}: {e}", parent.display()))?;
    }
    let _ = std::fs::remove_file(&path);
    append_private(&path, &data_encoding::BASE64.encode(&sealed.to_bytes()))
        .map_err(|e| format!("{}: {e}", path.display()))?;
    Ok(totp.uri("admin", "threeds sandbox"))
}

/// The enrolled TOTP secret of the sandbox whose data directory is `data`, if any.
pub async fn enrolled(data: &Path) -> Result<Option<Totp>, String> {
    let path = data.join(TOTP_FILE);
    let text = match std::fs::read_to_string(&path) {
        Ok(text) => text,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(format!("{}: {e}", path.display())),
    };
    let corrupt = |why: String| format!("{}: {why} (enrol again with --force)", path.display());
    let bytes = data_encoding::BASE64
        .decode(text.trim().as_bytes())
        .map_err(|e| corrupt(e.to_string()))?;
    let sealed = kms::envelope::Sealed::from_bytes(&bytes).map_err(|e| corrupt(e.to_string()))?;
    let secret = kms::envelope::open(&sealing_keys(data)?, &totp_context(), &sealed)
        .await
        .map_err(|e| corrupt(e.to_string()))?;
    Ok(Some(Totp::from_secret(secret.to_vec())))
}

fn totp_context() -> kms::EncryptionContext {
    kms::EncryptionContext::new().with("purpose", "admin-totp")
}

fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
        .unwrap_or(0)
}
