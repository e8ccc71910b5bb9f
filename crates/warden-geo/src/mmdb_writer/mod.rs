//! A minimal MaxMind DB writer for test fixtures (feature `testkit`).
//!
//! Implements the MaxMind DB format 2.0 from its specification
//! (<https://maxmind.github.io/MaxMind-DB/>): a binary search tree with
//! 24-, 28- or 32-bit records, a data section with maps, UTF-8 strings,
//! doubles, floats, unsigned integers, arrays and booleans (repeated
//! strings and identical records are stored once and referenced by
//! pointers, as real databases do), and the metadata map after
//! `\xAB\xCD\xEFMaxMind.com`.
//!
//! IPv4 networks in an IPv6 database are stored in `::/96` (no
//! `::ffff:0:0/96` alias). More specific networks override less specific
//! ones regardless of insertion order.
//!
//! [`DbipFixture`] and [`MaxMindFixture`] build databases shaped like the
//! real DB-IP and GeoLite2-City files from a few `(network, record)` pairs.

mod encode;
mod fixtures;
mod tree;

use std::collections::HashMap;
use std::net::IpAddr;
use std::path::{Path, PathBuf};

use ipnet::IpNet;

pub use fixtures::{dbip_record, maxmind_record, DbipFixture, MaxMindCity, MaxMindFixture};

/// A value in the data section.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    String(String),
    Double(f64),
    Float(f32),
    U16(u16),
    U32(u32),
    U64(u64),
    Bool(bool),
    Array(Vec<Value>),
    /// Keys in the order given.
    Map(Vec<(String, Value)>),
}

impl Value {
    /// A map from `(key, value)` pairs.
    pub fn map<K: Into<String>>(pairs: impl IntoIterator<Item = (K, Value)>) -> Value {
        Value::Map(pairs.into_iter().map(|(k, v)| (k.into(), v)).collect())
    }
}

impl From<&str> for Value {
    fn from(s: &str) -> Value {
        Value::String(s.to_string())
    }
}

impl From<String> for Value {
    fn from(s: String) -> Value {
        Value::String(s)
    }
}

/// Why a database could not be written.
#[derive(Debug, thiserror::Error)]
pub enum WriterError {
    #[error("cannot write {}: {source}", path.display())]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{0:?} is not a network (expected a.b.c.d/n, x::/n or a single address)")]
    BadNetwork(String),
    #[error("{net} does not fit an IPv{ip_version} database")]
    WrongFamily { net: IpNet, ip_version: u8 },
    #[error("ip_version must be 4 or 6, not {0}")]
    BadIpVersion(u8),
    #[error("record_size must be 24, 28 or 32, not {0}")]
    BadRecordSize(u16),
    #[error("the database needs {needed}-bit records but record_size {chosen} was requested")]
    RecordSizeTooSmall { needed: u16, chosen: u16 },
    #[error("a value is too large for the MaxMind DB format")]
    TooLarge,
}

/// Parses `a.b.c.d/n`, `x::/n` or a single address.
pub fn parse_net(s: &str) -> Result<IpNet, WriterError> {
    let s = s.trim();
    s.parse::<IpNet>()
        .ok()
        .or_else(|| s.parse::<IpAddr>().ok().map(IpNet::from))
        .ok_or_else(|| WriterError::BadNetwork(s.to_string()))
}

/// Builds a MaxMind DB file from `(network, value)` pairs.
#[derive(Debug, Clone)]
pub struct MmdbWriter {
    database_type: String,
    ip_version: u8,
    languages: Vec<String>,
    description: Vec<(String, String)>,
    build_epoch: u64,
    record_size: Option<u16>,
    entries: Vec<(IpNet, Value)>,
}

impl MmdbWriter {
    /// An empty database of `database_type` for `ip_version` 4 or 6.
    pub fn new(database_type: impl Into<String>, ip_version: u8) -> Self {
        MmdbWriter {
            database_type: database_type.into(),
            ip_version,
            languages: Vec::new(),
            description: Vec::new(),
            build_epoch: 1_700_000_000,
            record_size: None,
            entries: Vec::new(),
        }
    }

    pub fn languages<S: Into<String>>(mut self, langs: impl IntoIterator<Item = S>) -> Self {
        self.languages = langs.into_iter().map(Into::into).collect();
        self
    }

    pub fn description(mut self, lang: impl Into<String>, text: impl Into<String>) -> Self {
        self.description.push((lang.into(), text.into()));
        self
    }

