//! Incidents: what happens when a login really was an attack (the seed's
//! graded response). Data and rules only — no IO, no clock:
//!
//! - [`IncidentGrade`]: L1 credential compromise, L2 lost or stolen device,
//!   L3 data tampering or exfiltration.
//! - [`IncidentStatus`]: open → contained → eradicated → recovered →
//!   closed. A change goes **forward** one or more steps
//!   ([`check_transition`]); closing needs the post-incident [`Review`].
//!   There is no reopening: a closed incident is a record; a recurrence
//!   opens a new incident (the opener only attaches triggers to an
//!   incident that is not closed).
//! - [`Playbook`] / [`PlaybookStep`]: the ordered steps of a grade, each
//!   with an owner role, a due time in minutes from the opening and a kind
//!   (a one-click [`ActionKind`] Warden can do itself, or a manual
//!   checklist); [`Playbook::validate`] names the step that is wrong.
//! - [`IncidentStep`]: a playbook step copied into one incident, with its
//!   due time and completion; [`overdue`] is the SLA rule.
//! - [`trigger_grade`]: which alerts, answers and correlated operations open
//!   an incident automatically, and at which grade.

use std::collections::HashSet;

use crate::account::wire_names;
use crate::alert::{AlertKind, Grade};
use crate::domain::Name;
use crate::operation::OperationKind;
use crate::text::one_line;
use crate::time::Timestamp;

/// The seed's three levels.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum IncidentGrade {
    /// Credential compromise (a stolen password, a takeover).
    L1,
    /// A lost or stolen device.
    L2,
    /// Data tampering or exfiltration.
    L3,
}

wire_names!(IncidentGrade, "incident grade", L1 => "l1", L2 => "l2", L3 => "l3");

impl IncidentGrade {
    /// What the grade means, in English.
    pub fn describe(self) -> &'static str {
        match self {
            IncidentGrade::L1 => "credential compromise",
            IncidentGrade::L2 => "lost or stolen device",
            IncidentGrade::L3 => "data tampering or exfiltration",
        }
    }
}

/// Where an incident stands, in the order it moves.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum IncidentStatus {
    Open,
    /// The attacker is shut out (account locked, sessions ended...).
    Contained,
    /// What the attacker left (rules, codes, tokens) is removed.
    Eradicated,
    /// The user works normally again.
    Recovered,
    /// Reviewed and done.
    Closed,
}

wire_names!(IncidentStatus, "incident status",
    Open => "open",
    Contained => "contained",
    Eradicated => "eradicated",
    Recovered => "recovered",
    Closed => "closed",
);

/// Why a status change is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TransitionError {
    #[error("the incident is already {0}")]
    Same(IncidentStatus),
    #[error("an incident moves forward only: {from} cannot become {to}")]
    Backwards {
        from: IncidentStatus,
        to: IncidentStatus,
    },
    #[error("closing needs the post-incident review (root cause, what worked, what to change)")]
    ReviewMissing,
}

/// Whether an incident in `from` may become `to`: forward one or more
/// steps; `closed` only with a review.
pub fn check_transition(
    from: IncidentStatus,
    to: IncidentStatus,
    reviewed: bool,
) -> Result<(), TransitionError> {
    if from == to {
        return Err(TransitionError::Same(from));
    }
    if to < from {
        return Err(TransitionError::Backwards { from, to });
    }
    if to == IncidentStatus::Closed && !reviewed {
        return Err(TransitionError::ReviewMissing);
    }
    Ok(())
}

/// What opened an incident (or was attached to an open one).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TriggerKind {
    /// An admin, by hand.
    Manual,
    /// A critical alert (its id).
    Alert,
    /// A "no, it wasn't me" answer (the answered alert's id).
    Answer,
    /// A correlated critical sensitive operation (its id).
    Operation,
}

wire_names!(TriggerKind, "incident trigger",
    Manual => "manual", Alert => "alert", Answer => "answer", Operation => "operation");

