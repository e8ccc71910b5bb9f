//! Integration tests for warden-geo: city databases of both schemas built
//! with the crate's own MMDB writer, ASN ranges, classification, admin
//! corrections, the `IpIntel` facade, and (when `WARDEN_GEO_DIR` points at
//! the real DB-IP / ASN files) a cross-check against real data.

#[path = "geo/support.rs"]
mod support;

#[path = "geo/asn.rs"]
mod asn;
#[path = "geo/city.rs"]
mod city;
#[path = "geo/classify.rs"]
mod classify;
#[path = "geo/corrections.rs"]
mod corrections;
#[path = "geo/intel.rs"]
mod intel;
#[path = "geo/real_data.rs"]
mod real_data;
#[path = "geo/writer.rs"]
mod writer;
