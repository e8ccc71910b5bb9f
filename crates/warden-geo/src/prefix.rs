//! Longest-prefix-match tables over IPv4 and IPv6 networks.
//!
//! One small wrapper around `prefix-trie`'s joint map, shared by the
//! anonymizer ranges, the organisation's own ranges and the admin
//! corrections. Networks are canonicalised on insert: host bits are
//! cleared and IPv4-mapped IPv6 networks (`::ffff:a.b.c.d/n`, n ≥ 96)
//! become plain IPv4, matching how addresses are normalised on lookup.

use std::net::IpAddr;

use ipnet::{IpNet, Ipv4Net, Ipv6Net};
use prefix_trie::joint::JointPrefixMap;

/// A map from networks to values answering longest-prefix matches.
#[derive(Debug, Clone)]
pub struct PrefixTable<T> {
    map: JointPrefixMap<IpNet, T>,
}

impl<T> Default for PrefixTable<T> {
    fn default() -> Self {
        PrefixTable {
            map: JointPrefixMap::new(),
        }
    }
}

/// The canonical form of a network (see the module docs).
pub fn canonical_net(net: IpNet) -> IpNet {
    match net {
        IpNet::V6(v6) if v6.prefix_len() >= 96 => match v6.network().to_ipv4_mapped() {
            Some(v4) => Ipv4Net::new(v4, v6.prefix_len() - 96)
                .map(IpNet::V4)
                .unwrap_or(net),
            None => net.trunc(),
        },
        other => other.trunc(),
    }
}

/// The host network (/32 or /128) of an address.
pub fn host_net(ip: IpAddr) -> IpNet {
    match ip {
        IpAddr::V4(a) => IpNet::V4(Ipv4Net::from(a)),
        IpAddr::V6(a) => IpNet::V6(Ipv6Net::from(a)),
    }
}

impl<T> PrefixTable<T> {
    pub fn new() -> Self {
        Self::default()
    }

    /// Inserts (or replaces) the value for `net`; returns the old value.
    pub fn insert(&mut self, net: IpNet, value: T) -> Option<T> {
        self.map.insert(canonical_net(net), value)
    }

    /// The value stored for exactly `net`, mutably.
    pub fn get_mut(&mut self, net: IpNet) -> Option<&mut T> {
        self.map.get_mut(&canonical_net(net))
    }

    /// The most specific network containing `ip`, with its value. The
    /// address is expected to be normalised already.
    pub fn lookup(&self, ip: IpAddr) -> Option<(IpNet, &T)> {
        self.map.get_lpm(&host_net(ip))
    }

    pub fn len(&self) -> usize {
        self.map.len()
    }

    pub fn is_empty(&self) -> bool {
        self.map.len() == 0
    }

    /// All entries (IPv4 first, then IPv6, each in address order).
    pub fn iter(&self) -> impl Iterator<Item = (IpNet, &T)> {
        self.map.iter()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn net(s: &str) -> IpNet {
        s.parse().unwrap()
    }

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn longest_prefix_wins() {
        let mut t = PrefixTable::new();
        t.insert(net("10.0.0.0/8"), "wide");
        t.insert(net("10.1.0.0/16"), "narrow");
        t.insert(net("2001:db8::/32"), "v6");
        assert_eq!(
            t.lookup(ip("10.1.2.3")),
            Some((net("10.1.0.0/16"), &"narrow"))
        );
        assert_eq!(t.lookup(ip("10.2.0.1")), Some((net("10.0.0.0/8"), &"wide")));
        assert_eq!(t.lookup(ip("11.0.0.1")), None);
        assert_eq!(t.lookup(ip("2001:db8::1")).map(|x| *x.1), Some("v6"));
        assert_eq!(t.lookup(ip("2001:db9::1")), None);
        assert_eq!(t.len(), 3);
    }

    #[test]
    fn networks_are_canonicalised() {
        assert_eq!(canonical_net(net("10.1.2.3/8")), net("10.0.0.0/8"));
        assert_eq!(
            canonical_net(net("::ffff:192.0.2.0/120")),
            net("192.0.2.0/24")
        );
        assert_eq!(
            canonical_net(net("::ffff:192.0.2.7/128")),
            net("192.0.2.7/32")
        );
        assert_eq!(canonical_net(net("2001:db8::1/32")), net("2001:db8::/32"));
        let mut t = PrefixTable::new();
        t.insert(net("::ffff:192.0.2.0/120"), 1);
        assert_eq!(t.lookup(ip("192.0.2.9")).map(|x| *x.1), Some(1));
    }
}
