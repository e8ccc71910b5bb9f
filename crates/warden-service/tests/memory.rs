//! Memory of the short-lived state under attacker-chosen data, measured
//! with a counting allocator (nextest runs each test in its own process,
//! so the count is this test's): evaluations with every field at its
//! longest stay within the byte cap with the oldest evicted first, and a
//! mail session costs the same whatever the length of its session id. The
//! byte estimates the metrics export are never below what is really held.

use std::alloc::{GlobalAlloc, Layout, System};
use std::net::IpAddr;
use std::sync::atomic::{AtomicIsize, Ordering};

use warden_core::domain::{MAX_DEVICE_LEN, MAX_USER_AGENT_LEN, MAX_USER_LEN};
use warden_core::{
    Assessment, Country, Decision, Evidence, IpInfo, Level, Location, LoginAttempt, Network,
    Protocol, Reason, ReasonCode, Timestamp,
};
use warden_service::shortlived::{
    MailSession, Pending, MAIL_SESSIONS_MAX_BYTES, PENDING_MAX_BYTES,
};
use warden_service::ShortLived;

struct Counting;

static ALLOCATED: AtomicIsize = AtomicIsize::new(0);

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let p = unsafe { System.alloc(layout) };
        if !p.is_null() {
            ALLOCATED.fetch_add(layout.size() as isize, Ordering::Relaxed);
        }
        p
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        let p = unsafe { System.alloc_zeroed(layout) };
        if !p.is_null() {
            ALLOCATED.fetch_add(layout.size() as isize, Ordering::Relaxed);
        }
        p
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        unsafe { System.dealloc(ptr, layout) };
        ALLOCATED.fetch_sub(layout.size() as isize, Ordering::Relaxed);
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        let p = unsafe { System.realloc(ptr, layout, new_size) };
        if !p.is_null() {
            ALLOCATED.fetch_add(
                new_size as isize - layout.size() as isize,
                Ordering::Relaxed,
            );
        }
        p
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

fn allocated() -> isize {
    ALLOCATED.load(Ordering::Relaxed)
}

/// `n` characters unique to `i`.
fn long(i: usize, n: usize) -> String {
    let mut s = format!("{i}-");
    s.push_str(&"x".repeat(n.saturating_sub(s.len())));
    s.truncate(n);
    s
}

fn place(i: usize) -> Location {
    Location {
        country: Some(Country::new("NG").unwrap()),
        region: Some(long(i, 100).into()),
        city: Some(long(i, 100).into()),
        city_zh: Some(long(i, 100).into()),
        region_zh: Some(long(i, 100).into()),
        time_zone: Some(long(i, 40).into()),
        ..Location::default()
    }
}

/// An evaluation with every client-controlled field at its longest and a
/// long list of reasons.
fn maximal(i: usize, t: i64) -> Pending {
    let ip: IpAddr = "2001:db8::1".parse().unwrap();
    // As `LoginAttempt::new` makes it, without classifying a kilobyte of
    // user agent each time (slow in a debug build).
    let attempt = LoginAttempt {
        ts: Timestamp(t),
        user: long(i, MAX_USER_LEN).into(),
        ip,
        protocol: Protocol::Imap,
        device: Some(long(i, MAX_DEVICE_LEN).into()),
        user_agent: Some(long(i, MAX_USER_AGENT_LEN).into()),
        client: Some(warden_core::client::ClientFamily {
            name: long(i, 32),
            kind: warden_core::client::ClientKind::Other,
        }),
    };
    let info = IpInfo {
        ip,
        location: place(i),
        network: Network {
            organisation: Some(long(i, 200).into()),
            org_range: Some(long(i, 100).into()),
            ..Network::default()
        },
        corrected: false,
    };
    let reason = |evidence| Reason {
        code: ReasonCode::UnusualCountry,
        weight: 0.1,
        alert: true,
        evidence,
    };
    let assessment = Assessment {
        decision: Decision::Challenge,
        risk: 0.6,
        level: Level::Medium,
        alert: true,
        reasons: vec![
            reason(Evidence::UnusualPlace {
                place: place(i),
                usual: (0..5).map(|k| place(i * 10 + k)).collect(),
                distance_km: Some(1.0),
            }),
            reason(Evidence::Device {
                device: long(i, MAX_DEVICE_LEN).into(),
            }),
            reason(Evidence::Client {
                client: long(i, 32),
                automated: false,
            }),
            reason(Evidence::Datacenter {
                asn: Some(1),
                organisation: Some(long(i, 200).into()),
            }),
        ],
    };
    Pending {
        attempt,
        ip: info,
        assessment,
        created: Timestamp(t),
    }
}

