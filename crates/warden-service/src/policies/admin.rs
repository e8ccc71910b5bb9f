//! The admins' side of policies: set a scope's policy (a new version),
//! remove it (a version that removes), restore an old version (a new
//! version with its content), read the current ones and a history; set a
//! user's groups and read the groups. Every change is validated first
//! (bad input changes nothing), stored, swapped into memory and published
//! as a [`PolicyEvent`].

use std::collections::BTreeMap;
use std::net::IpAddr;
use std::sync::Arc;

use warden_core::scoped::{
    PolicyMode, PolicyRules, PolicyVersion, Scope, MAX_COMMENT_CHARS, MAX_NAME_CHARS,
};
use warden_core::{AccountPolicy, Name};
use warden_store::{Backend, StoreError, MAX_GROUPS_PER_USER};

use super::events::{PolicyChange, PolicyEvent};
use super::MAX_POLICIES;
use crate::error::{shown, ServiceError};
use crate::{DomainEvent, Service};

/// A policy as an admin writes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PolicyInput {
    /// Its name in refusals and listings (`office-only`).
    pub name: String,
    pub mode: PolicyMode,
    pub rules: PolicyRules,
    /// Why (kept with the version).
    pub comment: Option<String>,
}

/// Who changes a policy, from where.
#[derive(Debug, Clone, Copy)]
pub struct ChangedBy<'a> {
    pub actor: &'a str,
    pub ip: Option<IpAddr>,
}

/// A group: its members and whether it has a policy.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Group {
    pub name: Name,
    pub members: Vec<Name>,
    pub policy: Option<Arc<PolicyVersion>>,
}

/// A user's effective policy with where it comes from.
#[derive(Debug, Clone)]
pub struct Effective {
    pub policy: Arc<AccountPolicy>,
    pub org: Option<Name>,
    pub groups: Vec<Name>,
    /// The current policies that apply, narrowest first.
    pub layers: Vec<Arc<PolicyVersion>>,
}

/// Checks an organisation's or group's name: 1 to 64 characters of
/// lower-case letters, digits, `.`, `_`, `-` and `@` (lower-cased here).
pub fn scope_name(what: &str, name: &str) -> Result<Name, ServiceError> {
    let n = name.trim().to_lowercase();
    if n.is_empty()
        || n.chars().count() > 64
        || !n
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-' | '@'))
    {
        return Err(ServiceError::invalid(format!(
            "{what}: {} is not a name (1 to 64 of a-z, 0-9, '.', '_', '-', '@')",
            shown(name)
        )));
    }
    Ok(Name::from(n))
}

fn clean_comment(comment: Option<&str>) -> Result<Option<String>, ServiceError> {
    match comment.map(str::trim).filter(|c| !c.is_empty()) {
        None => Ok(None),
        Some(c) if c.chars().count() > MAX_COMMENT_CHARS => Err(ServiceError::invalid(format!(
            "comment: at most {MAX_COMMENT_CHARS} characters"
        ))),
        Some(c) => Ok(Some(warden_core::text::one_line(c, MAX_COMMENT_CHARS))),
    }
}

impl<S: Backend> Service<S> {
    /// The normalised target of a scope: a user name as every edge
    /// normalises it, an existing organisation, a group name.
    pub async fn policy_target(&self, scope: Scope, target: &str) -> Result<Name, ServiceError> {
        match scope {
            Scope::User => warden_core::normalize_user(target)
                .map_err(|e| ServiceError::invalid(format!("user: {e}"))),
            Scope::Group => scope_name("group", target),
            Scope::Org => {
                let name = scope_name("org", target)?;
                if self.store.org(&name).await?.is_none() {
                    return Err(ServiceError::NotFound(format!(
                        "no organisation {}",
                        shown(&name)
                    )));
                }
                Ok(name)
            }
        }
    }

    /// Checks an admin's policy and cleans its texts.
    pub fn check_policy_input(&self, input: &PolicyInput) -> Result<PolicyInput, ServiceError> {
        let name = input.name.trim();
        if name.is_empty()
            || name.chars().count() > MAX_NAME_CHARS
            || warden_core::text::has_hidden(name)
        {
            return Err(ServiceError::invalid(format!(
                "name: 1 to {MAX_NAME_CHARS} visible characters"
            )));
        }
        input.rules.validate().map_err(ServiceError::invalid)?;
        Ok(PolicyInput {
            name: warden_core::text::one_line(name, MAX_NAME_CHARS),
            mode: input.mode,
            rules: input.rules.clone(),
            comment: clean_comment(input.comment.as_deref())?,
        })
    }

