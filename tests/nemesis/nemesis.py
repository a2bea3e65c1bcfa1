"""The nemesis suite: a primary, two replicas and three sentinels under
faults, with clients that count a write as acknowledged only when WAIT says
a replica holds it, and a checker that looks for every acknowledged write
on the primary left standing after everything heals.

The same script runs against ferrokv (ferrokv-server + ferrokv-sentinel)
and against Redis 7.0 (Debian's redis-server, in server and sentinel mode),
so the two stand side by side.

Workloads (threads, each through redis-py's `Sentinel.master_for`):
- set:  `SET <unique key> 1` + `WAIT 1 200` in one pipeline;
- list: `RPUSH <its list> <n>` + `WAIT 1 200`, n increasing per writer.

Faults, one per round (`--faults`):
- kill:          kill -9 of the primary, restarted 5 s later on its data;
- crash:         kill -9 of the primary, restarted at once (before the
                 sentinels can notice: a supervisor's restart policy);
- stop-primary:  SIGSTOP of the primary for 4 s (it is partitioned: it
                 neither serves nor replicates);
- stop-replica:  SIGSTOP of a replica for 2 s;
- kill-sentinel: kill -9 of a sentinel, restarted 3 s later;
- resync-kill:   a replica restarted on an empty data dir is killed again
                 while its full sync runs, and restarted;
- partition:     (compose) the primary's container is disconnected from
                 the compose network for 4 s (`docker network disconnect`);
- mixed:         each round draws one of the above.

Clusters (`--cluster`): `local` runs the processes on 127.0.0.1 (ferrokv or
Redis); `compose` runs deploy/docker-compose.yml exactly as shipped (its
faults are `docker kill`/`start`, `docker pause`, network disconnects, and
kill -9 of the server process inside a container, which the restart policy
brings back at once); clients on the host reach the service names the
sentinels hand out through the published ports.
`--cpu-pressure N` runs N busy loops beside the cluster during the rounds.

The checker (after healing: every process running, every signal undone):
every acknowledged key present on the final primary; every list holding
its acknowledged elements in order and nothing never written, no element
twice; exactly one primary, every replica attached to it with its offset
and its `DEBUG DIGEST` equal to the primary's.

Usage: python tests/nemesis/nemesis.py --kind ferrokv --rounds 10 --faults mixed
Prints one JSON line with the figures (and exits 1 if anything
acknowledged was lost or the cluster did not heal).
"""
import argparse
import json
import os
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time

import redis
from redis.sentinel import Sentinel

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.join(ROOT, "tests", "py"))
from support import content_digest, deploy_passwords, free_port, names_on_loopback  # noqa: E402

FAULTS = ["kill", "crash", "stop-primary", "stop-replica", "kill-sentinel", "resync-kill"]
# Only where the cluster has a network of its own (compose).
NETWORK_FAULTS = ["partition"]
NAME = "mymaster"


def binaries(kind, profile):
    if kind == "ferrokv":
        base = os.path.join(ROOT, "target", profile)
        return [os.path.join(base, "ferrokv-server")], [os.path.join(base, "ferrokv-sentinel")]
    return ["redis-server"], ["redis-server", None, "--sentinel"]


class Proc:
    """One node or sentinel: its command line, data dir, log and process."""

    def __init__(self, argv, directory, port):
        self.argv, self.dir, self.port = argv, directory, port
        self.proc = None
        self.stopped = False

    def start(self):
        log = open(os.path.join(self.dir, "log.txt"), "ab")
        self.proc = subprocess.Popen(self.argv, stdout=log, stderr=subprocess.STDOUT, cwd=self.dir)
        log.close()
        self.stopped = False

    def alive(self):
        return self.proc is not None and self.proc.poll() is None

    def kill(self):
        if self.alive():
            if self.stopped:
                self.proc.send_signal(signal.SIGCONT)
            self.proc.kill()
            self.proc.wait()
        self.stopped = False

    def crash(self):
        """kill -9 and an immediate restart, as a supervisor would."""
        self.kill()
        self.start()

    def stop(self):
        if self.alive():
            self.proc.send_signal(signal.SIGSTOP)
            self.stopped = True

    def cont(self):
        if self.alive() and self.stopped:
            self.proc.send_signal(signal.SIGCONT)
        self.stopped = False

    def client(self, timeout=1.0):
        return redis.Redis(host="127.0.0.1", port=self.port, socket_timeout=timeout, socket_connect_timeout=timeout, decode_responses=True)


