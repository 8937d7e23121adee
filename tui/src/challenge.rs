//! The app challenge in the terminal (`threeds sdk --interactive`): each screen the ACS
//! sends in a CRes drawn as a native screen would draw it — text/OTP entry, single and
//! multi select, out-of-band, and a readable rendering of an HTML challenge with its
//! form — so a person can play the cardholder. [`ChallengeUi`] is the screen's state,
//! drawing and keys (tested on `TestBackend`); [`InteractiveDriver`] is the SDK's
//! `ChallengeDriver` that takes the terminal for each screen and gives it back.

use std::io;

use crossterm::event::{self, Event as Input, KeyCode, KeyEvent, KeyEventKind, KeyModifiers};
use crossterm::execute;
use crossterm::terminal::{
    EnterAlternateScreen, LeaveAlternateScreen, disable_raw_mode, enable_raw_mode,
};
use ratatui::Frame;
use ratatui::Terminal;
use ratatui::backend::CrosstermBackend;
use ratatui::layout::{Constraint, Direction, Layout, Rect};
use ratatui::style::{Color, Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Paragraph, Wrap};
use sdk::{Action, ChallengeDriver, Screen};

/// A control of an HTML challenge's form.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Control {
    Text {
        form: usize,
        name: String,
        label: String,
        value: String,
    },
    Choice {
        form: usize,
        name: String,
        value: String,
        label: String,
        multi: bool,
        checked: bool,
    },
    Button {
        form: usize,
        name: String,
        value: String,
        label: String,
    },
}

/// An HTML challenge read for the terminal: its text and its form controls.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct HtmlPage {
    pub text: Vec<String>,
    pub controls: Vec<Control>,
}

/// Reads an HTML challenge: visible text (scripts and styles left out, block elements
/// on their own lines) and the controls of its forms, in document order. The page is
/// read by the workspace's one HTML reader (`html_reader`: WHATWG tokenisation, every
/// entity decoded).
pub fn read_html(html: &str) -> HtmlPage {
    use html_reader::Token;
    let mut page = HtmlPage::default();
    let mut line = String::new();
    let mut form = 0;
    let mut skip: Option<String> = None;
    // A choice or button waiting for its label text.
    let mut labelling: Option<usize> = None;
    let flush = |line: &mut String, page: &mut HtmlPage| {
        let text = line.split_whitespace().collect::<Vec<_>>().join(" ");
        if !text.is_empty() {
            page.text.push(text);
        }
        line.clear();
    };
    for token in html_reader::tokens(html) {
        let (name, tag, closing) = match token {
            Token::Text(text) => {
                if skip.is_none() {
                    match labelling {
                        Some(i) => match &mut page.controls[i] {
                            Control::Choice { label, .. } | Control::Button { label, .. } => {
                                label.push_str(&text)
                            }
                            Control::Text { .. } => {}
                        },
                        None => line.push_str(&text),
                    }
                }
                continue;
            }
            Token::Start(tag) => (tag.name.clone(), Some(tag), false),
            Token::End(name) => (name, None, true),
        };
        if let Some(until) = &skip {
            if closing && &name == until {
                skip = None;
            }
            continue;
        }
        let attribute = |attr: &str| {
            tag.as_ref()
                .and_then(|t| t.attribute(attr))
                .map(str::to_owned)
        };
        match (name.as_str(), closing) {
            ("script" | "style" | "title", false) => skip = Some(name.clone()),
            ("form", false) => {
                form += 1;
                flush(&mut line, &mut page);
            }
            ("input", false) => {
                let kind = attribute("type")
                    .unwrap_or_else(|| "text".into())
                    .to_ascii_lowercase();
                let field = attribute("name").unwrap_or_default();
                let value = attribute("value").unwrap_or_default();
                match kind.as_str() {
                    "hidden" => {}
                    "radio" | "checkbox" => {
                        page.controls.push(Control::Choice {
                            form,
                            name: field,
                            value,
                            label: String::new(),
                            multi: kind == "checkbox",
                            checked: false,
                        });
                        labelling = Some(page.controls.len() - 1);
                    }
                    "submit" => page.controls.push(Control::Button {
                        form,
                        name: field,
                        label: value.clone(),
                        value,
                    }),
                    _ => {
                        let label = std::mem::take(&mut line)
                            .split_whitespace()
                            .collect::<Vec<_>>()
                            .join(" ");
                        page.controls.push(Control::Text {
                            form,
                            name: field,
                            label,
                            value,
                        });
                    }
                }
            }
            ("button", false) if attribute("type").as_deref() != Some("button") => {
                page.controls.push(Control::Button {
                    form,
                    name: attribute("name").unwrap_or_default(),
                    value: attribute("value").unwrap_or_default(),
                    label: String::new(),
                });
                labelling = Some(page.controls.len() - 1);
            }
            ("button" | "label", true) => labelling = None,
            (
                "p" | "div" | "h1" | "h2" | "h3" | "li" | "br" | "fieldset" | "legend" | "tr"
                | "dl" | "ul" | "ol" | "table" | "header" | "footer" | "section" | "main",
                _,
            ) => {
                flush(&mut line, &mut page);
            }
            // Inline neighbours read as separate words.
            ("span" | "dt" | "dd" | "td" | "th" | "strong" | "em" | "b" | "img", _) => {
                match labelling {
                    Some(i) => {
                        if let Control::Choice { label, .. } | Control::Button { label, .. } =
                            &mut page.controls[i]
                        {
                            label.push(' ');
                        }
                    }
                    None => line.push(' '),
                }
            }
            _ => {}
        }
    }
    flush(&mut line, &mut page);
    for control in &mut page.controls {
        if let Control::Choice { label, .. } | Control::Button { label, .. } = control {
            *label = label.split_whitespace().collect::<Vec<_>>().join(" ");
        }
    }
    page
}

