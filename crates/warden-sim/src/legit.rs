//! Legit logins: each user's days as a sequence of *windows* (at home, on
//! the way, at the office, at the airport, at the trip's destination), and
//! each device's logins placed in those windows.
//!
//! - The **laptop** client logs in when opened at the start of a work
//!   window and then every `laptop_gap` minutes or so (fetching with IMAP
//!   or POP3), with an SMTP login per message sent and CalDAV/CardDAV
//!   syncs where the client does them. At the office it uses the office's
//!   egress; at home the home broadband, or the corporate VPN for VPN
//!   users; on a trip the destination office or the hotel network.
//! - The **phone** logs in every `phone_gap` minutes from waking to sleep,
//!   on Wi-Fi at the office and at home most of the time, else on its
//!   carrier's network, whose addresses geolocate to the province hub,
//!   another city of the province or another province (carrier-grade NAT:
//!   the address changes every hour or so). Abroad it keeps its Chinese
//!   carrier's addresses (home-routed roaming) unless on hotel Wi-Fi.
//!   Nothing logs in during a flight.
//! - A **tablet or home PC** is used some evenings and weekends at home.
//! - **Webmail** from the browser some workdays.
//! - **Elsewhere in town**: some users spend part of some workdays at a
//!   client's office, a café or a co-working space with the laptop, and
//!   some weekend outings put the phone on a restaurant's or a mall's
//!   Wi-Fi: a third-party network (any carrier's business line) in the
//!   user's own city, a new address each time.
//! - The home broadband address changes every two to seven days.
//! - **Typos**: one to three `wrong_password` failures seconds before a
//!   success, on some webmail logins, when a new phone is set up and on
//!   the first login after a password change.
//! - After a **password change**, the stale device keeps failing with
//!   `wrong_password` (with a quick retry each time) until the user fixes
//!   it, or to the end of the period.
//!
//! Labels: `stale_client`, `typo`, `new_phone` (the new phone's first 24
//! hours), `travel` (from leaving for the airport to an hour after landing
//! back home), `night_owl` (a night owl's logins between 23:00 and 05:00),
//! else by network: `vpn`, `office`, `home`, `mobile`, `elsewhere`.

use std::sync::Arc;

use rand::Rng;
use rand_chacha::ChaCha8Rng;
use warden_core::{FailureReason, Outcome, Protocol};

use crate::output::{Event, Kind, Label, SimEvent};
use crate::pools::{NetClass, PlaceId, Pools};
use crate::rng::{self, Rand};
use crate::tenant::{Addr, Device, Tenant, Trip, User};
use crate::time::{local_hour, weekday, DAY, HOUR, MINUTE};

/// Where the user is during a window.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum At {
    Home,
    Office(usize),
    /// Commuting or out: the phone is on its carrier.
    Out,
    /// On the way to or from a flight (phone only): trip `.0`.
    Transit(usize),
    /// At trip `.0`'s destination; `.1`: at the destination office.
    Away(usize, bool),
    /// On a third-party network in the user's own city (a client's
    /// office, a café, a mall).
    Elsewhere(Addr),
}

#[derive(Debug, Clone, Copy)]
struct Window {
    from: i64,
    to: i64,
    at: At,
    /// The laptop is open.
    laptop: bool,
    /// Connected through the corporate VPN (laptop only).
    vpn: bool,
}

/// Generates every legit login of the tenant into `out`.
/// The share of legit successful logins that carry `"challenge_passed":
/// true`: if Warden challenges the login (a TOTP or emailed code, or "was
/// this you?"), the user passes. Nine in ten: the user who is asked for a
/// code mostly has the phone or the mailbox at hand; one in ten gives up,
/// is offline or ignores the prompt (and stays challenged until a later
/// login is confirmed). Attackers never pass.
pub const CHALLENGE_PASS_RATE: f64 = 0.9;

