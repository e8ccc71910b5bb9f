//! The HTTP handlers, one module per resource.

pub mod geo;
pub mod health;
pub mod login;
pub mod users;
