//! Bounded reads over RDB bytes: every read checks the bounds (without
//! overflow) and reports where it ran out, so a corrupt or truncated file
//! is an error at an offset, never a panic.

use crate::encoding::RdbError;

/// A position in `data`, advanced by each read; borrowed from the caller's
/// `pos` so the public `(data, &mut pos)` readers keep their signatures.
pub(crate) struct Cursor<'a, 'p> {
    data: &'a [u8],
    pos: &'p mut usize,
}

impl<'a, 'p> Cursor<'a, 'p> {
    pub fn new(data: &'a [u8], pos: &'p mut usize) -> Self {
        Cursor { data, pos }
    }

    pub fn take(&mut self, n: usize) -> Result<&'a [u8], RdbError> {
        let at = *self.pos;
        let end = at.checked_add(n).ok_or(RdbError::Truncated(at))?;
        let s = self.data.get(at..end).ok_or(RdbError::Truncated(at))?;
        *self.pos = end;
        Ok(s)
    }

    pub fn byte(&mut self) -> Result<u8, RdbError> {
        Ok(self.take(1)?[0])
    }

    pub fn array<const N: usize>(&mut self) -> Result<[u8; N], RdbError> {
        let s = self.take(N)?;
        let mut a = [0u8; N];
        a.copy_from_slice(s);
        Ok(a)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_advance_and_stop_at_the_end() {
        let data = [1u8, 2, 3, 4, 5];
        let mut pos = 0;
        let mut c = Cursor::new(&data, &mut pos);
        assert_eq!(c.byte(), Ok(1));
        assert_eq!(c.array::<2>(), Ok([2, 3]));
        assert_eq!(c.take(3), Err(RdbError::Truncated(3)));
        assert_eq!(c.take(usize::MAX), Err(RdbError::Truncated(3)));
        assert_eq!(c.take(2), Ok(&[4u8, 5][..]));
        assert_eq!(pos, 5);
    }
}
