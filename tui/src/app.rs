//! The TUI's state beyond the model (what is selected, filtered, shown) and what each
//! key and mouse action does to it. No terminal here: key handling is tested by feeding
//! events to [`App::key`].

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers, MouseButton, MouseEvent, MouseEventKind};
use ratatui::layout::Rect;

use crate::model::{Model, Transaction};

/// Which pane the arrow keys move in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Focus {
    List,
    Diagram,
}

/// What the run loop must do after a key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Command {
    Quit,
    /// Fetch events older than this `seq` from the store.
    LoadOlder(u64),
}

/// Channel filter values, cycled by `c`.
pub const CHANNELS: [&str; 5] = ["", "browser", "app", "3RI", "PReq"];
/// Outcome filter values, cycled by `o`.
pub const OUTCOMES: [&str; 11] = [
    "", "Y", "A", "N", "R", "U", "C", "D", "S", "error", "pending",
];

/// Every key, for the help overlay (and the README).
pub const KEYS: [(&str, &str); 17] = [
    ("↑/↓, j/k", "move in the focused pane"),
    ("PgUp/PgDn", "move ten rows"),
    ("Home/End", "first / last row"),
    ("Tab", "focus the list or the sequence diagram"),
    ("Enter", "from the list, step into the diagram"),
    ("d", "toggle wire form / decoded-decrypted view"),
    ("f", "follow new transactions / pause"),
    (
        "/",
        "filter: type text (card, id, amount, status), Enter keeps, Esc clears",
    ),
    ("c", "cycle the channel filter (browser, app, 3RI, PReq)"),
    (
        "o",
        "cycle the outcome filter (Y A N R U C D S error pending)",
    ),
    (
        "n / N",
        "next / previous message containing the filter text",
    ),
    ("x", "clear every filter"),
    ("J/K", "scroll the detail pane"),
    ("mouse", "click a row to select it, wheel to scroll"),
    ("?", "this help"),
    ("Esc", "close help or the filter prompt"),
    ("q, Ctrl-C", "quit"),
];

/// Where the last frame put things (for the mouse).
#[derive(Debug, Clone, Copy, Default)]
pub struct Areas {
    pub list: Rect,
    pub diagram: Rect,
    /// The first list row shown.
    pub list_offset: usize,
    pub diagram_offset: usize,
}

#[derive(Debug)]
pub struct App {
    pub model: Model,
    /// Where the trace comes from (shown in the title).
    pub source: String,
    pub focus: Focus,
    /// The selected transaction, by id (stable while new ones arrive).
    pub selected: Option<String>,
    pub hop: usize,
    pub decoded: bool,
    pub follow: bool,
    pub help: bool,
    /// Typing a filter.
    pub typing: bool,
    pub text: String,
    pub channel: usize,
    pub outcome: usize,
    pub detail_scroll: u16,
    /// Older events may be in the store.
    pub more_in_store: bool,
    pub status: String,
    /// The live sandbox's trace health (`/admin/status`), when it could be read.
    pub trace_health: Option<sandbox::admin::Status>,
    pub areas: Areas,
}

impl App {
    pub fn new(model: Model, source: impl Into<String>) -> App {
        App {
            model,
            source: source.into(),
            focus: Focus::List,
            selected: None,
            hop: 0,
            decoded: false,
            follow: true,
            help: false,
            typing: false,
            text: String::new(),
            channel: 0,
            outcome: 0,
            detail_scroll: 0,
            more_in_store: false,
            status: String::new(),
            trace_health: None,
            areas: Areas::default(),
        }
    }

    /// The transactions the filters let through, newest first.
    pub fn visible(&self) -> Vec<&Transaction> {
        let needle = self.text.to_lowercase();
        let channel = CHANNELS[self.channel];
        let outcome = OUTCOMES[self.outcome];
        self.model
            .newest_first()
            .filter(|t| channel.is_empty() || t.channel == channel)
            .filter(|t| outcome.is_empty() || t.outcome.key() == outcome)
            .filter(|t| t.matches(&needle))
            .collect()
    }

