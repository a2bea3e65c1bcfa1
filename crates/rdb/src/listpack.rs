//! Decoder for Redis's listpack blobs as they appear inside RDB objects
//! (hash, zset and quicklist-node encodings since Redis 7.0).
//!
//! Layout: total bytes (u32 LE), element count (u16 LE, 65535 = unknown),
//! entries, 0xFF. Each entry is an encoding byte with its data, then a
//! "backlen" of 1–5 bytes giving the entry's size for reverse walks. Every
//! field is bounds-checked: the blob comes from a file or the network.

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

fn backlen_size(entry_size: usize) -> usize {
    match entry_size {
        0..=127 => 1,
        128..=16383 => 2,
        16384..=2097151 => 3,
        2097152..=268435455 => 4,
        _ => 5,
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

    #[test]
    fn truncation_never_panics() {
        let blob = [12, 0, 0, 0, 1, 0, 0xF0, 200, 0, 0, 0, 0xFF];
        assert!(decode(&blob).is_err());
        for cut in 0..blob.len() {
            let _ = decode(&blob[..cut]);
        }
    }
}
