//! Lua scripting (EVAL, EVALSHA, EVAL_RO, SCRIPT), compared byte for byte
//! with Redis 7.0: replies and conversions both ways, Redis's error texts
//! (with the script's SHA and line), global protection, what may be called
//! from a script, SELECT local to the script, and RESP3 conversions.

mod common;
use common::*;

#[test]
fn eval_replies_and_conversions_match_redis() {
    let pair = Pair::new(&[]);
    run_script(
        &pair,
        r#"
eval "return 1" 0
eval "return 3.99" 0
eval "return -3.99" 0
eval "return 1e300" 0
eval "return -1e300" 0
eval "return 0/0" 0
eval "return {1e300, 2^53, -0.5}" 0
eval "return 'hello'" 0
eval "return true" 0
eval "return false" 0
eval "return nil" 0
eval "return" 0
eval "return {1,2,3,nil,4}" 0
eval "return {1,{2,{3}},'x'}" 0
eval "local t = {} t[1]='a' t[3]='c' return t" 0
eval "return {ok='fine'}" 0
eval "return {err='E1 z'}" 0
eval "return redis.status_reply('S')" 0
eval "return redis.error_reply('My Error')" 0
eval "return redis.error_reply('-X y')" 0
eval "return {1, redis.status_reply('x'), redis.error_reply('E y')}" 0
eval "return {KEYS[1], KEYS[2], ARGV[1], ARGV[2], #KEYS, #ARGV}" 2 k1 k2 a1 a2
eval "return redis.sha1hex('')" 0
eval "return redis.sha1hex('abc')" 0
eval "return redis.REDIS_VERSION .. ' ' .. redis.REDIS_VERSION_NUM" 0
eval "return tostring(0.1+0.2)" 0
eval "return redis.call('set','a','1')" 0
eval "return redis.call('incr','a')" 0
eval "return redis.call('get','a')" 0
eval "return redis.call('hgetall','nokey')" 0
eval "return redis.call('get','nokey')" 0
eval "return redis.call('ping')" 0
eval "return redis.call('set','k', 3.5)" 0
eval "return redis.call('set','k', 12345678901234567)" 0
get k
eval "redis.call('rpush','l','a','b','c') return redis.call('lrange','l',0,-1)" 0
eval "return redis.call('type','l')" 0
eval "return pcall(function() return 1 end)" 0
eval "return redis.replicate_commands()" 0
eval "return redis.acl_check_cmd('get', 'k')" 0
eval "return redis.acl_check_cmd('nosuch')" 0
eval "return redis.set_repl(redis.REPL_ALL)" 0
eval "return redis.log(redis.LOG_WARNING, 'from a script')" 0
eval "return tostring(redis.breakpoint())" 0
eval "return redis.setresp(3)" 0
eval "redis.setresp(3) return redis.call('hgetall','nokey')" 0
hset h f v
eval "redis.setresp(3) return redis.call('hgetall','h')" 0
eval "redis.setresp(3) local r = redis.call('hgetall','h') return r['map']['f']" 0
eval "return type(loadstring)" 0
eval "return string.upper('abc') .. math.floor(2.5) .. table.concat({'a','b'}, '-')" 0
eval "local x = 5 return x" 0
eval "local function f() return 7 end return f()" 0
"#,
    );
}

