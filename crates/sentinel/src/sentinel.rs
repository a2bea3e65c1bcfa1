//! The sentinel's judgement, run every 50–100 ms over the shared state
//! (Redis's `sentinelTimer`): subjective and objective down, then the
//! failover state machine (`failover`) for every master. Network
//! work is done by the instance tasks (`monitor`) and by short tasks this
//! spawns; nothing here waits on the network.

use std::sync::Arc;
use std::time::{Duration, Instant};

use parking_lot::Mutex;
use tokio::sync::broadcast;

use crate::failover::{self, Cx};
use crate::state::{Instance, Master, Role, State, Wakes, ASK_VALIDITY, INFO_PERIOD};

const TILT_TRIGGER: Duration = Duration::from_secs(2);
const TILT_PERIOD: Duration = Duration::from_secs(30);

pub struct Sentinel {
    pub state: Mutex<State>,
    /// Events for SUBSCRIBE/PSUBSCRIBE clients: (channel, message).
    pub events: broadcast::Sender<(String, String)>,
    /// Wakes the peer links (to ask for opinions and votes at once: Redis's
    /// `SENTINEL_ASK_FORCED`) when a master goes down or we start a
    /// failover: peers that hear from us first vote for us, and the
    /// sentinels that reached ODOWN together do not each vote for
    /// themselves.
    pub wake_peers: tokio::sync::watch::Sender<u64>,
    /// Wakes the instance links to read INFO at once: after SLAVEOF was
    /// sent, a promotion or a re-pointed replica is seen as soon as it
    /// happened instead of on the next INFO poll.
    pub wake_links: tokio::sync::watch::Sender<u64>,
    /// Runs the timer at once: a vote or a promotion arrived, so the next
    /// failover step need not wait for the next 50–100 ms period.
    pub wake_timer: tokio::sync::watch::Sender<u64>,
    /// Publishes a hello on every node at once: the primary changed.
    pub wake_hello: tokio::sync::watch::Sender<u64>,
    pub security: Security,
    /// Users of the sentinel's own port (`user` lines, `requirepass`).
    pub acl: crate::acl::Access,
}

/// How this sentinel reaches others: what it logs in to peers with, and
/// TLS (who may use its own port is `acl`).
#[derive(Default)]
pub struct Security {
    pub peer_user: Option<String>,
    pub peer_pass: Option<String>,
    pub tls: Option<ferrokv_tls::Configs>,
    /// Links to nodes and peers use TLS (`tls-replication yes`).
    pub tls_links: bool,
}

impl Security {
    /// The TLS configuration outgoing links use, if they use TLS.
    pub fn link_tls(&self) -> Option<&std::sync::Arc<rustls::ClientConfig>> {
        self.tls.as_ref().filter(|_| self.tls_links).map(|c| &c.client)
    }
}

/// An instance described as Redis's event messages do.
pub fn describe(m: &Master, inst: Option<&Instance>, kind: &str) -> String {
    match inst {
        None => format!("master {} {} {}", m.name, m.inst.host, m.inst.port),
        Some(i) => format!("{kind} {} {} {} @ {} {} {}", i.addr(), i.host, i.port, m.name, m.inst.host, m.inst.port),
    }
}

impl Sentinel {
    pub fn new(state: State, security: Security, acl: crate::acl::Access) -> Arc<Self> {
        Arc::new(Sentinel {
            security,
            acl,
            state: Mutex::new(state),
            events: broadcast::channel(1024).0,
            wake_peers: tokio::sync::watch::channel(0).0,
            wake_links: tokio::sync::watch::channel(0).0,
            wake_timer: tokio::sync::watch::channel(0).0,
            wake_hello: tokio::sync::watch::channel(0).0,
        })
    }

    /// Logs and publishes an event (Redis's `sentinelEvent`), at the level
    /// Redis logs it.
    pub fn event(&self, kind: &str, msg: String) {
        match event_level(kind) {
            Level::Warning => tracing::warn!("{kind} {msg}"),
            Level::Notice => tracing::info!("{kind} {msg}"),
            Level::Verbose => tracing::debug!("{kind} {msg}"),
        }
        let _ = self.events.send((kind.to_string(), msg));
    }

