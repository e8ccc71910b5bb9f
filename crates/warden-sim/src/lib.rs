//! Warden's login simulator: a realistic enterprise mail tenant, on real
//! geo data, with labelled attacks (`warden simulate`).
//!
//! [`run`] builds the address [`Pools`] from the DB-IP city MMDB and the
//! ASN CSV in a geo data folder ([`pools`]), draws a [`Tenant`] (offices,
//! users, devices, habits, trips, new phones, password changes: [`tenant`]),
//! generates a month or so of legit logins ([`legit`]) and the attack
//! campaigns ([`attacks`]), sorts everything by time and writes
//! `events.jsonl` (the input format of `warden replay`) and `labels.jsonl`
//! (one label per event, same line numbers: [`output`]).
//!
//! Everything is deterministic: the same geo data, configuration and seed
//! give byte-identical files. Each part of the simulation draws from its
//! own seeded stream ([`rng`]).
//!
//! ```no_run
//! use std::path::Path;
//! let summary = warden_sim::run(&warden_sim::SimConfig::default(), Path::new("data/geo"), Path::new("/tmp/sim"))?;
//! println!("{summary}");
//! # Ok::<(), warden_sim::SimError>(())
//! ```

pub mod attacks;
pub mod legit;
pub mod output;
pub mod pools;
pub mod rng;
pub mod tenant;
pub mod time;

use std::collections::BTreeMap;
use std::fmt;
use std::fs::File;
use std::io::BufWriter;
use std::path::{Path, PathBuf};

pub use attacks::CampaignInfo;
pub use output::{Campaign, Event, Kind, Label, Phase, SimEvent};
pub use pools::{Block, NetClass, Place, PlaceId, Pools};
pub use tenant::{Tenant, Trip, User};

/// The events file's name in the output folder.
pub const EVENTS_FILE: &str = "events.jsonl";
/// The labels file's name in the output folder.
pub const LABELS_FILE: &str = "labels.jsonl";

/// Why a simulation could not run.
#[derive(Debug, thiserror::Error)]
pub enum SimError {
    #[error(
        "the geo data folder {} lacks {}: run scripts/fetch-geo.sh {} first",
        dir.display(),
        missing.join(" and "),
        dir.display()
    )]
    GeoDataMissing { dir: PathBuf, missing: Vec<String> },
    #[error("{} is not a readable MaxMind DB: {source}", path.display())]
    Mmdb {
        path: PathBuf,
        #[source]
        source: maxminddb::MaxMindDbError,
    },
    #[error("cannot read {}: {message}", path.display())]
    Csv { path: PathBuf, message: String },
    #[error("{}:{line}: {what}", path.display())]
    AsnLine {
        path: PathBuf,
        line: u64,
        what: String,
    },
    /// The geo data lacks places the tenant needs.
    #[error("the geo data has {0}")]
    NoPlaces(String),
    #[error("invalid simulation settings: {0}")]
    Config(String),
    #[error("cannot write {}: {source}", path.display())]
    Write {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
}

impl SimError {
    fn csv(path: &Path, e: csv::Error) -> SimError {
        SimError::Csv {
            path: path.to_path_buf(),
            message: e.to_string(),
        }
    }
}

/// What to simulate.
#[derive(Debug, Clone, PartialEq)]
pub struct SimConfig {
    pub users: usize,
    pub days: u32,
    pub seed: u64,
    /// Unix seconds of the first day's midnight, China time.
    pub start: i64,
    /// The tenant's mail domain.
    pub domain: String,
    /// Attack campaigns relative to the default mix (1.0: about 20 for
    /// 300 users over 42 days, in proportion to users × days). More
    /// campaigns make the catch rates of `warden eval` more precise.
    pub attack_scale: f64,
}

impl Default for SimConfig {
    /// 300 users, 42 days from Monday 2026-03-02, seed 1, `corp.example.com`.
    fn default() -> Self {
        SimConfig {
            users: 300,
            days: 42,
            seed: 1,
            start: time::cn_midnight(2026, 3, 2),
            domain: "corp.example.com".to_string(),
            attack_scale: 1.0,
        }
    }
}

