//! ACL users compared with Redis 7.0: every rule of ACL SETUSER and how
//! GETUSER/LIST describe it, the errors of malformed rules, the checks on
//! commands, keys, channels, MULTI/EXEC and scripts, logins, the ACL log,
//! and users kept in the configuration and in an ACL file.

mod common;
use common::*;
use ferrokv_resp::Frame;

const RULES: &str = r#"
acl users
%acl list
acl setuser alice
%acl getuser alice
%acl list
acl setuser alice on >pw1 >pw2 <pw1 ~cache:* %R~read:* %W~write:* %RW~both:* &news:* +@read +@write -flushall +client|id
%acl getuser alice
%acl list
acl setuser alice resetkeys ~k1 ~k1 resetchannels &c1 &c1
%acl getuser alice
acl setuser alice allkeys allchannels
%acl getuser alice
acl setuser alice nocommands +get|x +get|y +select|0
%acl getuser alice
acl setuser alice allcommands -@dangerous -@admin +config|get
%acl getuser alice
acl setuser bob on nopass +@all ~* &* (~sel:* +get +@hash) (%R~r* +@string)
%acl getuser bob
%acl list
acl setuser bob clearselectors
%acl getuser bob
acl setuser bob (~a +get
acl setuser bob "(~a +get"
acl setuser bob "(~a" "+get)"
%acl getuser bob
acl setuser bob reset
%acl getuser bob
acl setuser bob #2c26b46b68ffc68ff99b453c1d30413413422d706483bfa0f98a5e886266e7ae
%acl getuser bob
acl setuser bob !2c26b46b68ffc68ff99b453c1d30413413422d706483bfa0f98a5e886266e7ae
acl setuser bob !2c26b46b68ffc68ff99b453c1d30413413422d706483bfa0f98a5e886266e7ae
acl setuser bob #ABC
acl setuser bob <nosuch
acl setuser bob +nosuch
acl setuser bob -@nosuch
acl setuser bob +config|get|x
acl setuser bob +config|
acl setuser bob -config|nosuch
acl setuser bob -get|x
acl setuser bob %X~a
acl setuser bob ~*
acl setuser bob ~a
acl setuser bob &*
acl setuser bob &a
acl setuser bob bogus
acl setuser bob "~a b"
acl setuser "bad name"
acl setuser carol on skip-sanitize-payload
%acl getuser carol
acl setuser carol sanitize-payload off
%acl getuser carol
~acl users
acl deluser carol nosuch
acl deluser default
~acl users
acl getuser nosuch
acl cat
~acl cat geo
~acl cat STREAM
acl cat nosuch
acl cat a b
acl genpass 0
acl genpass 5000
acl genpass x
acl whoami
acl nosuch
acl help
acl log x
acl log reset
acl load
acl save
acl dryrun nosuch get k
acl dryrun alice nosuch k
acl dryrun alice get
acl dryrun bob get k
acl setuser dave on nopass ~k* &ch +get +publish +subscribe +psubscribe
acl dryrun dave get k1
acl dryrun dave get x
acl dryrun dave set k1 v
acl dryrun dave publish ch hi
acl dryrun dave publish other hi
acl dryrun dave psubscribe ch
acl dryrun dave psubscribe c*
acl dryrun dave config get x
acl dryrun dave config nosuch
config set acl-pubsub-default allchannels
config get acl-pubsub-default
acl setuser pubsub1 on nopass ~*
%acl getuser pubsub1
acl setuser pubsub1 reset
%acl getuser pubsub1
acl setuser pubsub1 (~x +get)
%acl getuser pubsub1
config set acl-pubsub-default resetchannels
acl setuser pubsub2
%acl list
config set acl-pubsub-default bogus
"#;

#[test]
fn rules_describe_and_fail_as_redis() {
    run_script(&Pair::new(&[]), RULES);
}

/// One hash-order-free value: ACL GENPASS's length for a few sizes.
#[test]
fn genpass_sizes() {
    let pair = Pair::new(&[]);
    for (bits, chars) in [(None, 64), (Some("1"), 1), (Some("4"), 1), (Some("5"), 2), (Some("4096"), 1024)] {
        for node in [&pair.ours, &pair.redis] {
            let mut c = node.conn();
            let mut args = vec!["acl", "genpass"];
            args.extend(bits);
            match c.cmd(&args) {
                Frame::Bulk(b) => assert!(b.len() == chars && b.iter().all(u8::is_ascii_hexdigit), "{bits:?}: {b:?}"),
                other => panic!("{other:?}"),
            }
        }
    }
}

const CHECKS: &str = r#"
acl setuser app on >secret ~app:* %R~ro:* &news +@read +@write +@connection -debug +client|id +publish +subscribe +psubscribe +multi +exec +eval +select|0
@1 auth app wrong
@1 auth nosuch secret
@1 auth app secret
@1 acl whoami
@1 set app:1 v
@1 get app:1
@1 set other v
@1 get other
@1 get ro:1
@1 set ro:1 v
@1 mset app:1 a app:2 b
@1 mset app:1 a other b
@1 copy ro:1 app:9
@1 copy app:9 ro:1
@1 flushall
?@1 client id
?@1 client list
@1 select 0
@1 select 1
@1 publish news hi
@1 publish sports hi
@1 psubscribe news
@1 psubscribe n*
@1 subscribe news sports
@1 ping
@1 reset
@1 acl whoami
@1 auth app secret
@1 multi
@1 set app:x 1
@1 set other 1
@1 exec
@1 multi
@1 set app:x 1
@1 get app:x
acl setuser app -get
@1 exec
acl setuser app +get
@1 eval "return redis.call('set','app:s','1')" 0
@1 eval "return redis.call('set','other','1')" 0
@1 eval "return redis.call('flushall')" 0
@1 eval "return redis.pcall('get','nope')" 0
@1 eval "return redis.acl_check_cmd('set','app:1','x')" 0
@1 eval "return redis.acl_check_cmd('set','other','x')" 0
@1 eval "return redis.acl_check_cmd('flushall')" 0
@1 eval "return redis.acl_check_cmd('nosuch')" 0
acl setuser app off
@1 get app:1
@2 auth app secret
"#;

#[test]
fn commands_keys_channels_multi_and_scripts_are_checked_as_redis() {
    run_script(&Pair::new(&[]), CHECKS);
}

const LOGINS: &str = r#"
auth x
auth a b c
?hello 3 auth default x
config set requirepass secret
@1 get k
@1 auth secret
@1 get k
?@2 hello 3
@2 hello 3 auth default wrong
?@2 hello 2 auth default secret
@2 acl whoami
acl setuser default nopass
@2 auth secret
@1 reset
@1 get k
config set requirepass ""
auth secret
acl setuser default off
@1 reset
@1 get k
@1 auth default x
acl setuser default on
"#;

#[test]
fn logins_and_requirepass_as_redis() {
    run_script(&Pair::new(&[]), LOGINS);
}

/// ACL LOG entries, ages and client details aside (they differ by nature).
#[test]
fn acl_log_entries_as_redis() {
    let pair = Pair::new(&[]);
    let logs: Vec<Vec<Frame>> = [&pair.ours, &pair.redis]
        .into_iter()
        .map(|node| {
            let mut admin = node.conn();
            let mut user = node.conn();
            for cmd in [
                vec!["acl", "setuser", "u", "on", ">p", "~k*", "&ch", "+get", "+publish", "+multi", "+exec", "+eval"],
                vec!["config", "set", "acllog-max-len", "5"],
            ] {
                admin.cmd(&cmd);
            }
            user.cmd(&["auth", "u", "bad"]);
            user.cmd(&["auth", "u", "bad"]);
            user.cmd(&["AUTH", "nosuch", "bad"]);
            user.cmd(&["auth", "u", "p"]);
            user.cmd(&["get", "x"]);
            user.cmd(&["set", "k", "v"]);
            user.cmd(&["publish", "other", "m"]);
            user.cmd(&["get", "x"]);
            user.cmd(&["multi"]);
            user.cmd(&["set", "k", "v"]);
            user.cmd(&["exec"]);
            user.cmd(&["eval", "return redis.call('get','y')", "0"]);
            let Frame::Array(entries) = admin.cmd(&["acl", "log"]) else { panic!("ACL LOG") };
            let entries = entries
                .into_iter()
                .map(|e| {
                    let Frame::Array(fields) = e else { panic!("entry") };
                    assert_eq!(fields.len(), 14);
                    assert!(matches!(fields[11], Frame::Bulk(_)), "age-seconds in RESP2: {:?}", fields[11]);
                    let Frame::Bulk(info) = &fields[13] else { panic!("client-info") };
                    assert!(String::from_utf8_lossy(info).contains(" user="), "{info:?}");
                    Frame::Array(fields[..10].to_vec())
                })
                .collect();
            assert!(matches!(admin.cmd(&["acl", "log", "2"]), Frame::Array(ref two) if two.len() == 2), "ACL LOG <count>");
            assert_eq!(admin.cmd(&["acl", "log", "reset"]), simple("OK"));
            assert_eq!(admin.cmd(&["acl", "log"]), Frame::Array(vec![]));
            entries
        })
        .collect();
    assert_eq!(logs[0], logs[1], "left: ferrokv, right: redis 7.0");
    assert_eq!(logs[0].len(), 5, "acllog-max-len");
}

#[test]
fn client_kill_user_and_deleted_users_close_connections() {
    let pair = Pair::new(&[]);
    for node in [&pair.ours, &pair.redis] {
        let mut admin = node.conn();
        admin.cmd(&["acl", "setuser", "k", "on", "nopass", "+@all", "~*"]);
        let mut a = node.conn();
        let mut b = node.conn();
        assert_eq!(a.cmd(&["auth", "k", "x"]), simple("OK"));
        assert_eq!(b.cmd(&["auth", "k", "x"]), simple("OK"));
        let Frame::Bulk(list) = admin.cmd(&["client", "list"]) else { panic!() };
        assert_eq!(String::from_utf8_lossy(&list).matches(" user=k ").count(), 2);
        assert_eq!(admin.cmd(&["client", "kill", "user", "nosuch"]), err("ERR No such user 'nosuch'"));
        assert_eq!(admin.cmd(&["client", "kill", "user", "k"]), int(2));
        assert!(a.is_closed() && b.is_closed());
        let mut c = node.conn();
        assert_eq!(c.cmd(&["auth", "k", "x"]), simple("OK"));
        assert_eq!(admin.cmd(&["acl", "deluser", "k"]), int(1));
        assert!(c.is_closed(), "a deleted user's clients are closed");
    }
}

#[test]
fn narrowed_channels_close_subscribers_that_lost_them() {
    let pair = Pair::new(&[]);
    for node in [&pair.ours, &pair.redis] {
        let mut admin = node.conn();
        admin.cmd(&["acl", "setuser", "s", "on", "nopass", "+@all", "~*", "resetchannels", "&a", "&b"]);
        let mut on_a = node.conn();
        let mut on_b = node.conn();
        on_a.cmd(&["auth", "s", "x"]);
        on_b.cmd(&["auth", "s", "x"]);
        on_a.cmd(&["subscribe", "a"]);
        on_b.cmd(&["subscribe", "b"]);
        admin.cmd(&["acl", "setuser", "s", "resetchannels", "&a"]);
        assert!(on_b.is_closed(), "lost its channel");
        assert_eq!(admin.cmd(&["publish", "a", "m"]), int(1), "kept its channel");
    }
}

#[test]
fn users_from_the_config_file_and_config_rewrite() {
    let dir = tempfile::tempdir().unwrap();
    let conf = dir.path().join("ferrokv.conf");
    std::fs::write(&conf, "user app on >pw ~app:* +@read\nuser default on nopass ~* &* +@all -debug\n").unwrap();
    let node = Node::ferrokv(&[conf.to_str().unwrap()]);
    let mut c = node.conn();
    let Frame::Array(list) = c.cmd(&["acl", "list"]) else { panic!() };
    assert_eq!(
        list,
        vec![
            bulk("user app on #30c952fab122c3f9759f02a6d95c3758b246b4fee239957b2d4fee46e26170c4 ~app:* resetchannels -@all +@read"),
            bulk("user default on nopass sanitize-payload ~* &* +@all -debug")
        ]
    );
    assert_eq!(c.cmd(&["debug", "sleep", "0"]), err("NOPERM this user has no permissions to run the 'debug' command"));
    c.cmd(&["acl", "setuser", "new", "on", "nopass", "~*", "+get"]);
    assert_eq!(c.cmd(&["config", "rewrite"]), simple("OK"));
    let text = std::fs::read_to_string(&conf).unwrap();
    assert!(text.starts_with("user app on #30c952fab122c3f9759f02a6d95c3758b246b4fee239957b2d4fee46e26170c4 ~app:* resetchannels -@all +@read\nuser default on nopass sanitize-payload ~* &* +@all -debug\nuser new on nopass ~* resetchannels -@all +get\n"), "{text}");
    drop(node);
    let node = Node::ferrokv(&[conf.to_str().unwrap()]);
    assert_eq!(node.conn().cmd(&["acl", "users"]), Frame::Array(vec![bulk("app"), bulk("default"), bulk("new")]));
}

#[test]
fn bad_user_lines_stop_start_up_with_redis_words() {
    let dir = tempfile::tempdir().unwrap();
    for (line, words) in [
        ("user a on ~* ~x", "Error in user declaration"),
        ("user a on\nuser a off", "Duplicate user found"),
        ("user a on #abc", "The password hash must be exactly 64 characters"),
    ] {
        let conf = dir.path().join("bad.conf");
        std::fs::write(&conf, format!("{line}\n")).unwrap();
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_ferrokv-server")).arg(&conf).output().unwrap();
        assert!(!out.status.success());
        let text = String::from_utf8_lossy(&out.stderr).to_string() + &String::from_utf8_lossy(&out.stdout);
        assert!(text.contains(words), "{line}: {text}");
    }
    let conf = dir.path().join("unknown.conf");
    std::fs::write(&conf, "user a on +nosuch\n").unwrap();
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_ferrokv-server")).arg(&conf).output().unwrap();
    let text = String::from_utf8_lossy(&out.stdout).to_string() + &String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success() && text.contains("Error loading ACL rule '+nosuch' for the user named 'a'"), "{text}");
}

