//! One module per subcommand.

pub mod cards;
pub mod pki;
pub mod up;
pub mod validate;
