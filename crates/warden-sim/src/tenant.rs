//! The simulated tenant: offices, users, their devices, habits and the life
//! events planned for the period (trips, new phones, password changes).
//!
//! Everything here is drawn once, before any login is generated, from the
//! `tenant` and `user` random streams: the legit and attack generators only
//! read it.
//!
//! - **Offices** are in Chinese cities the geo data actually has (the first
//!   of Shenzhen, Guangzhou, Beijing, Shanghai, Hangzhou, Chengdu... with
//!   enough carrier blocks), each with two fixed egress addresses (two
//!   lines from different carriers when the city has them).
//! - **Users** live in their office's city (a few remote staff elsewhere in
//!   China), on a home broadband carrier picked in proportion to the
//!   carriers' blocks in that city, with a mobile carrier for the phone.
//!   Each has a laptop mail client, usually a phone, sometimes a tablet or
//!   home PC, and a browser for webmail; work hours, how often they work
//!   from home, whether they use the **corporate VPN** (egress: two
//!   addresses of one datacenter outside mainland China, shared by every
//!   VPN user), and a few are night owls.
//! - **Trips** go to another office, another Chinese city or abroad, with
//!   flight times from the great-circle distance.

use std::net::Ipv4Addr;
use std::sync::Arc;

use rand::Rng;
use rand_chacha::ChaCha8Rng;
use warden_core::Protocol;

use crate::pools::{NetClass, PlaceId, Pools};
use crate::rng::{self, Rand};
use crate::time::{DAY, HOUR, MINUTE};
use crate::{SimConfig, SimError};

/// Preferred office cities, head office first.
pub const OFFICE_CITIES: &[&str] = &[
    "Shenzhen",
    "Guangzhou",
    "Beijing",
    "Shanghai",
    "Hangzhou",
    "Chengdu",
    "Nanjing",
    "Wuhan",
];
/// Other Chinese business-trip destinations (when present in the data).
pub const DOMESTIC_DESTINATIONS: &[&str] = &[
    "Nanjing",
    "Chongqing",
    "Xiamen",
    "Suzhou",
    "Tianjin",
    "Kunming",
    "Jinan",
    "Hefei",
];
/// Trip destinations abroad: country and city names to try, in order (DB-IP
/// names some capitals by their central ward).
pub const FOREIGN_DESTINATIONS: &[(&str, &[&str])] = &[
    ("JP", &["Chiyoda City", "Tokyo", "Minato"]),
    ("SG", &["Singapore"]),
    ("GB", &["London"]),
    ("US", &["San Francisco", "New York"]),
    ("DE", &["Frankfurt am Main"]),
    ("KR", &["Seoul"]),
    ("FR", &["Paris"]),
    ("TW", &["Taipei"]),
];
/// Where the corporate VPN egress may be, in order of preference.
pub const VPN_COUNTRIES: &[&str] = &["HK", "SG", "JP", "US"];
/// A city needs this many carrier blocks to host an office.
pub const MIN_OFFICE_BLOCKS: usize = 3;

/// Laptop mail clients: user agent, protocol for fetching mail.
pub const LAPTOP_CLIENTS: &[(&str, Protocol, f64)] = &[
    ("Microsoft Outlook 16.0", Protocol::Imap, 0.33),
    ("Foxmail 7.2.25", Protocol::Imap, 0.22),
    ("Foxmail 7.2.23", Protocol::Pop3, 0.12),
    ("Thunderbird 128", Protocol::Imap, 0.1),
    ("NetEase MailMaster 5.2", Protocol::Imap, 0.08),
    ("Apple Mail (3826.400.131)", Protocol::Imap, 0.1),
    ("Windows Mail 16005", Protocol::Imap, 0.05),
];
/// Phone mail apps.
pub const PHONE_CLIENTS: &[(&str, f64)] = &[
    ("iPhone Mail", 0.5),
    ("NetEase MailMaster Android 7.19", 0.22),
    ("QQMail Android 6.6.1", 0.15),
    ("Foxmail Android 7.2.5", 0.08),
    ("Gmail 2024.11", 0.05),
];
/// Browsers for webmail.
pub const BROWSERS: &[(&str, f64)] = &[
    ("Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36", 0.5),
    ("Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36 Edg/131.0.0.0", 0.25),
    ("Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.6 Safari/605.1.15", 0.15),
    ("Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36", 0.1),
];

