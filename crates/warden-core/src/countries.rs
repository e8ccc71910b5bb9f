//! Country names in English and Chinese for reason texts, from the CLDR
//! table in `data/countries.tsv`.

use std::collections::HashMap;
use std::sync::OnceLock;

use crate::domain::Country;

const TABLE: &str = include_str!("../data/countries.tsv");

fn table() -> &'static HashMap<&'static str, (&'static str, &'static str)> {
    static T: OnceLock<HashMap<&'static str, (&'static str, &'static str)>> = OnceLock::new();
    T.get_or_init(|| {
        TABLE
            .lines()
            .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
            .filter_map(|l| {
                let mut f = l.split('\t');
                Some((f.next()?, (f.next()?, f.next()?)))
            })
            .collect()
    })
}

/// Whether the country table knows the code.
pub fn is_known(c: Country) -> bool {
    table().contains_key(c.as_str())
}

/// The English name, or the code itself when unknown.
pub fn name_en(c: Country) -> &'static str {
    table()
        .get(c.as_str())
        .map(|(en, _)| *en)
        .unwrap_or_else(|| leak_code(c))
}

/// The Chinese name, or the code itself when unknown.
pub fn name_zh(c: Country) -> &'static str {
    table()
        .get(c.as_str())
        .map(|(_, zh)| *zh)
        .unwrap_or_else(|| leak_code(c))
}

fn leak_code(c: Country) -> &'static str {
    // Codes are two ASCII letters; keep one static copy of each seen.
    static CODES: OnceLock<std::sync::Mutex<HashMap<Country, &'static str>>> = OnceLock::new();
    let mut m = CODES
        .get_or_init(Default::default)
        .lock()
        .unwrap_or_else(|e| e.into_inner());
    m.entry(c)
        .or_insert_with(|| Box::leak(c.as_str().to_string().into_boxed_str()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_and_unknown_codes() {
        let ng = Country::new("NG").unwrap();
        assert_eq!(name_en(ng), "Nigeria");
        assert_eq!(name_zh(ng), "尼日利亚");
        assert_eq!(name_zh(Country::new("CN").unwrap()), "中国");
        assert!(table().len() > 240);
        assert_eq!(name_en(Country::new("QQ").unwrap()), "QQ");
    }
}
