//! The binary's integration tests (one test binary for link time).
mod docs;
mod replay;
mod service;
