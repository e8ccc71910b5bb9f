//! Deterministic synthetic login streams, for tests, benchmarks and
//! `warden gen-events` (later `warden simulate`).
//!
//! [`generate`] draws a stream from one seeded [`StdRng`]: the same users,
//! event count, seed and start always give the same events. Every user has
//! a home city (Shenzhen, Guangzhou or Beijing) with one or two home
//! broadband addresses, a phone address, the office's egress address, office
//! hours, a laptop and a phone each with its own client program. On top of
//! that:
//!
//! - about 3 % of logins are preceded by a typo (a `wrong_password` failure
//!   seconds before the success);
//! - about one user in ten takes a trip (Tokyo, London or another Chinese
//!   city) with no logins during the flight;
//! - about 1 % of the events are attacks: brute force on one account from
//!   one address, password spraying from one address over many accounts
//!   (some of them unknown), and an attacker's successful login from a
//!   foreign or datacenter address.
//!
//! Addresses come from fixed pools ([`POOLS`]) of real, public ranges that
//! geolocation data resolves to the expected places; tests build a small
//! MaxMind DB fixture from the same table. Events are returned in time order
//! (ties keep generation order).

use std::fs::File;
use std::io::{self, BufWriter, Write};
use std::net::{IpAddr, Ipv4Addr};
use std::path::Path;

use anyhow::Context as _;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use warden_core::{FailureReason, Outcome, Protocol};

/// What a pool of addresses is used for in the synthetic stream.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PoolKind {
    /// Home broadband and office egress of a home city.
    Broadband,
    /// A mobile carrier's addresses (phones).
    Mobile,
    /// Abroad: trips and attackers.
    Foreign,
    /// A cloud / hosting network (attackers).
    Datacenter,
}

/// A range of real public IPv4 addresses and where geolocation data puts it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Pool {
    /// The network, `a.b.c.d/len` (IPv4 only).
    pub net: &'static str,
    pub kind: PoolKind,
    /// ISO 3166-1 alpha-2.
    pub country: &'static str,
    pub region: &'static str,
    pub city: &'static str,
    pub lat: f64,
    pub lon: f64,
    /// IANA time zone.
    pub tz: &'static str,
}

impl Pool {
    fn base_and_len(&self) -> (u32, u8) {
        let (addr, len) = self.net.split_once('/').expect("pool nets are CIDRs");
        let addr: Ipv4Addr = addr.parse().expect("pool nets are IPv4");
        (u32::from(addr), len.parse().expect("pool prefix length"))
    }

    /// A random host address in the pool (never the network or broadcast address).
    fn pick(&self, rng: &mut StdRng) -> IpAddr {
        let (base, len) = self.base_and_len();
        let size = 1u64 << (32 - u32::from(len));
        let host = rng.random_range(1..size.saturating_sub(1).max(2)) as u32;
        IpAddr::V4(Ipv4Addr::from(base | host))
    }
}

