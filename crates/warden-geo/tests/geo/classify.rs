//! Datacenter, anonymizer and organisation-range classification.

use warden_core::AnonymizerKind;
use warden_geo::{GeoError, IpIntel, LineError};

use crate::support::*;

#[test]
fn datacenter_from_the_builtin_list() {
    let dir = tempdir();
    let (v4, v6) = write_asn(dir.path());
    let intel = IpIntel::builder().asn_csv(v4, v6).build().unwrap();
    // AS16509 (Amazon) is on the shipped list.
    let aws = intel.lookup(ip("1.2.5.5"));
    assert_eq!(aws.network.asn, Some(16509));
    assert_eq!(
        aws.network.organisation.as_deref(),
        Some("Amazon.com, Inc.")
    );
    assert!(aws.network.datacenter);
    // Alibaba Cloud over IPv6.
    assert!(intel.lookup(ip("2400:3200::1")).network.datacenter);
    // Chinanet (AS4134) is an eyeball network.
    let home = intel.lookup(ip("1.2.3.4"));
    assert_eq!(home.network.asn, Some(4134));
    assert!(!home.network.datacenter);
    // No ASN known: not a datacenter.
    let none = intel.lookup(ip("9.9.9.9"));
    assert_eq!(none.network.asn, None);
    assert!(!none.network.datacenter);
}

#[test]
fn datacenter_from_configured_extras() {
    let dir = tempdir();
    let (v4, v6) = write_asn(dir.path());
    let intel = IpIntel::builder()
        .asn_csv(&v4, &v6)
        .extra_datacenter_asns([4134, 37148])
        .build()
        .unwrap();
    assert!(intel.lookup(ip("1.2.3.4")).network.datacenter);
    assert!(intel.lookup(ip("2c0f:f248::1")).network.datacenter);
    assert!(intel.is_datacenter_asn(16509));

    let only_extras = IpIntel::builder()
        .asn_csv(&v4, &v6)
        .without_builtin_datacenter_list()
        .extra_datacenter_asns([4134])
        .build()
        .unwrap();
    assert!(only_extras.lookup(ip("1.2.3.4")).network.datacenter);
    assert!(!only_extras.lookup(ip("1.2.5.5")).network.datacenter);
    let stats = only_extras.describe();
    assert_eq!((stats.datacenter_asns, stats.datacenter_builtin), (1, 0));
}

#[test]
fn anonymizer_files_with_single_ips_comments_and_both_families() {
    let dir = tempdir();
    let tor = dir.path().join("tor-exits.txt");
    std::fs::write(
        &tor,
        "# Tor exit nodes\n185.220.101.1\n\n185.220.101.7   # relay-7\n2a0b:f4c2::/32\n",
    )
    .unwrap();
    let vpn = dir.path().join("vpn.txt");
    std::fs::write(
        &vpn,
        "# commercial VPNs\n198.51.100.0/24\n185.220.101.0/24\n",
    )
    .unwrap();
    let intel = IpIntel::builder()
        .anonymizer_file(&tor, AnonymizerKind::Tor)
        .anonymizer_file(&vpn, AnonymizerKind::Vpn)
        .anonymizer_net("203.0.113.64/26".parse().unwrap(), AnonymizerKind::Proxy)
        .build()
        .unwrap();
    let kind = |a: &str| intel.lookup(ip(a)).network.anonymizer;
    assert_eq!(kind("185.220.101.1"), Some(AnonymizerKind::Tor));
    assert_eq!(kind("185.220.101.7"), Some(AnonymizerKind::Tor));
    // The rest of the /24 is the VPN list's (longest prefix wins).
    assert_eq!(kind("185.220.101.2"), Some(AnonymizerKind::Vpn));
    assert_eq!(kind("198.51.100.200"), Some(AnonymizerKind::Vpn));
    assert_eq!(kind("2a0b:f4c2:1::1"), Some(AnonymizerKind::Tor));
    assert_eq!(kind("::ffff:185.220.101.1"), Some(AnonymizerKind::Tor));
    assert_eq!(kind("203.0.113.100"), Some(AnonymizerKind::Proxy));
    assert_eq!(kind("203.0.113.1"), None);
    assert_eq!(kind("8.8.8.8"), None);

    let stats = intel.describe();
    assert_eq!(stats.anonymizer_lists.len(), 2);
    assert_eq!(stats.anonymizer_lists[0].entries, 3);
    assert_eq!(stats.anonymizer_lists[0].kind, AnonymizerKind::Tor);
    assert_eq!(stats.anonymizer_networks, 6);
}

#[test]
fn a_bad_anonymizer_line_is_an_error_with_its_line() {
    let dir = tempdir();
    let list = dir.path().join("proxies.txt");
    std::fs::write(&list, "# list\n192.0.2.1\n192.0.2.0/24\nnot-an-ip\n").unwrap();
    let err = IpIntel::builder()
        .anonymizer_file(&list, AnonymizerKind::Proxy)
        .build()
        .unwrap_err();
    match &err {
        GeoError::BadLine { line, kind, .. } => {
            assert_eq!(*line, 4);
            assert_eq!(
                *kind,
                LineError::BadCidr {
                    value: "not-an-ip".into()
                }
            );
        }
        other => panic!("unexpected {other:?}"),
    }
    assert!(err.to_string().contains("proxies.txt:4:"), "{err}");

    let missing = IpIntel::builder()
        .anonymizer_file(dir.path().join("absent.txt"), AnonymizerKind::Tor)
        .build()
        .unwrap_err();
    assert!(matches!(missing, GeoError::Io { .. }));
}

#[test]
fn organisation_ranges_name_the_office() {
    let intel = IpIntel::builder()
        .org_range("hq-egress", "203.0.113.0/24".parse().unwrap())
        .org_range("corp-vpn", "203.0.113.128/28".parse().unwrap())
        .org_range("office-v6", "2001:db8:42::/48".parse().unwrap())
        .build()
        .unwrap();
    let range = |a: &str| intel.lookup(ip(a)).network.org_range;
    assert_eq!(range("203.0.113.1").as_deref(), Some("hq-egress"));
    assert_eq!(range("203.0.113.130").as_deref(), Some("corp-vpn"));
    assert_eq!(range("::ffff:203.0.113.130").as_deref(), Some("corp-vpn"));
    assert_eq!(range("2001:db8:42:1::1").as_deref(), Some("office-v6"));
    assert_eq!(range("203.0.114.1"), None);
    assert_eq!(intel.describe().org_ranges, 3);
}
