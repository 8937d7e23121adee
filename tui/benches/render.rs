//! One frame with 10,000 transactions in the model (the TUI's whole window), on
//! ratatui's `TestBackend` at 200×50: what a redraw costs at the worst the TUI keeps in
//! memory. Run: `cargo bench -p tui --bench render`.

#![allow(clippy::unwrap_used, reason = "benchmark setup")]

use ratatui::Terminal;
use ratatui::backend::TestBackend;
use trace::{Direction, Event, Kind, Party};
use tui::{App, Model};

fn main() {
    divan::main();
}

/// A frictionless authentication's ten hops, as the sandbox records them.
fn authentication(model: &mut Model, n: u64) {
    let id = format!("{n:08x}-0000-4000-8000-000000000000");
    let hops: [(Party, Party, &str, Direction); 10] = [
        (
            Party::Merchant,
            Party::ThreeDsServer,
            "POST /v1/auth",
            Direction::Received,
        ),
        (Party::ThreeDsServer, Party::Ds, "AReq", Direction::Sent),
        (Party::ThreeDsServer, Party::Ds, "AReq", Direction::Received),
        (Party::Ds, Party::Acs, "AReq", Direction::Sent),
        (Party::Ds, Party::Acs, "AReq", Direction::Received),
        (Party::Acs, Party::Ds, "ARes", Direction::Sent),
        (Party::Acs, Party::Ds, "ARes", Direction::Received),
        (Party::Ds, Party::ThreeDsServer, "ARes", Direction::Sent),
        (Party::Ds, Party::ThreeDsServer, "ARes", Direction::Received),
        (
            Party::ThreeDsServer,
            Party::Merchant,
            "answer to /v1/auth",
            Direction::Sent,
        ),
    ];
    for (i, (from, to, label, direction)) in hops.into_iter().enumerate() {
        let observer = if direction == Direction::Sent {
            from
        } else {
            to
        };
        let mut event = Event::new(Kind::Message, observer, label);
        event.seq = n * 10 + i as u64 + 1;
        event.at_ms = 1_795_000_000_000 + n * 50 + i as u64;
        event.transaction = Some(id.clone());
        event.from = Some(from);
        event.to = Some(to);
        event.direction = Some(direction);
        event.message_type = label.starts_with('A').then(|| label.to_owned());
        event.message_version = Some("2.2.0".into());
        event.body = Some(
            serde_json::value::to_raw_value(&serde_json::json!({
                "messageType": label,
                "deviceChannel": "02",
                "acctNumber": "400000******1000",
                "purchaseAmount": "12345",
                "purchaseCurrency": "978",
                "purchaseExponent": "2",
                "messageVersion": "2.2.0",
                "transStatus": if n.is_multiple_of(5) { "N" } else { "Y" },
            }))
            .unwrap(),
        );
        model.ingest(event);
    }
}

#[divan::bench]
fn frame_with_10_000_transactions(bencher: divan::Bencher<'_, '_>) {
    let mut model = Model::new(tui::WINDOW);
    for n in 0..10_000 {
        authentication(&mut model, n);
    }
    assert_eq!(model.len(), 10_000);
    let mut app = App::new(model, "bench");
    app.settle();
    let mut terminal = Terminal::new(TestBackend::new(200, 50)).unwrap();
    bencher.bench_local(|| {
        terminal
            .draw(|frame| tui::view::draw(frame, &mut app))
            .unwrap();
    });
}