    /// Stores `input` as the next version of the scope's policy, swaps it
    /// into memory and publishes the change.
    pub async fn set_policy(
        &self,
        scope: Scope,
        target: &str,
        input: &PolicyInput,
        by: ChangedBy<'_>,
    ) -> Result<PolicyVersion, ServiceError> {
        let target = self.policy_target(scope, target).await?;
        let input = self.check_policy_input(input)?;
        self.write_version(scope, target, PolicyChange::Set, by, |_| {
            Ok((input.clone(), None))
        })
        .await
    }

    /// Removes the scope's policy (a version that removes it: the scope
    /// inherits everything again). `NotFound` when it has none.
    pub async fn remove_policy(
        &self,
        scope: Scope,
        target: &str,
        comment: Option<&str>,
        by: ChangedBy<'_>,
    ) -> Result<PolicyVersion, ServiceError> {
        let target = self.policy_target(scope, target).await?;
        let comment = clean_comment(comment)?;
        let shown_target = shown(&target);
        self.write_version(
            scope,
            target,
            PolicyChange::Removed,
            by,
            |newest| match newest.filter(|v| !v.removed) {
                Some(v) => Ok((
                    PolicyInput {
                        name: v.name.clone(),
                        mode: v.mode,
                        rules: PolicyRules::default(),
                        comment: comment.clone(),
                    },
                    None,
                )),
                None => Err(ServiceError::NotFound(format!(
                    "{scope} {shown_target} has no policy"
                ))),
            },
        )
        .await
    }

    /// Restores `version` of the scope's policy: a new version with its
    /// name, mode and rules. `NotFound` when there is no such version.
    pub async fn restore_policy(
        &self,
        scope: Scope,
        target: &str,
        version: u32,
        comment: Option<&str>,
        by: ChangedBy<'_>,
    ) -> Result<PolicyVersion, ServiceError> {
        let target = self.policy_target(scope, target).await?;
        let comment = clean_comment(comment)?;
        let old = self
            .store
            .policy_version(scope, &target, version)
            .await?
            .ok_or_else(|| {
                ServiceError::NotFound(format!(
                    "{scope} {} has no policy version {version}",
                    shown(&target)
                ))
            })?;
        if old.removed {
            return Err(ServiceError::invalid(format!(
                "version: {version} removed the policy; to remove it again, delete it"
            )));
        }
        self.write_version(scope, target, PolicyChange::Restored, by, |_| {
            Ok((
                PolicyInput {
                    name: old.name.clone(),
                    mode: old.mode,
                    rules: old.rules.clone(),
                    comment: comment.clone(),
                },
                Some(version),
            ))
        })
        .await
    }

    /// The one way a version is written: under the change lock, numbered
    /// after the newest, stored, then the memory is swapped and the change
    /// published.
    async fn write_version(
        &self,
        scope: Scope,
        target: Name,
        change: PolicyChange,
        by: ChangedBy<'_>,
        make: impl FnOnce(Option<&PolicyVersion>) -> Result<(PolicyInput, Option<u32>), ServiceError>,
    ) -> Result<PolicyVersion, ServiceError> {
        self.load_policies().await?;
        let _changing = self.policies.changing.lock().await;
        let newest = self
            .store
            .policy_history(scope, &target, 1)
            .await?
            .into_iter()
            .next();
        let (input, restored_from) = make(newest.as_ref())?;
        let live = self.policies.live();
        if change != PolicyChange::Removed
            && !live.current.contains_key(&(scope, target.clone()))
            && live.current.len() >= MAX_POLICIES
        {
            return Err(ServiceError::refused(
                "too_many_policies",
                format!("at most {MAX_POLICIES} policies; remove one first"),
            ));
        }
        let at = self.now();
        let v = PolicyVersion {
            scope,
            target: target.clone(),
            version: newest.as_ref().map_or(1, |v| v.version + 1),
            name: input.name,
            mode: input.mode,
            rules: input.rules,
            removed: change == PolicyChange::Removed,
            actor: warden_core::text::one_line(by.actor, 64),
            ip: by.ip,
            comment: input.comment,
            created_at: at,
            restored_from,
        };
        self.store
            .insert_policy_version(&v)
            .await
            .map_err(|e| match e {
                StoreError::Conflict { what } => ServiceError::refused(
                    "policy_changed",
                    format!("{what} was written meanwhile; read it and try again"),
                ),
                e => e.into(),
            })?;
        self.reload_policies().await?;
        self.publish_durable(DomainEvent::Policy(PolicyEvent::Changed {
            scope,
            target: &target,
            version: v.version,
            change,
            mode: v.mode,
            actor: &v.actor,
            ip: by.ip,
            at,
        }))
        .await?;
        Ok(v)
    }