fn encode(text: &str) -> String {
    let mut out = String::new();
    for b in text.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                out.push(b as char)
            }
            b' ' => out.push('+'),
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}

/// One challenge screen's state.
#[derive(Debug, Clone)]
pub struct ChallengeUi {
    pub screen: Screen,
    /// Typed text (text screens).
    pub input: String,
    /// The highlighted option or control.
    pub cursor: usize,
    /// Ticked options (select screens).
    pub checked: Vec<bool>,
    /// The HTML challenge, read (HTML screens).
    pub html: Option<HtmlPage>,
}

impl ChallengeUi {
    pub fn new(screen: &Screen) -> ChallengeUi {
        ChallengeUi {
            screen: screen.clone(),
            input: String::new(),
            cursor: 0,
            checked: vec![false; screen.options.len()],
            html: screen.html.as_deref().map(read_html),
        }
    }

    fn kind(&self) -> &str {
        self.screen.ui_type.as_str()
    }

    /// What a key does; `Some` when the cardholder is done with this screen.
    pub fn key(&mut self, key: KeyEvent) -> Option<Action> {
        let ctrl = key.modifiers.contains(KeyModifiers::CONTROL);
        match key.code {
            KeyCode::Esc => return Some(Action::Cancel),
            KeyCode::Char('c') if ctrl => return Some(Action::Cancel),
            KeyCode::Char('t') if ctrl => return Some(Action::Wait),
            KeyCode::Char('r') if ctrl && self.screen.resend_label.is_some() => {
                return Some(Action::Resend);
            }
            _ => {}
        }
        match self.kind() {
            "02" | "03" => self.select_key(key),
            "04" => matches!(key.code, KeyCode::Enter).then_some(Action::Continue),
            "05" => self.html_key(key),
            _ => match key.code {
                KeyCode::Enter => Some(Action::Text(self.input.clone())),
                KeyCode::Backspace => {
                    self.input.pop();
                    None
                }
                KeyCode::Char(c) if !ctrl => {
                    self.input.push(c);
                    None
                }
                _ => None,
            },
        }
    }

    fn select_key(&mut self, key: KeyEvent) -> Option<Action> {
        let n = self.screen.options.len();
        let multi = self.kind() == "03";
        match key.code {
            KeyCode::Up | KeyCode::Char('k') => self.cursor = self.cursor.saturating_sub(1),
            KeyCode::Down | KeyCode::Char('j') => {
                self.cursor = (self.cursor + 1).min(n.saturating_sub(1))
            }
            KeyCode::Char(' ') if n > 0 => {
                if multi {
                    self.checked[self.cursor] = !self.checked[self.cursor];
                } else {
                    self.checked = vec![false; n];
                    self.checked[self.cursor] = true;
                }
            }
            KeyCode::Enter => {
                if !multi && !self.checked.contains(&true) && n > 0 {
                    self.checked[self.cursor] = true;
                }
                let chosen = self
                    .screen
                    .options
                    .iter()
                    .zip(&self.checked)
                    .filter(|(_, c)| **c)
                    .map(|((value, _), _)| value.clone())
                    .collect();
                return Some(Action::Select(chosen));
            }
            _ => {}
        }
        None
    }

