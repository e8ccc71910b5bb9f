//! How many countries and networks an account's successful mail logins
//! (IMAP, POP3, SMTP) come from within 24 hours, from a labelled stream of
//! `warden simulate`: the data behind the compromise-signal thresholds
//! (`warden_core::compromise`). For legitimate users it prints the
//! distribution of each user's busiest 24 hours; for accounts an attack got
//! into, the same with the attacker's logins mixed in.
//!
//! ```text
//! warden simulate --users 1000 --days 42 --seed 7 --out /tmp/sim
//! cargo run --release -p warden --example login_spread -- /tmp/sim data/geo
//! ```

use std::collections::{BTreeMap, HashMap, HashSet, VecDeque};
use std::io::BufRead;
use std::net::IpAddr;

fn network(ip: IpAddr) -> u128 {
    match ip {
        IpAddr::V4(v4) => (1u128 << 64) | u128::from(u32::from(v4) >> 8),
        IpAddr::V6(v6) => u128::from(v6) >> 64,
    }
}

#[derive(Default)]
struct Window {
    logins: VecDeque<(i64, Option<[u8; 2]>, u128)>,
    max_countries: usize,
    max_networks: usize,
}

impl Window {
    fn push(&mut self, ts: i64, country: Option<[u8; 2]>, net: u128) {
        self.logins.push_back((ts, country, net));
        while self.logins.front().is_some_and(|l| l.0 < ts - 86_400) {
            self.logins.pop_front();
        }
        let countries: HashSet<_> = self.logins.iter().filter_map(|l| l.1).collect();
        let networks: HashSet<_> = self.logins.iter().map(|l| l.2).collect();
        self.max_countries = self.max_countries.max(countries.len());
        self.max_networks = self.max_networks.max(networks.len());
    }
}

fn histogram(name: &str, values: impl Iterator<Item = usize>) {
    let mut h: BTreeMap<usize, usize> = BTreeMap::new();
    let mut n = 0;
    for v in values {
        *h.entry(v).or_default() += 1;
        n += 1;
    }
    println!("{name} ({n} accounts): busiest 24 h -> accounts");
    for (v, c) in h {
        println!("  {v:>3}: {c}");
    }
}

fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().collect();
    let (sim, geo) = match args.as_slice() {
        [_, sim, geo] => (sim.clone(), geo.clone()),
        _ => anyhow::bail!("usage: login_spread SIM_DIR GEO_DIR"),
    };
    let intel = warden_geo::IpIntel::from_dir(&geo)?;
    let events = std::io::BufReader::new(std::fs::File::open(format!("{sim}/events.jsonl"))?);
    let labels = std::io::BufReader::new(std::fs::File::open(format!("{sim}/labels.jsonl"))?);
    let mut legit: HashMap<String, Window> = HashMap::new();
    let mut mixed: HashMap<String, Window> = HashMap::new();
    let mut broken_into: HashSet<String> = HashSet::new();
    for (e, l) in events.lines().zip(labels.lines()) {
        let e: serde_json::Value = serde_json::from_str(&e?)?;
        let l: serde_json::Value = serde_json::from_str(&l?)?;
        if e["outcome"] != "success"
            || !matches!(e["protocol"].as_str(), Some("imap" | "pop3" | "smtp"))
        {
            continue;
        }
        let ts = e["ts"]
            .as_str()
            .unwrap_or_default()
            .parse::<jiff::Timestamp>()?
            .as_second();
        let user = e["user"].as_str().unwrap_or_default().to_string();
        let ip: IpAddr = e["ip"].as_str().unwrap_or_default().parse()?;
        let country = intel.lookup(ip).location.country.map(|c| {
            let b = c.as_str().as_bytes();
            [b[0], b[1]]
        });
        let attack = l["label"] == "attack";
        if attack {
            broken_into.insert(user.clone());
        } else {
            legit
                .entry(user.clone())
                .or_default()
                .push(ts, country, network(ip));
        }
        mixed
            .entry(user)
            .or_default()
            .push(ts, country, network(ip));
    }
    histogram(
        "legit: distinct countries",
        legit.values().map(|w| w.max_countries),
    );
    histogram(
        "legit: distinct /24 or /64 networks",
        legit.values().map(|w| w.max_networks),
    );
    let hit = || {
        mixed
            .iter()
            .filter(|(u, _)| broken_into.contains(*u))
            .map(|(_, w)| w)
    };
    histogram(
        "broken into: distinct countries",
        hit().map(|w| w.max_countries),
    );
    histogram(
        "broken into: distinct networks",
        hit().map(|w| w.max_networks),
    );
    Ok(())
}
