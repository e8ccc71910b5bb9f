//! The login domain: who tries to log in, from where, over which protocol,
//! and how it ended. These types are shared by every layer; they carry no IO
//! and no serialisation format of their own beyond `serde` derives used for
//! the compact binary profile snapshot.

use std::fmt;
use std::net::IpAddr;
use std::str::FromStr;
use std::sync::Arc;

use serde::{Deserialize, Serialize};

use crate::time::Timestamp;

/// A shared, immutable name (user, city, organisation). Cloning is cheap.
pub type Name = Arc<str>;

/// The protocol a login came in on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum Protocol {
    Imap,
    Pop3,
    Smtp,
    Web,
    Im,
    Api,
    /// CalDAV / CardDAV (calendar and contacts sync).
    Dav,
}

impl Protocol {
    /// Every protocol, in a stable order.
    pub const ALL: [Protocol; 7] = [
        Protocol::Imap,
        Protocol::Pop3,
        Protocol::Smtp,
        Protocol::Web,
        Protocol::Im,
        Protocol::Api,
        Protocol::Dav,
    ];

    /// The lower-case wire name (`imap`, `pop3`, ...).
    pub fn as_str(self) -> &'static str {
        match self {
            Protocol::Imap => "imap",
            Protocol::Pop3 => "pop3",
            Protocol::Smtp => "smtp",
            Protocol::Web => "web",
            Protocol::Im => "im",
            Protocol::Api => "api",
            Protocol::Dav => "dav",
        }
    }

    /// Protocols of stored-password mail clients (Outlook, Foxmail, iOS
    /// Mail...): where authorization codes stand in for the login password.
    pub fn is_mail_client(self) -> bool {
        matches!(
            self,
            Protocol::Imap | Protocol::Pop3 | Protocol::Smtp | Protocol::Dav
        )
    }
}

impl fmt::Display for Protocol {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A protocol name that Warden does not know.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown protocol {0:?}: expected one of imap, pop3, smtp, web, im, api, dav (or caldav, carddav)")]
pub struct UnknownProtocol(pub String);

impl FromStr for Protocol {
    type Err = UnknownProtocol;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        if s.eq_ignore_ascii_case("caldav") || s.eq_ignore_ascii_case("carddav") {
            return Ok(Protocol::Dav);
        }
        Protocol::ALL
            .into_iter()
            .find(|p| p.as_str().eq_ignore_ascii_case(s))
            .ok_or_else(|| UnknownProtocol(s.to_string()))
    }
}

/// Why a login failed, when the caller knows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum FailureReason {
    /// The password (or code) did not match.
    WrongPassword,
    /// No such account: counts towards credential-stuffing detection.
    UnknownUser,
    /// A step-up challenge was asked for and not passed.
    ChallengeFailed,
    /// Refused by policy or lockout, the password was not even checked.
    Blocked,
    /// Anything else (expired, disabled, ...).
    Other,
}

impl FailureReason {
    pub const ALL: [FailureReason; 5] = [
        FailureReason::WrongPassword,
        FailureReason::UnknownUser,
        FailureReason::ChallengeFailed,
        FailureReason::Blocked,
        FailureReason::Other,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            FailureReason::WrongPassword => "wrong_password",
            FailureReason::UnknownUser => "unknown_user",
            FailureReason::ChallengeFailed => "challenge_failed",
            FailureReason::Blocked => "blocked",
            FailureReason::Other => "other",
        }
    }
}

/// A failure reason name that Warden does not know.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown failure reason {0:?}: expected one of wrong_password, unknown_user, verification_required (or its old name challenge_failed), blocked, other")]
pub struct UnknownFailureReason(pub String);

impl FromStr for FailureReason {
    type Err = UnknownFailureReason;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        // The API and the history call a failed step-up
        // `verification_required`; the stored name stays.
        if s.eq_ignore_ascii_case("verification_required") {
            return Ok(FailureReason::ChallengeFailed);
        }
        FailureReason::ALL
            .into_iter()
            .find(|p| p.as_str().eq_ignore_ascii_case(s))
            .ok_or_else(|| UnknownFailureReason(s.to_string()))
    }
}

/// How a login attempt ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Outcome {
    /// The user got in (password and any step-up passed).
    Success,
    /// The user did not get in.
    Failure(FailureReason),
}

impl Outcome {
    pub fn is_success(self) -> bool {
        matches!(self, Outcome::Success)
    }
}

