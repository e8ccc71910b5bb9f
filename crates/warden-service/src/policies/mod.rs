//! Access and protection policies per organisation, group and user, and
//! their resolution into one user's effective [`AccountPolicy`].
//!
//! The policies are data in the store (`warden_store::PolicyStore`: every
//! change a version with who, when, from where and why). For the login
//! path they live in memory ([`Live`]): the current policy of every scope,
//! every account's organisation, every user's groups and, resolved once per
//! change with [`warden_core::scoped::resolve`], the effective policy of
//! every user some scoped policy covers (users sharing the same layers
//! share one value). A login reads one map ([`Service::account_policy`]);
//! a change re-reads the store and swaps the whole value.
//!
//! - [`admin`]: set, remove, restore, history; groups and memberships.
//! - [`dry_run`]: what a policy would have refused over the last days.
//! - [`events`]: the typed events of policy changes and report-only
//!   breaches.
//! - [`explain`]: which policy refused a user's logins (`warden diagnose`).
//!
//! The pipeline ([`Service::assess_with_signals`]) refuses an enforced
//! breach before anything else with the policy's own text, like a
//! disowned source; a breach of a `report_only` policy is published as
//! [`events::PolicyEvent::WouldRefuse`] and refuses nothing.

pub mod admin;
pub mod dry_run;
pub mod events;
pub mod explain;

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use parking_lot::RwLock;
use warden_core::scoped::{check, resolve, PolicyRefusal, PolicyVersion, Rule, Scope};
use warden_core::{AccountPolicy, IpInfo, LoginAttempt, Name};
use warden_store::Backend;

use crate::error::ServiceError;
use crate::Service;

/// The most policies (scopes with a current one) kept; a new scope beyond
/// it is refused.
pub const MAX_POLICIES: usize = 10_000;

/// What the login path reads, swapped whole on every change.
#[derive(Debug, Default)]
pub struct Live {
    /// The current (not removed) version of every scope and target.
    pub current: BTreeMap<(Scope, Name), Arc<PolicyVersion>>,
    /// Every account's organisation.
    pub orgs: HashMap<Name, Name>,
    /// Every user's groups, in name order.
    pub groups: HashMap<Name, Vec<Name>>,
    /// The effective policy of every user a scoped policy covers.
    resolved: HashMap<Name, Arc<AccountPolicy>>,
}

impl Live {
    /// Resolves every covered user's policy over `default`.
    fn build(
        default: &AccountPolicy,
        versions: Vec<PolicyVersion>,
        orgs: HashMap<Name, Name>,
        groups: HashMap<Name, Vec<Name>>,
    ) -> Live {
        let current: BTreeMap<(Scope, Name), Arc<PolicyVersion>> = versions
            .into_iter()
            .filter(|v| !v.removed)
            .map(|v| ((v.scope, v.target.clone()), Arc::new(v)))
            .collect();
        let mut live = Live {
            current,
            orgs,
            groups,
            resolved: HashMap::new(),
        };
        let mut users: Vec<Name> = live.orgs.keys().cloned().collect();
        users.extend(live.groups.keys().cloned());
        users.extend(
            live.current
                .keys()
                .filter(|(s, _)| *s == Scope::User)
                .map(|(_, t)| t.clone()),
        );
        let mut shared: HashMap<Vec<(Scope, Name)>, Arc<AccountPolicy>> = HashMap::new();
        for user in users {
            if live.resolved.contains_key(&user) {
                continue;
            }
            let layers = live.layers(&user);
            if layers.is_empty() {
                continue;
            }
            let key: Vec<(Scope, Name)> =
                layers.iter().map(|v| (v.scope, v.target.clone())).collect();
            let p = shared
                .entry(key)
                .or_insert_with(|| Arc::new(resolve(default, &layers)))
                .clone();
            live.resolved.insert(user, p);
        }
        live
    }

    /// The current policies that apply to `user`, narrowest first: their
    /// own, their groups' (in name order), their organisation's.
    pub fn layers(&self, user: &str) -> Vec<&PolicyVersion> {
        self.layers_with(user, None)
    }

    /// [`Live::layers`], with `candidate` in place of the current policy of
    /// its scope and target (a dry run's policy), when it covers `user`.
    pub fn layers_with<'a>(
        &'a self,
        user: &str,
        candidate: Option<&'a PolicyVersion>,
    ) -> Vec<&'a PolicyVersion> {
        let get = |scope, target: &Name| match candidate {
            Some(c) if c.scope == scope && c.target == *target => Some(c),
            _ => self.current.get(&(scope, target.clone())).map(|v| &**v),
        };
        let mut out = Vec::new();
        out.extend(get(Scope::User, &Name::from(user)));
        for g in self.groups.get(user).into_iter().flatten() {
            out.extend(get(Scope::Group, g));
        }
        if let Some(org) = self.orgs.get(user) {
            out.extend(get(Scope::Org, org));
        }
        out
    }

    /// Whether `user` is covered by the scope `(scope, target)`.
    pub fn covers(&self, scope: Scope, target: &str, user: &str) -> bool {
        match scope {
            Scope::User => user == target,
            Scope::Group => self
                .groups
                .get(user)
                .is_some_and(|g| g.iter().any(|g| &**g == target)),
            Scope::Org => self.orgs.get(user).is_some_and(|o| &**o == target),
        }
    }
}

