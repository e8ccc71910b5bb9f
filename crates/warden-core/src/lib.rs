//! Warden's pure core: the login domain and the risk engine.
//!
//! Everything here is deterministic: a login attempt, what is known about its
//! IP address, the user's profile, the policy and the time go in; a decision
//! with reasons comes out. There is no IO, no async and no JSON in this crate.

pub mod decision;
pub mod domain;
pub mod time;

pub use decision::{Decision, Level, ReasonCode};
pub use domain::*;
pub use time::{Clock, FixedClock, Timestamp};
