//! What the simulator writes: events in `warden replay`'s input format and
//! one label per event.
//!
//! `events.jsonl`, one login per line, in time order:
//!
//! ```json
//! {"ts":"2026-03-02T09:12:03+08:00","user":"wang.fang@corp.example.com","ip":"113.88.1.10",
//!  "protocol":"imap","outcome":"success","device":"wang.fang-laptop","user_agent":"Foxmail 7.2.25"}
//! ```
//!
//! with `failure_reason` (`wrong_password`, `unknown_user`) after a
//! `"outcome":"failure"`, and `"challenge_passed":true` on the legit
//! successes whose user would pass a challenge (never on an attacker's). `labels.jsonl`: line *i* describes line *i* of
//! the events:
//!
//! ```json
//! {"label":"attack","kind":"stuffing","campaign":"stuffing-1","phase":"guess"}
//! {"label":"legit","kind":"office","campaign":null,"phase":"legit"}
//! ```

use std::fmt;
use std::io::{self, Write};
use std::net::Ipv4Addr;
use std::sync::Arc;

use warden_core::{Outcome, Protocol};

use crate::pools::PlaceId;
use crate::time::format_cn;

/// What an event is, legit or attack: the label's `kind`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Kind {
    // Legit.
    Office,
    Home,
    Mobile,
    Vpn,
    Travel,
    NewPhone,
    StaleClient,
    Typo,
    NightOwl,
    Elsewhere,
    // Attacks.
    Stuffing,
    Spraying,
    PhishingAbroad,
    DomesticCity,
    ImpossibleTravel,
    ResidentialProxy,
    BruteForce,
}

impl Kind {
    pub const LEGIT: [Kind; 10] = [
        Kind::Office,
        Kind::Home,
        Kind::Mobile,
        Kind::Vpn,
        Kind::Travel,
        Kind::NewPhone,
        Kind::StaleClient,
        Kind::Typo,
        Kind::NightOwl,
        Kind::Elsewhere,
    ];
    pub const ATTACKS: [Kind; 7] = [
        Kind::Stuffing,
        Kind::Spraying,
        Kind::PhishingAbroad,
        Kind::DomesticCity,
        Kind::ImpossibleTravel,
        Kind::ResidentialProxy,
        Kind::BruteForce,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Office => "office",
            Kind::Home => "home",
            Kind::Mobile => "mobile",
            Kind::Vpn => "vpn",
            Kind::Travel => "travel",
            Kind::NewPhone => "new_phone",
            Kind::StaleClient => "stale_client",
            Kind::Typo => "typo",
            Kind::NightOwl => "night_owl",
            Kind::Elsewhere => "elsewhere",
            Kind::Stuffing => "stuffing",
            Kind::Spraying => "spraying",
            Kind::PhishingAbroad => "phishing_abroad",
            Kind::DomesticCity => "domestic_city",
            Kind::ImpossibleTravel => "impossible_travel",
            Kind::ResidentialProxy => "residential_proxy",
            Kind::BruteForce => "brute_force",
        }
    }

    pub fn is_attack(self) -> bool {
        Kind::ATTACKS.contains(&self)
    }
}

impl fmt::Display for Kind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Where an event stands in an attack: the label's `phase`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Phase {
    /// An attempt whose password may be wrong (stuffing, spraying, brute
    /// force), successful or not.
    Guess,
    /// The attacker's login with a valid password (after guessing, or a
    /// phished / stolen password).
    Login,
    /// A later attacker session (reading mail).
    Use,
    /// Not an attack.
    Legit,
}

impl Phase {
    pub fn as_str(self) -> &'static str {
        match self {
            Phase::Guess => "guess",
            Phase::Login => "login",
            Phase::Use => "use",
            Phase::Legit => "legit",
        }
    }
}

/// One attack campaign: `"{kind}-{number}"`, numbers from 1 per kind.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Campaign {
    pub kind: Kind,
    pub number: u32,
}

impl fmt::Display for Campaign {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}-{}", self.kind, self.number)
    }
}

/// The label of one event.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Label {
    pub kind: Kind,
    /// Attacks only.
    pub campaign: Option<Campaign>,
    pub phase: Phase,
}

