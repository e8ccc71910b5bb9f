//! An incident's evidence bundle as the API and the CLI hand it out: the
//! signed file ([`file`]: write, and verify offline) and the printable
//! HTML report rendered from the same bundle ([`html`]).

pub mod file;

pub use file::{encode_body, verify_file, write_file, EvidenceFileError, VerifiedBundle};
