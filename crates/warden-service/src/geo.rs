//! Admin corrections of the geolocation data: stored, then swapped into the
//! live lookup at once, and published as an admin action.

use ipnet::IpNet;
use warden_core::GeoCorrection;
use warden_store::Backend;

use crate::error::ServiceError;
use crate::events::DomainEvent;
use crate::Service;

impl<S: Backend> Service<S> {
    /// Every correction, as stored.
    pub async fn corrections(&self) -> Result<Vec<GeoCorrection>, ServiceError> {
        Ok(self.store.list_corrections().await?)
    }

    /// Adds or replaces the correction for a network; effective immediately.
    pub async fn put_correction(&self, c: &GeoCorrection) -> Result<(), ServiceError> {
        self.store.upsert_correction(c).await?;
        self.reload_corrections().await?;
        self.publish_durable(DomainEvent::GeoCorrected {
            network: c.network,
            removed: false,
        })
        .await?;
        Ok(())
    }

    /// Deletes the correction for a network; `NotFound` when there is none.
    /// Returns the corrections left.
    pub async fn delete_correction(&self, net: &IpNet) -> Result<Vec<GeoCorrection>, ServiceError> {
        if !self.store.delete_correction(net).await? {
            return Err(ServiceError::NotFound(format!("no correction for {net}")));
        }
        let all = self.reload_corrections().await?;
        self.publish_durable(DomainEvent::GeoCorrected {
            network: *net,
            removed: true,
        })
        .await?;
        Ok(all)
    }

    async fn reload_corrections(&self) -> Result<Vec<GeoCorrection>, ServiceError> {
        let all = self.store.list_corrections().await?;
        self.intel.set_corrections(all.clone());
        Ok(all)
    }
}