const SURNAMES: &[&str] = &[
    "wang", "li", "zhang", "liu", "chen", "yang", "huang", "zhao", "wu", "zhou", "xu", "sun", "ma",
    "zhu", "hu", "guo", "he", "lin", "luo", "gao", "zheng", "liang", "xie", "song", "tang", "han",
    "feng", "deng", "cao", "peng", "zeng", "xiao", "tian", "dong", "pan", "yuan", "cai", "jiang",
    "yu", "du", "ye", "cheng", "wei", "su", "lu", "ding", "ren", "shen", "yao", "fan",
];
const GIVEN: &[&str] = &[
    "wei", "fang", "na", "min", "jing", "li", "qiang", "lei", "jun", "yang", "yong", "yan", "jie",
    "tao", "ming", "chao", "xiuying", "hui", "ping", "gang", "hua", "xin", "yu", "hao", "lin",
    "bin", "hong", "ling", "kai", "peng", "xiaoming", "jianguo", "haiyan", "yiting", "zihan",
    "yuxuan", "haoran", "shuang", "dan", "xue",
];

/// An address and the place the geo data gives it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Addr {
    pub ip: Ipv4Addr,
    pub place: PlaceId,
}

/// An office with its fixed egress addresses.
#[derive(Debug, Clone)]
pub struct Office {
    pub city: PlaceId,
    pub egress: Vec<Addr>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DeviceKind {
    Laptop,
    Phone,
    Tablet,
    HomePc,
}

/// A device with its mail client.
#[derive(Debug, Clone, PartialEq)]
pub struct Device {
    pub id: Arc<str>,
    pub kind: DeviceKind,
    pub user_agent: Arc<str>,
    /// How it fetches mail (IMAP or POP3).
    pub fetch: Protocol,
    /// Whether it also syncs calendars and contacts (CalDAV / CardDAV).
    pub dav: bool,
}

/// When and how a user works.
#[derive(Debug, Clone, PartialEq)]
pub struct Habits {
    /// Local hours (fractional); `sleep` may pass midnight (> 24).
    pub wake: f64,
    pub arrive: f64,
    pub leave: f64,
    pub sleep: f64,
    /// Probability of working from home on a workday.
    pub wfh: f64,
    /// Probability of using the laptop at home on an evening.
    pub evening_laptop: f64,
    /// Probability of a webmail login on a workday.
    pub web: f64,
    /// Mean minutes between the laptop client's logins.
    pub laptop_gap: f64,
    /// Mean minutes between the phone's logins.
    pub phone_gap: f64,
    /// Sends per workday (one SMTP login each).
    pub sends: f64,
}

/// A business trip: the laptop appears at the destination only after the
/// flight.
#[derive(Debug, Clone, PartialEq)]
pub struct Trip {
    pub dest: PlaceId,
    /// The office at the destination, if any.
    pub dest_office: Option<usize>,
    pub foreign: bool,
    /// The hotel's network for the whole stay.
    pub hotel: Addr,
    pub depart: i64,
    pub arrive: i64,
    pub back_depart: i64,
    pub back_arrive: i64,
    /// Flight duration (each way), seconds.
    pub flight: i64,
}

/// A new phone replacing the old one at `at`.
#[derive(Debug, Clone, PartialEq)]
pub struct NewPhone {
    pub at: i64,
    pub device: Device,
}

/// A password change at `at`; `stale` is the device left with the old
/// password and when the user fixes it (`None`: never, in the period).
#[derive(Debug, Clone, PartialEq)]
pub struct PasswordChange {
    pub at: i64,
    pub stale: Option<(Arc<str>, Option<i64>)>,
}

/// One employee.
#[derive(Debug, Clone)]
pub struct User {
    pub index: usize,
    /// The login name, `local@domain`.
    pub name: Arc<str>,
    pub local: String,
    pub home: PlaceId,
    /// `None` for remote staff (always at home).
    pub office: Option<usize>,
    /// The home broadband carrier.
    pub isp: NetClass,
    /// The phone's carrier.
    pub carrier: NetClass,
    pub laptop: Device,
    pub phone: Option<Device>,
    /// A tablet or home PC used at home.
    pub extra: Option<Device>,
    pub browser: Arc<str>,
    pub browser_device: Arc<str>,
    pub habits: Habits,
    pub vpn: bool,
    pub night_owl: bool,
    pub trips: Vec<Trip>,
    pub new_phone: Option<NewPhone>,
    pub password_change: Option<PasswordChange>,
}

/// The whole tenant.
#[derive(Debug, Clone)]
pub struct Tenant {
    pub domain: String,
    /// Unix seconds of the first day's midnight (China time).
    pub start: i64,
    pub days: u32,
    pub offices: Vec<Office>,
    pub users: Vec<User>,
    /// The corporate VPN's egress addresses.
    pub vpn: Vec<Addr>,
}

impl Tenant {
    /// Draws the tenant for `cfg` from `pools`.
    pub fn build(cfg: &SimConfig, pools: &Pools) -> Result<Tenant, SimError> {
        let mut rng = rng::derive(cfg.seed, "tenant", 0);
        let offices = pick_offices(pools, cfg.users, &mut rng)?;
        let vpn = pick_vpn(pools, &mut rng)?;
        let remote_cities: Vec<PlaceId> = pools.cn_places().iter().copied().take(40).collect();
        let domestic = destinations_domestic(pools, &offices);
        let foreign = destinations_foreign(pools);

        // Head office gets the largest share.
        let weights: Vec<(usize, f64)> = (0..offices.len())
            .map(|i| (i, if i == 0 { 2.5 } else { 1.0 }))
            .collect();
        let mut names = Names::default();
        let mut users = Vec::with_capacity(cfg.users);
        for index in 0..cfg.users {
            let mut r = rng::derive(cfg.seed, "user", index as u64);
            let local = names.next(&mut r);
            let remote = r.chance(0.04);
            let (office, home) = if remote {
                let city = *r.choose(&remote_cities).expect("cn places exist");
                (None, city)
            } else {
                let o = *r.weighted(&weights);
                (Some(o), offices[o].city)
            };
            users.push(build_user(
                cfg, pools, index, local, office, home, &offices, &domestic, &foreign, &mut r,
            ));
        }
        Ok(Tenant {
            domain: cfg.domain.clone(),
            start: cfg.start,
            days: cfg.days,
            offices,
            users,
            vpn,
        })
    }