/// A trigger: its kind and what it names.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Trigger {
    pub kind: TriggerKind,
    /// The alert, answered alert or operation id (`None`: manual).
    pub ref_id: Option<i64>,
    pub at: Timestamp,
}

/// What an event of the pipeline says, for [`trigger_grade`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TriggerEvent {
    /// An alert was raised.
    Alert {
        kind: AlertKind,
        grade: Grade,
        succeeded: bool,
    },
    /// The user answered "no, it wasn't me".
    NotMe,
    /// A sensitive operation was correlated with a risky login.
    Operation { kind: OperationKind, grade: Grade },
}

/// The grade of the incident `e` opens automatically, if any:
/// a critical alert of a successful login from an unusual place (or
/// impossible travel, logins spread over countries, a disowned login) and
/// a "not me" answer are credential compromise (L1); a critical correlated
/// operation is L1 when it is a takeover move (forwarding outside, a
/// security contact, rules, 2FA off, codes, tokens) and L3 when it is an
/// export or mass download. There is no lost-device event in Warden: an L2
/// incident is opened by hand.
pub fn trigger_grade(e: TriggerEvent) -> Option<IncidentGrade> {
    match e {
        TriggerEvent::NotMe => Some(IncidentGrade::L1),
        TriggerEvent::Alert {
            kind,
            grade: Grade::Critical,
            succeeded: true,
        } => match kind {
            AlertKind::UnusualLocation
            | AlertKind::ImpossibleTravel
            | AlertKind::LoginsSpread
            | AlertKind::LoginDisowned => Some(IncidentGrade::L1),
            _ => None,
        },
        TriggerEvent::Alert { .. } => None,
        TriggerEvent::Operation {
            kind,
            grade: Grade::Critical,
        } => match kind {
            OperationKind::MassDownload => Some(IncidentGrade::L3),
            _ => Some(IncidentGrade::L1),
        },
        TriggerEvent::Operation { .. } => None,
    }
}

/// What Warden can do itself, one click each.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ActionKind {
    /// Lock the account (every way in refuses it; web sessions end).
    LockAccount,
    /// Sign every device out and revoke every authorization code.
    LogoutEverywhere,
    /// The next login must set a new password.
    ForcePasswordReset,
    /// A second factor for every login from a new city or device.
    RequireTwoFactor,
    /// Refuse an address or range for the account.
    BlockSource,
    /// Revoke an authorization code (the tokens Warden issues).
    RevokeToken,
    /// List forwarding rules and security-info changes since the first
    /// risky login and tell the mail system to put them back.
    MarkForRevert,
    /// Tell the user and the business owners.
    Notify,
}

wire_names!(ActionKind, "incident action",
    LockAccount => "lock_account",
    LogoutEverywhere => "logout_everywhere",
    ForcePasswordReset => "force_password_reset",
    RequireTwoFactor => "require_two_factor",
    BlockSource => "block_source",
    RevokeToken => "revoke_token",
    MarkForRevert => "mark_for_revert",
    Notify => "notify",
);

/// What a step asks.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StepKind {
    /// A one-click action; done when it ran.
    Action(ActionKind),
    /// Done by people: ticked with a note; the checklist says what to
    /// check.
    Manual { checklist: Vec<String> },
}

impl StepKind {
    /// `action:lock_account` or `manual`.
    pub fn wire(&self) -> String {
        match self {
            StepKind::Action(a) => format!("action:{a}"),
            StepKind::Manual { .. } => "manual".into(),
        }
    }

    pub fn action(&self) -> Option<ActionKind> {
        match self {
            StepKind::Action(a) => Some(*a),
            StepKind::Manual { .. } => None,
        }
    }
}

