//! The two-call integration: evaluate before the password check, report
//! the outcome after (`/v1/evaluate`, `/v1/report`).

use std::time::Instant;

use rand::RngCore;
use warden_core::{LoginAttempt, Outcome};
use warden_store::Backend;

use super::{Assessed, Recording};
use crate::error::{shown, ServiceError};
use crate::events::EntryPoint;
use crate::shortlived::Pending;
use crate::Service;

/// A scored attempt waiting for its report.
#[derive(Debug)]
pub struct Evaluation<'a> {
    /// The id its report names.
    pub id: u128,
    pub attempt: &'a LoginAttempt,
    pub assessed: &'a Assessed,
}

/// Which attempt a report is about.
#[derive(Debug, Clone)]
pub enum ReportOf {
    /// An earlier evaluation; `user`, when given, must be its user.
    Evaluation { id: u128, user: Option<String> },
    /// An attempt that was not evaluated first.
    Attempt(LoginAttempt),
}

/// A recorded report.
#[derive(Debug)]
pub struct Reported {
    pub attempt: LoginAttempt,
    pub assessed: Assessed,
    /// The success raised an alert.
    pub alert: bool,
}

/// A fresh random evaluation id.
pub fn new_id() -> u128 {
    let mut b = [0u8; 16];
    rand::rng().fill_bytes(&mut b);
    u128::from_le_bytes(b)
}

impl<S: Backend> Service<S> {
    /// Scores an attempt and keeps it for its report. `answer` sees the
    /// evaluation before it is kept (no copy of the assessment is made).
    pub async fn evaluate<R>(
        &self,
        attempt: LoginAttempt,
        answer: impl FnOnce(&Evaluation<'_>) -> R,
    ) -> R {
        let (assessed, _) = self.score(EntryPoint::Evaluate, &attempt).await;
        let id = new_id();
        let out = answer(&Evaluation {
            id,
            attempt: &attempt,
            assessed: &assessed,
        });
        let now = self.now();
        let Assessed {
            info, assessment, ..
        } = assessed;
        self.short
            .hold_evaluation(
                id,
                Pending {
                    attempt,
                    ip: info,
                    assessment,
                    created: now,
                },
                now,
            )
            .await;
        out
    }

    /// Records the outcome of a login: teaches the profile on success, feeds
    /// the attack counters on failure, appends the event to the history, and
    /// returns once it is committed. An unknown evaluation or a mismatched
    /// user changes nothing.
    /// `fingerprint` identifies a wrong password (see
    /// [`super::password_fingerprint`]): a client repeating one stale
    /// password counts once.
    pub async fn report(
        &self,
        of: ReportOf,
        outcome: Outcome,
        fingerprint: Option<warden_core::counters::PasswordFingerprint>,
    ) -> Result<Reported, ServiceError> {
        let started = Instant::now();
        let (attempt, assessed) = match of {
            ReportOf::Evaluation { id, user } => {
                let now = self.now();
                let p = self.short.take_evaluation(id, now).await.ok_or_else(|| {
                    ServiceError::invalid(
                        "evaluation_id: unknown or expired (evaluations wait ten minutes for their report)",
                    )
                })?;
                if let Some(u) = user {
                    let same = warden_core::normalize_user(&u).is_ok_and(|u| u == p.attempt.user);
                    if !same {
                        // Put it back: a mismatched report changes nothing.
                        let evaluated = p.attempt.user.clone();
                        self.short.hold_evaluation(id, p, now).await;
                        return Err(ServiceError::invalid(format!(
                            "user: {} does not match the evaluated user {evaluated:?}",
                            shown(&u)
                        )));
                    }
                }
                let utc_offset = self.utc_offset();
                (
                    p.attempt,
                    Assessed {
                        info: p.ip,
                        assessment: p.assessment,
                        utc_offset,
                        anonymous: None,
                    },
                )
            }
            ReportOf::Attempt(attempt) => {
                let assessed = self.assess(&attempt).await;
                (attempt, assessed)
            }
        };
        let alert = outcome.is_success() && assessed.assessment.alert;
        let wrong_password = outcome == Outcome::Failure(warden_core::FailureReason::WrongPassword);
        let r = Recording {
            alert,
            fingerprint: fingerprint.filter(|_| wrong_password),
            ..Recording::reported(outcome)
        };
        self.record_assessed(EntryPoint::Evaluate, &attempt, &assessed, r, started)
            .await?;
        Ok(Reported {
            attempt,
            assessed,
            alert,
        })
    }
}
