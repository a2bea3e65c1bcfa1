//! Encoder and decoder for Redis's listpack blobs as they appear inside RDB objects
//! (hash, zset and quicklist-node encodings since Redis 7.0).
//!
//! Layout: total bytes (u32 LE), element count (u16 LE, 65535 = unknown),
//! entries, 0xFF. Each entry is an encoding byte with its data, then a
//! "backlen" of 1–5 bytes giving the entry's size for reverse walks. Every
//! field is bounds-checked: the blob comes from a file or the network.

use ferrokv_util::lpsize::backlen_size;

/// Entries as byte strings; integers come back in their decimal form, which is
/// how Redis hands them to the type that owns the listpack.
pub fn decode(blob: &[u8]) -> Result<Vec<Vec<u8>>, &'static str> {
    if blob.len() < 7 {
        return Err("listpack shorter than its header");
    }
    let total = u32::from_le_bytes(blob[0..4].try_into().unwrap()) as usize;
    if total != blob.len() {
        return Err("listpack total-bytes header does not match its size");
    }
    let declared = u16::from_le_bytes(blob[4..6].try_into().unwrap());
    let mut items = Vec::new();
    let mut p = 6;
    loop {
        let enc = *blob.get(p).ok_or("listpack without its end marker")?;
        if enc == 0xFF {
            break;
        }
        let (item, size) = entry(&blob[p..])?;
        items.push(item);
        p += size;
        p += backlen_size(size);
        if p > blob.len() {
            return Err("listpack entry runs past the end");
        }
    }
    if p + 1 != blob.len() {
        return Err("bytes after the listpack end marker");
    }
    if declared != u16::MAX && declared as usize != items.len() {
        return Err("listpack element count does not match its entries");
    }
    Ok(items)
}

/// Encodes `items` as Redis's `lpAppend` would, byte for byte: a string
/// that reads as a canonical integer takes the smallest integer encoding,
/// others the smallest string encoding.
pub fn encode<'a>(items: impl IntoIterator<Item = &'a [u8]>) -> Vec<u8> {
    let mut blob = vec![0u8; 6];
    let mut count = 0usize;
    for item in items {
        let start = blob.len();
        match ferrokv_resp::parse_i64(item) {
            Some(n) => put_int(&mut blob, n),
            None => put_str(&mut blob, item),
        }
        let size = blob.len() - start;
        put_backlen(&mut blob, size);
        count += 1;
    }
    blob.push(0xFF);
    let total = blob.len() as u32;
    blob[0..4].copy_from_slice(&total.to_le_bytes());
    blob[4..6].copy_from_slice(&(count.min(u16::MAX as usize) as u16).to_le_bytes());
    blob
}

fn put_int(blob: &mut Vec<u8>, n: i64) {
    match n {
        0..=127 => blob.push(n as u8),
        -4096..=4095 => {
            let v = if n < 0 { n + (1 << 13) } else { n } as u16;
            blob.extend_from_slice(&[0xC0 | (v >> 8) as u8, v as u8]);
        }
        -32768..=32767 => {
            blob.push(0xF1);
            blob.extend_from_slice(&(n as i16).to_le_bytes());
        }
        -8388608..=8388607 => {
            blob.push(0xF2);
            blob.extend_from_slice(&(n as i32).to_le_bytes()[..3]);
        }
        _ if i32::try_from(n).is_ok() => {
            blob.push(0xF3);
            blob.extend_from_slice(&(n as i32).to_le_bytes());
        }
        _ => {
            blob.push(0xF4);
            blob.extend_from_slice(&n.to_le_bytes());
        }
    }
}

fn put_str(blob: &mut Vec<u8>, s: &[u8]) {
    let len = s.len();
    if len < 64 {
        blob.push(0x80 | len as u8);
    } else if len < 4096 {
        blob.extend_from_slice(&[0xE0 | (len >> 8) as u8, len as u8]);
    } else {
        blob.push(0xF0);
        blob.extend_from_slice(&(len as u32).to_le_bytes());
    }
    blob.extend_from_slice(s);
}

/// `lpEncodeBacklen`: the entry's size, big end first, 7 bits per byte,
/// every byte but the first with its high bit set.
fn put_backlen(blob: &mut Vec<u8>, size: usize) {
    let n = backlen_size(size);
    for i in (0..n).rev() {
        let bits = ((size >> (7 * i)) & 127) as u8;
        blob.push(if i + 1 == n { bits } else { bits | 128 });
    }
}

fn bytes_at(e: &[u8], start: usize, len: usize) -> Result<&[u8], &'static str> {
    e.get(start..start.checked_add(len).ok_or("listpack length overflow")?).ok_or("listpack entry runs past the end")
}

