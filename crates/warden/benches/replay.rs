//! Replay throughput: a synthetic stream of 300,000 events by 300 users
//! (`synth::generate`) replayed into `io::sink()` by a fresh engine each
//! iteration, reported in events per second.
//!
//! - `replay/fixture`: a small DB-IP fixture built from the synthetic pools.
//! - `replay/real`: the real DB-IP and ASN files from the folder in
//!   `WARDEN_GEO_DIR`, when that variable is set.
//!
//! - `parse_line/synthetic`: the replay's own share, parsing and checking
//!   10,000 of those lines into attempts.
//!
//! `WARDEN_BENCH_EVENTS` overrides the stream length.

use std::hint::black_box;
use std::time::Duration;

use criterion::{Criterion, SamplingMode, Throughput};
use warden::{replay, synth};
use warden_core::Policy;
use warden_geo::mmdb_writer::DbipFixture;
use warden_geo::IpIntel;

fn fixture_intel(dir: &std::path::Path) -> IpIntel {
    let mut f = DbipFixture::new();
    for p in synth::POOLS {
        f = f.city(p.net, p.country, p.region, p.city, p.lat, p.lon, p.tz);
    }
    f.write_pair(dir).expect("writing the fixture");
    IpIntel::from_dir(dir).expect("loading the fixture")
}

fn bench(c: &mut Criterion) {
    let events: usize = std::env::var("WARDEN_BENCH_EVENTS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(300_000);
    let stream = synth::generate(300, events, 1, synth::DEFAULT_START);
    let mut input = Vec::new();
    synth::write_jsonl(&stream, &mut input).expect("writing the stream");
    drop(stream);

    let dir = tempfile::tempdir().expect("tempdir");
    let mut intels = vec![("fixture", fixture_intel(dir.path()))];
    if let Ok(real) = std::env::var("WARDEN_GEO_DIR") {
        intels.push(("real", IpIntel::from_dir(&real).expect("WARDEN_GEO_DIR")));
    }

    let mut g = c.benchmark_group("replay");
    g.throughput(Throughput::Elements(events as u64))
        .sampling_mode(SamplingMode::Flat)
        .sample_size(10)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(10));
    for (name, intel) in &intels {
        g.bench_function(*name, |b| {
            b.iter(|| {
                let s = replay::replay(&input[..], std::io::sink(), Policy::default(), intel)
                    .expect("replay");
                assert_eq!(s.errors, 0);
                black_box(s)
            })
        });
    }
    g.finish();

    // The replay's own share: parsing and checking lines into attempts.
    let lines: Vec<&str> = std::str::from_utf8(&input)
        .expect("UTF-8")
        .lines()
        .take(10_000)
        .collect();
    let mut g = c.benchmark_group("parse_line");
    g.throughput(Throughput::Elements(lines.len() as u64))
        .sample_size(20);
    g.bench_function("synthetic", |b| {
        b.iter(|| {
            for l in &lines {
                black_box(replay::parse_line(black_box(l)).expect("valid line"));
            }
        })
    });
    g.finish();
}

fn main() {
    let mut c = Criterion::default().configure_from_args();
    bench(&mut c);
    c.final_summary();
}
