//! Access rules that refuse a login whatever its risk: a blocklist of
//! addresses, an allowlist (when set, only those addresses), a geo-fence
//! (allowed countries) and allowed protocols. They come from the policy
//! (`policy.access`) and are checked before anything else, so a refused
//! login never reaches a password check.

use std::net::IpAddr;

use ipnet::IpNet;

use crate::domain::{Country, IpInfo, Protocol};
use crate::policy::{Access, InvalidPolicy};

/// Which rule refused the login.
#[derive(Debug, Clone, PartialEq)]
pub enum AccessRule {
    /// The address is in this blocked network.
    Blocked(IpNet),
    /// The user said a login from this network was not theirs: it is
    /// refused for their account (not a policy rule; see
    /// [`crate::answered::SourceBlock`]).
    BlockedForAccount(IpNet),
    /// An allowlist is set and the address is not on it.
    NotAllowlisted,
    /// The login comes from a country outside the geo-fence (`None`: the
    /// country is unknown).
    Country(Option<Country>),
    /// The protocol is not allowed.
    Protocol(Protocol),
    /// A rule of an organisation's, group's or user's policy (see
    /// [`crate::scoped`]), with the policy's name, scope and version.
    Policy(Box<crate::scoped::PolicyRefusal>),
}

/// [`Access`] parsed once.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct AccessRules {
    blocklist: Vec<IpNet>,
    allowlist: Vec<IpNet>,
    countries: Vec<Country>,
    protocols: Vec<Protocol>,
}

fn networks(field: &str, list: &[String]) -> Result<Vec<IpNet>, InvalidPolicy> {
    list.iter()
        .map(|s| {
            let s = s.trim();
            s.parse::<IpNet>()
                .or_else(|_| s.parse::<IpAddr>().map(IpNet::from))
                .map(|n| n.trunc())
                .map_err(|_| {
                    InvalidPolicy(format!("access.{field}: {s:?} is not an address or CIDR"))
                })
        })
        .collect()
}

impl AccessRules {
    /// Parses the policy's lists; an unparsable entry is an error.
    pub fn new(a: &Access) -> Result<Self, InvalidPolicy> {
        Ok(AccessRules {
            blocklist: networks("blocklist", &a.blocklist)?,
            allowlist: networks("allowlist", &a.allowlist)?,
            countries: a
                .countries
                .iter()
                .map(|c| {
                    Country::new(c.trim())
                        .map_err(|e| InvalidPolicy(format!("access.countries: {e}")))
                })
                .collect::<Result<_, _>>()?,
            protocols: a
                .protocols
                .iter()
                .map(|p| {
                    p.parse()
                        .map_err(|e| InvalidPolicy(format!("access.protocols: {e}")))
                })
                .collect::<Result<_, _>>()?,
        })
    }

    /// The first rule the login breaks, if any. The organisation's own
    /// ranges pass the geo-fence (a corporate VPN abroad).
    pub fn check(&self, ip: &IpInfo, protocol: Protocol) -> Option<AccessRule> {
        if let Some(n) = self.blocklist.iter().find(|n| n.contains(&ip.ip)) {
            return Some(AccessRule::Blocked(*n));
        }
        if !self.allowlist.is_empty() && !self.allowlist.iter().any(|n| n.contains(&ip.ip)) {
            return Some(AccessRule::NotAllowlisted);
        }
        let country = ip.location.country;
        if !self.countries.is_empty()
            && ip.network.org_range.is_none()
            && !country.is_some_and(|c| self.countries.contains(&c))
        {
            return Some(AccessRule::Country(country));
        }
        if !self.protocols.is_empty() && !self.protocols.contains(&protocol) {
            return Some(AccessRule::Protocol(protocol));
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::{Location, Network};

    fn info(ip: &str, country: Option<&str>, org: bool) -> IpInfo {
        IpInfo {
            ip: ip.parse().unwrap(),
            location: Location {
                country: country.map(|c| Country::new(c).unwrap()),
                ..Location::default()
            },
            network: Network {
                org_range: org.then(|| "HQ".into()),
                ..Network::default()
            },
            corrected: false,
        }
    }

    fn rules(
        block: &[&str],
        allow: &[&str],
        countries: &[&str],
        protocols: &[&str],
    ) -> AccessRules {
        let s = |v: &[&str]| v.iter().map(|x| x.to_string()).collect();
        AccessRules::new(&Access {
            blocklist: s(block),
            allowlist: s(allow),
            countries: s(countries),
            protocols: s(protocols),
        })
        .unwrap()
    }

    #[test]
    fn each_rule_refuses_what_it_names_and_nothing_else() {
        let r = rules(
            &["203.0.113.0/24", "198.51.100.7"],
            &[],
            &["CN", "hk"],
            &["imap", "smtp"],
        );
        let cn = info("113.88.1.10", Some("CN"), false);
        assert_eq!(r.check(&cn, Protocol::Imap), None);
        assert!(matches!(
            r.check(&info("203.0.113.9", Some("CN"), false), Protocol::Imap),
            Some(AccessRule::Blocked(n)) if n.to_string() == "203.0.113.0/24"
        ));
        assert!(matches!(
            r.check(&info("198.51.100.7", Some("CN"), false), Protocol::Imap),
            Some(AccessRule::Blocked(_))
        ));
        let ng = info("105.112.1.1", Some("NG"), false);
        assert_eq!(
            r.check(&ng, Protocol::Imap),
            Some(AccessRule::Country(Country::new("NG").ok()))
        );
        assert_eq!(
            r.check(&info("105.112.1.1", None, false), Protocol::Imap),
            Some(AccessRule::Country(None))
        );
        // The organisation's own range abroad passes the fence.
        assert_eq!(
            r.check(&info("3.1.1.1", Some("US"), true), Protocol::Imap),
            None
        );
        assert_eq!(
            r.check(&cn, Protocol::Pop3),
            Some(AccessRule::Protocol(Protocol::Pop3))
        );
        let only = rules(&[], &["10.0.0.0/8"], &[], &[]);
        assert_eq!(
            only.check(&info("10.1.2.3", None, false), Protocol::Web),
            None
        );
        assert_eq!(
            only.check(&cn, Protocol::Web),
            Some(AccessRule::NotAllowlisted)
        );
        assert_eq!(AccessRules::default().check(&ng, Protocol::Pop3), None);
    }

    #[test]
    fn bad_entries_are_policy_errors() {
        let bad = |a: Access| AccessRules::new(&a).unwrap_err().to_string();
        assert!(bad(Access {
            blocklist: vec!["300.1.1.1".into()],
            ..Access::default()
        })
        .contains("access.blocklist"));
        assert!(bad(Access {
            countries: vec!["China".into()],
            ..Access::default()
        })
        .contains("access.countries"));
        assert!(bad(Access {
            protocols: vec!["gopher".into()],
            ..Access::default()
        })
        .contains("access.protocols"));
    }
}
