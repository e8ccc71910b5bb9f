//! Attacks on the tenant, each a labelled *campaign*.
//!
//! | kind | source | what happens |
//! |---|---|---|
//! | `stuffing` | a botnet of hundreds of consumer addresses in many countries | a leaked list (half of the staff, plus as many addresses that do not exist) tried once or twice each, one to three tries per bot, over a few hours; a few leaked passwords still work, and the attacker then logs in and reads mail |
//! | `spraying` | three to five addresses of one hosting provider | one password tried on every account (and on `admin@`, `info@`...) at a steady pace; some weak passwords succeed |
//! | `phishing_abroad` | a consumer or hosting address abroad | a phished password: webmail login from a new browser, then mail reading |
//! | `domestic_city` | a Chinese carrier address in a city far from the victim's | the same with a stolen password at home, from a client or browser as common in China as the victim's |
//! | `impossible_travel` | an address abroad, thousands of km away, or (half the campaigns) a Chinese carrier address over 1,000 km away with a common client | a login minutes after the victim's own |
//! | `residential_proxy` | a carrier address in the victim's own city | a login from a mail client the victim does not use |
//! | `brute_force` | one address | tens to hundreds of guesses at one account, a few seconds apart; a third of them end with the right password |
//!
//! Clients: a thief abroad brings his own tools (`ATTACKER_CLIENTS`,
//! `ATTACKER_BROWSERS`); a thief inside China uses what everybody there
//! uses, drawn with the tenant's own popularity (`LAPTOP_CLIENTS`,
//! `BROWSERS`), so the client alone often tells nothing.
//!
//! Phases: the tries are `guess` (whatever their outcome); the attacker's
//! first login with a known password (after guessing, or phished) is
//! `login`; later sessions are `use`. Attacks start after the first week
//! (or the first third of a short period), when profiles have formed.

use std::collections::BTreeSet;
use std::sync::Arc;

use rand::Rng;
use rand_chacha::ChaCha8Rng;
use warden_core::client::classify;
use warden_core::{FailureReason, Outcome, Protocol};

use crate::output::{Campaign, Event, Kind, Label, Phase, SimEvent};
use crate::pools::{NetClass, Place, PlaceId, Pools};
use crate::rng::{self, Rand};
use crate::tenant::{Addr, Tenant, User, BROWSERS, LAPTOP_CLIENTS};
use crate::time::{DAY, HOUR, MINUTE};

/// Campaigns of each kind for the default tenant (300 users, 42 days);
/// scaled with users × days, at least one each.
pub const BASE_CAMPAIGNS: &[(Kind, f64)] = &[
    (Kind::Stuffing, 2.0),
    (Kind::Spraying, 2.0),
    (Kind::PhishingAbroad, 5.0),
    (Kind::DomesticCity, 3.0),
    (Kind::ImpossibleTravel, 3.0),
    (Kind::ResidentialProxy, 3.0),
    (Kind::BruteForce, 3.0),
];

/// Countries botnets are drawn from (where the data has consumer networks).
const BOTNET_COUNTRIES: &[&str] = &[
    "US", "BR", "IN", "VN", "RU", "ID", "TR", "MX", "AR", "EG", "KR", "TW", "TH", "PH", "FR", "DE",
    "IT", "ES", "GB", "UA", "NG", "JP", "MY", "CA", "AU", "HK",
];
/// Where phishers and account thieves log in from.
const THIEF_COUNTRIES: &[&str] = &[
    "NG", "US", "RU", "VN", "BR", "ID", "IN", "TR", "UA", "GB", "DE", "FR", "NL", "KR", "TH",
];
/// Hosting countries for spraying.
const SPRAY_COUNTRIES: &[&str] = &["US", "NL", "DE", "RU", "SG", "FR", "GB", "VN", "HK", "BG"];
/// Accounts sprayers try that no tenant has.
const GENERIC_LOCALS: &[&str] = &[
    "admin",
    "info",
    "hr",
    "finance",
    "sales",
    "support",
    "test",
    "service",
    "postmaster",
    "webmaster",
    "office",
    "contact",
    "jobs",
    "marketing",
];
/// Attackers' browsers (webmail).
const ATTACKER_BROWSERS: &[&str] = &[
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Safari/537.36",
    "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.0.0 Safari/537.36",
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:127.0) Gecko/20100101 Firefox/127.0",
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/16.5 Safari/605.1.15",
];
/// Attackers' mail clients (reading mail over IMAP).
const ATTACKER_CLIENTS: &[&str] = &[
    "Thunderbird 115.3",
    "Microsoft Outlook 16.0",
    "(\"name\" \"K-9 Mail\" \"version\" \"6.800\")",
    "Python imaplib",
    "eM Client 9.2",
];

