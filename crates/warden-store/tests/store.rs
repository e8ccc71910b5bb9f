//! The store's tests, one binary for link time:
//!
//! - `conformance/`: the behaviour every backend must show, generic over a
//!   `conformance::Fixture` (see that module for how a backend plugs in);
//! - `sqlite/`: the SQLite fixture, its runner of the conformance suite, and
//!   the tests of what only the SQLite backend has (files, WAL, the
//!   in-memory store, migrations and damaged rows on disk).

mod conformance;
mod sqlite;
