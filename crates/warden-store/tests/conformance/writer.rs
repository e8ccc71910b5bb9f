//! [`BatchWriter`] cases: the group-commit thread over the backend, through
//! its own committer where the backend has one, else through
//! `Store::append` on the runtime.

use std::sync::Arc;
use std::time::{Duration, Instant};

use std::collections::HashMap;

use warden_core::{FailureReason, Outcome};
use warden_store::{
    BatchConfig, BatchWriter, MarkStep, Store, StoreError, WriteBatch, WriterHandle, WriterStats,
};

use super::data::{event, history, profile};
use super::Fixture;

/// `n` concurrent writes of one event each for `user` (times 0..n).
fn spawn_event_writes(
    writer: &WriterHandle,
    user: &'static str,
    n: i64,
) -> Vec<tokio::task::JoinHandle<Result<(), StoreError>>> {
    (0..n)
        .map(|i| {
            let writer = writer.clone();
            tokio::spawn(async move { writer.write(vec![event(user, i)], Vec::new()).await })
        })
        .collect()
}

/// Polls the writer's counters until `done` holds; fails after `limit`.
async fn wait_for_stats(
    writer: &WriterHandle,
    limit: Duration,
    done: impl Fn(&WriterStats) -> bool,
) {
    let started = Instant::now();
    while !done(&writer.stats()) {
        assert!(
            started.elapsed() < limit,
            "waited {limit:?}: {:?}",
            writer.stats()
        );
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

/// Needs a multi-threaded runtime (4 workers).
pub async fn batch_writer_acknowledges_concurrent_writes_and_groups_them<F: Fixture>(fixture: &F) {
    let store = Arc::new(fixture.fresh().await);
    let writer = BatchWriter::spawn(Arc::clone(&store), BatchConfig::default()).unwrap();

    const TASKS: usize = 50;
    const PER_TASK: usize = 40;
    let mut tasks = Vec::new();
    for t in 0..TASKS {
        let writer = writer.clone();
        tasks.push(tokio::spawn(async move {
            for i in 0..PER_TASK {
                let user = format!("user{t}");
                let e = event(&user, i as i64);
                let p = profile(&user, &(i as u32).to_le_bytes(), i as i64);
                writer.write(vec![e], vec![p]).await.unwrap();
            }
        }));
    }
    for t in tasks {
        t.await.unwrap();
    }

    let stats = writer.stats();
    assert_eq!(stats.events, (TASKS * PER_TASK) as u64);
    assert_eq!(stats.profiles, (TASKS * PER_TASK) as u64);
    assert_eq!(stats.failed_batches, 0);
    assert!(stats.batches >= 1);
    assert!(
        stats.batches < (TASKS * PER_TASK) as u64 / 4,
        "writes were grouped: {stats:?}"
    );
    assert!(stats.last_batch_rows >= 2);

    // Acknowledged means stored: read back without flushing.
    for t in 0..TASKS {
        let user = format!("user{t}");
        let got = store.history(&user, history(None, 1000)).await.unwrap();
        assert_eq!(got.len(), PER_TASK, "{user}");
        let p = store.load_profile(&user).await.unwrap().unwrap();
        assert_eq!(p.blob, (PER_TASK as u32 - 1).to_le_bytes());
    }
    writer.close().await;
    assert!(writer.is_closed());
}

/// Needs a multi-threaded runtime (2 workers).
pub async fn close_drains_queued_writes_and_refuses_new_ones<F: Fixture>(fixture: &F) {
    let store = Arc::new(fixture.fresh().await);
    // A long delay: without close the writes would linger for a minute.
    let config = BatchConfig {
        max_batch: 100_000,
        max_delay: Duration::from_secs(60),
    };
    let writer = BatchWriter::spawn(Arc::clone(&store), config).unwrap();
    let started = Instant::now();
    let tasks = spawn_event_writes(&writer, "drain", 200);
    // Wait until all 200 writes are with the writer: in its lingering batch
    // or queued behind it (a lingering writer does not take new writes
    // before the delay ends).
    wait_for_stats(&writer, Duration::from_secs(30), |s| {
        s.in_batch + s.queued >= 200
    })
    .await;
    assert_eq!(writer.stats().batches, 0, "still lingering");

    writer.close().await;
    for t in tasks {
        t.await.unwrap().unwrap();
    }
    assert!(started.elapsed() < Duration::from_secs(30));
    let got = store.history("drain", history(None, 1000)).await.unwrap();
    assert_eq!(got.len(), 200);
    let stats = writer.stats();
    assert_eq!((stats.events, stats.in_batch), (200, 0));

    let err = writer
        .write(vec![event("late", 1)], Vec::new())
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::WriterClosed), "{err:?}");
    assert!(matches!(
        writer.flush().await,
        Err(StoreError::WriterClosed)
    ));
    writer.close().await; // harmless twice
}

