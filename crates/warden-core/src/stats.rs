//! The statistical view of a login, after Freeman et al., "Who Are You? A
//! Statistical Approach to Measuring User Authenticity" (NDSS 2016): how much
//! likelier the login's features are under the whole population (a stand-in
//! for an attacker) than under this user's own history.
//!
//! Features form hierarchies, coarse to fine (country → ASN → IP; client
//! family → user agent). At each level the user's probability of the value
//! given its parent is smoothed Witten–Bell style: values the user has used
//! keep their share, and the mass the user has not explored yet backs off to
//! the population's distribution. The log-likelihood ratios of the levels
//! add up; a login entirely like the user's history scores about zero or
//! below, one from a place, network and client the user never had scores
//! high.
//!
//! [`Freeman`] is the plain model of the paper (exact counts, no decay, no
//! rules), kept as the baseline `warden eval` compares against. The engine's
//! own use of the same mathematics reads the decayed profile lists against a
//! decayed [`Population`] (see `detect::statistical`) and joins the rules.

use std::hash::{Hash, Hasher};
use std::net::IpAddr;

use rustc_hash::{FxHashMap, FxHasher};

use crate::domain::{IpInfo, LoginAttempt};

/// Counts at one level of a hierarchy: for the value and for its parent
/// (the count at the level above, or the total at the top), the user's and
/// the population's, and how many distinct values the user has at this
/// level.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct LevelCounts {
    pub user: f64,
    pub user_parent: f64,
    pub user_distinct: f64,
    pub pop: f64,
    pub pop_parent: f64,
    pub pop_distinct: f64,
}

/// The population's probability of the value given its parent, add-one
/// smoothed so unseen values keep a small share.
fn pop_conditional(c: &LevelCounts) -> f64 {
    (c.pop + 1.0) / (c.pop_parent + c.pop_distinct + 1.0)
}

/// The user's probability of the value given its parent: Witten–Bell, the
/// unexplored share `d / (n + d)` going to the population's distribution.
fn user_conditional(c: &LevelCounts, pop: f64) -> f64 {
    if c.user_parent <= 0.0 {
        // Nothing known under this parent: no evidence either way.
        return pop;
    }
    let d = c.user_distinct.max(1.0);
    let unseen = d / (c.user_parent + d);
    let seen = c.user.max(0.0) / (c.user_parent + d);
    seen + unseen * pop
}

/// `log P_population(x) − log P_user(x)` over a hierarchy given coarse to
/// fine (natural log). Positive: the login looks more like anybody than like
/// this user.
pub fn log_likelihood_ratio(levels: &[LevelCounts]) -> f64 {
    levels
        .iter()
        .map(|c| {
            let pop = pop_conditional(c);
            let user = user_conditional(c, pop);
            pop.ln() - user.ln()
        })
        .sum()
}

/// A key for a feature value at a level (level and value hashed together).
fn key(level: u8, value: impl Hash) -> u64 {
    let mut h = FxHasher::default();
    level.hash(&mut h);
    value.hash(&mut h);
    h.finish()
}

/// Counts of values per level, with the distinct values per level.
#[derive(Debug, Clone, Default)]
struct Counts {
    by_key: FxHashMap<u64, f64>,
    distinct: [f64; LEVELS],
    total: f64,
}

/// Levels: 0 country, 1 ASN, 2 IP; 3 client family, 4 user agent.
const LEVELS: usize = 5;

impl Counts {
    fn get(&self, k: u64) -> f64 {
        self.by_key.get(&k).copied().unwrap_or(0.0)
    }

    fn add(&mut self, level: usize, k: u64) {
        let e = self.by_key.entry(k).or_insert(0.0);
        if *e == 0.0 {
            self.distinct[level] += 1.0;
        }
        *e += 1.0;
    }
}

/// The keys of one login's features, coarse to fine per hierarchy.
fn features(attempt: &LoginAttempt, ip: &IpInfo) -> [(usize, u64); LEVELS] {
    let country = ip.location.country;
    let ip_addr: IpAddr = attempt.ip;
    let family = attempt.client.as_ref().map(|c| c.name.clone());
    let ua = attempt.user_agent.as_deref().map(str::to_string);
    [
        (0, key(0, country)),
        (1, key(1, (country, ip.network.asn))),
        (2, key(2, ip_addr)),
        (3, key(3, &family)),
        (4, key(4, (&family, &ua))),
    ]
}

