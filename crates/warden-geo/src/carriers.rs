//! Carrier groups: large carriers announce many AS numbers for one network
//! (China Mobile per province, TieTong; China Telecom; China Unicom). The
//! shipped table `data/carrier-groups.tsv` maps organisation names to the
//! group's main AS number, so a phone moving between a carrier's provincial
//! networks stays on one known network.

/// The shipped table.
pub const BUILTIN_TABLE: &str = include_str!("../data/carrier-groups.tsv");

/// Organisation-name patterns and the group AS number they map to.
#[derive(Debug, Clone)]
pub struct CarrierGroups {
    patterns: Vec<(String, u32)>,
}

impl CarrierGroups {
    /// The shipped table. (A unit test guarantees every line parses; a
    /// broken line would be skipped rather than panic.)
    pub fn builtin() -> Self {
        let patterns = BUILTIN_TABLE
            .lines()
            .map(str::trim)
            .filter(|l| !l.is_empty() && !l.starts_with('#'))
            .filter_map(|l| {
                let mut parts = l.split('\t');
                let pattern = parts.next()?.trim().to_lowercase();
                let asn = parts.next()?.trim().parse().ok()?;
                Some((pattern, asn))
            })
            .collect();
        CarrierGroups { patterns }
    }

    /// The group of an organisation, if it belongs to one (ASCII
    /// case-insensitive, without allocating: it runs for every organisation
    /// of the ASN table at load).
    pub fn group_of(&self, organisation: &str) -> Option<u32> {
        let org = organisation.as_bytes();
        self.patterns
            .iter()
            .find(|(p, _)| {
                let p = p.as_bytes();
                p.len() <= org.len()
                    && org
                        .windows(p.len())
                        .any(|w| w[0].eq_ignore_ascii_case(&p[0]) && w.eq_ignore_ascii_case(p))
            })
            .map(|(_, asn)| *asn)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_line_of_the_table_parses() {
        let lines = BUILTIN_TABLE
            .lines()
            .filter(|l| !l.trim().is_empty() && !l.starts_with('#'))
            .count();
        assert_eq!(CarrierGroups::builtin().patterns.len(), lines);
    }

    #[test]
    fn provincial_networks_fall_into_their_carrier() {
        let g = CarrierGroups::builtin();
        assert_eq!(
            g.group_of("China Mobile Communications Corporation"),
            Some(9808)
        );
        assert_eq!(
            g.group_of("China TieTong Telecommunications Corporation"),
            Some(9808)
        );
        assert_eq!(g.group_of("Chinanet"), Some(4134));
        assert_eq!(g.group_of("China Telecom (Group)"), Some(4134));
        assert_eq!(
            g.group_of("China Unicom Beijing Province Network"),
            Some(4837)
        );
        assert_eq!(g.group_of("Amazon.com, Inc."), None);
    }
}