#[test]
fn cjson_and_bit_match_redis() {
    let pair = Pair::new(&[]);
    run_script(
        &pair,
        r#"
eval "return cjson.encode({1,2,3})" 0
eval "return cjson.encode({a=1})" 0
eval "return cjson.encode({})" 0
eval "return cjson.encode('a/b\"c\\d\n\1\127')" 0
eval "return cjson.encode(3.14159265358979)" 0
eval "return cjson.encode(1e100)" 0
eval "return cjson.encode(12345678901234567)" 0
eval "return cjson.encode({[1]=1,[3]=3})" 0
eval "return cjson.encode({[1]=1,[20]=3})" 0
eval "return cjson.encode({1,2,x=3})" 0
eval "return cjson.encode(nil)" 0
eval "return cjson.encode(true)" 0
eval "return cjson.encode(cjson.null)" 0
eval "return cjson.encode({[1.5]=1})" 0
eval "return cjson.encode(0/0)" 0
eval "return cjson.encode(function() end)" 0
eval "return cjson.encode({a={b={c={}}}})" 0
eval "return cjson.encode({'a', {}, {1}})" 0
eval "return cjson.encode(-0.0)" 0
eval "return cjson.encode(0.1)" 0
eval "return cjson.encode(100000000000000)" 0
eval "return cjson.decode('[1,2,{\"a\":null}]')[3].a == cjson.null" 0
eval "local t = cjson.decode('{\"a\":[1,2.5,\"x\"],\"b\":true}') return {t.a[1], t.a[2], t.a[3], tostring(t.b)}" 0
eval "return cjson.decode('bad')" 0
eval "return cjson.decode('[1,2')" 0
eval "return cjson.decode('\"\\u00e9\"')" 0
eval "return cjson.decode('  {\"k\" : 1 }  ').k" 0
eval "return cjson.decode('[]')[1]" 0
eval "return cjson.encode(cjson.decode('{\"x\":1e2}'))" 0
eval "return type(cjson.null)" 0
eval "return bit.band(0xff, 0x0f)" 0
eval "return bit.bor(1,2,4)" 0
eval "return bit.bxor(5,3)" 0
eval "return bit.bnot(0)" 0
eval "return bit.lshift(1,31)" 0
eval "return bit.rshift(-1,28)" 0
eval "return bit.arshift(-256,4)" 0
eval "return bit.rol(0x12345678, 8)" 0
eval "return bit.ror(0x12345678, 8)" 0
eval "return bit.tohex(255)" 0
eval "return bit.tohex(-1, -4)" 0
eval "return bit.tobit(4294967297)" 0
eval "return bit.bswap(0x12345678)" 0
eval "return bit.tohex(0x12345678, 2)" 0
eval "return bit.band('x')" 0
eval "return bit.band()" 0
eval "return bit.tohex({})" 0
eval "return bit.lshift(1)" 0
eval "return bit.band('0x10', '3')" 0
eval "return bit.bnot(nil)" 0
eval "return bit.tobit('12abc')" 0
eval "return bit.bor(1, 2, 'z')" 0
eval "redis.log()" 0
eval "redis.log(1)" 0
eval "redis.log('x', 'y')" 0
eval "redis.log(99, 'y')" 0
eval "redis.log('3', 'y')" 0
eval "return redis.log(3, 'a', 1, nil, {})" 0
eval "cjson.x = 1" 0
"#,
    );
}

#[test]
fn script_errors_match_redis() {
    let pair = Pair::new(&[]);
    run_script(
        &pair,
        r#"
eval "return (" 0
eval "x = 1" 0
eval "return x" 0
eval "function f() end" 0
eval "redis.call = nil" 0
eval "string.x = 1" 0
eval "KEYS = 1" 0
eval "return type(print)" 0
eval "return type(debug)" 0
eval "return type(loadfile)" 0
eval "error('boom')" 0
eval "error({err='TABLE err'})" 0
eval "return redis.call('nosuch')" 0
eval "return redis.pcall('nosuch')" 0
eval "return redis.call('get')" 0
eval "return redis.pcall('get')" 0
eval "return redis.call('get', {})" 0
eval "return redis.pcall('get', {})" 0
eval "return redis.call()" 0
eval "return redis.call('multi')" 0
eval "return redis.call('blpop','nokey',0)" 0
eval "return redis.call('eval','return 1','0')" 0
set str v
eval "return redis.call('hset','str','f','v')" 0
eval "return redis.pcall('hset','str','f','v')" 0
eval "local r = redis.pcall('hset','str','f','v') return r['err']" 0
eval "return redis.call('config','nosuch')" 0
eval_ro "return redis.call('set','a','b')" 0
eval_ro "return redis.call('get','str')" 0
eval "return {err=''}" 0
eval "return {err='a\\nb\\rc'}" 0
eval "return {ok='a\\nb\\rc'}" 0
eval "return {1, {err='a\\nb'}}" 0
eval "error('x\\ny')" 0
eval "redis.setresp(3) return {big_number='1\\n2'}" 0
eval "return 1" -1
eval "return 1" 5 a
eval "return 1" x
evalsha 0000000000000000000000000000000000000000 0
evalsha abc 0
eval "return redis.setresp(4)" 0
eval "local function f() return 1 + f() end return f()" 0
eval "return string.rep('x', -1)" 0
eval "return #string.rep('ab', 1000000)" 0
ping
"#,
    );
}

