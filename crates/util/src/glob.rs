//! Redis's glob matching (`stringmatchlen`), used by KEYS, SCAN MATCH,
//! PSUBSCRIBE and CONFIG GET. Bytes compare as C's signed `char`, as Redis's do,
//! so ranges over non-ASCII bytes order the way Redis orders them.

/// Deepest `*` nesting tried before giving up (a pathological pattern must
/// not exhaust the stack).
const MAX_NESTING: usize = 1000;

pub fn glob_match(pattern: &[u8], string: &[u8], nocase: bool) -> bool {
    let mut skip_longer = false;
    matches(pattern, string, nocase, &mut skip_longer, 0)
}

fn lower(b: u8) -> i32 {
    b.to_ascii_lowercase() as i8 as i32
}

fn signed(b: u8) -> i32 {
    b as i8 as i32
}

fn eq(a: u8, b: u8, nocase: bool) -> bool {
    if nocase {
        a.eq_ignore_ascii_case(&b)
    } else {
        a == b
    }
}

/// A port of `stringmatchlen_impl` with indices in place of C's pointers:
/// `pi`/`si` are positions, reads past the end see C's terminating NUL.
fn matches(pat: &[u8], st: &[u8], nocase: bool, skip_longer: &mut bool, depth: usize) -> bool {
    if depth > MAX_NESTING {
        return false;
    }
    let p = |i: usize| pat.get(i).copied().unwrap_or(0);
    let (mut pi, mut si) = (0usize, 0usize);
    let (mut plen, mut slen) = (pat.len() as isize, st.len() as isize);
    while plen > 0 && slen > 0 {
        match p(pi) {
            b'*' => {
                while plen > 0 && p(pi + 1) == b'*' {
                    pi += 1;
                    plen -= 1;
                }
                if plen == 1 {
                    return true;
                }
                while slen > 0 {
                    if matches(&pat[pi + 1..], &st[si..], nocase, skip_longer, depth + 1) {
                        return true;
                    }
                    if *skip_longer {
                        return false;
                    }
                    si += 1;
                    slen -= 1;
                }
                // Nothing after this star matches anywhere in the rest, so no
                // earlier star can help by matching more.
                *skip_longer = true;
                return false;
            }
            b'?' => {
                si += 1;
                slen -= 1;
            }
            b'[' => {
                pi += 1;
                plen -= 1;
                let negate = p(pi) == b'^';
                if negate {
                    pi += 1;
                    plen -= 1;
                }
                let mut hit = false;
                loop {
                    if p(pi) == b'\\' && plen >= 2 {
                        pi += 1;
                        plen -= 1;
                        if p(pi) == st[si] {
                            hit = true;
                        }
                    } else if p(pi) == b']' {
                        break;
                    } else if plen == 0 {
                        pi -= 1;
                        plen += 1;
                        break;
                    } else if plen >= 3 && p(pi + 1) == b'-' {
                        let (mut start, mut end, mut c) = (signed(p(pi)), signed(p(pi + 2)), signed(st[si]));
                        if start > end {
                            std::mem::swap(&mut start, &mut end);
                        }
                        if nocase {
                            start = lower(start as u8);
                            end = lower(end as u8);
                            c = lower(c as u8);
                        }
                        pi += 2;
                        plen -= 2;
                        if c >= start && c <= end {
                            hit = true;
                        }
                    } else if eq(p(pi), st[si], nocase) {
                        hit = true;
                    }
                    pi += 1;
                    plen -= 1;
                }
                if hit == negate {
                    return false;
                }
                si += 1;
                slen -= 1;
            }
            c => {
                let c = if c == b'\\' && plen >= 2 {
                    pi += 1;
                    plen -= 1;
                    p(pi)
                } else {
                    c
                };
                if !eq(c, st[si], nocase) {
                    return false;
                }
                si += 1;
                slen -= 1;
            }
        }
        pi += 1;
        plen -= 1;
        if slen == 0 {
            while p(pi) == b'*' {
                pi += 1;
                plen -= 1;
            }
            break;
        }
    }
    plen == 0 && slen == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn redis_examples() {
        let yes: &[(&str, &str)] = &[
            ("h?llo", "hello"),
            ("h*llo", "heeeello"),
            ("h[ae]llo", "hallo"),
            ("h[^e]llo", "hallo"),
            ("h[a-b]llo", "hbllo"),
            ("a*", "a"),
            ("\\*", "*"),
            ("h[b-a]llo", "hallo"),
            ("foo*bar*", "fooXbarY"),
            ("[abc", "a"),
        ];
        for (p, s) in yes {
            assert!(glob_match(p.as_bytes(), s.as_bytes(), false), "{p} ~ {s}");
        }
        let no: &[(&str, &str)] = &[("[", "["), ("*", ""), ("h[^e]llo", "hello"), ("h?llo", "hllo"), ("a", ""), ("", "a"), ("a*b", "acd")];
        for (p, s) in no {
            assert!(!glob_match(p.as_bytes(), s.as_bytes(), false), "{p} !~ {s}");
        }
        assert!(glob_match(b"HELLO", b"hello", true));
    }

    #[test]
    fn pathological_pattern_finishes() {
        let p = "a*".repeat(5000) + "b";
        let s = "a".repeat(5000);
        assert!(!glob_match(p.as_bytes(), s.as_bytes(), false));
    }
}
