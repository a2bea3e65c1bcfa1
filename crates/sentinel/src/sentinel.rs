//! The sentinel's judgement, run every 50–100 ms over the shared state
//! (Redis's `sentinelTimer`): subjective and objective down, the leader
//! election, and the failover state machine, one function per state. Network
//! work is done by the instance tasks (`monitor`) and by short tasks this
//! spawns; nothing here waits on the network.

use std::sync::Arc;
use std::time::{Duration, Instant};

use parking_lot::Mutex;
use tokio::sync::broadcast;

use crate::state::{FailoverState, Instance, Master, Reconf, Role, State, Wakes, ASK_VALIDITY, INFO_PERIOD, PING_PERIOD};

/// How long replica selection waits for INFO read after the primary went down.
const INFO_WAIT: Duration = Duration::from_secs(2);
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
}

/// An instance described as Redis's event messages do.
pub fn describe(m: &Master, inst: Option<&Instance>, kind: &str) -> String {
    match inst {
        None => format!("master {} {} {}", m.name, m.inst.host, m.inst.port),
        Some(i) => format!("{kind} {} {} {} @ {} {} {}", i.addr(), i.host, i.port, m.name, m.inst.host, m.inst.port),
    }
}

impl Sentinel {
    pub fn new(state: State) -> Arc<Self> {
        Arc::new(Sentinel {
            state: Mutex::new(state),
            events: broadcast::channel(1024).0,
            wake_peers: tokio::sync::watch::channel(0).0,
            wake_links: tokio::sync::watch::channel(0).0,
            wake_timer: tokio::sync::watch::channel(0).0,
            wake_hello: tokio::sync::watch::channel(0).0,
        })
    }

