//! FAILOVER (Redis 6.2+): a coordinated switch-over from this primary to
//! one of its replicas, losing no acknowledged write by construction.
//!
//! ```text
//! no-failover ─FAILOVER→ waiting-for-sync: writes paused, GETACK; wait for
//!   │                    the target (or any replica) to ack our offset
//!   │                      ├─ timeout without FORCE → abort
//!   │                      └─ synced (or timeout with FORCE) →
//!   │                  failover-in-progress: follow the target with
//!   │                    PSYNC … FAILOVER (it promotes itself, then we
//!   │                    continue partially as its replica)
//!   │                      ├─ accepted → no-failover, writes resume (they
//!   │                      │   are now refused: we are a replica)
//!   └──────────────────────┴─ refused / timeout / FAILOVER ABORT → back to
//!                              primary, writes resume
//! ```

use std::sync::Arc;
use std::time::{Duration, Instant};

use parking_lot::Mutex;
use tokio::sync::Notify;

use crate::server::{PauseMode, PausePurpose, Server};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Phase {
    None,
    WaitForSync,
    InProgress,
}

impl Phase {
    /// INFO's `master_failover_state`.
    pub fn name(self) -> &'static str {
        match self {
            Phase::None => "no-failover",
            Phase::WaitForSync => "waiting-for-sync",
            Phase::InProgress => "failover-in-progress",
        }
    }
}

/// What FAILOVER asked for.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Request {
    pub target: Option<(String, u16)>,
    pub timeout: Option<Duration>,
    pub force: bool,
}

/// The node's failover state.
pub struct Failover {
    phase: Mutex<Phase>,
    /// The running failover's own abort signal: a FAILOVER ABORT that
    /// lands as one run ends can only reach that run, never the next.
    abort: Mutex<Arc<Notify>>,
}

impl Default for Failover {
    fn default() -> Self {
        Failover { phase: Mutex::new(Phase::None), abort: Mutex::new(Arc::new(Notify::new())) }
    }
}

impl Failover {
    pub fn phase(&self) -> Phase {
        *self.phase.lock()
    }

    fn set(&self, phase: Phase) {
        *self.phase.lock() = phase;
    }
}

/// Starts a failover (the command checked the request): pauses writes and
/// runs it in the background.
pub fn start(server: &Arc<Server>, req: Request) {
    match &req.target {
        Some((host, port)) => tracing::info!("FAILOVER requested to {host}:{port}."),
        None => tracing::info!("FAILOVER requested to any replica."),
    }
    server.failover.set(Phase::WaitForSync);
    // Writes stay paused until the failover ends, however it ends.
    server.pause.hold(PausePurpose::Failover, Instant::now() + Duration::from_secs(365 * 24 * 3600), PauseMode::Write);
    let abort = Arc::new(Notify::new());
    *server.failover.abort.lock() = abort.clone();
    let server = server.clone();
    tokio::spawn(async move {
        let deadline = req.timeout.map(|t| tokio::time::Instant::now() + t);
        run(&server, req, deadline, &abort).await;
        server.failover.set(Phase::None);
        server.pause.release(PausePurpose::Failover);
    });
}

/// FAILOVER ABORT.
pub fn abort(server: &Server) -> bool {
    if server.failover.phase() == Phase::None {
        return false;
    }
    server.failover.abort.lock().notify_one();
    true
}

async fn run(server: &Arc<Server>, req: Request, deadline: Option<tokio::time::Instant>, abort: &Notify) {
    let name = |t: &Option<(String, u16)>| t.as_ref().map_or("any replica".to_string(), |(h, p)| format!("{h}:{p}"));
    let aborted = |target: &Option<(String, u16)>, why: &str| tracing::info!("FAILOVER to {} aborted: {why}", name(target));
    server.repl.request_acks();
    let target = loop {
        let acked = server.repl.acked.notified();
        tokio::pin!(acked);
        acked.as_mut().enable();
        if let Some(t) = synced_target(server, &req.target) {
            tracing::info!("Failover target {}:{} is synced, failing over.", t.0, t.1);
            break t;
        }
        tokio::select! {
            _ = acked => {}
            _ = abort.notified() => return aborted(&req.target, "Failover manually aborted"),
            _ = sleep_until(deadline) => match (&req.target, req.force) {
                (Some(t), true) => {
                    tracing::info!("FAILOVER to {}:{} time out exceeded, failing over.", t.0, t.1);
                    break t.clone();
                }
                _ => return aborted(&req.target, "Replica never caught up before timeout"),
            },
            // Replicas come and go: look again now and then.
            _ = tokio::time::sleep(Duration::from_millis(100)) => {}
        }
    };
    server.failover.set(Phase::InProgress);
    let (tx, rx) = tokio::sync::oneshot::channel();
    crate::replication::follow(server, target.0.clone(), target.1, Some(tx));
    let target = Some(target);
    let why = tokio::select! {
        answer = rx => match answer {
            Ok(Ok(())) => return,
            _ => "Failover target rejected psync request",
        },
        _ = abort.notified() => "Failover manually aborted",
        _ = sleep_until(deadline) => "Failover target did not answer before timeout",
    };
    aborted(&target, why);
    // Back to being the primary, as Redis's abortFailover.
    crate::replication::promote(server);
}

/// The replica to fail over to, once it has acked everything we have: the
/// one named, or any.
fn synced_target(server: &Server, target: &Option<(String, u16)>) -> Option<(String, u16)> {
    let offset = server.repl.offset();
    let replicas = server.repl.replicas.lock();
    replicas.values().find(|r| target.as_ref().is_none_or(|(h, p)| r.ip == *h && r.port == *p) && r.ack_offset() == offset).map(|r| (r.ip.clone(), r.port))
}

async fn sleep_until(deadline: Option<tokio::time::Instant>) {
    match deadline {
        Some(d) => tokio::time::sleep_until(d).await,
        None => std::future::pending().await,
    }
}

/// Whether a replica at `host:port` is attached, and online.
pub fn replica_state(server: &Server, host: &str, port: u16) -> Option<bool> {
    let replicas = server.repl.replicas.lock();
    replicas.values().find(|r| r.ip == host && r.port == port).map(|r| r.state() == ferrokv_replication::ReplicaState::Online)
}