#[test]
fn script_cache_and_select_match_redis() {
    let pair = Pair::new(&[]);
    run_script(
        &pair,
        r#"
script load "return 'cached'"
script exists 952f49ffc8f7b098d8ab5da45d3164ca36ed18b1 0000000000000000000000000000000000000000
evalsha 952f49ffc8f7b098d8ab5da45d3164ca36ed18b1 0
evalsha 952F49FFC8F7B098D8AB5DA45D3164CA36ED18B1 0
evalsha_ro 952f49ffc8f7b098d8ab5da45d3164ca36ed18b1 0
eval "return 'via eval'" 0
script exists e0e1f9fabfc9d4800c877a703b823ac0578ff8db
script flush
script exists 952f49ffc8f7b098d8ab5da45d3164ca36ed18b1
evalsha 952f49ffc8f7b098d8ab5da45d3164ca36ed18b1 0
script flush async
script flush bogus
script kill
script help
script exists
script load
script nosuch
set k db0
eval "redis.call('select', 3) redis.call('set', 'k', 'db3') return redis.call('get', 'k')" 0
get k
select 3
get k
"#,
    );
}

#[test]
fn a_script_is_atomic_and_replicates_its_effects() {
    let primary = Node::ferrokv(&[]);
    let mut p = primary.conn();
    let port = primary.port.to_string();
    let replica = Node::ferrokv(&["--replicaof", "127.0.0.1", &port]);
    let mut r = replica.conn();
    assert!(eventually(WAIT, || r.cmd(&["info", "replication"]).as_bytes().is_some_and(|b| String::from_utf8_lossy(b).contains("master_link_status:up"))));
    // TIME-dependent and random effects replicate as what the script did.
    let script = "redis.call('set', KEYS[1], ARGV[1]) redis.call('incrby', KEYS[2], 5) redis.call('expire', KEYS[1], 100) return redis.call('get', KEYS[1])";
    assert_eq!(p.cmd(&["eval", script, "2", "s", "n", "value"]), bulk("value"));
    assert_eq!(p.cmd(&["eval", "redis.set_repl(redis.REPL_NONE) redis.call('set', 'local-only', '1') return 1", "0"]), int(1));
    p.cmd(&["set", "marker", "1"]);
    assert!(eventually(WAIT, || r.cmd(&["get", "marker"]) == bulk("1")));
    assert_eq!(r.cmd(&["get", "s"]), bulk("value"));
    assert_eq!(r.cmd(&["get", "n"]), bulk("5"));
    assert!(matches!(r.cmd(&["ttl", "s"]), ferrokv_resp::Frame::Integer(t) if t > 0 && t <= 100));
    assert_eq!(r.cmd(&["exists", "local-only"]), int(0), "REPL_NONE kept the write off the replica");
    // A read-only script runs on the replica; a write from one is refused.
    assert_eq!(r.cmd(&["eval_ro", "return redis.call('get', KEYS[1])", "1", "s"]), bulk("value"));
    let refused = r.cmd(&["eval", "return redis.call('set', 'x', '1')", "0"]);
    assert!(matches!(&refused, ferrokv_resp::Frame::Error(e) if e.starts_with(b"READONLY")), "{refused:?}");
}

/// Starts an endless script on one connection of `node` and waits (bounded)
/// until another connection is told BUSY; returns that connection and
/// the one running the script.
fn busy_script(node: &Node, script: &str) -> (Conn, Conn) {
    let mut a = node.conn();
    let mut b = node.conn();
    a.send(&[b"eval", script.as_bytes(), b"0"]);
    let busy = err("BUSY Redis is busy running a script. You can only call SCRIPT KILL or SHUTDOWN NOSAVE.");
    assert!(eventually(WAIT, || b.cmd(&["ping"]) == busy), "{} never answered BUSY", node.kind);
    (a, b)
}