/// The address pools, by index: see the `SHENZHEN` ... constants.
pub const POOLS: &[Pool] = &[
    Pool {
        net: "113.88.0.0/16",
        kind: PoolKind::Broadband,
        country: "CN",
        region: "Guangdong",
        city: "Shenzhen",
        lat: 22.5431,
        lon: 114.0579,
        tz: "Asia/Shanghai",
    },
    Pool {
        net: "183.6.0.0/16",
        kind: PoolKind::Broadband,
        country: "CN",
        region: "Guangdong",
        city: "Guangzhou",
        lat: 23.1291,
        lon: 113.2644,
        tz: "Asia/Shanghai",
    },
    Pool {
        net: "61.135.0.0/16",
        kind: PoolKind::Broadband,
        country: "CN",
        region: "Beijing",
        city: "Beijing",
        lat: 39.9042,
        lon: 116.4074,
        tz: "Asia/Shanghai",
    },
    Pool {
        net: "120.230.0.0/16",
        kind: PoolKind::Mobile,
        country: "CN",
        region: "Guangdong",
        city: "Guangzhou",
        lat: 23.1291,
        lon: 113.2644,
        tz: "Asia/Shanghai",
    },
    Pool {
        net: "105.112.0.0/16",
        kind: PoolKind::Foreign,
        country: "NG",
        region: "Lagos",
        city: "Lagos",
        lat: 6.5244,
        lon: 3.3792,
        tz: "Africa/Lagos",
    },
    Pool {
        net: "81.2.69.0/24",
        kind: PoolKind::Foreign,
        country: "GB",
        region: "England",
        city: "London",
        lat: 51.5074,
        lon: -0.1278,
        tz: "Europe/London",
    },
    Pool {
        net: "126.0.0.0/16",
        kind: PoolKind::Foreign,
        country: "JP",
        region: "Tokyo",
        city: "Tokyo",
        lat: 35.6762,
        lon: 139.6503,
        tz: "Asia/Tokyo",
    },
    Pool {
        net: "3.0.0.0/8",
        kind: PoolKind::Datacenter,
        country: "US",
        region: "Virginia",
        city: "Ashburn",
        lat: 39.0438,
        lon: -77.4874,
        tz: "America/New_York",
    },
];

/// Indexes into [`POOLS`].
pub const SHENZHEN: usize = 0;
pub const GUANGZHOU: usize = 1;
pub const BEIJING: usize = 2;
pub const GD_MOBILE: usize = 3;
pub const LAGOS: usize = 4;
pub const LONDON: usize = 5;
pub const TOKYO: usize = 6;
pub const DATACENTER: usize = 7;

/// Why an event is in the stream (kept for evaluations; `write_jsonl`
/// writes it as `"tag"` for everything but ordinary logins).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SynthKind {
    /// An ordinary login by the user.
    Normal,
    /// The user's typo before a successful login.
    Typo,
    /// The user, logging in while on a trip.
    Travel,
    /// Password guessing on one account from one address.
    BruteForce,
    /// One address trying many accounts.
    Spray,
    /// An attacker logging in from abroad or a datacenter.
    Foreign,
}

impl SynthKind {
    pub fn as_str(self) -> &'static str {
        match self {
            SynthKind::Normal => "normal",
            SynthKind::Typo => "typo",
            SynthKind::Travel => "travel",
            SynthKind::BruteForce => "brute_force",
            SynthKind::Spray => "spray",
            SynthKind::Foreign => "foreign",
        }
    }

    /// Whether the event is part of an attack.
    pub fn is_attack(self) -> bool {
        matches!(
            self,
            SynthKind::BruteForce | SynthKind::Spray | SynthKind::Foreign
        )
    }
}

/// One synthetic login, in the replay input's terms.
#[derive(Debug, Clone, PartialEq)]
pub struct SynthEvent {
    pub ts: jiff::Timestamp,
    pub user: String,
    pub ip: IpAddr,
    pub protocol: Protocol,
    pub outcome: Outcome,
    pub device: Option<String>,
    pub user_agent: Option<&'static str>,
    pub kind: SynthKind,
}

/// The organisation's local time (China Standard Time), for office hours.
const LOCAL_OFFSET: i64 = 8 * 3600;
const DAY: i64 = 86_400;
const HOUR: i64 = 3_600;

const LAPTOP_CLIENTS: &[&str] = &[
    "Microsoft Outlook 16.0.17328",
    "Foxmail 7.2.25.228",
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:115.0) Gecko/20100101 Thunderbird/115.3.1",
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Safari/537.36",
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.4 Safari/605.1.15",
];
const PHONE_CLIENTS: &[&str] = &[
    "iPhone Mail (21E236)",
    "NetEase MailMaster 7.18 (Android 14)",
    "DingTalk 7.5 (Android 13)",
    "WeCom 4.1 (iPhone; iOS 17.4)",
];
const ATTACK_CLIENTS: &[&str] = &["python-imaplib", "curl/8.4.0", "Go-http-client/1.1"];

