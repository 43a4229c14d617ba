//! PostgreSQL's binary COPY format (`COPY ... FROM STDIN WITH (FORMAT binary)`), for the few
//! column types the indexer writes. The server takes each field as it is stored (no text to
//! parse: numerics, timestamps and hex bytea cost it a good part of a text COPY), so every field
//! must be of the column's exact type.

use ethnum::U256;

const SIGNATURE: &[u8; 11] = b"PGCOPY\n\xff\r\n\0";
/// Seconds from the Unix epoch to PostgreSQL's (2000-01-01 00:00:00 UTC).
const POSTGRES_EPOCH: i64 = 946_684_800;
const NUMERIC_NEG: u16 = 0x4000;

/// A value that does not fit its column (PostgreSQL would refuse its text too).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutOfRange(pub String);

/// One COPY payload: the header, the rows, and the trailer once finished (nothing at all when it
/// has no rows, so the caller skips the COPY).
#[derive(Debug, Clone, Default)]
pub struct CopyWriter {
    buf: Vec<u8>,
    rows: usize,
}

impl CopyWriter {
    pub fn with_capacity(bytes: usize) -> Self {
        let mut buf = Vec::with_capacity(bytes + 21);
        buf.extend_from_slice(SIGNATURE);
        buf.extend_from_slice(&0_i32.to_be_bytes()); // flags: no OIDs
        buf.extend_from_slice(&0_i32.to_be_bytes()); // header extension length
        Self { buf, rows: 0 }
    }

    /// Starts a row of `fields` fields.
    pub fn row(&mut self, fields: i16) {
        self.rows += 1;
        self.buf.extend_from_slice(&fields.to_be_bytes());
    }

    pub fn null(&mut self) {
        self.buf.extend_from_slice(&(-1_i32).to_be_bytes());
    }

    fn field(&mut self, bytes: &[u8]) {
        // Field lengths are i32: the indexer's fields are at most a few hundred bytes.
        self.buf.extend_from_slice(&(bytes.len() as i32).to_be_bytes());
        self.buf.extend_from_slice(bytes);
    }

    pub fn bytea(&mut self, bytes: &[u8]) {
        self.field(bytes);
    }

    pub fn opt_bytea(&mut self, bytes: Option<&[u8]>) {
        match bytes {
            Some(b) => self.field(b),
            None => self.null(),
        }
    }

    pub fn text(&mut self, text: &str) {
        self.field(text.as_bytes());
    }

    pub fn int8(&mut self, value: u64) -> Result<(), OutOfRange> {
        let v = i64::try_from(value).map_err(|_| OutOfRange(format!("{value} exceeds bigint")))?;
        self.field(&v.to_be_bytes());
        Ok(())
    }

    pub fn int8_u256(&mut self, value: U256) -> Result<(), OutOfRange> {
        let v = u64::try_from(value).map_err(|_| OutOfRange(format!("{value} exceeds bigint")))?;
        self.int8(v)
    }

    pub fn int4(&mut self, value: u64) -> Result<(), OutOfRange> {
        let v = i32::try_from(value).map_err(|_| OutOfRange(format!("{value} exceeds integer")))?;
        self.field(&v.to_be_bytes());
        Ok(())
    }

    pub fn int4_u256(&mut self, value: U256) -> Result<(), OutOfRange> {
        let v = u64::try_from(value).map_err(|_| OutOfRange(format!("{value} exceeds integer")))?;
        self.int4(v)
    }

    pub fn int2_u256(&mut self, value: U256) -> Result<(), OutOfRange> {
        let v = u16::try_from(value)
            .ok()
            .and_then(|v| i16::try_from(v).ok())
            .ok_or_else(|| OutOfRange(format!("{value} exceeds smallint")))?;
        self.field(&v.to_be_bytes());
        Ok(())
    }

    /// `timestamptz` of a Unix time in seconds.
    pub fn timestamptz(&mut self, unix_seconds: u64) -> Result<(), OutOfRange> {
        let seconds = i64::try_from(unix_seconds)
            .ok()
            .and_then(|s| s.checked_sub(POSTGRES_EPOCH))
            .and_then(|s| s.checked_mul(1_000_000))
            .ok_or_else(|| OutOfRange(format!("timestamp {unix_seconds} out of range")))?;
        self.field(&seconds.to_be_bytes());
        Ok(())
    }

    pub fn numeric_u256(&mut self, value: U256) {
        let start = self.begin_numeric();
        match u128::try_from(value) {
            Ok(small) => {
                let mut digits = itoa::Buffer::new();
                put_numeric(&mut self.buf, false, digits.format(small).as_bytes(), b"");
            }
            Err(_) => put_numeric(&mut self.buf, false, value.to_string().as_bytes(), b""),
        }
        self.end_field(start);
    }

