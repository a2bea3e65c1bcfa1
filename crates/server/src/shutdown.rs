//! Shutting down as Redis 7.0 does: with replicas behind, writes pause and
//! the node waits up to `shutdown-timeout` seconds for them to acknowledge
//! everything (unless NOW), so a failover after a planned restart loses
//! nothing; then the final save (unless NOSAVE) and exit. SHUTDOWN,
//! SIGTERM and SIGINT all come here.

use std::time::{Duration, Instant};

use crate::replication::WaitAcks;
use crate::server::{PauseMode, PausePurpose, Server};

/// SHUTDOWN's flags, or those of `shutdown-on-sigterm|sigint`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Request {
    /// Some(true) SAVE, Some(false) NOSAVE, None: as the save points say.
    pub save: Option<bool>,
    pub now: bool,
    pub force: bool,
}

const FLAGS_ERR: &str = "argument(s) must be one of the following: default, save, nosave, now, force";

impl Request {
    /// `shutdown-on-sigint|sigterm`'s words (`default`, or `save`/`nosave`
    /// with `now` and `force`), with Redis's errors.
    pub fn parse_flags(words: &[&str]) -> Result<Request, String> {
        if words.is_empty() {
            return Err(FLAGS_ERR.into());
        }
        let mut req = Request::default();
        let (mut save, mut nosave) = (false, false);
        for w in words {
            match w.to_ascii_lowercase().as_str() {
                "default" => {}
                "save" => save = true,
                "nosave" => nosave = true,
                "now" => req.now = true,
                "force" => req.force = true,
                _ => return Err(FLAGS_ERR.into()),
            }
        }
        if save && nosave {
            return Err("shutdown options SAVE and NOSAVE can't be used simultaneously".into());
        }
        req.save = (save || nosave).then_some(save);
        Ok(req)
    }

    /// The directive's value as CONFIG GET prints it, in Redis's order.
    pub fn flags_text(&self) -> String {
        let words: Vec<&str> = [(self.save == Some(true), "save"), (self.save == Some(false), "nosave"), (self.now, "now"), (self.force, "force")]
            .iter()
            .filter(|(on, _)| *on)
            .map(|(_, w)| *w)
            .collect();
        if words.is_empty() {
            "default".into()
        } else {
            words.join(" ")
        }
    }

    /// The directive's stored (already validated) value.
    pub fn from_flags(flags: &str) -> Request {
        Request::parse_flags(&flags.split(' ').collect::<Vec<_>>()).unwrap_or_default()
    }

    /// Whether the final save happens: as asked, else if save points are set.
    pub fn saves(&self, server: &Server) -> bool {
        self.save.unwrap_or_else(|| !server.config.read().save.is_empty())
    }
}

/// Whether SHUTDOWN must wait for replicas first.
pub fn must_wait(server: &Server, req: Request) -> bool {
    !req.now && timeout(server) > Duration::ZERO && lagging(server) > 0
}

fn timeout(server: &Server) -> Duration {
    Duration::from_secs(server.config.read().shutdown_timeout)
}

/// Online replicas that have not acknowledged the whole log.
fn lagging(server: &Server) -> usize {
    let repl = &server.repl;
    if repl.is_replica() {
        return 0;
    }
    online(server).saturating_sub(repl.acked_at_least(repl.offset()))
}

fn online(server: &Server) -> usize {
    server.repl.replicas.lock().values().filter(|r| r.state() == ferrokv_replication::ReplicaState::Online).count()
}

/// Pauses writes and waits, up to `shutdown-timeout`, for every online
/// replica to acknowledge the log; logs the ones still behind. The pause
/// stays until the node stops, or `resume` if the shutdown then fails.
pub async fn wait_for_replicas(server: &Server) {
    let timeout = timeout(server);
    let deadline = Instant::now() + timeout;
    server.pause.hold(PausePurpose::Shutdown, deadline, PauseMode::Write);
    tracing::info!("Waiting for replicas before shutting down.");
    let repl = &server.repl;
    let offset = repl.offset();
    let replicas = online(server);
    repl.request_acks();
    crate::replication::wait_acks(server, WaitAcks { offset, replicas, deadline: Some(deadline) }).await;
    for r in repl.replicas.lock().values() {
        let acked = r.ack_offset();
        if acked < offset {
            tracing::warn!("Lagging replica {}:{} reported offset {acked} behind master, lag={}, state={}.", r.ip, r.port, r.lag_secs(), r.state().name());
        }
    }
}

/// After a shutdown that failed (the final save): writes flow again.
pub fn resume(server: &Server) {
    server.pause.release(PausePurpose::Shutdown);
}

/// The final save and the stop of every later command; false (and the
/// node keeps running) when the save failed without FORCE.
pub fn finish(server: &Server, req: Request) -> bool {
    let mut ks = server.store.exclusive();
    crate::persistence::snapshot::final_save(server, &mut ks, req.saves(server), req.force)
}

/// SIGTERM/SIGINT: wait, save, stop (on a blocking thread for the save).
pub async fn on_signal(server: &std::sync::Arc<Server>, req: Request) -> bool {
    if must_wait(server, req) {
        wait_for_replicas(server).await;
    }
    let s = server.clone();
    let stopped = tokio::task::spawn_blocking(move || finish(&s, req)).await.unwrap_or(true);
    if !stopped {
        resume(server);
    }
    stopped
}