/// One synthetic user's habits.
struct User {
    name: String,
    home_ips: Vec<IpAddr>,
    phone_ip: IpAddr,
    office_ip: IpAddr,
    /// Local office hours [start, end).
    start_hour: i64,
    end_hour: i64,
    laptop: String,
    laptop_client: &'static str,
    laptop_protocol: Protocol,
    phone: String,
    phone_client: &'static str,
    phone_protocol: Protocol,
    trip: Option<Trip>,
}

/// A trip away from home: logins in `[start, end)` come from `ip`, none in
/// the `flight` seconds before and after.
struct Trip {
    start: i64,
    end: i64,
    flight: i64,
    ip: IpAddr,
}

/// Slots where an event's time may not fall: (from, to).
fn in_flight(trip: &Option<Trip>, t: i64) -> bool {
    trip.as_ref().is_some_and(|tr| {
        (tr.start - tr.flight..tr.start).contains(&t) || (tr.end..tr.end + tr.flight).contains(&t)
    })
}

/// The user name of synthetic user `i`.
pub fn user_name(i: usize) -> String {
    format!("u{i:05}@corp.example.com")
}

fn ts(secs: i64) -> jiff::Timestamp {
    jiff::Timestamp::from_second(secs).expect("synthetic times are within jiff's range")
}

/// Local midnight on or before `secs`.
fn local_midnight(secs: i64) -> i64 {
    (secs + LOCAL_OFFSET).div_euclid(DAY) * DAY - LOCAL_OFFSET
}

/// Day of week of the local day starting at `midnight`, Monday = 0.
fn weekday(midnight: i64) -> i64 {
    // 1970-01-01 was a Thursday.
    ((midnight + LOCAL_OFFSET).div_euclid(DAY) + 3).rem_euclid(7)
}

fn make_users(n: usize, span: i64, start: i64, rng: &mut StdRng) -> Vec<User> {
    // One office egress address per home city, shared by its users.
    let offices: Vec<IpAddr> = [SHENZHEN, GUANGZHOU, BEIJING]
        .iter()
        .map(|&p| POOLS[p].pick(rng))
        .collect();
    (0..n)
        .map(|i| {
            let r: f64 = rng.random();
            let (home_pool, office) = if r < 0.6 {
                (SHENZHEN, offices[0])
            } else if r < 0.85 {
                (GUANGZHOU, offices[1])
            } else {
                (BEIJING, offices[2])
            };
            let homes = if rng.random_bool(0.3) { 2 } else { 1 };
            let home_ips = (0..homes).map(|_| POOLS[home_pool].pick(rng)).collect();
            let phone_pool = if home_pool == BEIJING {
                BEIJING
            } else {
                GD_MOBILE
            };
            let trip = (span >= 10 * DAY && rng.random_bool(0.1)).then(|| {
                let dest = match rng.random_range(0..4) {
                    0 => TOKYO,
                    1 => LONDON,
                    _ if home_pool == BEIJING => SHENZHEN,
                    _ => BEIJING,
                };
                let len = rng.random_range(2..6) * DAY;
                let begin = start + span / 5 + rng.random_range(0..(span * 3 / 5 - len).max(1));
                Trip {
                    start: begin,
                    end: begin + len,
                    // Long enough for the distance at airliner speed.
                    flight: if POOLS[dest].kind == PoolKind::Foreign {
                        16 * HOUR
                    } else {
                        5 * HOUR
                    },
                    ip: POOLS[dest].pick(rng),
                }
            });
            let start_hour = rng.random_range(8..11);
            User {
                name: user_name(i),
                home_ips,
                phone_ip: POOLS[phone_pool].pick(rng),
                office_ip: office,
                start_hour,
                end_hour: start_hour + rng.random_range(8..11),
                laptop: format!("laptop-{i:05}"),
                laptop_client: LAPTOP_CLIENTS[rng.random_range(0..LAPTOP_CLIENTS.len())],
                laptop_protocol: if rng.random_bool(0.7) {
                    Protocol::Imap
                } else {
                    Protocol::Web
                },
                phone: format!("phone-{i:05}"),
                phone_client: PHONE_CLIENTS[rng.random_range(0..PHONE_CLIENTS.len())],
                phone_protocol: if rng.random_bool(0.5) {
                    Protocol::Im
                } else {
                    Protocol::Imap
                },
                trip,
            }
        })
        .collect()
}

