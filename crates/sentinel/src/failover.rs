//! The failover state machine (Redis's `sentinelFailoverStateMachine`):
//! the leader election, replica selection, promotion, re-pointing the
//! replicas and switching the master, one function per state. Every step
//! takes the master it acts on and a [`Cx`] with what it may touch beyond
//! it, so each is a pure function of the state, tested below state by state.

use std::time::{Duration, Instant};

use crate::sentinel::{describe, replicaof_command, Command};
use crate::state::{FailoverState, Instance, Master, Reconf, Role, Wakes, INFO_PERIOD, PING_PERIOD};

/// How long replica selection waits for INFO read after the primary went down.
const INFO_WAIT: Duration = Duration::from_secs(2);

pub type Events = Vec<(String, String)>;

/// What a step touches besides its master: our identity and epoch, the
/// ids for new instances, and what the step reports (events, commands to
/// send, the config to write, the tasks to wake).
pub struct Cx<'a> {
    pub myid: &'a str,
    pub current_epoch: &'a mut u64,
    pub ids: &'a mut u64,
    pub dirty: &'a mut bool,
    pub wakes: &'a mut Wakes,
    pub events: &'a mut Events,
    pub commands: &'a mut Vec<Command>,
}

impl Cx<'_> {
    pub fn next_id(&mut self) -> u64 {
        *self.ids += 1;
        *self.ids
    }

    fn event(&mut self, kind: &str, msg: String) {
        self.events.push((kind.to_string(), msg));
    }
}

/// Starts a failover of an ODOWN master unless one runs or the last one
/// started less than 2 × failover-timeout ago.
pub fn start_if_needed(m: &mut Master, cx: &mut Cx<'_>) {
    if m.odown_since.is_none() || m.in_failover() {
        return;
    }
    if m.failover_start.is_some_and(|t| Instant::now() < t + m.failover_timeout * 2) {
        return;
    }
    begin(m, cx, false);
}

/// Starts a failover in a new epoch, voting for ourselves.
pub fn begin(m: &mut Master, cx: &mut Cx<'_>, forced: bool) {
    *cx.current_epoch += 1;
    let epoch = *cx.current_epoch;
    m.failover = FailoverState::WaitStart;
    m.failover_epoch = epoch;
    m.failover_start = Some(Instant::now() + jitter());
    m.failover_state_change = Instant::now();
    m.forced = forced;
    m.promoted = None;
    m.leader = Some(cx.myid.to_string());
    m.leader_epoch = epoch;
    for r in m.replicas.values_mut() {
        r.reconf = Reconf::None;
    }
    cx.event("+new-epoch", epoch.to_string());
    cx.event("+try-failover", describe(m, None, "master"));
    *cx.dirty = true;
    cx.wakes.peers = true;
    cx.wakes.links = true;
}

/// Up to a second, so sentinels that lose an election do not retry together.
fn jitter() -> Duration {
    use rand::Rng;
    Duration::from_millis(rand::rng().random_range(0..1000))
}

/// `sentinelVoteLeader`: the vote a peer asks for with
/// is-master-down-by-addr; returns (leader, epoch).
pub fn vote(m: &mut Master, cx: &mut Cx<'_>, req_epoch: u64, req_runid: &str) -> (Option<String>, u64) {
    if req_epoch > *cx.current_epoch {
        *cx.current_epoch = req_epoch;
        *cx.dirty = true;
        cx.event("+new-epoch", req_epoch.to_string());
    }
    let current = *cx.current_epoch;
    if m.leader_epoch < req_epoch && current <= req_epoch {
        m.leader = Some(req_runid.to_string());
        m.leader_epoch = current;
        cx.event("+vote-for-leader", format!("{req_runid} {current}"));
        *cx.dirty = true;
        // Voting for someone else: do not start our own failover soon.
        if req_runid != cx.myid {
            m.failover_start = Some(Instant::now() + jitter());
        }
    }
    (m.leader.clone(), m.leader_epoch)
}

