//! FUNCTION and FCALL, compared byte for byte with Redis 7.0: loading
//! libraries (metadata, registration and their errors), calling functions
//! with their flags, FUNCTION LIST / STATS / DUMP / RESTORE / DELETE /
//! FLUSH, payloads exchanged with Redis both ways, a busy function and
//! FUNCTION KILL, and libraries kept by RDB, AOF and replication.

mod common;
use common::*;

use std::time::Duration;

/// A one-function library `name` whose function `f` runs `body` (Lua,
/// with KEYS and ARGV as `keys` and `args`).
fn lib(name: &str, f: &str, body: &str) -> String {
    format!("#!lua name={name}\nredis.register_function('{f}', function(keys, args) {body} end)")
}

#[test]
fn loading_libraries_matches_redis() {
    let pair = Pair::new(&[]);
    run_script(
        &pair,
        r##"
function load "return 1"
function load "#!lua"
function load "#!lua name=x"
function load "#!lua\n"
function load "#!lua name=x foo=bar\n"
function load "#!lua name=x name=y\n"
function load "#!lua2 name=x\n"
function load "#!lua name=x-y\nredis.register_function('a', function() end)"
function load "#!lua name=x\n"
function load "#!lua name=x\nreturn ("
function load "#!lua name=x\nredis.register_function('a-b', function() end)"
function load "#!lua name=x\nredis.register_function('a')"
function load "#!lua name=x\nredis.register_function(1, 2, 3)"
function load "#!lua name=x\nredis.register_function(2, 3)"
function load "#!lua name=x\nredis.register_function({}, function() end)"
function load "#!lua name=x\nredis.register_function{callback=function() end}"
function load "#!lua name=x\nredis.register_function{function_name='a'}"
function load "#!lua name=x\nredis.register_function{function_name='a', callback=1}"
function load "#!lua name=x\nredis.register_function{function_name='a', callback=function() end, flags='no-writes'}"
function load "#!lua name=x\nredis.register_function{function_name='a', callback=function() end, flags={'bad'}}"
function load "#!lua name=x\nredis.register_function{function_name='a', callback=function() end, foo=1}"
function load "#!lua name=x\nredis.register_function{function_name={}, callback=function() end}"
function load "#!lua name=x\nredis.register_function{function_name='a', callback=function() end, description={}}"
function load "#!lua name=x\nredis.register_function('b', function() end) redis.register_function('b', function() end)"
function load "#!lua name=x\nerror('boom')"
function load "#!lua name=x\nreturn string.len('a')"
function load "#!lua name=x\nredis.call('ping')"
function load "#!lua name=x\nredis.log(redis.LOG_WARNING, 'loading ' .. redis.REDIS_VERSION) redis.register_function('f1', function() return 1 end)"
function load "#!lua name=x\nredis.register_function('f2', function() return 2 end)"
function load replace "#!lua name=x\nredis.register_function('f2', function() return 2 end)"
fcall f1 0
fcall f2 0
function load "#!LUA   name=y  \nredis.register_function('f2', function() return 3 end)"
function load "#!lua name=y\nredis.register_function{function_name=5, callback=function() return 5 end, flags={'no-writes', 'ALLOW-OOM', 'allow-stale', 'no-cluster', 'allow-cross-slot-keys'}, description='five'}"
fcall 5 0
function load foo "#!lua name=z\nredis.register_function('z', function() return 1 end)"
function load "#!lua name=z\nwhile true do end"
function delete nosuch
function delete y
fcall 5 0
function flush bogus
function flush sync
fcall f2 0
function load "#!lua name=x\nredis.register_function('f', function() return 1 end)"
function flush async
function list
function help
function nosuch
function stats extra
"##,
    );
}