/// Where and how one ordinary login happens.
fn normal_login(u: &User, t0: i64, span: i64, rng: &mut StdRng) -> SynthEvent {
    loop {
        let day = local_midnight(t0 + rng.random_range(0..span.max(1)));
        let workday = weekday(day) < 5;
        let r: f64 = rng.random();
        // Office (weekdays), phone, or evening at home.
        let (hour, place) = if r < 0.65 && workday {
            (rng.random_range(u.start_hour..u.end_hour), 0)
        } else if r < 0.85 {
            (rng.random_range(7..24), 1)
        } else {
            (rng.random_range(u.end_hour.min(22)..24), 2)
        };
        let t = day + hour * HOUR + rng.random_range(0..HOUR);
        if t < t0 || t >= t0 + span || in_flight(&u.trip, t) {
            continue;
        }
        let on_trip = u.trip.as_ref().filter(|tr| (tr.start..tr.end).contains(&t));
        let (ip, device, client, protocol) = match place {
            1 => (u.phone_ip, &u.phone, u.phone_client, u.phone_protocol),
            0 => (u.office_ip, &u.laptop, u.laptop_client, u.laptop_protocol),
            _ => (
                u.home_ips[rng.random_range(0..u.home_ips.len())],
                &u.laptop,
                u.laptop_client,
                u.laptop_protocol,
            ),
        };
        let (ip, kind) = match on_trip {
            Some(tr) => (tr.ip, SynthKind::Travel),
            None => (ip, SynthKind::Normal),
        };
        return SynthEvent {
            ts: ts(t),
            user: u.name.clone(),
            ip,
            protocol,
            outcome: Outcome::Success,
            device: Some(device.clone()),
            user_agent: Some(client),
            kind,
        };
    }
}

fn attack_ip(rng: &mut StdRng) -> IpAddr {
    let pool = [LAGOS, DATACENTER, LONDON][rng.random_range(0..3)];
    POOLS[pool].pick(rng)
}

/// Appends one attack burst of at most `budget` events.
fn attack(
    kind: SynthKind,
    users: usize,
    t0: i64,
    span: i64,
    budget: usize,
    rng: &mut StdRng,
    out: &mut Vec<SynthEvent>,
) {
    // After the first fifth of the stream, so that victims have a history.
    let mut t = t0 + span / 5 + rng.random_range(0..(span * 4 / 5).max(1));
    let ip = attack_ip(rng);
    let client = ATTACK_CLIENTS[rng.random_range(0..ATTACK_CLIENTS.len())];
    let failure = |user: String, t: i64, reason: FailureReason| SynthEvent {
        ts: ts(t),
        user,
        ip,
        protocol: Protocol::Imap,
        outcome: Outcome::Failure(reason),
        device: None,
        user_agent: Some(client),
        kind,
    };
    match kind {
        SynthKind::BruteForce => {
            let victim = user_name(rng.random_range(0..users));
            let n = rng.random_range(15..31).min(budget);
            for _ in 0..n {
                out.push(failure(victim.clone(), t, FailureReason::WrongPassword));
                t += rng.random_range(10..40);
            }
        }
        SynthKind::Spray => {
            let n = rng.random_range(20..41).min(budget);
            for _ in 0..n {
                let (user, reason) = if rng.random_bool(0.3) {
                    (
                        format!("nobody{:04}@corp.example.com", rng.random_range(0..10_000)),
                        FailureReason::UnknownUser,
                    )
                } else {
                    (
                        user_name(rng.random_range(0..users)),
                        FailureReason::WrongPassword,
                    )
                };
                out.push(failure(user, t, reason));
                t += rng.random_range(5..60);
            }
        }
        _ => {
            // A stolen password: maybe a failure first, then success.
            let victim = user_name(rng.random_range(0..users));
            if budget >= 2 && rng.random_bool(0.5) {
                out.push(failure(victim.clone(), t, FailureReason::WrongPassword));
                t += rng.random_range(5..30);
            }
            out.push(SynthEvent {
                outcome: Outcome::Success,
                device: Some(format!("unknown-{:04}", rng.random_range(0..10_000))),
                ..failure(victim, t, FailureReason::WrongPassword)
            });
        }
    }
}