impl SimConfig {
    pub fn validate(&self) -> Result<(), SimError> {
        if self.users == 0 || self.users > 100_000 {
            return Err(SimError::Config(format!(
                "users must be 1..=100000, not {}",
                self.users
            )));
        }
        if !(self.attack_scale.is_finite() && (0.0..=100.0).contains(&self.attack_scale)) {
            return Err(SimError::Config(format!(
                "attack_scale must be within 0..=100, not {}",
                self.attack_scale
            )));
        }
        if self.days == 0 || self.days > 3660 {
            return Err(SimError::Config(format!(
                "days must be 1..=3660, not {}",
                self.days
            )));
        }
        if self.domain.is_empty() || self.domain.contains(['@', ' ', '"']) {
            return Err(SimError::Config(format!(
                "{:?} is not a mail domain",
                self.domain
            )));
        }
        Ok(())
    }
}

/// A simulated period: the tenant, its events in time order with their
/// labels, and the campaigns.
#[derive(Debug, Clone)]
pub struct Simulation {
    pub tenant: Tenant,
    pub events: Vec<SimEvent>,
    pub campaigns: Vec<CampaignInfo>,
}

/// Simulates `cfg` on `pools`.
pub fn simulate(cfg: &SimConfig, pools: &Pools) -> Result<Simulation, SimError> {
    cfg.validate()?;
    let tenant = Tenant::build(cfg, pools)?;
    let mut events = Vec::new();
    legit::generate(&tenant, pools, cfg.seed, &mut events);
    let mut attack_events = Vec::new();
    let campaigns = attacks::generate(
        &tenant,
        pools,
        cfg.seed,
        cfg.attack_scale,
        &events,
        &mut attack_events,
    );
    events.append(&mut attack_events);
    // Stable: ties keep generation order.
    events.sort_by_key(|e| e.event.ts);
    Ok(Simulation {
        tenant,
        events,
        campaigns,
    })
}

impl Simulation {
    /// Counts per kind and label.
    pub fn summary(&self) -> Summary {
        let mut s = Summary {
            users: self.tenant.users.len(),
            days: self.tenant.days,
            events: self.events.len(),
            ..Summary::default()
        };
        for e in &self.events {
            *s.by_kind.entry(e.label.kind).or_default() += 1;
            if e.label.is_attack() {
                s.attack += 1;
            } else {
                s.legit += 1;
            }
            if !e.event.outcome.is_success() {
                s.failures += 1;
            }
        }
        for c in &self.campaigns {
            *s.campaigns.entry(c.campaign.kind).or_default() += 1;
        }
        s
    }

    /// Writes `events.jsonl` and `labels.jsonl` into `dir` (created if
    /// needed).
    pub fn write_files(&self, dir: &Path) -> Result<(), SimError> {
        let werr = |path: &Path| {
            let path = path.to_path_buf();
            move |source| SimError::Write { path, source }
        };
        std::fs::create_dir_all(dir).map_err(werr(dir))?;
        let (ev, lab) = (dir.join(EVENTS_FILE), dir.join(LABELS_FILE));
        let evf = File::create(&ev).map_err(werr(&ev))?;
        let labf = File::create(&lab).map_err(werr(&lab))?;
        output::write_jsonl(&self.events, BufWriter::new(evf), BufWriter::new(labf))
            .map_err(werr(dir))
    }
}

/// Loads the pools from `geo_dir`, simulates `cfg` and writes the files
/// into `out_dir`.
pub fn run(cfg: &SimConfig, geo_dir: &Path, out_dir: &Path) -> Result<Summary, SimError> {
    cfg.validate()?;
    let pools = Pools::load(geo_dir, cfg.seed)?;
    let sim = simulate(cfg, &pools)?;
    sim.write_files(out_dir)?;
    Ok(sim.summary())
}

/// What a simulation produced.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Summary {
    pub users: usize,
    pub days: u32,
    pub events: usize,
    pub legit: usize,
    pub attack: usize,
    pub failures: usize,
    pub by_kind: BTreeMap<Kind, usize>,
    pub campaigns: BTreeMap<Kind, usize>,
}

impl fmt::Display for Summary {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "{} users, {} days: {} events ({} legit, {} attack; {} failures)",
            self.users, self.days, self.events, self.legit, self.attack, self.failures
        )?;
        for k in Kind::LEGIT {
            writeln!(
                f,
                "  legit  {:<18} {:>8}",
                k.as_str(),
                self.by_kind.get(&k).unwrap_or(&0)
            )?;
        }
        for k in Kind::ATTACKS {
            writeln!(
                f,
                "  attack {:<18} {:>8}  in {} campaigns",
                k.as_str(),
                self.by_kind.get(&k).unwrap_or(&0),
                self.campaigns.get(&k).unwrap_or(&0)
            )?;
        }
        Ok(())
    }
}
