//! The admins' queue of location complaints ("the location is wrong"):
//! list them, **accept** one (a geolocation correction for the address, or
//! a network around it, with the place the admin gives: stored and live at
//! once through [`Service::put_correction`]) or **reject** it. A complaint
//! is decided once; each decision is a [`DomainEvent`] with the admin, the
//! time and the address.

use std::net::IpAddr;

use warden_core::{CorrectionState, GeoCorrection, QueuedCorrection};
use warden_store::Backend;

use crate::error::ServiceError;
use crate::events::DomainEvent;
use crate::Service;

impl<S: Backend> Service<S> {
    /// A page of complaints by id, after `after`, at most `limit`; only
    /// those in `state` when given.
    pub async fn queued_corrections(
        &self,
        state: Option<CorrectionState>,
        after: Option<i64>,
        limit: u32,
    ) -> Result<Vec<QueuedCorrection>, ServiceError> {
        Ok(self.store.queued_corrections(state, after, limit).await?)
    }

    /// One complaint; `NotFound` when there is none.
    pub async fn queued_correction(&self, id: i64) -> Result<QueuedCorrection, ServiceError> {
        self.store
            .queued_correction(id)
            .await?
            .ok_or_else(|| ServiceError::NotFound(format!("no location complaint {id}")))
    }

    /// Accepts pending complaint `id`: `correction` (built by the adapter
    /// from what the admin gave; its network must hold the complained
    /// address) is stored and live, then the complaint is marked accepted
    /// by `by`. A complaint decided already is refused (`already_decided`)
    /// and nothing is stored.
    pub async fn accept_correction(
        &self,
        id: i64,
        correction: &GeoCorrection,
        by: &str,
        ip: Option<IpAddr>,
    ) -> Result<QueuedCorrection, ServiceError> {
        let c = self.pending_correction(id).await?;
        if !correction.network.contains(&c.ip) {
            return Err(ServiceError::invalid(format!(
                "network: {} does not hold the complained address {}",
                correction.network, c.ip
            )));
        }
        let now = self.now();
        // Decided first: of two admins racing, one correction is stored.
        if !self
            .store
            .decide_correction(id, CorrectionState::Accepted, now, by)
            .await?
        {
            return Err(already_decided(id));
        }
        self.put_correction(correction).await?;
        self.decided(id, CorrectionState::Accepted, by, ip).await
    }

    /// Rejects pending complaint `id`. A complaint decided already is
    /// refused (`already_decided`).
    pub async fn reject_correction(
        &self,
        id: i64,
        by: &str,
        ip: Option<IpAddr>,
    ) -> Result<QueuedCorrection, ServiceError> {
        self.pending_correction(id).await?;
        if !self
            .store
            .decide_correction(id, CorrectionState::Rejected, self.now(), by)
            .await?
        {
            return Err(already_decided(id));
        }
        self.decided(id, CorrectionState::Rejected, by, ip).await
    }

    async fn pending_correction(&self, id: i64) -> Result<QueuedCorrection, ServiceError> {
        let c = self.queued_correction(id).await?;
        if c.state != CorrectionState::Pending {
            return Err(already_decided(id));
        }
        Ok(c)
    }

    async fn decided(
        &self,
        id: i64,
        state: CorrectionState,
        by: &str,
        ip: Option<IpAddr>,
    ) -> Result<QueuedCorrection, ServiceError> {
        let c = self.queued_correction(id).await?;
        self.publish_durable(DomainEvent::CorrectionDecided {
            id,
            state,
            by,
            ip,
            at: c.decided_at.unwrap_or_else(|| self.now()),
        })
        .await?;
        Ok(c)
    }
}

fn already_decided(id: i64) -> ServiceError {
    ServiceError::refused(
        "already_decided",
        format!("location complaint {id} was decided already"),
    )
}
