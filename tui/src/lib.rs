//! The terminal UI (`threeds tui`): every 3DS transaction of a running sandbox as it
//! happens, or of a saved trace file, hop by hop.
//!
//! - `model`: trace events grouped into transactions (bounded window) and hops;
//! - `app`: selection, filters, follow/pause, and what each key and click does;
//! - `view`: one frame — the list, the sequence diagram, the message in detail;
//! - `terminal`: the run loop (raw mode, the alternate screen, the live feed from the
//!   admin endpoint, paging older events from the store), restoring the terminal on
//!   every way out. The TUI never prints logs to the terminal it draws on;
//! - `challenge`: the app challenge's native screens in the terminal, for
//!   `threeds sdk --interactive`.

pub mod app;
pub mod challenge;
pub mod model;
pub mod terminal;
pub mod view;

pub use app::App;
pub use model::Model;
pub use terminal::{Source, run};

/// Transactions kept in memory (older ones are paged from the store on demand).
pub const WINDOW: usize = 10_000;

/// The longest line [`load_file`] reads: far above any event the sandbox writes (bodies
/// are bounded by the endpoints' limits), so a longer one is not a trace.
pub const MAX_LINE: usize = 8 << 20;

/// Reads a JSON Lines trace (what `threeds trace --format json` writes) into a model,
/// a line at a time (memory is the model's window, not the file's size); the error
/// names the line that is not an event.
pub fn load_file(path: &std::path::Path, capacity: usize) -> Result<Model, String> {
    use std::io::{BufRead, Read};
    let at = |line: usize| format!("{}:{line}", path.display());
    let file = std::fs::File::open(path).map_err(|e| format!("{}: {e}", path.display()))?;
    let mut reader = std::io::BufReader::new(file);
    let mut model = Model::new(capacity);
    let mut line = Vec::new();
    for number in 1.. {
        line.clear();
        let read = (&mut reader)
            .take(MAX_LINE as u64 + 1)
            .read_until(b'\n', &mut line)
            .map_err(|e| format!("{}: {e}", at(number)))?;
        if read == 0 {
            break;
        }
        if line.len() > MAX_LINE {
            return Err(format!(
                "{}: a line longer than {} MiB is not a trace event",
                at(number),
                MAX_LINE >> 20
            ));
        }
        if line.iter().all(u8::is_ascii_whitespace) {
            continue;
        }
        let event: trace::Event = serde_json::from_slice(&line).map_err(|e| {
            format!(
                "{}: not a trace event ({e}); write one with `threeds trace --format json`",
                at(number)
            )
        })?;
        model.ingest(event);
    }
    Ok(model)
}