def wait_until(check, seconds, what, every=0.1):
    deadline = time.monotonic() + seconds
    last = None
    while time.monotonic() < deadline:
        try:
            if check():
                return
        except (redis.RedisError, OSError) as e:
            last = e
        time.sleep(every)
    raise TimeoutError(f"{what} (after {seconds} s; last error: {last})")


class Cluster:
    def __init__(self, kind, appendfsync="everysec", profile="debug", down_after=1000, failover_timeout=6000):
        self.kind = kind
        self.root = tempfile.mkdtemp(prefix=f"nemesis-{kind}-")
        server, sentinel = binaries(kind, profile)
        self.nodes = []
        ports = [free_port() for _ in range(3)]
        for i, port in enumerate(ports):
            d = os.path.join(self.root, f"node{i + 1}")
            os.makedirs(d)
            conf = os.path.join(d, "node.conf")
            lines = [f"port {port}", "bind 127.0.0.1", f"dir {d}", "protected-mode no", 'save ""',
                     "appendonly yes", f"appendfsync {appendfsync}", "enable-debug-command yes",
                     # Full syncs start at once on both servers (not after
                     # Redis's 5 s wait for more replicas).
                     "repl-diskless-sync-delay 0"]
            if i > 0:
                lines.append(f"replicaof 127.0.0.1 {ports[0]}")
            with open(conf, "w") as f:
                f.write("\n".join(lines) + "\n")
            self.nodes.append(Proc(server + [conf], d, port))
        self.sentinels = []
        for i in range(3):
            d = os.path.join(self.root, f"sentinel{i + 1}")
            os.makedirs(d)
            port = free_port()
            conf = os.path.join(d, "sentinel.conf")
            with open(conf, "w") as f:
                f.write(f"port {port}\nbind 127.0.0.1\ndir {d}\n"
                        f"sentinel monitor {NAME} 127.0.0.1 {ports[0]} 2\n"
                        f"sentinel down-after-milliseconds {NAME} {down_after}\n"
                        f"sentinel failover-timeout {NAME} {failover_timeout}\n")
            argv = [conf if a is None else a for a in sentinel] if kind == "redis" else sentinel + [conf]
            self.sentinels.append(Proc(argv, d, port))

    def start(self):
        for n in self.nodes:
            n.start()
        for n in self.nodes:
            wait_until(lambda: n.client().ping(), 20, f"node on {n.port} did not start")
        for s in self.sentinels:
            s.start()
        for s in self.sentinels:
            wait_until(lambda: s.client().ping(), 20, f"sentinel on {s.port} did not start")
        wait_until(lambda: all(len(s.client().sentinel_slaves(NAME)) == 2 and len(s.client().sentinel_sentinels(NAME)) == 2 for s in self.sentinels),
                   60, "sentinels did not discover the replicas and each other")

    def close(self):
        for p in self.nodes + self.sentinels:
            p.kill()

    def sentinel_addrs(self):
        return [("127.0.0.1", s.port) for s in self.sentinels]

    def sentinel_kwargs(self):
        """What a client logs in to the sentinels with (nothing here)."""
        return {}

    def node_kwargs(self):
        return {}

    def master_addr(self):
        """The primary as the sentinels that answer report it (a majority)."""
        votes = {}
        for s in self.sentinels:
            if not s.alive() or s.stopped:
                continue
            try:
                a = s.client(0.5).sentinel_get_master_addr_by_name(NAME)
                if a:
                    votes[int(a[1])] = votes.get(int(a[1]), 0) + 1
            except (redis.RedisError, OSError):
                pass
        return max(votes, key=votes.get) if votes else None

    def node(self, port):
        return next((n for n in self.nodes if n.port == port), None)

    def role(self, n):
        info = n.client().info("replication")
        return info

    def heal(self):
        for p in self.nodes + self.sentinels:
            p.cont()
            if not p.alive():
                p.start()


COMPOSE_FILE = os.path.join(ROOT, "deploy", "docker-compose.yml")
COMPOSE_PROJECT = "ferrokvnemesis"
COMPOSE_NODES = {"node1": 7001, "node2": 7002, "node3": 7003}
COMPOSE_SENTINELS = {"sentinel1": 27001, "sentinel2": 27002, "sentinel3": 27003}


