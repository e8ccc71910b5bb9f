//! The HTTP listener: hyper's HTTP/1.1 connections over Warden's own accept
//! loop, which bounds what a client can hold.
//!
//! - **Timeouts** per connection phase: a new connection must send its
//!   headers within `header_timeout`, a kept-alive one may wait
//!   `idle_timeout` for its next request (then `header_timeout` from its
//!   first byte), and a request's body must arrive within `body_timeout` of
//!   its headers (then `408` and the connection closes). Idle and
//!   half-sent connections are simply closed.
//! - **A connection limit**: at `max_connections`, a new connection closes
//!   the longest-waiting connection that has no request being handled (an
//!   idle one, or one still sending headers or a body: nothing of theirs has
//!   been acted on), or is itself closed at once when every connection is
//!   busy. File descriptors therefore never run out, and a health check gets
//!   through while idle or half-sent connections fill the limit.
//!
//! hyper has a header timeout but no idle or body timeout, and axum's
//! `serve` has none of the three nor a connection limit, so each
//! connection has a watchdog: the connection's I/O and its requests record
//! the phase and when it began in atomics, and the connection's task checks
//! them every quarter of the shortest timeout (no timer per request).

use std::convert::Infallible;
use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicU8, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use atomic_waker::AtomicWaker;
use axum::body::Body;
use axum::extract::ConnectInfo;
use axum::http::{header, HeaderValue, Request, Response};
use axum::response::IntoResponse;
use axum::Router;
use bytes::Bytes;
use http_body::{Body as HttpBody, Frame, SizeHint};
use hyper::body::Incoming;
use hyper_util::rt::TokioIo;
use parking_lot::Mutex;
use rustc_hash::FxHashMap;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{watch, Notify};

use crate::error::ApiError;

/// What clients may hold, from `server.*` in the configuration.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    pub max_connections: usize,
    pub header_timeout: Duration,
    pub body_timeout: Duration,
    pub idle_timeout: Duration,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_connections: 512,
            header_timeout: Duration::from_secs(10),
            body_timeout: Duration::from_secs(10),
            idle_timeout: Duration::from_secs(60),
        }
    }
}

impl Limits {
    /// How often a connection's watchdog looks: a quarter of the shortest
    /// timeout, between 25 ms and 1 s.
    fn tick(&self) -> Duration {
        (self
            .header_timeout
            .min(self.body_timeout)
            .min(self.idle_timeout)
            / 4)
        .clamp(Duration::from_millis(25), Duration::from_secs(1))
    }
}

/// Where a connection is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
enum Phase {
    /// Open, nothing received yet.
    Fresh = 0,
    /// Kept alive after a request, nothing of the next one received.
    Idle = 1,
    /// Part of a request's headers received.
    Headers = 2,
    /// Headers in, the body still arriving.
    Body = 3,
    /// A whole request is being handled.
    Working = 4,
}

impl Phase {
    fn from_u8(v: u8) -> Phase {
        match v {
            0 => Phase::Fresh,
            1 => Phase::Idle,
            2 => Phase::Headers,
            3 => Phase::Body,
            _ => Phase::Working,
        }
    }
}

/// One connection's state, shared by its I/O, its requests and its task.
struct Conn {
    phase: AtomicU8,
    /// When the phase began, in milliseconds since the server's start.
    since: AtomicU64,
    /// The request body must fail now (its timeout, or eviction).
    cut: AtomicBool,
    /// The request's reader met the cut: it failed for want of its body.
    cut_seen: AtomicBool,
    /// Chosen to make room; its task closes it.
    evicting: AtomicBool,
    body_waker: AtomicWaker,
    evict: Notify,
}

impl Conn {
    fn phase(&self) -> Phase {
        Phase::from_u8(self.phase.load(Ordering::Acquire))
    }

    fn set(&self, phase: Phase, now: u64) {
        self.since.store(now, Ordering::Relaxed);
        self.phase.store(phase as u8, Ordering::Release);
    }

    /// Fails the body being read, waking its reader.
    fn cut_body(&self) {
        self.cut.store(true, Ordering::Release);
        self.body_waker.wake();
    }
}

/// What every connection shares.
struct Shared {
    start: Instant,
    limits: Limits,
    conns: Mutex<FxHashMap<u64, Arc<Conn>>>,
    /// Signalled when a connection ends (for shutdown).
    ended: Notify,
}

impl Shared {
    fn now(&self) -> u64 {
        self.start.elapsed().as_millis() as u64
    }

    /// Makes room for one more connection: picks the connection waiting
    /// longest in a phase where nothing has been acted on (fresh, idle,
    /// sending headers, then sending a body) and tells it to close.
    fn evict_one(&self) -> bool {
        let conns = self.conns.lock();
        let victim = conns
            .values()
            .filter(|c| !c.evicting.load(Ordering::Relaxed))
            .filter_map(|c| {
                let p = c.phase();
                (p != Phase::Working)
                    .then(|| ((p == Phase::Body, c.since.load(Ordering::Relaxed)), c))
            })
            .min_by_key(|(k, _)| *k)
            .map(|(_, c)| c.clone());
        drop(conns);
        match victim {
            Some(c) => {
                c.evicting.store(true, Ordering::Relaxed);
                if c.phase() == Phase::Body {
                    c.cut_body();
                }
                c.evict.notify_one();
                metrics::counter!("warden_http_connections_evicted_total").increment(1);
                true
            }
            None => false,
        }
    }
}

