//! The target bodies and their seeds, by the code they exercise.

pub mod app;
pub mod files;
pub mod protocol;
pub mod spc;
pub mod trace;
