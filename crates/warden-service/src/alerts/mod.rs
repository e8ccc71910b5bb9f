//! Alerts: which detections become alerts, graded by rules, folded by
//! user, kind and place, and raised from the committed history.
//!
//! - [`rules`] — the configurable rules (reasons, outcome, decision → kind,
//!   grade, who is told) and their validation (the user cannot be silenced
//!   for a login from an unusual place or impossible travel).
//! - [`fold`] — dedupe keys and the fold window (one alert per user, kind
//!   and place a day), and the storm windows that turn a flood of one kind
//!   into one summary for the admins.
//! - [`worker`] — `Service::raise_alerts` reads the history after the alerts mark and writes alerts and mark in
//!   one transaction; [`AlertWake`] wakes it after every committed login;
//!   [`worker::run`] is its loop.
//! - [`admin`] — what admins do with alerts.

pub mod admin;
pub mod fold;
pub mod rules;
pub mod worker;

use std::sync::Arc;

use warden_core::{AlertKind, Grade};
use warden_store::LoginEvent;

pub use rules::{AlertRule, KeyBy, OutcomeFilter, RuleError};
pub use worker::{AlertWake, RaiseReport};

/// How detections become alerts.
#[derive(Debug, Clone)]
pub struct AlertSettings {
    /// The rules, checked by [`rules::validate`].
    pub rules: Vec<AlertRule>,
    /// Admins are told of alerts of this grade and above.
    pub admin_min_grade: Grade,
    /// Logins of one key within this many seconds of an alert's first one
    /// fold into it.
    pub fold_secs: i64,
    /// More than this many alerts of one kind within
    /// [`storm_window_secs`](Self::storm_window_secs) make a storm: the
    /// admins get one summary instead of each.
    pub storm_threshold: u32,
    pub storm_window_secs: i64,
    /// History rows read per transaction.
    pub batch: u32,
    /// The worker's state (storm windows, its wake-up), shared with
    /// [`AlertWake`].
    pub worker: Arc<worker::WorkerState>,
}

impl Default for AlertSettings {
    fn default() -> Self {
        AlertSettings {
            rules: rules::default_rules(),
            admin_min_grade: Grade::Warning,
            fold_secs: 86_400,
            storm_threshold: 50,
            storm_window_secs: 600,
            batch: 500,
            worker: Arc::default(),
        }
    }
}

/// What the rules make of one history row.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Judgement {
    pub kind: AlertKind,
    pub grade: Grade,
    pub notify_user: bool,
    pub key: KeyBy,
}

impl AlertSettings {
    /// The alert `e` raises, if any: the highest-grade matching rule (the
    /// first on a tie) gives kind, grade and key; the user is told when any
    /// matching rule says so, and always of a flagged success from an
    /// unusual place or with impossible travel.
    pub fn judge(&self, e: &LoginEvent) -> Option<Judgement> {
        let mut best: Option<&AlertRule> = None;
        let mut notify_user = rules::user_must_know(e);
        for r in self.rules.iter().filter(|r| r.matches(e)) {
            notify_user |= r.notify_user;
            if best.is_none_or(|b| r.grade > b.grade) {
                best = Some(r);
            }
        }
        let held = rules::held_for_verification(e);
        let Some(best) = best else {
            // No rule speaks of a held sign-in: the user is still asked.
            return held.then_some(Judgement {
                kind: AlertKind::SignInHeld,
                grade: Grade::Warning,
                notify_user: true,
                key: KeyBy::UserPlace,
            });
        };
        if held && best.grade <= Grade::Warning {
            return Some(Judgement {
                kind: AlertKind::SignInHeld,
                grade: Grade::Warning,
                notify_user: true,
                key: KeyBy::UserPlace,
            });
        }
        Some(Judgement {
            kind: best.kind,
            grade: best.grade,
            notify_user: notify_user && best.key != KeyBy::Source,
            key: best.key,
        })
    }

    /// A [`Subscriber`](crate::Subscriber) waking this worker after every
    /// committed login.
    pub fn waker(&self) -> Arc<AlertWake> {
        Arc::new(AlertWake(self.worker.clone()))
    }
}