    /// One run of the timer. `elapsed` is the wall-clock time since the
    /// previous run (negative if the clock went back).
    pub fn tick(self: &Arc<Self>, elapsed: Option<Duration>, stalled: Duration) {
        let mut events = Vec::new();
        let mut commands = Vec::new();
        let wakes;
        {
            let mut st = self.state.lock();
            // TILT: after a clock jump or a stall (the process was stopped,
            // the machine overloaded) every timer is suspect; watch but do
            // not act for 30 s, as Redis Sentinel does.
            let jumped = elapsed.is_none_or(|e| e > TILT_TRIGGER) || stalled > TILT_TRIGGER;
            if jumped {
                if st.tilt_since.is_none() {
                    events.push(("+tilt".to_string(), "#tilt mode entered".to_string()));
                }
                st.tilt_since = Some(Instant::now());
            } else if st.tilt_since.is_some_and(|t| t.elapsed() > TILT_PERIOD) {
                st.tilt_since = None;
                events.push(("-tilt".to_string(), "#tilt mode exited".to_string()));
            }
            if st.tilt_since.is_some() {
                drop(st);
                for (k, m) in events {
                    self.event(&k, m);
                }
                return;
            }
            let (masters, mut cx) = st.parts(&mut events, &mut commands);
            for m in masters.values_mut() {
                check_down(m, &mut cx);
                failover::start_if_needed(m, &mut cx);
                // Steps that need no reply from anyone run back to back
                // (elected → replica selected → SLAVEOF NO ONE sent) rather
                // than one per timer run: each run costs 50–100 ms of the
                // failover.
                for _ in 0..4 {
                    let before = m.failover;
                    failover::step(m, &mut cx);
                    if m.failover == before {
                        break;
                    }
                }
            }
            wakes = std::mem::take(&mut st.wakes);
        }
        self.raise(wakes);
        if !commands.is_empty() {
            // Run again soon: what the commands change is read at once.
            wake(&self.wake_timer);
        }
        for (k, m) in events {
            self.event(&k, m);
        }
        for c in commands {
            crate::monitor::send_command(self.clone(), c);
        }
        self.save_if_dirty();
    }

    /// Wakes the tasks a pass over the state asked for (taken from
    /// [`State::wakes`] under the lock, raised after it).
    pub fn raise(&self, w: Wakes) {
        if w.peers {
            wake(&self.wake_peers);
        }
        if w.links {
            wake(&self.wake_links);
        }
        if w.hello {
            wake(&self.wake_hello);
        }
    }

    /// Rewrites the config file when the state changed. A file that cannot
    /// be written is reported once per change and the sentinel keeps going.
    pub fn save_if_dirty(&self) {
        let (mut config, path) = {
            let mut st = self.state.lock();
            if !st.dirty {
                return;
            }
            st.dirty = false;
            (st.to_config(), st.config_path.clone())
        };
        config.users = self.acl.user_lines();
        if let Some(p) = path {
            if let Err(e) = config.rewrite(&p) {
                tracing::warn!("Sentinel can't rewrite its config file {}: {e} (the state in memory is unaffected; it will be lost on restart)", p.display());
            }
        }
    }
}

/// Bumps a wake-up channel: every receiver sees the change, whether it was
/// waiting at that moment or not.
pub fn wake(w: &tokio::sync::watch::Sender<u64>) {
    w.send_modify(|n| *n = n.wrapping_add(1));
}

/// A command for an instance, sent by a short task.
#[derive(Debug, Clone)]
pub struct Command {
    pub master: String,
    pub host: String,
    pub port: u16,
    pub args: Vec<Vec<String>>,
    /// Send as MULTI … EXEC (what Redis Sentinel does for SLAVEOF).
    pub transaction: bool,
}

/// `SLAVEOF host port` (or NO ONE) with CONFIG REWRITE and client kills,
/// in one transaction, as Redis Sentinel sends it.
pub fn replicaof_command(master: &str, target: &Instance, to: Option<(&str, u16)>) -> Command {
    let slaveof = match to {
        Some((h, p)) => vec!["SLAVEOF".to_string(), h.to_string(), p.to_string()],
        None => vec!["SLAVEOF".into(), "NO".into(), "ONE".into()],
    };
    let args = vec![
        slaveof,
        vec!["CONFIG".into(), "REWRITE".into()],
        vec!["CLIENT".into(), "KILL".into(), "TYPE".into(), "normal".into()],
        vec!["CLIENT".into(), "KILL".into(), "TYPE".into(), "pubsub".into()],
    ];
    Command { master: master.into(), host: target.host.clone(), port: target.port, args, transaction: true }
}