def sh(*args, check=True, timeout=300):
    return subprocess.run(list(args), capture_output=True, text=True, check=check, timeout=timeout)


def compose(*args, check=True):
    return sh("docker-compose", "-f", COMPOSE_FILE, "-p", COMPOSE_PROJECT, *args, check=check)


class Container:
    """A compose service, with the interface of Proc: its faults are
    Docker's (kill, start, pause, network disconnect)."""

    def __init__(self, service, port):
        self.service, self.port, self.dir = service, port, None
        self.stopped = False
        self.cut = False

    def id(self):
        # Containers keep their id across kill/start/pause: ask compose once.
        if not getattr(self, "_id", None):
            self._id = compose("ps", "-q", self.service).stdout.strip()
        return self._id

    def running(self):
        return sh("docker", "inspect", "-f", "{{.State.Running}}", self.id(), check=False).stdout.strip() == "true"

    def alive(self):
        return self.running()

    def start(self):
        compose("start", self.service)
        self.stopped = False

    def kill(self):
        if self.stopped:
            self.cont()
        sh("docker", "kill", self.id(), check=False)

    def crash(self):
        """kill -9 of the server process: the restart policy brings the
        container back at once."""
        pid = sh("docker", "inspect", "-f", "{{.State.Pid}}", self.id()).stdout.strip()
        if pid and pid != "0":
            sh("kill", "-9", pid, check=False)

    def stop(self):
        sh("docker", "pause", self.id())
        self.stopped = True

    def cont(self):
        if self.stopped:
            sh("docker", "unpause", self.id(), check=False)
        self.stopped = False

    def disconnect(self):
        sh("docker", "network", "disconnect", f"{COMPOSE_PROJECT}_ferrokv", self.id())
        self.cut = True

    def reconnect(self):
        if self.cut:
            sh("docker", "network", "connect", f"{COMPOSE_PROJECT}_ferrokv", self.id(), check=False)
        self.cut = False

    def client(self, timeout=1.0):
        # The shipped cluster wants a password from every client (deploy/setup).
        which = "FERROKV_SENTINEL_ADMIN_PASSWORD" if self.service.startswith("sentinel") else "FERROKV_ADMIN_PASSWORD"
        return redis.Redis(host="127.0.0.1", port=self.port, socket_timeout=timeout, socket_connect_timeout=timeout, decode_responses=True,
                           password=deploy_passwords()[which])

    def digest(self):
        """The dataset's digest from outside (DEBUG is off in the shipped cluster)."""
        return content_digest(self.client(30.0))


class ComposeCluster:
    """deploy/docker-compose.yml as shipped, under its own project name."""

    kind = "ferrokv-compose"

    def __init__(self):
        self.root = None
        self.nodes = [Container(s, p) for s, p in COMPOSE_NODES.items()]
        self.sentinels = [Container(s, p) for s, p in COMPOSE_SENTINELS.items()]
        self._names = None

    def start(self):
        self._names = names_on_loopback(set(COMPOSE_NODES) | set(COMPOSE_SENTINELS))
        self._names.__enter__()
        sh(os.path.join(ROOT, "deploy", "build-image"), timeout=1800)
        compose("down", "-v", check=False)
        compose("up", "-d")
        for n in self.nodes + self.sentinels:
            wait_until(lambda: n.client().ping(), 60, f"{n.service} did not start")
        wait_until(lambda: all(len(s.client().sentinel_slaves(NAME)) == 2 and len(s.client().sentinel_sentinels(NAME)) == 2 for s in self.sentinels),
                   90, "sentinels did not discover the replicas and each other")

    def close(self, keep=False):
        if keep:
            for n in self.nodes + self.sentinels:
                with open(f"/tmp/{COMPOSE_PROJECT}-{n.service}.log", "w") as f:
                    f.write(compose("logs", "--no-color", n.service, check=False).stdout)
        compose("down", "-v", check=False)
        if self._names:
            self._names.__exit__(None, None, None)
            self._names = None

    def sentinel_addrs(self):
        return [("127.0.0.1", s.port) for s in self.sentinels]

    def sentinel_kwargs(self):
        return {"password": deploy_passwords()["FERROKV_SENTINEL_ADMIN_PASSWORD"]}

    def node_kwargs(self):
        return {"password": deploy_passwords()["FERROKV_ADMIN_PASSWORD"]}

    master_addr = None  # set below (shared with Cluster)

    def node(self, port):
        return next((n for n in self.nodes if n.port == port), None)

    def heal(self):
        for p in self.nodes + self.sentinels:
            p.cont()
            p.reconnect()
            if not p.alive():
                p.start()


