//! The core's integration tests: data-driven detector scenarios from
//! `tests/scenarios/*.toml`, properties of the scoring, and snapshots of the
//! reason texts.

mod hostile_text;
mod properties;
mod scenarios;
mod texts;
mod trust;
