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

/// Reads a JSON Lines trace (what `threeds trace --format json` writes) into a model;
/// the error names the line that is not an event.
pub fn load_file(path: &std::path::Path, capacity: usize) -> Result<Model, String> {
    let text = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
    let mut model = Model::new(capacity);
    for (i, line) in text.lines().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        let event: trace::Event = serde_json::from_str(line).map_err(|e| {
            format!(
                "{}:{}: not a trace event ({e}); write one with `threeds trace --format json`",
                path.display(),
                i + 1
            )
        })?;
        model.ingest(event);
    }
    Ok(model)
}