fn int_entry(e: &[u8], width: usize) -> Result<(Vec<u8>, usize), &'static str> {
    let raw = bytes_at(e, 1, width)?;
    let mut buf = [0u8; 8];
    buf[..width].copy_from_slice(raw);
    // Sign-extend from the entry's width.
    let shift = 64 - 8 * width as u32;
    let n = (i64::from_le_bytes(buf) << shift) >> shift;
    Ok((n.to_string().into_bytes(), 1 + width))
}

/// One entry's value and its size without the backlen.
fn entry(e: &[u8]) -> Result<(Vec<u8>, usize), &'static str> {
    let b = e[0];
    if b & 0x80 == 0 {
        return Ok(((b as i64).to_string().into_bytes(), 1));
    }
    if b & 0xC0 == 0x80 {
        let len = (b & 0x3F) as usize;
        return Ok((bytes_at(e, 1, len)?.to_vec(), 1 + len));
    }
    if b & 0xE0 == 0xC0 {
        let hi = bytes_at(e, 1, 1)?[0];
        let raw = (((b & 0x1F) as i64) << 8) | hi as i64;
        let n = if raw >= 1 << 12 { raw - (1 << 13) } else { raw };
        return Ok((n.to_string().into_bytes(), 2));
    }
    if b & 0xF0 == 0xE0 {
        let len = (((b & 0x0F) as usize) << 8) | bytes_at(e, 1, 1)?[0] as usize;
        return Ok((bytes_at(e, 2, len)?.to_vec(), 2 + len));
    }
    match b {
        0xF0 => {
            let len = u32::from_le_bytes(bytes_at(e, 1, 4)?.try_into().unwrap()) as usize;
            Ok((bytes_at(e, 5, len)?.to_vec(), 5 + len))
        }
        0xF1 => int_entry(e, 2),
        0xF2 => int_entry(e, 3),
        0xF3 => int_entry(e, 4),
        0xF4 => int_entry(e, 8),
        _ => Err("unknown listpack entry encoding"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// One entry of each small encoding, laid out as Redis lays them out.
    #[test]
    fn decodes_every_small_encoding() {
        let mut blob = vec![0, 0, 0, 0, 6, 0];
        blob.extend_from_slice(&[0x81, b'a', 2]); // 6-bit string
        blob.extend_from_slice(&[1, 1]); // 7-bit uint
        blob.extend_from_slice(&[0x82, b'b', b'b', 3]);
        let n13 = (-300i64 + (1 << 13)) as u16;
        blob.extend_from_slice(&[0xC0 | (n13 >> 8) as u8, n13 as u8, 2]); // 13-bit int
        blob.extend_from_slice(&[0x83, b'c', b'c', b'c', 4]);
        blob.extend_from_slice(&[0xF2, 0x70, 0x11, 0x01, 4]); // 24-bit int 70000
        blob.push(0xFF);
        let len = blob.len() as u32;
        blob[0..4].copy_from_slice(&len.to_le_bytes());
        let items = decode(&blob).unwrap();
        let text: Vec<_> = items.iter().map(|i| String::from_utf8_lossy(i).into_owned()).collect();
        assert_eq!(text, ["a", "1", "bb", "-300", "ccc", "70000"]);
        blob[4] = 5;
        assert!(decode(&blob).is_err(), "count mismatch refused");
    }

    proptest! {
        #[test]
        fn encode_then_decode(items in proptest::collection::vec(prop_oneof![
            proptest::collection::vec(any::<u8>(), 0..5000),
            any::<i64>().prop_map(|n| n.to_string().into_bytes()),
            (-5000i64..5000).prop_map(|n| n.to_string().into_bytes()),
        ], 0..40)) {
            let blob = encode(items.iter().map(Vec::as_slice));
            prop_assert_eq!(decode(&blob).unwrap(), items);
        }
    }

    /// Bytes Redis 7.0 produces (`DEBUG LISTPACK` / DUMP of `HSET h a 1 b 300`).
    #[test]
    fn encodes_as_redis_does() {
        let blob = encode([&b"a"[..], b"1", b"b", b"300"]);
        assert_eq!(blob, [18, 0, 0, 0, 4, 0, 0x81, b'a', 2, 1, 1, 0x81, b'b', 2, 0xC1, 0x2C, 2, 0xFF]);
        // Backlen of a 200-byte entry (2 + 198 bytes): two bytes, 1 then 72|128.
        let long = encode([&[b'x'; 198][..]]);
        assert_eq!(&long[long.len() - 3..], [1, 72 | 128, 0xFF]);
    }

    #[test]
    fn truncation_never_panics() {
        let blob = [12, 0, 0, 0, 1, 0, 0xF0, 200, 0, 0, 0, 0xFF];
        assert!(decode(&blob).is_err());
        for cut in 0..blob.len() {
            let _ = decode(&blob[..cut]);
        }
    }
}