/// `sentinelGetLeader`: the winner of `epoch`, if it has a majority of the
/// known sentinels and at least the quorum.
fn leader(m: &mut Master, cx: &mut Cx<'_>, epoch: u64) -> Option<String> {
    let voters = m.sentinels.len() as u32 + 1;
    let mut counts: std::collections::BTreeMap<String, u32> = Default::default();
    for s in m.sentinels.values() {
        if let Some(l) = &s.leader {
            if s.leader_epoch == epoch {
                *counts.entry(l.clone()).or_default() += 1;
            }
        }
    }
    let winner = counts.iter().max_by_key(|(_, n)| **n).map(|(k, _)| k.clone()).unwrap_or_else(|| cx.myid.to_string());
    let (my_vote, my_epoch) = vote(m, cx, epoch, &winner);
    if let Some(v) = my_vote.filter(|_| my_epoch == epoch) {
        *counts.entry(v).or_default() += 1;
    }
    let (best, n) = counts.into_iter().max_by_key(|(_, n)| *n)?;
    // A majority of all known sentinels, and at least the quorum.
    (n > voters / 2 && n >= m.quorum).then_some(best)
}

fn set_state(m: &mut Master, s: FailoverState, cx: &mut Cx<'_>) {
    m.failover = s;
    m.failover_state_change = Instant::now();
    if s != FailoverState::None {
        cx.event(&format!("+failover-state-{}", s.name().replace('_', "-")), describe(m, None, "master"));
    }
}

fn abort(m: &mut Master, why: &str, cx: &mut Cx<'_>) {
    cx.event(&format!("-failover-abort-{why}"), describe(m, None, "master"));
    if let Some(p) = m.promoted.take() {
        if let Some(r) = m.replicas.get_mut(&p) {
            r.reconf = Reconf::None;
        }
    }
    m.failover = FailoverState::None;
    m.forced = false;
}

/// One step of the machine, from whatever state `m` is in.
pub fn step(m: &mut Master, cx: &mut Cx<'_>) {
    match m.failover {
        FailoverState::None => {}
        FailoverState::WaitStart => wait_start(m, cx),
        // A primary that answers again before a replica was promoted keeps
        // its role: promoting a replica now would race the writes it is
        // acknowledging again (the offsets compared are no longer final).
        FailoverState::SelectReplica | FailoverState::SendReplicaofNoOne if master_is_back(m) => abort(m, "master-back", cx),
        FailoverState::SelectReplica => select_replica(m, cx),
        FailoverState::SendReplicaofNoOne => send_replicaof_no_one(m, cx),
        FailoverState::WaitPromotion => {
            if m.failover_state_change.elapsed() > m.failover_timeout {
                abort(m, "slave-timeout", cx);
            }
        }
        FailoverState::ReconfReplicas => reconf_replicas(m, cx),
        FailoverState::UpdateConfig => switch_to_promoted(m, cx),
    }
}

/// The primary of an automatic failover answers PING again.
fn master_is_back(m: &Master) -> bool {
    !m.forced && !m.inst.is_sdown()
}