impl Label {
    pub fn legit(kind: Kind) -> Label {
        Label {
            kind,
            campaign: None,
            phase: Phase::Legit,
        }
    }

    pub fn attack(campaign: Campaign, phase: Phase) -> Label {
        Label {
            kind: campaign.kind,
            campaign: Some(campaign),
            phase,
        }
    }

    pub fn is_attack(&self) -> bool {
        self.kind.is_attack()
    }
}

/// One login as the mail server reports it.
#[derive(Debug, Clone, PartialEq)]
pub struct Event {
    /// Unix seconds.
    pub ts: i64,
    pub user: Arc<str>,
    pub ip: Ipv4Addr,
    pub protocol: Protocol,
    pub outcome: Outcome,
    pub device: Option<Arc<str>>,
    pub user_agent: Option<Arc<str>>,
    /// If Warden challenges this login, the user passes (written as
    /// `"challenge_passed":true`; legit logins only, see
    /// [`crate::legit::CHALLENGE_PASS_RATE`]).
    pub challenge_passed: bool,
}

/// An event, its label, and the place the simulator meant its address to
/// be in (for checking the geo data agrees).
#[derive(Debug, Clone, PartialEq)]
pub struct SimEvent {
    pub event: Event,
    pub label: Label,
    pub place: PlaceId,
}

/// Appends `s` as a JSON string.
fn json_str(out: &mut String, s: &str) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            c if (c as u32) < 0x20 => {
                use fmt::Write as _;
                let _ = write!(out, "\\u{:04x}", c as u32);
            }
            c => out.push(c),
        }
    }
    out.push('"');
}

/// Appends the event's JSON line (with the newline).
pub fn event_line(e: &Event, out: &mut String) {
    use fmt::Write as _;
    out.push_str("{\"ts\":\"");
    format_cn(e.ts, out);
    out.push_str("\",\"user\":");
    json_str(out, &e.user);
    let _ = write!(
        out,
        ",\"ip\":\"{}\",\"protocol\":\"{}\"",
        e.ip,
        e.protocol.as_str()
    );
    match e.outcome {
        Outcome::Success => out.push_str(",\"outcome\":\"success\""),
        Outcome::Failure(r) => {
            let _ = write!(
                out,
                ",\"outcome\":\"failure\",\"failure_reason\":\"{}\"",
                r.as_str()
            );
        }
    }
    if let Some(d) = &e.device {
        out.push_str(",\"device\":");
        json_str(out, d);
    }
    if let Some(ua) = &e.user_agent {
        out.push_str(",\"user_agent\":");
        json_str(out, ua);
    }
    if e.challenge_passed {
        out.push_str(",\"challenge_passed\":true");
    }
    out.push_str("}\n");
}

/// Appends the label's JSON line (with the newline).
pub fn label_line(l: &Label, out: &mut String) {
    use fmt::Write as _;
    let label = if l.is_attack() { "attack" } else { "legit" };
    let _ = write!(out, "{{\"label\":\"{label}\",\"kind\":\"{}\",", l.kind);
    match l.campaign {
        Some(c) => {
            let _ = write!(out, "\"campaign\":\"{c}\",");
        }
        None => out.push_str("\"campaign\":null,"),
    }
    let _ = writeln!(out, "\"phase\":\"{}\"}}", l.phase.as_str());
}

/// Writes both files' contents to the two writers.
pub fn write_jsonl(events: &[SimEvent], mut ev: impl Write, mut lab: impl Write) -> io::Result<()> {
    let mut a = String::with_capacity(1 << 16);
    let mut b = String::with_capacity(1 << 14);
    for e in events {
        event_line(&e.event, &mut a);
        label_line(&e.label, &mut b);
        if a.len() > 60_000 {
            ev.write_all(a.as_bytes())?;
            lab.write_all(b.as_bytes())?;
            a.clear();
            b.clear();
        }
    }
    ev.write_all(a.as_bytes())?;
    lab.write_all(b.as_bytes())?;
    ev.flush()?;
    lab.flush()
}
