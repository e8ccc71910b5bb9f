//! The `warden` binary's library half: configuration, the service wiring,
//! offline replay, synthetic event streams and the admin client. `main.rs` only parses the
//! command line and calls into these modules.

pub mod admin;
pub mod admin_notify;
pub mod alerts_cli;
pub mod audit_cli;
pub mod checkpassword;
pub mod config;
pub mod eval;
pub mod evidence_cli;
pub mod incidents_cli;
pub mod operations_cli;
pub mod policies_cli;
pub mod replay;
pub mod report_cli;
pub mod serve;
pub mod sessions_cli;
pub mod signins_cli;
pub mod synth;