#[test]
fn a_long_script_makes_others_busy_and_script_kill_stops_it() {
    let pair = Pair::new(&["--busy-reply-threshold", "100"]);
    let seen: Vec<Vec<String>> = [&pair.ours, &pair.redis]
        .iter()
        .map(|node| {
            let (mut a, mut b) = busy_script(node, "while true do end");
            let replies = [b.cmd_raw(&[b"get", b"x"]), b.cmd_raw(&[b"script", b"kill"]), a.read_raw(), b.cmd_raw(&[b"ping"]), b.cmd_raw(&[b"script", b"kill"])];
            replies.iter().map(|r| String::from_utf8_lossy(r).into_owned()).collect()
        })
        .collect();
    assert_eq!(seen[0], seen[1], "left: ferrokv, right: redis 7.0");
    assert!(seen[0][2].starts_with("-ERR Script killed by user with SCRIPT KILL..."), "{:?}", seen[0]);
}

/// A transaction that meets a busy script is refused whole, as in Redis:
/// MULTI (and DISCARD, UNWATCH, AUTH, QUIT) are answered, the queued
/// commands get -BUSY, and EXEC aborts the transaction instead of running
/// part of it once the script has ended.
#[test]
fn a_transaction_meeting_a_busy_script_is_refused_whole() {
    let pair = Pair::new(&["--busy-reply-threshold", "100"]);
    let seen: Vec<Vec<String>> = [&pair.ours, &pair.redis]
        .iter()
        .map(|node| {
            let (mut a, mut b) = busy_script(node, "while true do end");
            let mut replies = vec![
                b.cmd_raw(&[b"watch", b"x"]),
                b.cmd_raw(&[b"exec"]),
                b.cmd_raw(&[b"discard"]),
                b.cmd_raw(&[b"unwatch"]),
                b.cmd_raw(&[b"multi"]),
                b.cmd_raw(&[b"set", b"x", b"1"]),
                b.cmd_raw(&[b"auth", b"nopass"]),
                b.cmd_raw(&[b"exec"]),
                b.cmd_raw(&[b"multi"]),
                b.cmd_raw(&[b"discard"]),
                b.cmd_raw(&[b"script", b"kill"]),
                a.read_raw(),
                b.cmd_raw(&[b"exec"]),
                b.cmd_raw(&[b"get", b"x"]),
            ];
            let mut c = node.conn();
            busy_script(node, "while true do end");
            replies.push(c.cmd_raw(&[b"quit"]));
            replies.iter().map(|r| String::from_utf8_lossy(r).into_owned()).collect()
        })
        .collect();
    assert_eq!(seen[0], seen[1], "left: ferrokv, right: redis 7.0");
    assert_eq!(seen[0][4], "+OK\r\n", "MULTI while busy");
    assert!(seen[0][7].starts_with("-EXECABORT"), "{:?}", seen[0]);
}

#[test]
fn a_script_that_wrote_is_unkillable_but_shutdown_nosave_stops_the_node() {
    let mut node = Node::ferrokv(&["--busy-reply-threshold", "100"]);
    let (_a, mut b) = busy_script(&node, "redis.call('set', 'x', '1') while true do end");
    let unkillable = b.cmd(&["script", "kill"]);
    assert!(matches!(&unkillable, ferrokv_resp::Frame::Error(e) if e.starts_with(b"UNKILLABLE")), "{unkillable:?}");
    b.send(&[b"shutdown", b"nosave"]);
    assert!(node.wait_exit(WAIT), "SHUTDOWN NOSAVE did not stop the node");
}

#[test]
fn a_scripts_effects_survive_a_restart_from_the_aof() {
    let mut node = Node::ferrokv(&["--appendonly", "yes", "--appendfsync", "always"]);
    let mut c = node.conn();
    let script = "redis.call('rpush', KEYS[1], 'a', 'b') redis.call('hset', KEYS[2], 'f', ARGV[1]) redis.call('lpop', KEYS[1]) return 1";
    assert_eq!(c.cmd(&["eval", script, "2", "l", "h", "v"]), int(1));
    assert_eq!(c.cmd(&["eval", "redis.set_repl(redis.REPL_NONE) redis.call('set', 'kept-out', '1') return 1", "0"]), int(1));
    node.restart(&["--appendonly", "yes"]);
    let mut c = node.conn();
    assert_eq!(c.cmd(&["lrange", "l", "0", "-1"]), ferrokv_resp::Frame::Array(vec![bulk("b")]));
    assert_eq!(c.cmd(&["hget", "h", "f"]), bulk("v"));
    assert_eq!(c.cmd(&["exists", "kept-out"]), int(0), "REPL_NONE kept the write out of the AOF");
}