#[test]
fn acl_file_load_and_save_as_redis() {
    let dir = tempfile::tempdir().unwrap();
    let ours = dir.path().join("ours.acl");
    let theirs = dir.path().join("theirs.acl");
    let content =
        "user default on nopass ~* &* +@all\nuser app on #30c952fab122c3f9759f02a6d95c3758b246b4fee239957b2d4fee46e26170c4 ~app:* resetchannels -@all +@read\n";
    std::fs::write(&ours, content).unwrap();
    std::fs::write(&theirs, content).unwrap();
    let a = Node::ferrokv(&["--aclfile", ours.to_str().unwrap()]);
    let b = Node::redis(&["--aclfile", theirs.to_str().unwrap()]);
    let (mut ca, mut cb) = (a.conn(), b.conn());
    let same = |ca: &mut Conn, cb: &mut Conn, cmd: &[&str]| {
        let (x, y) = (ca.cmd(cmd), cb.cmd(cmd));
        assert_eq!(x, y, "{cmd:?}");
        x
    };
    same(&mut ca, &mut cb, &["acl", "list"]);
    same(&mut ca, &mut cb, &["acl", "setuser", "new", "on", "nopass", "+@all", "-@dangerous", "~*"]);
    same(&mut ca, &mut cb, &["acl", "save"]);
    assert_eq!(std::fs::read_to_string(&ours).unwrap(), std::fs::read_to_string(&theirs).unwrap());
    let mut user = a.conn();
    assert_eq!(user.cmd(&["auth", "app", "pw"]), simple("OK"));
    for (path, bad) in [(&ours, "user x on ~* ~y\nnot user\nuser default on +nosuch\n"), (&theirs, "user x on ~* ~y\nnot user\nuser default on +nosuch\n")] {
        std::fs::write(path, bad).unwrap();
    }
    let (x, y) = (ca.cmd(&["acl", "load"]), cb.cmd(&["acl", "load"]));
    let strip = |f: Frame, path: &std::path::Path| String::from_utf8_lossy(&f.to_bytes()).replace(path.to_str().unwrap(), "FILE");
    assert_eq!(strip(x, &ours), strip(y, &theirs));
    same(&mut ca, &mut cb, &["acl", "users"]);
    std::fs::write(&ours, "user default on nopass ~* &* +@all\n").unwrap();
    assert_eq!(ca.cmd(&["acl", "load"]), simple("OK"));
    assert_eq!(ca.cmd(&["acl", "users"]), Frame::Array(vec![bulk("default")]));
    assert!(user.is_closed(), "app's clients go with it");
    let none = Pair::new(&[]);
    for node in [&none.ours, &none.redis] {
        let reply = node.conn().cmd(&["acl", "save"]);
        assert!(matches!(reply, Frame::Error(ref e) if e.starts_with(b"ERR This Redis instance is not configured to use an ACL file")), "{reply:?}");
    }
}

