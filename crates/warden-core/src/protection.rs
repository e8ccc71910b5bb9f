//! What protects one account beyond the risk engine: its login protection
//! level (异地登录保护), whether a new device waits for approval and how
//! fresh a step-up must be for a sensitive operation. An [`AccountPolicy`]
//! is the *effective* policy of one user, resolved by the service from the
//! global configuration and the organisation's, groups' and user's own
//! policies (user over group over organisation over global).
//!
//! Data and pure decisions only; the policies themselves are stored and
//! resolved by `warden-service::policies`.

use crate::account::wire_names;

/// When a correct credential must be verified before it counts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum ProtectionLevel {
    /// Never: a risky login succeeds and raises an alert.
    #[default]
    Off,
    /// A login the risk engine challenges (a new country, impossible
    /// travel, an attack signal...).
    Challenged,
    /// ...and any login from a city the user does not usually log in from.
    NewCity,
    /// ...and any login from a device the user has not used before.
    NewCityOrDevice,
}

wire_names!(ProtectionLevel, "login protection level",
    Off => "off",
    Challenged => "challenged",
    NewCity => "new_city",
    NewCityOrDevice => "new_city_or_device",
);

/// The effective protection of one account.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccountPolicy {
    pub login_protection: ProtectionLevel,
    /// A device the user has not used before stays pending (refused with a
    /// clear text) until the user or an admin approves it.
    pub new_device_approval: bool,
    /// Sensitive operations (password, 2FA, security email/phone,
    /// authorization codes) need a step-up at most this many minutes old;
    /// 0: no step-up needed.
    pub step_up_minutes: u32,
    /// The access rules of the organisation's, groups' and user's
    /// policies, each with its source ([`crate::scoped`]); empty for the
    /// global default, whose rules are the engine's (`policy.access`).
    pub access: Vec<crate::scoped::ScopedRule>,
}

impl Default for AccountPolicy {
    fn default() -> Self {
        AccountPolicy {
            login_protection: ProtectionLevel::Off,
            new_device_approval: false,
            step_up_minutes: 0,
            access: Vec::new(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn levels_read_their_wire_names_and_refuse_others() {
        for l in ProtectionLevel::ALL {
            assert_eq!(l.as_str().parse::<ProtectionLevel>().unwrap(), *l);
        }
        assert!("sometimes".parse::<ProtectionLevel>().is_err());
    }
}
