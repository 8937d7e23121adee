//! The real TUI rendered on ratatui's `TestBackend` from a real (fixed) sandbox trace,
//! compared with reviewed snapshots (`tests/snapshots/`; after an intended change,
//! `INSTA_UPDATE=always cargo test -p tui` rewrites them and the diff is reviewed), and
//! key and mouse handling driven by feeding events.

#![allow(
    clippy::unwrap_used,
    reason = "test helpers: a failed unwrap is a failed test"
)]

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers, MouseButton, MouseEvent, MouseEventKind};
use ratatui::Terminal;
use ratatui::backend::TestBackend;
use tui::app::{Command, Focus};
use tui::model::Outcome;
use tui::{App, Model};

fn fixture() -> App {
    let path =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/sandbox.jsonl");
    let model = tui::load_file(&path, tui::WINDOW).unwrap();
    let mut app = App::new(model, "tests/fixtures/sandbox.jsonl");
    app.follow = false;
    app.settle();
    app
}

/// The frame as plain text, one line per row (trailing spaces kept: the layout shows).
fn render(app: &mut App, width: u16, height: u16) -> String {
    let mut terminal = Terminal::new(TestBackend::new(width, height)).unwrap();
    terminal.draw(|frame| tui::view::draw(frame, app)).unwrap();
    let out = tui::view::text_of(terminal.backend().buffer());
    assert_no_card_number(&out);
    out
}

/// No 13 or more digits in a row anywhere: no card number in clear.
fn assert_no_card_number(text: &str) {
    let mut run = 0;
    for c in text.chars() {
        run = if c.is_ascii_digit() { run + 1 } else { 0 };
        assert!(run < 13, "a card number in clear in:\n{text}");
    }
}

fn key(app: &mut App, code: KeyCode) -> Option<Command> {
    app.key(KeyEvent::new(code, KeyModifiers::NONE))
}

fn select(app: &mut App, pick: impl Fn(&tui::model::Transaction) -> bool) {
    let id = app
        .model
        .newest_first()
        .find(|t| pick(t))
        .unwrap()
        .id
        .clone();
    app.selected = Some(id);
    app.hop = 0;
}

/// Events the sandbox could not store show in the title, in red, until it restarts.
#[test]
fn the_title_says_when_the_trace_lost_events() {
    let mut app = App::new(Model::new(10), "manifest.json");
    app.trace_health = Some(sandbox::admin::Status {
        last_seq: Some(40),
        failed_commits: 2,
        events_not_stored: 12,
        dropped: 3,
        ..Default::default()
    });
    let frame = render(&mut app, 120, 30);
    assert!(
        frame
            .lines()
            .next()
            .unwrap()
            .contains("⚠ trace: 15 events not stored"),
        "{frame}"
    );
    app.trace_health = Some(sandbox::admin::Status::default());
    assert!(!render(&mut app, 120, 30).contains("⚠"));
}

#[test]
fn an_empty_sandbox() {
    let mut app = App::new(Model::new(10), "manifest.json");
    insta::assert_snapshot!("empty", render(&mut app, 120, 30));
}

#[test]
fn a_list_with_frictionless_challenged_failed_and_errored_transactions() {
    let mut app = fixture();
    let outcomes: Vec<Outcome> = app
        .model
        .newest_first()
        .map(|t| t.outcome.clone())
        .collect();
    for expected in ["Y", "N", "U"] {
        assert!(
            outcomes.contains(&Outcome::Status(expected.into())),
            "{outcomes:?}"
        );
    }
    assert!(
        outcomes.iter().any(|o| matches!(o, Outcome::Error(_))),
        "{outcomes:?}"
    );
    insta::assert_snapshot!("list", render(&mut app, 160, 45));
}

#[test]
fn a_browser_challenge_as_a_sequence_diagram() {
    let mut app = fixture();
    select(&mut app, |t| {
        t.channel == "browser" && t.events.iter().any(|e| e.label == "CReq")
    });
    key(&mut app, KeyCode::Enter);
    assert_eq!(app.focus, Focus::Diagram);
    // The CReq the browser posted, its form decoded.
    let hops = app.current().unwrap().hops();
    app.hop = hops.iter().position(|h| h.label == "CReq").unwrap();
    key(&mut app, KeyCode::Char('d'));
    insta::assert_snapshot!("browser_challenge", render(&mut app, 160, 50));
}

#[test]
fn an_app_challenge_with_its_decrypted_creq_and_cres() {
    let mut app = fixture();
    select(&mut app, |t| {
        t.channel == "app"
            && t.outcome == Outcome::Status("Y".into())
            && t.events.iter().any(|e| e.label == "CReq")
    });
    key(&mut app, KeyCode::Tab);
    let hops = app.current().unwrap().hops();
    app.hop = hops.iter().rposition(|h| h.label == "CRes").unwrap();
    key(&mut app, KeyCode::Char('d'));
    let frame = render(&mut app, 160, 60);
    assert!(frame.contains("DECRYPTED"), "{frame}");
    insta::assert_snapshot!("app_challenge_decrypted", frame);
    // The same message on the wire: the JWE.
    key(&mut app, KeyCode::Char('d'));
    assert!(render(&mut app, 160, 60).contains("\"ey"));
}