    /// Unix seconds of the end of the period.
    pub fn end(&self) -> i64 {
        self.start + i64::from(self.days) * DAY
    }

    /// The user with this login name.
    pub fn user(&self, name: &str) -> Option<&User> {
        self.users.iter().find(|u| &*u.name == name)
    }
}

fn pick_offices(
    pools: &Pools,
    users: usize,
    rng: &mut ChaCha8Rng,
) -> Result<Vec<Office>, SimError> {
    let wanted = (1 + users / 50).clamp(1, 6);
    let mut cities: Vec<PlaceId> = OFFICE_CITIES
        .iter()
        .filter_map(|c| pools.find_city("CN", c))
        .filter(|&p| pools.cn_blocks(p) >= MIN_OFFICE_BLOCKS)
        .collect();
    cities.dedup();
    if cities.is_empty() {
        // Whatever Chinese cities the data has most of.
        cities = pools
            .cn_places()
            .iter()
            .copied()
            .filter(|&p| pools.cn_blocks(p) >= MIN_OFFICE_BLOCKS)
            .take(wanted)
            .collect();
    }
    if cities.is_empty() {
        return Err(SimError::NoPlaces(
            "no Chinese city with carrier (China Telecom / Unicom / Mobile) networks".into(),
        ));
    }
    cities.truncate(wanted);
    Ok(cities
        .into_iter()
        .map(|city| {
            // Two lines, from different carriers where possible.
            let mut egress = Vec::new();
            let mut carriers: Vec<NetClass> = NetClass::CN_CARRIERS
                .into_iter()
                .filter(|c| !pools.blocks_in(city, *c).is_empty())
                .collect();
            carriers.sort_by_key(|c| std::cmp::Reverse(pools.blocks_in(city, *c).len()));
            for i in 0..2 {
                let c = carriers[i.min(carriers.len() - 1)];
                let (ip, place) = pools
                    .pick_in(pools.blocks_in(city, c), rng)
                    .expect("carrier has blocks");
                egress.push(Addr { ip, place });
            }
            Office { city, egress }
        })
        .collect())
}

fn pick_vpn(pools: &Pools, rng: &mut ChaCha8Rng) -> Result<Vec<Addr>, SimError> {
    let mut blocks: Vec<u32> = Vec::new();
    for cc in VPN_COUNTRIES {
        blocks = pools.blocks_in_country(NetClass::Datacenter, cc).to_vec();
        if !blocks.is_empty() {
            break;
        }
    }
    if blocks.is_empty() {
        blocks = pools
            .blocks_of(NetClass::Datacenter)
            .iter()
            .copied()
            .filter(|&b| pools.place(pools.block(b).place).country != "CN")
            .collect();
    }
    let Some(&first) = rng.choose(&blocks) else {
        return Err(SimError::NoPlaces(
            "no datacenter network outside China for the corporate VPN".into(),
        ));
    };
    // Two gateways of the same provider in the same city.
    let b = *pools.block(first);
    let mut egress = vec![Addr {
        ip: b.pick(rng),
        place: b.place,
    }];
    let siblings: Vec<u32> = blocks
        .iter()
        .copied()
        .filter(|&i| pools.block(i).asn == b.asn && pools.block(i).place == b.place)
        .collect();
    for _ in 0..16 {
        let s = pools.block(*rng.choose(&siblings).expect("contains the first"));
        let ip = s.pick(rng);
        if ip != egress[0].ip {
            egress.push(Addr { ip, place: s.place });
            break;
        }
    }
    Ok(egress)
}

/// Chinese trip destinations: other offices come first (see `build_user`).
fn destinations_domestic(pools: &Pools, offices: &[Office]) -> Vec<PlaceId> {
    let mut v: Vec<PlaceId> = DOMESTIC_DESTINATIONS
        .iter()
        .filter_map(|c| pools.find_city("CN", c))
        .filter(|&p| pools.cn_blocks(p) > 0 && !offices.iter().any(|o| o.city == p))
        .collect();
    v.dedup();
    v
}

/// Foreign destinations with consumer (hotel) networks.
fn destinations_foreign(pools: &Pools) -> Vec<PlaceId> {
    FOREIGN_DESTINATIONS
        .iter()
        .filter_map(|(cc, names)| {
            names
                .iter()
                .filter_map(|n| pools.find_city(cc, n))
                .find(|&p| !pools.blocks_in(p, NetClass::Residential).is_empty())
        })
        .collect()
}

#[derive(Default)]
struct Names {
    used: std::collections::HashMap<String, u32>,
}

impl Names {
    fn next(&mut self, rng: &mut ChaCha8Rng) -> String {
        let base = format!(
            "{}.{}",
            rng.choose(SURNAMES).expect("names"),
            rng.choose(GIVEN).expect("names")
        );
        let n = self.used.entry(base.clone()).or_insert(0);
        *n += 1;
        if *n == 1 {
            base
        } else {
            format!("{base}{n}")
        }
    }
}

fn weighted_str(rng: &mut ChaCha8Rng, items: &[(&'static str, f64)]) -> &'static str {
    let ua: &&'static str = rng.weighted(items);
    ua
}

#[allow(clippy::too_many_arguments)]
fn build_user(
    cfg: &SimConfig,
    pools: &Pools,
    index: usize,
    local: String,
    office: Option<usize>,
    home: PlaceId,
    offices: &[Office],
    domestic: &[PlaceId],
    foreign: &[PlaceId],
    r: &mut ChaCha8Rng,
) -> User {
    let name: Arc<str> = format!("{local}@{}", cfg.domain).into();
    // Home broadband: carriers in proportion to their blocks in the city.
    let isp_weights: Vec<(NetClass, f64)> = NetClass::CN_CARRIERS
        .iter()
        .map(|&c| (c, pools.blocks_in(home, c).len() as f64))
        .collect();
    let isp = *r.weighted(&isp_weights);
    let carrier = *r.weighted(&[
        (NetClass::Mobile, 0.6),
        (NetClass::Unicom, 0.25),
        (NetClass::Telecom, 0.15),
    ]);

    let laptop_clients: Vec<((&str, Protocol), f64)> = LAPTOP_CLIENTS
        .iter()
        .map(|&(ua, p, w)| ((ua, p), w))
        .collect();
    let &(ua, fetch) = r.weighted(&laptop_clients);
    let laptop = Device {
        id: format!("{local}-laptop").into(),
        kind: DeviceKind::Laptop,
        user_agent: ua.into(),
        fetch,
        dav: ua.starts_with("Thunderbird") || ua.starts_with("Apple Mail") || r.chance(0.1),
    };
    let phone_ua = weighted_str(r, PHONE_CLIENTS);
    let phone_id = |n: u32| -> Arc<str> {
        let kind = if phone_ua == "iPhone Mail" {
            "iphone"
        } else {
            "android"
        };
        if n == 1 {
            format!("{local}-{kind}").into()
        } else {
            format!("{local}-{kind}{n}").into()
        }
    };
    let phone = r.chance(0.95).then(|| Device {
        id: phone_id(1),
        kind: DeviceKind::Phone,
        user_agent: phone_ua.into(),
        fetch: Protocol::Imap,
        dav: phone_ua == "iPhone Mail",
    });
    let extra = r.chance(0.2).then(|| {
        if r.chance(0.5) {
            Device {
                id: format!("{local}-ipad").into(),
                kind: DeviceKind::Tablet,
                user_agent: "iPad Mail".into(),
                fetch: Protocol::Imap,
                dav: false,
            }
        } else {
            Device {
                id: format!("{local}-homepc").into(),
                kind: DeviceKind::HomePc,
                user_agent: "Foxmail 7.2.20".into(),
                fetch: if r.chance(0.5) {
                    Protocol::Pop3
                } else {
                    Protocol::Imap
                },
                dav: false,
            }
        }
    });
    let night_owl = r.chance(0.03);
    let arrive = r.normal(9.0, 0.4).clamp(7.5, 10.5);
    let habits = Habits {
        wake: if night_owl {
            r.normal(9.5, 0.5)
        } else {
            r.normal(7.0, 0.4)
        }
        .clamp(5.5, 10.5),
        arrive: if night_owl { arrive + 1.0 } else { arrive },
        leave: (arrive + r.normal(9.3, 0.6)).clamp(arrive + 7.0, 21.5),
        sleep: if night_owl {
            r.normal(26.3, 0.6).clamp(25.0, 28.0)
        } else {
            r.normal(23.2, 0.5).clamp(21.5, 24.8)
        },
        wfh: if office.is_none() {
            1.0
        } else {
            *r.weighted(&[(0.02, 0.5), (0.1, 0.35), (0.4, 0.15)])
        },
        evening_laptop: if night_owl {
            0.7
        } else {
            *r.weighted(&[(0.05, 0.5), (0.25, 0.35), (0.6, 0.15)])
        },
        web: *r.weighted(&[(0.05, 0.6), (0.3, 0.3), (0.8, 0.1)]),
        laptop_gap: r.normal(95.0, 20.0).clamp(45.0, 180.0),
        phone_gap: r.normal(150.0, 35.0).clamp(60.0, 300.0),
        sends: r.normal(2.5, 1.0).clamp(0.5, 6.0),
    };
    let vpn = office.is_none() || r.chance(0.08);

    let mut user = User {
        index,
        name,
        local: local.clone(),
        home,
        office,
        isp,
        carrier,
        laptop,
        phone,
        extra,
        browser: weighted_str(r, BROWSERS).into(),
        browser_device: format!("{local}-browser").into(),
        habits,
        vpn,
        night_owl,
        trips: Vec::new(),
        new_phone: None,
        password_change: None,
    };
    plan_trips(cfg, pools, &mut user, offices, domestic, foreign, r);
    // Life events happen at home or at the office, not on a trip.
    let free_day = |r: &mut ChaCha8Rng, user: &User, from: u32, to: u32| -> Option<u32> {
        (0..10).find_map(|_| {
            let day = r.random_range(from..to.max(from + 1)).max(1);
            let (a, b) = (
                cfg.start + i64::from(day) * DAY,
                cfg.start + i64::from(day + 1) * DAY,
            );
            let clear = user
                .trips
                .iter()
                .all(|t| b < t.depart - DAY || a > t.back_arrive + DAY);
            (clear && day < cfg.days).then_some(day)
        })
    };
    if user.phone.is_some() && r.chance(0.07) && cfg.days >= 4 {
        if let Some(day) = free_day(r, &user, cfg.days / 4, cfg.days * 3 / 4) {
            let at = cfg.start + i64::from(day) * DAY + r.secs(19 * HOUR + 30 * MINUTE, 22 * HOUR);
            let ua = weighted_str(r, PHONE_CLIENTS);
            let kind = if ua == "iPhone Mail" {
                "iphone"
            } else {
                "android"
            };
            user.new_phone = Some(NewPhone {
                at,
                device: Device {
                    id: format!("{local}-{kind}2").into(),
                    kind: DeviceKind::Phone,
                    user_agent: ua.into(),
                    fetch: Protocol::Imap,
                    dav: ua == "iPhone Mail",
                },
            });
        }
    }
    if r.chance(0.06) && cfg.days >= 4 {
        if let Some(day) = free_day(r, &user, cfg.days / 5, cfg.days * 4 / 5) {
            // During the morning, at work.
            let h = user.habits.arrive + r.random_range(0.5..3.0);
            let at = cfg.start + i64::from(day) * DAY + (h * HOUR as f64) as i64;
            let stale = if let Some(d) = &user.extra {
                Some((
                    d.id.clone(),
                    (!r.chance(0.25)).then(|| at + r.secs(DAY, 8 * DAY)),
                ))
            } else if r.chance(0.6) {
                // The phone in use at the time.
                let phone = match &user.new_phone {
                    Some(np) if np.at < at => Some(&np.device),
                    _ => user.phone.as_ref(),
                };
                phone.map(|p| (p.id.clone(), Some(at + r.secs(2 * HOUR, 30 * HOUR))))
            } else {
                None
            };
            user.password_change = Some(PasswordChange { at, stale });
        }
    }
    user
}

/// Flight duration for a great-circle distance: taxi and climb plus cruise
/// at 800 km/h.
pub fn flight_secs(distance_km: f64) -> i64 {
    (45.0 * 60.0 + distance_km / 800.0 * 3600.0) as i64
}

#[allow(clippy::too_many_arguments)]
fn plan_trips(
    cfg: &SimConfig,
    pools: &Pools,
    user: &mut User,
    offices: &[Office],
    domestic: &[PlaceId],
    foreign: &[PlaceId],
    r: &mut ChaCha8Rng,
) {
    let n = *r.weighted(&[(0u32, 0.8), (1, 0.15), (2, 0.05)]);
    let n = n * cfg.days.div_ceil(42).min(3);
    if n == 0 || cfg.days < 7 {
        return;
    }
    let home = pools.place(user.home).clone();
    let mut free_from = 5u32;
    for _ in 0..n {
        let foreign_trip = !foreign.is_empty() && r.chance(0.35);
        let other_offices: Vec<usize> = (0..offices.len())
            .filter(|&o| offices[o].city != user.home)
            .collect();
        let (dest, dest_office) = if foreign_trip {
            (*r.choose(foreign).expect("non-empty"), None)
        } else if !other_offices.is_empty() && (domestic.is_empty() || r.chance(0.6)) {
            let o = *r.choose(&other_offices).expect("non-empty");
            (offices[o].city, Some(o))
        } else if let Some(&d) = r.choose(domestic) {
            (d, None)
        } else {
            continue;
        };
        let nights = if foreign_trip {
            r.random_range(3..8)
        } else {
            r.random_range(1..5)
        };
        if free_from + nights + 2 >= cfg.days {
            break;
        }
        let day = r.random_range(free_from..cfg.days - nights - 1);
        // Start on a workday.
        let mut day = day;
        while crate::time::weekday(cfg.start + i64::from(day) * DAY + 12 * HOUR) >= 5 {
            day += 1;
        }
        if day + nights + 1 >= cfg.days {
            break;
        }
        free_from = day + nights + 3;

        let dest_place = pools.place(dest);
        let flight = flight_secs(home.distance_km(dest_place));
        let depart = cfg.start + i64::from(day) * DAY + r.secs(8 * HOUR, 15 * HOUR);
        let arrive = depart + flight + r.secs(0, 20 * MINUTE);
        // The return flight leaves in the destination's morning or afternoon.
        let off = dest_place.utc_offset_hours();
        let back_day = day + nights;
        let local_midnight = (cfg.start + 8 * HOUR) + i64::from(back_day) * DAY - off * HOUR;
        let back_depart = local_midnight + r.secs(9 * HOUR, 16 * HOUR);
        let back_arrive = back_depart + flight + r.secs(0, 20 * MINUTE);
        let hotel_class = if foreign_trip {
            NetClass::Residential
        } else {
            *r.choose(&NetClass::CN_CARRIERS).expect("non-empty")
        };
        let mut hotel_blocks = pools.blocks_in(dest, hotel_class);
        if hotel_blocks.is_empty() {
            hotel_blocks = NetClass::CN_CARRIERS
                .iter()
                .map(|c| pools.blocks_in(dest, *c))
                .find(|b| !b.is_empty())
                .unwrap_or(&[]);
        }
        let Some((ip, place)) = pools.pick_in(hotel_blocks, r) else {
            continue;
        };
        user.trips.push(Trip {
            dest,
            dest_office,
            foreign: foreign_trip,
            hotel: Addr { ip, place },
            depart,
            arrive,
            back_depart,
            back_arrive,
            flight,
        });
    }
}