#[test]
fn a_busy_script_on_a_replica_holds_the_primarys_stream_without_losing_it() {
    let primary = Node::ferrokv(&[]);
    let mut p = primary.conn();
    let port = primary.port.to_string();
    let replica = Node::ferrokv(&["--replicaof", "127.0.0.1", &port, "--busy-reply-threshold", "100"]);
    let mut r = replica.conn();
    assert!(eventually(WAIT, || r.cmd(&["info", "replication"]).as_bytes().is_some_and(|b| String::from_utf8_lossy(b).contains("master_link_status:up"))));
    let (mut a, mut b) = busy_script(&replica, "while true do end");
    assert_eq!(p.cmd(&["set", "during", "busy"]), ferrokv_resp::Frame::Simple("OK".into()));
    // Gives the write time to reach the replica, where it waits.
    p.cmd(&["wait", "1", "200"]);
    assert_eq!(b.cmd(&["script", "kill"]), ferrokv_resp::Frame::Simple("OK".into()));
    let _ = a.read_raw();
    assert!(eventually(WAIT, || r.cmd(&["get", "during"]) == bulk("busy")), "the primary's write was lost on the replica");
}

#[test]
fn shebang_flags_match_redis() {
    let pair = Pair::new(&[]);
    run_script(
        &pair,
        r##"
eval "#!lua\nreturn 1" 0
eval "#!lua\nreturn KEYS[1]" 1 k
eval "#!lua flags=no-writes\nreturn redis.call('set','a','b')" 0
eval "#!lua flags=no-writes,allow-stale\nreturn redis.call('get','a')" 0
eval "#!lua flags=\nreturn redis.call('set','a','b')" 0
eval "#!lua flags=bogus\nreturn 1" 0
eval "#!lua2\nreturn 1" 0
eval "#!lua name=x\nreturn 1" 0
eval "#!lua" 0
eval "#!lua flags=no-writes\nreturn error('x')" 0
eval_ro "#!lua\nreturn 1" 0
eval_ro "#!lua flags=no-writes\nreturn 1" 0
script load "#!lua flags=nope\nreturn 1"
"##,
    );
    // A read-only replica runs a `no-writes` script and refuses the others
    // before they run.
    let primary = Node::ferrokv(&[]);
    let port = primary.port.to_string();
    let replica = Node::ferrokv(&["--replicaof", "127.0.0.1", &port]);
    let mut r = replica.conn();
    assert_eq!(r.cmd(&["eval", "#!lua flags=no-writes\nreturn 1", "0"]), int(1));
    assert_eq!(r.cmd(&["eval", "#!lua\nreturn 1", "0"]), err("READONLY You can't write against a read only replica."));
    assert_eq!(r.cmd(&["eval", "return 1", "0"]), int(1), "a script without a shebang is only refused when it writes");
}