    /// The current policies, by scope then target.
    pub async fn list_policies(&self) -> Result<Vec<Arc<PolicyVersion>>, ServiceError> {
        self.load_policies().await?;
        Ok(self.policies.live().current.values().cloned().collect())
    }

    /// The current policy of a scope; `NotFound` when it has none.
    pub async fn policy(
        &self,
        scope: Scope,
        target: &str,
    ) -> Result<Arc<PolicyVersion>, ServiceError> {
        let target = self.policy_target(scope, target).await?;
        self.load_policies().await?;
        self.policies
            .live()
            .current
            .get(&(scope, target.clone()))
            .cloned()
            .ok_or_else(|| {
                ServiceError::NotFound(format!("{scope} {} has no policy", shown(&target)))
            })
    }

    /// The versions of a scope's policy, newest first, at most `limit`
    /// (1 to 200).
    pub async fn policy_history(
        &self,
        scope: Scope,
        target: &str,
        limit: u32,
    ) -> Result<Vec<PolicyVersion>, ServiceError> {
        if !(1..=warden_store::MAX_POLICY_HISTORY).contains(&limit) {
            return Err(ServiceError::invalid(format!(
                "limit: 1 to {}",
                warden_store::MAX_POLICY_HISTORY
            )));
        }
        let target = self.policy_target(scope, target).await?;
        Ok(self.store.policy_history(scope, &target, limit).await?)
    }

    /// `user`'s effective policy and the layers it comes from.
    pub async fn effective_policy(&self, user: &str) -> Result<Effective, ServiceError> {
        let user = self.policy_target(Scope::User, user).await?;
        self.load_policies().await?;
        let live = self.policies.live();
        Ok(Effective {
            policy: self.account_policy(&user),
            org: live.orgs.get(&user).cloned(),
            groups: live.groups.get(&user).cloned().unwrap_or_default(),
            layers: live
                .layers(&user)
                .into_iter()
                .map(|v| live.current[&(v.scope, v.target.clone())].clone())
                .collect(),
        })
    }

    /// Makes `groups` the groups of `user` (names checked, duplicates
    /// dropped, at most [`MAX_GROUPS_PER_USER`]); swapped into memory and
    /// published. Returns the groups as stored, in name order.
    pub async fn set_user_groups(
        &self,
        user: &str,
        groups: &[String],
        by: ChangedBy<'_>,
    ) -> Result<Vec<Name>, ServiceError> {
        let user = self.policy_target(Scope::User, user).await?;
        let mut names = groups
            .iter()
            .map(|g| scope_name("groups", g))
            .collect::<Result<Vec<_>, _>>()?;
        names.sort();
        names.dedup();
        if names.len() > MAX_GROUPS_PER_USER {
            return Err(ServiceError::invalid(format!(
                "groups: at most {MAX_GROUPS_PER_USER}"
            )));
        }
        self.load_policies().await?;
        let _changing = self.policies.changing.lock().await;
        let at = self.now();
        self.store.set_user_groups(&user, &names, at).await?;
        self.reload_policies().await?;
        self.publish_durable(DomainEvent::Policy(PolicyEvent::GroupsSet {
            user: &user,
            groups: &names,
            actor: by.actor,
            ip: by.ip,
            at,
        }))
        .await?;
        Ok(names)
    }

    /// Every group (with members or a policy), in name order.
    pub async fn groups(&self) -> Result<Vec<Group>, ServiceError> {
        self.load_policies().await?;
        let live = self.policies.live();
        let mut out: BTreeMap<Name, Group> = BTreeMap::new();
        let entry = |out: &mut BTreeMap<Name, Group>, g: &Name| {
            out.entry(g.clone())
                .or_insert_with(|| Group {
                    name: g.clone(),
                    members: Vec::new(),
                    policy: live.current.get(&(Scope::Group, g.clone())).cloned(),
                })
                .members
                .len()
        };
        for (user, groups) in &live.groups {
            for g in groups {
                entry(&mut out, g);
                if let Some(group) = out.get_mut(g) {
                    group.members.push(user.clone());
                }
            }
        }
        for (scope, target) in live.current.keys() {
            if *scope == Scope::Group {
                entry(&mut out, target);
            }
        }
        let mut v: Vec<Group> = out.into_values().collect();
        for g in &mut v {
            g.members.sort();
        }
        Ok(v)
    }

    /// One group; `NotFound` when it has neither members nor a policy.
    pub async fn group(&self, name: &str) -> Result<Group, ServiceError> {
        let name = scope_name("group", name)?;
        self.groups()
            .await?
            .into_iter()
            .find(|g| g.name == name)
            .ok_or_else(|| ServiceError::NotFound(format!("no group {}", shown(&name))))
    }
}
