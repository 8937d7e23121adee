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

/// When an audit log starts a new file: past `max_bytes`, the file is renamed
/// `<name>.1` (an older `.1` becomes `.2`, and so on) and a new one begins; files past
/// `keep` are deleted. So a log takes at most `(keep + 1) × max_bytes`, however long the
/// sandbox runs: the default keeps 16 MiB and three older files, 64 MiB in all.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rotation {
    pub max_bytes: u64,
    pub keep: usize,
}

impl Default for Rotation {
    fn default() -> Rotation {
        Rotation {
            max_bytes: 16 << 20,
            keep: 3,
        }
    }
}

/// An append-only file of JSON lines, owner-only, kept open and rotated by size
/// ([`Rotation`]): what every audit log of the sandbox is written on (this key log, the
/// admin endpoint's).
#[derive(Debug)]
pub struct JsonLines {
    path: PathBuf,
    rotation: Rotation,
    /// The open file and how many bytes it holds.
    file: Mutex<(File, u64)>,
}

impl JsonLines {
    /// Opens (or creates, owner-only, with its directory) the file at `path`, rotated
    /// by the default [`Rotation`].
    pub fn open(path: &Path) -> Result<JsonLines, KeyError> {
        JsonLines::open_rotating(path, Rotation::default())
    }

    /// [`JsonLines::open`], rotated by `rotation`.
    pub fn open_rotating(path: &Path, rotation: Rotation) -> Result<JsonLines, KeyError> {
        let file = open_append(path)?;
        let size = file.metadata().map_or(0, |m| m.len());
        Ok(JsonLines {
            path: path.to_owned(),
            rotation,
            file: Mutex::new((file, size)),
        })
    }

    /// Where the lines go.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Appends `value` as one line, in one `write`, starting a new file first when this
    /// one is full. A line that cannot be written must not pass unnoticed, nor stop what
    /// it records: it goes to standard error.
    pub fn append(&self, value: &serde_json::Value) {
        let mut line = value.to_string();
        line.push('\n');
        let written = match self.file.lock() {
            Ok(mut guard) => {
                let (file, size) = &mut *guard;
                let length = line.len() as u64;
                if *size > 0 && *size + length > self.rotation.max_bytes {
                    match self.rotate() {
                        Ok(fresh) => (*file, *size) = (fresh, 0),
                        Err(e) => {
                            tracing::error!(path = %self.path.display(), error = %e, "audit log: cannot rotate")
                        }
                    }
                }
                let result = file.write_all(line.as_bytes());
                if result.is_ok() {
                    *size += length;
                }
                result
            }
            Err(_) => Err(std::io::Error::other("the lock was poisoned")),
        };
        if let Err(e) = written {
            // The line holds key ids, operations and contexts, never key material.
            tracing::error!(path = %self.path.display(), error = %e, lost = %line.trim_end(), "audit log: a line could not be written");
        }
    }

    /// `<name>.n` → `<name>.n+1` (the last one deleted), the file → `<name>.1`, and a
    /// new file.
    fn rotate(&self) -> std::io::Result<File> {
        let numbered = |n: usize| {
            let mut name = self.path.as_os_str().to_owned();
            name.push(format!(".{n}"));
            PathBuf::from(name)
        };
        if self.rotation.keep == 0 {
            std::fs::remove_file(&self.path)?;
        } else {
            let _ = std::fs::remove_file(numbered(self.rotation.keep));
            for n in (1..self.rotation.keep).rev() {
                let _ = std::fs::rename(numbered(n), numbered(n + 1));
            }
            std::fs::rename(&self.path, numbered(1))?;
        }
        open_append(&self.path).map_err(|e| std::io::Error::other(e.to_string()))
    }
}

/// The file at `path` opened to append (created owner-only, with its directory).
fn open_append(path: &Path) -> Result<File, KeyError> {
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
    options.open(path).map_err(|source| KeyError::Io {
        path: path.to_owned(),
        source,
    })
}

/// The key audit log.
#[derive(Debug)]
pub struct AuditLog {
    who: String,
    lines: JsonLines,
}

impl AuditLog {
    /// Opens (or creates, owner-only) the log at `path`, for operations done by `who`,
    /// rotated by the default [`Rotation`].
    pub fn open(path: &Path, who: &str) -> Result<AuditLog, KeyError> {
        AuditLog::open_rotating(path, who, Rotation::default())
    }

    /// [`AuditLog::open`], rotated by `rotation`.
    pub fn open_rotating(path: &Path, who: &str, rotation: Rotation) -> Result<AuditLog, KeyError> {
        Ok(AuditLog {
            who: who.to_owned(),
            lines: JsonLines::open_rotating(path, rotation)?,
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

#[cfg(test)]
mod tests {
    use super::*;

    /// Past `max_bytes` a new file starts; older ones shift; past `keep` they go. The
    /// log's files together never exceed `(keep + 1) × max_bytes` (plus one line).
    #[test]
    fn a_log_rotates_by_size_and_keeps_a_bounded_number_of_files() {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let path = dir.path().join("audit.jsonl");
        let rotation = Rotation {
            max_bytes: 1_000,
            keep: 2,
        };
        let log = JsonLines::open_rotating(&path, rotation).unwrap_or_else(|e| panic!("{e}"));
        for i in 0..1_000 {
            log.append(&serde_json::json!({ "n": i, "pad": "x".repeat(40) }));
        }
        let mut names: Vec<String> = std::fs::read_dir(dir.path())
            .unwrap_or_else(|e| panic!("{e}"))
            .map(|e| {
                e.unwrap_or_else(|e| panic!("{e}"))
                    .file_name()
                    .to_string_lossy()
                    .into_owned()
            })
            .collect();
        names.sort();
        assert_eq!(names, ["audit.jsonl", "audit.jsonl.1", "audit.jsonl.2"]);
        let total: u64 = names
            .iter()
            .map(|n| std::fs::metadata(dir.path().join(n)).map_or(0, |m| m.len()))
            .sum();
        assert!(total <= 3_000, "{total} bytes");
        // The newest line is in the live file, whole; the previous file ends where it
        // begins, so nothing is split.
        let live = std::fs::read_to_string(&path).unwrap_or_default();
        assert!(live.lines().last().is_some_and(|l| l.contains("\"n\":999")));
        let previous =
            std::fs::read_to_string(dir.path().join("audit.jsonl.1")).unwrap_or_default();
        for line in previous.lines().chain(live.lines()) {
            serde_json::from_str::<serde_json::Value>(line)
                .unwrap_or_else(|e| panic!("{e}: {line}"));
        }
        // Reopened, it counts what the file already holds.
        drop(log);
        let again = JsonLines::open_rotating(&path, rotation).unwrap_or_else(|e| panic!("{e}"));
        again.append(&serde_json::json!({ "n": "after" }));
        assert!(std::fs::metadata(&path).map_or(0, |m| m.len()) <= 1_000);
    }
}
