//! A user's sessions and devices: every successful login opens or
//! refreshes one, whatever the protocol; users and admins list them,
//! revoke one or all, trust a device for a while or forget it.

/// How sessions and devices are kept.
#[derive(Debug, Clone, Default)]
pub struct DeviceSettings {}
