//! Lookup latency: the `IpIntel` facade and its parts, against a fixture
//! database written with the crate's MMDB writer, and against the real
//! DB-IP / ASN files when `WARDEN_GEO_DIR` names them.
//!
//! `cargo bench -p warden-geo --bench lookup`

use std::hint::black_box;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::path::Path;

use criterion::{criterion_group, criterion_main, Criterion};
use warden_geo::mmdb_writer::DbipFixture;
use warden_geo::IpIntel;

const CITIES: [(&str, &str, &str, f64, f64); 6] = [
    ("CN", "Guangdong", "Shenzhen", 22.54, 114.06),
    ("CN", "Zhejiang", "Hangzhou", 30.27, 120.15),
    ("JP", "Tokyo", "Chiyoda City", 35.69, 139.75),
    ("GB", "England", "London", 51.51, -0.13),
    ("NG", "Lagos", "Lagos", 6.45, 3.39),
    ("US", "Virginia", "Ashburn", 39.04, -77.49),
];

/// 40 000 /24 networks (about a tenth of DB-IP's IPv4 records) and as many
/// ASN ranges, plus some IPv6.
fn write_fixture(dir: &Path) {
    let mut f = DbipFixture::new();
    let mut asn_v4 = String::new();
    for i in 0..40_000u32 {
        let base = 0x0100_0000 + i * 0x0000_0300; // every third /24
        let (cc, region, city, lat, lon) = CITIES[(i % 6) as usize];
        let net = format!("{}/24", Ipv4Addr::from(base));
        f = f.city(&net, cc, region, city, lat, lon, "");
        asn_v4.push_str(&format!(
            "{},{},{},\"Org {}, Ltd.\"\n",
            Ipv4Addr::from(base),
            Ipv4Addr::from(base + 255),
            64_512 + i % 1000,
            i % 1000
        ));
    }
    for i in 0..5_000u128 {
        let net = format!("{}/48", Ipv6Addr::from((0x2400_0000u128 << 96) | (i << 80)));
        f = f.city(
            &net,
            "CN",
            "Zhejiang",
            "Hangzhou",
            30.27,
            120.15,
            "Asia/Shanghai",
        );
    }
    f.write_pair(dir).unwrap();
    std::fs::write(dir.join("asn-ipv4.csv"), asn_v4).unwrap();
    std::fs::write(dir.join("asn-ipv6.csv"), "").unwrap();
}

/// Deterministic addresses: `n` drawn from the fixture's networks.
fn fixture_ips(n: u32) -> Vec<IpAddr> {
    (0..n)
        .map(|i| {
            let k = (i.wrapping_mul(2_654_435_761)) % 40_000;
            IpAddr::V4(Ipv4Addr::from(0x0100_0000 + k * 0x300 + (i % 250)))
        })
        .collect()
}

fn random_ips(n: usize) -> Vec<IpAddr> {
    let mut x = 0x9E37_79B9_7F4A_7C15u64;
    (0..n)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            IpAddr::V4(Ipv4Addr::from(x as u32))
        })
        .collect()
}

fn bench_cycle(c: &mut Criterion, name: &str, ips: &[IpAddr], f: impl Fn(IpAddr)) {
    let mut i = 0usize;
    c.bench_function(name, |b| {
        b.iter(|| {
            i = (i + 1) % ips.len();
            f(black_box(ips[i]));
        })
    });
}

fn fixture(c: &mut Criterion) {
    let dir = tempfile::tempdir().unwrap();
    write_fixture(dir.path());
    let intel = IpIntel::from_dir(dir.path()).unwrap();
    let ips = fixture_ips(4096);
    let city = intel.city_db().unwrap();
    bench_cycle(c, "fixture/intel_lookup_v4", &ips, |ip| {
        black_box(intel.lookup(ip));
    });
    bench_cycle(c, "fixture/city_lookup_v4", &ips, |ip| {
        black_box(city.lookup(ip).ok());
    });
    let v6: Vec<IpAddr> = (0..4096u128)
        .map(|i| {
            IpAddr::V6(Ipv6Addr::from(
                (0x2400_0000u128 << 96) | ((i % 5000) << 80) | i,
            ))
        })
        .collect();
    bench_cycle(c, "fixture/intel_lookup_v6", &v6, |ip| {
        black_box(intel.lookup(ip));
    });
    let misses: Vec<IpAddr> = (0..4096u32)
        .map(|i| IpAddr::V4(Ipv4Addr::from(0xC000_0000 + i * 977)))
        .collect();
    bench_cycle(c, "fixture/intel_lookup_absent", &misses, |ip| {
        black_box(intel.lookup(ip));
    });
}

fn real(c: &mut Criterion) {
    let Some(dir) = std::env::var_os("WARDEN_GEO_DIR") else {
        eprintln!("WARDEN_GEO_DIR not set: skipping the real-data benchmarks");
        return;
    };
    let intel = IpIntel::from_dir(&dir).unwrap();
    let city = intel.city_db().unwrap();
    let random = random_ips(1 << 16);
    bench_cycle(c, "real/intel_lookup_random_v4", &random, |ip| {
        black_box(intel.lookup(ip));
    });
    bench_cycle(c, "real/city_lookup_random_v4", &random, |ip| {
        black_box(city.lookup(ip).ok());
    });
    // A working set of a few hundred addresses, as a busy mail server has.
    let hot = random_ips(256);
    bench_cycle(c, "real/intel_lookup_hot_v4", &hot, |ip| {
        black_box(intel.lookup(ip));
    });
}

criterion_group!(benches, fixture, real);
criterion_main!(benches);