    fn html_key(&mut self, key: KeyEvent) -> Option<Action> {
        let page = self.html.as_mut()?;
        let n = page.controls.len();
        if n == 0 {
            return None;
        }
        match key.code {
            KeyCode::Tab | KeyCode::Down => self.cursor = (self.cursor + 1) % n,
            KeyCode::BackTab | KeyCode::Up => self.cursor = (self.cursor + n - 1) % n,
            KeyCode::Enter => {
                // Enter on a field submits its form with its first button.
                let at = self.cursor;
                let form = match &page.controls[at] {
                    Control::Text { form, .. }
                    | Control::Choice { form, .. }
                    | Control::Button { form, .. } => *form,
                };
                let pressed = match &page.controls[at] {
                    Control::Button { .. } => at,
                    _ => page
                        .controls
                        .iter()
                        .position(|c| matches!(c, Control::Button { form: f, .. } if *f == form))?,
                };
                let mut pairs = Vec::new();
                for (i, control) in page.controls.iter().enumerate() {
                    match control {
                        Control::Text {
                            form: f,
                            name,
                            value,
                            ..
                        } if *f == form => pairs.push((name, value)),
                        Control::Choice {
                            form: f,
                            name,
                            value,
                            checked: true,
                            ..
                        } if *f == form => {
                            pairs.push((name, value));
                        }
                        Control::Button { name, value, .. } if i == pressed && !name.is_empty() => {
                            pairs.push((name, value));
                        }
                        _ => {}
                    }
                }
                let data = pairs
                    .iter()
                    .map(|(k, v)| format!("{}={}", encode(k), encode(v)))
                    .collect::<Vec<_>>()
                    .join("&");
                return Some(Action::HtmlForm(data));
            }
            KeyCode::Char(' ') if matches!(page.controls[self.cursor], Control::Choice { .. }) => {
                let at = self.cursor;
                let (name, multi) = match &page.controls[at] {
                    Control::Choice { name, multi, .. } => (name.clone(), *multi),
                    _ => return None,
                };
                for (i, control) in page.controls.iter_mut().enumerate() {
                    if let Control::Choice {
                        name: n, checked, ..
                    } = control
                    {
                        if i == at {
                            *checked = !*checked || !multi;
                        } else if !multi && *n == name {
                            *checked = false;
                        }
                    }
                }
            }
            KeyCode::Backspace => {
                if let Control::Text { value, .. } = &mut page.controls[self.cursor] {
                    value.pop();
                }
            }
            KeyCode::Char(c) => {
                if let Control::Text { value, .. } = &mut page.controls[self.cursor] {
                    value.push(c);
                }
            }
            _ => {}
        }
        None
    }

    /// Draws the screen.
    pub fn draw(&self, frame: &mut Frame<'_>) {
        let area = frame.area();
        let width = area.width.min(72);
        let screen = Rect {
            x: area.x + (area.width - width) / 2,
            y: area.y,
            width,
            height: area.height,
        };
        let parts = Layout::default()
            .direction(Direction::Vertical)
            .constraints([Constraint::Min(3), Constraint::Length(1)])
            .split(screen);
        let title = match self.kind() {
            "01" => " Text challenge (acsUiType 01) ",
            "02" => " Single select (acsUiType 02) ",
            "03" => " Multi select (acsUiType 03) ",
            "04" => " Out of band (acsUiType 04) ",
            "05" => " HTML challenge (acsUiType 05), read for the terminal ",
            _ => " Challenge ",
        };
        let mut lines = Vec::new();
        let bold = Style::default().add_modifier(Modifier::BOLD);
        if let Some(header) = &self.screen.header {
            lines.push(Line::styled(header.clone(), bold));
            lines.push(Line::raw(""));
        }
        if let Some(text) = &self.screen.text {
            lines.push(Line::raw(text.clone()));
            lines.push(Line::raw(""));
        }
        if let Some(label) = &self.screen.label {
            lines.push(Line::styled(
                label.clone(),
                Style::default().fg(Color::Cyan),
            ));
        }
        let hint = match self.kind() {
            "02" | "03" => {
                let multi = self.kind() == "03";
                for (i, ((_, label), checked)) in
                    self.screen.options.iter().zip(&self.checked).enumerate()
                {
                    let mark = match (multi, checked) {
                        (true, true) => "[x]",
                        (true, false) => "[ ]",
                        (false, true) => "(•)",
                        (false, false) => "( )",
                    };
                    let style = if i == self.cursor {
                        Style::default().add_modifier(Modifier::REVERSED)
                    } else {
                        Style::default()
                    };
                    lines.push(Line::styled(format!(" {mark} {label}"), style));
                }
                button(&mut lines, self.screen.submit_label.as_deref());
                "↑↓ move · Space choose · Enter submit · Esc cancel · Ctrl-T let it time out"
            }
            "04" => {
                button(&mut lines, self.screen.oob_continue_label.as_deref());
                "approve in the issuer app, then Enter · Esc cancel · Ctrl-T let it time out"
            }
            "05" => {
                self.html_lines(&mut lines);
                "Tab/↑↓ move · type into fields · Space choose · Enter submit the form · Esc cancel"
            }
            _ => {
                lines.push(Line::from(vec![
                    Span::raw(" > "),
                    Span::styled(
                        format!("{}▏", self.input),
                        Style::default().add_modifier(Modifier::UNDERLINED),
                    ),
                ]));
                button(&mut lines, self.screen.submit_label.as_deref());
                if let Some(resend) = &self.screen.resend_label {
                    lines.push(Line::styled(
                        format!(" Ctrl-R: {resend}"),
                        Style::default().fg(Color::DarkGray),
                    ));
                }
                "type the code · Enter submit · Ctrl-R resend · Esc cancel · Ctrl-T let it time out"
            }
        };
        frame.render_widget(
            Paragraph::new(lines)
                .wrap(Wrap { trim: false })
                .block(Block::default().borders(Borders::ALL).title(title)),
            parts[0],
        );
        frame.render_widget(
            Paragraph::new(Line::styled(hint, Style::default().fg(Color::DarkGray))),
            parts[1],
        );
    }

