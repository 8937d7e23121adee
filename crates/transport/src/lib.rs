//! The wire every component shares: HTTPS servers that serve an axum `Router` under the
//! sandbox's TLS policy and tell each handler who the peer is, and HTTPS clients that
//! keep connections open and map transport failures to the protocol's error codes.
//!
//! Components build their `Router` in `app(state)` and hand it to [`serve`]; they call
//! their peers through a [`Client`]. Both take their rustls configuration from
//! `pki::tls`, so the TLS policy is the same on every hop. [`exchange`] is the one way a
//! component sends a protocol message to a peer and checks the answer; `protocol` holds
//! how every service answers; `clock` is where every component reads the time, `ids`
//! where transaction ids come from, `faults` the faults a sandbox applies to its own traffic, and `html`
//! what the browser-facing sites share, `access` who may call an endpoint, and
//! `health` the plain-HTTP health and readiness probes; [`logged`] writes a log line
//! per request. [`traced`] records
//! what a service receives and answers in the trace, and a client made with
//! [`Client::traced`] what a component sends.
//!
//! It reads a message's members only to trace it, check an answer's kind and apply a
//! configured fault. It must never: decide what a component answers; accept a client
//! certificate outside the sandbox's TLS policy; let a handler run without the caller's
//! identity established; or write a request body anywhere but the redacted trace.

pub mod access;
mod client;
pub mod clock;
mod exchange;
pub mod faults;
pub mod health;
pub mod html;
pub mod ids;
mod logged;
mod protocol;
mod server;
#[cfg(feature = "testing")]
pub mod testing;
mod traced;

pub use client::{Client, Reply, Timeouts, TransportError};
pub use exchange::exchange;
pub use ids::Ids;
pub use logged::{SeenIds, logged};
pub use protocol::{protocol_answer, protocol_refusal};
pub use server::{
    BODY_READ_TIMEOUT, HEADER_READ_TIMEOUT, OnRefused, Peer, TlsServer, serve, serve_watched,
};
pub use traced::{Observer, traced};
