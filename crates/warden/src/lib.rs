//! The `warden` binary's library half: configuration, the service wiring,
//! offline replay and synthetic event streams. `main.rs` only parses the
//! command line and calls into these modules.

pub mod config;
pub mod replay;
pub mod serve;
pub mod synth;
