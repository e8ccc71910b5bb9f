//! The HTTP handlers, one module per resource.

pub mod accounts;
pub mod alerts;
pub mod answers;
pub mod audit;
pub mod auth;
pub mod evidence;
pub mod geo;
pub mod health;
pub mod incidents;
pub mod login;
pub mod notify;
pub mod operations;
pub mod policies;
pub mod sessions;
pub mod stepup;
pub mod users;