/// Needs a multi-threaded runtime (2 workers).
pub async fn a_full_queue_ends_the_linger<F: Fixture>(fixture: &F) {
    let store = Arc::new(fixture.fresh().await);
    // A minute's delay, but batches of at most 10 rows.
    let config = BatchConfig {
        max_batch: 10,
        max_delay: Duration::from_secs(60),
    };
    let writer = BatchWriter::spawn(Arc::clone(&store), config).unwrap();
    let tasks = spawn_event_writes(&writer, "full", 25);
    // The first write lingers alone until the queue behind it holds ten;
    // at least two full batches commit long before the minute is over.
    wait_for_stats(&writer, Duration::from_secs(20), |s| s.events >= 20).await;
    let stats = writer.stats();
    assert!(stats.batches >= 2, "{stats:?}");
    assert!(stats.last_batch_rows <= 11, "{stats:?}");
    writer.close().await;
    for t in tasks {
        t.await.unwrap().unwrap();
    }
    assert_eq!(
        store
            .history("full", history(None, 100))
            .await
            .unwrap()
            .len(),
        25
    );
}

/// Needs the single-threaded runtime: the sleep is what hands the write
/// to the writer.
pub async fn flush_waits_for_earlier_writes<F: Fixture>(fixture: &F) {
    let store = Arc::new(fixture.fresh().await);
    let config = BatchConfig {
        max_batch: 1_000,
        max_delay: Duration::from_secs(60),
    };
    let writer = BatchWriter::spawn(Arc::clone(&store), config).unwrap();
    let w = writer.clone();
    let pending = tokio::spawn(async move { w.write(vec![event("f", 1)], Vec::new()).await });
    // On this single-threaded runtime the sleep lets the write reach the
    // writer, which then lingers with it.
    tokio::time::sleep(Duration::from_millis(50)).await;
    assert_eq!(writer.stats().batches, 0, "still lingering");
    tokio::time::timeout(Duration::from_secs(10), writer.flush())
        .await
        .expect("flush does not wait for max_delay")
        .unwrap();
    assert_eq!(writer.stats().batches, 1);
    tokio::time::timeout(Duration::from_secs(1), pending)
        .await
        .expect("the write was acknowledged with the flush")
        .unwrap()
        .unwrap();
    assert_eq!(
        store.history("f", history(None, 10)).await.unwrap().len(),
        1
    );
    writer.close().await;
}

/// Needs a multi-threaded runtime (2 workers).
pub async fn a_failed_batch_reports_the_error_to_every_caller<F: Fixture>(fixture: &F) {
    let store = Arc::new(fixture.fresh().await);
    let config = BatchConfig {
        max_batch: 10_000,
        max_delay: Duration::from_millis(200),
    };
    let writer = BatchWriter::spawn(Arc::clone(&store), config).unwrap();

    // Make every insert fail: the table is gone.
    fixture.exec(&store, "DROP TABLE login_events").await;

    let mut tasks = Vec::new();
    for i in 0..20 {
        let writer = writer.clone();
        tasks.push(tokio::spawn(async move {
            writer
                .write(
                    vec![event("x", i)],
                    vec![profile(&format!("p{i}"), b"1", i)],
                )
                .await
        }));
    }
    for t in tasks {
        let err = t.await.unwrap().unwrap_err();
        match err {
            StoreError::BatchFailed { rows, source } => {
                assert!(rows >= 2);
                assert!(fixture.is_append_failure(&source), "{source:?}");
            }
            other => panic!("expected BatchFailed, got {other:?}"),
        }
    }
    let stats = writer.stats();
    assert!(stats.failed_batches >= 1);
    assert_eq!(stats.events, 0);
    // The transaction rolled back: no profile of a failed batch was stored.
    assert!(store.load_profiles().await.unwrap().is_empty());
    writer.close().await;
}