pub(crate) fn generate(tenant: &Tenant, pools: &Pools, seed: u64, out: &mut Vec<SimEvent>) {
    let cn = pools.cn_places();
    for user in &tenant.users {
        let mut g = Gen::new(tenant, pools, user, seed, cn);
        g.run();
        out.append(&mut g.out);
    }
}

struct Gen<'a> {
    tenant: &'a Tenant,
    pools: &'a Pools,
    user: &'a User,
    rng: ChaCha8Rng,
    /// (from, address) of the home broadband, in time order.
    home: Vec<(i64, Addr)>,
    /// Where the phone's carrier addresses geolocate: (place, weight).
    mobile_places: Vec<(PlaceId, f64)>,
    /// The phone's current carrier address and until when it holds.
    mobile: Option<(Addr, i64)>,
    windows: Vec<Window>,
    /// Devices that still have to log in once after the password change.
    first_after_change: Vec<Arc<str>>,
    /// Draws for the time spent elsewhere in town, apart from `rng` so the
    /// rest of the user's life does not depend on them.
    side: ChaCha8Rng,
    /// Draws for whether the user passes a challenge, apart from `rng` for
    /// the same reason.
    answers: ChaCha8Rng,
    out: Vec<SimEvent>,
}

impl<'a> Gen<'a> {
    fn new(
        tenant: &'a Tenant,
        pools: &'a Pools,
        user: &'a User,
        seed: u64,
        cn: &[PlaceId],
    ) -> Gen<'a> {
        let mut rng = rng::derive(seed, "legit", user.index as u64);
        let home = home_schedule(tenant, pools, user, &mut rng);
        let mobile_places = mobile_places(pools, user, cn);
        Gen {
            tenant,
            pools,
            user,
            rng,
            home,
            mobile_places,
            mobile: None,
            windows: Vec::new(),
            first_after_change: Vec::new(),
            side: rng::derive(seed, "elsewhere", user.index as u64),
            answers: rng::derive(seed, "answers", user.index as u64),
            out: Vec::new(),
        }
    }

    fn run(&mut self) {
        for day in 0..self.tenant.days {
            self.plan_day(day);
        }
        for t in 0..self.user.trips.len() {
            self.plan_trip(t);
        }
        self.windows.sort_by_key(|w| w.from);
        self.plan_elsewhere();
        if let Some(pc) = &self.user.password_change {
            let new_phone = self.user.new_phone.as_ref().map(|n| &n.device);
            self.first_after_change =
                [Some(&self.user.laptop), self.user.phone.as_ref(), new_phone]
                    .into_iter()
                    .flatten()
                    .map(|d| d.id.clone())
                    .filter(|id| pc.stale.as_ref().is_none_or(|(s, _)| s != id))
                    .collect();
        }
        self.laptop();
        self.phone();
        self.extra();
        self.web();
        self.out.sort_by_key(|e| e.event.ts);
    }

    fn midnight(&self, day: u32) -> i64 {
        self.tenant.start + i64::from(day) * DAY
    }

    /// The trip covering `t` (from leaving for the airport to an hour after
    /// landing back), if any.
    fn trip_at(&self, t: i64) -> Option<usize> {
        self.user
            .trips
            .iter()
            .position(|tr| t >= tr.depart - 150 * MINUTE && t < tr.back_arrive + HOUR)
    }

    fn push_window(&mut self, w: Window) {
        if w.to <= w.from {
            return;
        }
        // Cut out the trips.
        let mut parts = vec![(w.from, w.to)];
        for tr in &self.user.trips {
            let (a, b) = (tr.depart - 150 * MINUTE, tr.back_arrive + HOUR);
            parts = parts
                .into_iter()
                .flat_map(|(f, t)| {
                    if t <= a || f >= b {
                        vec![(f, t)]
                    } else {
                        [(f, a), (b, t)]
                            .into_iter()
                            .filter(|(x, y)| y > x)
                            .collect()
                    }
                })
                .collect();
        }
        for (from, to) in parts {
            self.windows.push(Window { from, to, ..w });
        }
    }

    fn plan_day(&mut self, day: u32) {
        let m = self.midnight(day);
        let h = |x: f64| m + (x * HOUR as f64) as i64;
        let hb = self.user.habits.clone();
        let r = &mut self.rng;
        let wake = h(hb.wake + r.normal(0.0, 0.3));
        let sleep = h(hb.sleep + r.normal(0.0, 0.3));
        let workday = weekday(m + 12 * HOUR) < 5 && !r.chance(0.03);
        let home = |from, to, laptop, vpn| Window {
            from,
            to,
            at: At::Home,
            laptop,
            vpn,
        };
        let mut ws = Vec::new();
        if workday {
            let arrive = h(hb.arrive + r.normal(0.0, 0.25));
            let leave = h(hb.leave + r.normal(0.0, 0.4)).max(arrive + 4 * HOUR);
            let wfh = self.user.office.is_none() || r.chance(hb.wfh);
            let evening = r.chance(hb.evening_laptop);
            let vpn_day = self.user.vpn && r.chance(0.8);
            let (home_from, evening_start) = if wfh {
                ws.push(home(wake, arrive, false, false));
                ws.push(home(arrive, leave, true, vpn_day));
                (leave, leave + r.secs(HOUR, 3 * HOUR))
            } else {
                let office = self.user.office.expect("office worker");
                let commute = r.secs(25 * MINUTE, 70 * MINUTE);
                ws.push(home(wake, arrive - commute, false, false));
                ws.push(Window {
                    from: arrive - commute,
                    to: arrive,
                    at: At::Out,
                    laptop: false,
                    vpn: false,
                });
                ws.push(Window {
                    from: arrive,
                    to: leave,
                    at: At::Office(office),
                    laptop: true,
                    vpn: false,
                });
                ws.push(Window {
                    from: leave,
                    to: leave + commute,
                    at: At::Out,
                    laptop: false,
                    vpn: false,
                });
                (leave + commute, h(20.5 + r.normal(0.0, 0.5)))
            };
            if evening && evening_start < sleep - 30 * MINUTE {
                let evening_end = if self.user.night_owl {
                    sleep - r.secs(0, HOUR)
                } else {
                    (evening_start + r.secs(HOUR, 150 * MINUTE)).min(sleep)
                };
                let vpn = self.user.vpn && r.chance(0.3);
                ws.push(home(home_from, evening_start, false, false));
                ws.push(home(evening_start, evening_end, true, vpn));
                ws.push(home(evening_end, sleep, false, false));
            } else {
                ws.push(home(home_from, sleep, false, false));
            }
        } else if r.chance(0.6) {
            let out_from = h(r.random_range(10.0..16.0));
            let out_to = out_from + r.secs(2 * HOUR, 5 * HOUR);
            ws.push(home(wake, out_from, false, false));
            ws.push(Window {
                from: out_from,
                to: out_to,
                at: At::Out,
                laptop: false,
                vpn: false,
            });
            ws.push(home(out_to, sleep, false, false));
        } else {
            let laptop_from = h(r.random_range(14.0..21.0));
            let laptop_to = laptop_from + r.secs(HOUR, 2 * HOUR);
            if r.chance(0.15) && laptop_to < sleep {
                let vpn = self.user.vpn && r.chance(0.3);
                ws.push(home(wake, laptop_from, false, false));
                ws.push(home(laptop_from, laptop_to, true, vpn));
                ws.push(home(laptop_to, sleep, false, false));
            } else {
                ws.push(home(wake, sleep, false, false));
            }
        }
        for w in ws {
            self.push_window(w);
        }
    }

    /// Cuts time elsewhere in town out of the day's windows: a part of some
    /// workdays with the laptop at a client's office, a café or a
    /// co-working space (field staff more often), and an hour or two of
    /// some weekend outings on a venue's Wi-Fi.
    fn plan_elsewhere(&mut self) {
        let r = &mut self.side;
        let field = *r.weighted(&[(0.0, 0.55), (0.08, 0.3), (0.25, 0.15)]);
        let venue = *r.weighted(&[(0.0, 0.5), (0.3, 0.5)]);
        let mut out = Vec::with_capacity(self.windows.len());
        for w in std::mem::take(&mut self.windows) {
            let len = w.to - w.from;
            let (p, span) = match w.at {
                At::Office(_) | At::Home if w.laptop && !w.vpn && len > 3 * HOUR => {
                    (field, (90 * MINUTE, 4 * HOUR))
                }
                At::Out if len > 2 * HOUR => (venue, (40 * MINUTE, 2 * HOUR)),
                _ => (0.0, (0, 0)),
            };
            let Some(addr) = self.side.chance(p).then(|| self.town_addr()).flatten() else {
                out.push(w);
                continue;
            };
            let r = &mut self.side;
            let d = r.secs(span.0, span.1).min(len - 10 * MINUTE);
            let from = r.secs(w.from, w.to - d);
            let to = from + d;
            out.push(Window { to: from, ..w });
            out.push(Window {
                from,
                to,
                at: At::Elsewhere(addr),
                ..w
            });
            out.push(Window { from: to, ..w });
        }
        out.retain(|w| w.to > w.from);
        self.windows = out;
    }

    /// A third-party address in the user's own city: a business line of one
    /// of the carriers.
    fn town_addr(&mut self) -> Option<Addr> {
        let pools = self.pools;
        let place = self.user.home;
        let class = *self.side.weighted(&[
            (NetClass::Telecom, 0.45),
            (NetClass::Unicom, 0.3),
            (NetClass::Mobile, 0.25),
        ]);
        let blocks = pools.carrier_blocks(place, class);
        let (ip, place) = pools.pick_in(blocks, &mut self.side)?;
        Some(Addr { ip, place })
    }

    fn plan_trip(&mut self, t: usize) {
        let tr = self.user.trips[t].clone();
        let dest = self.pools.place(tr.dest).clone();
        let off = dest.utc_offset_hours();
        let hb = self.user.habits.clone();
        let transit = |from, to| Window {
            from,
            to,
            at: At::Transit(t),
            laptop: false,
            vpn: false,
        };
        self.windows
            .push(transit(tr.depart - 150 * MINUTE, tr.depart - 10 * MINUTE));
        self.windows.push(transit(tr.arrive, tr.arrive + HOUR));
        self.windows.push(transit(
            tr.back_depart - 150 * MINUTE,
            tr.back_depart - 10 * MINUTE,
        ));
        self.windows
            .push(transit(tr.back_arrive, tr.back_arrive + HOUR));

        // Days at the destination, in its local time.
        let stay_from = tr.arrive + HOUR;
        let stay_to = tr.back_depart - 150 * MINUTE;
        let base = self.tenant.start + 8 * HOUR - off * HOUR; // local midnight of day 0
        let first = (stay_from - base).div_euclid(DAY);
        let last = (stay_to - base).div_euclid(DAY);
        for d in first..=last {
            let m = base + d * DAY;
            let h = |x: f64| m + (x * HOUR as f64) as i64;
            let r = &mut self.rng;
            let from = h(hb.wake.max(6.5) + r.normal(0.0, 0.3)).max(stay_from);
            let to = h(hb.sleep.min(24.5) + r.normal(0.0, 0.3)).min(stay_to);
            if to <= from {
                continue;
            }
            let workday = weekday(m + off * HOUR - 8 * HOUR + 12 * HOUR) < 5;
            let (ws, we) = (h(9.0 + r.normal(0.0, 0.3)), h(18.0 + r.normal(0.0, 0.5)));
            let vpn = self.user.vpn && r.chance(0.6);
            let at_office = tr.dest_office.is_some();
            let mut cuts = vec![from];
            if workday {
                cuts.extend([ws.clamp(from, to), we.clamp(from, to)]);
            }
            cuts.push(to);
            for (i, pair) in cuts.windows(2).enumerate() {
                let (a, b) = (pair[0], pair[1]);
                let working = workday && i == 1;
                // Evenings at the hotel: the laptop some of the time
                // (always on the evening of arrival, to catch up).
                let laptop = working || (a == stay_from && r.chance(0.8)) || r.chance(0.3);
                let (la, lb) = if working {
                    (a, b)
                } else {
                    (a, (a + r.secs(HOUR, 3 * HOUR)).min(b))
                };
                let at = At::Away(t, working && at_office);
                if laptop && lb > la {
                    self.windows.push(Window {
                        from: la,
                        to: lb,
                        at,
                        laptop: true,
                        vpn: vpn && !(working && at_office),
                    });
                    if lb < b {
                        self.windows.push(Window {
                            from: lb,
                            to: b,
                            at: At::Away(t, false),
                            laptop: false,
                            vpn: false,
                        });
                    }
                } else {
                    self.windows.push(Window {
                        from: a,
                        to: b,
                        at,
                        laptop: false,
                        vpn: false,
                    });
                }
            }
        }
    }

    fn window_at(&self, t: i64) -> Option<Window> {
        let i = self.windows.partition_point(|w| w.from <= t);
        self.windows[..i]
            .iter()
            .rev()
            .take(4)
            .find(|w| t < w.to)
            .copied()
    }

    fn home_addr(&self, t: i64) -> Addr {
        let i = self.home.partition_point(|(from, _)| *from <= t);
        self.home[i.saturating_sub(1)].1
    }

    fn mobile_addr(&mut self, t: i64) -> Addr {
        if let Some((a, until)) = self.mobile {
            if t < until {
                return a;
            }
        }
        let place = *self.rng.weighted(&self.mobile_places);
        let pools = self.pools;
        let blocks = pools.carrier_blocks(place, self.user.carrier);
        let (ip, place) = pools
            .pick_in(blocks, &mut self.rng)
            .expect("mobile places have carrier blocks");
        let a = Addr { ip, place };
        let hold = self.rng.exp(80.0 * MINUTE as f64) as i64;
        self.mobile = Some((a, t + hold.max(10 * MINUTE)));
        a
    }

    fn office_addr(&mut self, office: usize) -> Addr {
        let eg = &self.tenant.offices[office].egress;
        if self.rng.chance(0.85) {
            eg[0]
        } else {
            eg[eg.len() - 1]
        }
    }

    fn vpn_addr(&self) -> Addr {
        self.tenant.vpn[self.user.index % self.tenant.vpn.len()]
    }

    /// The laptop's (and browser's) network in a window, and its kind.
    fn laptop_net(&mut self, w: &Window, t: i64) -> (Addr, Kind) {
        if w.vpn {
            return (self.vpn_addr(), Kind::Vpn);
        }
        match w.at {
            At::Office(o) => (self.office_addr(o), Kind::Office),
            At::Away(t, true) => {
                let o = self.user.trips[t].dest_office.expect("trip to an office");
                (self.office_addr(o), Kind::Travel)
            }
            At::Away(t, false) => (self.user.trips[t].hotel, Kind::Travel),
            At::Elsewhere(a) => (a, Kind::Elsewhere),
            At::Home | At::Out | At::Transit(_) => (self.home_addr(t), Kind::Home),
        }
    }

    /// The phone's network in a window, and its kind.
    fn phone_net(&mut self, w: &Window, t: i64) -> (Addr, Kind) {
        match w.at {
            At::Office(o) if self.rng.chance(0.65) => (self.office_addr(o), Kind::Office),
            At::Home if self.rng.chance(0.85) => (self.home_addr(t), Kind::Home),
            At::Away(tr, office) => {
                let trip: &Trip = &self.user.trips[tr];
                let wifi = if trip.foreign { 0.3 } else { 0.5 };
                if self.rng.chance(wifi) {
                    if office {
                        let o = trip.dest_office.expect("trip to an office");
                        (self.office_addr(o), Kind::Travel)
                    } else {
                        (trip.hotel, Kind::Travel)
                    }
                } else {
                    (self.mobile_addr(t), Kind::Travel)
                }
            }
            At::Transit(_) => (self.mobile_addr(t), Kind::Travel),
            At::Elsewhere(a) if self.side.chance(0.6) => (a, Kind::Elsewhere),
            At::Office(_) | At::Home | At::Out | At::Elsewhere(_) => {
                (self.mobile_addr(t), Kind::Mobile)
            }
        }
    }

    fn laptop(&mut self) {
        let dev = self.user.laptop.clone();
        let hb = self.user.habits.clone();
        let windows: Vec<Window> = self.windows.iter().filter(|w| w.laptop).copied().collect();
        for w in windows {
            let mut t = w.from + self.rng.secs(MINUTE, 12 * MINUTE);
            while t < w.to {
                let (addr, kind) = self.laptop_net(&w, t);
                self.login(t, &dev, dev.fetch, addr, kind);
                if dev.dav && self.rng.chance(0.35) {
                    let s = t + self.rng.secs(5, 90);
                    self.login(s, &dev, Protocol::Dav, addr, kind);
                }
                t += (self.rng.exp(hb.laptop_gap * MINUTE as f64) as i64).max(8 * MINUTE);
            }
            // Sends: about `sends` per nine-hour day.
            let hours = (w.to - w.from) as f64 / HOUR as f64;
            let n = (hours * hb.sends / 9.0 + self.rng.random::<f64>()).floor() as i64;
            for _ in 0..n {
                let s = self.rng.secs(w.from + 5 * MINUTE, w.to);
                let (addr, kind) = self.laptop_net(&w, s);
                self.login(s, &dev, Protocol::Smtp, addr, kind);
            }
        }
    }

    fn phone(&mut self) {
        let Some(first) = self.user.phone.clone() else {
            return;
        };
        let np = self.user.new_phone.clone();
        let gap = self.user.habits.phone_gap * MINUTE as f64;
        let (start, end) = (self.tenant.start, self.tenant.end());
        let mut t = start + self.rng.secs(0, HOUR);
        let mut set_up = false;
        while t < end {
            let Some(w) = self.window_at(t) else {
                // Asleep or flying: pick up at the next window.
                let i = self.windows.partition_point(|w| w.from <= t);
                match self.windows.get(i) {
                    Some(w) => t = w.from + self.rng.secs(0, 20 * MINUTE),
                    None => break,
                }
                continue;
            };
            let dev = match &np {
                Some(n) if t >= n.at => {
                    if !set_up {
                        set_up = true;
                        // Setting up the new phone at home, sometimes with a typo.
                        if let Some(hw) = self.window_at(n.at) {
                            let (addr, _) = self.phone_net(&hw, n.at);
                            let typo = self.rng.chance(0.3);
                            self.emit_typos(n.at, &n.device, Protocol::Imap, addr, typo);
                            self.emit(n.at, &n.device, Protocol::Imap, addr, Kind::NewPhone, true);
                        }
                    }
                    n.device.clone()
                }
                _ => first.clone(),
            };
            let (addr, kind) = self.phone_net(&w, t);
            self.login(t, &dev, Protocol::Imap, addr, kind);
            if dev.dav && self.rng.chance(0.25) {
                let s = t + self.rng.secs(2, 60);
                self.login(s, &dev, Protocol::Dav, addr, kind);
            }
            if self.rng.chance(0.12) {
                let s = t + self.rng.secs(MINUTE, 10 * MINUTE);
                self.login(s, &dev, Protocol::Smtp, addr, kind);
            }
            t += (self.rng.exp(gap) as i64).max(10 * MINUTE);
        }
    }

    fn extra(&mut self) {
        let Some(dev) = self.user.extra.clone() else {
            return;
        };
        let windows: Vec<Window> = self
            .windows
            .iter()
            .filter(|w| w.at == At::Home && w.to - w.from > HOUR)
            .copied()
            .collect();
        for w in windows {
            if !self.rng.chance(0.3) {
                continue;
            }
            let mut t = self.rng.secs(w.from, w.to - 30 * MINUTE);
            for _ in 0..self.rng.random_range(1..4) {
                if t >= w.to {
                    break;
                }
                let (addr, kind) = (self.home_addr(t), Kind::Home);
                self.login(t, &dev, dev.fetch, addr, kind);
                t += self.rng.secs(20 * MINUTE, 60 * MINUTE);
            }
        }
    }

    fn web(&mut self) {
        let windows: Vec<Window> = self.windows.iter().filter(|w| w.laptop).copied().collect();
        let dev = crate::tenant::Device {
            id: self.user.browser_device.clone(),
            kind: crate::tenant::DeviceKind::Laptop,
            user_agent: self.user.browser.clone(),
            fetch: Protocol::Web,
            dav: false,
        };
        let p = self.user.habits.web;
        for w in windows {
            // About `web` per workday (a workday has one or two laptop windows).
            if !self.rng.chance(p * 0.7) {
                continue;
            }
            let t = self.rng.secs(w.from, w.to);
            let (addr, kind) = self.laptop_net(&w, t);
            let typo = self.rng.chance(0.06);
            self.emit_typos(t, &dev, Protocol::Web, addr, typo);
            self.emit(t, &dev, Protocol::Web, addr, kind, typo);
        }
        // The password change itself happens in webmail.
        if let Some(pc) = self.user.password_change.clone() {
            if let Some(w) = self.window_at(pc.at) {
                let (addr, kind) = self.laptop_net(&w, pc.at);
                self.emit(pc.at, &dev, Protocol::Web, addr, kind, false);
            }
        }
    }

    /// A device's login at `t`, with what follows from the password change:
    /// a stale device fails (and retries), a device's first login with the
    /// new password may come after typos.
    fn login(&mut self, t: i64, dev: &Device, protocol: Protocol, addr: Addr, kind: Kind) {
        if let Some(pc) = &self.user.password_change {
            if t >= pc.at {
                if let Some((stale, fixed)) = &pc.stale {
                    if *stale == dev.id && fixed.is_none_or(|f| t < f) {
                        self.emit_failure(t, dev, protocol, addr, Kind::StaleClient);
                        let retry = t + self.rng.secs(30, 3 * MINUTE);
                        self.emit_failure(retry, dev, protocol, addr, Kind::StaleClient);
                        return;
                    }
                }
                if let Some(i) = self.first_after_change.iter().position(|d| *d == dev.id) {
                    self.first_after_change.swap_remove(i);
                    if self.rng.chance(0.25) {
                        self.emit_typos(t, dev, protocol, addr, true);
                        self.emit(t, dev, protocol, addr, kind, true);
                        return;
                    }
                }
            }
        }
        self.emit(t, dev, protocol, addr, kind, false);
    }

    /// One to three wrong passwords just before `t` when `typo`.
    fn emit_typos(&mut self, t: i64, dev: &Device, protocol: Protocol, addr: Addr, typo: bool) {
        if !typo {
            return;
        }
        let n = *self.rng.weighted(&[(1, 0.75), (2, 0.2), (3, 0.05)]);
        let mut s = t;
        let mut times = Vec::new();
        for _ in 0..n {
            s -= self.rng.secs(8, 45);
            times.push(s);
        }
        for s in times.into_iter().rev() {
            self.emit_failure(s, dev, protocol, addr, Kind::Typo);
        }
    }

    fn emit_failure(&mut self, t: i64, dev: &Device, protocol: Protocol, addr: Addr, kind: Kind) {
        self.push(
            t,
            dev,
            protocol,
            addr,
            Outcome::Failure(FailureReason::WrongPassword),
            kind,
        );
    }

    /// A success; `typo` labels it as the end of a typo episode.
    fn emit(
        &mut self,
        t: i64,
        dev: &Device,
        protocol: Protocol,
        addr: Addr,
        kind: Kind,
        typo: bool,
    ) {
        let kind = if typo { Kind::Typo } else { kind };
        self.push(t, dev, protocol, addr, Outcome::Success, kind);
    }

    fn push(
        &mut self,
        t: i64,
        dev: &Device,
        protocol: Protocol,
        addr: Addr,
        outcome: Outcome,
        kind: Kind,
    ) {
        if t < self.tenant.start || t >= self.tenant.end() {
            return;
        }
        let kind = self.refine(t, dev, kind);
        let challenge_passed = outcome.is_success() && self.answers.chance(CHALLENGE_PASS_RATE);
        self.out.push(SimEvent {
            event: Event {
                ts: t,
                user: self.user.name.clone(),
                ip: addr.ip,
                protocol,
                outcome,
                device: Some(dev.id.clone()),
                user_agent: Some(dev.user_agent.clone()),
                challenge_passed,
            },
            label: Label::legit(kind),
            place: addr.place,
        });
    }

    /// The most specific kind for an event.
    fn refine(&self, t: i64, dev: &Device, kind: Kind) -> Kind {
        if matches!(kind, Kind::StaleClient | Kind::Typo) {
            return kind;
        }
        if let Some(np) = &self.user.new_phone {
            if dev.id == np.device.id && t < np.at + DAY {
                return Kind::NewPhone;
            }
        }
        if kind == Kind::Travel || self.trip_at(t).is_some() {
            return Kind::Travel;
        }
        let hour = local_hour(t, 8);
        if self.user.night_owl && !(5.0..23.0).contains(&hour) {
            return Kind::NightOwl;
        }
        kind
    }
}