    /// The index of the selected transaction among the visible ones.
    pub fn selected_index(&self, visible: &[&Transaction]) -> Option<usize> {
        let id = self.selected.as_deref()?;
        visible.iter().position(|t| t.id == id)
    }

    pub fn current(&self) -> Option<&Transaction> {
        self.model.get(self.selected.as_deref()?)
    }

    /// Keeps the selection valid after the model changed (following: the newest).
    pub fn settle(&mut self) {
        let visible = self.visible();
        let first = visible.first().map(|t| t.id.clone());
        let valid = self.selected_index(&visible).is_some();
        if self.follow || !valid {
            if self.selected != first {
                self.hop = 0;
                self.detail_scroll = 0;
            }
            self.selected = first;
        }
        if self.follow
            && let Some(t) = self.current()
        {
            self.hop = t.hops().len().saturating_sub(1);
        }
    }

    fn move_list(&mut self, by: isize) -> Option<Command> {
        let visible = self.visible();
        if visible.is_empty() {
            return None;
        }
        let at = self.selected_index(&visible).unwrap_or(0) as isize;
        let last = visible.len() as isize - 1;
        let to = (at + by).clamp(0, last);
        let id = visible[to as usize].id.clone();
        let past_end = at + by > last;
        drop(visible);
        // Moving down pauses following; back at the top, it stays paused until `f`.
        if by > 0 {
            self.follow = false;
        }
        if self.selected.as_deref() != Some(id.as_str()) {
            self.selected = Some(id);
            self.hop = 0;
            self.detail_scroll = 0;
        }
        if past_end && self.more_in_store {
            return self.model.oldest_seq.map(Command::LoadOlder);
        }
        None
    }

    fn move_hop(&mut self, by: isize) {
        let Some(count) = self.current().map(|t| t.hops().len()) else {
            return;
        };
        if count == 0 {
            return;
        }
        self.follow = false;
        self.hop = (self.hop as isize + by).clamp(0, count as isize - 1) as usize;
        self.detail_scroll = 0;
    }

    fn move_focused(&mut self, by: isize) -> Option<Command> {
        match self.focus {
            Focus::List => self.move_list(by),
            Focus::Diagram => {
                self.move_hop(by);
                None
            }
        }
    }

    /// The next (or previous) hop of the selected transaction whose JSON holds the
    /// filter text.
    fn search(&mut self, forward: bool) {
        let needle = self.text.to_lowercase();
        let Some(t) = self.current() else {
            return;
        };
        if needle.is_empty() {
            return;
        }
        let hops = t.hops();
        let n = hops.len();
        let found = (1..=n).find_map(|step| {
            let i = if forward {
                (self.hop + step) % n
            } else {
                (self.hop + n - step % n) % n
            };
            let hop = &hops[i];
            let text = serde_json::to_string(&hop.main().map(|e| e.as_ref())).unwrap_or_default()
                + &serde_json::to_string(&hop.decoded()).unwrap_or_default();
            text.to_lowercase().contains(&needle).then_some(i)
        });
        match found {
            Some(i) => {
                self.hop = i;
                self.focus = Focus::Diagram;
                self.follow = false;
                self.status.clear();
            }
            None => self.status = format!("no message contains {:?}", self.text),
        }
    }

