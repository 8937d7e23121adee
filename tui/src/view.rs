//! Drawing one frame: the title, the transaction list, the selected transaction's
//! sequence diagram (one lane per party, an arrow per message) and the selected
//! message in detail (wire form or decoded/decrypted, JSON highlighted), the key bar,
//! and the help overlay. Only what is on screen is built, so a frame costs the same with
//! ten transactions or ten thousand.

use ratatui::Frame;
use ratatui::layout::{Constraint, Direction, Layout, Rect};
use ratatui::style::{Color, Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Cell, Clear, Paragraph, Row, Table, Wrap};
use trace::{Party, format_time, short_id};

use crate::app::{App, CHANNELS, Focus, KEYS, OUTCOMES};
use crate::model::{Hop, Outcome, Transaction};

/// The lanes, left to right (the SDK shares the browser's).
const LANES: [(Party, &str); 5] = [
    (Party::Browser, "browser/SDK"),
    (Party::Merchant, "merchant"),
    (Party::ThreeDsServer, "3DS Server"),
    (Party::Ds, "DS"),
    (Party::Acs, "ACS"),
];

fn lane(party: Party) -> usize {
    match party {
        Party::Browser | Party::Sdk => 0,
        Party::Merchant => 1,
        Party::ThreeDsServer => 2,
        Party::Ds => 3,
        Party::Acs => 4,
    }
}

fn outcome_style(outcome: &Outcome) -> Style {
    let color = match outcome {
        Outcome::Pending => Color::DarkGray,
        Outcome::Error(_) => Color::Red,
        Outcome::Status(s) => match s.as_str() {
            "Y" => Color::Green,
            "A" => Color::Cyan,
            "N" | "R" => Color::Red,
            "U" => Color::Yellow,
            "C" | "D" => Color::Blue,
            "S" => Color::Magenta,
            _ => Color::White,
        },
    };
    Style::default().fg(color)
}

fn message_style(label: &str) -> Style {
    let color = match label {
        "AReq" | "ARes" => Color::Cyan,
        "CReq" | "CRes" => Color::Yellow,
        "RReq" | "RRes" => Color::Magenta,
        "PReq" | "PRes" => Color::Blue,
        "Erro" => Color::Red,
        _ => Color::Gray,
    };
    Style::default().fg(color)
}

/// A drawn buffer as plain text, one line per row (snapshots, benchmarks).
pub fn text_of(buffer: &ratatui::buffer::Buffer) -> String {
    let mut out =
        String::with_capacity(usize::from(buffer.area.width + 1) * usize::from(buffer.area.height));
    for y in 0..buffer.area.height {
        for x in 0..buffer.area.width {
            out.push_str(buffer[(x, y)].symbol());
        }
        out.push('\n');
    }
    out
}

/// Draws the whole frame.
pub fn draw(frame: &mut Frame<'_>, app: &mut App) {
    let area = frame.area();
    let rows = Layout::default()
        .direction(Direction::Vertical)
        .constraints([
            Constraint::Length(1),
            Constraint::Min(3),
            Constraint::Length(1),
        ])
        .split(area);
    title(frame, app, rows[0]);
    let body = rows[1];
    let (list, diagram, detail) = if body.width >= 120 {
        let cols = Layout::default()
            .direction(Direction::Horizontal)
            .constraints([Constraint::Percentage(46), Constraint::Percentage(54)])
            .split(body);
        let right = Layout::default()
            .direction(Direction::Vertical)
            .constraints([Constraint::Percentage(50), Constraint::Percentage(50)])
            .split(cols[1]);
        (cols[0], right[0], right[1])
    } else {
        let parts = Layout::default()
            .direction(Direction::Vertical)
            .constraints([
                Constraint::Percentage(34),
                Constraint::Percentage(33),
                Constraint::Percentage(33),
            ])
            .split(body);
        (parts[0], parts[1], parts[2])
    };
    app.areas.list = list;
    app.areas.diagram = diagram;
    transactions(frame, app, list);
    let hops = app.current().map(Transaction::hops).unwrap_or_default();
    sequence(frame, app, &hops, diagram);
    details(frame, app, &hops, detail);
    footer(frame, app, rows[2]);
    if app.help {
        help(frame, area);
    }
}