/// The plain Freeman model: exact counts of every successful login, per
/// user and over everybody; no decay, no rules.
#[derive(Debug, Clone, Default)]
pub struct Freeman {
    population: Counts,
    users: FxHashMap<u64, Counts>,
}

impl Freeman {
    pub fn new() -> Self {
        Freeman::default()
    }

    /// The log-likelihood ratio of the login for its user (higher is more
    /// suspicious). Changes nothing.
    pub fn score(&self, attempt: &LoginAttempt, ip: &IpInfo) -> f64 {
        let empty = Counts::default();
        let user = self.users.get(&key(255, &*attempt.user)).unwrap_or(&empty);
        let f = features(attempt, ip);
        let levels = |range: std::ops::Range<usize>| -> Vec<LevelCounts> {
            range
                .map(|i| {
                    let (level, k) = f[i];
                    let parent = |c: &Counts| {
                        if i == 0 || i == 3 {
                            c.total
                        } else {
                            c.get(f[i - 1].1)
                        }
                    };
                    LevelCounts {
                        user: user.get(k),
                        user_parent: parent(user),
                        user_distinct: user.distinct[level],
                        pop: self.population.get(k),
                        pop_parent: parent(&self.population),
                        pop_distinct: self.population.distinct[level],
                    }
                })
                .collect()
        };
        log_likelihood_ratio(&levels(0..3)) + log_likelihood_ratio(&levels(3..5))
    }

    /// Learns a successful login.
    pub fn learn(&mut self, attempt: &LoginAttempt, ip: &IpInfo) {
        let f = features(attempt, ip);
        let user = self.users.entry(key(255, &*attempt.user)).or_default();
        for (level, k) in f {
            self.population.add(level, k);
            user.add(level, k);
        }
        self.population.total += 1.0;
        user.total += 1.0;
    }
}

/// A level of the engine's feature hierarchies, as a population key tag.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[repr(u8)]
pub enum Feature {
    Country = 0,
    Region = 1,
    City = 2,
    Asn = 3,
    Client = 4,
    Device = 5,
}

/// How often each place, network and client is used by everybody, with the
/// same recency decay as the profiles: the population side of the engine's
/// likelihood ratio. Built from successful logins (and from the profiles
/// restored at start-up).
///
/// Counts are kept scaled by `2^((t − reference) / half-life)` at the time
/// they were added, so adding and reading need one `exp2` per login rather
/// than one per entry; [`Population::at`] turns them into counts at a time.
#[derive(Debug, Clone, Default)]
pub struct Population {
    counts: FxHashMap<(u8, u64), f64>,
    distinct: [f32; 6],
    total: f64,
    /// Unix seconds the scale is relative to (the first login added).
    reference: Option<u32>,
    /// The scale of the last `add` time, reused for the same time.
    last: (u32, f64),
}

/// Rebase the scale before it can overflow an `f64` (2^1000).
const MAX_EXPONENT: f64 = 900.0;

impl Population {
    fn exponent(&self, at: u32, half_life_days: f32) -> f64 {
        let reference = self.reference.unwrap_or(at);
        (f64::from(at) - f64::from(reference)) / (f64::from(half_life_days) * 86_400.0)
    }

    /// The scale for a login at `at`.
    fn scale(&mut self, at: u32, half_life_days: f32) -> f64 {
        if self.reference.is_none() {
            self.reference = Some(at);
        }
        if self.last.0 == at && self.last.1 > 0.0 {
            return self.last.1;
        }
        let mut e = self.exponent(at, half_life_days);
        if e > MAX_EXPONENT {
            // Express everything relative to `at` instead.
            let down = (-e).exp2();
            self.counts.values_mut().for_each(|v| *v *= down);
            self.total *= down;
            self.reference = Some(at);
            e = 0.0;
        }
        let s = e.exp2();
        self.last = (at, s);
        s
    }

    /// Adds `weight` logins of `key` at level `f`, seen at `at` (Unix
    /// seconds).
    pub fn add(&mut self, f: Feature, key: u64, weight: f32, at: u32, half_life_days: f32) {
        let w = f64::from(weight) * self.scale(at, half_life_days);
        let e = self.counts.entry((f as u8, key)).or_insert(0.0);
        if *e == 0.0 {
            self.distinct[f as usize] += 1.0;
        }
        *e += w;
        if f == Feature::Country {
            self.total += w;
        }
    }