/// Secrets never reach the slow log: the arguments Redis redacts.
#[test]
fn slowlog_redacts_secrets_as_redis() {
    let pair = Pair::new(&[]);
    let logged: Vec<Vec<Frame>> = [&pair.ours, &pair.redis]
        .into_iter()
        .map(|node| {
            let mut c = node.conn();
            c.cmd(&["config", "set", "slowlog-log-slower-than", "0"]);
            c.cmd(&["acl", "setuser", "x", "on", ">secret", "+@all", "~*"]);
            c.cmd(&["auth", "x", "secret"]);
            c.cmd(&["hello", "2", "auth", "x", "secret", "setname", "n"]);
            c.cmd(&["config", "set", "masterauth", "hidden", "maxclients", "100"]);
            c.cmd(&["echo", "shown"]);
            let Frame::Array(entries) = c.cmd(&["slowlog", "get", "6"]) else { panic!("SLOWLOG GET") };
            entries
                .into_iter()
                .map(|e| match e {
                    Frame::Array(fields) => fields[3].clone(),
                    other => panic!("{other:?}"),
                })
                .collect()
        })
        .collect();
    assert_eq!(logged[0], logged[1], "left: ferrokv, right: redis 7.0");
    let text = format!("{:?}", logged[0]);
    assert!(!text.contains("secret") && !text.contains("hidden") && text.contains("shown"), "{text}");
}
