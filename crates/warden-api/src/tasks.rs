//! Background upkeep: prune the login history (and its alerts) past its retention, and
//! sessions past theirs; forget
//! expired attack counters and short-lived state (evaluations that never got
//! a report, mail sessions, login tickets).

use std::sync::Arc;
use std::time::Duration;

use tokio::task::JoinHandle;
use warden_store::Backend;

use crate::state::AppState;

/// One round of upkeep; returns the number of history rows pruned.
pub async fn upkeep<S: Backend>(state: &AppState<S>) -> Result<u64, warden_store::StoreError> {
    let now = state.now();
    let attacks = state.attacks();
    state.short.expire(now, &attacks).await;
    state.stepup.expire(now);
    let cutoff = now.plus_secs(-(state.config.retention_days as i64) * 86_400);
    let pruned = state.store.prune_events(cutoff).await?;
    // Alerts go with their logins (once no notification refers to them).
    let alerts = warden_store::AlertStore::prune_alerts(state.store.as_ref(), cutoff).await?;
    if alerts > 0 {
        tracing::info!(alerts, "pruned alerts past the retention");
    }
    // Sessions and devices unseen past their own retention (devices.retention_days).
    match state.service.prune_device_sessions().await {
        Ok(0) => {}
        Ok(n) => tracing::info!(sessions = n, "forgot sessions past their retention"),
        Err(e) => tracing::warn!(error = %e, "pruning sessions failed; will retry"),
    }
    // Sensitive operations too.
    let operations =
        warden_store::OperationStore::prune_operations(state.store.as_ref(), cutoff).await?;
    if operations > 0 {
        tracing::info!(operations, "pruned sensitive operations past the retention");
    }
    if pruned > 0 {
        tracing::info!(
            pruned,
            retention_days = state.config.retention_days,
            "pruned login history"
        );
    }
    state
        .events
        .publish(warden_service::DomainEvent::HistoryPruned { rows: pruned });
    Ok(pruned)
}

/// How often the short-lived state forgets what expired: each round pops
/// expired entries and prunes one sixteenth of the attack counters, so the
/// counters are swept every 80 s, a short walk at a time.
pub const EXPIRE_EVERY: Duration = Duration::from_secs(5);

/// Runs [`upkeep`] at the configured interval, and the short-lived
/// state's expiry every [`EXPIRE_EVERY`], until the runtime stops.
pub fn spawn<S: Backend>(state: Arc<AppState<S>>) -> JoinHandle<()> {
    let every = state.config.prune_interval.max(Duration::from_secs(1));
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(every);
        let mut expire = tokio::time::interval(EXPIRE_EVERY);
        expire.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                _ = tick.tick() => {
                    if let Err(e) = upkeep(&state).await {
                        tracing::warn!(error = %e, "upkeep failed; will retry");
                    }
                }
                _ = expire.tick() => {
                    state.short.expire(state.now(), &state.attacks()).await;
                    state.stepup.expire(state.now());
                }
            }
        }
    })
}