#[test]
fn cmsgpack_and_struct_match_redis() {
    let pair = Pair::new(&[]);
    run_script(
        &pair,
        r#"
eval "return cmsgpack.pack(1, -1, 127, 128, -32, -33, 255, 256, 65535, 65536, -129, -32769, 4294967296, -2147483649, 1.5, 0.1, 1e300, 'abc', true, false, nil)" 0
eval "return cmsgpack.pack(string.rep('x', 40), string.rep('y', 300), string.rep('z', 70000))" 0
eval "return cmsgpack.pack({1,2,3}, {a=1}, {}, {[1]=1,[3]=3}, {1,2,nil,4}, {['1']=5})" 0
eval "local t = {} for i = 1, 20 do t[i] = i end return cmsgpack.pack(t)" 0
eval "local t = {} for i = 1, 70000 do t[i] = 1 end return #cmsgpack.pack(t)" 0
eval "local t = {} for i = 1, 20 do t['k' .. i] = i end return #cmsgpack.pack(t)" 0
eval "return cmsgpack.pack(0/0, 1/0, -1/0, 2^63, -2^63, 2^64, 0.5, 1e-10, -0.0)" 0
eval "local t = {} t[1] = t return cmsgpack.pack(t)" 0
eval "return cmsgpack.pack(redis.call)" 0
eval "return cmsgpack.pack()" 0
eval "return {cmsgpack.unpack(cmsgpack.pack(1, 'a', {1, 2}, {x='y'}, true, 1.5, -200, 70000, -70000, 2^40))}" 0
eval "local t = cmsgpack.unpack(cmsgpack.pack({x='y', n={1, {2}}})) return {t.x, t.n[1], t.n[2][1]}" 0
eval "return cmsgpack.unpack('')" 0
eval "return cmsgpack.unpack('\193')" 0
eval "return cmsgpack.unpack('\205\1')" 0
eval "return cmsgpack.unpack('\196\1a')" 0
eval "return cmsgpack.unpack('\217\1a')" 0
eval "return cmsgpack.unpack('\220\0\2\1')" 0
eval "return cmsgpack.unpack(1)" 0
eval "return cmsgpack.unpack({})" 0
eval "return cmsgpack.unpack()" 0
eval "return {cmsgpack.unpack('\1\2\3')}" 0
eval "return {cmsgpack.unpack_one(cmsgpack.pack(1, 2, 3))}" 0
eval "return {cmsgpack.unpack_one(cmsgpack.pack(1, 2, 3), 1)}" 0
eval "return {cmsgpack.unpack_one(cmsgpack.pack(1, 2, 3), 2)}" 0
eval "return {cmsgpack.unpack_one('')}" 0
eval "return cmsgpack.unpack_one('\1', 5)" 0
eval "return cmsgpack.unpack_one('\1', -1)" 0
eval "return cmsgpack.unpack_one('\1', 'x')" 0
eval "return {cmsgpack.unpack_limit(cmsgpack.pack(1, 2, 3), 2)}" 0
eval "return {cmsgpack.unpack_limit(cmsgpack.pack(1, 2, 3), 2, 2)}" 0
eval "return {cmsgpack.unpack_limit('\1\2', 0)}" 0
eval "return {cmsgpack.unpack_limit('\1\2', '1')}" 0
eval "return cmsgpack.unpack_limit('\1\2')" 0
eval "return cmsgpack._VERSION" 0
eval "return cmsgpack.unpack(string.rep(string.char(0x91), 5000) .. string.char(1))" 0
eval "local t = cmsgpack.unpack(string.rep(string.char(0x91), 900) .. string.char(1)) for i = 1, 900 do t = t[1] end return t" 0
eval "return struct.pack('>i', 1)" 0
eval "return struct.pack('<i2h', -2, 3)" 0
eval "return struct.pack('bBhHlLT', -1, 255, -2, 65535, -3, 7, 9)" 0
eval "return struct.pack('I3', 70000)" 0
eval "return struct.pack('>I16', 1)" 0
eval "return struct.pack('!4 b i', 1, 2)" 0
eval "return struct.pack('!b d', 1, 2)" 0
eval "return struct.pack('fd', 1.5, 2.25)" 0
eval "return struct.pack('c3', 'abcdef')" 0
eval "return struct.pack('c0 s', 'abc', 'de')" 0
eval "return struct.pack('c5', 'ab')" 0
eval "return struct.pack('i', 'x')" 0
eval "return struct.pack('i')" 0
eval "return struct.pack('q', 1)" 0
eval "return struct.pack('i33', 1)" 0
eval "return struct.pack('!3', 1)" 0
eval "return struct.pack('c99999999999', 'a')" 0
eval "return struct.pack(1)" 0
eval "return {struct.unpack('>i', struct.pack('>i', -5))}" 0
eval "return {struct.unpack('<I2h', '\1\2\255\255')}" 0
eval "return {struct.unpack('bBhHlLT', struct.pack('bBhHlLT', -1, 255, -2, 65535, -3, 7, 9))}" 0
eval "return {struct.unpack('>I16', struct.pack('>I16', 1))}" 0
eval "return {struct.unpack('i1c0', '\3abcd')}" 0
eval "return {struct.unpack('c0', 'abc')}" 0
eval "return {struct.unpack('s s', 'ab\0cd\0')}" 0
eval "return {struct.unpack('s', 'ab')}" 0
eval "return {struct.unpack('i', 'ab')}" 0
eval "return {struct.unpack('b', 'abc', 2)}" 0
eval "return {struct.unpack('b', 'abc', 0)}" 0
eval "return {struct.unpack('b', 'abc', -1)}" 0
eval "return {struct.unpack('b', 'abc', 4)}" 0
eval "return {struct.unpack('!4 b i', struct.pack('!4 b i', 1, 2))}" 0
eval "return {struct.unpack('x b', 'ab')}" 0
eval "return tostring(struct.unpack('f', struct.pack('f', 1.5)))" 0
eval "return tostring(struct.unpack('>d', struct.pack('>d', -2.75)))" 0
eval "return struct.size('bhilfdc5!8')" 0
eval "return struct.size('!8 b d')" 0
eval "return struct.size('s')" 0
eval "return struct.size('c0')" 0
eval "return struct.size('z')" 0
eval "return struct.size()" 0
"#,
    );
}