/// What an attacker logs in with: webmail in a browser first (then mail
/// reading moves to the client), or the mail client from the start.
#[derive(Debug, Clone, Copy)]
struct Kit {
    web: bool,
    browser: &'static str,
    client: &'static str,
}

/// What a campaign did, for reports and tests.
#[derive(Debug, Clone, PartialEq)]
pub struct CampaignInfo {
    pub campaign: Campaign,
    /// Accounts that were (or include) the target; for stuffing and
    /// spraying, the accounts whose password was found.
    pub victims: Vec<Arc<str>>,
    /// The first event.
    pub start: i64,
    /// Distinct attacker addresses.
    pub addresses: usize,
}

/// Generates every campaign into `out`, with `legit` (the legit events,
/// any order) to time impossible travel after the victim's own login.
pub(crate) fn generate(
    tenant: &Tenant,
    pools: &Pools,
    seed: u64,
    attack_scale: f64,
    legit: &[SimEvent],
    out: &mut Vec<SimEvent>,
) -> Vec<CampaignInfo> {
    let scale = attack_scale * tenant.users.len() as f64 * f64::from(tenant.days) / (300.0 * 42.0);
    let mut infos = Vec::new();
    let mut g = Gen {
        tenant,
        pools,
        rng: rng::derive(seed, "attacks", 0),
        out: Vec::new(),
        used_victims: BTreeSet::new(),
        cn: pools.cn_places().to_vec(),
    };
    for &(kind, base) in BASE_CAMPAIGNS {
        let n = ((base * scale).round() as u32).max(1);
        for number in 1..=n {
            let c = Campaign { kind, number };
            let first = g.out.len();
            g.rng = rng::derive(seed, kind.as_str(), u64::from(number));
            let victims = match kind {
                Kind::Stuffing => g.stuffing(c),
                Kind::Spraying => g.spraying(c),
                Kind::BruteForce => g.brute_force(c),
                Kind::ImpossibleTravel => g.impossible_travel(c, legit),
                Kind::PhishingAbroad | Kind::DomesticCity | Kind::ResidentialProxy => {
                    g.stolen_password(c)
                }
                _ => unreachable!("attack kinds only"),
            };
            let events = &g.out[first..];
            if events.is_empty() {
                continue;
            }
            let addresses: BTreeSet<_> = events.iter().map(|e| e.event.ip).collect();
            infos.push(CampaignInfo {
                campaign: c,
                victims,
                start: events.iter().map(|e| e.event.ts).min().unwrap_or_default(),
                addresses: addresses.len(),
            });
        }
    }
    out.append(&mut g.out);
    infos
}

struct Gen<'a> {
    tenant: &'a Tenant,
    pools: &'a Pools,
    rng: ChaCha8Rng,
    out: Vec<SimEvent>,
    used_victims: BTreeSet<usize>,
    cn: Vec<PlaceId>,
}

/// One attacker login or try.
struct Try<'s> {
    t: i64,
    user: Arc<str>,
    addr: Addr,
    protocol: Protocol,
    outcome: Outcome,
    device: Option<Arc<str>>,
    user_agent: Option<&'s str>,
}

