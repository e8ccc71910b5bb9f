//! Debounced profile snapshots, and warming an engine from the store.
//!
//! A successful login changes the user's profile, but the service does not
//! write a snapshot with it: under a steady stream of logins that was most
//! of the bytes written per report (a page of the `profiles` table for each
//! one). [`Service::record`](crate::Service::record) only marks the user as
//! changed; [`Service::flush_profiles`] writes the snapshot of every changed
//! profile, every [`FLUSH_EVERY`] and when the service stops.
//!
//! Nothing acknowledged is lost by this: the login's event is committed
//! before its report is acknowledged, as before, and the events are the
//! profile's inputs. Each snapshot records the newest event it has learned
//! from, and a completed flush moves the store's replay mark (every snapshot
//! has learned from every event up to it). After a crash [`restore`] loads
//! the snapshots and learns again from the successful logins after the mark
//! that each user's snapshot has not seen, in their original order: the
//! profiles come out as they were before the crash.

use std::collections::HashMap;
use std::time::Duration;

use parking_lot::Mutex;
use rustc_hash::FxHashSet;
use warden_core::assess::is_attack;
use warden_core::{Engine, LoginAttempt, Name, Outcome, Timestamp, Trust};
use warden_geo::IpIntel;
use warden_store::{Backend, MarkStep, ProfileSnapshot, Store, StoreError};

use crate::error::ServiceError;
use crate::Service;

/// How often the changed profiles are written (by the binary's upkeep).
/// After a crash, start-up learns again from about this much of the
/// successful logins.
pub const FLUSH_EVERY: Duration = Duration::from_secs(10);

/// Snapshots taken under one hold of the engine lock during a flush.
const CHUNK: usize = 256;

/// Events read per query while warming an engine.
const REPLAY_PAGE: u32 = 10_000;

/// The users whose profile changed since their last snapshot.
#[derive(Debug, Default)]
pub struct Snapshots {
    dirty: Mutex<FxHashSet<Name>>,
    /// One flush at a time: a second one's beginning must not become the
    /// mark before its snapshots are written.
    flushing: tokio::sync::Mutex<()>,
}

/// Puts the users of a flush back among the changed ones unless the flush
/// completed (it failed, or its future was dropped half-way).
struct Unflushed<'a> {
    snapshots: &'a Snapshots,
    users: Vec<Name>,
    done: bool,
}

impl Drop for Unflushed<'_> {
    fn drop(&mut self) {
        if !self.done {
            self.snapshots.restore(&self.users);
        }
    }
}

impl Snapshots {
    /// Marks `user`'s profile as changed. Called under the engine lock,
    /// after the change and before its event is queued.
    pub(crate) fn changed(&self, user: &Name) {
        let mut dirty = self.dirty.lock();
        if !dirty.contains(user) {
            dirty.insert(user.clone());
        }
    }

    /// How many profiles wait for a snapshot.
    pub fn pending(&self) -> usize {
        self.dirty.lock().len()
    }

    fn take(&self) -> Vec<Name> {
        std::mem::take(&mut *self.dirty.lock())
            .into_iter()
            .collect()
    }

    fn restore(&self, users: &[Name]) {
        self.dirty.lock().extend(users.iter().cloned());
    }
}

