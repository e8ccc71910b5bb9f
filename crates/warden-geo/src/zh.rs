//! Chinese names for places whose database carries only English names.
//!
//! DB-IP Lite has no localised names, but Warden's users read Chinese. The
//! table `data/zh-names.tsv` (compiled in) maps the English spellings DB-IP
//! uses to Chinese: every provincial-level division of China, the largest
//! Chinese cities and a few dozen big world cities. A key may be qualified
//! as `City, Region` for names that exist in several provinces (Suzhou 苏州
//! in Jiangsu, 宿州 in Anhui). DB-IP city names of the form
//! `Guangzhou (Tianhe Qu)` fall back to the part before ` (`.

use std::collections::HashMap;
use std::sync::{Arc, OnceLock};

use warden_core::Name;

use crate::intern::FnvBuild;

/// The table as shipped.
pub const BUILTIN_TSV: &str = include_str!("../data/zh-names.tsv");

#[derive(Debug, Default)]
struct Entry {
    plain: Option<Name>,
    by_region: Vec<(&'static str, Name)>,
}

/// English name → Chinese name, with optional per-region overrides.
#[derive(Debug, Default)]
pub struct ZhNames {
    map: HashMap<&'static str, Entry, FnvBuild>,
    len: usize,
}

/// A malformed line in a names table.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("zh-names.tsv:{line}: {reason}")]
pub struct ZhParseError {
    pub line: usize,
    pub reason: &'static str,
}

impl ZhNames {
    /// Parses `English<TAB>Chinese` lines; `#` starts a comment line.
    pub fn parse(text: &'static str) -> Result<Self, ZhParseError> {
        let mut table = ZhNames::default();
        for (i, raw) in text.lines().enumerate() {
            let line = i + 1;
            let l = raw.trim_end_matches('\r');
            if l.trim().is_empty() || l.trim_start().starts_with('#') {
                continue;
            }
            let err = |reason| ZhParseError { line, reason };
            let mut cols = l.split('\t');
            let (Some(en), Some(zh), None) = (cols.next(), cols.next(), cols.next()) else {
                return Err(err("expected exactly two tab-separated columns"));
            };
            let (en, zh) = (en.trim(), zh.trim());
            if en.is_empty() || zh.is_empty() {
                return Err(err("empty name"));
            }
            let zh: Name = Arc::from(zh);
            match en.split_once(", ") {
                Some((city, region)) => {
                    let e = table.map.entry(city).or_default();
                    if e.by_region.iter().any(|(r, _)| *r == region) {
                        return Err(err("duplicate entry"));
                    }
                    e.by_region.push((region, zh));
                }
                None => {
                    let e = table.map.entry(en).or_default();
                    if e.plain.is_some() {
                        return Err(err("duplicate entry"));
                    }
                    e.plain = Some(zh);
                }
            }
            table.len += 1;
        }
        Ok(table)
    }

    /// The compiled-in table (parsed once).
    pub fn builtin() -> &'static ZhNames {
        static TABLE: OnceLock<ZhNames> = OnceLock::new();
        // The shipped table is checked by a unit test; an unparsable table
        // would degrade to "no Chinese names", never to a panic.
        TABLE.get_or_init(|| ZhNames::parse(BUILTIN_TSV).unwrap_or_default())
    }

    /// Number of entries (plain and qualified).
    pub fn len(&self) -> usize {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The Chinese name of a region (province, state).
    pub fn region(&self, english: &str) -> Option<Name> {
        self.map.get(english)?.plain.clone()
    }

    /// The Chinese name of a city, preferring an entry qualified with its
    /// region; `City (District)` falls back to `City`.
    pub fn city(&self, english: &str, region: Option<&str>) -> Option<Name> {
        self.exact(english, region).or_else(|| {
            let (base, _) = english.split_once(" (")?;
            self.exact(base, region)
        })
    }

    fn exact(&self, english: &str, region: Option<&str>) -> Option<Name> {
        let e = self.map.get(english)?;
        if let Some(region) = region {
            if let Some((_, zh)) = e.by_region.iter().find(|(r, _)| *r == region) {
                return Some(Arc::clone(zh));
            }
        }
        e.plain.clone()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builtin_table_parses_and_covers_all_provinces() {
        let t = ZhNames::parse(BUILTIN_TSV).expect("shipped table parses");
        assert!(t.len() > 150, "{}", t.len());
        for p in [
            "Anhui",
            "Beijing",
            "Chongqing",
            "Fujian",
            "Gansu",
            "Guangdong",
            "Guangxi",
            "Guizhou",
            "Hainan",
            "Hebei",
            "Heilongjiang",
            "Henan",
            "Hubei",
            "Hunan",
            "Inner Mongolia",
            "Jiangsu",
            "Jiangxi",
            "Jilin",
            "Liaoning",
            "Ningxia",
            "Qinghai",
            "Shaanxi",
            "Shandong",
            "Shanghai",
            "Shanxi",
            "Sichuan",
            "Tianjin",
            "Tibet",
            "Xinjiang",
            "Yunnan",
            "Zhejiang",
        ] {
            assert!(t.region(p).is_some(), "{p} missing");
        }
        assert_eq!(t.region("Guangdong").as_deref(), Some("广东"));
        assert_eq!(t.city("Lagos", None).as_deref(), Some("拉各斯"));
    }

    #[test]
    fn qualified_entries_and_district_suffixes() {
        let t = ZhNames::builtin();
        assert_eq!(t.city("Suzhou", Some("Jiangsu")).as_deref(), Some("苏州"));
        assert_eq!(t.city("Suzhou", Some("Anhui")).as_deref(), Some("宿州"));
        assert_eq!(t.city("Suzhou", None).as_deref(), Some("苏州"));
        assert_eq!(
            t.city("Guangzhou (Tianhe Qu)", Some("Guangdong"))
                .as_deref(),
            Some("广州")
        );
        assert_eq!(
            t.city("Taizhou (Hailing Qu)", Some("Jiangsu")).as_deref(),
            Some("泰州")
        );
        // Qingyuan in DB-IP is mostly a place in Hunan, not 清远.
        assert_eq!(t.city("Qingyuan", Some("Hunan")), None);
        assert_eq!(
            t.city("Qingyuan", Some("Guangdong")).as_deref(),
            Some("清远")
        );
        assert_eq!(t.city("Atlantis", None), None);
    }

    #[test]
    fn repeated_lookups_share_one_allocation() {
        let t = ZhNames::builtin();
        let a = t.city("Shenzhen", Some("Guangdong")).unwrap();
        let b = t.city("Shenzhen", None).unwrap();
        assert!(Arc::ptr_eq(&a, &b));
    }

    #[test]
    fn malformed_tables_are_rejected_with_line_numbers() {
        let e = ZhNames::parse("# c\nLondon\t伦敦\nParis\n").unwrap_err();
        assert_eq!(e.line, 3);
        let e = ZhNames::parse("London\t伦敦\nLondon\t伦敦\n").unwrap_err();
        assert_eq!((e.line, e.reason), (2, "duplicate entry"));
        let e = ZhNames::parse("A\tB\tC\n").unwrap_err();
        assert_eq!(e.line, 1);
    }
}