fn title(frame: &mut Frame<'_>, app: &App, area: Rect) {
    let mut spans = vec![
        Span::styled(
            " threeds ",
            Style::default().add_modifier(Modifier::BOLD | Modifier::REVERSED),
        ),
        Span::raw(format!(
            " {} · {} transactions ",
            app.source,
            app.model.len()
        )),
        if app.follow {
            Span::styled("● following", Style::default().fg(Color::Green))
        } else {
            Span::styled("‖ paused", Style::default().fg(Color::Yellow))
        },
    ];
    if let Some(health) = &app.trace_health {
        let warning = Style::default().fg(Color::Red).add_modifier(Modifier::BOLD);
        if health.lost() > 0 {
            spans.push(Span::styled(
                format!("  ⚠ trace: {} events not stored", health.lost()),
                warning,
            ));
        } else if health.store_error.is_some() {
            spans.push(Span::styled("  ⚠ trace store unreadable", warning));
        }
    }
    let mut filters = Vec::new();
    if app.channel != 0 {
        filters.push(format!("channel={}", CHANNELS[app.channel]));
    }
    if app.outcome != 0 {
        filters.push(format!("outcome={}", OUTCOMES[app.outcome]));
    }
    if !app.text.is_empty() {
        filters.push(format!("text={:?}", app.text));
    }
    if !filters.is_empty() {
        spans.push(Span::styled(
            format!("  filter: {}", filters.join(" ")),
            Style::default().fg(Color::Cyan),
        ));
    }
    frame.render_widget(Paragraph::new(Line::from(spans)), area);
}

fn pane(title: String, focused: bool) -> Block<'static> {
    let style = if focused {
        Style::default().fg(Color::Cyan)
    } else {
        Style::default().fg(Color::DarkGray)
    };
    Block::default()
        .borders(Borders::ALL)
        .border_style(style)
        .title(Span::styled(
            title,
            Style::default().add_modifier(Modifier::BOLD),
        ))
}

fn transactions(frame: &mut Frame<'_>, app: &mut App, area: Rect) {
    let visible = app.visible();
    let block = pane(
        format!(" Transactions ({}) ", visible.len()),
        app.focus == Focus::List,
    );
    let inner_height = area.height.saturating_sub(3) as usize;
    if visible.is_empty() {
        let text = if app.model.is_empty() {
            "No transactions yet. Pay in the shop, or run `threeds sdk --card <PAN>` with a card of `threeds cards`: \
             each authentication appears here as it happens."
        } else {
            "No transaction matches the filters (x clears them)."
        };
        frame.render_widget(
            Paragraph::new(text).wrap(Wrap { trim: true }).block(block),
            area,
        );
        return;
    }
    let selected = app.selected_index(&visible);
    let mut offset = app.areas.list_offset.min(visible.len().saturating_sub(1));
    if let Some(s) = selected {
        if s < offset {
            offset = s;
        } else if inner_height > 0 && s >= offset + inner_height {
            offset = s + 1 - inner_height;
        }
    }
    let wide = area.width >= 70;
    let rows: Vec<Row<'_>> = visible
        .iter()
        .enumerate()
        .skip(offset)
        .take(inner_height.max(1))
        .map(|(i, t)| {
            let time = format_time(t.first_at);
            let mut cells = vec![
                Cell::from(time.get(..8).unwrap_or(&time).to_owned()),
                Cell::from(t.channel.clone()),
            ];
            if wide {
                cells.push(Cell::from(t.scheme.clone()));
            }
            cells.push(Cell::from(t.card.clone()));
            cells.push(Cell::from(t.amount.clone()));
            if wide {
                cells.push(Cell::from(t.version.clone()));
            }
            cells.push(Cell::from(t.outcome.label()).style(outcome_style(&t.outcome)));
            cells.push(Cell::from(format!("{:>5}", t.duration_ms())));
            let mut row = Row::new(cells);
            if Some(i) == selected {
                row = row.style(Style::default().add_modifier(Modifier::REVERSED));
            }
            row
        })
        .collect();
    app.areas.list_offset = offset;
    let (header, widths): (Vec<&str>, Vec<Constraint>) = if wide {
        (
            vec![
                "time", "channel", "scheme", "card", "amount", "ver", "status", "ms",
            ],
            vec![
                Constraint::Length(8),
                Constraint::Length(7),
                Constraint::Length(6),
                Constraint::Length(16),
                Constraint::Length(10),
                Constraint::Length(5),
                Constraint::Length(8),
                Constraint::Length(5),
            ],
        )
    } else {
        (
            vec!["time", "channel", "card", "amount", "status", "ms"],
            vec![
                Constraint::Length(8),
                Constraint::Length(7),
                Constraint::Length(16),
                Constraint::Length(10),
                Constraint::Length(8),
                Constraint::Length(5),
            ],
        )
    };
    let table = Table::new(rows, widths)
        .header(
            Row::new(header)
                .style(Style::default().add_modifier(Modifier::BOLD | Modifier::UNDERLINED)),
        )
        .block(block);
    frame.render_widget(table, area);
}

