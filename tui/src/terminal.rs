//! The run loop: the terminal in raw mode on the alternate screen with mouse capture,
//! keys read on their own thread, live events from the sandbox's admin endpoint, older
//! events paged from its store when the list is scrolled past its end, and a redraw at
//! most every 33 ms when something changed. The terminal is restored however the loop
//! ends — `q`, an error, or a panic.

use std::io;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use crossterm::event::{
    self, DisableMouseCapture, EnableMouseCapture, Event as Input, KeyEventKind,
};
use crossterm::execute;
use crossterm::terminal::{
    EnterAlternateScreen, LeaveAlternateScreen, disable_raw_mode, enable_raw_mode,
};
use ratatui::Terminal;
use ratatui::backend::CrosstermBackend;
use sandbox::admin::{AdminClient, Live};
use store::TraceQuery;
use tokio::sync::mpsc;

use crate::app::{App, Command};
use crate::model::Model;
use crate::{WINDOW, load_file, view};

/// Events fetched per page from the store.
const PAGE: u32 = 20_000;

/// Where the trace comes from.
#[derive(Debug)]
pub enum Source {
    /// A running sandbox (its admin endpoint), named for the title.
    Live { admin: AdminClient, name: String },
    /// A saved trace (JSON Lines).
    File(PathBuf),
}

/// Restores the terminal when dropped (normal exit, error, or unwinding panic).
struct Restore;

impl Drop for Restore {
    fn drop(&mut self) {
        restore();
    }
}

fn restore() {
    let _ = disable_raw_mode();
    let _ = execute!(io::stdout(), DisableMouseCapture, LeaveAlternateScreen);
}

async fn page(admin: &AdminClient, before: u64, model: &mut Model) -> Result<bool, String> {
    let events = admin
        .events(&TraceQuery {
            before: Some(before),
            limit: PAGE,
            ..TraceQuery::default()
        })
        .await
        .map_err(|e| e.to_string())?;
    let full = events.len() == PAGE as usize;
    for event in events {
        model.ingest(event);
    }
    Ok(full)
}

/// Runs the TUI until the user quits.
pub async fn run(source: Source) -> Result<(), String> {
    // Everything that can fail before the screen is taken, fails in plain text.
    let (mut app, admin) = match source {
        Source::Live { admin, name } => {
            let mut model = Model::new(WINDOW);
            let more = page(&admin, u64::MAX, &mut model).await?;
            let mut app = App::new(model, name);
            app.more_in_store = more;
            (app, Some(admin))
        }
        Source::File(path) => {
            let model = load_file(&path, WINDOW)?;
            let mut app = App::new(model, path.display().to_string());
            app.follow = false;
            (app, None)
        }
    };
    app.settle();
    let mut live = match &admin {
        Some(admin) => Some(
            admin
                .follow(Some(app.model.newest_seq), None)
                .await
                .map_err(|e| e.to_string())?,
        ),
        None => None,
    };

    let hook = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        restore();
        hook(info);
    }));
    enable_raw_mode().map_err(|e| format!("the terminal cannot enter raw mode: {e}"))?;
    let _restore = Restore;
    execute!(io::stdout(), EnterAlternateScreen, EnableMouseCapture).map_err(|e| e.to_string())?;
    let mut terminal =
        Terminal::new(CrosstermBackend::new(io::stdout())).map_err(|e| e.to_string())?;

    let (inputs, mut input) = mpsc::channel::<Input>(256);
    std::thread::spawn(move || {
        while let Ok(event) = event::read() {
            if inputs.blocking_send(event).is_err() {
                return;
            }
        }
    });

    let mut dirty = true;
    let mut last_draw = Instant::now() - Duration::from_secs(1);
    let mut tick = tokio::time::interval(Duration::from_millis(33));
    // The trace's health (events it could not store), asked for every two seconds.
    let mut health = tokio::time::interval(Duration::from_secs(2));
    loop {
        if dirty && last_draw.elapsed() >= Duration::from_millis(33) {
            terminal
                .draw(|frame| view::draw(frame, &mut app))
                .map_err(|e| e.to_string())?;
            last_draw = Instant::now();
            dirty = false;
        }
        let command = tokio::select! {
            Some(input) = input.recv() => {
                dirty = true;
                match input {
                    Input::Key(key) if key.kind != KeyEventKind::Release => app.key(key),
                    Input::Mouse(mouse) => app.mouse(mouse),
                    _ => None,
                }
            }
            item = async {
                match live.as_mut() {
                    Some(live) => live.recv().await,
                    None => std::future::pending().await,
                }
            } => {
                dirty = true;
                match item {
                    Some(Live::Event(event)) => {
                        app.model.ingest(*event);
                        // Drain what else is waiting before drawing.
                        if let Some(live) = live.as_mut() {
                            while let Ok(Live::Event(event)) = live.try_recv() {
                                app.model.ingest(*event);
                            }
                        }
                        app.settle();
                    }
                    Some(Live::Lagged(n)) => app.status = format!("{n} live events skipped (they are in the store)"),
                    None => {
                        app.status = "the sandbox ended the live stream (stopped?)".into();
                        live = None;
                    }
                }
                None
            }
            _ = health.tick(), if admin.is_some() => {
                if let Some(admin) = &admin {
                    let status = admin.status().await.ok();
                    dirty |= status != app.trace_health;
                    app.trace_health = status;
                }
                None
            }
            _ = tick.tick() => None,
        };
        match command {
            Some(Command::Quit) => break,
            Some(Command::LoadOlder(before)) => {
                if let Some(admin) = &admin {
                    match page(admin, before, &mut app.model).await {
                        Ok(more) => app.more_in_store = more,
                        Err(e) => app.status = format!("paging older events: {e}"),
                    }
                    dirty = true;
                }
            }
            None => {}
        }
    }
    drop(terminal);
    Ok(())
}
