//! Anonymising infrastructure: Tor exits, VPN and proxy ranges.
//!
//! Lists are plain text files, one CIDR or single address per line, `#`
//! comments (whole-line or trailing) and blank lines allowed; each file is
//! loaded with the [`AnonymizerKind`] it describes. Lookups are
//! longest-prefix matches. When two lists name the very same network the
//! stronger kind is kept (Tor over VPN over proxy).

use std::net::IpAddr;
use std::path::{Path, PathBuf};

use ipnet::IpNet;
use warden_core::AnonymizerKind;

use crate::error::{GeoError, LineError};
use crate::prefix::{host_net, PrefixTable};

/// One loaded list, for `describe()`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AnonymizerListInfo {
    pub origin: PathBuf,
    pub kind: AnonymizerKind,
    pub entries: usize,
}

/// All anonymizer ranges.
#[derive(Debug, Clone, Default)]
pub struct AnonymizerRanges {
    table: PrefixTable<AnonymizerKind>,
    lists: Vec<AnonymizerListInfo>,
}

/// Parses a CIDR list (see the module docs); `origin` names it in errors.
pub fn parse_cidr_list(text: &str, origin: impl AsRef<Path>) -> Result<Vec<IpNet>, GeoError> {
    let mut out = Vec::new();
    for (i, raw) in text.lines().enumerate() {
        let l = raw.split('#').next().unwrap_or_default().trim();
        if l.is_empty() {
            continue;
        }
        let net = l
            .parse::<IpNet>()
            .ok()
            .or_else(|| l.parse::<IpAddr>().ok().map(host_net))
            .ok_or_else(|| {
                GeoError::line(
                    origin.as_ref(),
                    i as u64 + 1,
                    LineError::BadCidr {
                        value: l.to_string(),
                    },
                )
            })?;
        out.push(net);
    }
    Ok(out)
}

fn strength(kind: AnonymizerKind) -> u8 {
    match kind {
        AnonymizerKind::Tor => 3,
        AnonymizerKind::Vpn => 2,
        AnonymizerKind::Proxy => 1,
    }
}

impl AnonymizerRanges {
    pub fn new() -> Self {
        Self::default()
    }

    /// Loads a list file of `kind`.
    pub fn add_file(&mut self, path: &Path, kind: AnonymizerKind) -> Result<usize, GeoError> {
        let text = std::fs::read_to_string(path).map_err(|e| GeoError::io(path, e))?;
        self.add_list(&text, path, kind)
    }

    /// Adds list text of `kind`; `origin` names it in errors and stats.
    /// Returns the number of entries read.
    pub fn add_list(
        &mut self,
        text: &str,
        origin: impl AsRef<Path>,
        kind: AnonymizerKind,
    ) -> Result<usize, GeoError> {
        let nets = parse_cidr_list(text, origin.as_ref())?;
        for net in &nets {
            self.add(*net, kind);
        }
        self.lists.push(AnonymizerListInfo {
            origin: origin.as_ref().to_path_buf(),
            kind,
            entries: nets.len(),
        });
        Ok(nets.len())
    }

    /// Adds one network.
    pub fn add(&mut self, net: IpNet, kind: AnonymizerKind) {
        match self.table.get_mut(net) {
            Some(old) if strength(*old) >= strength(kind) => {}
            Some(old) => *old = kind,
            None => {
                self.table.insert(net, kind);
            }
        }
    }

    /// The kind of anonymizer `ip` belongs to, if any.
    pub fn lookup(&self, ip: IpAddr) -> Option<AnonymizerKind> {
        self.table.lookup(ip).map(|(_, k)| *k)
    }

    /// Distinct networks held.
    pub fn len(&self) -> usize {
        self.table.len()
    }

    pub fn is_empty(&self) -> bool {
        self.table.is_empty()
    }

    pub fn lists(&self) -> &[AnonymizerListInfo] {
        &self.lists
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_network_keeps_the_stronger_kind() {
        let mut a = AnonymizerRanges::new();
        a.add("198.51.100.0/24".parse().unwrap(), AnonymizerKind::Proxy);
        a.add("198.51.100.0/24".parse().unwrap(), AnonymizerKind::Tor);
        a.add("198.51.100.0/24".parse().unwrap(), AnonymizerKind::Vpn);
        assert_eq!(
            a.lookup("198.51.100.1".parse().unwrap()),
            Some(AnonymizerKind::Tor)
        );
        assert_eq!(a.len(), 1);
    }

    #[test]
    fn list_syntax() {
        let nets = parse_cidr_list(
            "# header\n\n 192.0.2.0/24 \n192.0.2.77 # one host\n2001:db8::/48\n2001:db8:1::5\n",
            "x",
        )
        .unwrap();
        let want: Vec<IpNet> = [
            "192.0.2.0/24",
            "192.0.2.77/32",
            "2001:db8::/48",
            "2001:db8:1::5/128",
        ]
        .iter()
        .map(|s| s.parse().unwrap())
        .collect();
        assert_eq!(nets, want);
        let err = parse_cidr_list("192.0.2.0/24\n192.0.2.0/33\n", "tor.txt").unwrap_err();
        assert_eq!(err.line_number(), Some(2));
        assert!(err.to_string().contains("tor.txt:2"), "{err}");
    }
}