fn wait_start(m: &mut Master, cx: &mut Cx<'_>) {
    let winner = leader(m, cx, m.failover_epoch);
    let me = winner.as_deref() == Some(cx.myid);
    if !me && !m.forced {
        let election_timeout = m.failover_timeout.min(Duration::from_secs(10));
        if m.failover_state_change.elapsed() > election_timeout {
            abort(m, "not-elected", cx);
        }
        return;
    }
    cx.event("+elected-leader", describe(m, None, "master"));
    set_state(m, FailoverState::SelectReplica, cx);
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

fn select_replica(m: &mut Master, cx: &mut Cx<'_>) {
    // Every replica of this primary is compared on an offset read after it
    // went down (INFO is read at once then, and every 50 ms during a
    // failover); picking the first one read would promote whichever
    // answered first, not the one with the acknowledged writes.
    if m.failover_state_change.elapsed() < INFO_WAIT && awaiting_info(m) {
        return;
    }
    match best_replica(m) {
        None => abort(m, "no-good-slave", cx),
        Some(key) => {
            cx.event("+selected-slave", describe(m, m.replicas.get(&key), "slave"));
            m.promoted = Some(key);
            set_state(m, FailoverState::SendReplicaofNoOne, cx);
        }
    }
}

fn send_replicaof_no_one(m: &mut Master, cx: &mut Cx<'_>) {
    let Some(p) = m.promoted.as_ref().and_then(|k| m.replicas.get(k)) else {
        return abort(m, "no-good-slave", cx);
    };
    if !p.connected {
        if m.failover_state_change.elapsed() > m.failover_timeout {
            abort(m, "slave-timeout", cx);
        }
        return;
    }
    cx.commands.push(replicaof_command(&m.name, p, None));
    set_state(m, FailoverState::WaitPromotion, cx);
}

/// Called from INFO processing: the promoted replica now says master.
pub fn promotion_seen(m: &mut Master, cx: &mut Cx<'_>) {
    let promoted = m.promoted.as_ref().and_then(|k| m.replicas.get(k));
    cx.event("+promoted-slave", describe(m, promoted, "slave"));
    m.config_epoch = m.failover_epoch;
    set_state(m, FailoverState::ReconfReplicas, cx);
    *cx.dirty = true;
}

fn reconf_replicas(m: &mut Master, cx: &mut Cx<'_>) {
    let Some(promoted) = m.promoted.clone().and_then(|k| m.replicas.get(&k).cloned()) else {
        return abort(m, "no-good-slave", cx);
    };
    let timeout = m.failover_timeout;
    let at = format!("{} {} {}", m.name, m.inst.host, m.inst.port);
    let (name, parallel_syncs) = (m.name.clone(), m.parallel_syncs);
    let to = Some((promoted.host.as_str(), promoted.port));
    let mut in_progress = m.replicas.values().filter(|r| matches!(r.reconf, Reconf::Sent(_) | Reconf::InProgress)).count() as u32;
    let mut all_done = true;
    for (key, r) in m.replicas.iter_mut() {
        if *key == promoted.addr() {
            continue;
        }
        let who = format!("slave {} {} {} @ {at}", r.addr(), r.host, r.port);
        match r.reconf {
            Reconf::Done => continue,
            Reconf::Sent(t) if t.elapsed() > timeout => {
                // Redis gives up waiting for a slow replica, and counts it done.
                r.reconf = Reconf::Done;
                cx.event("-slave-reconf-sent-timeout", who);
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
            cx.commands.push(replicaof_command(&name, r, to));
            cx.event("+slave-reconf-sent", who);
            continue;
        }
        all_done = false;
        if r.reconf == Reconf::None && in_progress < parallel_syncs {
            cx.commands.push(replicaof_command(&name, r, to));
            r.reconf = Reconf::Sent(Instant::now());
            in_progress += 1;
            cx.event("+slave-reconf-sent", who);
        }
    }
    let done = all_done || (m.forced && m.failover_state_change.elapsed() > timeout);
    if done {
        cx.event("+failover-end", describe(m, None, "master"));
        set_state(m, FailoverState::UpdateConfig, cx);
    }
}

/// `sentinelResetMasterAndChangeAddress` after our own failover: the
/// promoted replica becomes the master, every other known node (the old
/// master included) one of its replicas.
fn switch_to_promoted(m: &mut Master, cx: &mut Cx<'_>) {
    let Some((host, port)) = m.promoted.as_ref().and_then(|k| m.replicas.get(k)).map(|p| (p.host.clone(), p.port)) else {
        return abort(m, "no-good-slave", cx);
    };
    switch_master(m, cx, &host, port);
    m.led_switch = Some(Instant::now());
}

/// Points `m` at `host:port` (our failover, or a newer config epoch
/// announced by a peer): the old address and the other replicas become its
/// replicas.
pub fn switch_master(m: &mut Master, cx: &mut Cx<'_>, host: &str, port: u16) {
    let mut addrs: Vec<(String, u16)> = m.replicas.values().map(|r| (r.host.clone(), r.port)).filter(|(h, p)| !(h == host && *p == port)).collect();
    if !(m.inst.host == host && m.inst.port == port) {
        addrs.push((m.inst.host.clone(), m.inst.port));
    }
    cx.event("+switch-master", format!("{} {} {} {} {}", m.name, m.inst.host, m.inst.port, host, port));
    m.inst = Instance::new(cx.next_id(), host, port, Role::Master);
    m.replicas = addrs.into_iter().map(|(h, p)| (format!("{h}:{p}"), Instance::new(cx.next_id(), &h, p, Role::Replica))).collect();
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
    *cx.dirty = true;
    // Say so on every node now, not on the next 2 s hello: peers that still
    // hand out the old primary learn it at once.
    cx.wakes.hello = true;
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{Config, MasterConfig};
    use crate::state::State;

    const A: &str = "10.0.0.2:6379";
    const B: &str = "10.0.0.3:6379";

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

    /// Runs `f` on master "m" with a step context; returns what it reported.
    fn with_master<T>(st: &mut State, f: impl FnOnce(&mut Master, &mut Cx<'_>) -> T) -> (T, Events, Vec<Command>) {
        let (mut events, mut commands) = (Vec::new(), Vec::new());
        let (masters, mut cx) = st.parts(&mut events, &mut commands);
        let out = f(masters.get_mut("m").expect("configured"), &mut cx);
        (out, events, commands)
    }

    #[test]
    fn only_replicas_of_this_primary_read_after_it_went_down_are_promoted() {
        let mut st = state();
        let m = st.masters.get_mut("m").unwrap();
        m.inst.sdown_since = Some(Instant::now() - Duration::from_secs(2));
        seen(m.replicas.get_mut(A).unwrap(), Role::Replica, ("10.0.0.1", 6379), 100);
        // The restarted old primary: listed as a replica, says master, and
        // keeps whatever offset it last reported.
        seen(m.replicas.get_mut(B).unwrap(), Role::Master, ("10.0.0.1", 6379), 500);
        assert_eq!(best_replica(m).as_deref(), Some(A));
        // A replica following another primary holds another history.
        seen(m.replicas.get_mut(B).unwrap(), Role::Replica, ("10.0.0.9", 6379), 500);
        assert_eq!(best_replica(m).as_deref(), Some(A));
        // Both follow it: the highest offset wins...
        seen(m.replicas.get_mut(B).unwrap(), Role::Replica, ("10.0.0.1", 6379), 500);
        assert_eq!(best_replica(m).as_deref(), Some(B));
        // ...but only an offset read after the primary went down counts.
        m.replicas.get_mut(B).unwrap().info_refresh = Some(Instant::now() - Duration::from_secs(3));
        assert_eq!(best_replica(m).as_deref(), Some(A));
        m.replicas.get_mut(A).unwrap().priority = 0;
        assert_eq!(best_replica(m), None);
    }

    #[test]
    fn selection_waits_for_every_replica_and_skips_those_of_another_history() {
        let mut st = state();
        let m = st.masters.get_mut("m").unwrap();
        m.inst.replid = Some("p".repeat(40));
        m.inst.sdown_since = Some(Instant::now() - Duration::from_millis(10));
        seen(m.replicas.get_mut(A).unwrap(), Role::Replica, ("10.0.0.1", 6379), 100);
        seen(m.replicas.get_mut(B).unwrap(), Role::Replica, ("10.0.0.1", 6379), 900);
        m.replicas.get_mut(B).unwrap().info_refresh = Some(Instant::now() - Duration::from_secs(1));
        m.failover = FailoverState::SelectReplica;
        m.failover_state_change = Instant::now();
        with_master(&mut st, step);
        let m = &st.masters["m"];
        assert_eq!((m.failover, m.promoted.as_ref()), (FailoverState::SelectReplica, None), "b's INFO is older than the outage: wait for it");
        let m = st.masters.get_mut("m").unwrap();
        seen(m.replicas.get_mut(B).unwrap(), Role::Replica, ("10.0.0.1", 6379), 900);
        // b was just pointed at this primary and still holds another history.
        m.replicas.get_mut(B).unwrap().replid = Some("x".repeat(40));
        m.replicas.get_mut(A).unwrap().replid = Some("p".repeat(40));
        with_master(&mut st, step);
        assert_eq!(st.masters["m"].promoted.as_deref(), Some(A));
    }

    #[test]
    fn a_new_primary_may_fail_over_again_at_once() {
        let mut st = state();
        with_master(&mut st, |m, cx| begin(m, cx, false));
        assert!(st.masters["m"].failover_start.is_some());
        let (_, events, _) = with_master(&mut st, |m, cx| switch_master(m, cx, "10.0.0.2", 6379));
        let m = &st.masters["m"];
        assert_eq!((m.inst.host.as_str(), m.failover_start), ("10.0.0.2", None));
        assert!(m.replicas.contains_key("10.0.0.1:6379") && m.replicas.contains_key(B));
        assert_eq!(events[0], ("+switch-master".to_string(), "m 10.0.0.1 6379 10.0.0.2 6379".to_string()));
        assert!(st.dirty && st.wakes.hello);
    }

    #[test]
    fn a_vote_is_given_once_per_epoch() {
        let mut st = state();
        let ((first, e1), events, _) = with_master(&mut st, |m, cx| vote(m, cx, 5, "peer1"));
        assert_eq!((first.as_deref(), e1, st.current_epoch), (Some("peer1"), 5, 5));
        assert_eq!(events.iter().map(|(k, _)| k.as_str()).collect::<Vec<_>>(), ["+new-epoch", "+vote-for-leader"]);
        let ((second, _), _, _) = with_master(&mut st, |m, cx| vote(m, cx, 5, "peer2"));
        assert_eq!(second.as_deref(), Some("peer1"), "no second vote in epoch 5");
    }

    /// How a master is set up before one step: which state, and what holds.
    #[derive(Clone, Copy, Debug)]
    enum Given {
        /// The primary still down (SDOWN), A a good replica, B another.
        Down,
        /// The primary answers again (automatic failover).
        MasterBack,
        /// No replica qualifies.
        NoReplicas,
        /// The promoted replica (A) is disconnected.
        PromotedGone,
        /// The state has lasted longer than every timeout.
        TimedOut,
        /// Every replica but the promoted one is re-pointed already.
        AllReconfigured,
        /// Only our vote: not a majority of three sentinels.
        NotElected,
    }

    fn given(at: FailoverState, given: Given) -> State {
        let mut st = state();
        let myid = st.myid.clone();
        let m = st.masters.get_mut("m").unwrap();
        m.quorum = 1;
        m.failover = at;
        m.failover_epoch = 1;
        m.failover_state_change = Instant::now();
        m.inst.sdown_since = Some(Instant::now() - Duration::from_millis(5));
        m.promoted =
            matches!(at, FailoverState::SendReplicaofNoOne | FailoverState::WaitPromotion | FailoverState::ReconfReplicas | FailoverState::UpdateConfig)
                .then(|| A.to_string());
        for (key, offset) in [(A, 200), (B, 100)] {
            seen(m.replicas.get_mut(key).unwrap(), Role::Replica, ("10.0.0.1", 6379), offset);
        }
        match given {
            Given::Down => {}
            Given::MasterBack => m.inst.sdown_since = None,
            Given::NoReplicas => m.replicas.values_mut().for_each(|r| r.priority = 0),
            Given::PromotedGone => m.replicas.get_mut(A).unwrap().connected = false,
            Given::TimedOut => {
                m.failover_timeout = Duration::from_millis(1);
                m.failover_state_change = Instant::now() - Duration::from_millis(20);
            }
            Given::AllReconfigured => m.replicas.get_mut(B).unwrap().reconf = Reconf::Done,
            Given::NotElected => {
                for id in ["b", "c"] {
                    let mut peer = Instance::new(90, "10.0.0.8", 26379, Role::Master);
                    peer.leader = Some(id.repeat(40));
                    peer.leader_epoch = 1;
                    m.sentinels.insert(id.repeat(40), peer);
                }
                m.leader = Some(myid);
                m.leader_epoch = 1;
            }
        }
        st
    }

    #[test]
    fn failover_step_in_each_state_on_each_event() {
        use FailoverState::*;
        // (state, given, next state, events the step reports, commands sent)
        let table: &[(FailoverState, Given, FailoverState, &[&str], usize)] = &[
            (None, Given::Down, None, &[], 0),
            (WaitStart, Given::Down, SelectReplica, &["+elected-leader", "+failover-state-select-slave"], 0),
            (WaitStart, Given::NotElected, WaitStart, &[], 0),
            (WaitStart, Given::TimedOut, SelectReplica, &["+elected-leader", "+failover-state-select-slave"], 0),
            (SelectReplica, Given::Down, SendReplicaofNoOne, &["+selected-slave", "+failover-state-send-slaveof-noone"], 0),
            (SelectReplica, Given::MasterBack, None, &["-failover-abort-master-back"], 0),
            (SelectReplica, Given::NoReplicas, None, &["-failover-abort-no-good-slave"], 0),
            (SendReplicaofNoOne, Given::Down, WaitPromotion, &["+failover-state-wait-promotion"], 1),
            (SendReplicaofNoOne, Given::MasterBack, None, &["-failover-abort-master-back"], 0),
            (SendReplicaofNoOne, Given::PromotedGone, SendReplicaofNoOne, &[], 0),
            (WaitPromotion, Given::Down, WaitPromotion, &[], 0),
            (WaitPromotion, Given::MasterBack, WaitPromotion, &[], 0),
            (WaitPromotion, Given::TimedOut, None, &["-failover-abort-slave-timeout"], 0),
            (ReconfReplicas, Given::Down, ReconfReplicas, &["+slave-reconf-sent"], 1),
            (ReconfReplicas, Given::AllReconfigured, UpdateConfig, &["+failover-end", "+failover-state-update-config"], 0),
            (UpdateConfig, Given::Down, None, &["+switch-master"], 0),
        ];
        for &(state, g, next, events, commands) in table {
            let mut st = given(state, g);
            let (_, got_events, got_commands) = with_master(&mut st, step);
            let kinds: Vec<&str> = got_events.iter().map(|(k, _)| k.as_str()).filter(|k| !matches!(*k, "+new-epoch" | "+vote-for-leader")).collect();
            let m = &st.masters["m"];
            assert_eq!((m.failover, kinds.as_slice(), got_commands.len()), (next, events, commands), "{state:?} given {g:?}");
        }
    }

    #[test]
    fn not_elected_within_the_election_timeout_aborts() {
        let mut st = given(FailoverState::WaitStart, Given::NotElected);
        let m = st.masters.get_mut("m").unwrap();
        m.failover_timeout = Duration::from_millis(1);
        m.failover_state_change = Instant::now() - Duration::from_millis(20);
        let (_, events, _) = with_master(&mut st, step);
        assert_eq!(st.masters["m"].failover, FailoverState::None);
        assert!(events.iter().any(|(k, _)| k == "-failover-abort-not-elected"));
    }

    #[test]
    fn the_promotion_seen_moves_on_and_the_new_primary_takes_the_old_one_as_replica() {
        let mut st = given(FailoverState::WaitPromotion, Given::Down);
        with_master(&mut st, promotion_seen);
        assert_eq!(st.masters["m"].failover, FailoverState::ReconfReplicas);
        let (_, _, commands) = with_master(&mut st, step);
        assert_eq!((commands[0].host.as_str(), commands[0].port), ("10.0.0.3", 6379), "B re-pointed at A");
        st.masters.get_mut("m").unwrap().replicas.get_mut(B).unwrap().reconf = Reconf::Done;
        with_master(&mut st, step);
        with_master(&mut st, step);
        let m = &st.masters["m"];
        assert_eq!((m.inst.addr().as_str(), m.failover), (A, FailoverState::None));
        assert!(m.replicas.contains_key("10.0.0.1:6379"), "the old primary is a replica of the new one");
        assert!(m.led_switch.is_some());
    }
}