    /// `numeric` of plain decimal text (`-`? digits, optionally `.` digits): the same value and
    /// display scale as PostgreSQL's input of that text.
    pub fn numeric_text(&mut self, text: &str) -> Result<(), OutOfRange> {
        let bytes = text.as_bytes();
        let (negative, unsigned) = match bytes.first() {
            Some(b'-') => (true, &bytes[1..]),
            _ => (false, bytes),
        };
        let (int, frac) = match unsigned.iter().position(|&b| b == b'.') {
            Some(at) => (&unsigned[..at], &unsigned[at + 1..]),
            None => (unsigned, &b""[..]),
        };
        let plain = |d: &[u8]| d.iter().all(u8::is_ascii_digit);
        if (int.is_empty() && frac.is_empty()) || !plain(int) || !plain(frac) || frac.len() > 0x3FFF {
            return Err(OutOfRange(format!("not a plain decimal: {text}")));
        }
        let start = self.begin_numeric();
        put_numeric(&mut self.buf, negative, int, frac);
        self.end_field(start);
        Ok(())
    }

    /// A field encoded beforehand (`encoded_numeric`), or NULL.
    pub fn encoded(&mut self, field: Option<&[u8]>) {
        match field {
            Some(f) => self.buf.extend_from_slice(f),
            None => self.null(),
        }
    }

    pub fn opt_numeric_text(&mut self, text: Option<&str>) -> Result<(), OutOfRange> {
        match text {
            Some(t) => self.numeric_text(t),
            None => {
                self.null();
                Ok(())
            }
        }
    }

    fn begin_numeric(&mut self) -> usize {
        let start = self.buf.len();
        self.buf.extend_from_slice(&0_i32.to_be_bytes()); // length, set by end_field
        start
    }

    fn end_field(&mut self, start: usize) {
        let length = (self.buf.len() - start - 4) as i32;
        self.buf[start..start + 4].copy_from_slice(&length.to_be_bytes());
    }

    /// The payload with its trailer; empty when no row was written.
    pub fn finish(mut self) -> Vec<u8> {
        if self.rows == 0 {
            return Vec::new();
        }
        self.buf.extend_from_slice(&(-1_i16).to_be_bytes());
        self.buf
    }
}

/// A `numeric` field (its length and value) encoded once, for a value many rows repeat.
pub fn encoded_numeric(text: &str) -> Result<Vec<u8>, OutOfRange> {
    let mut writer = CopyWriter { buf: Vec::with_capacity(4 + 8 + 2 * text.len()), rows: 0 };
    writer.numeric_text(text)?;
    Ok(writer.buf)
}