ComposeCluster.master_addr = Cluster.master_addr


class Writers:
    """The workloads: set writers and list writers, each recording what was
    acknowledged (WAIT ≥ 1) and what was ever sent."""

    def __init__(self, cluster, set_threads=3, list_threads=1, wait_ms=200):
        self.cluster, self.wait_ms = cluster, wait_ms
        self.stop = threading.Event()
        self.lock = threading.Lock()
        self.acked_keys = []
        # When each was acknowledged (wall clock, to find the round in the logs).
        self.acked_at = []
        self.sent_keys = 0
        self.lists = {}  # key -> {"acked": [..], "sent": set()}
        self.errors = 0
        self.threads = [threading.Thread(target=self.set_writer, args=(i,), daemon=True) for i in range(set_threads)]
        self.threads += [threading.Thread(target=self.list_writer, args=(i,), daemon=True) for i in range(list_threads)]

    def master(self):
        s = Sentinel(self.cluster.sentinel_addrs(), socket_timeout=0.5, socket_connect_timeout=0.5,
                     sentinel_kwargs=self.cluster.sentinel_kwargs())
        return s.master_for(NAME, socket_timeout=1.0, socket_connect_timeout=0.5, decode_responses=True, **self.cluster.node_kwargs())

    def start(self):
        for t in self.threads:
            t.start()

    def finish(self):
        self.stop.set()
        for t in self.threads:
            t.join(timeout=30)

    def set_writer(self, tid):
        m = self.master()
        n = 0
        while not self.stop.is_set():
            key = f"k:{tid}:{n}"
            n += 1
            try:
                p = m.pipeline(transaction=False)
                p.set(key, 1)
                p.execute_command("WAIT", 1, self.wait_ms)
                _, acks = p.execute()
                with self.lock:
                    self.sent_keys += 1
                    if int(acks) >= 1:
                        self.acked_keys.append(key)
                        self.acked_at.append(time.time())
            except (redis.RedisError, OSError):
                with self.lock:
                    self.sent_keys += 1
                    self.errors += 1
                time.sleep(0.05)

    def list_writer(self, tid):
        m = self.master()
        key = f"list:{tid}"
        state = {"acked": [], "sent": set()}
        with self.lock:
            self.lists[key] = state
        n = 0
        while not self.stop.is_set():
            n += 1
            state["sent"].add(str(n))
            try:
                p = m.pipeline(transaction=False)
                p.rpush(key, n)
                p.execute_command("WAIT", 1, self.wait_ms)
                _, acks = p.execute()
                if int(acks) >= 1:
                    state["acked"].append(str(n))
            except (redis.RedisError, OSError):
                with self.lock:
                    self.errors += 1
                time.sleep(0.05)


