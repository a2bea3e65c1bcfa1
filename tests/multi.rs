//! MULTI/EXEC/WATCH, compared with Redis 7.0 across connections.

mod common;
use common::*;

#[test]
fn queueing_and_errors() {
    let pair = Pair::new(&[]);
    run_script(
        &pair,
        r#"
multi
set a 1
incr a
get a
exec
exec
discard
multi
multi
watch a
set a 2
foo
get
exec
multi
set a 3
incr nosuch
set s text
incr s
exec
multi
discard
get a
multi
shutdown
discard
multi
select 1
set inone 1
exec
select 0
get inone
"#,
    );
}

#[test]
fn watch_sees_other_clients() {
    let pair = Pair::new(&[]);
    run_script(
        &pair,
        r#"
set w 1
watch w
@1 set w 2
multi
set w 3
exec
get w
watch w
@1 set other 1
multi
set w 4
exec
get w
watch w
unwatch
@1 set w 5
multi
get w
exec
watch nokey
@1 set nokey 1
multi
ping
exec
set gone v
watch gone
@1 del gone
multi
ping
exec
set f v
watch f
@1 flushdb
multi
ping
exec
watch missing
@1 flushall
multi
ping
exec
set sw 1
watch sw
@1 swapdb 0 1
multi
ping
exec
@1 swapdb 0 1
watch a b c
multi
exec
"#,
    );
}

#[test]
fn watch_sees_expiry() {
    let pair = Pair::new(&[]);
    run_script(
        &pair,
        r#"
set e v px 100
watch e
!sleep 250
multi
ping
exec
set e2 v px 50
!sleep 150
watch e2
multi
ping
exec
"#,
    );
}