/// numeric_send's layout: ndigits, weight, sign, dscale, then base-10000 digits with no leading
/// or trailing zero digit (as the server normalises what it reads). Written straight into `out`
/// (a numeric per column of every row: no allocation for up to `STACK_GROUPS` groups).
fn put_numeric(out: &mut Vec<u8>, negative: bool, int: &[u8], frac: &[u8]) {
    const STACK_GROUPS: usize = 48;
    let int_groups = int.len().div_ceil(4);
    let total = int_groups + frac.len().div_ceil(4);
    let mut stack = [0_u16; STACK_GROUPS];
    let mut heap = Vec::new();
    let groups: &mut [u16] = if total <= STACK_GROUPS {
        &mut stack[..total]
    } else {
        heap.resize(total, 0);
        &mut heap
    };
    // Base-10000 groups aligned on the decimal point: the integer part from its right end.
    let lead = int_groups * 4 - int.len();
    for (i, &c) in int.iter().enumerate() {
        let at = lead + i;
        groups[at / 4] = groups[at / 4] * 10 + u16::from(c - b'0');
    }
    for (i, &c) in frac.iter().enumerate() {
        let g = &mut groups[int_groups + i / 4];
        *g = *g * 10 + u16::from(c - b'0');
    }
    if frac.len() % 4 != 0 {
        let last = &mut groups[total - 1];
        *last *= 10_u16.pow(4 - (frac.len() % 4) as u32);
    }
    let dscale = frac.len() as u16;
    let Some(first) = groups.iter().position(|&g| g != 0) else {
        // Zero: no digits, weight 0, positive.
        out.extend_from_slice(&0_i16.to_be_bytes());
        out.extend_from_slice(&0_i16.to_be_bytes());
        out.extend_from_slice(&0_u16.to_be_bytes());
        out.extend_from_slice(&dscale.to_be_bytes());
        return;
    };
    let last = groups.iter().rposition(|&g| g != 0).unwrap_or(first);
    let weight = int_groups as i32 - 1 - first as i32;
    out.extend_from_slice(&((last - first + 1) as i16).to_be_bytes());
    out.extend_from_slice(&(weight as i16).to_be_bytes());
    out.extend_from_slice(&(if negative { NUMERIC_NEG } else { 0 }).to_be_bytes());
    out.extend_from_slice(&dscale.to_be_bytes());
    for g in &groups[first..=last] {
        out.extend_from_slice(&g.to_be_bytes());
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rstest::rstest;

    fn numeric(text: &str) -> Vec<u8> {
        let mut w = CopyWriter::with_capacity(0);
        w.numeric_text(text).unwrap();
        w.buf[19 + 4..].to_vec()
    }

    fn words(parts: &[i32]) -> Vec<u8> {
        parts.iter().flat_map(|&p| (p as i16).to_be_bytes()).collect()
    }

    // ndigits, weight, sign, dscale, digits: as numeric_send writes these values.
    #[rstest]
    #[case("0", &[0, 0, 0, 0])]
    #[case("0.000", &[0, 0, 0, 3])]
    #[case("1", &[1, 0, 0, 0, 1])]
    #[case("10000", &[1, 1, 0, 0, 1])]
    #[case("12345", &[2, 1, 0, 0, 1, 2345])]
    #[case("0.5", &[1, -1, 0, 1, 5000])]
    #[case("0.00001", &[1, -2, 0, 5, 1000])]
    #[case("3500.250000", &[2, 0, 0, 6, 3500, 2500])]
    #[case("-1.5", &[2, 0, 0x4000, 1, 1, 5000])]
    #[case("00012.0", &[1, 0, 0, 1, 12])]
    fn numeric_as_the_server_sends_it(#[case] text: &str, #[case] expected: &[i32]) {
        assert_eq!(numeric(text), words(expected));
    }

    #[test]
    fn u256_numeric_matches_its_text() {
        for value in [U256::ZERO, U256::from(10_000_u32), U256::from(u128::MAX), U256::MAX] {
            let mut a = CopyWriter::with_capacity(0);
            a.numeric_u256(value);
            let mut b = CopyWriter::with_capacity(0);
            b.numeric_text(&value.to_string()).unwrap();
            assert_eq!(a.buf, b.buf);
        }
    }

    /// The layout computed digit group by digit group, as a reference for `put_numeric`.
    fn reference_numeric(int: &[u8], frac: &[u8]) -> Vec<u8> {
        let digits: Vec<u8> = int.iter().chain(frac).map(|c| c - b'0').collect();
        let int_groups = int.len().div_ceil(4);
        let lead = int_groups * 4 - int.len();
        let padded: Vec<u8> = std::iter::repeat_n(0, lead).chain(digits).collect();
        let mut groups: Vec<u16> =
            padded.chunks(4).map(|c| (0..4).fold(0, |v, k| v * 10 + u16::from(*c.get(k).unwrap_or(&0)))).collect();
        let Some(first) = groups.iter().position(|&g| g != 0) else {
            return words(&[0, 0, 0, frac.len() as i32]);
        };
        let last = groups.iter().rposition(|&g| g != 0).unwrap();
        groups = groups[first..=last].to_vec();
        let mut out = words(&[groups.len() as i32, int_groups as i32 - 1 - first as i32, 0, frac.len() as i32]);
        out.extend(groups.iter().flat_map(|g| g.to_be_bytes()));
        out
    }

    proptest::proptest! {
        #[test]
        fn numeric_matches_the_group_by_group_layout(int in "[0-9]{0,90}", frac in "[0-9]{0,60}") {
            proptest::prop_assume!(!(int.is_empty() && frac.is_empty()));
            let text = if frac.is_empty() { int.clone() } else { format!("{int}.{frac}") };
            proptest::prop_assert_eq!(numeric(&text), reference_numeric(int.as_bytes(), frac.as_bytes()));
        }
    }

    #[rstest]
    #[case("")]
    #[case(".")]
    #[case("1e5")]
    #[case("1.2.3")]
    #[case("abc")]
    fn rejects_what_is_not_plain_decimal(#[case] text: &str) {
        assert!(CopyWriter::with_capacity(0).numeric_text(text).is_err());
    }

    #[test]
    fn header_rows_and_trailer() {
        assert!(CopyWriter::with_capacity(0).finish().is_empty());
        let mut w = CopyWriter::with_capacity(0);
        w.row(2);
        w.int8(7).unwrap();
        w.null();
        let out = w.finish();
        assert_eq!(&out[..11], SIGNATURE);
        assert_eq!(&out[19..21], &2_i16.to_be_bytes());
        assert_eq!(&out[21..25], &8_i32.to_be_bytes());
        assert_eq!(&out[out.len() - 2..], &(-1_i16).to_be_bytes());
        assert!(CopyWriter::with_capacity(0).int4(1 << 31).is_err());
        assert!(CopyWriter::with_capacity(0).timestamptz(0).is_ok());
    }
}
