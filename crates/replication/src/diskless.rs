//! Diskless full sync (`repl-diskless-sync yes`, Redis's default): the
//! snapshot streams straight to the replicas, no file in between. One
//! snapshot serves every replica that asked for a full sync while it was
//! waiting to start: it starts `repl-diskless-sync-delay` seconds after the
//! first asked, or as soon as `repl-diskless-sync-max-replicas` have. Once
//! it runs, later replicas wait for the next one. The slowest replica paces
//! the stream; one that goes away is dropped from it.

use std::io::Write;
use std::sync::Arc;
use std::time::Duration;

use bytes::{Bytes, BytesMut};
use parking_lot::Mutex;
use tokio::sync::{mpsc, Notify};

use crate::{Host, Replication};

/// What a member of a job receives.
#[derive(Debug)]
pub enum Part {
    /// The snapshot stands for `offset` of history `replid`; the member's
    /// log position is there already.
    Start {
        replid: String,
        offset: u64,
    },
    Data(Bytes),
    End,
    Failed(String),
}

/// Bytes of snapshot per message.
const CHUNK: usize = 256 * 1024;
/// Messages a member may have queued before the stream waits for it.
const QUEUE: usize = 16;

/// A diskless snapshot that replicas join until it starts.
pub struct Job {
    members: Mutex<Vec<(u64, mpsc::Sender<Part>)>>,
    joined: Notify,
}

/// Joins the pending job (starting one if none waits), returning the
/// receiver of this replica's parts. The replica's log position is held
/// from now, so nothing it will need is trimmed away meanwhile.
pub fn join(repl: &Arc<Replication>, host: &Arc<dyn Host>, id: u64, delay: Duration, max_replicas: usize) -> mpsc::Receiver<Part> {
    let (tx, rx) = mpsc::channel(QUEUE);
    repl.with_log(|log| log.hold_for_snapshot(id));
    let mut pending = repl.pending_sync.lock();
    let job = match pending.as_ref() {
        Some(job) => job.clone(),
        None => {
            let job = Arc::new(Job { members: Mutex::new(Vec::new()), joined: Notify::new() });
            *pending = Some(job.clone());
            tokio::spawn(run(repl.clone(), host.clone(), job.clone(), delay, max_replicas));
            job
        }
    };
    job.members.lock().push((id, tx));
    job.joined.notify_one();
    rx
}

/// Waits for the delay (or enough replicas), then streams one snapshot to
/// every member.
async fn run(repl: Arc<Replication>, host: Arc<dyn Host>, job: Arc<Job>, delay: Duration, max_replicas: usize) {
    let deadline = tokio::time::Instant::now() + delay;
    loop {
        if max_replicas > 0 && job.members.lock().len() >= max_replicas {
            break;
        }
        tokio::select! {
            _ = tokio::time::sleep_until(deadline) => break,
            _ = job.joined.notified() => {}
        }
    }
    // From here on, new replicas wait for the next job.
    {
        let mut pending = repl.pending_sync.lock();
        if pending.as_ref().is_some_and(|p| Arc::ptr_eq(p, &job)) {
            *pending = None;
        }
    }
    let members: Vec<(u64, mpsc::Sender<Part>)> = std::mem::take(&mut *job.members.lock());
    let senders: Vec<mpsc::Sender<Part>> = members.iter().map(|(_, tx)| tx.clone()).collect();
    tracing::info!("Starting BGSAVE for SYNC with target: replicas sockets");
    let fan = FanOut { members: senders.clone(), buf: BytesMut::with_capacity(CHUNK) };
    let r = repl.clone();
    let result = tokio::task::spawn_blocking(move || {
        host.snapshot_to(
            Box::new(fan),
            Box::new(move |offset| {
                // The instant the snapshot stands for: every member goes
                // on from its offset.
                // A replica gone meanwhile has detached: it is not attached
                // again (its position would hold the backlog for nobody).
                let live: Vec<&(u64, mpsc::Sender<Part>)> = members.iter().filter(|(_, tx)| !tx.is_closed()).collect();
                let replid = r.with_log(|log| {
                    for (id, _) in &live {
                        log.attach(*id, offset);
                    }
                    log.replid.clone()
                });
                for (_, tx) in live {
                    let _ = tx.try_send(Part::Start { replid: replid.clone(), offset });
                }
            }),
        )
    })
    .await;
    let outcome = match result {
        Ok(Ok(_)) => Part::End,
        Ok(Err(e)) => Part::Failed(e.to_string()),
        Err(e) => Part::Failed(e.to_string()),
    };
    for tx in senders {
        let part = match &outcome {
            Part::End => Part::End,
            Part::Failed(e) => Part::Failed(e.clone()),
            _ => unreachable!("an outcome is End or Failed"),
        };
        let _ = tx.send(part).await;
    }
}

/// The snapshot writer's output: each chunk to every member still there.
struct FanOut {
    members: Vec<mpsc::Sender<Part>>,
    buf: BytesMut,
}

impl FanOut {
    fn send(&mut self) -> std::io::Result<()> {
        if self.buf.is_empty() {
            return Ok(());
        }
        let chunk = self.buf.split().freeze();
        // Runs on the snapshot's writer thread: waiting here paces the
        // snapshot by its slowest replica.
        self.members.retain(|tx| tx.blocking_send(Part::Data(chunk.clone())).is_ok());
        if self.members.is_empty() {
            return Err(std::io::Error::new(std::io::ErrorKind::BrokenPipe, "every replica of the diskless sync went away"));
        }
        Ok(())
    }
}

impl Write for FanOut {
    fn write(&mut self, data: &[u8]) -> std::io::Result<usize> {
        self.buf.extend_from_slice(data);
        if self.buf.len() >= CHUNK {
            self.send()?;
        }
        Ok(data.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.send()
    }
}
