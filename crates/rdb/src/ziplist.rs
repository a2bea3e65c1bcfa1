//! The encodings RDB 9 and older used for small collections, which Redis
//! 7.0 still loads: the ziplist (lists, hashes, sorted sets, and the nodes
//! of quicklist version 1) and the zipmap (hashes before Redis 2.6).
//! Bounds-checked: hostile input gets an error, never a panic or an
//! allocation larger than the blob.

/// Ziplist: `zlbytes u32, zltail u32, zllen u16`, entries, `0xFF`. Each
/// entry: the previous entry's length (1 byte, or 0xFE and 4 bytes), an
/// encoding, and the data.
pub fn decode_ziplist(blob: &[u8]) -> Result<Vec<Vec<u8>>, &'static str> {
    if blob.len() < 11 {
        return Err("ziplist too short");
    }
    let total = u32::from_le_bytes(blob[0..4].try_into().expect("4 bytes")) as usize;
    if total != blob.len() {
        return Err("ziplist size mismatch");
    }
    if blob[blob.len() - 1] != 0xFF {
        return Err("ziplist without end marker");
    }
    let mut pos = 10;
    let mut out = Vec::new();
    let end = blob.len() - 1;
    while pos < end {
        // prevlen
        pos += if blob[pos] == 0xFE { 5 } else { 1 };
        let enc = *blob.get(pos).ok_or("ziplist entry truncated")?;
        let take = |from: usize, n: usize| blob.get(from..from + n).filter(|_| from + n <= end).ok_or("ziplist entry truncated");
        let (item, used) = match enc >> 6 {
            0b00 => {
                let n = (enc & 0x3F) as usize;
                (take(pos + 1, n)?.to_vec(), 1 + n)
            }
            0b01 => {
                let n = (((enc & 0x3F) as usize) << 8) | *blob.get(pos + 1).ok_or("ziplist entry truncated")? as usize;
                (take(pos + 2, n)?.to_vec(), 2 + n)
            }
            0b10 => {
                let n = u32::from_be_bytes(take(pos + 1, 4)?.try_into().expect("4 bytes")) as usize;
                (take(pos + 5, n)?.to_vec(), 5 + n)
            }
            _ => {
                let (v, n): (i64, usize) = match enc {
                    0xC0 => (i16::from_le_bytes(take(pos + 1, 2)?.try_into().expect("2 bytes")) as i64, 2),
                    0xD0 => (i32::from_le_bytes(take(pos + 1, 4)?.try_into().expect("4 bytes")) as i64, 4),
                    0xE0 => (i64::from_le_bytes(take(pos + 1, 8)?.try_into().expect("8 bytes")), 8),
                    0xF0 => {
                        let b = take(pos + 1, 3)?;
                        ((i32::from_le_bytes([0, b[0], b[1], b[2]]) >> 8) as i64, 3)
                    }
                    0xFE => (take(pos + 1, 1)?[0] as i8 as i64, 1),
                    0xF1..=0xFD => ((enc & 0x0F) as i64 - 1, 0),
                    _ => return Err("bad ziplist entry encoding"),
                };
                (v.to_string().into_bytes(), 1 + n)
            }
        };
        out.push(item);
        pos += used;
    }
    if pos != end {
        return Err("ziplist entries overrun the end marker");
    }
    let count = u16::from_le_bytes(blob[8..10].try_into().expect("2 bytes"));
    if count != u16::MAX && count as usize != out.len() {
        return Err("ziplist count mismatch");
    }
    Ok(out)
}

