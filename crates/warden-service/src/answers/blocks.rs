//! The sources users disowned ("no, it wasn't me"), refused for their
//! account: a login of that account from the blocked network is an access
//! denial at every entry point (verify, the web login, evaluate, Dovecot's
//! policy), with the block's own text.
//!
//! The blocks live in the store (`source_blocks`) and, for the login path,
//! in memory: loaded once on first use, added to as users answer. Each
//! account keeps at most [`MAX_BLOCKS_PER_ACCOUNT`]; a block is made only
//! from a genuine signed link (or an admin), one per alert.

use std::collections::HashMap;
use std::net::IpAddr;

use ipnet::IpNet;
use parking_lot::RwLock;
use warden_core::{Name, SourceBlock};
use warden_store::Backend;

use crate::error::ServiceError;
use crate::Service;

/// The most networks one account blocks; later "not me" answers still
/// revoke and reset, but block nothing more.
pub const MAX_BLOCKS_PER_ACCOUNT: usize = 64;

/// The blocks in memory, by account.
#[derive(Debug, Default)]
pub struct SourceBlocks {
    loaded: tokio::sync::OnceCell<()>,
    by_user: RwLock<HashMap<Name, Vec<IpNet>>>,
}

impl SourceBlocks {
    /// The blocked network of `user` that holds `ip`, if any (only what is
    /// in memory; see [`Service::source_block`]).
    pub fn find(&self, user: &str, ip: IpAddr) -> Option<IpNet> {
        let map = self.by_user.read();
        map.get(user)?.iter().find(|n| n.contains(&ip)).copied()
    }

    /// The networks `user` blocks.
    pub fn of(&self, user: &str) -> Vec<IpNet> {
        self.by_user.read().get(user).cloned().unwrap_or_default()
    }

    /// How many networks `user` blocks.
    pub fn count(&self, user: &str) -> usize {
        self.by_user.read().get(user).map_or(0, Vec::len)
    }

    fn remove(&self, user: &str, network: &IpNet) {
        let mut map = self.by_user.write();
        if let Some(nets) = map.get_mut(user) {
            nets.retain(|n| n != network);
            if nets.is_empty() {
                map.remove(user);
            }
        }
    }

    fn add(&self, b: &SourceBlock) {
        let mut map = self.by_user.write();
        let nets = map.entry(b.user.clone()).or_default();
        if !nets.contains(&b.network) && nets.len() < MAX_BLOCKS_PER_ACCOUNT {
            nets.push(b.network);
        }
    }
}

impl<S: Backend> Service<S> {
    /// Loads the stored blocks into memory, once per process (later calls
    /// return at once). A failed load is tried again at the next call.
    pub async fn load_source_blocks(&self) -> Result<(), ServiceError> {
        self.blocks
            .loaded
            .get_or_try_init(|| async {
                for b in self.store.source_blocks().await? {
                    self.blocks.add(&b);
                }
                Ok::<(), ServiceError>(())
            })
            .await?;
        Ok(())
    }

    /// The network blocked for `user` that holds `ip`, if any.
    pub async fn source_block(
        &self,
        user: &str,
        ip: IpAddr,
    ) -> Result<Option<IpNet>, ServiceError> {
        self.load_source_blocks().await?;
        Ok(self.blocks.find(user, ip))
    }

    /// An admin lifts the block of `network` for `user` (the user is really
    /// there: a new home network, travel); `NotFound` when there is none.
    /// Published as an account change.
    pub async fn lift_source_block(
        &self,
        user: &str,
        network: &IpNet,
        ip: Option<IpAddr>,
    ) -> Result<(), ServiceError> {
        self.load_source_blocks().await?;
        if !self.store.delete_source_block(user, network).await? {
            return Err(ServiceError::NotFound(format!(
                "{network} is not blocked for {}",
                crate::error::shown(user)
            )));
        }
        self.blocks.remove(user, network);
        self.publish_durable(crate::events::DomainEvent::SourceUnblocked {
            user,
            network: *network,
            ip,
        })
        .await?;
        Ok(())
    }

    /// Blocks `block.network` for `block.user`: stored, then in memory.
    /// `false` when it was blocked already or the account holds
    /// [`MAX_BLOCKS_PER_ACCOUNT`] blocks (nothing changed).
    pub(crate) async fn add_source_block(&self, block: &SourceBlock) -> Result<bool, ServiceError> {
        self.load_source_blocks().await?;
        if self.blocks.count(&block.user) >= MAX_BLOCKS_PER_ACCOUNT {
            return Ok(false);
        }
        let added = self.store.insert_source_block(block).await?;
        self.blocks.add(block);
        Ok(added)
    }
}