/// One row of the diagram as characters, with the span of the arrow for styling.
fn arrow_row(width: usize, xs: &[usize], hop: &Hop) -> (Vec<char>, Option<(usize, usize)>) {
    let mut row = vec![' '; width];
    for &x in xs {
        if x < width {
            row[x] = '│';
        }
    }
    let put = |row: &mut Vec<char>, at: usize, text: &str| {
        for (i, c) in text.chars().enumerate() {
            if at + i < row.len() {
                row[at + i] = c;
            }
        }
    };
    let mut label = hop.label.clone();
    if let Some(v) = hop.main().and_then(|e| e.message_version.clone()) {
        label.push(' ');
        label.push_str(&v);
    }
    if let Some(ms) = hop.duration_ms() {
        label.push_str(&format!(" {ms}ms"));
    }
    if !hop.findings().is_empty() {
        label.push_str(" !");
    }
    match (hop.note.as_ref(), hop.from, hop.to) {
        (Some(note), _, _) => {
            let x = xs[lane(note.observer)];
            if x < width {
                row[x] = '●';
            }
            let text = format!(" {label}");
            let len = text.chars().count();
            let at = if x + 1 + len <= width {
                x + 1
            } else {
                x.saturating_sub(len)
            };
            put(&mut row, at, &text);
            (row, None)
        }
        (None, Some(from), Some(to)) => {
            let (a, b) = (xs[lane(from)], xs[lane(to)]);
            let (left, right) = (a.min(b), a.max(b));
            for cell in row.iter_mut().take(right.min(width)).skip(left + 1) {
                *cell = '─';
            }
            if a < b {
                if right >= 1 && right - 1 < width {
                    row[right - 1] = '▶';
                }
            } else if left + 1 < width {
                row[left + 1] = '◀';
            }
            let text = format!(" {label} ");
            let span = right.saturating_sub(left);
            let len = text.chars().count();
            let at = if len + 4 <= span {
                // On the arrow, centred.
                left + 2 + (span - 2 - len) / 2
            } else if right + 1 + len <= width {
                // Too long for the arrow: beside it, on the right.
                right + 1
            } else {
                left.saturating_sub(len)
            };
            put(&mut row, at, &text);
            // The head stays visible whatever the label covered.
            if a < b {
                if right >= 1 && right - 1 < width {
                    row[right - 1] = '▶';
                }
            } else if left + 1 < width {
                row[left + 1] = '◀';
            }
            (row, Some((left, right)))
        }
        _ => {
            put(&mut row, 0, &format!(" {label}"));
            (row, None)
        }
    }
}

