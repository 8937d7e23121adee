//! EMV 3-D Secure 2.1.0, 2.2.0 and 2.3.1: the messages, their data dictionary, and the
//! validation a receiver performs, answering a bad message with the `Erro` the
//! specification prescribes.
//!
//! This crate owns the protocol and nothing else. It does no I/O, reads no clock, draws
//! no randomness and never panics on input: bytes in, a typed [`Message`] or an [`Erro`]
//! out. Every component of the sandbox (3DS Server, DS, ACS, SDK, scenario runner) uses
//! it, and so can anyone building their own.
//!
//! ```
//! use emv3ds::{Context, Role, Validator};
//!
//! let areq = include_bytes!("../tests/data/valid/2.2.0/AReq-browser.json");
//! let ds = Validator::new(Role::DirectoryServer);
//! let valid = ds.validate(areq, &Context::default()).expect("a valid AReq");
//! assert_eq!(valid.message.message_type().as_str(), "AReq");
//!
//! // The same AReq with its amount removed: the DS answers Erro 201 naming it.
//! let text = std::str::from_utf8(areq).unwrap().replace("\"purchaseAmount\": \"12345\",", "");
//! let erro = ds.validate(text.as_bytes(), &Context::default()).unwrap_err();
//! assert_eq!(erro.error_code.as_str(), "201");
//! assert_eq!(erro.error_detail, "purchaseAmount");
//! assert_eq!(erro.error_component.as_str(), "D");
//! ```
//!
//! Map of the crate:
//! - [`json`]: the one parse of a received message (wire order, duplicate keys kept);
//! - [`dictionary`]: every data element, written once, with formats and presence rules
//!   per version × channel; cross-field rules in [`dictionary::rules`];
//! - [`validate`]: the receiver's checks, in a fixed order, ending in a typed message or
//!   an `Erro`;
//! - [`messages`], [`codes`], [`values`]: the typed messages, enumerations and values;
//! - [`card_ranges`]: the preparation flow (DS registry, 3DS Server cache, version
//!   negotiation);
//! - [`examples`]: realistic valid messages for every type and version;
//! - [`docs`]: the Markdown reference generated from the dictionary and the examples.

pub mod card_ranges;
pub mod codes;
pub mod dictionary;
pub mod docs;
pub mod examples;
pub mod json;
pub mod messages;
pub mod validate;
pub mod values;
pub mod version;

pub use codes::{ErrorCode, ErrorComponent, MessageType};
pub use messages::{AReq, ARes, CReq, CRes, Erro, Message, PReq, PRes, RReq, RRes};
pub use validate::{Context, RequestFacts, Role, Skipped, Valid, Validator};
pub use version::MessageVersion;
