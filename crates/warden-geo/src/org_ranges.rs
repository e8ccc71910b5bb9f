//! The organisation's own networks: office egress, corporate VPN, ...
//!
//! Named CIDRs from configuration. A login from one of them is "from the
//! office"; the range's name ends up in `Network.org_range`. The most
//! specific range wins; configuring the same network twice keeps the last
//! name.

use std::net::IpAddr;

use ipnet::IpNet;
use warden_core::Name;

use crate::prefix::PrefixTable;

/// Named organisation ranges.
#[derive(Debug, Clone, Default)]
pub struct OrgRanges {
    table: PrefixTable<Name>,
}

impl OrgRanges {
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds (or renames) a range.
    pub fn add(&mut self, name: impl Into<Name>, net: IpNet) {
        self.table.insert(net, name.into());
    }

    /// The name of the most specific range containing `ip`.
    pub fn lookup(&self, ip: IpAddr) -> Option<Name> {
        self.table.lookup(ip).map(|(_, n)| Name::clone(n))
    }

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

    #[test]
    fn most_specific_range_names_the_address() {
        let mut o = OrgRanges::new();
        o.add("hq", "203.0.113.0/24".parse().unwrap());
        o.add("hq-vpn", "203.0.113.128/25".parse().unwrap());
        o.add("v6-office", "2001:db8:42::/48".parse().unwrap());
        let at = |o: &OrgRanges, s: &str| o.lookup(s.parse().unwrap());
        assert_eq!(at(&o, "203.0.113.5").as_deref(), Some("hq"));
        assert_eq!(at(&o, "203.0.113.200").as_deref(), Some("hq-vpn"));
        assert_eq!(at(&o, "2001:db8:42::9").as_deref(), Some("v6-office"));
        assert_eq!(at(&o, "198.51.100.1"), None);
        o.add("renamed", "203.0.113.0/24".parse().unwrap());
        assert_eq!(at(&o, "203.0.113.5").as_deref(), Some("renamed"));
        assert_eq!(o.len(), 3);
    }
}