    /// The counts as of `now`.
    pub fn at(&self, now: u32, half_life_days: f32) -> PopulationAt<'_> {
        PopulationAt {
            pop: self,
            factor: (-self.exponent(now, half_life_days)).exp2(),
        }
    }

    /// Entries held (for memory accounting).
    pub fn len(&self) -> usize {
        self.counts.len()
    }

    pub fn is_empty(&self) -> bool {
        self.counts.is_empty()
    }
}

/// A [`Population`]'s decayed counts at one time.
#[derive(Debug, Clone, Copy)]
pub struct PopulationAt<'a> {
    pop: &'a Population,
    factor: f64,
}

impl PopulationAt<'_> {
    /// The decayed count of `key` at level `f`.
    pub fn weight(&self, f: Feature, key: u64) -> f64 {
        self.pop
            .counts
            .get(&(f as u8, key))
            .map_or(0.0, |c| c * self.factor)
    }

    /// The decayed number of logins.
    pub fn total(&self) -> f64 {
        self.pop.total * self.factor
    }

    /// Distinct values ever seen at level `f`.
    pub fn distinct(&self, f: Feature) -> f64 {
        f64::from(self.pop.distinct[f as usize])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn level(user: f64, user_parent: f64, pop: f64, pop_parent: f64) -> LevelCounts {
        LevelCounts {
            user,
            user_parent,
            user_distinct: 1.0,
            pop,
            pop_parent,
            pop_distinct: 10.0,
        }
    }

    #[test]
    fn usual_values_score_below_unseen_ones_and_a_longer_history_weighs_more() {
        let usual = log_likelihood_ratio(&[level(50.0, 50.0, 1000.0, 10_000.0)]);
        let unseen = log_likelihood_ratio(&[level(0.0, 50.0, 5000.0, 10_000.0)]);
        let unseen_short_history = log_likelihood_ratio(&[level(0.0, 5.0, 5000.0, 10_000.0)]);
        assert!(usual < 0.0, "{usual}");
        assert!(unseen > usual, "{unseen} vs {usual}");
        // The unexplored share of a user with 50 logins is 1/51: the ratio.
        assert!((unseen - 51f64.ln()).abs() < 1e-9, "{unseen}");
        assert!(
            unseen > unseen_short_history,
            "{unseen} vs {unseen_short_history}"
        );
    }

    #[test]
    fn a_popular_value_the_user_also_uses_counts_less_than_a_rare_one() {
        // Both used 10 times of 50 by the user; the population's share differs.
        let popular = log_likelihood_ratio(&[level(10.0, 50.0, 8000.0, 10_000.0)]);
        let rare = log_likelihood_ratio(&[level(10.0, 50.0, 5.0, 10_000.0)]);
        assert!(rare < popular, "{rare} vs {popular}");
    }

    #[test]
    fn a_user_without_history_gives_no_evidence() {
        let llr = log_likelihood_ratio(&[level(0.0, 0.0, 3.0, 10_000.0)]);
        assert!(llr.abs() < 1e-12, "{llr}");
    }
}

#[cfg(test)]
mod population_tests {
    use super::*;

    #[test]
    fn counts_decay_with_the_half_life_and_survive_a_rebase() {
        let mut p = Population::default();
        let day = 86_400u32;
        p.add(Feature::Country, 1, 1.0, 1_000_000, 1.0);
        p.add(Feature::Country, 1, 1.0, 1_000_000 + day, 1.0);
        let at = p.at(1_000_000 + day, 1.0);
        // 0.5 (a day old) + 1.
        assert!((at.weight(Feature::Country, 1) - 1.5).abs() < 1e-9);
        assert!((at.total() - 1.5).abs() < 1e-9);
        assert_eq!(at.distinct(Feature::Country), 1.0);
        assert_eq!(at.weight(Feature::City, 1), 0.0);
        // Far beyond the rebase point, with a tiny half-life.
        let later = 1_000_000 + 2_000 * 60;
        p.add(Feature::Country, 2, 1.0, later, 0.0007);
        let at = p.at(later, 0.0007);
        assert!((at.weight(Feature::Country, 2) - 1.0).abs() < 1e-9);
        assert!(at.weight(Feature::Country, 1) < 1e-9);
        assert!(at.weight(Feature::Country, 2).is_finite());
    }
}