    /// Unix seconds stored as `build_epoch` (default 2023-11-14).
    pub fn build_epoch(mut self, secs: u64) -> Self {
        self.build_epoch = secs;
        self
    }

    /// Forces 24-, 28- or 32-bit records (default: the smallest that fits).
    pub fn record_size(mut self, bits: u16) -> Self {
        self.record_size = Some(bits);
        self
    }

    /// Adds a network and its record.
    pub fn insert(&mut self, net: IpNet, value: Value) -> &mut Self {
        self.entries.push((net, value));
        self
    }

    /// The whole file.
    pub fn to_bytes(&self) -> Result<Vec<u8>, WriterError> {
        let total_bits: u8 = match self.ip_version {
            4 => 32,
            6 => 128,
            v => return Err(WriterError::BadIpVersion(v)),
        };
        // Data section: identical records are stored once.
        let mut data = encode::DataSection::default();
        let mut record_offsets: HashMap<Vec<u8>, u32> = HashMap::new();
        let mut prefixes = Vec::with_capacity(self.entries.len());
        for (net, value) in &self.entries {
            let (bits, len) = match (net.trunc(), self.ip_version) {
                (IpNet::V4(n), 4) => (u128::from(u32::from(n.network())), n.prefix_len()),
                (IpNet::V4(n), _) => (u128::from(u32::from(n.network())), n.prefix_len() + 96),
                (IpNet::V6(n), 6) => (u128::from(n.network()), n.prefix_len()),
                (IpNet::V6(_), v) => {
                    return Err(WriterError::WrongFamily {
                        net: *net,
                        ip_version: v,
                    })
                }
            };
            let key = encode::plain(value)?;
            let offset = match record_offsets.get(&key) {
                Some(o) => *o,
                None => {
                    let o = data.push(value)?;
                    record_offsets.insert(key, o);
                    o
                }
            };
            let bits = if total_bits == 32 { bits << 96 } else { bits };
            prefixes.push((bits, len, offset));
        }
        // Less specific first, so more specific networks override them.
        prefixes.sort_by_key(|(_, len, _)| *len);
        let mut tree = tree::Tree::new();
        for (bits, len, offset) in prefixes {
            tree.insert(bits, len, offset);
        }

        let node_count = tree.node_count();
        let max_record = u64::from(node_count) + 16 + data.len() as u64;
        let needed = match max_record {
            m if m < 1 << 24 => 24,
            m if m < 1 << 28 => 28,
            m if m < 1 << 32 => 32,
            _ => return Err(WriterError::TooLarge),
        };
        let record_size = match self.record_size {
            None => needed,
            Some(s @ (24 | 28 | 32)) if s >= needed => s,
            Some(s @ (24 | 28 | 32)) => {
                return Err(WriterError::RecordSizeTooSmall { needed, chosen: s })
            }
            Some(s) => return Err(WriterError::BadRecordSize(s)),
        };

        let mut out = tree.serialise(record_size, node_count);
        out.extend_from_slice(&[0u8; 16]);
        out.extend_from_slice(data.bytes());
        out.extend_from_slice(b"\xAB\xCD\xEFMaxMind.com");
        let metadata = Value::map([
            ("binary_format_major_version", Value::U16(2)),
            ("binary_format_minor_version", Value::U16(0)),
            ("build_epoch", Value::U64(self.build_epoch)),
            ("database_type", Value::from(self.database_type.as_str())),
            (
                "description",
                Value::map(
                    self.description
                        .iter()
                        .map(|(k, v)| (k.clone(), Value::from(v.as_str()))),
                ),
            ),
            ("ip_version", Value::U16(u16::from(self.ip_version))),
            (
                "languages",
                Value::Array(
                    self.languages
                        .iter()
                        .map(|l| Value::from(l.as_str()))
                        .collect(),
                ),
            ),
            ("node_count", Value::U32(node_count)),
            ("record_size", Value::U16(record_size)),
        ]);
        out.extend_from_slice(&encode::plain(&metadata)?);
        Ok(out)
    }

    /// Writes the file (creating or truncating it).
    pub fn write(&self, path: impl AsRef<Path>) -> Result<(), WriterError> {
        let bytes = self.to_bytes()?;
        std::fs::write(path.as_ref(), bytes).map_err(|source| WriterError::Io {
            path: path.as_ref().to_path_buf(),
            source,
        })
    }
}
