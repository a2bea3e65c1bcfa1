//! What Redis keeps in util.c and every ferrokv crate needs: glob matching
//! (`stringmatchlen`, for KEYS, SCAN, PSUBSCRIBE, CONFIG GET and the
//! sentinel's patterns), the 40-hex ids Redis uses for run ids and
//! replication ids, zmalloc's count of used memory, and LZF. Depends on nothing
//! of ours.

pub mod alloc;
pub mod glob;
pub mod lpsize;
pub mod lzf;
pub mod pqsort;

pub use glob::glob_match;

/// 40 random hex characters, as Redis's run ids, replication ids and
/// sentinel ids.
pub fn random_hex_id() -> String {
    random_hex(40)
}

/// `chars` random hex characters from the thread's CSPRNG (ids, ACL
/// GENPASS).
pub fn random_hex(chars: usize) -> String {
    use rand::Rng;
    let mut rng = rand::rng();
    (0..chars).map(|_| char::from_digit(rng.random_range(0..16), 16).expect("digit below 16")).collect()
}

/// An I/O error in C's `strerror` words, as Redis logs and replies them
/// ("Connection refused", not Rust's "Connection refused (os error 111)").
pub fn strerror(e: &std::io::Error) -> String {
    let text = e.to_string();
    text.split(" (os error ").next().unwrap_or(&text).to_string()
}

#[cfg(test)]
mod tests {
    #[test]
    fn ids_are_40_lowercase_hex_and_differ() {
        let (a, b) = (super::random_hex_id(), super::random_hex_id());
        assert_eq!(a.len(), 40);
        assert!(a.bytes().all(|c| c.is_ascii_hexdigit() && !c.is_ascii_uppercase()));
        assert_ne!(a, b);
    }
}