/// The newest event each stored snapshot has learned from, by user.
async fn through_by_user<S: Store>(store: &S) -> HashMap<String, i64> {
    store
        .load_profiles()
        .await
        .unwrap()
        .into_iter()
        .map(|p| (p.user, p.through_event))
        .collect()
}

/// A snapshot is stored with the id of the last event queued before it,
/// within a batch (writes interleave events and snapshots) and across
/// batches; a flush's mark steps move the replay mark to where the flush
/// began, and only once its end is committed; `successes_after` reads the
/// successful logins after an id, oldest first.
pub async fn snapshots_record_the_last_event_before_them_and_a_complete_flush_moves_the_mark<
    F: Fixture,
>(
    fixture: &F,
) {
    let store = Arc::new(fixture.fresh().await);
    assert_eq!(store.replay_mark().await.unwrap(), 0, "a new database");
    // One batch as the writer builds it from four writes (event ids 1..=3).
    let mut batch = WriteBatch::default();
    batch.push(
        vec![event("a", 1), event("b", 2)],
        vec![profile("a", b"a1", 1)],
        None,
    );
    batch.push(Vec::new(), Vec::new(), Some(MarkStep::Begin));
    batch.push(vec![event("c", 3)], vec![profile("c", b"c1", 3)], None);
    batch.push(Vec::new(), vec![profile("b", b"b1", 2)], None);
    store.append(&batch).await.unwrap();
    let through = through_by_user(store.as_ref()).await;
    assert_eq!(through["a"], 2, "a's snapshot came after events 1 and 2");
    assert_eq!(through["c"], 3);
    assert_eq!(through["b"], 3, "b's snapshot came after event 3");
    assert_eq!(
        store.replay_mark().await.unwrap(),
        0,
        "the flush is not complete"
    );

    // Through the writer thread, across batches.
    let writer = BatchWriter::spawn(Arc::clone(&store), BatchConfig::default()).unwrap();
    let mut failed = event("d", 4);
    failed.outcome = Outcome::Failure(FailureReason::WrongPassword);
    writer
        .write(vec![failed, event("d", 5)], vec![profile("d", b"d1", 5)])
        .await
        .unwrap();
    writer
        .submit_marked(Vec::new(), vec![profile("a", b"a2", 6)], None)
        .unwrap()
        .await
        .unwrap();
    writer
        .submit_marked(Vec::new(), Vec::new(), Some(MarkStep::End))
        .unwrap()
        .await
        .unwrap();
    let through = through_by_user(store.as_ref()).await;
    assert_eq!(through["d"], 5);
    assert_eq!(
        through["a"], 5,
        "no event came between d's write and a's snapshot"
    );
    assert_eq!(
        store.replay_mark().await.unwrap(),
        2,
        "the mark is where the completed flush began"
    );

    let ids = |events: Vec<warden_store::LoginEvent>| -> Vec<(i64, String)> {
        events
            .into_iter()
            .map(|e| (e.id.unwrap(), e.user))
            .collect()
    };
    assert_eq!(
        ids(store.successes_after(2, 10).await.unwrap()),
        [(3, "c".to_string()), (5, "d".to_string())],
        "failures are left out"
    );
    assert_eq!(
        ids(store.successes_after(0, 2).await.unwrap()),
        [(1, "a".to_string()), (2, "b".to_string())]
    );
    writer.close().await;
}