    /// Acts on a key.
    pub fn key(&mut self, key: KeyEvent) -> Option<Command> {
        if key.modifiers.contains(KeyModifiers::CONTROL) && key.code == KeyCode::Char('c') {
            return Some(Command::Quit);
        }
        if self.typing {
            match key.code {
                KeyCode::Enter => self.typing = false,
                KeyCode::Esc => {
                    self.typing = false;
                    self.text.clear();
                }
                KeyCode::Backspace => {
                    self.text.pop();
                }
                KeyCode::Char(c) => self.text.push(c),
                _ => {}
            }
            self.settle();
            return None;
        }
        if self.help {
            if matches!(key.code, KeyCode::Esc | KeyCode::Char('?' | 'q')) {
                self.help = false;
            }
            return None;
        }
        match key.code {
            KeyCode::Char('q') => Some(Command::Quit),
            KeyCode::Char('?') => {
                self.help = true;
                None
            }
            KeyCode::Down | KeyCode::Char('j') => self.move_focused(1),
            KeyCode::Up | KeyCode::Char('k') => self.move_focused(-1),
            KeyCode::PageDown => self.move_focused(10),
            KeyCode::PageUp => self.move_focused(-10),
            KeyCode::Home => self.move_focused(-1_000_000),
            KeyCode::End => self.move_focused(1_000_000),
            KeyCode::Tab | KeyCode::BackTab => {
                self.focus = match self.focus {
                    Focus::List => Focus::Diagram,
                    Focus::Diagram => Focus::List,
                };
                None
            }
            KeyCode::Enter if self.focus == Focus::List => {
                self.focus = Focus::Diagram;
                self.follow = false;
                None
            }
            KeyCode::Char('d') => {
                self.decoded = !self.decoded;
                self.detail_scroll = 0;
                None
            }
            KeyCode::Char('f') => {
                self.follow = !self.follow;
                self.settle();
                None
            }
            KeyCode::Char('/') => {
                self.typing = true;
                None
            }
            KeyCode::Char('c') => {
                self.channel = (self.channel + 1) % CHANNELS.len();
                self.settle();
                None
            }
            KeyCode::Char('o') => {
                self.outcome = (self.outcome + 1) % OUTCOMES.len();
                self.settle();
                None
            }
            KeyCode::Char('x') => {
                self.channel = 0;
                self.outcome = 0;
                self.text.clear();
                self.settle();
                None
            }
            KeyCode::Char('n') => {
                self.search(true);
                None
            }
            KeyCode::Char('N') => {
                self.search(false);
                None
            }
            KeyCode::Char('J') => {
                self.detail_scroll = self.detail_scroll.saturating_add(5);
                None
            }
            KeyCode::Char('K') => {
                self.detail_scroll = self.detail_scroll.saturating_sub(5);
                None
            }
            _ => None,
        }
    }

    /// Acts on a mouse event (click to select, wheel to scroll).
    pub fn mouse(&mut self, event: MouseEvent) -> Option<Command> {
        let inside = |r: Rect| {
            event.column >= r.x
                && event.column < r.x + r.width
                && event.row > r.y
                && event.row < r.y + r.height.saturating_sub(1)
        };
        match event.kind {
            MouseEventKind::Down(MouseButton::Left) if inside(self.areas.list) => {
                self.focus = Focus::List;
                // The table's first row is its header.
                let row = (event.row - self.areas.list.y).saturating_sub(2) as usize
                    + self.areas.list_offset;
                let id = self.visible().get(row).map(|t| t.id.clone());
                if let Some(id) = id {
                    if self.selected.as_deref() != Some(id.as_str()) {
                        self.hop = 0;
                        self.detail_scroll = 0;
                    }
                    self.selected = Some(id);
                    self.follow = false;
                }
                None
            }
            MouseEventKind::Down(MouseButton::Left) if inside(self.areas.diagram) => {
                self.focus = Focus::Diagram;
                // Row 0 of the diagram is the lane header.
                let row = (event.row - self.areas.diagram.y).saturating_sub(2) as usize
                    + self.areas.diagram_offset;
                let count = self.current().map_or(0, |t| t.hops().len());
                if row < count {
                    self.hop = row;
                    self.follow = false;
                    self.detail_scroll = 0;
                }
                None
            }
            MouseEventKind::ScrollDown if inside(self.areas.diagram) => {
                self.move_hop(1);
                None
            }
            MouseEventKind::ScrollUp if inside(self.areas.diagram) => {
                self.move_hop(-1);
                None
            }
            MouseEventKind::ScrollDown => self.move_list(1),
            MouseEventKind::ScrollUp => self.move_list(-1),
            _ => None,
        }
    }
}
