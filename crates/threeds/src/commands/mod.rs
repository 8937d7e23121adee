//! One module per subcommand.

pub mod pki;
pub mod validate;
