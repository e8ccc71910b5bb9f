//! Bounded pools of blocking threads for the CPU-heavy steps: argon2
//! (password hashing and verification) and the rest (zxcvbn strength
//! grading, QR rendering). A step runs on tokio's blocking threads, never on
//! the request threads that evaluate logins, and a pool runs at most `size`
//! steps at once with at most `queue` more waiting; a step beyond that is
//! refused at once with [`ServiceError::Busy`] (answered 503 with
//! `Retry-After`) instead of queueing without bound. A waiting step whose
//! request goes away leaves the queue; a running one keeps its thread (and
//! its place) until it ends, so `size` really bounds the CPU a pool takes.

use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;

use tokio::sync::Semaphore;

use crate::error::ServiceError;

/// How long a refused caller is asked to wait (seconds).
pub const RETRY_AFTER_SECS: u64 = 1;

/// A pool's sizes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PoolSize {
    /// Steps running at once (threads).
    pub threads: usize,
    /// Steps waiting for a thread; more are refused.
    pub queue: usize,
}

/// What a pool holds now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PoolStats {
    pub running: usize,
    pub waiting: usize,
    /// Steps refused since start (the pool and its queue were full).
    pub rejected: u64,
}

/// A bounded pool of blocking threads (see the module doc).
#[derive(Debug)]
pub struct CpuPool {
    name: &'static str,
    what: &'static str,
    size: PoolSize,
    /// Places: running plus waiting.
    admitted: Arc<Semaphore>,
    threads: Arc<Semaphore>,
    running: Arc<AtomicUsize>,
    rejected: AtomicU64,
}

impl CpuPool {
    /// A pool called `name` (in metrics), doing `what` (in errors).
    pub fn new(name: &'static str, what: &'static str, size: PoolSize) -> Self {
        let threads = size.threads.max(1);
        let size = PoolSize {
            threads,
            queue: size.queue,
        };
        CpuPool {
            name,
            what,
            size,
            admitted: Arc::new(Semaphore::new(threads + size.queue)),
            threads: Arc::new(Semaphore::new(threads)),
            running: Arc::new(AtomicUsize::new(0)),
            rejected: AtomicU64::new(0),
        }
    }

    /// The pool's name for metrics: `hashing` or `cpu`.
    pub fn name(&self) -> &'static str {
        self.name
    }

    pub fn size(&self) -> PoolSize {
        self.size
    }

    /// Steps running and waiting now.
    pub fn stats(&self) -> PoolStats {
        let placed = self.size.threads + self.size.queue - self.admitted.available_permits();
        let running = self.running.load(Ordering::SeqCst);
        PoolStats {
            running,
            waiting: placed.saturating_sub(running),
            rejected: self.rejected.load(Ordering::Relaxed),
        }
    }

    /// Runs `f` on a blocking thread of this pool, or refuses at once with
    /// [`ServiceError::Busy`] when every thread and queue place is taken.
    pub async fn run<T: Send + 'static>(
        &self,
        f: impl FnOnce() -> T + Send + 'static,
    ) -> Result<T, ServiceError> {
        let Ok(place) = Arc::clone(&self.admitted).try_acquire_owned() else {
            self.rejected.fetch_add(1, Ordering::Relaxed);
            return Err(ServiceError::Busy {
                what: self.what,
                retry_after_secs: RETRY_AFTER_SECS,
            });
        };
        let thread = Arc::clone(&self.threads)
            .acquire_owned()
            .await
            .map_err(|_| ServiceError::Internal(format!("{} pool closed", self.what)))?;
        let running = Arc::clone(&self.running);
        running.fetch_add(1, Ordering::SeqCst);
        tokio::task::spawn_blocking(move || {
            // Held until the step ends, even if its caller goes away.
            let _held = (place, thread);
            struct Done(Arc<AtomicUsize>);
            impl Drop for Done {
                fn drop(&mut self) {
                    self.0.fetch_sub(1, Ordering::SeqCst);
                }
            }
            let _done = Done(running);
            f()
        })
        .await
        .map_err(|e| ServiceError::Internal(format!("{} failed: {e}", self.what)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::mpsc;

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_full_pool_refuses_at_once_and_takes_work_again_when_free() {
        let pool = Arc::new(CpuPool::new(
            "test",
            "the test pool",
            PoolSize {
                threads: 1,
                queue: 1,
            },
        ));
        let (release, wait) = mpsc::channel::<()>();
        let (started, is_started) = tokio::sync::oneshot::channel();
        let running = {
            let pool = pool.clone();
            tokio::spawn(async move {
                pool.run(move || {
                    started.send(()).unwrap();
                    wait.recv().unwrap();
                    1
                })
                .await
            })
        };
        is_started.await.unwrap();
        let queued = {
            let pool = pool.clone();
            tokio::spawn(async move { pool.run(|| 2).await })
        };
        while pool.stats().waiting == 0 {
            tokio::task::yield_now().await;
        }
        assert_eq!(
            pool.stats(),
            PoolStats {
                running: 1,
                waiting: 1,
                rejected: 0
            }
        );
        // Thread and queue taken: refused without waiting.
        let refused = pool.run(|| 3).await;
        assert!(
            matches!(
                refused,
                Err(ServiceError::Busy {
                    retry_after_secs: 1,
                    ..
                })
            ),
            "{refused:?}"
        );
        release.send(()).unwrap();
        assert_eq!(running.await.unwrap().unwrap(), 1);
        assert_eq!(queued.await.unwrap().unwrap(), 2);
        assert_eq!(pool.run(|| 4).await.unwrap(), 4);
        assert_eq!(
            pool.stats(),
            PoolStats {
                running: 0,
                waiting: 0,
                rejected: 1
            }
        );
    }
}