/// The longest step id, title, owner, checklist item.
pub const MAX_STEP_ID: usize = 40;
pub const MAX_STEP_TITLE: usize = 200;
pub const MAX_OWNER: usize = 40;
pub const MAX_CHECK_ITEM: usize = 200;
/// The most steps of a playbook and items of a checklist.
pub const MAX_STEPS: usize = 40;
pub const MAX_CHECKLIST: usize = 20;
/// The latest a step may be due: 30 days after the opening.
pub const MAX_DUE_MINUTES: u32 = 30 * 24 * 60;

/// One step of a playbook.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlaybookStep {
    /// Unique in its playbook: `lock`, `forensic_report` (a-z, 0-9, `_`, `-`).
    pub id: String,
    pub title_en: String,
    pub title_zh: String,
    /// Who does it (`security_admin`, `mail_admin`, `helpdesk`...).
    pub owner: String,
    /// Due this many minutes after the incident opened.
    pub due_minutes: u32,
    pub kind: StepKind,
}

/// The steps of one grade, in order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Playbook {
    pub grade: IncidentGrade,
    pub title: String,
    pub steps: Vec<PlaybookStep>,
}

/// A playbook that cannot be used: which step (if any) and why.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{}{message}", step.as_ref().map(|s| format!("step {s:?}: ")).unwrap_or_default())]
pub struct PlaybookError {
    pub step: Option<String>,
    pub message: String,
}

fn valid_id(id: &str) -> bool {
    !id.is_empty()
        && id.len() <= MAX_STEP_ID
        && id
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_' || b == b'-')
}

fn text_ok(s: &str, max: usize) -> bool {
    !s.trim().is_empty() && s.chars().count() <= max && one_line(s, max) == s.trim()
}

impl Playbook {
    /// Checks every bound: a title, 1–[`MAX_STEPS`] steps with unique ids,
    /// one-line titles in both languages, an owner role (one word), a due
    /// time of 1 minute to 30 days, a manual step with 1–[`MAX_CHECKLIST`]
    /// items.
    pub fn validate(&self) -> Result<(), PlaybookError> {
        let whole = |m: &str| PlaybookError {
            step: None,
            message: m.to_string(),
        };
        if !text_ok(&self.title, MAX_STEP_TITLE) {
            return Err(whole("title: one line of 1-200 characters"));
        }
        if self.steps.is_empty() || self.steps.len() > MAX_STEPS {
            return Err(whole("steps: 1-40 steps"));
        }
        let mut seen = HashSet::new();
        for (i, s) in self.steps.iter().enumerate() {
            let name = if s.id.is_empty() {
                format!("#{}", i + 1)
            } else {
                one_line(&s.id, MAX_STEP_ID + 10)
            };
            let bad = |m: &str| PlaybookError {
                step: Some(name.clone()),
                message: m.to_string(),
            };
            if !valid_id(&s.id) {
                return Err(bad("id: 1-40 characters of a-z, 0-9, '_', '-'"));
            }
            if !seen.insert(s.id.as_str()) {
                return Err(bad("id: used by an earlier step"));
            }
            if !text_ok(&s.title_en, MAX_STEP_TITLE) {
                return Err(bad("title_en: one line of 1-200 characters"));
            }
            if !text_ok(&s.title_zh, MAX_STEP_TITLE) {
                return Err(bad("title_zh: one line of 1-200 characters"));
            }
            if !valid_id(&s.owner) || s.owner.len() > MAX_OWNER {
                return Err(bad("owner: a role, 1-40 characters of a-z, 0-9, '_', '-'"));
            }
            if s.due_minutes == 0 || s.due_minutes > MAX_DUE_MINUTES {
                return Err(bad("due_minutes: 1 to 43200 (30 days)"));
            }
            if let StepKind::Manual { checklist } = &s.kind {
                if checklist.is_empty() || checklist.len() > MAX_CHECKLIST {
                    return Err(bad("checklist: a manual step needs 1-20 items"));
                }
                if checklist.iter().any(|c| !text_ok(c, MAX_CHECK_ITEM)) {
                    return Err(bad("checklist: each item one line of 1-200 characters"));
                }
            }
        }
        Ok(())
    }