/// The home broadband addresses over the period: a new address of the
/// home carrier in the home city every two to seven days, early morning.
fn home_schedule(
    tenant: &Tenant,
    pools: &Pools,
    user: &User,
    rng: &mut ChaCha8Rng,
) -> Vec<(i64, Addr)> {
    let blocks = pools.carrier_blocks(user.home, user.isp);
    let mut out = Vec::new();
    let mut t = tenant.start - DAY;
    while t < tenant.end() {
        let (ip, place) = pools
            .pick_in(blocks, rng)
            .expect("home cities have carrier blocks");
        out.push((t, Addr { ip, place }));
        let days = rng.random_range(2..8);
        let day_start = (t - tenant.start).div_euclid(DAY) + days;
        t = tenant.start + day_start * DAY + rng.secs(2 * HOUR, 6 * HOUR);
    }
    out
}

/// Where the phone's carrier addresses geolocate: mostly the province hub,
/// else other cities of the province (not the user's own) or other
/// provinces.
fn mobile_places(pools: &Pools, user: &User, cn: &[PlaceId]) -> Vec<(PlaceId, f64)> {
    let region = pools.place(user.home).region.clone();
    let hub = pools.region_hub(user.home);
    let has = |p: PlaceId| !pools.blocks_in(p, user.carrier).is_empty();
    let mut v = vec![(hub, 0.6)];
    let same: Vec<PlaceId> = cn
        .iter()
        .copied()
        .filter(|&p| p != hub && p != user.home && pools.place(p).region == region && has(p))
        .take(6)
        .collect();
    for &p in &same {
        v.push((p, 0.28 / same.len() as f64));
    }
    let other: Vec<PlaceId> = cn
        .iter()
        .copied()
        .filter(|&p| pools.place(p).region != region && has(p))
        .take(12)
        .collect();
    for &p in &other {
        v.push((p, 0.12 / other.len() as f64));
    }
    v
}