/// Zipmap: `zmlen u8`, then `len key len free value [free bytes]` pairs,
/// `0xFF`. A length is one byte below 254, or 254 and 4 bytes.
pub fn decode_zipmap(blob: &[u8]) -> Result<crate::value::Pairs, &'static str> {
    let mut pos = 1;
    let mut out = Vec::new();
    let len = |pos: &mut usize| -> Result<usize, &'static str> {
        let b = *blob.get(*pos).ok_or("zipmap truncated")?;
        *pos += 1;
        match b {
            0..=253 => Ok(b as usize),
            254 => {
                let n = u32::from_le_bytes(blob.get(*pos..*pos + 4).ok_or("zipmap truncated")?.try_into().expect("4 bytes"));
                *pos += 4;
                Ok(n as usize)
            }
            _ => Err("zipmap length is the end marker"),
        }
    };
    loop {
        match blob.get(pos) {
            None => return Err("zipmap without end marker"),
            Some(0xFF) if pos + 1 == blob.len() => return Ok(out),
            Some(0xFF) => return Err("zipmap data after the end marker"),
            Some(_) => {}
        }
        let klen = len(&mut pos)?;
        let key = blob.get(pos..pos + klen).ok_or("zipmap truncated")?.to_vec();
        pos += klen;
        let vlen = len(&mut pos)?;
        let free = *blob.get(pos).ok_or("zipmap truncated")? as usize;
        pos += 1;
        let value = blob.get(pos..pos + vlen).ok_or("zipmap truncated")?.to_vec();
        pos += vlen + free;
        out.push((key, value));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// Builds a ziplist as Redis's ziplist.c would, from strings and integers.
    pub fn encode_ziplist(items: &[Vec<u8>]) -> Vec<u8> {
        let mut body = Vec::new();
        let mut prev = 0usize;
        let mut tail = 10;
        for item in items {
            let start = body.len();
            tail = 10 + start;
            if prev < 254 {
                body.push(prev as u8);
            } else {
                body.push(0xFE);
                body.extend_from_slice(&(prev as u32).to_le_bytes());
            }
            let as_int = std::str::from_utf8(item).ok().and_then(|s| s.parse::<i64>().ok()).filter(|n| n.to_string().as_bytes() == &item[..]);
            match as_int {
                Some(n @ 0..=12) => body.push(0xF1 + n as u8),
                Some(n) if i8::try_from(n).is_ok() => body.extend_from_slice(&[0xFE, n as i8 as u8]),
                Some(n) if i16::try_from(n).is_ok() => {
                    body.push(0xC0);
                    body.extend_from_slice(&(n as i16).to_le_bytes());
                }
                Some(n) if (-(1 << 23)..(1 << 23)).contains(&n) => {
                    body.push(0xF0);
                    body.extend_from_slice(&(n as i32).to_le_bytes()[..3]);
                }
                Some(n) if i32::try_from(n).is_ok() => {
                    body.push(0xD0);
                    body.extend_from_slice(&(n as i32).to_le_bytes());
                }
                Some(n) => {
                    body.push(0xE0);
                    body.extend_from_slice(&n.to_le_bytes());
                }
                None if item.len() < 64 => {
                    body.push(item.len() as u8);
                    body.extend_from_slice(item);
                }
                None if item.len() < 16384 => {
                    body.push(0x40 | (item.len() >> 8) as u8);
                    body.push(item.len() as u8);
                    body.extend_from_slice(item);
                }
                None => {
                    body.push(0x80);
                    body.extend_from_slice(&(item.len() as u32).to_be_bytes());
                    body.extend_from_slice(item);
                }
            }
            prev = body.len() - start;
        }
        let total = 10 + body.len() + 1;
        let mut out = Vec::with_capacity(total);
        out.extend_from_slice(&(total as u32).to_le_bytes());
        out.extend_from_slice(&(tail as u32).to_le_bytes());
        out.extend_from_slice(&(items.len().min(65535) as u16).to_le_bytes());
        out.extend_from_slice(&body);
        out.push(0xFF);
        out
    }

    #[test]
    fn known_ziplist_and_zipmap() {
        // Redis's own example of a two-entry ziplist ("2", "5"), ziplist.c.
        let zl = [0x0f, 0x00, 0x00, 0x00, 0x0c, 0x00, 0x00, 0x00, 0x02, 0x00, 0x00, 0xf3, 0x02, 0xf6, 0xff];
        assert_eq!(decode_ziplist(&zl).unwrap(), vec![b"2".to_vec(), b"5".to_vec()]);
        // zipmap {"foo" => "bar"} with one free byte.
        let zm = [0x01, 0x03, b'f', b'o', b'o', 0x03, 0x01, b'b', b'a', b'r', 0x00, 0xff];
        assert_eq!(decode_zipmap(&zm).unwrap(), vec![(b"foo".to_vec(), b"bar".to_vec())]);
        assert!(decode_ziplist(&zl[..14]).is_err());
        assert!(decode_zipmap(&zm[..11]).is_err());
    }

    fn item() -> impl Strategy<Value = Vec<u8>> {
        prop_oneof![
            any::<i64>().prop_map(|n| n.to_string().into_bytes()),
            (-20i64..20).prop_map(|n| n.to_string().into_bytes()),
            prop::collection::vec(any::<u8>(), 0..300),
        ]
    }

    proptest! {
        #[test]
        fn ziplists_decode_to_what_was_encoded(items in prop::collection::vec(item(), 1..40)) {
            prop_assert_eq!(decode_ziplist(&encode_ziplist(&items)).unwrap(), items);
        }

        #[test]
        fn hostile_blobs_never_panic(blob in prop::collection::vec(any::<u8>(), 0..200)) {
            let _ = decode_ziplist(&blob);
            let _ = decode_zipmap(&blob);
        }
    }
}