    /// The steps of a new incident opened at `opened_at`.
    pub fn instantiate(&self, opened_at: Timestamp) -> Vec<IncidentStep> {
        self.steps
            .iter()
            .enumerate()
            .map(|(i, s)| IncidentStep {
                step: s.id.clone(),
                position: i as u32,
                title_en: s.title_en.clone(),
                title_zh: s.title_zh.clone(),
                owner: s.owner.clone(),
                kind: s.kind.clone(),
                due_at: opened_at.plus_secs(i64::from(s.due_minutes) * 60),
                done_at: None,
                done_by: None,
                note: None,
                result: None,
                overdue_alerted_at: None,
            })
            .collect()
    }
}

/// A playbook step inside one incident.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IncidentStep {
    pub step: String,
    /// Its place in the playbook (0-based).
    pub position: u32,
    pub title_en: String,
    pub title_zh: String,
    pub owner: String,
    pub kind: StepKind,
    pub due_at: Timestamp,
    pub done_at: Option<Timestamp>,
    pub done_by: Option<String>,
    /// The admin's note (a manual step).
    pub note: Option<String>,
    /// What an action did ("locked", "3 sessions, 2 codes revoked").
    pub result: Option<String>,
    /// When the SLA alert for it was raised (once).
    pub overdue_alerted_at: Option<Timestamp>,
}

impl IncidentStep {
    /// Not done and past its due time.
    pub fn is_overdue(&self, now: Timestamp) -> bool {
        self.done_at.is_none() && now >= self.due_at
    }
}

/// The SLA rule: the steps not done by their due time, in order. A closed
/// incident has nothing overdue.
pub fn overdue(
    status: IncidentStatus,
    steps: &[IncidentStep],
    now: Timestamp,
) -> Vec<&IncidentStep> {
    if status == IncidentStatus::Closed {
        return Vec::new();
    }
    steps.iter().filter(|s| s.is_overdue(now)).collect()
}

/// What an incident is about besides its users.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum AffectedKind {
    User,
    /// An address or a range (canonical CIDR text).
    Address,
    /// A device key.
    Device,
}

wire_names!(AffectedKind, "affected kind",
    User => "user", Address => "address", Device => "device");

/// One user, address or device an incident concerns.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Affected {
    pub kind: AffectedKind,
    pub value: String,
    pub added_at: Timestamp,
    pub added_by: String,
}

/// The post-incident review: the closing form.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Review {
    pub root_cause: String,
    pub what_worked: String,
    pub what_to_change: String,
    pub by: String,
    pub at: Timestamp,
}

/// The longest review field, incident title, assignee.
pub const MAX_REVIEW_FIELD: usize = 4000;
pub const MAX_TITLE: usize = 200;
pub const MAX_ASSIGNEE: usize = 120;

/// One incident (without its affected list, steps and review).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Incident {
    /// Assigned by the store; 0 before insertion.
    pub id: i64,
    pub grade: IncidentGrade,
    pub status: IncidentStatus,
    pub title: String,
    pub opened_at: Timestamp,
    /// `warden` (automatic) or the admin.
    pub opened_by: String,
    /// What opened it.
    pub trigger: Trigger,
    /// The user the incident is about (the opener dedupes on it).
    pub user: Option<Name>,
    pub assignee: Option<String>,
    /// The first risky login the trigger points at, when known: where the
    /// timeline and the revert list start.
    pub first_risky_at: Option<Timestamp>,
    pub contained_at: Option<Timestamp>,
    pub eradicated_at: Option<Timestamp>,
    pub recovered_at: Option<Timestamp>,
    pub closed_at: Option<Timestamp>,
}