fn sequence(frame: &mut Frame<'_>, app: &mut App, hops: &[Hop], area: Rect) {
    let title = match app.current() {
        Some(t) if t.omitted > 0 => format!(
            " Sequence · {} · {} hops · {} more events not kept ",
            short_id(&t.id),
            hops.len(),
            t.omitted
        ),
        Some(t) => format!(" Sequence · {} · {} hops ", short_id(&t.id), hops.len()),
        None => " Sequence ".into(),
    };
    let block = pane(title, app.focus == Focus::Diagram);
    let inner = block.inner(area);
    frame.render_widget(block, area);
    let width = inner.width as usize;
    if width < 10 || inner.height < 2 {
        return;
    }
    let step = width / LANES.len();
    let xs: Vec<usize> = (0..LANES.len()).map(|i| i * step + step / 2).collect();
    let mut header = vec![' '; width];
    for ((_, name), &x) in LANES.iter().zip(&xs) {
        let name: String = name.chars().take(step.saturating_sub(1).max(1)).collect();
        let len = name.chars().count();
        let at = x.saturating_sub(len / 2);
        for (i, c) in name.chars().enumerate() {
            if at + i < width {
                header[at + i] = c;
            }
        }
    }
    let mut lines = vec![Line::styled(
        header.into_iter().collect::<String>(),
        Style::default().add_modifier(Modifier::BOLD),
    )];
    let rows = inner.height as usize - 1;
    let selected = app.hop.min(hops.len().saturating_sub(1));
    let mut offset = app.areas.diagram_offset.min(hops.len().saturating_sub(1));
    if selected < offset {
        offset = selected;
    } else if rows > 0 && selected >= offset + rows {
        offset = selected + 1 - rows;
    }
    app.areas.diagram_offset = offset;
    for (i, hop) in hops.iter().enumerate().skip(offset).take(rows) {
        let (chars, _) = arrow_row(width, &xs, hop);
        let mut style = if hop.note.is_some() {
            Style::default().fg(Color::DarkGray)
        } else {
            message_style(
                hop.main()
                    .and_then(|e| e.message_type.as_deref())
                    .unwrap_or(""),
            )
        };
        if !hop.findings().is_empty() {
            style = style.fg(Color::Red);
        }
        if i == selected {
            style = style.add_modifier(Modifier::REVERSED);
        }
        lines.push(Line::styled(chars.into_iter().collect::<String>(), style));
    }
    if hops.is_empty() {
        lines.push(Line::raw(" (select a transaction)"));
    }
    frame.render_widget(Paragraph::new(lines), inner);
}

/// Pretty JSON, highlighted: keys, strings, numbers, literals.
pub fn highlight(value: &serde_json::Value) -> Vec<Line<'static>> {
    let text = serde_json::to_string_pretty(value).unwrap_or_default();
    text.lines()
        .map(|line| {
            let indent = line.len() - line.trim_start().len();
            let rest = line.trim_start();
            let mut spans = vec![Span::raw(" ".repeat(indent))];
            let (key, value) = match rest
                .strip_prefix('"')
                .and_then(|r| r.find("\": ").map(|i| (i, r)))
            {
                Some((i, r)) => (Some(&r[..i]), &r[i + 3..]),
                None => (None, rest),
            };
            if let Some(key) = key {
                spans.push(Span::styled(
                    format!("\"{key}\""),
                    Style::default().fg(Color::Cyan),
                ));
                spans.push(Span::raw(": "));
            }
            let style = if value.starts_with('"') {
                Style::default().fg(Color::Green)
            } else if value.starts_with(|c: char| c.is_ascii_digit() || c == '-') {
                Style::default().fg(Color::Yellow)
            } else if value.starts_with("true")
                || value.starts_with("false")
                || value.starts_with("null")
            {
                Style::default().fg(Color::Magenta)
            } else {
                Style::default()
            };
            spans.push(Span::styled(value.to_owned(), style));
            Line::from(spans)
        })
        .collect()
}

fn party_name(party: Option<Party>) -> &'static str {
    match party {
        Some(Party::Sdk) => "SDK",
        Some(Party::Browser) => "browser",
        Some(p) => LANES[lane(p)].1,
        None => "?",
    }
}