#[test]
fn the_help_overlay_lists_every_key() {
    let mut app = fixture();
    key(&mut app, KeyCode::Char('?'));
    let frame = render(&mut app, 120, 40);
    for (k, _) in tui::app::KEYS {
        assert!(frame.contains(k), "{k} missing from the help");
    }
    insta::assert_snapshot!("help", frame);
    key(&mut app, KeyCode::Esc);
    assert!(!app.help);
}

#[test]
fn a_narrow_80_by_24_terminal() {
    let mut app = fixture();
    insta::assert_snapshot!("narrow", render(&mut app, 80, 24));
}

#[test]
fn keys_move_filter_toggle_and_quit() {
    let mut app = fixture();
    let first = app.selected.clone();
    key(&mut app, KeyCode::Char('j'));
    assert_ne!(app.selected, first);
    assert!(!app.follow, "moving down pauses following");
    key(&mut app, KeyCode::Char('k'));
    assert_eq!(app.selected, first);

    // Channel filter: only app transactions.
    while tui::app::CHANNELS[app.channel] != "app" {
        key(&mut app, KeyCode::Char('c'));
    }
    assert!(!app.visible().is_empty());
    assert!(app.visible().iter().all(|t| t.channel == "app"));
    // Outcome filter on top: failed ones.
    while tui::app::OUTCOMES[app.outcome] != "N" {
        key(&mut app, KeyCode::Char('o'));
    }
    assert!(
        app.visible()
            .iter()
            .all(|t| t.outcome == Outcome::Status("N".into()))
    );
    key(&mut app, KeyCode::Char('x'));
    assert_eq!(app.visible().len(), app.model.len());

    // Free text: the masked card's last four.
    key(&mut app, KeyCode::Char('/'));
    assert!(app.typing);
    for c in "5001".chars() {
        key(&mut app, KeyCode::Char(c));
    }
    key(&mut app, KeyCode::Enter);
    assert!(!app.typing);
    assert!(!app.visible().is_empty());
    assert!(app.visible().iter().all(|t| t.card.ends_with("5001")));
    // Esc in the prompt clears it.
    key(&mut app, KeyCode::Char('/'));
    key(&mut app, KeyCode::Esc);
    assert!(app.text.is_empty());

    // Search: with the filter text, `n` goes to the next message that holds it (the
    // masked card number is in the AReq).
    key(&mut app, KeyCode::Char('/'));
    for c in "6009".chars() {
        key(&mut app, KeyCode::Char(c));
    }
    key(&mut app, KeyCode::Enter);
    assert!(!app.visible().is_empty());
    key(&mut app, KeyCode::Char('n'));
    assert_eq!(app.focus, Focus::Diagram, "{}", app.status);
    let hop = &app.current().unwrap().hops()[app.hop];
    assert!(
        serde_json::to_string(&hop.main().map(|e| e.as_ref()))
            .unwrap()
            .contains("6009")
    );
    let at = app.hop;
    key(&mut app, KeyCode::Char('n'));
    key(&mut app, KeyCode::Char('N'));
    assert_eq!(app.hop, at);

    key(&mut app, KeyCode::Char('f'));
    assert!(app.follow);
    assert_eq!(key(&mut app, KeyCode::Char('q')), Some(Command::Quit));
    assert_eq!(
        app.key(KeyEvent::new(KeyCode::Char('c'), KeyModifiers::CONTROL)),
        Some(Command::Quit)
    );
}

#[test]
fn a_click_selects_a_row_and_the_wheel_scrolls() {
    let mut app = fixture();
    render(&mut app, 160, 45);
    let list = app.areas.list;
    let third = app.visible()[2].id.clone();
    // Border, header, then rows.
    app.mouse(MouseEvent {
        kind: MouseEventKind::Down(MouseButton::Left),
        column: list.x + 3,
        row: list.y + 2 + 2,
        modifiers: KeyModifiers::NONE,
    });
    assert_eq!(app.selected.as_deref(), Some(third.as_str()));
    app.mouse(MouseEvent {
        kind: MouseEventKind::ScrollDown,
        column: list.x + 3,
        row: list.y + 3,
        modifiers: KeyModifiers::NONE,
    });
    assert_eq!(app.selected.as_deref(), Some(app.visible()[3].id.as_str()));
}

#[test]
fn a_file_that_is_not_a_trace_says_which_line() {
    let dir = std::env::temp_dir().join(format!("tui-bad-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("bad.jsonl");
    std::fs::write(
        &file,
        "{\"seq\":1,\"atMs\":1,\"kind\":\"note\",\"observer\":\"acs\",\"label\":\"x\"}\nnot json\n",
    )
    .unwrap();
    let err = tui::load_file(&file, 10).unwrap_err();
    assert!(err.contains("bad.jsonl:2:"), "{err}");
    // A line past the limit is refused when the limit is reached, not read whole.
    let mut long =
        b"{\"seq\":1,\"atMs\":1,\"kind\":\"note\",\"observer\":\"acs\",\"label\":\"x\"}\n".to_vec();
    long.extend(std::iter::repeat_n(b' ', tui::MAX_LINE + 1));
    std::fs::write(&file, &long).unwrap();
    let err = tui::load_file(&file, 10).unwrap_err();
    assert!(
        err.contains("bad.jsonl:2: a line longer than 8 MiB"),
        "{err}"
    );
    std::fs::remove_dir_all(&dir).unwrap();
}