#[test]
fn fcall_replies_and_errors_match_redis() {
    let pair = Pair::new(&[]);
    let code = r##"#!lua name=mylib
local function set(keys, args)
  return redis.call('SET', keys[1], args[1])
end
redis.register_function('set', set)
redis.register_function{function_name='get', callback=function(keys) return redis.call('GET', keys[1]) end, flags={'no-writes'}}
redis.register_function{function_name='rowrite', callback=function(keys) return redis.call('SET', keys[1], 'x') end, flags={'no-writes'}}
redis.register_function('unknown', function() return redis.call('nosuch') end)
redis.register_function('global', function() return nosuchvar end)
redis.register_function('keys', function() return KEYS end)
redis.register_function('raise', function() error('boom') end)
redis.register_function('reply', function() return redis.error_reply('MY oops') end)
redis.register_function('args', function(keys, args) return {#keys, #args, keys[1], args[1], args[2]} end)
redis.register_function('types', function() return {type(string), type(cjson), type(redis.call), type(redis.register_function)} end)
redis.register_function('reg', function() redis.register_function('q', function() end) end)
redis.register_function('resp3', function() redis.setresp(3) return redis.call('HGETALL', 'h') end)
redis.register_function('select', function() redis.call('SELECT', 5) return redis.call('SET', 'k', 'db5') end)
"##;
    for node in [&pair.ours, &pair.redis] {
        assert_eq!(node.conn().cmd(&["FUNCTION", "LOAD", code]), bulk("mylib"));
    }
    run_script(
        &pair,
        r#"
fcall set 1 k v
fcall get 1 k
fcall_ro get 1 k
fcall_ro set 1 k v
fcall rowrite 1 k
fcall unknown 0
fcall global 0
fcall keys 0
fcall raise 0
fcall reply 0
fcall args 2 k1 k2 a1 a2
fcall types 0
fcall reg 0
hset h f v
fcall resp3 0
? hello 3
fcall resp3 0
? hello 2
fcall select 0
get k
fcall nosuch 0
fcall set -1
fcall set 5 a
fcall set x
fcall
fcall_ro
multi
fcall set 1 k inmulti
fcall get 1 k
exec
eval "return redis.call('fcall', 'get', 1, 'k')" 0
"#,
    );
}

#[test]
fn list_stats_dump_and_restore_match_redis() {
    let pair = Pair::new(&[]);
    for node in [&pair.ours, &pair.redis] {
        let mut c = node.conn();
        assert_eq!(c.cmd(&["FUNCTION", "LOAD", &lib("alpha", "a1", "return 1")]), bulk("alpha"));
        let described = "#!lua name=beta\nredis.register_function{function_name='b1', callback=function() return 2 end, flags={'allow-stale', 'no-writes'}, description='the b'}";
        assert_eq!(c.cmd(&["FUNCTION", "LOAD", described]), bulk("beta"));
    }
    run_script(
        &pair,
        r#"
function list libraryname alpha
function list libraryname BET* withcode
function list withcode libraryname b?ta
function list libraryname AL*
function list libraryname
function list bogus
function list withcode withcode
function stats
? hello 3
function list libraryname beta
function stats
? hello 2
function restore bogus
function restore "\xf5\x00\x0a\x00\x00\x00\x00\x00\x00\x00\x00\x00"
function restore "" bogus
"#,
    );
    // Payloads cross both ways: each side restores the other's DUMP.
    let (mut ours, mut theirs) = (pair.ours.conn(), pair.redis.conn());
    let (our_dump, their_dump) = (ours.cmd_raw(&[b"FUNCTION", b"DUMP"]), theirs.cmd_raw(&[b"FUNCTION", b"DUMP"]));
    let payload = |raw: &[u8]| match ferrokv_resp::Frame::parse(raw) {
        Ok(Some((ferrokv_resp::Frame::Bulk(b), _))) => b.to_vec(),
        other => panic!("FUNCTION DUMP replied {other:?}"),
    };
    let (our_dump, their_dump) = (payload(&our_dump), payload(&their_dump));
    for (conn, dump) in [(&mut ours, &their_dump), (&mut theirs, &our_dump)] {
        // Which library is named first follows Redis's hash order.
        let refused = String::from_utf8_lossy(&conn.cmd_raw(&[b"FUNCTION", b"RESTORE", dump])).into_owned();
        assert!(refused == "-ERR Library alpha already exists\r\n" || refused == "-ERR Library beta already exists\r\n", "{refused}");
        assert_eq!(conn.cmd_raw(&[b"FUNCTION", b"RESTORE", dump, b"REPLACE"]), b"+OK\r\n".to_vec());
        assert_eq!(conn.cmd_raw(&[b"FUNCTION", b"FLUSH"]), b"+OK\r\n".to_vec());
        assert_eq!(conn.cmd_raw(&[b"FCALL", b"a1", b"0"]), b"-ERR Function not found\r\n".to_vec());
        assert_eq!(conn.cmd_raw(&[b"FUNCTION", b"RESTORE", dump]), b"+OK\r\n".to_vec());
        assert_eq!(conn.cmd_raw(&[b"FCALL", b"b1", b"0"]), b":2\r\n".to_vec());
        assert_eq!(conn.cmd(&["FUNCTION", "DELETE", "alpha"]), simple("OK"));
        assert_eq!(conn.cmd(&["FUNCTION", "LOAD", &lib("gamma", "a1", "return 3")]), bulk("gamma"));
    }
    run_script(
        &pair,
        r#"
function list libraryname gamma
function list libraryname beta
fcall a1 0
"#,
    );
    for (conn, dump) in [(&mut ours, &their_dump), (&mut theirs, &our_dump)] {
        assert_eq!(conn.cmd_raw(&[b"FUNCTION", b"RESTORE", dump, b"REPLACE"]), b"-ERR Function a1 already exists\r\n".to_vec());
        assert_eq!(conn.cmd_raw(&[b"FUNCTION", b"RESTORE", dump, b"FLUSH"]), b"+OK\r\n".to_vec());
        assert_eq!(conn.cmd_raw(&[b"FCALL", b"a1", b"0"]), b":1\r\n".to_vec());
    }
}

#[test]
fn a_busy_function_answers_stats_and_function_kill_as_redis() {
    let pair = Pair::new(&["--busy-reply-threshold", "100"]);
    let code = "#!lua name=busy\nredis.register_function('spin', function() while true do end end)\nredis.register_function('spinw', function(keys) redis.call('SET', keys[1], '1') while true do end end)";
    for node in [&pair.ours, &pair.redis] {
        assert_eq!(node.conn().cmd(&["FUNCTION", "LOAD", code]), bulk("busy"));
    }
    run_script(
        &pair,
        r#"
function kill
> @1 fcall spin 0
!sleep 400
@2 ping
@2 script kill
@2 function list
? @2 function stats
@2 function kill
@1 !read
ping
> @1 eval "while true do end" 0
!sleep 400
@2 function kill
@2 script kill
@1 !read
"#,
    );
    // FUNCTION STATS names the running function and its command.
    for node in [&pair.ours, &pair.redis] {
        let (mut runner, mut other) = (node.conn(), node.conn());
        runner.send(&[b"FCALL", b"spinw", b"1", b"k"]);
        assert!(eventually(Duration::from_secs(5), || other.cmd(&["PING"]) != simple("PONG")));
        let stats = String::from_utf8_lossy(&other.cmd_raw(&[b"FUNCTION", b"STATS"])).into_owned();
        assert!(stats.starts_with("*4\r\n$14\r\nrunning_script\r\n*6\r\n$4\r\nname\r\n$5\r\nspinw\r\n$7\r\ncommand\r\n*4\r\n$5\r\nFCALL\r\n$5\r\nspinw\r\n$1\r\n1\r\n$1\r\nk\r\n$11\r\nduration_ms\r\n:"), "{stats}");
        assert!(stats.ends_with("$7\r\nengines\r\n*2\r\n$3\r\nLUA\r\n*4\r\n$15\r\nlibraries_count\r\n:1\r\n$15\r\nfunctions_count\r\n:2\r\n"), "{stats}");
        assert!(String::from_utf8_lossy(&other.cmd_raw(&[b"FUNCTION", b"KILL"])).starts_with("-UNKILLABLE"));
        // SHUTDOWN NOSAVE stops the node: the connection closes unanswered.
        other.send(&[b"SHUTDOWN", b"NOSAVE"]);
        assert_eq!(other.read_to_close(), b"");
    }
}

const LIB: &str = "#!lua name=kept\nredis.register_function('kept', function(keys) return redis.call('INCR', keys[1]) end)\nredis.register_function{function_name='peek', callback=function(keys) return redis.call('GET', keys[1]) end, flags={'no-writes'}}";

#[test]
fn libraries_survive_restarts_and_rdb_files_cross_with_redis() {
    // Saved in dump.rdb, loaded at start-up.
    let mut ours = Node::ferrokv(&[]);
    let mut c = ours.conn();
    assert_eq!(c.cmd(&["FUNCTION", "LOAD", LIB]), bulk("kept"));
    assert_eq!(c.cmd(&["FCALL", "kept", "1", "n"]), int(1));
    assert_eq!(c.cmd(&["SAVE"]), simple("OK"));
    ours.restart(&[]);
    let mut c = ours.conn();
    assert_eq!(c.cmd(&["FCALL", "kept", "1", "n"]), int(2));
    // Redis 7.0 loads our file...
    let redis = Node::redis(&["--enable-debug-command", "yes"]);
    std::fs::copy(ours.dir.path().join("dump.rdb"), redis.dir.path().join("dump.rdb")).expect("copy our dump.rdb");
    let mut r = redis.conn();
    assert_eq!(r.cmd(&["DEBUG", "RELOAD", "NOSAVE"]), simple("OK"));
    assert_eq!(r.cmd(&["FCALL_RO", "peek", "1", "n"]), bulk("1"));
    // ...and we load Redis's.
    assert_eq!(r.cmd(&["FUNCTION", "LOAD", &lib("theirs", "theirs", "return 'from redis'")]), bulk("theirs"));
    assert_eq!(r.cmd(&["SAVE"]), simple("OK"));
    std::fs::copy(redis.dir.path().join("dump.rdb"), ours.dir.path().join("dump.rdb")).expect("copy Redis's dump.rdb");
    ours.restart(&[]);
    let mut c = ours.conn();
    assert_eq!(c.cmd(&["FCALL", "theirs", "0"]), bulk("from redis"));
    assert_eq!(c.cmd(&["FCALL_RO", "peek", "1", "n"]), bulk("1"));
}

#[test]
fn libraries_survive_an_aof_restart_and_its_rewrite() {
    for preamble in ["yes", "no"] {
        let args = ["--appendonly", "yes", "--appendfsync", "always", "--aof-use-rdb-preamble", preamble];
        let mut node = Node::ferrokv(&args);
        let mut c = node.conn();
        assert_eq!(c.cmd(&["FUNCTION", "LOAD", LIB]), bulk("kept"));
        assert_eq!(c.cmd(&["FUNCTION", "LOAD", &lib("gone", "gone", "return 0")]), bulk("gone"));
        assert_eq!(c.cmd(&["FUNCTION", "DELETE", "gone"]), simple("OK"));
        assert_eq!(c.cmd(&["FCALL", "kept", "1", "n"]), int(1));
        node.restart(&args);
        let mut c = node.conn();
        assert_eq!(c.cmd(&["FCALL", "kept", "1", "n"]), int(2), "from the AOF's commands (preamble {preamble})");
        assert_eq!(c.cmd(&["FCALL", "gone", "0"]), err("ERR Function not found"));
        // The rewrite's base holds the libraries (RDB records or FUNCTION LOAD).
        assert_eq!(c.cmd(&["BGREWRITEAOF"]), simple("Background append only file rewriting started"));
        assert!(eventually(WAIT, || info_field(&mut c, "persistence", "aof_rewrite_in_progress") == "0"));
        node.restart(&args);
        let mut c = node.conn();
        assert_eq!(c.cmd(&["FCALL", "kept", "1", "n"]), int(3), "from the rewritten base (preamble {preamble})");
    }
}

#[test]
fn replicas_get_libraries_by_full_sync_and_by_the_stream() {
    let primary = Node::ferrokv(&[]);
    let mut p = primary.conn();
    assert_eq!(p.cmd(&["FUNCTION", "LOAD", LIB]), bulk("kept"));
    assert_eq!(p.cmd(&["FCALL", "kept", "1", "n"]), int(1));
    let port = primary.port.to_string();
    let replica = Node::ferrokv(&["--replicaof", "127.0.0.1", &port]);
    let mut r = replica.conn();
    assert!(eventually(WAIT, || info_field(&mut r, "replication", "master_link_status") == "up"));
    assert!(eventually(WAIT, || r.cmd(&["FCALL_RO", "peek", "1", "n"]) == bulk("1")), "the library came with the full sync");
    assert_eq!(r.cmd(&["FCALL", "kept", "1", "n"]), err("READONLY You can't write against a read only replica."));
    assert_eq!(r.cmd(&["FUNCTION", "LOAD", &lib("x", "x", "return 1")]), err("READONLY You can't write against a read only replica."));
    // A function's effects, and later FUNCTION commands, follow the stream.
    assert_eq!(p.cmd(&["FCALL", "kept", "1", "n"]), int(2));
    assert_eq!(p.cmd(&["FUNCTION", "LOAD", &lib("later", "later", "return 'l'")]), bulk("later"));
    assert!(eventually(WAIT, || r.cmd(&["FCALL_RO", "peek", "1", "n"]) == bulk("2")));
    assert!(eventually(WAIT, || r.cmd(&["FCALL", "later", "0"]) == err("READONLY You can't write against a read only replica.")));
    assert_eq!(p.cmd(&["FUNCTION", "FLUSH"]), simple("OK"));
    assert!(eventually(WAIT, || r.cmd(&["FCALL_RO", "peek", "1", "n"]) == err("ERR Function not found")));
}