/// The policies the pipeline reads, in memory.
#[derive(Debug, Default)]
pub struct Policies {
    /// The policy of every account that no scoped policy covers (from the
    /// configuration's `[login]` section).
    pub default: Arc<AccountPolicy>,
    loaded: tokio::sync::OnceCell<()>,
    live: RwLock<Arc<Live>>,
    /// Serialises changes (read the newest version, write the next one,
    /// swap the memory).
    changing: tokio::sync::Mutex<()>,
}

impl Policies {
    /// Policies with only a global default (the scoped ones are loaded
    /// from the store on first use).
    pub fn with_default(default: AccountPolicy) -> Self {
        Policies {
            default: Arc::new(default),
            ..Policies::default()
        }
    }

    /// What the login path reads now.
    pub fn live(&self) -> Arc<Live> {
        self.live.read().clone()
    }
}

impl<S: Backend> Service<S> {
    /// The effective policy of `user` (a normalised user name). A lookup in
    /// memory: the pipeline calls it for every login.
    pub fn account_policy(&self, user: &str) -> Arc<AccountPolicy> {
        self.policies
            .live
            .read()
            .resolved
            .get(user)
            .cloned()
            .unwrap_or_else(|| self.policies.default.clone())
    }

    /// Loads the policies and memberships into memory, once per process
    /// (later calls return at once). A failed load is tried again at the
    /// next call.
    pub async fn load_policies(&self) -> Result<(), ServiceError> {
        self.policies
            .loaded
            .get_or_try_init(|| self.read_policies())
            .await?;
        Ok(())
    }

    /// Reads the policies and memberships from the store again and swaps
    /// them in: after a policy or group change, and after accounts were
    /// created or deleted (their organisation).
    pub async fn reload_policies(&self) -> Result<(), ServiceError> {
        self.read_policies().await
    }

    /// Accounts were created or deleted: their organisations' policies are
    /// read again. The accounts are stored already, so a failure is logged
    /// (the next change or restart reads them) rather than reported.
    pub async fn accounts_changed(&self) {
        if let Err(e) = self.reload_policies().await {
            tracing::warn!(error = %e, "the accounts' organisations could not be read again for the access policies");
        }
    }

    async fn read_policies(&self) -> Result<(), ServiceError> {
        let versions = self.store.current_policies().await?;
        let orgs: HashMap<Name, Name> = self.store.account_orgs().await?.into_iter().collect();
        let mut groups: HashMap<Name, Vec<Name>> = HashMap::new();
        for (g, u) in self.store.group_members().await? {
            groups.entry(u).or_default().push(g);
        }
        let live = Live::build(&self.policies.default, versions, orgs, groups);
        *self.policies.live.write() = Arc::new(live);
        Ok(())
    }

    /// The scoped policies' breaches of a login: the first enforced one, if
    /// any, refuses it (the caller turns the assessment into that access
    /// denial); every report-only one is published and refuses nothing.
    /// The TLS rule is checked where the connection is known
    /// ([`Service::policy_requires_tls`]).
    pub(crate) async fn policy_refusal(
        &self,
        attempt: &LoginAttempt,
        info: &IpInfo,
    ) -> Option<PolicyRefusal> {
        if let Err(e) = self.load_policies().await {
            tracing::warn!(error = %e, "the access policies could not be loaded");
        }
        let policy = self.account_policy(&attempt.user);
        if policy.access.is_empty() {
            return None;
        }
        let mut enforced = None;
        for r in check(&policy, info, attempt.protocol, None, attempt.ts) {
            if r.enforced() {
                enforced.get_or_insert(r);
            } else {
                self.events.publish(crate::DomainEvent::Policy(
                    events::PolicyEvent::WouldRefuse {
                        attempt,
                        refusal: &r,
                    },
                ));
            }
        }
        enforced
    }

    /// Whether a scoped policy requires TLS of this mail client that did
    /// not use it (`true`: refuse, as `auth.require_tls` does); a
    /// report-only policy's breach is published instead.
    pub(crate) fn policy_requires_tls(&self, attempt: &LoginAttempt, tls: bool) -> bool {
        if tls || !attempt.protocol.is_mail_client() {
            return false;
        }
        let policy = self.account_policy(&attempt.user);
        let Some(r) = policy.access.iter().find(|r| r.rule == Rule::TlsRequired) else {
            return false;
        };
        let refusal = PolicyRefusal {
            breach: warden_core::scoped::Breach::NoTls,
            source: r.source.clone(),
        };
        if refusal.enforced() {
            return true;
        }
        self.events.publish(crate::DomainEvent::Policy(
            events::PolicyEvent::WouldRefuse {
                attempt,
                refusal: &refusal,
            },
        ));
        false
    }
}