/// A synthetic stream of exactly `events` logins by `users` users, starting
/// at `start`, deterministic in `seed`, sorted by time. With `users == 0`
/// the stream is empty.
///
/// The stream spans about eight logins per user and day (at least a week).
pub fn generate(users: usize, events: usize, seed: u64, start: jiff::Timestamp) -> Vec<SynthEvent> {
    if users == 0 || events == 0 {
        return Vec::new();
    }
    let mut rng = StdRng::seed_from_u64(seed);
    let t0 = start.as_second();
    let days = (events / (users * 8)).max(7) as i64;
    let span = days * DAY;
    let people = make_users(users, span, t0, &mut rng);

    // About 1 % attacks (none in tiny streams), cycling through the kinds.
    let mut out = Vec::with_capacity(events);
    let mut attacks = Vec::new();
    let attack_budget = if events >= 500 { events / 100 } else { 0 };
    let kinds = [SynthKind::BruteForce, SynthKind::Spray, SynthKind::Foreign];
    let mut k = 0;
    while attacks.len() < attack_budget {
        let left = attack_budget - attacks.len();
        attack(kinds[k % 3], users, t0, span, left, &mut rng, &mut attacks);
        k += 1;
    }

    // The rest is ordinary activity, shared unevenly between users.
    let normal = events - attacks.len();
    let weights: Vec<f64> = (0..users).map(|_| rng.random_range(0.5..1.5)).collect();
    let total: f64 = weights.iter().sum();
    let mut shares: Vec<usize> = weights
        .iter()
        .map(|w| (normal as f64 * w / total) as usize)
        .collect();
    // Rounding down lost less than one event per user.
    let left = normal - shares.iter().sum::<usize>();
    for s in shares.iter_mut().take(left) {
        *s += 1;
    }
    for (u, &share) in people.iter().zip(&shares) {
        let mut n = 0;
        while n < share {
            let e = normal_login(u, t0, span, &mut rng);
            // A typo first, a few seconds before (when there is room).
            if share - n >= 2 && rng.random_bool(0.03) {
                let before = e.ts.as_second() - rng.random_range(5..40);
                out.push(SynthEvent {
                    ts: ts(before),
                    outcome: Outcome::Failure(FailureReason::WrongPassword),
                    kind: SynthKind::Typo,
                    ..e.clone()
                });
                n += 1;
            }
            out.push(e);
            n += 1;
        }
    }
    out.extend(attacks);
    out.sort_by_key(|e| e.ts);
    out
}