impl Incident {
    /// When it reached `status` (the opening for `open`).
    pub fn reached(&self, status: IncidentStatus) -> Option<Timestamp> {
        match status {
            IncidentStatus::Open => Some(self.opened_at),
            IncidentStatus::Contained => self.contained_at,
            IncidentStatus::Eradicated => self.eradicated_at,
            IncidentStatus::Recovered => self.recovered_at,
            IncidentStatus::Closed => self.closed_at,
        }
    }

    /// Moves it to `to` at `at`: the timestamps of `to` and of every status
    /// skipped on the way are set (a jump from open to eradicated contains
    /// it too).
    pub fn advance(&mut self, to: IncidentStatus, at: Timestamp) {
        let from = self.status;
        for s in IncidentStatus::ALL.iter().copied() {
            if s > from && s <= to {
                let slot = match s {
                    IncidentStatus::Open => continue,
                    IncidentStatus::Contained => &mut self.contained_at,
                    IncidentStatus::Eradicated => &mut self.eradicated_at,
                    IncidentStatus::Recovered => &mut self.recovered_at,
                    IncidentStatus::Closed => &mut self.closed_at,
                };
                slot.get_or_insert(at);
            }
        }
        self.status = to;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use IncidentStatus::*;

    fn step(id: &str, due: u32, kind: StepKind) -> PlaybookStep {
        PlaybookStep {
            id: id.into(),
            title_en: format!("Do {id}"),
            title_zh: "处理".into(),
            owner: "security_admin".into(),
            due_minutes: due,
            kind,
        }
    }

    fn book() -> Playbook {
        Playbook {
            grade: IncidentGrade::L1,
            title: "Credential compromise".into(),
            steps: vec![
                step("lock", 60, StepKind::Action(ActionKind::LockAccount)),
                step(
                    "evidence",
                    1440,
                    StepKind::Manual {
                        checklist: vec!["Evidence reviewed".into()],
                    },
                ),
            ],
        }
    }

    #[test]
    fn status_moves_forward_one_or_more_steps_and_closing_needs_a_review() {
        assert!(check_transition(Open, Contained, false).is_ok());
        assert!(check_transition(Open, Recovered, false).is_ok());
        assert_eq!(
            check_transition(Eradicated, Contained, true),
            Err(TransitionError::Backwards {
                from: Eradicated,
                to: Contained
            })
        );
        assert_eq!(
            check_transition(Contained, Contained, true),
            Err(TransitionError::Same(Contained))
        );
        assert_eq!(
            check_transition(Recovered, Closed, false),
            Err(TransitionError::ReviewMissing)
        );
        assert!(check_transition(Recovered, Closed, true).is_ok());
        assert!(
            check_transition(Closed, Open, true).is_err(),
            "no reopening"
        );
    }

    #[test]
    fn a_jump_sets_the_skipped_statuses_times_too() {
        let mut i = Incident {
            id: 1,
            grade: IncidentGrade::L1,
            status: Open,
            title: "t".into(),
            opened_at: Timestamp(100),
            opened_by: "warden".into(),
            trigger: Trigger {
                kind: TriggerKind::Manual,
                ref_id: None,
                at: Timestamp(100),
            },
            user: None,
            assignee: None,
            first_risky_at: None,
            contained_at: None,
            eradicated_at: None,
            recovered_at: None,
            closed_at: None,
        };
        i.advance(Contained, Timestamp(200));
        i.advance(Recovered, Timestamp(300));
        assert_eq!(i.status, Recovered);
        assert_eq!(i.contained_at, Some(Timestamp(200)));
        assert_eq!(i.eradicated_at, Some(Timestamp(300)));
        assert_eq!(i.recovered_at, Some(Timestamp(300)));
        assert_eq!(i.closed_at, None);
        assert_eq!(i.reached(Open), Some(Timestamp(100)));
    }

    #[test]
    fn overdue_is_not_done_past_due_and_nothing_once_closed() {
        let mut steps = book().instantiate(Timestamp(1000));
        assert_eq!(steps[0].due_at, Timestamp(1000 + 3600));
        assert_eq!(steps[1].due_at, Timestamp(1000 + 86_400));
        assert!(overdue(Open, &steps, Timestamp(1000 + 3599)).is_empty());
        let late = overdue(Open, &steps, Timestamp(1000 + 3600));
        assert_eq!(late.len(), 1);
        assert_eq!(late[0].step, "lock");
        steps[0].done_at = Some(Timestamp(2000));
        assert!(overdue(Contained, &steps, Timestamp(1000 + 3600)).is_empty());
        let both_late = Timestamp(1000 + 90_000);
        assert_eq!(overdue(Contained, &steps, both_late).len(), 1);
        assert!(overdue(Closed, &steps, both_late).is_empty());
    }

    #[test]
    fn validation_names_the_step_and_the_field() {
        assert!(book().validate().is_ok());
        let mut b = book();
        b.steps[1].id = "lock".into();
        let e = b.validate().unwrap_err();
        assert_eq!(e.step.as_deref(), Some("lock"));
        assert!(e.to_string().contains("earlier step"), "{e}");

        let mut b = book();
        b.steps[0].due_minutes = 0;
        let e = b.validate().unwrap_err();
        assert!(
            e.to_string().starts_with("step \"lock\": due_minutes"),
            "{e}"
        );

        let mut b = book();
        b.steps[1].kind = StepKind::Manual { checklist: vec![] };
        assert!(b.validate().unwrap_err().message.contains("checklist"));

        let mut b = book();
        b.steps[0].title_en = "two\nlines".into();
        assert!(b.validate().unwrap_err().message.contains("title_en"));

        let mut b = book();
        b.steps[0].id = "Lock Now".into();
        assert!(b.validate().unwrap_err().message.starts_with("id:"));

        let mut b = book();
        b.steps.clear();
        assert_eq!(b.validate().unwrap_err().step, None);
    }

    #[test]
    fn triggers_and_their_grades() {
        let alert = |kind, grade, succeeded| TriggerEvent::Alert {
            kind,
            grade,
            succeeded,
        };
        assert_eq!(trigger_grade(TriggerEvent::NotMe), Some(IncidentGrade::L1));
        assert_eq!(
            trigger_grade(alert(AlertKind::UnusualLocation, Grade::Critical, true)),
            Some(IncidentGrade::L1)
        );
        assert_eq!(
            trigger_grade(alert(AlertKind::UnusualLocation, Grade::Warning, true)),
            None
        );
        assert_eq!(
            trigger_grade(alert(AlertKind::UnusualLocation, Grade::Critical, false)),
            None
        );
        assert_eq!(
            trigger_grade(alert(AlertKind::BruteForce, Grade::Critical, true)),
            None
        );
        let op = |kind, grade| TriggerEvent::Operation { kind, grade };
        assert_eq!(
            trigger_grade(op(OperationKind::ForwardingRule, Grade::Critical)),
            Some(IncidentGrade::L1)
        );
        assert_eq!(
            trigger_grade(op(OperationKind::SecurityContactChanged, Grade::Critical)),
            Some(IncidentGrade::L1)
        );
        assert_eq!(
            trigger_grade(op(OperationKind::MassDownload, Grade::Critical)),
            Some(IncidentGrade::L3)
        );
        assert_eq!(
            trigger_grade(op(OperationKind::ForwardingRule, Grade::Warning)),
            None
        );
    }

    #[test]
    fn wire_names_round_trip() {
        for a in ActionKind::ALL {
            assert_eq!(a.as_str().parse::<ActionKind>().unwrap(), *a);
        }
        assert_eq!("L1".parse::<IncidentGrade>().unwrap(), IncidentGrade::L1);
        assert!("l4".parse::<IncidentGrade>().is_err());
        assert_eq!(
            StepKind::Action(ActionKind::MarkForRevert).wire(),
            "action:mark_for_revert"
        );
    }
}