/// One login attempt as the mail or IM server sees it.
#[derive(Debug, Clone, PartialEq)]
pub struct LoginAttempt {
    /// When the attempt happened (the event's own time, never the wall clock in replay).
    pub ts: Timestamp,
    /// The login name as typed (normalised to lower case by the edges).
    pub user: Name,
    /// The client address, already normalised (IPv4-mapped IPv6 becomes IPv4).
    pub ip: IpAddr,
    pub protocol: Protocol,
    /// A stable device identifier when the client sends one.
    pub device: Option<Name>,
    /// A browser user agent or an IMAP `ID` string.
    pub user_agent: Option<Name>,
    /// The client family the user agent names, classified once here.
    pub client: Option<crate::client::ClientFamily>,
}

/// Longest accepted login name, device id and user agent.
pub const MAX_USER_LEN: usize = 320;
pub const MAX_DEVICE_LEN: usize = 256;
pub const MAX_USER_AGENT_LEN: usize = 1024;

/// A login attempt that cannot be accepted.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum InvalidAttempt {
    #[error("user must not be empty")]
    EmptyUser,
    #[error("user is longer than {MAX_USER_LEN} bytes")]
    UserTooLong,
    #[error("{0} must not contain control characters or invisible formatting characters")]
    ControlCharacters(&'static str),
    #[error("device is longer than {MAX_DEVICE_LEN} bytes")]
    DeviceTooLong,
    #[error("user_agent is longer than {MAX_USER_AGENT_LEN} bytes")]
    UserAgentTooLong,
}

/// Control characters (C0, DEL and C1), checked on bytes first: most input
/// is ASCII.
fn has_control(s: &str) -> bool {
    s.bytes().any(|b| b < 0x20 || b == 0x7f) || (!s.is_ascii() && s.chars().any(char::is_control))
}

fn clean(
    field: &'static str,
    v: &str,
    max: usize,
    too_long: InvalidAttempt,
) -> Result<Option<Name>, InvalidAttempt> {
    let v = v.trim();
    if v.is_empty() {
        return Ok(None);
    }
    if v.len() > max {
        return Err(too_long);
    }
    if has_control(v) {
        return Err(InvalidAttempt::ControlCharacters(field));
    }
    // Invisible formatting characters (bidirectional overrides, zero-width
    // spaces: `crate::text`) carry no meaning in an id or a user agent and
    // could disguise one in a text: dropped.
    if crate::text::has_hidden(v) {
        let visible: String = v.chars().filter(|&c| !crate::text::is_hidden(c)).collect();
        let visible = visible.trim();
        return Ok((!visible.is_empty()).then(|| Name::from(visible)));
    }
    Ok(Some(Name::from(v)))
}

/// A login name as Warden keys it: trimmed and lower-cased, checked for
/// emptiness, length and control characters. Every edge that takes a user
/// name goes through this.
pub fn normalize_user(user: &str) -> Result<Name, InvalidAttempt> {
    let user = user.trim();
    if user.is_empty() {
        return Err(InvalidAttempt::EmptyUser);
    }
    if user.len() > MAX_USER_LEN {
        return Err(InvalidAttempt::UserTooLong);
    }
    // Invisible formatting characters too (U+202E, zero-width spaces): a
    // name that looks like another account's must not be one.
    if crate::text::has_hidden(user) {
        return Err(InvalidAttempt::ControlCharacters("user"));
    }
    Ok(
        if user.bytes().any(|b| b.is_ascii_uppercase()) || !user.is_ascii() {
            user.to_lowercase().into()
        } else {
            user.into()
        },
    )
}

impl LoginAttempt {
    /// Builds an attempt the way every edge must: the user name trimmed and
    /// lower-cased, the address normalised, optional fields trimmed (empty
    /// means absent), lengths and characters checked.
    pub fn new(
        ts: Timestamp,
        user: &str,
        ip: IpAddr,
        protocol: Protocol,
        device: Option<&str>,
        user_agent: Option<&str>,
    ) -> Result<Self, InvalidAttempt> {
        let user = normalize_user(user)?;
        let device = match device {
            Some(d) => clean("device", d, MAX_DEVICE_LEN, InvalidAttempt::DeviceTooLong)?,
            None => None,
        };
        let user_agent = match user_agent {
            Some(u) => clean(
                "user_agent",
                u,
                MAX_USER_AGENT_LEN,
                InvalidAttempt::UserAgentTooLong,
            )?,
            None => None,
        };
        let client = user_agent.as_deref().map(crate::client::classify);
        Ok(LoginAttempt {
            ts,
            user,
            ip: normalize_ip(ip),
            protocol,
            device,
            user_agent,
            client,
        })
    }
}

