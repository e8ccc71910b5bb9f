//! The engine's hot path and its memory per user.
//!
//! - `evaluate/*`: one `Engine::evaluate` on a warmed engine (1,000 users
//!   with history), for a usual login from home, one from the office egress
//!   address a quarter of the users share, and one from abroad.
//! - `evaluate_record/home`: `evaluate` then `record`, what replay and the
//!   service do per login.
//! - Memory (printed before the timings): an engine with 10,000 users, each
//!   with a realistic history (home, office and phone networks in two or
//!   three cities, a trip, two or three devices and clients, open
//!   sessions). Reports `EngineStats::profile_bytes / profiles` and the
//!   bytes a counting global allocator saw the engine keep, per user — with
//!   the global counters, and after pruning them. The README's target is
//!   at most 1 KB per active user profile.

use std::alloc::{GlobalAlloc, Layout, System};
use std::hint::black_box;
use std::net::{IpAddr, Ipv4Addr};
use std::sync::atomic::{AtomicIsize, Ordering};

use criterion::Criterion;
use warden_core::{
    Coords, Country, Engine, IpInfo, Location, LoginAttempt, Network, Outcome, Policy, Protocol,
    Timestamp,
};

/// Counts bytes currently allocated through the global allocator.
struct Counting;

static ALLOCATED: AtomicIsize = AtomicIsize::new(0);

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let p = unsafe { System.alloc(layout) };
        if !p.is_null() {
            ALLOCATED.fetch_add(layout.size() as isize, Ordering::Relaxed);
        }
        p
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        let p = unsafe { System.alloc_zeroed(layout) };
        if !p.is_null() {
            ALLOCATED.fetch_add(layout.size() as isize, Ordering::Relaxed);
        }
        p
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        unsafe { System.dealloc(ptr, layout) };
        ALLOCATED.fetch_sub(layout.size() as isize, Ordering::Relaxed);
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        let p = unsafe { System.realloc(ptr, layout, new_size) };
        if !p.is_null() {
            ALLOCATED.fetch_add(
                new_size as isize - layout.size() as isize,
                Ordering::Relaxed,
            );
        }
        p
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

fn allocated() -> isize {
    ALLOCATED.load(Ordering::Relaxed)
}

const T0: i64 = 1_772_326_800; // 2026-03-01T01:00:00Z
const DAY: i64 = 86_400;

/// A few places users log in from: name, coordinates, ASN.
const PLACES: &[(&str, &str, &str, f32, f32, u32)] = &[
    ("CN", "Guangdong", "Shenzhen", 22.54, 114.06, 4134),
    ("CN", "Guangdong", "Guangzhou", 23.13, 113.26, 4134),
    ("CN", "Guangdong", "Dongguan", 23.02, 113.75, 9808),
    ("CN", "Beijing", "Beijing", 39.90, 116.41, 4808),
    ("CN", "Shanghai", "Shanghai", 31.23, 121.47, 4812),
    ("CN", "Zhejiang", "Hangzhou", 30.27, 120.15, 4134),
    ("JP", "Tokyo", "Tokyo", 35.68, 139.65, 17676),
    ("GB", "England", "London", 51.51, -0.13, 2856),
    ("US", "California", "San Jose", 37.34, -121.89, 7018),
    ("NG", "Lagos", "Lagos", 6.52, 3.38, 29465),
];

const CLIENTS: &[&str] = &[
    "Microsoft Outlook 16.0",
    "Foxmail 7.2",
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0 Safari/537.36",
    "iPhone Mail (21E236)",
    "NetEase MailMaster 7.18 (Android 14)",
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:115.0) Gecko/20100101 Thunderbird/115.3.1",
];

fn info(ip: IpAddr, place: usize) -> IpInfo {
    let (c, r, city, lat, lon, asn) = PLACES[place];
    IpInfo {
        ip,
        location: Location {
            country: Some(Country::new(c).unwrap()),
            region: Some(r.into()),
            city: Some(city.into()),
            coords: Some(Coords { lat, lon }),
            ..Location::default()
        },
        network: Network {
            asn: Some(asn),
            ..Network::default()
        },
        corrected: false,
    }
}

fn ip(a: u8, b: u8, c: u8, d: u8) -> IpAddr {
    IpAddr::V4(Ipv4Addr::new(a, b, c, d))
}

