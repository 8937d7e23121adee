//! The key audit log: one JSON line per key operation, for either backend — `at` (Unix
//! ms), `who` (the process's role: `sandbox`, a component), `operation` (KMS's names:
//! `GenerateDataKey`, `Decrypt`, `GenerateMac`, `Sign`, `GetPublicKey`), `purpose` (a
//! data key's table, a MAC's purpose label), `keyId`, `via` (where the key was: [`Via`])
//! and `result` (`ok` or `failed: why`).
//!
//! [`JsonLines`], the file under it, is shared with the admin endpoint's audit: opened
//! once (append, owner-only), each line one `write` under a lock, so a line is in the
//! file when the operation returns, at the cost of a system call (no `fsync`): cheap
//! beside the sealing it records. A line that cannot be written goes to standard error
//! rather than stopping the operation.

use std::fs::File;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::{SystemTime, UNIX_EPOCH};

use crate::{EncryptionContext, KeyError};

/// Where the key of an operation was.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Via {
    /// A call to the key management service.
    Kms,
    /// A data key the process got from KMS earlier and reused (the bounded cache).
    Cache,
    /// A key held in the process: the software backend's, or a digest key derived
    /// from KMS once.
    Local,
}

impl Via {
    fn as_str(self) -> &'static str {
        match self {
            Via::Kms => "kms",
            Via::Cache => "cache",
            Via::Local => "local",
        }
    }
}

/// An append-only file of JSON lines, owner-only, kept open: what every audit log of
/// the sandbox is written on (this key log, the admin endpoint's).
#[derive(Debug)]
pub struct JsonLines {
    path: PathBuf,
    file: Mutex<File>,
}

impl JsonLines {
    /// Opens (or creates, owner-only, with its directory) the file at `path`.
    pub fn open(path: &Path) -> Result<JsonLines, KeyError> {
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir).map_err(|source| KeyError::Io {
                path: dir.to_owned(),
                source,
            })?;
        }
        let mut options = std::fs::OpenOptions::new();
        options.create(true).append(true);
        #[cfg(unix)]
        {
            use std::os::unix::fs::OpenOptionsExt;
            options.mode(0o600);
        }
        let file = options.open(path).map_err(|source| KeyError::Io {
            path: path.to_owned(),
            source,
        })?;
        Ok(JsonLines {
            path: path.to_owned(),
            file: Mutex::new(file),
        })
    }

    /// Where the lines go.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Appends `value` as one line, in one `write`. A line that cannot be written must
    /// not pass unnoticed, nor stop what it records: it goes to standard error.
    pub fn append(&self, value: &serde_json::Value) {
        let mut line = value.to_string();
        line.push('\n');
        let written = match self.file.lock() {
            Ok(mut file) => file.write_all(line.as_bytes()),
            Err(_) => Err(std::io::Error::other("the lock was poisoned")),
        };
        if let Err(e) = written {
            eprintln!("audit: {}: {e}; lost: {line}", self.path.display());
        }
    }
}

/// The key audit log.
#[derive(Debug)]
pub struct AuditLog {
    who: String,
    lines: JsonLines,
}

impl AuditLog {
    /// Opens (or creates, owner-only) the log at `path`, for operations done by `who`.
    pub fn open(path: &Path, who: &str) -> Result<AuditLog, KeyError> {
        Ok(AuditLog {
            who: who.to_owned(),
            lines: JsonLines::open(path)?,
        })
    }

    /// Where the lines go.
    pub fn path(&self) -> &Path {
        self.lines.path()
    }

    /// Appends one operation's line: `failed` says why it failed, `None` if it did not.
    pub fn record(
        &self,
        operation: &str,
        purpose: &str,
        key_id: &str,
        via: Via,
        failed: Option<&str>,
    ) {
        let at = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_millis());
        let result = match failed {
            None => "ok".to_owned(),
            Some(why) => format!("failed: {why}"),
        };
        self.lines.append(&serde_json::json!({
            "at": at,
            "who": self.who,
            "operation": operation,
            "purpose": purpose,
            "keyId": key_id,
            "via": via.as_str(),
            "result": result,
        }));
    }
}

/// The purpose a data key is audited under: its context without the record id, which
/// is what one data key may serve (the table).
pub(crate) fn data_key_purpose(context: &EncryptionContext) -> String {
    let pairs: Vec<String> = context
        .shared()
        .pairs()
        .map(|(k, v)| format!("{k}={v}"))
        .collect();
    format!("data key ({})", pairs.join(", "))
}