/// An ISO 3166-1 alpha-2 country code, upper case.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Country([u8; 2]);

/// A string that is not a two-letter country code.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid country code {0:?}: expected two ASCII letters (ISO 3166-1 alpha-2)")]
pub struct InvalidCountry(pub String);

impl Country {
    /// Parses `cn`, `CN`; anything but two ASCII letters is an error.
    pub fn new(code: &str) -> Result<Self, InvalidCountry> {
        let b = code.as_bytes();
        if b.len() == 2 && b.iter().all(u8::is_ascii_alphabetic) {
            Ok(Country([
                b[0].to_ascii_uppercase(),
                b[1].to_ascii_uppercase(),
            ]))
        } else {
            Err(InvalidCountry(code.to_string()))
        }
    }

    pub fn as_str(&self) -> &str {
        // Constructed only from ASCII letters.
        std::str::from_utf8(&self.0).unwrap_or("??")
    }
}

impl fmt::Debug for Country {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl fmt::Display for Country {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A point on the earth, in degrees.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Coords {
    pub lat: f32,
    pub lon: f32,
}

impl Coords {
    /// Great-circle distance in kilometres (haversine, mean earth radius).
    pub fn distance_km(self, other: Coords) -> f64 {
        const R: f64 = 6371.0088;
        let (la1, lo1) = (
            (self.lat as f64).to_radians(),
            (self.lon as f64).to_radians(),
        );
        let (la2, lo2) = (
            (other.lat as f64).to_radians(),
            (other.lon as f64).to_radians(),
        );
        let dla = la2 - la1;
        let dlo = lo2 - lo1;
        let a = (dla / 2.0).sin().powi(2) + la1.cos() * la2.cos() * (dlo / 2.0).sin().powi(2);
        2.0 * R * a.sqrt().min(1.0).asin()
    }
}

/// Where an IP address is, as far as the geolocation data knows.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Location {
    pub country: Option<Country>,
    /// First-level subdivision (province, state), English name.
    pub region: Option<Name>,
    /// City, English name.
    pub city: Option<Name>,
    /// City name in Chinese when the data or Warden's table knows it.
    pub city_zh: Option<Name>,
    /// Region name in Chinese when known.
    pub region_zh: Option<Name>,
    pub coords: Option<Coords>,
    /// How far off the point may be, in km, when the data says.
    pub accuracy_km: Option<u16>,
    /// IANA time zone name, when known.
    pub time_zone: Option<Name>,
}

impl Location {
    /// True when nothing at all is known.
    pub fn is_unknown(&self) -> bool {
        self.country.is_none() && self.city.is_none() && self.coords.is_none()
    }
}

/// Anonymising infrastructure an address belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum AnonymizerKind {
    Tor,
    Vpn,
    Proxy,
}

impl AnonymizerKind {
    pub fn as_str(self) -> &'static str {
        match self {
            AnonymizerKind::Tor => "tor",
            AnonymizerKind::Vpn => "vpn",
            AnonymizerKind::Proxy => "proxy",
        }
    }
}

/// What network an address belongs to.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Network {
    pub asn: Option<u32>,
    /// For a carrier that announces many AS numbers (China Mobile's
    /// provinces...), the group's main AS number.
    pub group: Option<u32>,
    pub organisation: Option<Name>,
    /// The ASN is a hosting / cloud / datacenter network.
    pub datacenter: bool,
    pub anonymizer: Option<AnonymizerKind>,
    /// The address is in one of the organisation's configured ranges
    /// (office egress, corporate VPN); the name of the range when set.
    pub org_range: Option<Name>,
}

impl Network {
    /// The network as habits count it: the carrier group, else the AS.
    pub fn habit_key(&self) -> Option<u32> {
        self.group.or(self.asn)
    }
}

/// Everything Warden knows about one IP address at evaluation time.
#[derive(Debug, Clone, PartialEq)]
pub struct IpInfo {
    pub ip: IpAddr,
    pub location: Location,
    pub network: Network,
    /// The location came from an admin correction, not the database.
    pub corrected: bool,
}

