//! ferrokv-sentinel: watches ferrokv (or Redis) nodes, agrees with its peers
//! on failure, promotes the best replica, and answers the Redis Sentinel API
//! so Sentinel-aware clients find the current primary (docs/sentinel.md).
//!
//! - `config`: sentinel.conf, read and rewritten with the state.
//! - `state`: masters, replicas, peers, links' health, failover state.
//! - `sentinel`: the timer: down detection, then the failover machine.
//! - `failover`: the leader election and the failover state machine.
//! - `monitor`: the links to nodes and peers (PING, INFO, hello, votes).
//! - `api`: the RESP server for clients and peers.
//! - `link`: an outgoing RESP connection.

pub mod acl;
pub mod api;
pub mod config;
pub mod failover;
pub mod link;
pub mod monitor;
pub mod sentinel;
pub mod state;

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use tokio::net::TcpListener;

pub use sentinel::Sentinel;

#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error(transparent)]
    Config(#[from] config::ConfigError),
    #[error("Sentinel needs config file on disk to save state. Exiting...")]
    NoConfig,
    #[error("Could not create server TCP listening socket {0}: {1}")]
    Bind(String, std::io::Error),
    #[error("Failed to configure TLS. Check logs for more info.")]
    Tls(#[source] ferrokv_tls::TlsError),
    /// A `user` line that does not make a user.
    #[error("{0}")]
    Acl(String),
}

/// The address peers and clients should use for us: `announce-ip`, else the
/// local address we reach the first master from, else loopback.
async fn announce_ip(c: &config::Config) -> String {
    if let Some(ip) = &c.announce_ip {
        return ip.clone();
    }
    if let Some(m) = c.masters.first() {
        if let Ok(Ok(s)) = tokio::time::timeout(Duration::from_secs(1), tokio::net::TcpStream::connect((m.host.as_str(), m.port))).await {
            if let Ok(a) = s.local_addr() {
                return a.ip().to_string();
            }
        }
    }
    "127.0.0.1".into()
}

/// A running sentinel.
pub struct Handle {
    pub sentinel: Arc<Sentinel>,
    pub port: u16,
}

/// Loads the config, binds, and starts monitoring.
pub async fn start(config_path: PathBuf, port: Option<u16>) -> Result<Handle, StartError> {
    let mut cfg = config::Config::load(&config_path)?;
    if let Some(p) = port {
        cfg.port = p;
    }
    let myid = cfg.myid.clone().unwrap_or_else(ferrokv_util::random_hex_id);
    let ip = announce_ip(&cfg).await;
    let binds = if cfg.bind.is_empty() { vec!["0.0.0.0".to_string()] } else { cfg.bind.iter().map(|b| b.trim_start_matches('-').to_string()).collect() };
    let tls = if cfg.tls_port != 0 || cfg.tls_replication {
        Some(ferrokv_tls::Configs::build(&cfg.tls).map_err(|e| {
            tracing::warn!("{e}");
            StartError::Tls(e)
        })?)
    } else {
        None
    };
    // (port, TLS): the plain port unless 0, and the TLS port if set.
    let mut listeners = Vec::new();
    for (port, is_tls) in [(cfg.port, false), (cfg.tls_port, true)] {
        if port == 0 && (is_tls || cfg.tls_port != 0) {
            continue;
        }
        for b in &binds {
            let addr = format!("{b}:{port}");
            listeners.push((TcpListener::bind(&addr).await.map_err(|e| StartError::Bind(addr, e))?, is_tls));
        }
    }
    let bound_of = |tls: bool| listeners.iter().find(|(_, t)| *t == tls).and_then(|(l, _)| l.local_addr().ok()).map(|a| a.port());
    let bound = bound_of(false).unwrap_or(cfg.port);
    // Over TLS links peers reach us on the TLS port, as Redis announces it.
    let reached_at = if cfg.tls_replication { bound_of(true).unwrap_or(bound) } else { bound };
    let announce_port = cfg.announce_port.unwrap_or(reached_at);
    cfg.port = bound;
    let acl = acl::Access::new(&cfg.users, &cfg.requirepass, cfg.acllog_max_len, cfg.acl_pubsub_all).map_err(StartError::Acl)?;
    let security = sentinel::Security { peer_user: cfg.sentinel_user.clone(), peer_pass: cfg.sentinel_pass.clone(), tls, tls_links: cfg.tls_replication };
    let state = state::State::new(cfg, Some(config_path), myid.clone(), (ip, announce_port));
    let s = Sentinel::new(state, security, acl);
    tracing::info!(myid = %myid, port = bound, "Sentinel ID is {myid}");
    for (l, is_tls) in listeners {
        let s = s.clone();
        tokio::spawn(async move {
            loop {
                if let Ok((stream, peer)) = l.accept().await {
                    let _ = stream.set_nodelay(true);
                    let s = s.clone();
                    let laddr = stream.local_addr().map(|a| a.to_string()).unwrap_or_default();
                    let peer_info = api::Peer { addr: peer.to_string(), laddr };
                    tokio::spawn(async move {
                        if !is_tls {
                            return api::serve(s, stream, peer_info).await;
                        }
                        let Some(config) = s.security.tls.as_ref().map(|c| c.server.clone()) else { return };
                        match ferrokv_tls::accept(&config, stream).await {
                            Ok(tls) => api::serve(s, tls, peer_info).await,
                            Err(why) => tracing::warn!("Error accepting a client connection: {why} (addr={peer})"),
                        }
                    });
                }
            }
        });
    }
    {
        let st = s.state.lock();
        for m in st.masters.values() {
            s.event("+monitor", format!("master {} {} {} quorum {}", m.name, m.inst.host, m.inst.port, m.quorum));
        }
    }
    let tasks = Arc::new(monitor::Tasks::new());
    let timer = s.clone();
    tokio::spawn(async move {
        let (mut wall, mut mono) = (std::time::SystemTime::now(), std::time::Instant::now());
        let mut woken = timer.wake_timer.subscribe();
        loop {
            tokio::select! {
                _ = tokio::time::sleep(sentinel::timer_period()) => {}
                _ = woken.changed() => {}
            }
            let now = std::time::SystemTime::now();
            let elapsed = now.duration_since(wall).ok();
            let stalled = mono.elapsed();
            (wall, mono) = (now, std::time::Instant::now());
            monitor::ensure_tasks(&timer, &tasks);
            timer.tick(elapsed, stalled);
        }
    });
    Ok(Handle { sentinel: s, port: bound })
}