impl<S: Backend> Service<S> {
    /// Writes the snapshot of every profile changed since the last flush
    /// and, once they are all committed, moves the replay mark to where the
    /// flush began. Returns how many snapshots it wrote. On error (or when
    /// the future is dropped half-way) the users stay marked as changed (the
    /// next flush writes them) and the mark stays where it was. Flushes run
    /// one at a time.
    pub async fn flush_profiles(&self) -> Result<usize, ServiceError> {
        let _one = self.snapshots.flushing.lock().await;
        // Under the engine lock: every login recorded before this point has
        // marked its user and queued its event before the mark's beginning.
        let (mut users, begun) = {
            let _engine = self.engine.lock();
            let users = Unflushed {
                snapshots: &self.snapshots,
                users: self.snapshots.take(),
                done: false,
            };
            (
                users,
                self.writer
                    .submit_marked(Vec::new(), Vec::new(), Some(MarkStep::Begin)),
            )
        };
        let written = async {
            let mut acks = vec![begun?];
            for chunk in users.users.chunks(CHUNK) {
                // Taken and queued under the lock, like `record` queues
                // events: a snapshot never overtakes an event it learned from.
                let engine = self.engine.lock();
                let profiles = chunk
                    .iter()
                    .filter_map(|user| {
                        let blob = engine.snapshot(user)?;
                        let last = engine.profile(user).and_then(|p| p.last_success);
                        Some(ProfileSnapshot {
                            user: user.to_string(),
                            blob,
                            updated_at: Timestamp(last.map_or(0, |l| i64::from(l.ts))),
                            through_event: 0,
                        })
                    })
                    .collect();
                acks.push(self.writer.submit_marked(Vec::new(), profiles, None)?);
            }
            for ack in acks {
                ack.await?;
            }
            // Only now: every snapshot of the flush is committed.
            self.writer
                .submit_marked(Vec::new(), Vec::new(), Some(MarkStep::End))?
                .await?;
            Ok::<(), ServiceError>(())
        };
        written.await?;
        users.done = true;
        Ok(users.users.len())
    }
}

/// What [`restore`] did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Restored {
    /// Profiles loaded from snapshots.
    pub profiles: usize,
    /// Snapshots that could not be read (skipped, logged).
    pub corrupt: usize,
    /// Successful logins learned again (those the snapshots had not seen).
    pub replayed: usize,
}

/// Warms `engine` from the store: every profile snapshot, then the
/// successful logins after the replay mark that the user's snapshot has not
/// learned from, in their original order, each looked up again in `intel`
/// (so with the geo data and corrections of now). After a clean stop there
/// are none; after a crash, about [`FLUSH_EVERY`] of them. Each is learned
/// under the trust rule `Service::record` applied ([`Trust::of_parts`]
/// from the row's decision, alert and reasons). The profiles they
/// change are marked in `changed`, so the next flush writes them before
/// the mark moves past their events.
pub async fn restore<S: Store>(
    engine: &mut Engine,
    store: &S,
    intel: &IpIntel,
    changed: &Snapshots,
) -> Result<Restored, StoreError> {
    let mut done = Restored::default();
    let mut through: HashMap<String, i64> = HashMap::new();
    for s in store.load_profiles().await? {
        match engine.restore(Name::from(s.user.as_str()), &s.blob) {
            Ok(()) => {
                done.profiles += 1;
                through.insert(s.user, s.through_event);
            }
            Err(e) => {
                done.corrupt += 1;
                tracing::error!(user = %s.user, error = %e, "skipping unreadable profile snapshot");
            }
        }
    }
    let mut after = store.replay_mark().await?;
    loop {
        let page = store.successes_after(after, REPLAY_PAGE).await?;
        let Some(last) = page.last() else { break };
        after = last.id.unwrap_or(after);
        for e in &page {
            let id = e.id.unwrap_or(0);
            if through.get(&e.user).is_some_and(|&t| id <= t) {
                continue;
            }
            let attempt = match LoginAttempt::new(
                e.ts,
                &e.user,
                e.ip,
                e.protocol,
                e.device.as_deref(),
                e.user_agent.as_deref(),
            ) {
                Ok(a) => a,
                Err(error) => {
                    tracing::warn!(id, %error, "skipping a stored login that no longer validates");
                    continue;
                }
            };
            let info = intel.lookup(attempt.ip);
            // The rule `Service::record` applied (a passed challenge that
            // overrode it wrote the user's snapshot at once).
            let attack = e.reasons.iter().any(|&c| is_attack(c));
            let trust = Trust::of_parts(e.decision, e.alert, attack, false);
            if engine
                .learn_as(&attempt, &info, Outcome::Success, trust)
                .is_some()
            {
                changed.changed(&attempt.user);
            }
            done.replayed += 1;
        }
        if page.len() < REPLAY_PAGE as usize {
            break;
        }
    }
    Ok(done)
}