class Nemesis:
    def __init__(self, cluster, faults, rng):
        self.c, self.faults, self.rng = cluster, faults, rng
        self.log = []

    def primary(self):
        port = self.c.master_addr()
        return self.c.node(port) if port else None

    def act(self, fault):
        c = self.c
        p = self.primary()
        if fault == "kill" and p is not None:
            p.kill()
            self.log.append(f"kill -9 primary {p.port}")
            return [(5.0, p.start)]
        if fault == "crash" and p is not None:
            p.crash()
            self.log.append(f"crash of primary {p.port}, restarted at once")
            return []
        if fault == "partition" and p is not None:
            p.disconnect()
            self.log.append(f"partition of primary {p.port}")
            return [(4.0, p.reconnect)]
        if fault == "stop-primary" and p is not None:
            p.stop()
            self.log.append(f"stop primary {p.port} (SIGSTOP / docker pause)")
            return [(4.0, p.cont)]
        if fault == "stop-replica":
            r = self.rng.choice([n for n in c.nodes if n is not p])
            r.stop()
            self.log.append(f"stop replica {r.port} (SIGSTOP / docker pause)")
            return [(2.0, r.cont)]
        if fault == "kill-sentinel":
            s = self.rng.choice(c.sentinels)
            s.kill()
            self.log.append(f"kill -9 sentinel {s.port}")
            return [(3.0, s.start)]
        if fault == "resync-kill" and isinstance(c, Cluster):
            r = self.rng.choice([n for n in c.nodes if n is not p])
            r.kill()
            for f in os.listdir(r.dir):
                path = os.path.join(r.dir, f)
                if f.startswith("appendonly") or f.endswith(".rdb"):
                    shutil.rmtree(path) if os.path.isdir(path) else os.remove(path)
            r.start()
            self.log.append(f"replica {r.port} restarted empty, killed during its sync")

            def kill_again():
                # Kill it while the full sync runs (or as soon after as it can be seen).
                deadline = time.monotonic() + 2
                while time.monotonic() < deadline:
                    try:
                        info = r.client(0.3).info("replication")
                        if info.get("master_sync_in_progress") == 1 or info.get("master_link_status") == "up":
                            break
                    except (redis.RedisError, OSError):
                        pass
                    time.sleep(0.01)
                r.kill()
                r.start()
            return [(0.0, kill_again)]
        return []

    def run(self, rounds, period):
        for i in range(rounds):
            choices = FAULTS + NETWORK_FAULTS if isinstance(self.c, ComposeCluster) else FAULTS
            if isinstance(self.c, ComposeCluster):
                choices = [f for f in choices if f != "resync-kill"]
            fault = self.rng.choice(choices) if self.faults == "mixed" else self.faults
            started = time.monotonic()
            logged = len(self.log)
            undo = self.act(fault)
            if len(self.log) > logged:
                self.log[-1] = f"{time.strftime('%H:%M:%S', time.gmtime())} {self.log[-1]}"
            # Fault durations count from when the fault took effect.
            applied = time.monotonic()
            for delay, f in sorted(undo, key=lambda x: x[0]):
                left = applied + delay - time.monotonic()
                if left > 0:
                    time.sleep(left)
                f()
            left = started + period - time.monotonic()
            if left > 0:
                time.sleep(left)


class FailoverCounter(threading.Thread):
    """Counts changes of the primary the sentinels hand out."""

    def __init__(self, cluster):
        super().__init__(daemon=True)
        self.c, self.stop, self.changes, self.last = cluster, threading.Event(), 0, None

    def run(self):
        while not self.stop.is_set():
            a = self.c.master_addr()
            if a is not None and self.last is not None and a != self.last:
                self.changes += 1
            if a is not None:
                self.last = a
            time.sleep(0.1)


def settle(c, seconds):
    """After healing: the sentinels agree on one primary that says master,
    the other two follow it with the link up and its offset."""
    state = {}

    def settled():
        port = c.master_addr()
        if port is None:
            return False
        primary = c.node(port)
        info = primary.client().info("replication")
        if info["role"] != "master":
            return False
        offset = info["master_repl_offset"]
        for n in c.nodes:
            if n is primary:
                continue
            ri = n.client().info("replication")
            if ri["role"] != "slave" or int(ri["master_port"]) != port or ri["master_link_status"] != "up":
                return False
            if ri["slave_repl_offset"] != offset:
                return False
        if primary.client().info("replication")["master_repl_offset"] != offset:
            return False
        state["primary"] = primary
        return True

    wait_until(settled, seconds, "the cluster did not settle on one primary with every replica caught up", every=0.25)
    return state["primary"]


