//! Which autonomous systems are hosting / cloud / datacenter networks.
//!
//! The maintained list `data/datacenter-asns.txt` is compiled in; sites add
//! their own ASNs through configuration. The list format is one AS number
//! per line (optionally `AS`-prefixed), `#` comments and blank lines.

use std::collections::HashSet;
use std::path::Path;

use crate::error::{GeoError, LineError};
use crate::intern::FnvBuild;

/// The shipped list.
pub const BUILTIN_LIST: &str = include_str!("../data/datacenter-asns.txt");

/// A set of datacenter AS numbers.
#[derive(Debug, Clone, Default)]
pub struct DatacenterAsns {
    set: HashSet<u32, FnvBuild>,
    builtin: usize,
}

/// Parses an AS number list; `origin` names the text in errors.
pub fn parse_asn_list(text: &str, origin: impl AsRef<Path>) -> Result<Vec<u32>, GeoError> {
    let mut out = Vec::new();
    for (i, raw) in text.lines().enumerate() {
        let l = raw.split('#').next().unwrap_or_default().trim();
        if l.is_empty() {
            continue;
        }
        let digits = l
            .strip_prefix("AS")
            .or_else(|| l.strip_prefix("as"))
            .unwrap_or(l);
        let asn = digits.parse::<u32>().map_err(|_| {
            GeoError::line(
                origin.as_ref(),
                i as u64 + 1,
                LineError::BadAsn {
                    value: l.to_string(),
                },
            )
        })?;
        out.push(asn);
    }
    Ok(out)
}

impl DatacenterAsns {
    /// The compiled-in list. (A unit test guarantees it parses; were it
    /// ever broken the set would start empty rather than panic.)
    pub fn builtin() -> Self {
        let set: HashSet<u32, FnvBuild> = parse_asn_list(BUILTIN_LIST, "datacenter-asns.txt")
            .unwrap_or_default()
            .into_iter()
            .collect();
        DatacenterAsns {
            builtin: set.len(),
            set,
        }
    }

    /// An empty set (no built-in list).
    pub fn empty() -> Self {
        Self::default()
    }

    /// Adds site-specific ASNs.
    pub fn extend(&mut self, asns: impl IntoIterator<Item = u32>) {
        self.set.extend(asns);
    }

    pub fn contains(&self, asn: u32) -> bool {
        self.set.contains(&asn)
    }

    /// Total distinct ASNs.
    pub fn len(&self) -> usize {
        self.set.len()
    }

    pub fn is_empty(&self) -> bool {
        self.set.is_empty()
    }

    /// How many came from the built-in list.
    pub fn builtin_len(&self) -> usize {
        self.builtin
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builtin_list_parses_and_names_the_big_clouds() {
        let list = parse_asn_list(BUILTIN_LIST, "datacenter-asns.txt").unwrap();
        let unique: HashSet<u32> = list.iter().copied().collect();
        assert_eq!(unique.len(), list.len(), "duplicate ASN in the list");
        let dc = DatacenterAsns::builtin();
        assert!(dc.len() >= 100);
        assert_eq!(dc.builtin_len(), dc.len());
        // AWS, Google, Azure, Alibaba, Tencent, DigitalOcean, OVH, Hetzner, Vultr.
        for asn in [16509, 15169, 8075, 45102, 45090, 14061, 16276, 24940, 20473] {
            assert!(dc.contains(asn), "{asn}");
        }
        // China Telecom's backbone is not a datacenter network.
        assert!(!dc.contains(4134));
    }

    #[test]
    fn extras_and_bad_lines() {
        let mut dc = DatacenterAsns::empty();
        dc.extend(parse_asn_list("# ours\nAS64500\n64501 # lab\n\n", "x").unwrap());
        assert!(dc.contains(64500) && dc.contains(64501));
        assert_eq!(dc.len(), 2);
        let err = parse_asn_list("1\n2\nthree\n", "site.txt").unwrap_err();
        assert_eq!(err.line_number(), Some(3));
        assert!(err.to_string().starts_with("site.txt:3:"), "{err}");
    }
}