/// Serves `app` on `listener` until `shutdown` completes, then stops
/// accepting, closes connections that are not handling a request, lets the
/// others finish and returns when all are closed.
pub async fn serve(
    listener: TcpListener,
    app: Router,
    limits: Limits,
    shutdown: impl Future<Output = ()> + Send,
) -> io::Result<()> {
    let shared = Arc::new(Shared {
        start: Instant::now(),
        limits,
        conns: Mutex::new(FxHashMap::default()),
        ended: Notify::new(),
    });
    let (stop_tx, stop_rx) = watch::channel(false);
    let mut http = hyper::server::conn::http1::Builder::new();
    // Headers beyond 64 KiB are refused (431): half-sent headers are what a
    // connection may hold in memory until its header timeout.
    http.max_buf_size(64 * 1024).keep_alive(true);
    let http = Arc::new(http);
    let mut next_id = 0u64;
    let mut last_accept_error: Option<Instant> = None;
    tokio::pin!(shutdown);
    loop {
        let (tcp, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(a) => a,
                Err(e) => {
                    // Out of file descriptors (EMFILE) or similar: say so at
                    // most once a second, and try again shortly.
                    if last_accept_error.is_none_or(|t| t.elapsed() > Duration::from_secs(1)) {
                        tracing::error!(error = %e, "cannot accept an HTTP connection (is `ulimit -n` above server.max_connections?)");
                        last_accept_error = Some(Instant::now());
                    }
                    tokio::time::sleep(Duration::from_millis(10)).await;
                    continue;
                }
            },
            _ = &mut shutdown => break,
        };
        let open = shared.conns.lock().len();
        if open >= limits.max_connections && !shared.evict_one() {
            metrics::counter!("warden_http_connections_refused_total").increment(1);
            drop(tcp);
            continue;
        }
        // Answers are small single writes: never hold them back (Nagle).
        if let Err(e) = tcp.set_nodelay(true) {
            tracing::debug!(error = %e, "cannot set TCP_NODELAY");
        }
        let conn = Arc::new(Conn {
            phase: AtomicU8::new(Phase::Fresh as u8),
            since: AtomicU64::new(shared.now()),
            cut: AtomicBool::new(false),
            cut_seen: AtomicBool::new(false),
            evicting: AtomicBool::new(false),
            body_waker: AtomicWaker::new(),
            evict: Notify::new(),
        });
        let id = next_id;
        next_id += 1;
        {
            let mut conns = shared.conns.lock();
            conns.insert(id, conn.clone());
            metrics::gauge!("warden_http_connections").set(conns.len() as f64);
        }
        let (shared, app, http, stop) =
            (shared.clone(), app.clone(), http.clone(), stop_rx.clone());
        tokio::spawn(async move {
            connection(tcp, peer, app, &http, conn, &shared, stop).await;
            {
                let mut conns = shared.conns.lock();
                conns.remove(&id);
                metrics::gauge!("warden_http_connections").set(conns.len() as f64);
            }
            shared.ended.notify_waiters();
        });
    }
    drop(listener);
    let _ = stop_tx.send(true);
    loop {
        let ended = shared.ended.notified();
        if shared.conns.lock().is_empty() {
            return Ok(());
        }
        ended.await;
    }
}

/// Why a connection's watchdog closed it.
fn timeout_metric(phase: Phase) {
    let which = match phase {
        Phase::Fresh | Phase::Headers => "header",
        Phase::Idle => "idle",
        Phase::Body => "body",
        Phase::Working => return,
    };
    metrics::counter!("warden_http_timeouts_total", "phase" => which).increment(1);
}

