//! The wire every component shares: HTTPS servers that serve an axum `Router` under the
//! sandbox's TLS policy and tell each handler who the peer is, and HTTPS clients that
//! keep connections open and map transport failures to the protocol's error codes.
//!
//! Components build their `Router` in `app(state)` and hand it to [`serve`]; they call
//! their peers through a [`Client`]. Both take their rustls configuration from
//! `pki::tls`, so the TLS policy is the same on every hop. This crate knows nothing of
//! 3DS messages beyond the `Erro` codes a transport failure maps to.

mod client;
mod protocol;
mod server;

pub use client::{Client, Reply, Timeouts, TransportError};
pub use protocol::{fresh_trans_id, protocol_answer, protocol_refusal};
pub use server::{Peer, TlsServer, serve};
