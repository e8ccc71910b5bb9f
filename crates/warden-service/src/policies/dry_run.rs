//! Dry run: what a policy would have refused over the last days of login
//! history, before it is switched on. The candidate (the scope's stored
//! policy, or one the admin proposes) is put in its scope's place among
//! each covered user's layers, resolved as if enforced, and checked
//! against every login of those users in the window, with the place the
//! history recorded. Bounded: at most [`MAX_DRY_RUN_LOGINS`] of the newest
//! logins in the window are read (in pages), [`MAX_DRY_RUN_DAYS`] days
//! back, [`MAX_EXAMPLES`] examples kept. The TLS rule is not judged (the
//! history does not record the connection). Changes nothing.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::Arc;

use warden_core::scoped::{check, resolve, PolicyMode, PolicyVersion, Scope};
use warden_core::{AccountPolicy, IpInfo, Lang, Location, Name, Outcome, Protocol, Timestamp};
use warden_store::{Backend, LoginEvent, MAX_LOGINS_PAGE};

use super::admin::PolicyInput;
use crate::error::{shown, ServiceError};
use crate::Service;

/// The most days a dry run looks back.
pub const MAX_DRY_RUN_DAYS: u32 = 90;
/// The most logins a dry run reads (the newest of the window).
pub const MAX_DRY_RUN_LOGINS: u32 = 200_000;
/// The most examples a report carries.
pub const MAX_EXAMPLES: usize = 20;

/// One login the policy would have refused.
#[derive(Debug, Clone, PartialEq)]
pub struct DryRunExample {
    pub user: String,
    pub ip: std::net::IpAddr,
    pub ts: Timestamp,
    pub protocol: Protocol,
    pub outcome: Outcome,
    pub location: Location,
    /// The refusal's text, English and Chinese.
    pub reason: (String, String),
}

/// What a dry run found.
#[derive(Debug, Clone, PartialEq)]
pub struct DryRunReport {
    pub scope: Scope,
    pub target: Name,
    pub days: u32,
    pub since: Timestamp,
    /// Logins read.
    pub scanned: u64,
    /// `true` when the window held more than [`MAX_DRY_RUN_LOGINS`]
    /// logins: only the newest were read.
    pub truncated: bool,
    /// Logins of users the scope covers.
    pub covered: u64,
    /// Logins the policy would have refused...
    pub refused: u64,
    /// ...of which had succeeded.
    pub refused_successes: u64,
    /// Distinct users among them.
    pub users: u64,
    /// Refusals per rule (`allowlist`, `geo_allow`...).
    pub by_rule: BTreeMap<&'static str, u64>,
    /// The newest refusals, at most [`MAX_EXAMPLES`].
    pub examples: Vec<DryRunExample>,
}

fn rule_name(b: &warden_core::scoped::Breach) -> &'static str {
    use warden_core::scoped::Breach as B;
    match b {
        B::NotAllowlisted(_) => "allowlist",
        B::OutsideGeoFence(_) => "geo_allow",
        B::BlockedPlace(_) => "geo_block",
        B::Protocol(_) => "protocols",
        B::NoTls => "tls_required",
        B::Hours(_) => "hours",
    }
}

impl<S: Backend> Service<S> {
    /// Reports what `candidate` (else the scope's stored policy, whatever
    /// its mode) would have refused over the last `days` days.
    pub async fn dry_run(
        &self,
        scope: Scope,
        target: &str,
        candidate: Option<&PolicyInput>,
        days: u32,
    ) -> Result<DryRunReport, ServiceError> {
        if !(1..=MAX_DRY_RUN_DAYS).contains(&days) {
            return Err(ServiceError::invalid(format!(
                "days: 1 to {MAX_DRY_RUN_DAYS}"
            )));
        }
        let target = self.policy_target(scope, target).await?;
        let stored = self
            .store
            .policy_history(scope, &target, 1)
            .await?
            .into_iter()
            .next();
        let mut policy = match (candidate, stored) {
            (Some(input), stored) => {
                let input = self.check_policy_input(input)?;
                PolicyVersion {
                    scope,
                    target: target.clone(),
                    version: stored.map_or(1, |v| v.version + 1),
                    name: input.name,
                    mode: input.mode,
                    rules: input.rules,
                    removed: false,
                    actor: String::new(),
                    ip: None,
                    comment: None,
                    created_at: self.now(),
                    restored_from: None,
                }
            }
            (None, Some(v)) if !v.removed => v,
            (None, _) => {
                return Err(ServiceError::NotFound(format!(
                    "{scope} {} has no policy; send one to try",
                    shown(&target)
                )))
            }
        };
        policy.mode = PolicyMode::Enforce;
        self.load_policies().await?;
        let live = self.policies.live();
        let now = self.now();
        let since = now.plus_secs(-i64::from(days) * 86_400);
        let mut report = DryRunReport {
            scope,
            target: target.clone(),
            days,
            since,
            scanned: 0,
            truncated: false,
            covered: 0,
            refused: 0,
            refused_successes: 0,
            users: 0,
            by_rule: BTreeMap::new(),
            examples: Vec::new(),
        };
        let mut users: HashSet<String> = HashSet::new();
        let mut resolved: HashMap<Vec<(Scope, Name)>, Arc<AccountPolicy>> = HashMap::new();
        let mut before = None;
        loop {
            let page = self
                .store
                .logins_since(since, before, MAX_LOGINS_PAGE)
                .await?;
            let Some(last) = page.last() else { break };
            before = last.id;
            let full = page.len() as u32 == MAX_LOGINS_PAGE;
            for e in &page {
                if report.scanned == u64::from(MAX_DRY_RUN_LOGINS) {
                    report.truncated = true;
                    break;
                }
                report.scanned += 1;
                if !live.covers(scope, &target, &e.user) {
                    continue;
                }
                report.covered += 1;
                let layers = live.layers_with(&e.user, Some(&policy));
                let key = layers
                    .iter()
                    .map(|v| (v.scope, v.target.clone()))
                    .collect::<Vec<_>>();
                let effective = resolved
                    .entry(key)
                    .or_insert_with(|| Arc::new(resolve(&self.policies.default, &layers)))
                    .clone();
                let info = self.recorded_place(e);
                let refusal = check(&effective, &info, e.protocol, None, e.ts)
                    .into_iter()
                    .find(|r| r.source.scope == scope && r.source.target == target);
                let Some(r) = refusal else { continue };
                report.refused += 1;
                if e.outcome.is_success() {
                    report.refused_successes += 1;
                }
                *report.by_rule.entry(rule_name(&r.breach)).or_default() += 1;
                users.insert(e.user.clone());
                if report.examples.len() < MAX_EXAMPLES {
                    report.examples.push(DryRunExample {
                        user: e.user.clone(),
                        ip: e.ip,
                        ts: e.ts,
                        protocol: e.protocol,
                        outcome: e.outcome,
                        location: info.location.clone(),
                        reason: (r.text(Lang::En), r.text(Lang::Zh)),
                    });
                }
            }
            if report.truncated || !full {
                break;
            }
        }
        report.users = users.len() as u64;
        Ok(report)
    }

    /// Where a logged login was, as its history row says, with the
    /// network facts (the organisation's ranges) of today's lookup.
    pub(crate) fn recorded_place(&self, e: &LoginEvent) -> IpInfo {
        let mut info = self.intel.lookup(e.ip);
        info.location = Location {
            country: e.country,
            region: e.region.as_deref().map(Name::from),
            city: e.city.as_deref().map(Name::from),
            ..Location::default()
        };
        info
    }
}