/// One user's habits: (address info, device, client) for home, office,
/// phone; a second city for some; a trip for some.
struct Habits {
    name: String,
    spots: Vec<(IpInfo, String, &'static str)>,
}

fn habits(u: usize) -> Habits {
    let home = u % 3;
    let hi = (u >> 8) as u8;
    let lo = u as u8;
    let mut spots = vec![
        (
            info(ip(113, 88, hi, lo), home),
            format!("laptop-{u}"),
            CLIENTS[u % 3],
        ),
        (
            info(ip(113, 89, 0, (u % 4) as u8 + 1), home),
            format!("laptop-{u}"),
            CLIENTS[u % 3],
        ),
        (
            info(ip(120, 230, hi, lo), 1),
            format!("phone-{u}"),
            CLIENTS[3 + u % 2],
        ),
    ];
    if u.is_multiple_of(2) {
        spots.push((
            info(ip(61, 135, hi, lo), 3 + u % 3),
            format!("tablet-{u}"),
            CLIENTS[5],
        ));
    }
    if u.is_multiple_of(5) {
        spots.push((
            info(ip(126, 0, hi, lo), 6 + u % 3),
            format!("phone-{u}"),
            CLIENTS[3 + u % 2],
        ));
    }
    Habits {
        name: format!("u{u:05}@corp.example.com"),
        spots,
    }
}

/// Teaches `engine` `logins` successful logins (and a few typos) of user `u`
/// over about two months.
fn teach(engine: &mut Engine, h: &Habits, logins: usize) {
    for i in 0..logins {
        let (info, device, client) = &h.spots[(i * 7 + i / 5) % h.spots.len()];
        let ts = Timestamp(T0 + (i as i64 * 60 * DAY) / logins as i64 + (i as i64 % 9) * 3_600);
        let a = LoginAttempt::new(
            ts,
            &h.name,
            info.ip,
            Protocol::Imap,
            Some(device),
            Some(client),
        )
        .unwrap();
        if i % 40 == 7 {
            let failure = Outcome::Failure(warden_core::FailureReason::WrongPassword);
            engine.record(&a, info, failure);
        }
        engine.record(&a, info, Outcome::Success);
    }
}

fn memory_per_profile() {
    const USERS: usize = 10_000;
    const LOGINS: usize = 60;
    let users: Vec<Habits> = (0..USERS).map(habits).collect();
    let before = allocated();
    let mut engine = Engine::new(Policy::default()).unwrap();
    for h in &users {
        teach(&mut engine, h, LOGINS);
    }
    let with_counters = allocated() - before;
    let counter_keys = engine.stats().counter_keys;
    let end = Timestamp(T0 + 61 * DAY);
    engine.prune(Timestamp(end.secs() + 8 * DAY));
    let pruned = allocated() - before;
    let stats = engine.stats();
    let p = users[0].name.as_str();
    let sample = engine.profile(p).unwrap();
    println!(
        "memory: {} users x {LOGINS} logins; sample profile: {} countries, {} regions, {} cities, {} asns, {} devices, {} clients, {} sessions",
        stats.profiles,
        sample.countries.len(),
        sample.regions.len(),
        sample.cities.len(),
        sample.asns.len(),
        sample.devices.len(),
        sample.clients.len(),
        sample.sessions.len()
    );
    println!(
        "memory: EngineStats::profile_bytes / profiles = {} B (size_of::<Profile>() = {} B inline)",
        stats.profile_bytes / stats.profiles,
        std::mem::size_of::<warden_core::Profile>()
    );
    println!(
        "memory: counting allocator, whole engine / users = {} B (profiles, map, names, place catalog and {counter_keys} counter keys)",
        with_counters / USERS as isize,
    );
    println!(
        "memory: counting allocator, after pruning the counters / users = {} B",
        pruned / USERS as isize
    );
    black_box(&engine);
}

fn warmed() -> (Engine, Habits) {
    let mut engine = Engine::new(Policy::default()).unwrap();
    let users: Vec<Habits> = (0..1_000).map(habits).collect();
    for h in &users {
        teach(&mut engine, h, 60);
    }
    let mut users = users;
    (engine, users.swap_remove(42))
}

fn bench(c: &mut Criterion) {
    let (engine, h) = warmed();
    let now = Timestamp(T0 + 61 * DAY + 3_600);
    let (home, device, client) = &h.spots[0];
    let attempt = LoginAttempt::new(
        now,
        &h.name,
        home.ip,
        Protocol::Imap,
        Some(device),
        Some(client),
    )
    .unwrap();
    // The office egress: shared by a quarter of the users.
    let (office, _, _) = &h.spots[1];
    let at_office = LoginAttempt {
        ip: office.ip,
        ..attempt.clone()
    };
    let lagos = info(ip(105, 112, 1, 1), 9);
    let abroad = LoginAttempt::new(
        now,
        &h.name,
        lagos.ip,
        Protocol::Web,
        Some("unknown-device"),
        Some("curl/8.4.0"),
    )
    .unwrap();

    let mut g = c.benchmark_group("evaluate");
    g.bench_function("home", |b| {
        b.iter(|| black_box(engine.evaluate(black_box(&attempt), black_box(home))))
    });
    g.bench_function("office", |b| {
        b.iter(|| black_box(engine.evaluate(black_box(&at_office), black_box(office))))
    });
    g.bench_function("abroad", |b| {
        b.iter(|| black_box(engine.evaluate(black_box(&abroad), black_box(&lagos))))
    });
    g.finish();

    let mut engine = engine;
    let mut attempt = attempt;
    c.bench_function("evaluate_record/home", |b| {
        b.iter(|| {
            attempt.ts = Timestamp(attempt.ts.secs() + 60);
            let a = engine.evaluate(&attempt, home);
            engine.record(&attempt, home, Outcome::Success);
            black_box(a)
        })
    });
}

fn main() {
    memory_per_profile();
    let mut c = Criterion::default().configure_from_args();
    bench(&mut c);
    c.final_summary();
}
