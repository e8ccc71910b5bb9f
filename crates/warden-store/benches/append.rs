//! Rows per second through the group-commit `BatchWriter` into a SQLite file
//! in a temporary directory, with many concurrent callers (like the HTTP
//! layer under load). Criterion reports the rate as elements per second,
//! one element being one login (an event, plus its profile snapshot in the
//! second case).

use std::sync::Arc;
use std::time::{Duration, Instant};

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use warden_core::{Decision, Level, Outcome, Protocol, ReasonCode, Timestamp};
use warden_store::{
    BatchConfig, BatchWriter, LoginEvent, ProfileSnapshot, SqliteStore, Store, WriterHandle,
};

/// Logins written per measured iteration.
const LOGINS: usize = 10_000;
/// Concurrent callers sharing the writer.
const CALLERS: usize = 256;
/// Distinct users the logins are spread over.
const USERS: usize = 5_000;

fn login(i: usize) -> LoginEvent {
    LoginEvent {
        id: None,
        ts: Timestamp(1_700_000_000 + i as i64),
        user: format!("user{}@example.com", i % USERS),
        ip: std::net::IpAddr::from([10, (i >> 16) as u8, (i >> 8) as u8, i as u8]),
        protocol: Protocol::ALL[i % Protocol::ALL.len()],
        outcome: Outcome::Success,
        device: Some(format!("device-{}", i % 7)),
        user_agent: Some("Mozilla/5.0 (Windows NT 10.0; Win64; x64) Thunderbird/128.0".into()),
        country: warden_core::Country::new("CN").ok(),
        region: Some("Guangdong".into()),
        city: Some("Shenzhen".into()),
        asn: Some(4134),
        decision: Decision::Allow,
        risk: 0.12,
        level: Level::Low,
        alert: false,
        reasons: vec![ReasonCode::NewDevice],
        auth_reason: None,
    }
}

fn snapshot(i: usize) -> ProfileSnapshot {
    ProfileSnapshot {
        user: format!("user{}@example.com", i % USERS),
        blob: vec![i as u8; 512],
        updated_at: Timestamp(1_700_000_000 + i as i64),
        through_event: 0,
    }
}

/// Writes `LOGINS` logins from `CALLERS` tasks and returns the elapsed time.
async fn run_once(writer: &WriterHandle, with_profiles: bool) -> Duration {
    let start = Instant::now();
    let mut tasks = Vec::with_capacity(CALLERS);
    for c in 0..CALLERS {
        let writer = writer.clone();
        tasks.push(tokio::spawn(async move {
            let mut i = c;
            while i < LOGINS {
                let profiles = if with_profiles {
                    vec![snapshot(i)]
                } else {
                    Vec::new()
                };
                writer.write(vec![login(i)], profiles).await.expect("write");
                i += CALLERS;
            }
        }));
    }
    for t in tasks {
        t.await.expect("caller task");
    }
    start.elapsed()
}

fn bench_append(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    let dir = tempfile::TempDir::new().expect("temp dir");
    let writer = rt.block_on(async {
        let store = SqliteStore::open(dir.path().join("bench.db"))
            .await
            .expect("open");
        store.migrate().await.expect("migrate");
        BatchWriter::spawn(Arc::new(store), BatchConfig::default()).expect("writer")
    });

    let mut group = c.benchmark_group("batch_writer");
    group.sample_size(10);
    group.measurement_time(Duration::from_secs(15));
    group.throughput(Throughput::Elements(LOGINS as u64));
    for (name, with_profiles) in [("events", false), ("events+profiles", true)] {
        group.bench_function(name, |b| {
            b.iter_custom(|iters| {
                rt.block_on(async {
                    let mut total = Duration::ZERO;
                    for _ in 0..iters {
                        total += run_once(&writer, with_profiles).await;
                    }
                    total
                })
            })
        });
    }
    group.finish();

    let stats = writer.stats();
    eprintln!(
        "writer: {} batches, {} events, {} profiles, {:.0} rows per batch on average",
        stats.batches,
        stats.events,
        stats.profiles,
        (stats.events + stats.profiles) as f64 / stats.batches.max(1) as f64
    );
    rt.block_on(writer.close());
}

criterion_group!(benches, bench_append);
criterion_main!(benches);
