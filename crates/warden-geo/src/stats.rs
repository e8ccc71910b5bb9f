//! What an [`crate::IpIntel`] has loaded, for `/readyz` and `geo info`.

use std::fmt;

use crate::anonymizer::AnonymizerListInfo;
use crate::asn::AsnStats;
use crate::city::MmdbInfo;

/// A snapshot of the loaded sources and their sizes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GeoStats {
    /// City database files (empty: locations are always unknown).
    pub city_files: Vec<MmdbInfo>,
    /// Distinct names interned by the city database so far.
    pub interned_names: usize,
    pub asn: Option<AsnStats>,
    /// Datacenter ASNs in total, and how many came from the built-in list.
    pub datacenter_asns: usize,
    pub datacenter_builtin: usize,
    pub anonymizer_lists: Vec<AnonymizerListInfo>,
    pub anonymizer_networks: usize,
    pub org_ranges: usize,
    pub corrections: usize,
    /// City lookups that hit a corrupt record (answered as unknown).
    pub lookup_errors: u64,
}

impl GeoStats {
    /// True when a city database is loaded.
    pub fn has_city(&self) -> bool {
        !self.city_files.is_empty()
    }

    /// True when DB-IP data is in use: [`crate::ATTRIBUTION`] must then be
    /// shown with a link to [`crate::ATTRIBUTION_URL`].
    pub fn needs_attribution(&self) -> bool {
        self.city_files
            .iter()
            .any(|f| f.schema == crate::CitySchema::DbIp)
    }
}

impl fmt::Display for GeoStats {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.city_files.is_empty() {
            writeln!(f, "city: none (locations unknown)")?;
        }
        for c in &self.city_files {
            let d = c.built.civil(0);
            writeln!(
                f,
                "city: {} [{} schema, {:?}, IPv{}, {} nodes, built {:04}-{:02}-{:02}]",
                c.path.display(),
                c.schema,
                c.database_type,
                c.ip_version,
                c.node_count,
                d.year,
                d.month,
                d.day
            )?;
        }
        match &self.asn {
            None => writeln!(f, "asn: none")?,
            Some(a) => {
                let files: Vec<String> = a.files.iter().map(|p| p.display().to_string()).collect();
                writeln!(
                    f,
                    "asn: {} [{} IPv4 ranges, {} IPv6 ranges, {} organisations, {} overlaps resolved]",
                    files.join(", "),
                    a.v4_ranges,
                    a.v6_ranges,
                    a.organisations,
                    a.overlaps_resolved
                )?;
            }
        }
        writeln!(
            f,
            "datacenter ASNs: {} ({} built in)",
            self.datacenter_asns, self.datacenter_builtin
        )?;
        for l in &self.anonymizer_lists {
            writeln!(
                f,
                "anonymizer: {} [{}, {} entries]",
                l.origin.display(),
                l.kind.as_str(),
                l.entries
            )?;
        }
        write!(
            f,
            "org ranges: {}; corrections: {}; lookup errors: {}",
            self.org_ranges, self.corrections, self.lookup_errors
        )?;
        if self.needs_attribution() {
            write!(f, "\n{} ({})", crate::ATTRIBUTION, crate::ATTRIBUTION_URL)?;
        }
        Ok(())
    }
}