impl Gen<'_> {
    fn push(&mut self, c: Campaign, phase: Phase, a: Try<'_>) {
        if a.t < self.tenant.start || a.t >= self.tenant.end() {
            return;
        }
        self.out.push(SimEvent {
            event: Event {
                ts: a.t,
                user: a.user,
                ip: a.addr.ip,
                protocol: a.protocol,
                outcome: a.outcome,
                device: a.device,
                user_agent: a.user_agent.map(Arc::from),
                challenge_passed: false,
            },
            label: Label::attack(c, phase),
            place: a.addr.place,
        });
    }

    /// A random time on a day after the learning period.
    fn attack_time(&mut self) -> i64 {
        let days = self.tenant.days;
        let first = 7.min(days / 3);
        let day = self.rng.random_range(first..days.max(first + 1));
        self.tenant.start + i64::from(day) * DAY + self.rng.secs(0, DAY)
    }

    /// A victim not yet targeted (when possible).
    fn victim(&mut self) -> &User {
        let users = &self.tenant.users;
        let mut i = self.rng.random_range(0..users.len());
        for _ in 0..users.len() {
            if !self.used_victims.contains(&i) {
                break;
            }
            i = (i + 1) % users.len();
        }
        self.used_victims.insert(i);
        &users[i]
    }

    fn addr_in(&mut self, blocks: &[u32]) -> Option<Addr> {
        let (ip, place) = self.pools.pick_in(blocks, &mut self.rng)?;
        Some(Addr { ip, place })
    }

    /// A consumer address in one of `countries` (any abroad if none).
    fn residential_abroad(&mut self, countries: &[&str]) -> Addr {
        for _ in 0..8 {
            let cc = *self.rng.choose(countries).expect("non-empty");
            let blocks = self.pools.blocks_in_country(NetClass::Residential, cc);
            if let Some(a) = self.addr_in(blocks) {
                return a;
            }
        }
        let all = self.pools.blocks_of(NetClass::Residential).to_vec();
        self.addr_in(&all)
            .unwrap_or_else(|| self.datacenter_abroad(countries))
    }

    /// A hosting address in one of `countries` (any outside China if none).
    fn datacenter_abroad(&mut self, countries: &[&str]) -> Addr {
        for _ in 0..8 {
            let cc = *self.rng.choose(countries).expect("non-empty");
            let blocks = self.pools.blocks_in_country(NetClass::Datacenter, cc);
            if let Some(a) = self.addr_in(blocks) {
                return a;
            }
        }
        let pools = self.pools;
        let all: Vec<u32> = pools
            .blocks_of(NetClass::Datacenter)
            .iter()
            .copied()
            .filter(|&b| pools.place(pools.block(b).place).country != "CN")
            .collect();
        self.addr_in(&all)
            .or_else(|| {
                let any = pools.blocks_of(NetClass::Datacenter).to_vec();
                self.addr_in(&any)
            })
            .unwrap_or(self.tenant.vpn[0])
    }

    /// A Chinese carrier address in `place`, avoiding `avoid`.
    fn cn_addr(&mut self, place: PlaceId, avoid: &[Addr]) -> Option<Addr> {
        let blocks: Vec<u32> = NetClass::CN_CARRIERS
            .iter()
            .flat_map(|c| self.pools.blocks_in(place, *c).iter().copied())
            .collect();
        for _ in 0..8 {
            let a = self.addr_in(&blocks)?;
            if !avoid.iter().any(|x| x.ip == a.ip) {
                return Some(a);
            }
        }
        None
    }

    fn device_id(&mut self) -> Arc<str> {
        format!("dev-{:08x}", self.rng.random::<u32>()).into()
    }

    /// A thief abroad: his own browser and mail client.
    fn foreign_kit(&mut self, web: bool) -> Kit {
        Kit {
            web,
            browser: self.rng.choose(ATTACKER_BROWSERS).expect("non-empty"),
            client: self.rng.choose(ATTACKER_CLIENTS).expect("non-empty"),
        }
    }

    /// A thief in China: a browser and mail client drawn with the tenant's
    /// own popularity (the victim may well use the same ones).
    fn domestic_kit(&mut self, web: bool) -> Kit {
        let clients: Vec<(&'static str, f64)> =
            LAPTOP_CLIENTS.iter().map(|&(ua, _, w)| (ua, w)).collect();
        let browser: &&'static str = self.rng.weighted(BROWSERS);
        let client: &&'static str = self.rng.weighted(&clients);
        Kit {
            web,
            browser,
            client,
        }
    }

    /// The attacker's login with the found password, then mail reading for
    /// a day or three, from `sources`, with `kit`.
    fn follow_up(&mut self, c: Campaign, user: &Arc<str>, t0: i64, sources: &[Addr], kit: Kit) {
        let ua = if kit.web { kit.browser } else { kit.client };
        let device = self.device_id();
        let protocol = if kit.web {
            Protocol::Web
        } else {
            Protocol::Imap
        };
        let mut t = t0;
        let sessions = self.rng.random_range(2..9);
        for i in 0..=sessions {
            let addr = *self.rng.choose(sources).expect("non-empty");
            let phase = if i == 0 { Phase::Login } else { Phase::Use };
            // Mail reading moves to IMAP after a webmail login.
            let (protocol, ua, device) = if i > 0 && kit.web && self.rng.chance(0.6) {
                (Protocol::Imap, kit.client, None)
            } else {
                (protocol, ua, Some(device.clone()))
            };
            self.push(
                c,
                phase,
                Try {
                    t,
                    user: user.clone(),
                    addr,
                    protocol,
                    outcome: Outcome::Success,
                    device,
                    user_agent: Some(ua),
                },
            );
            t += (self.rng.exp(7.0 * HOUR as f64) as i64).max(10 * MINUTE);
        }
    }

    fn unknown_user(&mut self) -> Arc<str> {
        let local = if self.rng.chance(0.3) {
            (*self.rng.choose(GENERIC_LOCALS).expect("non-empty")).to_string()
        } else {
            // A plausible name the tenant does not have (former staff,
            // other companies' lists).
            loop {
                let s = format!(
                    "{}{}.{}",
                    (b'a' + self.rng.random_range(0..26u8)) as char,
                    (b'a' + self.rng.random_range(0..26u8)) as char,
                    self.rng.random_range(100..1000)
                );
                if self.tenant.users.iter().all(|u| u.local != s) {
                    break s;
                }
            }
        };
        format!("{local}@{}", self.tenant.domain).into()
    }

    fn stuffing(&mut self, c: Campaign) -> Vec<Arc<str>> {
        let users = &self.tenant.users;
        // The leaked list: about half of the staff, and as many others.
        let mut targets: Vec<(Arc<str>, bool)> = users
            .iter()
            .filter(|_| self.rng.chance(0.5))
            .map(|u| (u.name.clone(), true))
            .collect();
        if targets.is_empty() {
            targets.push((users[0].name.clone(), true));
        }
        let real = targets.len();
        for _ in 0..real.max(5) {
            let u = self.unknown_user();
            targets.push((u, false));
        }
        // A few leaked passwords are still current.
        let hits = self.rng.random_range(1..=3).min(real);
        let mut hit_users = BTreeSet::new();
        while hit_users.len() < hits {
            hit_users.insert(self.rng.random_range(0..real));
        }
        let mut tries: Vec<(Arc<str>, bool, bool)> = Vec::new();
        for (i, (u, exists)) in targets.iter().enumerate() {
            let n = if self.rng.chance(0.2) { 2 } else { 1 };
            for k in 0..n {
                let hit = hit_users.contains(&i) && k == n - 1;
                tries.push((u.clone(), *exists, hit));
            }
        }
        // Shuffle the list.
        for i in (1..tries.len()).rev() {
            let j = self.rng.random_range(0..=i);
            tries.swap(i, j);
        }
        let start = self.attack_time();
        let duration = self.rng.secs(HOUR, 4 * HOUR);
        let bots_n = (tries.len() as f64 / 1.7).ceil() as usize;
        let bots: Vec<Addr> = (0..bots_n)
            .map(|_| {
                if self.rng.chance(0.08) {
                    let p = *self.rng.choose(&self.cn).expect("cn places");
                    self.cn_addr(p, &[])
                        .unwrap_or_else(|| self.residential_abroad(BOTNET_COUNTRIES))
                } else {
                    self.residential_abroad(BOTNET_COUNTRIES)
                }
            })
            .collect();
        let mut times: Vec<i64> = (0..tries.len())
            .map(|_| start + self.rng.secs(0, duration))
            .collect();
        times.sort_unstable();
        let mut victims = Vec::new();
        let mut found = Vec::new();
        for (k, ((user, exists, hit), t)) in tries.into_iter().zip(times).enumerate() {
            // One to three tries per bot.
            let addr = bots[(k * 7 + self.rng.random_range(0..3)) % bots.len()];
            let protocol = *self.rng.weighted(&[
                (Protocol::Imap, 0.55),
                (Protocol::Pop3, 0.15),
                (Protocol::Smtp, 0.2),
                (Protocol::Web, 0.1),
            ]);
            let ua = (protocol == Protocol::Web)
                .then(|| *self.rng.choose(ATTACKER_BROWSERS).expect("non-empty"));
            let outcome = if hit {
                Outcome::Success
            } else if exists {
                Outcome::Failure(FailureReason::WrongPassword)
            } else {
                Outcome::Failure(FailureReason::UnknownUser)
            };
            if hit {
                victims.push(user.clone());
                found.push((user.clone(), t));
            }
            self.push(
                c,
                Phase::Guess,
                Try {
                    t,
                    user,
                    addr,
                    protocol,
                    outcome,
                    device: None,
                    user_agent: ua,
                },
            );
        }
        // The buyers of the working passwords read mail from hosting networks.
        for (user, t) in found {
            let src = self.datacenter_abroad(THIEF_COUNTRIES);
            let t0 = t + self.rng.secs(5 * MINUTE, 6 * HOUR);
            let web = self.rng.chance(0.3);
            let kit = self.foreign_kit(web);
            self.follow_up(c, &user, t0, &[src], kit);
        }
        victims
    }

    fn spraying(&mut self, c: Campaign) -> Vec<Arc<str>> {
        // Three to five addresses of one provider in one country.
        let first = self.datacenter_abroad(SPRAY_COUNTRIES);
        let pools = self.pools;
        let asn = pools.block_of(first.ip).map(|b| b.asn);
        let cc = pools.place(first.place).country.clone();
        let siblings: Vec<u32> = pools
            .blocks_in_country(NetClass::Datacenter, &cc)
            .iter()
            .copied()
            .filter(|&b| Some(pools.block(b).asn) == asn)
            .collect();
        let n = self.rng.random_range(3..=5);
        let mut ips = vec![first];
        while ips.len() < n {
            match self.addr_in(&siblings) {
                Some(a) => ips.push(a),
                None => break,
            }
        }
        let mut targets: Vec<(Arc<str>, bool)> = self
            .tenant
            .users
            .iter()
            .map(|u| (u.name.clone(), true))
            .collect();
        for g in GENERIC_LOCALS.iter().take(8) {
            targets.push((format!("{g}@{}", self.tenant.domain).into(), false));
        }
        for i in (1..targets.len()).rev() {
            let j = self.rng.random_range(0..=i);
            targets.swap(i, j);
        }
        // Weak passwords: a few accounts have the sprayed one.
        let weak_n = self.rng.random_range(1..=3);
        let mut weak = BTreeSet::new();
        let real: Vec<usize> = (0..targets.len()).filter(|&i| targets[i].1).collect();
        while weak.len() < weak_n.min(real.len()) {
            weak.insert(*self.rng.choose(&real).expect("non-empty"));
        }
        let protocol = *self.rng.weighted(&[
            (Protocol::Smtp, 0.4),
            (Protocol::Imap, 0.4),
            (Protocol::Web, 0.2),
        ]);
        let kit = self.foreign_kit(protocol == Protocol::Web);
        let ua = kit.web.then_some(kit.browser);
        let mut t = self.attack_time();
        let pace = self.rng.secs(30, 120);
        let mut victims = Vec::new();
        for (i, (user, exists)) in targets.into_iter().enumerate() {
            let addr = ips[i % ips.len()];
            let hit = weak.contains(&i);
            let outcome = match (hit, exists) {
                (true, _) => Outcome::Success,
                (false, true) => Outcome::Failure(FailureReason::WrongPassword),
                (false, false) => Outcome::Failure(FailureReason::UnknownUser),
            };
            self.push(
                c,
                Phase::Guess,
                Try {
                    t,
                    user: user.clone(),
                    addr,
                    protocol,
                    outcome,
                    device: None,
                    user_agent: ua,
                },
            );
            if hit {
                victims.push(user);
            }
            t += pace + self.rng.secs(-pace / 3, pace / 3);
        }
        let end = t;
        for user in victims.clone() {
            let t0 = end + self.rng.secs(10 * MINUTE, 12 * HOUR);
            self.follow_up(c, &user, t0, &ips, kit);
        }
        victims
    }

    fn brute_force(&mut self, c: Campaign) -> Vec<Arc<str>> {
        let victim = self.victim().name.clone();
        let addr = if self.rng.chance(0.6) {
            self.datacenter_abroad(THIEF_COUNTRIES)
        } else {
            self.residential_abroad(BOTNET_COUNTRIES)
        };
        let protocol = *self.rng.weighted(&[
            (Protocol::Imap, 0.5),
            (Protocol::Pop3, 0.2),
            (Protocol::Smtp, 0.3),
        ]);
        let n = self.rng.random_range(40..300);
        let success = self.rng.chance(1.0 / 3.0);
        let mut t = self.attack_time();
        for i in 0..n {
            let hit = success && i == n - 1;
            self.push(
                c,
                Phase::Guess,
                Try {
                    t,
                    user: victim.clone(),
                    addr,
                    protocol,
                    outcome: if hit {
                        Outcome::Success
                    } else {
                        Outcome::Failure(FailureReason::WrongPassword)
                    },
                    device: None,
                    user_agent: None,
                },
            );
            t += self.rng.secs(2, 20);
        }
        if success {
            let t0 = t + self.rng.secs(2 * MINUTE, 2 * HOUR);
            let kit = self.foreign_kit(false);
            self.follow_up(c, &victim, t0, &[addr], kit);
        }
        vec![victim]
    }

    /// A login minutes after the victim's own, from abroad (thousands of km
    /// away) or, for half the campaigns, from a Chinese carrier over
    /// 1,000 km from where the victim just logged in, with a common client.
    fn impossible_travel(&mut self, c: Campaign, legit: &[SimEvent]) -> Vec<Arc<str>> {
        let earliest = self.tenant.start + i64::from(7.min(self.tenant.days / 3)) * DAY;
        for _ in 0..20 {
            let victim = self.victim().name.clone();
            let own: Vec<(i64, PlaceId)> = legit
                .iter()
                .filter(|e| {
                    e.event.user == victim
                        && e.event.outcome.is_success()
                        && e.event.ts >= earliest
                        && matches!(e.label.kind, Kind::Office | Kind::Home)
                })
                .map(|e| (e.event.ts, e.place))
                .collect();
            let Some(&(t_own, place_own)) = self.rng.choose(&own) else {
                continue;
            };
            let there = self.pools.place(place_own).clone();
            let web = self.rng.chance(0.5);
            let domestic = if self.rng.chance(0.5) {
                self.far_cn_addr(&there, 1000.0, &[])
            } else {
                None
            };
            let (addr, kit) = match domestic {
                Some(addr) => (addr, self.domestic_kit(web)),
                None => {
                    let mut addr = self.residential_abroad(THIEF_COUNTRIES);
                    for _ in 0..8 {
                        if self.pools.place(addr.place).distance_km(&there) >= 4000.0 {
                            break;
                        }
                        addr = if self.rng.chance(0.5) {
                            self.residential_abroad(THIEF_COUNTRIES)
                        } else {
                            self.datacenter_abroad(THIEF_COUNTRIES)
                        };
                    }
                    (addr, self.foreign_kit(web))
                }
            };
            let t0 = t_own + self.rng.secs(2 * MINUTE, 30 * MINUTE);
            self.follow_up(c, &victim, t0, &[addr], kit);
            return vec![victim];
        }
        Vec::new()
    }

    /// A Chinese carrier address in one of the larger cities at least
    /// `min_km` from `from`, outside its region and not in `except`.
    fn far_cn_addr(&mut self, from: &Place, min_km: f64, except: &[PlaceId]) -> Option<Addr> {
        let pools = self.pools;
        let far: Vec<PlaceId> = self
            .cn
            .iter()
            .copied()
            .take(60)
            .filter(|&p| {
                let place = pools.place(p);
                !except.contains(&p)
                    && place.distance_km(from) >= min_km
                    && place.region != from.region
            })
            .collect();
        let &p = self.rng.choose(&far)?;
        self.cn_addr(p, &[])
    }

    /// Phishing abroad, another Chinese city, or a residential proxy in
    /// the victim's city: a login with the stolen password, then use.
    fn stolen_password(&mut self, c: Campaign) -> Vec<Arc<str>> {
        let v = self.victim().clone();
        let home = v.home;
        let office_city = v.office.map(|o| self.tenant.offices[o].city);
        let t0 = match c.kind {
            // Through the victim's own city, at plausible hours.
            Kind::ResidentialProxy => {
                let t = self.attack_time();
                let day = (t - self.tenant.start).div_euclid(DAY);
                self.tenant.start + day * DAY + self.rng.secs(9 * HOUR, 22 * HOUR)
            }
            _ => self.attack_time(),
        };
        let sources: Vec<Addr> = match c.kind {
            Kind::PhishingAbroad => {
                let a = if self.rng.chance(0.6) {
                    self.residential_abroad(THIEF_COUNTRIES)
                } else {
                    self.datacenter_abroad(THIEF_COUNTRIES)
                };
                vec![a]
            }
            Kind::DomesticCity => {
                let here = self.pools.place(home).clone();
                let except: Vec<PlaceId> = office_city.into_iter().collect();
                let far = self.far_cn_addr(&here, 500.0, &except);
                // Small test data may have no city that far: any other one.
                let any: Vec<PlaceId> = self.cn.iter().copied().filter(|&p| p != home).collect();
                let Some(a) = far.or_else(|| {
                    let &p = self.rng.choose(&any)?;
                    self.cn_addr(p, &[])
                }) else {
                    return Vec::new();
                };
                vec![a]
            }
            Kind::ResidentialProxy => {
                let avoid: Vec<Addr> = self
                    .tenant
                    .offices
                    .iter()
                    .flat_map(|o| o.egress.iter().copied())
                    .collect();
                // Proxy exits rotate within the city.
                let n = self.rng.random_range(1..=3);
                let mut v = Vec::new();
                for _ in 0..n {
                    if let Some(a) = self.cn_addr(home, &avoid) {
                        v.push(a);
                    }
                }
                if v.is_empty() {
                    return Vec::new();
                }
                v
            }
            _ => unreachable!("stolen-password kinds only"),
        };
        let web = match c.kind {
            Kind::PhishingAbroad => self.rng.chance(0.7),
            Kind::ResidentialProxy => false,
            _ => self.rng.chance(0.5),
        };
        let mut kit = match c.kind {
            Kind::DomesticCity => self.domestic_kit(web),
            _ => self.foreign_kit(web),
        };
        if c.kind == Kind::ResidentialProxy {
            // A residential proxy comes with a client the victim does not
            // use: another program, not another version of the same one.
            let own: Vec<String> = [Some(&v.laptop), v.phone.as_ref(), v.extra.as_ref()]
                .into_iter()
                .flatten()
                .map(|d| classify(&d.user_agent).name)
                .collect();
            let new_clients: Vec<&'static str> = ATTACKER_CLIENTS
                .iter()
                .copied()
                .filter(|ua| !own.contains(&classify(ua).name))
                .collect();
            if let Some(&client) = self.rng.choose(&new_clients) {
                kit.client = client;
            }
        }
        self.follow_up(c, &v.name, t0, &sources, kit);
        vec![v.name]
    }
}
