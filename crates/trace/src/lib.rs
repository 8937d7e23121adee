//! The trace is data (architecture principle 6): every component records each message it
//! sends or receives, and each thing worth knowing that is not a message (a challenge
//! step shown, a timer fired), as a typed [`Event`]. The store keeps them with the
//! transaction, the admin endpoint streams them live, `threeds trace` prints them and
//! the TUI draws them; nothing scrapes logs.
//!
//! - `event`: the event and its JSON form (the documented JSON Lines fields);
//! - `redact`: card numbers masked (first six, last four) and secrets removed, applied to
//!   every body before it becomes an event — no event ever holds a full PAN;
//! - `decode`: what the wire encodes without a key (base64url JSON in forms and
//!   `deviceInfo`, a JWS payload, a JWE header), shown beside the wire form;
//! - `classify`: what an HTTP body is (a protocol message, a browser form carrying one,
//!   a requestor API call) and who sent it;
//! - `tracer`: the handle components emit through, which numbers events, links them to
//!   their transaction and fans them out without ever blocking the hot path.
//!
//! This crate does no I/O of its own: sinks are channels others drain.

pub mod classify;
pub mod decode;
mod event;
pub mod redact;
mod tracer;

pub use event::{
    Decoded, Direction, Event, Ids, Kind, Party, first_missing_in_order, format_time, short_id,
};
pub use tracer::{Annotation, Stopwatch, Tracer};