impl IpInfo {
    /// An address nothing is known about.
    pub fn unknown(ip: IpAddr) -> Self {
        IpInfo {
            ip,
            location: Location::default(),
            network: Network::default(),
            corrected: false,
        }
    }
}

/// Returns the canonical form of an address: IPv4-mapped (`::ffff:a.b.c.d`)
/// and IPv4-compatible forms become plain IPv4.
pub fn normalize_ip(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => IpAddr::V4(v4),
            None => IpAddr::V6(v6),
        },
        v4 => v4,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_failed_step_up_reads_by_both_names() {
        for name in [
            "challenge_failed",
            "verification_required",
            "Verification_Required",
        ] {
            assert_eq!(
                name.parse::<FailureReason>(),
                Ok(FailureReason::ChallengeFailed),
                "{name}"
            );
        }
        assert!("nope".parse::<FailureReason>().is_err());
    }

    #[test]
    fn protocol_round_trips_and_rejects_unknown() {
        for p in Protocol::ALL {
            assert_eq!(p.as_str().parse::<Protocol>().unwrap(), p);
        }
        assert_eq!("IMAP".parse::<Protocol>().unwrap(), Protocol::Imap);
        let err = "gopher".parse::<Protocol>().unwrap_err();
        assert!(err.to_string().contains("gopher"));
    }

    #[test]
    fn attempts_are_normalised_and_checked() {
        let ip: IpAddr = "::ffff:10.0.0.1".parse().unwrap();
        let a = LoginAttempt::new(
            Timestamp(1),
            "  Alice@Example.COM ",
            ip,
            Protocol::Imap,
            Some(" "),
            Some("Foxmail"),
        )
        .unwrap();
        assert_eq!(&*a.user, "alice@example.com");
        assert_eq!(a.ip, "10.0.0.1".parse::<IpAddr>().unwrap());
        assert_eq!(a.device, None);
        assert_eq!(a.user_agent.as_deref(), Some("Foxmail"));
        let t = Timestamp(1);
        assert_eq!(
            LoginAttempt::new(t, " ", ip, Protocol::Imap, None, None),
            Err(InvalidAttempt::EmptyUser)
        );
        assert_eq!(
            LoginAttempt::new(t, &"a".repeat(321), ip, Protocol::Imap, None, None),
            Err(InvalidAttempt::UserTooLong)
        );
        assert_eq!(
            LoginAttempt::new(t, "a\nb", ip, Protocol::Imap, None, None),
            Err(InvalidAttempt::ControlCharacters("user"))
        );
        assert_eq!(
            LoginAttempt::new(t, "a", ip, Protocol::Imap, Some(&"d".repeat(300)), None),
            Err(InvalidAttempt::DeviceTooLong)
        );
    }

    #[test]
    fn country_codes_are_validated() {
        assert_eq!(Country::new("cn").unwrap().as_str(), "CN");
        assert!(Country::new("CHN").is_err());
        assert!(Country::new("1A").is_err());
    }

    #[test]
    fn mapped_ipv6_becomes_ipv4() {
        let ip: IpAddr = "::ffff:1.2.3.4".parse().unwrap();
        assert_eq!(normalize_ip(ip), "1.2.3.4".parse::<IpAddr>().unwrap());
        let v6: IpAddr = "2001:db8::1".parse().unwrap();
        assert_eq!(normalize_ip(v6), v6);
    }

    #[test]
    fn distances_match_known_city_pairs() {
        let shenzhen = Coords {
            lat: 22.5431,
            lon: 114.0579,
        };
        let tokyo = Coords {
            lat: 35.6762,
            lon: 139.6503,
        };
        let london = Coords {
            lat: 51.5074,
            lon: -0.1278,
        };
        let d = shenzhen.distance_km(tokyo);
        assert!((2850.0..3000.0).contains(&d), "{d}");
        let d = shenzhen.distance_km(london);
        assert!((9500.0..9700.0).contains(&d), "{d}");
        assert_eq!(shenzhen.distance_km(shenzhen), 0.0);
    }
}

/// An admin's correction of where an address range is: it wins over the
/// geolocation database (users report wrong locations; admins fix them).
#[derive(Debug, Clone, PartialEq)]
pub struct GeoCorrection {
    pub network: ipnet::IpNet,
    pub location: Location,
    pub note: Option<String>,
    pub created_at: Timestamp,
}
