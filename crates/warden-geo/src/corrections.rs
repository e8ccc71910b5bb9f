//! Admin geolocation corrections.
//!
//! Users report wrong locations; admins record where a range really is.
//! Corrections form a longest-prefix-match table that is consulted before
//! the database: the most specific correction wins, and for the very same
//! network the most recently created one.

use std::net::IpAddr;

use ipnet::IpNet;
use warden_core::{GeoCorrection, Location, Timestamp};

use crate::prefix::PrefixTable;

#[derive(Debug, Clone)]
struct Entry {
    location: Location,
    created_at: Timestamp,
}

/// A compiled set of corrections.
#[derive(Debug, Clone, Default)]
pub struct Corrections {
    table: PrefixTable<Entry>,
}

impl Corrections {
    pub fn new(corrections: impl IntoIterator<Item = GeoCorrection>) -> Self {
        let mut table: PrefixTable<Entry> = PrefixTable::new();
        for c in corrections {
            let entry = Entry {
                location: c.location,
                created_at: c.created_at,
            };
            match table.get_mut(c.network) {
                Some(old) if old.created_at > entry.created_at => {}
                Some(old) => *old = entry,
                None => {
                    table.insert(c.network, entry);
                }
            }
        }
        Corrections { table }
    }

    /// The corrected location for `ip` and the network it was set for.
    pub fn lookup(&self, ip: IpAddr) -> Option<(IpNet, &Location)> {
        self.table.lookup(ip).map(|(net, e)| (net, &e.location))
    }

    /// Distinct corrected networks.
    pub fn len(&self) -> usize {
        self.table.len()
    }

    pub fn is_empty(&self) -> bool {
        self.table.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    fn corr(net: &str, city: &str, at: i64) -> GeoCorrection {
        GeoCorrection {
            network: net.parse().unwrap(),
            location: Location {
                city: Some(Arc::from(city)),
                ..Location::default()
            },
            note: None,
            created_at: Timestamp::from_secs(at),
        }
    }

    #[test]
    fn newest_correction_for_the_same_network_wins() {
        let c = Corrections::new([
            corr("192.0.2.0/24", "new", 20),
            corr("192.0.2.0/24", "old", 10),
        ]);
        let (_, loc) = c.lookup("192.0.2.1".parse().unwrap()).unwrap();
        assert_eq!(loc.city.as_deref(), Some("new"));
        assert_eq!(c.len(), 1);
    }
}
