//! What users' answers to "was this you?" leave behind: the sources a user
//! disowned, blocked from their account, and the addresses users say are
//! placed wrongly, queued for an admin. Data only.

use std::net::IpAddr;

use ipnet::IpNet;

use crate::account::wire_names;
use crate::domain::{Country, Name};
use crate::time::Timestamp;

/// A source refused for one account: the network of a login the user said
/// was not theirs (the /24 of an IPv4 address, the /64 of an IPv6 one).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SourceBlock {
    pub user: Name,
    pub network: IpNet,
    /// The alert the user answered "no, it wasn't me" to.
    pub alert_id: Option<i64>,
    pub created_at: Timestamp,
}

impl SourceBlock {
    /// The network blocked for a disowned login from `ip`: its /24 (IPv4)
    /// or /64 (IPv6), where an attacker's next address most likely is.
    pub fn network_of(ip: IpAddr) -> IpNet {
        let prefix = if ip.is_ipv4() { 24 } else { 64 };
        IpNet::new(ip, prefix).expect("prefix fits").trunc()
    }
}

/// Makes `assessment` refuse the login because `network` is blocked for
/// the account: an access denial first among the reasons, so every entry
/// point refuses it (`verify::precheck`) with the block's own text.
pub fn refuse_blocked(assessment: &mut crate::Assessment, network: IpNet) {
    assessment.reasons.insert(
        0,
        crate::Reason {
            code: crate::ReasonCode::AccessDenied,
            weight: 1.0,
            alert: false,
            evidence: crate::Evidence::Access {
                rule: crate::access::AccessRule::BlockedForAccount(network),
            },
        },
    );
    assessment.decision = crate::Decision::Deny;
    assessment.level = crate::Level::High;
    assessment.risk = 1.0;
    assessment.alert = false;
}

/// Where a queued geolocation complaint stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CorrectionState {
    /// Waiting for an admin.
    Pending,
    /// An admin made a geolocation correction of it.
    Accepted,
    Rejected,
}

wire_names!(CorrectionState, "correction state",
    Pending => "pending", Accepted => "accepted", Rejected => "rejected");

/// "The location is wrong": an address a user says is placed wrongly,
/// with where the data placed it and the user's own words.
#[derive(Debug, Clone, PartialEq)]
pub struct QueuedCorrection {
    /// Assigned by the store; 0 before insertion.
    pub id: i64,
    pub alert_id: Option<i64>,
    pub user: Name,
    pub ip: IpAddr,
    /// Where the geolocation data placed the address.
    pub country: Option<Country>,
    pub region: Option<String>,
    pub city: Option<String>,
    /// Where the user says they were (cleaned, bounded).
    pub comment: String,
    pub state: CorrectionState,
    pub created_at: Timestamp,
    pub decided_at: Option<Timestamp>,
    /// The admin who decided (an API key's name, `cli`...).
    pub decided_by: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_disowned_address_blocks_its_24_or_64_and_states_round_trip() {
        let v4 = SourceBlock::network_of("203.0.113.77".parse().unwrap());
        assert_eq!(v4.to_string(), "203.0.113.0/24");
        let v6 = SourceBlock::network_of("2001:db8:1:2:3::9".parse().unwrap());
        assert_eq!(v6.to_string(), "2001:db8:1:2::/64");
        for s in CorrectionState::ALL {
            assert_eq!(s.as_str().parse::<CorrectionState>().unwrap(), *s);
        }
        assert!("maybe".parse::<CorrectionState>().is_err());
    }
}