/// Subjective down of every instance of `m`, and objective down of `m`.
fn check_down(m: &mut Master, cx: &mut Cx<'_>) {
    let events = &mut *cx.events;
    let now = Instant::now();
    let down_after = m.down_after;
    let snapshot = m.clone();
    let mut master_down = false;
    for (kind, inst) in
        std::iter::once(("master", &mut m.inst)).chain(m.replicas.values_mut().map(|r| ("slave", r))).chain(m.sentinels.values_mut().map(|s| ("sentinel", s)))
    {
        let silent = now.duration_since(inst.last_ok_ping) > down_after;
        // A master that says it is a replica for too long is down too.
        let wrong_role = kind == "master" && inst.role_reported == Role::Replica && now.duration_since(inst.role_reported_time) > down_after + INFO_PERIOD * 2;
        let is_down = silent || wrong_role;
        let who = describe(&snapshot, if kind == "master" { None } else { Some(inst) }, kind);
        if is_down && inst.sdown_since.is_none() {
            inst.sdown_since = Some(now);
            // Peers are asked for their opinion now, and replicas' INFO is
            // read now: selection wants offsets read after the outage.
            master_down |= kind == "master";
            events.push(("+sdown".into(), who));
        } else if !is_down && inst.sdown_since.is_some() {
            inst.sdown_since = None;
            events.push(("-sdown".into(), who));
        }
    }
    // Objective down: enough sentinels (us included) agree.
    let agree = if m.inst.is_sdown() {
        1 + m.sentinels.values().filter(|s| s.master_down_at.is_some_and(|t| now.duration_since(t) < ASK_VALIDITY)).count() as u32
    } else {
        0
    };
    let odown = m.inst.is_sdown() && agree >= m.quorum;
    // Say clearly when this outage cannot lead to a failover.
    let reachable = 1 + m.sentinels.values().filter(|p| p.connected && !p.is_sdown()).count() as u32;
    let voters = m.sentinels.len() as u32 + 1;
    let majority = voters / 2 + 1;
    if m.inst.is_sdown() && !odown && (reachable < m.quorum || reachable < majority) && m.inst.sdown_since.is_some_and(|t| now.duration_since(t) > down_after) {
        if !m.warned_no_quorum {
            m.warned_no_quorum = true;
            tracing::warn!(
                "master {} is down but only {reachable} of {} sentinels are reachable (quorum {}, majority {majority}): no failover can be authorized",
                m.name,
                m.sentinels.len() + 1,
                m.quorum
            );
        }
    } else if !m.inst.is_sdown() {
        m.warned_no_quorum = false;
    }
    if odown && m.odown_since.is_none() {
        m.odown_since = Some(now);
        events.push(("+odown".into(), format!("master {} {} {} #quorum {}/{}", m.name, m.inst.host, m.inst.port, agree, m.quorum)));
    } else if !odown && m.odown_since.is_some() {
        m.odown_since = None;
        events.push(("-odown".into(), format!("master {} {} {}", m.name, m.inst.host, m.inst.port)));
    }
    if master_down {
        cx.wakes.peers = true;
        cx.wakes.links = true;
    }
}

/// The wait before the next timer run: 50–100 ms, drawn anew each time as
/// Redis Sentinel redraws its `hz`, so sentinels started together do not
/// judge (and reach ODOWN, and start failovers) in lockstep.
pub fn timer_period() -> Duration {
    use rand::Rng;
    Duration::from_millis(rand::rng().random_range(50..=100))
}

enum Level {
    Warning,
    Notice,
    Verbose,
}

/// Redis 7.0 logs most sentinel events as warnings; these at notice
/// (the routine discovery and reconfiguration steps) or verbose level.
fn event_level(kind: &str) -> Level {
    const NOTICE: &[&str] = &[
        "+slave",
        "+sentinel",
        "-dup-sentinel",
        "+sentinel-invalid-addr",
        "+sentinel-address-switch",
        "+reboot",
        "+convert-to-slave",
        "+fix-slave-config",
        "+slave-reconf-sent",
        "+slave-reconf-inprog",
        "+slave-reconf-done",
        "+config-update-from",
        "+failover-state-send-slaveof-noone",
        "+failover-state-wait-promotion",
        "-slave-restart-as-master",
    ];
    if NOTICE.contains(&kind) {
        Level::Notice
    } else if kind == "+role-change" || kind == "-role-change" {
        Level::Verbose
    } else {
        Level::Warning
    }
}