#[tokio::test]
async fn maximal_pending_evaluations_stay_within_the_byte_cap_and_the_oldest_go_first() {
    let t0 = 1_700_000_000;
    let one = {
        let before = allocated();
        let p = maximal(0, t0);
        let bytes = allocated() - before;
        drop(p);
        bytes
    };
    let s = ShortLived::memory();
    let base = allocated();
    let n = 2 * PENDING_MAX_BYTES / one as usize;
    for i in 0..n {
        s.hold_evaluation(i as u128, maximal(i, t0), Timestamp(t0))
            .await;
    }
    let held = (allocated() - base) as usize;
    let stats = s.stats();
    println!(
        "one maximal evaluation allocates {one} B; after {n}: {} held, estimated {} B, allocated {held} B (cap {PENDING_MAX_BYTES} B)",
        stats.pending, stats.pending_bytes
    );
    assert!(stats.pending_bytes <= PENDING_MAX_BYTES);
    assert!(stats.pending < n, "{}", stats.pending);
    // The estimate is not below what the map really holds (its table was
    // sized up front, so it is part of what was allocated before `base`).
    assert!(
        held <= stats.pending_bytes,
        "{held} > {}",
        stats.pending_bytes
    );
    assert!(held <= PENDING_MAX_BYTES);
    // The oldest were evicted, the newest kept.
    assert!(s.take_evaluation(0, Timestamp(t0)).await.is_none());
    assert!(s
        .take_evaluation(n as u128 - 1, Timestamp(t0))
        .await
        .is_some());
}

#[tokio::test]
async fn a_mail_session_costs_the_same_whatever_the_length_of_its_session_id() {
    let t0 = 1_700_000_000;
    let s = ShortLived::memory();
    let session = |i: usize| {
        let p = maximal(i, t0);
        MailSession {
            created: Timestamp(t0),
            attempt: p.attempt,
            info: p.ip,
            assessment: p.assessment,
            refused: None,
        }
    };
    // Warm up the table, then compare a short and a 1 MiB session id.
    /// What the state keeps of one session: its allocations, counting
    /// the key it was handed (and drops once hashed) as kept.
    async fn cost(s: &ShortLived, key: String, v: MailSession) -> isize {
        let key_bytes = key.capacity() as isize;
        let before = allocated();
        s.open_mail_session(key, v).await;
        allocated() - before + key_bytes
    }
    for i in 0..64 {
        cost(&s, long(i, 20), session(i)).await;
    }
    let short = cost(&s, long(1_000, 20), session(1_000)).await;
    let huge = cost(&s, long(1_001, 1 << 20), session(1_001)).await;
    println!("a mail session with a 20-byte id adds {short} B, with a 1 MiB id {huge} B");
    assert!(huge <= short + 64, "{huge} vs {short}");
    assert!(huge > 0);
    assert!(
        s.mail_session_open(&long(1_001, 1 << 20), Timestamp(t0))
            .await
    );
    assert!(
        !s.mail_session_open(&long(1_002, 1 << 20), Timestamp(t0))
            .await
    );
    let stats = s.stats();
    assert!(stats.mail_session_bytes <= MAIL_SESSIONS_MAX_BYTES);
    assert!(
        stats.mail_session_bytes >= 66 * short as usize / 2,
        "{stats:?}"
    );
}