    /// Logs and publishes an event (Redis's `sentinelEvent`).
    pub fn event(&self, kind: &str, msg: String) {
        tracing::warn!("{kind} {msg}");
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
            let names: Vec<String> = st.masters.keys().cloned().collect();
            for name in names {
                check_down(&mut st, &name, &mut events);
                start_failover_if_needed(&mut st, &name, &mut events);
                // Steps that need no reply from anyone run back to back
                // (elected → replica selected → SLAVEOF NO ONE sent) rather
                // than one per timer run: each run costs 50–100 ms of the
                // failover.
                for _ in 0..4 {
                    let before = st.masters[&name].failover;
                    failover_step(&mut st, &name, &mut events, &mut commands);
                    if st.masters[&name].failover == before {
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
        let (config, path) = {
            let mut st = self.state.lock();
            if !st.dirty {
                return;
            }
            st.dirty = false;
            (st.to_config(), st.config_path.clone())
        };
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

fn check_down(st: &mut State, name: &str, events: &mut Vec<(String, String)>) {
    let now = Instant::now();
    let m = st.masters.get_mut(name).expect("named master exists");
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
        st.wakes.peers = true;
        st.wakes.links = true;
    }
}

fn start_failover_if_needed(st: &mut State, name: &str, events: &mut Vec<(String, String)>) {
    let now = Instant::now();
    let m = &st.masters[name];
    if m.odown_since.is_none() || m.in_failover() {
        return;
    }
    if m.failover_start.is_some_and(|t| now < t + m.failover_timeout * 2) {
        return;
    }
    begin_failover(st, name, false, events);
}

/// The wait before the next timer run: 50–100 ms, drawn anew each time as
/// Redis Sentinel redraws its `hz`, so sentinels started together do not
/// judge (and reach ODOWN, and start failovers) in lockstep.
pub fn timer_period() -> Duration {
    use rand::Rng;
    Duration::from_millis(rand::rng().random_range(50..=100))
}

/// Starts a failover in a new epoch, voting for ourselves.
pub fn begin_failover(st: &mut State, name: &str, forced: bool, events: &mut Vec<(String, String)>) {
    st.current_epoch += 1;
    let epoch = st.current_epoch;
    let myid = st.myid.clone();
    let m = st.masters.get_mut(name).expect("named master exists");
    m.failover = FailoverState::WaitStart;
    m.failover_epoch = epoch;
    m.failover_start = Some(Instant::now() + jitter());
    m.failover_state_change = Instant::now();
    m.forced = forced;
    m.promoted = None;
    m.leader = Some(myid);
    m.leader_epoch = epoch;
    for r in m.replicas.values_mut() {
        r.reconf = Reconf::None;
    }
    events.push(("+new-epoch".into(), epoch.to_string()));
    events.push(("+try-failover".into(), describe(m, None, "master")));
    st.dirty = true;
    st.wakes.peers = true;
    st.wakes.links = true;
}

/// Up to a second, so sentinels that lose an election do not retry together.
fn jitter() -> Duration {
    use rand::Rng;
    Duration::from_millis(rand::rng().random_range(0..1000))
}

/// `sentinelVoteLeader`: the vote a peer asks for with
/// is-master-down-by-addr; returns (leader, epoch).
pub fn vote(st: &mut State, name: &str, req_epoch: u64, req_runid: &str) -> (Option<String>, u64) {
    let (l, e, _) = vote_with_events(st, name, req_epoch, req_runid);
    (l, e)
}

/// [`vote`], with the events it causes (`+new-epoch`, `+vote-for-leader`).
pub fn vote_with_events(st: &mut State, name: &str, req_epoch: u64, req_runid: &str) -> (Option<String>, u64, Vec<(String, String)>) {
    let mut events = Vec::new();
    if req_epoch > st.current_epoch {
        st.current_epoch = req_epoch;
        st.dirty = true;
        events.push(("+new-epoch".to_string(), req_epoch.to_string()));
    }
    let current = st.current_epoch;
    let myid = st.myid.clone();
    let Some(m) = st.masters.get_mut(name) else {
        return (None, 0, events);
    };
    if m.leader_epoch < req_epoch && current <= req_epoch {
        m.leader = Some(req_runid.to_string());
        m.leader_epoch = current;
        events.push(("+vote-for-leader".into(), format!("{req_runid} {current}")));
        st.dirty = true;
        // Voting for someone else: do not start our own failover soon.
        if req_runid != myid {
            m.failover_start = Some(Instant::now() + jitter());
        }
    }
    let m = &st.masters[name];
    (m.leader.clone(), m.leader_epoch, events)
}

/// `sentinelGetLeader`: the winner of `epoch`, if it has a majority of the
/// known sentinels and at least the quorum.
fn leader(st: &mut State, name: &str, epoch: u64) -> Option<String> {
    let m = &st.masters[name];
    let voters = m.sentinels.len() as u32 + 1;
    let mut counts: std::collections::BTreeMap<String, u32> = Default::default();
    for s in m.sentinels.values() {
        if let Some(l) = &s.leader {
            if s.leader_epoch == epoch {
                *counts.entry(l.clone()).or_default() += 1;
            }
        }
    }
    let winner = counts.iter().max_by_key(|(_, n)| **n).map(|(k, _)| k.clone());
    let myid = st.myid.clone();
    let (my_vote, my_epoch) = vote(st, name, epoch, winner.as_deref().unwrap_or(&myid));
    if let Some(v) = my_vote.filter(|_| my_epoch == epoch) {
        *counts.entry(v).or_default() += 1;
    }
    let (best, n) = counts.into_iter().max_by_key(|(_, n)| *n)?;
    let quorum = st.masters[name].quorum;
    // A majority of all known sentinels, and at least the quorum.
    (n > voters / 2 && n >= quorum).then_some(best)
}

fn set_failover_state(m: &mut Master, s: FailoverState, events: &mut Vec<(String, String)>) {
    m.failover = s;
    m.failover_state_change = Instant::now();
    if s != FailoverState::None {
        events.push((format!("+failover-state-{}", s.name().replace('_', "-")), describe(m, None, "master")));
    }
}

fn abort(m: &mut Master, why: &str, events: &mut Vec<(String, String)>) {
    events.push((format!("-failover-abort-{why}"), describe(m, None, "master")));
    if let Some(p) = m.promoted.take() {
        if let Some(r) = m.replicas.get_mut(&p) {
            r.reconf = Reconf::None;
        }
    }
    m.failover = FailoverState::None;
    m.forced = false;
}

fn failover_step(st: &mut State, name: &str, events: &mut Vec<(String, String)>, commands: &mut Vec<Command>) {
    match st.masters[name].failover {
        FailoverState::None => {}
        FailoverState::WaitStart => wait_start(st, name, events),
        // A primary that answers again before a replica was promoted keeps
        // its role: promoting a replica now would race the writes it is
        // acknowledging again (the offsets compared are no longer final).
        FailoverState::SelectReplica | FailoverState::SendReplicaofNoOne if master_is_back(&st.masters[name]) => {
            abort(st.masters.get_mut(name).expect("exists"), "master-back", events)
        }
        FailoverState::SelectReplica => select_replica(st.masters.get_mut(name).expect("exists"), events),
        FailoverState::SendReplicaofNoOne => send_replicaof_no_one(st.masters.get_mut(name).expect("exists"), events, commands),
        FailoverState::WaitPromotion => {
            let m = st.masters.get_mut(name).expect("exists");
            if m.failover_state_change.elapsed() > m.failover_timeout {
                abort(m, "slave-timeout", events);
            }
        }
        FailoverState::ReconfReplicas => reconf_replicas(st.masters.get_mut(name).expect("exists"), events, commands),
        FailoverState::UpdateConfig => {
            switch_to_promoted(st, name, events);
        }
    }
}

/// The primary of an automatic failover answers PING again.
fn master_is_back(m: &Master) -> bool {
    !m.forced && !m.inst.is_sdown()
}

fn wait_start(st: &mut State, name: &str, events: &mut Vec<(String, String)>) {
    let epoch = st.masters[name].failover_epoch;
    let winner = leader(st, name, epoch);
    let me = winner.as_deref() == Some(st.myid.as_str());
    let m = st.masters.get_mut(name).expect("exists");
    if !me && !m.forced {
        let election_timeout = m.failover_timeout.min(Duration::from_secs(10));
        if m.failover_state_change.elapsed() > election_timeout {
            abort(m, "not-elected", events);
        }
        return;
    }
    events.push(("+elected-leader".into(), describe(m, None, "master")));
    set_failover_state(m, FailoverState::SelectReplica, events);
}

/// `sentinelSelectSlave`: healthy, reachable, recently seen, not priority 0,
/// not disconnected from the master for too long; then lowest priority,
/// highest offset, lowest run id.
///
/// Stricter than Redis where Redis's rules can promote a node without the
/// primary's latest writes: a candidate must say it is a replica *of this
/// primary* (a restarted old primary still listed as a replica reports
/// `role:master` with whatever it had; a replica still following someone
/// else holds another history), and while the primary is down its INFO
/// must have been read after the primary went down, so the offsets
/// compared are final and not a moment older than the writes acknowledged
/// just before the crash.
pub fn best_replica(m: &Master) -> Option<String> {
    let now = Instant::now();
    let master_down = m.inst.sdown_since.map_or(Duration::ZERO, |t| now.duration_since(t));
    let max_link_down = master_down + m.down_after * 10;
    let info_validity = if m.inst.is_sdown() { PING_PERIOD * 5 } else { INFO_PERIOD * 3 };
    let mut candidates: Vec<&Instance> = m
        .replicas
        .values()
        .filter(|r| {
            !r.is_sdown()
                && r.connected
                && now.duration_since(r.last_ok_ping) <= PING_PERIOD * 5
                && r.priority != 0
                && r.info_refresh.is_some_and(|t| now.duration_since(t) <= info_validity)
                && read_since_outage(r, m)
                && Duration::from_millis(r.master_link_down_ms) <= max_link_down
                && follows(r, m)
                && holds_history(r, m)
        })
        .collect();
    candidates.sort_by(|a, b| {
        a.priority.cmp(&b.priority).then(b.repl_offset.cmp(&a.repl_offset)).then_with(|| match (&a.runid, &b.runid) {
            (Some(x), Some(y)) => x.cmp(y),
            (Some(_), None) => std::cmp::Ordering::Less,
            (None, Some(_)) => std::cmp::Ordering::Greater,
            (None, None) => std::cmp::Ordering::Equal,
        })
    });
    candidates.first().map(|r| r.addr())
}

/// Whether the replica holds the primary's history: a replica that
/// was just pointed at it and has not finished its full sync still
/// reports its own replication ID, and an offset in that other history.
fn holds_history(r: &Instance, m: &Master) -> bool {
    match (&m.inst.replid, &r.replid) {
        (Some(primary), Some(replica)) => primary == replica,
        _ => true,
    }
}

/// Whether the replica's INFO was read after the primary went down (or
/// the primary is not down): only then is its offset final.
fn read_since_outage(r: &Instance, m: &Master) -> bool {
    m.inst.sdown_since.is_none_or(|down| r.info_refresh.is_some_and(|t| t >= down))
}

/// Replicas of this primary whose INFO has not been read since it went
/// down: selection waits for them (the best one may be among them).
fn awaiting_info(m: &Master) -> bool {
    m.replicas.values().any(|r| r.connected && !r.is_sdown() && follows(r, m) && !read_since_outage(r, m))
}

/// Whether a replica's last INFO says it replicates this master.
fn follows(r: &Instance, m: &Master) -> bool {
    r.role_reported == Role::Replica && r.master_host.as_deref().is_some_and(|h| h.eq_ignore_ascii_case(&m.inst.host)) && r.master_port == m.inst.port
}

fn select_replica(m: &mut Master, events: &mut Vec<(String, String)>) {
    // Every replica of this primary is compared on an offset read after it
    // went down (INFO is read at once then, and every 50 ms during a
    // failover); picking the first one read would promote whichever
    // answered first, not the one with the acknowledged writes.
    if m.failover_state_change.elapsed() < INFO_WAIT && awaiting_info(m) {
        return;
    }
    match best_replica(m) {
        None => abort(m, "no-good-slave", events),
        Some(key) => {
            let snapshot = m.clone();
            events.push(("+selected-slave".into(), describe(&snapshot, snapshot.replicas.get(&key), "slave")));
            m.promoted = Some(key);
            set_failover_state(m, FailoverState::SendReplicaofNoOne, events);
        }
    }
}

fn send_replicaof_no_one(m: &mut Master, events: &mut Vec<(String, String)>, commands: &mut Vec<Command>) {
    let Some(p) = m.promoted.clone().and_then(|k| m.replicas.get(&k).cloned()) else {
        return abort(m, "no-good-slave", events);
    };
    if !p.connected {
        if m.failover_state_change.elapsed() > m.failover_timeout {
            abort(m, "slave-timeout", events);
        }
        return;
    }
    commands.push(replicaof_command(&m.name, &p, None));
    set_failover_state(m, FailoverState::WaitPromotion, events);
}

/// Called from INFO processing: the promoted replica now says master.
pub fn promotion_seen(st: &mut State, name: &str, events: &mut Vec<(String, String)>) {
    let epoch = {
        let m = &st.masters[name];
        m.failover_epoch
    };
    let m = st.masters.get_mut(name).expect("exists");
    let snapshot = m.clone();
    let promoted = m.promoted.clone().and_then(|k| snapshot.replicas.get(&k).cloned());
    events.push(("+promoted-slave".into(), describe(&snapshot, promoted.as_ref(), "slave")));
    m.config_epoch = epoch;
    set_failover_state(m, FailoverState::ReconfReplicas, events);
    st.dirty = true;
}

fn reconf_replicas(m: &mut Master, events: &mut Vec<(String, String)>, commands: &mut Vec<Command>) {
    let Some(promoted) = m.promoted.clone().and_then(|k| m.replicas.get(&k).cloned()) else {
        return abort(m, "no-good-slave", events);
    };
    let timeout = m.failover_timeout;
    let snapshot = m.clone();
    let mut in_progress = m.replicas.values().filter(|r| matches!(r.reconf, Reconf::Sent(_) | Reconf::InProgress)).count() as u32;
    let mut all_done = true;
    for (key, r) in m.replicas.iter_mut() {
        if *key == promoted.addr() {
            continue;
        }
        match r.reconf {
            Reconf::Done => continue,
            Reconf::Sent(t) if t.elapsed() > timeout => {
                // Redis gives up waiting for a slow replica, and counts it done.
                r.reconf = Reconf::Done;
                events.push(("-slave-reconf-sent-timeout".into(), describe(&snapshot, Some(r), "slave")));
                in_progress = in_progress.saturating_sub(1);
                continue;
            }
            _ => {}
        }
        if r.is_sdown() {
            // A replica that looks down gets the transaction all the same
            // (a stopped one runs it when it resumes, so it cannot come
            // back acknowledging the old primary's writes); it is not
            // waited for, and is fixed later if it missed it.
            r.reconf = Reconf::Done;
            commands.push(replicaof_command(&m.name, r, Some((&promoted.host, promoted.port))));
            events.push(("+slave-reconf-sent".into(), describe(&snapshot, Some(r), "slave")));
            continue;
        }
        all_done = false;
        if r.reconf == Reconf::None && in_progress < m.parallel_syncs {
            commands.push(replicaof_command(&m.name, r, Some((&promoted.host, promoted.port))));
            r.reconf = Reconf::Sent(Instant::now());
            in_progress += 1;
            events.push(("+slave-reconf-sent".into(), describe(&snapshot, Some(r), "slave")));
        }
    }
    let done = all_done || (m.forced && m.failover_state_change.elapsed() > timeout);
    if done {
        events.push(("+failover-end".into(), describe(m, None, "master")));
        set_failover_state(m, FailoverState::UpdateConfig, events);
    }
}

/// `sentinelResetMasterAndChangeAddress` after our own failover: the
/// promoted replica becomes the master, every other known node (the old
/// master included) one of its replicas.
fn switch_to_promoted(st: &mut State, name: &str, events: &mut Vec<(String, String)>) {
    let (host, port) = {
        let m = &st.masters[name];
        match m.promoted.as_ref().and_then(|k| m.replicas.get(k)) {
            Some(p) => (p.host.clone(), p.port),
            None => return abort(st.masters.get_mut(name).expect("exists"), "no-good-slave", events),
        }
    };
    switch_master(st, name, &host, port, events);
    st.masters.get_mut(name).expect("exists").led_switch = Some(Instant::now());
}

/// Points the master `name` at `host:port` (our failover, or a newer config
/// epoch announced by a peer): the old address and the other replicas
/// become its replicas.
pub fn switch_master(st: &mut State, name: &str, host: &str, port: u16, events: &mut Vec<(String, String)>) {
    let mut ids: Vec<u64> = Vec::new();
    let old = st.masters[name].clone();
    let mut addrs: Vec<(String, u16)> = old.replicas.values().map(|r| (r.host.clone(), r.port)).filter(|(h, p)| !(h == host && *p == port)).collect();
    if !(old.inst.host == host && old.inst.port == port) {
        addrs.push((old.inst.host.clone(), old.inst.port));
    }
    for _ in 0..addrs.len() + 1 {
        ids.push(st.next_id());
    }
    let m = st.masters.get_mut(name).expect("exists");
    events.push(("+switch-master".into(), format!("{} {} {} {} {}", m.name, old.inst.host, old.inst.port, host, port)));
    m.inst = Instance::new(ids[0], host, port, Role::Master);
    m.replicas = addrs.into_iter().zip(ids[1..].iter()).map(|((h, p), id)| (format!("{h}:{p}"), Instance::new(*id, &h, p, Role::Replica))).collect();
    m.failover = FailoverState::None;
    m.led_switch = None;
    // A new primary may fail over again at once (Redis's
    // sentinelResetMaster): the 2 × failover-timeout pause is for retrying
    // a failover that did not finish, not for the next outage.
    m.failover_start = None;
    m.promoted = None;
    m.forced = false;
    m.odown_since = None;
    for s in m.sentinels.values_mut() {
        s.master_down_at = None;
    }
    st.dirty = true;
    // Say so on every node now, not on the next 2 s hello: peers that still
    // hand out the old primary learn it at once.
    st.wakes.hello = true;
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{Config, MasterConfig};

    fn state() -> State {
        let mut c = Config::default();
        let mut m = MasterConfig::new("m", "10.0.0.1", 6379, 2);
        m.known_replicas = vec![("10.0.0.2".into(), 6379), ("10.0.0.3".into(), 6379)];
        c.masters.push(m);
        State::new(c, None, "a".repeat(40), ("127.0.0.1".into(), 26379))
    }

    /// A replica as INFO last described it, just now.
    fn seen(r: &mut Instance, role: Role, master: (&str, u16), offset: u64) {
        let now = Instant::now();
        r.connected = true;
        r.last_ok_ping = now;
        r.info_refresh = Some(now);
        r.role_reported = role;
        r.master_host = Some(master.0.into());
        r.master_port = master.1;
        r.repl_offset = offset;
    }

    #[test]
    fn only_replicas_of_this_primary_read_after_it_went_down_are_promoted() {
        let mut st = state();
        let m = st.masters.get_mut("m").unwrap();
        m.inst.sdown_since = Some(Instant::now() - Duration::from_secs(2));
        let (a, b) = ("10.0.0.2:6379".to_string(), "10.0.0.3:6379".to_string());
        seen(m.replicas.get_mut(&a).unwrap(), Role::Replica, ("10.0.0.1", 6379), 100);
        // The restarted old primary: listed as a replica, says master, and
        // keeps whatever offset it last reported.
        seen(m.replicas.get_mut(&b).unwrap(), Role::Master, ("10.0.0.1", 6379), 500);
        assert_eq!(best_replica(m).as_deref(), Some(a.as_str()));
        // A replica following another primary holds another history.
        seen(m.replicas.get_mut(&b).unwrap(), Role::Replica, ("10.0.0.9", 6379), 500);
        assert_eq!(best_replica(m).as_deref(), Some(a.as_str()));
        // Both follow it: the highest offset wins...
        seen(m.replicas.get_mut(&b).unwrap(), Role::Replica, ("10.0.0.1", 6379), 500);
        assert_eq!(best_replica(m).as_deref(), Some(b.as_str()));
        // ...but only an offset read after the primary went down counts.
        m.replicas.get_mut(&b).unwrap().info_refresh = Some(Instant::now() - Duration::from_secs(3));
        assert_eq!(best_replica(m).as_deref(), Some(a.as_str()));
        m.replicas.get_mut(&a).unwrap().priority = 0;
        assert_eq!(best_replica(m), None);
    }

    #[test]
    fn selection_waits_for_every_replica_and_skips_those_of_another_history() {
        let mut st = state();
        let mut events = Vec::new();
        let (a, b) = ("10.0.0.2:6379".to_string(), "10.0.0.3:6379".to_string());
        let m = st.masters.get_mut("m").unwrap();
        m.inst.replid = Some("p".repeat(40));
        m.inst.sdown_since = Some(Instant::now() - Duration::from_millis(10));
        seen(m.replicas.get_mut(&a).unwrap(), Role::Replica, ("10.0.0.1", 6379), 100);
        seen(m.replicas.get_mut(&b).unwrap(), Role::Replica, ("10.0.0.1", 6379), 900);
        m.replicas.get_mut(&b).unwrap().info_refresh = Some(Instant::now() - Duration::from_secs(1));
        m.failover = FailoverState::SelectReplica;
        m.failover_state_change = Instant::now();
        select_replica(m, &mut events);
        assert_eq!((m.failover, m.promoted.as_ref()), (FailoverState::SelectReplica, None), "b's INFO is older than the outage: wait for it");
        seen(m.replicas.get_mut(&b).unwrap(), Role::Replica, ("10.0.0.1", 6379), 900);
        // b was just pointed at this primary and still holds another history.
        m.replicas.get_mut(&b).unwrap().replid = Some("x".repeat(40));
        m.replicas.get_mut(&a).unwrap().replid = Some("p".repeat(40));
        select_replica(m, &mut events);
        assert_eq!(m.promoted.as_deref(), Some(a.as_str()));
    }

    #[test]
    fn a_primary_that_answers_again_before_a_promotion_keeps_its_role() {
        let mut st = state();
        let mut events = Vec::new();
        let mut commands = Vec::new();
        st.masters.get_mut("m").unwrap().inst.sdown_since = Some(Instant::now());
        begin_failover(&mut st, "m", false, &mut events);
        let m = st.masters.get_mut("m").unwrap();
        m.failover = FailoverState::SelectReplica;
        m.inst.sdown_since = None;
        failover_step(&mut st, "m", &mut events, &mut commands);
        assert_eq!(st.masters["m"].failover, FailoverState::None);
        assert!(commands.is_empty(), "no SLAVEOF NO ONE for a primary that is back");
        assert!(events.iter().any(|(k, _)| k == "-failover-abort-master-back"));
    }

    #[test]
    fn a_new_primary_may_fail_over_again_at_once() {
        let mut st = state();
        let mut events = Vec::new();
        begin_failover(&mut st, "m", false, &mut events);
        assert!(st.masters["m"].failover_start.is_some());
        switch_master(&mut st, "m", "10.0.0.2", 6379, &mut events);
        let m = &st.masters["m"];
        assert_eq!((m.inst.host.as_str(), m.failover_start), ("10.0.0.2", None));
        assert!(m.replicas.contains_key("10.0.0.1:6379") && m.replicas.contains_key("10.0.0.3:6379"));
    }
}
