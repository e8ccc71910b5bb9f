//! The facts an admin reviewing an alert needs, after Tencent's checklist
//! for a login from an unusual place: was it the user themselves (their
//! usual places and networks, what they answered before)? Someone sharing
//! the account (other users behind the same address)? The user's own
//! device egress — a VPN, a mobile carrier, a datacenter (the network's
//! kind)? Read only.

use std::net::IpAddr;

use ipnet::IpNet;
use warden_core::profile::known;
use warden_core::{Alert, IpInfo, Location};
use warden_store::Backend;

use crate::error::ServiceError;
use crate::Service;

/// How far back other users behind the address are looked for.
pub const OTHER_USERS_DAYS: i64 = 30;
/// The most other users and previous answers shown.
pub const REVIEW_LIST_MAX: u32 = 20;

/// What history says about an alert.
#[derive(Debug, Clone)]
pub struct AlertReview {
    pub alert: Alert,
    /// The address as Warden sees it now (network kind, carrier group,
    /// anonymizer, the organisation's own ranges).
    pub ip: Option<IpInfo>,
    /// The user's usual places now, strongest first.
    pub usual_places: Vec<Location>,
    /// The user's usual networks (AS numbers).
    pub usual_networks: Vec<u32>,
    /// The alert's network is one of them.
    pub network_usual: bool,
    /// The user has a profile (logins Warden learned from).
    pub profiled: bool,
    /// Other users with a login from the same address in the last
    /// [`OTHER_USERS_DAYS`] days.
    pub other_users: Vec<String>,
    /// The user's earlier answered alerts, newest first.
    pub previous_answers: Vec<Alert>,
    /// The network blocked for the user that holds the address, if any.
    pub blocked: Option<IpNet>,
}

impl<S: Backend> Service<S> {
    /// The review of alert `id`; `NotFound` when there is none.
    pub async fn alert_review(&self, id: i64) -> Result<AlertReview, ServiceError> {
        let alert = self
            .store
            .alert(id)
            .await?
            .ok_or_else(|| ServiceError::NotFound(format!("no alert {id}")))?;
        let now = self.now();
        let ip: Option<IpAddr> = alert.ip;
        let info = ip.map(|ip| self.intel.lookup(ip));
        let user = alert.user.as_deref().unwrap_or_default();
        let (usual_places, usual_networks, profiled) = {
            let engine = self.engine.lock();
            let l = &engine.policy().learning;
            match engine.profile(user) {
                Some(p) => {
                    let catalog = engine.catalog();
                    let places = p
                        .usual_places(now, l)
                        .into_iter()
                        .filter_map(|sp| catalog.get(sp.seen.key).cloned())
                        .take(REVIEW_LIST_MAX as usize)
                        .collect();
                    let nets = p
                        .asns
                        .iter()
                        .filter(|a| known(&p.asns, a.key, now, l).is_some())
                        .map(|a| a.key)
                        .take(REVIEW_LIST_MAX as usize)
                        .collect();
                    (places, nets, true)
                }
                None => (Vec::new(), Vec::new(), false),
            }
        };
        let asn = alert.asn.or(info.as_ref().and_then(|i| i.network.asn));
        let network_usual = asn.is_some_and(|a| usual_networks.contains(&a));
        let other_users = match ip {
            Some(ip) => {
                self.store
                    .users_seen_from(
                        ip,
                        user,
                        now.plus_secs(-OTHER_USERS_DAYS * 86_400),
                        REVIEW_LIST_MAX,
                    )
                    .await?
            }
            None => Vec::new(),
        };
        let previous_answers = if user.is_empty() {
            Vec::new()
        } else {
            self.store
                .answered_alerts(user, REVIEW_LIST_MAX + 1)
                .await?
                .into_iter()
                .filter(|a| a.id != id)
                .take(REVIEW_LIST_MAX as usize)
                .collect()
        };
        let blocked = match ip {
            Some(ip) if !user.is_empty() => self.source_block(user, ip).await?,
            _ => None,
        };
        Ok(AlertReview {
            alert,
            ip: info,
            usual_places,
            usual_networks,
            network_usual,
            profiled,
            other_users,
            previous_answers,
            blocked,
        })
    }
}