fn details(frame: &mut Frame<'_>, app: &App, hops: &[Hop], area: Rect) {
    let Some(hop) = hops.get(app.hop.min(hops.len().saturating_sub(1))) else {
        frame.render_widget(pane(" Message ".into(), false), area);
        return;
    };
    let view = if app.decoded { "decoded" } else { "wire" };
    let title = match hop.note {
        Some(_) => format!(" Note · {} ", party_name(hop.from)),
        None => format!(
            " {} · {} → {} · {view} (d) ",
            hop.label,
            party_name(hop.from),
            party_name(hop.to)
        ),
    };
    let mut lines = Vec::new();
    if let Some(main) = hop.main() {
        let mut meta = format!("at {}", format_time(hop.at_ms()));
        if let Some(status) = main.http_status {
            meta.push_str(&format!(" · HTTP {status}"));
        }
        if let Some(ms) = hop.duration_ms() {
            meta.push_str(&format!(" · {ms} ms"));
        }
        if let Some(path) = &main.path {
            meta.push_str(&format!(" · {path}"));
        }
        lines.push(Line::styled(meta, Style::default().fg(Color::DarkGray)));
        let seen_by: Vec<&str> = [(&hop.sent, "sender"), (&hop.received, "receiver")]
            .iter()
            .filter(|(e, _)| e.is_some())
            .map(|(_, who)| *who)
            .collect();
        if hop.note.is_none() {
            lines.push(Line::styled(
                format!("seen by the {}", seen_by.join(" and the ")),
                Style::default().fg(Color::DarkGray),
            ));
        }
        if let Some(peer) = [&hop.received, &hop.sent]
            .into_iter()
            .flatten()
            .find_map(|e| e.tls_peer.clone())
        {
            lines.push(Line::styled(
                format!("TLS peer {peer}"),
                Style::default().fg(Color::DarkGray),
            ));
        }
        if hop.note.is_some() {
            lines.push(Line::raw(main.label.clone()));
        }
    }
    for finding in hop.findings() {
        lines.push(Line::styled(
            format!("! {finding}"),
            Style::default().fg(Color::Red),
        ));
    }
    lines.push(Line::raw(""));
    if app.decoded {
        match hop.decoded() {
            Some(decoded) => {
                let marker = if decoded.how == "decrypted" {
                    "DECRYPTED with a key the sandbox holds"
                } else {
                    "decoded (no key needed)"
                };
                lines.push(Line::styled(
                    format!("{marker}: {}", decoded.what),
                    Style::default()
                        .fg(Color::Magenta)
                        .add_modifier(Modifier::BOLD),
                ));
                lines.extend(highlight(&decoded.value));
            }
            None => lines.push(Line::raw("(nothing encoded in this message)")),
        }
    } else if let Some(body) = hop.main().and_then(|e| e.body_value()) {
        lines.extend(highlight(&body));
    }
    let paragraph = Paragraph::new(lines)
        .wrap(Wrap { trim: false })
        .scroll((app.detail_scroll, 0))
        .block(pane(title, false));
    frame.render_widget(paragraph, area);
}

fn footer(frame: &mut Frame<'_>, app: &App, area: Rect) {
    let line = if app.typing {
        Line::from(vec![
            Span::styled(" / ", Style::default().add_modifier(Modifier::REVERSED)),
            Span::raw(format!(" {}▏ (Enter keeps, Esc clears)", app.text)),
        ])
    } else if !app.status.is_empty() {
        Line::styled(
            format!(" {}", app.status),
            Style::default().fg(Color::Yellow),
        )
    } else {
        Line::styled(
            " q quit  ? help  ↑↓ move  Tab pane  d decoded  f follow  / filter  c channel  o outcome",
            Style::default().fg(Color::DarkGray),
        )
    };
    frame.render_widget(Paragraph::new(line), area);
}

fn help(frame: &mut Frame<'_>, area: Rect) {
    let width = area.width.min(76);
    let height = (KEYS.len() as u16 + 4).min(area.height);
    let popup = Rect {
        x: area.x + (area.width - width) / 2,
        y: area.y + (area.height - height) / 2,
        width,
        height,
    };
    let lines: Vec<Line<'_>> = KEYS
        .iter()
        .map(|(key, what)| {
            Line::from(vec![
                Span::styled(format!(" {key:<11}"), Style::default().fg(Color::Cyan)),
                Span::raw(*what),
            ])
        })
        .collect();
    frame.render_widget(Clear, popup);
    frame.render_widget(
        Paragraph::new(lines).wrap(Wrap { trim: false }).block(
            Block::default()
                .borders(Borders::ALL)
                .title(" Keys (Esc closes) "),
        ),
        popup,
    );
}