/// Serves one connection under its watchdog.
async fn connection(
    tcp: TcpStream,
    peer: SocketAddr,
    app: Router,
    http: &hyper::server::conn::http1::Builder,
    conn: Arc<Conn>,
    shared: &Arc<Shared>,
    mut stop: watch::Receiver<bool>,
) {
    let io = TokioIo::new(Watched {
        io: tcp,
        conn: conn.clone(),
        shared: shared.clone(),
    });
    let svc = {
        let (conn, shared) = (conn.clone(), shared.clone());
        hyper::service::service_fn(move |req: Request<Incoming>| {
            handle(req, peer, app.clone(), conn.clone(), shared.clone())
        })
    };
    let served = http.serve_connection(io, svc);
    tokio::pin!(served);
    let limits = shared.limits;
    let mut tick = tokio::time::interval(limits.tick());
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    tick.tick().await;
    let mut stopping = false;
    // Whether to finish gracefully (a response may still be in the buffer)
    // or drop the connection at once.
    let graceful = loop {
        tokio::select! {
            r = served.as_mut() => {
                if let Err(e) = r {
                    tracing::debug!(error = %e, %peer, "HTTP connection ended with an error");
                }
                return;
            }
            _ = conn.evict.notified() => {
                match conn.phase() {
                    Phase::Working => conn.evicting.store(false, Ordering::Relaxed),
                    Phase::Body => {} // the handler answers 408 and closes
                    p => break p == Phase::Idle,
                }
            }
            _ = tick.tick() => {
                let phase = conn.phase();
                let timeout = match phase {
                    Phase::Fresh | Phase::Headers => limits.header_timeout,
                    Phase::Idle => limits.idle_timeout,
                    Phase::Body => limits.body_timeout,
                    Phase::Working => continue,
                };
                let since = conn.since.load(Ordering::Relaxed);
                if shared.now().saturating_sub(since) >= timeout.as_millis() as u64 {
                    timeout_metric(phase);
                    if phase == Phase::Body {
                        if !conn.cut.load(Ordering::Acquire) {
                            conn.cut_body();
                        }
                    } else {
                        break phase == Phase::Idle;
                    }
                }
            }
            _ = stop.changed(), if !stopping => {
                stopping = true;
                match conn.phase() {
                    Phase::Body | Phase::Working => served.as_mut().graceful_shutdown(),
                    p => break p == Phase::Idle,
                }
            }
        }
    };
    if graceful {
        served.as_mut().graceful_shutdown();
        let _ = tokio::time::timeout(Duration::from_secs(1), served.as_mut()).await;
    }
}

/// One request: marks the phases, hands the request to the router with the
/// peer's address, and answers `408` (closing the connection) when its body
/// was cut.
async fn handle(
    mut req: Request<Incoming>,
    peer: SocketAddr,
    mut app: Router,
    conn: Arc<Conn>,
    shared: Arc<Shared>,
) -> Result<Response<Body>, Infallible> {
    use tower::Service;
    let whole = req.body().is_end_stream();
    conn.cut.store(false, Ordering::Release);
    conn.cut_seen.store(false, Ordering::Release);
    conn.set(
        if whole { Phase::Working } else { Phase::Body },
        shared.now(),
    );
    req.extensions_mut().insert(ConnectInfo(peer));
    let req = req.map(|inner| {
        Body::new(Guarded {
            inner,
            conn: conn.clone(),
            now: shared.clone(),
        })
    });
    let mut resp = match app.call(req).await {
        Ok(r) => r,
        Err(never) => match never {},
    };
    // Only when the handler failed for want of its body: one that acted
    // without reading it keeps its own answer.
    if conn.cut_seen.load(Ordering::Acquire) {
        resp = ApiError::RequestTimeout.into_response();
        resp.headers_mut()
            .insert(header::CONNECTION, HeaderValue::from_static("close"));
    }
    conn.set(Phase::Idle, shared.now());
    Ok(resp)
}

/// The connection's socket, noting the first byte of a request.
struct Watched {
    io: TcpStream,
    conn: Arc<Conn>,
    shared: Arc<Shared>,
}

impl AsyncRead for Watched {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let before = buf.filled().len();
        let r = Pin::new(&mut self.io).poll_read(cx, buf);
        if buf.filled().len() > before && self.conn.phase() == Phase::Idle {
            // A later request's first byte: its headers are now due. (A
            // fresh connection's are due from its opening.)
            let now = self.shared.now();
            self.conn.set(Phase::Headers, now);
        }
        r
    }
}

impl AsyncWrite for Watched {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.io).poll_write(cx, buf)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.io).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.io).poll_shutdown(cx)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.io).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.io.is_write_vectored()
    }
}

/// A request body that fails when its connection's watchdog cuts it, and
/// marks the request as whole once it has arrived.
struct Guarded {
    inner: Incoming,
    conn: Arc<Conn>,
    now: Arc<Shared>,
}

/// The error of a body cut by its timeout or to make room.
#[derive(Debug, thiserror::Error)]
#[error("the request body did not arrive in time")]
pub struct BodyCut;

impl Guarded {
    fn cut(&self) -> Poll<Option<Result<Frame<Bytes>, axum::BoxError>>> {
        self.conn.cut_seen.store(true, Ordering::Release);
        Poll::Ready(Some(Err(BodyCut.into())))
    }

    fn whole(&self) {
        if self.conn.phase() == Phase::Body {
            self.conn.set(Phase::Working, self.now.now());
        }
    }
}

impl HttpBody for Guarded {
    type Data = Bytes;
    type Error = axum::BoxError;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Self::Error>>> {
        if self.conn.cut.load(Ordering::Acquire) {
            return self.cut();
        }
        match Pin::new(&mut self.inner).poll_frame(cx) {
            Poll::Pending => {
                self.conn.body_waker.register(cx.waker());
                if self.conn.cut.load(Ordering::Acquire) {
                    return self.cut();
                }
                Poll::Pending
            }
            Poll::Ready(None) => {
                self.whole();
                Poll::Ready(None)
            }
            Poll::Ready(Some(Ok(f))) => {
                if self.inner.is_end_stream() {
                    self.whole();
                }
                Poll::Ready(Some(Ok(f)))
            }
            Poll::Ready(Some(Err(e))) => Poll::Ready(Some(Err(e.into()))),
        }
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}
