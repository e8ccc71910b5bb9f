//! Access and protection policies per organisation, group and user, and
//! their resolution into one user's effective [`AccountPolicy`].
//!
//! Today only the global default exists (from the configuration's
//! `[login]` section); scoped, versioned policies in the store come next.

use std::sync::Arc;

use warden_core::AccountPolicy;
use warden_store::Backend;

use crate::Service;

/// The policies the pipeline reads, in memory.
#[derive(Debug, Clone, Default)]
pub struct Policies {
    /// The policy of every account that no scoped policy covers.
    pub default: Arc<AccountPolicy>,
}

impl Policies {
    /// Policies with only a global default.
    pub fn with_default(default: AccountPolicy) -> Self {
        Policies {
            default: Arc::new(default),
        }
    }
}

impl<S: Backend> Service<S> {
    /// The effective policy of `user` (a normalised user name). A lookup in
    /// memory: the pipeline calls it for every login.
    pub fn account_policy(&self, _user: &str) -> Arc<AccountPolicy> {
        self.policies.default.clone()
    }
}