    fn html_lines(&self, lines: &mut Vec<Line<'static>>) {
        let Some(page) = &self.html else {
            return;
        };
        for text in &page.text {
            lines.push(Line::raw(text.clone()));
        }
        lines.push(Line::raw(""));
        for (i, control) in page.controls.iter().enumerate() {
            let style = if i == self.cursor {
                Style::default().add_modifier(Modifier::REVERSED)
            } else {
                Style::default()
            };
            let text = match control {
                Control::Text { label, value, .. } => format!(" {label}: [{value:<12}]"),
                Control::Choice {
                    label,
                    checked,
                    multi,
                    ..
                } => {
                    let mark = match (multi, checked) {
                        (true, true) => "[x]",
                        (true, false) => "[ ]",
                        (false, true) => "(•)",
                        (false, false) => "( )",
                    };
                    format!(" {mark} {label}")
                }
                Control::Button { label, .. } => format!(" [ {label} ]"),
            };
            lines.push(Line::styled(text, style));
        }
    }
}

fn button(lines: &mut Vec<Line<'static>>, label: Option<&str>) {
    lines.push(Line::raw(""));
    lines.push(Line::styled(
        format!(" [ {} ]  (Enter)", label.unwrap_or("Submit")),
        Style::default()
            .fg(Color::Green)
            .add_modifier(Modifier::BOLD),
    ));
}

/// The SDK's challenge driver for a person at the terminal: each screen takes the
/// terminal (alternate screen, raw mode) until it is answered, then gives it back so
/// the CReq and CRes the CLI prints land on the normal screen.
#[derive(Debug, Default)]
pub struct InteractiveDriver;

impl ChallengeDriver for InteractiveDriver {
    /// Takes the terminal where it is: the CLI runs the SDK on a one-thread runtime of
    /// its own, with nothing else to run while a person answers.
    fn act<'a>(&'a mut self, screen: &'a Screen) -> sdk::Answer<'a> {
        sdk::answer_now(InteractiveDriver::ask(screen))
    }
}

impl InteractiveDriver {
    fn ask(screen: &Screen) -> Action {
        let mut ui = ChallengeUi::new(screen);
        if enable_raw_mode().is_err() {
            return Action::Cancel;
        }
        let _ = execute!(io::stdout(), EnterAlternateScreen);
        let action = (|| -> io::Result<Action> {
            let mut terminal = Terminal::new(CrosstermBackend::new(io::stdout()))?;
            loop {
                terminal.draw(|frame| ui.draw(frame))?;
                if let Input::Key(key) = event::read()?
                    && key.kind != KeyEventKind::Release
                    && let Some(action) = ui.key(key)
                {
                    return Ok(action);
                }
            }
        })()
        .unwrap_or(Action::Cancel);
        let _ = execute!(io::stdout(), LeaveAlternateScreen);
        let _ = disable_raw_mode();
        action
    }
}