/// MONITOR's lines without their timestamp and the client's port.
fn monitor_lines(node: &Node, commands: &[&[&str]]) -> Vec<String> {
    let mut m = node.conn();
    assert_eq!(m.cmd(&["monitor"]), simple("OK"));
    let mut c = node.conn();
    for args in commands {
        c.cmd(args);
    }
    c.cmd(&["ping", "end"]);
    let mut lines = Vec::new();
    loop {
        let ferrokv_resp::Frame::Simple(line) = m.read() else { panic!("MONITOR sent something else") };
        let line = String::from_utf8_lossy(&line).into_owned();
        let (_, rest) = line.split_once(' ').expect("timestamp");
        let rest = match rest.find("127.0.0.1:") {
            Some(at) => format!("{}127.0.0.1{}", &rest[..at], &rest[at + 10..].trim_start_matches(|c: char| c.is_ascii_digit())),
            None => rest.to_owned(),
        };
        if rest.ends_with("\"ping\" \"end\"") {
            return lines;
        }
        lines.push(rest);
    }
}

#[test]
fn monitor_and_slowlog_show_a_scripts_commands_as_redis() {
    let lib = "#!lua name=m\nredis.register_function('f', function(keys) redis.call('select', 3) return redis.call('incr', keys[1]) end)";
    let commands: &[&[&str]] = &[
        &["function", "load", lib],
        &["eval", "redis.call('set', KEYS[1], '1') return redis.call('get', KEYS[1])", "1", "k"],
        &["fcall", "f", "1", "n"],
        &["fcall", "nosuch", "0"],
        &["eval", "return 1", "-1"],
        &["get", "k"],
    ];
    let pair = Pair::new(&[]);
    let (ours, theirs) = (monitor_lines(&pair.ours, commands), monitor_lines(&pair.redis, commands));
    assert_eq!(ours, theirs, "left: ferrokv, right: redis 7.0");
    assert!(ours.iter().any(|l| l == "[3 lua] \"incr\" \"n\""), "{ours:?}");
    // SLOWLOG has the script's commands as the Lua client's.
    for node in [&pair.ours, &pair.redis] {
        let mut c = node.conn();
        c.cmd(&["config", "set", "slowlog-log-slower-than", "0"]);
        c.cmd(&["slowlog", "reset"]);
        c.cmd(&["eval", "return redis.call('set', 'a', '1')", "0"]);
        let log = String::from_utf8_lossy(&c.cmd_raw(&[b"slowlog", b"get", b"2"])).into_owned();
        assert!(log.contains("$3\r\nset\r\n$1\r\na\r\n$1\r\n1\r\n$3\r\n?:0\r\n$0\r\n"), "{}: {log}", node.kind);
    }
}

/// A command that arrives as a script starts (before it is marked as
/// running) waits for it and gets -BUSY, rather than blocking a worker on
/// the keyspace the script holds until the script ends (it used to, now
/// and then, under load). A race, so it is run a number of times.
#[test]
fn a_command_racing_a_scripts_start_gets_busy() {
    for _ in 0..20 {
        let node = Node::ferrokv(&["--busy-reply-threshold", "100"]);
        let (_a, mut b) = busy_script(&node, "redis.call('set', 'x', '1') while true do end");
        b.send(&[b"shutdown", b"nosave"]);
        let _ = b.read_to_close();
    }
}