/// Writes the events as replay input: one JSON object per line.
pub fn write_jsonl<W: Write>(events: &[SynthEvent], mut out: W) -> io::Result<()> {
    for e in events {
        out.write_all(b"{\"ts\":\"")?;
        write!(out, "{}", e.ts)?;
        out.write_all(b"\",\"user\":")?;
        serde_json::to_writer(&mut out, &e.user)?;
        write!(out, ",\"ip\":\"{}\",\"protocol\":\"{}\"", e.ip, e.protocol)?;
        match e.outcome {
            Outcome::Success => out.write_all(b",\"outcome\":\"success\"")?,
            Outcome::Failure(r) => write!(
                out,
                ",\"outcome\":\"failure\",\"failure_reason\":\"{}\"",
                r.as_str()
            )?,
        }
        if let Some(d) = &e.device {
            out.write_all(b",\"device\":")?;
            serde_json::to_writer(&mut out, d)?;
        }
        if let Some(ua) = e.user_agent {
            out.write_all(b",\"user_agent\":")?;
            serde_json::to_writer(&mut out, ua)?;
        }
        if e.kind != SynthKind::Normal {
            write!(out, ",\"tag\":\"{}\"", e.kind.as_str())?;
        }
        out.write_all(b"}\n")?;
    }
    out.flush()
}

/// The start of `warden gen-events` streams: Monday 2026-03-02 00:00 in
/// China (fixed, so that a seed always gives the same file).
pub const DEFAULT_START: jiff::Timestamp = jiff::Timestamp::constant(1_772_380_800, 0);

/// `warden gen-events --users N --events M --seed S --out FILE`: writes a
/// synthetic stream (see [`generate`]) starting at [`DEFAULT_START`] to
/// `out` (`-` for standard output).
pub fn run_gen(users: usize, events: usize, seed: u64, out: &Path) -> anyhow::Result<()> {
    anyhow::ensure!(users > 0, "--users must be at least 1");
    let stream = generate(users, events, seed, DEFAULT_START);
    if out == Path::new("-") {
        write_jsonl(&stream, BufWriter::new(io::stdout().lock())).context("writing to stdout")?;
    } else {
        let file = File::create(out).with_context(|| format!("creating {}", out.display()))?;
        write_jsonl(&stream, BufWriter::with_capacity(1 << 16, file))
            .with_context(|| format!("writing {}", out.display()))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn streams_are_deterministic_sorted_and_exact() {
        let a = generate(40, 3_000, 7, DEFAULT_START);
        let b = generate(40, 3_000, 7, DEFAULT_START);
        assert_eq!(a, b);
        assert_eq!(a.len(), 3_000);
        assert!(a.windows(2).all(|w| w[0].ts <= w[1].ts));
        assert!(a.iter().all(|e| e.ts >= DEFAULT_START));
        assert_ne!(a, generate(40, 3_000, 8, DEFAULT_START));
    }

    #[test]
    fn streams_hold_typos_trips_and_attacks() {
        let s = generate(100, 20_000, 1, DEFAULT_START);
        let count = |k| s.iter().filter(|e| e.kind == k).count();
        let failures = s.iter().filter(|e| !e.outcome.is_success()).count();
        let share = failures as f64 / s.len() as f64;
        assert!((0.02..0.06).contains(&share), "{share}");
        assert!(count(SynthKind::Typo) > 0);
        assert!(count(SynthKind::Travel) > 0);
        assert!(count(SynthKind::BruteForce) > 0);
        assert!(count(SynthKind::Spray) > 0);
        assert!(count(SynthKind::Foreign) > 0);
        assert_eq!(s.iter().filter(|e| e.kind.is_attack()).count(), 200);
    }

    #[test]
    fn pool_addresses_stay_in_their_pool() {
        let mut rng = StdRng::seed_from_u64(3);
        for p in POOLS {
            let net: ipnet::IpNet = p.net.parse().unwrap();
            for _ in 0..100 {
                let ip = p.pick(&mut rng);
                assert!(net.contains(&ip), "{ip} not in {}", p.net);
            }
        }
    }

    #[test]
    fn weekdays_are_counted_from_local_midnight() {
        // 2026-03-02 was a Monday.
        assert_eq!(DEFAULT_START.to_string(), "2026-03-01T16:00:00Z");
        assert_eq!(weekday(local_midnight(DEFAULT_START.as_second())), 0);
        assert_eq!(
            weekday(local_midnight(DEFAULT_START.as_second() + 5 * DAY + 3)),
            5
        );
    }
}