def check(c, writers, primary):
    r = primary.client(5.0)
    lost_keys, lost_at = [], []
    keys = writers.acked_keys
    for i in range(0, len(keys), 1000):
        batch = keys[i:i + 1000]
        p = r.pipeline(transaction=False)
        for k in batch:
            p.exists(k)
        for j, (k, e) in enumerate(zip(batch, p.execute())):
            if not e:
                lost_keys.append(k)
                lost_at.append(writers.acked_at[i + j])
    list_lost, list_bad = 0, []
    for key, st in writers.lists.items():
        final = r.lrange(key, 0, -1)
        unknown = [v for v in final if v not in st["sent"]]
        dups = len(final) - len(set(final))
        if unknown or dups:
            list_bad.append(f"{key}: {len(unknown)} elements never written, {dups} twice")
        if [int(v) for v in final] != sorted(int(v) for v in final):
            list_bad.append(f"{key}: out of order")
        present = set(final)
        missing = [v for v in st["acked"] if v not in present]
        list_lost += len(missing)
        # Acknowledged elements appear in the order they were acknowledged.
        pos = {v: i for i, v in enumerate(final)}
        kept = [pos[v] for v in st["acked"] if v in pos]
        if kept != sorted(kept):
            list_bad.append(f"{key}: acknowledged elements out of order")
    roles = [n.client().info("replication")["role"] for n in c.nodes]
    digests = [n.digest() if isinstance(n, Container) else n.client(10.0).execute_command("DEBUG", "DIGEST") for n in c.nodes]
    return {
        "acked": len(keys),
        "lost": len(lost_keys),
        "lost_sample": lost_keys[:5],
        "lost_when": [time.strftime("%H:%M:%S", time.gmtime(t)) + f".{int(t * 1000) % 1000:03d}" for t in (min(lost_at), max(lost_at))] if lost_at else [],
        "list_acked": sum(len(s["acked"]) for s in writers.lists.values()),
        "list_lost": list_lost,
        "list_anomalies": list_bad,
        "primaries": roles.count("master"),
        "digests_equal": len(set(digests)) == 1,
    }


def busy_loops(n):
    return [subprocess.Popen([sys.executable, "-c", "while True: pass"]) for _ in range(n)]


def run(kind, rounds, faults, seed=None, cpu_pressure=0, appendfsync="everysec", period=8.0, profile="debug", keep=False, cluster="local"):
    seed = seed if seed is not None else random.randrange(1 << 30)
    rng = random.Random(seed)
    c = ComposeCluster() if cluster == "compose" else Cluster(kind, appendfsync=appendfsync, profile=profile)
    kind = c.kind if cluster == "compose" else kind
    burners = []
    result = {"kind": kind, "rounds": rounds, "faults": faults, "appendfsync": appendfsync, "cpu_pressure": cpu_pressure, "seed": seed}
    try:
        c.start()
        counter = FailoverCounter(c)
        counter.start()
        writers = Writers(c)
        writers.start()
        burners = busy_loops(cpu_pressure)
        nemesis = Nemesis(c, faults, rng)
        try:
            nemesis.run(rounds, period)
        finally:
            for b in burners:
                b.kill()
                b.wait()
            burners = []
        c.heal()
        time.sleep(2)
        writers.finish()
        primary = settle(c, 90)
        counter.stop.set()
        counter.join()
        result.update(check(c, writers, primary))
        result.update({"failovers": counter.changes, "sent": writers.sent_keys, "errors": writers.errors, "actions": nemesis.log})
        result["ok"] = result["lost"] == 0 and result["list_lost"] == 0 and not result["list_anomalies"] and result["primaries"] == 1 and result["digests_equal"]
    except TimeoutError as e:
        result.update({"ok": False, "error": str(e)})
    finally:
        for b in burners:
            b.kill()
        c.close(keep=keep or not result.get("ok")) if isinstance(c, ComposeCluster) else c.close()
        result["dir"] = c.root
        if c.root and result.get("ok") and not keep:
            shutil.rmtree(c.root, ignore_errors=True)
    return result


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--kind", choices=["ferrokv", "redis"], default="ferrokv")
    ap.add_argument("--rounds", type=int, default=10)
    ap.add_argument("--faults", choices=["mixed"] + FAULTS + NETWORK_FAULTS, default="mixed")
    ap.add_argument("--cluster", choices=["local", "compose"], default="local")
    ap.add_argument("--cpu-pressure", type=int, default=0)
    ap.add_argument("--appendfsync", choices=["everysec", "always"], default="everysec")
    ap.add_argument("--period", type=float, default=8.0)
    ap.add_argument("--seed", type=int)
    ap.add_argument("--profile", default="debug")
    ap.add_argument("--keep", action="store_true")
    a = ap.parse_args()
    result = run(a.kind, a.rounds, a.faults, a.seed, a.cpu_pressure, a.appendfsync, a.period, a.profile, a.keep, a.cluster)
    print(json.dumps(result), flush=True)
    return 0 if result.get("ok") else 1


if __name__ == "__main__":
    sys.exit(main())
