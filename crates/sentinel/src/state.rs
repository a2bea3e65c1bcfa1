//! What a sentinel knows: the masters it monitors, their replicas, the other
//! sentinels, each instance's health, and the failover of each master.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use crate::config::{Config, MasterConfig};
use crate::failover::{Cx, Events};
use crate::sentinel::Command;

pub const PING_PERIOD: Duration = Duration::from_secs(1);
pub const INFO_PERIOD: Duration = Duration::from_secs(10);
pub const HELLO_PERIOD: Duration = Duration::from_secs(2);
/// A peer's "master is down" answer counts this long.
pub const ASK_VALIDITY: Duration = Duration::from_secs(5);

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    Master,
    Replica,
}

/// One step per state, as Redis's `SENTINEL_FAILOVER_STATE_*`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FailoverState {
    None,
    WaitStart,
    SelectReplica,
    SendReplicaofNoOne,
    WaitPromotion,
    ReconfReplicas,
    UpdateConfig,
}

impl FailoverState {
    pub fn name(self) -> &'static str {
        match self {
            FailoverState::None => "none",
            FailoverState::WaitStart => "wait_start",
            FailoverState::SelectReplica => "select_slave",
            FailoverState::SendReplicaofNoOne => "send_slaveof_noone",
            FailoverState::WaitPromotion => "wait_promotion",
            FailoverState::ReconfReplicas => "reconf_slaves",
            FailoverState::UpdateConfig => "update_config",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reconf {
    None,
    Sent(Instant),
    InProgress,
    Done,
}

/// A master, replica or peer sentinel, and its link's health.
#[derive(Debug, Clone)]
pub struct Instance {
    /// Unique per instance: its tasks stop when it is gone.
    pub id: u64,
    pub host: String,
    pub port: u16,
    pub runid: Option<String>,
    pub connected: bool,
    /// When the outstanding PING was sent (None when answered).
    pub ping_sent: Option<Instant>,
    pub last_ok_ping: Instant,
    pub last_reply: Instant,
    pub sdown_since: Option<Instant>,
    pub info_refresh: Option<Instant>,
    pub role_reported: Role,
    pub role_reported_time: Instant,
    // From a replica's INFO.
    pub master_host: Option<String>,
    pub master_port: u16,
    pub master_link_up: bool,
    pub master_link_down_ms: u64,
    /// INFO's `master_replid`: the history the node holds (a primary's own;
    /// a replica's is its primary's once it has synced).
    pub replid: Option<String>,
    /// When the primary this replica reports following last changed
    /// (Redis's `slave_conf_change_time`).
    pub master_changed: Instant,
    pub priority: u32,
    pub repl_offset: u64,
    pub announced: bool,
    pub reconf: Reconf,
    // A peer sentinel's.
    pub last_hello: Option<Instant>,
    pub leader: Option<String>,
    pub leader_epoch: u64,
    /// Its last answer to is-master-down-by-addr said "down", at this time.
    pub master_down_at: Option<Instant>,
}

impl Instance {
    pub fn new(id: u64, host: &str, port: u16, role: Role) -> Self {
        let now = Instant::now();
        Instance {
            id,
            host: host.to_string(),
            port,
            runid: None,
            connected: false,
            ping_sent: None,
            last_ok_ping: now,
            last_reply: now,
            sdown_since: None,
            info_refresh: None,
            role_reported: role,
            role_reported_time: now,
            master_host: None,
            master_port: 0,
            master_link_up: false,
            master_link_down_ms: 0,
            replid: None,
            master_changed: now,
            priority: 100,
            repl_offset: 0,
            announced: true,
            reconf: Reconf::None,
            last_hello: None,
            leader: None,
            leader_epoch: 0,
            master_down_at: None,
        }
    }

    pub fn addr(&self) -> String {
        format!("{}:{}", self.host, self.port)
    }

    pub fn is_sdown(&self) -> bool {
        self.sdown_since.is_some()
    }
}

#[derive(Debug, Clone)]
pub struct Master {
    pub name: String,
    pub inst: Instance,
    pub quorum: u32,
    pub down_after: Duration,
    pub failover_timeout: Duration,
    pub parallel_syncs: u32,
    pub auth_pass: Option<String>,
    pub auth_user: Option<String>,
    pub config_epoch: u64,
    /// Whom this sentinel voted for, in which epoch.
    pub leader: Option<String>,
    pub leader_epoch: u64,
    pub odown_since: Option<Instant>,
    pub replicas: BTreeMap<String, Instance>,
    /// Peers, by run id.
    pub sentinels: BTreeMap<String, Instance>,
    pub failover: FailoverState,
    pub failover_epoch: u64,
    /// When the last failover attempt started (or a vote delayed ours).
    pub failover_start: Option<Instant>,
    pub failover_state_change: Instant,
    pub promoted: Option<String>,
    pub forced: bool,
    /// Logged that too few sentinels are reachable to fail over (once per
    /// outage).
    pub warned_no_quorum: bool,
    /// When this sentinel's own failover made the current primary (None
    /// when the primary was configured or learned from a peer): the old
    /// primary, if it reappears claiming `role:master`, is converted at
    /// once instead of after 8 s, since no newer configuration can exist
    /// that this sentinel has not published itself.
    pub led_switch: Option<Instant>,
}

impl Master {
    pub fn from_config(id: u64, c: &MasterConfig) -> Self {
        Master {
            name: c.name.clone(),
            inst: Instance::new(id, &c.host, c.port, Role::Master),
            quorum: c.quorum,
            down_after: Duration::from_millis(c.down_after_ms),
            failover_timeout: Duration::from_millis(c.failover_timeout_ms),
            parallel_syncs: c.parallel_syncs.max(1),
            auth_pass: c.auth_pass.clone(),
            auth_user: c.auth_user.clone(),
            config_epoch: c.config_epoch,
            leader: None,
            leader_epoch: c.leader_epoch,
            odown_since: None,
            replicas: BTreeMap::new(),
            sentinels: BTreeMap::new(),
            failover: FailoverState::None,
            failover_epoch: 0,
            failover_start: None,
            failover_state_change: Instant::now(),
            promoted: None,
            forced: false,
            warned_no_quorum: false,
            led_switch: None,
        }
    }

    pub fn to_config(&self) -> MasterConfig {
        MasterConfig {
            name: self.name.clone(),
            host: self.inst.host.clone(),
            port: self.inst.port,
            quorum: self.quorum,
            down_after_ms: self.down_after.as_millis() as u64,
            failover_timeout_ms: self.failover_timeout.as_millis() as u64,
            parallel_syncs: self.parallel_syncs,
            auth_pass: self.auth_pass.clone(),
            auth_user: self.auth_user.clone(),
            config_epoch: self.config_epoch,
            leader_epoch: self.leader_epoch,
            known_replicas: self.replicas.values().map(|r| (r.host.clone(), r.port)).collect(),
            known_sentinels: self.sentinels.values().map(|s| (s.host.clone(), s.port, s.runid.clone().unwrap_or_default())).collect(),
        }
    }

    pub fn in_failover(&self) -> bool {
        self.failover != FailoverState::None
    }

    /// The address clients should use now (the promoted replica once the
    /// other replicas are being re-pointed, as Redis answers).
    pub fn client_addr(&self) -> (String, u16) {
        if self.failover == FailoverState::ReconfReplicas || self.failover == FailoverState::UpdateConfig {
            if let Some(p) = self.promoted.as_ref().and_then(|k| self.replicas.get(k)) {
                return (p.host.clone(), p.port);
            }
        }
        (self.inst.host.clone(), self.inst.port)
    }

    /// Redis's flags field.
    pub fn flags(&self) -> String {
        let mut f = Vec::new();
        if self.inst.is_sdown() {
            f.push("s_down");
        }
        if self.odown_since.is_some() {
            f.push("o_down");
        }
        f.push("master");
        if !self.inst.connected {
            f.push("disconnected");
        }
        if self.in_failover() {
            f.push("failover_in_progress");
        }
        if self.forced {
            f.push("force_failover");
        }
        f.join(",")
    }
}

/// What the state changes of one pass ask the network tasks to do at once
/// (set where the state changes, raised once the lock is released).
#[derive(Debug, Clone, Copy, Default)]
pub struct Wakes {
    /// Ask peers for their opinion and vote (a master went down, a
    /// failover started).
    pub peers: bool,
    /// Read every instance's INFO.
    pub links: bool,
    /// Publish hellos (the primary changed).
    pub hello: bool,
}

/// The whole sentinel.
pub struct State {
    pub myid: String,
    pub current_epoch: u64,
    pub masters: BTreeMap<String, Master>,
    pub config: Config,
    pub config_path: Option<std::path::PathBuf>,
    /// Our address as peers and clients should see it (hello messages).
    pub announce_ip: String,
    pub announce_port: u16,
    next_id: u64,
    /// Set when the config must be written out (after this tick).
    pub dirty: bool,
    pub tilt_since: Option<Instant>,
    pub wakes: Wakes,
}

impl State {
    pub fn new(config: Config, path: Option<std::path::PathBuf>, myid: String, announce: (String, u16)) -> Self {
        let mut s = State {
            myid,
            current_epoch: config.current_epoch,
            masters: BTreeMap::new(),
            config,
            config_path: path,
            announce_ip: announce.0,
            announce_port: announce.1,
            next_id: 1,
            dirty: true,
            tilt_since: None,
            wakes: Wakes::default(),
        };
        for mc in s.config.masters.clone() {
            let id = s.next_id();
            let mut m = Master::from_config(id, &mc);
            for (h, p) in &mc.known_replicas {
                let rid = s.next_id();
                m.replicas.insert(format!("{h}:{p}"), Instance::new(rid, h, *p, Role::Replica));
            }
            for (h, p, runid) in &mc.known_sentinels {
                let sid = s.next_id();
                let mut i = Instance::new(sid, h, *p, Role::Master);
                i.runid = Some(runid.clone());
                m.sentinels.insert(runid.clone(), i);
            }
            s.masters.insert(mc.name.clone(), m);
        }
        s
    }

    pub fn next_id(&mut self) -> u64 {
        self.next_id += 1;
        self.next_id
    }

    /// The masters, and the rest of the state as a failover step's context
    /// (borrowed apart, so a step takes the one master it acts on).
    pub fn parts<'a>(&'a mut self, events: &'a mut Events, commands: &'a mut Vec<Command>) -> (&'a mut BTreeMap<String, Master>, Cx<'a>) {
        let cx = Cx {
            myid: &self.myid,
            current_epoch: &mut self.current_epoch,
            ids: &mut self.next_id,
            dirty: &mut self.dirty,
            wakes: &mut self.wakes,
            events,
            commands,
        };
        (&mut self.masters, cx)
    }

    /// The config file as it should be now.
    pub fn to_config(&self) -> Config {
        let mut c = self.config.clone();
        c.myid = Some(self.myid.clone());
        c.current_epoch = self.current_epoch;
        c.masters = self.masters.values().map(Master::to_config).collect();
        c
    }
}
