//! Strict `0x` hex: anything Python could read differently is refused (and left to it).
//!
//! The fields are the JSON strings' raw bytes: hex needs no UTF-8 check, and whatever is not
//! ASCII hex is refused.

use ethnum::U256;

const NOT_HEX: u8 = 0xff;

/// Each byte's hex digit value, or `NOT_HEX`.
const NIBBLES: [u8; 256] = {
    let mut table = [NOT_HEX; 256];
    let mut c = 0;
    while c < 256 {
        table[c] = match c as u8 {
            b'0'..=b'9' => c as u8 - b'0',
            b'a'..=b'f' => c as u8 - b'a' + 10,
            b'A'..=b'F' => c as u8 - b'A' + 10,
            _ => NOT_HEX,
        };
        c += 1;
    }
    table
};

fn nibble(c: u8) -> Option<u8> {
    let value = NIBBLES[c as usize];
    (value != NOT_HEX).then_some(value)
}

/// Hex digit pairs into `out` (as long as `digits` is twice `out`); false on a non-digit.
fn decode_into(digits: &[u8], out: &mut [u8]) -> bool {
    let mut bad = 0;
    for (slot, pair) in out.iter_mut().zip(digits.chunks_exact(2)) {
        let (high, low) = (NIBBLES[pair[0] as usize], NIBBLES[pair[1] as usize]);
        bad |= high | low;
        *slot = high << 4 | low;
    }
    bad & 0xf0 == 0 // NOT_HEX has its high bits set, a digit never
}

/// `0x` + an even number of hex digits.
pub fn bytes(text: &[u8]) -> Option<Vec<u8>> {
    let digits = text.strip_prefix(b"0x")?;
    if digits.len() % 2 != 0 {
        return None;
    }
    let mut out = vec![0u8; digits.len() / 2];
    decode_into(digits, &mut out).then_some(out)
}

pub fn fixed<const N: usize>(text: &[u8]) -> Option<[u8; N]> {
    digits_of::<N>(text.strip_prefix(b"0x")?)
}

/// Exactly `2 * N` hex digits (no prefix).
pub fn digits_of<const N: usize>(digits: &[u8]) -> Option<[u8; N]> {
    if digits.len() != 2 * N {
        return None;
    }
    let mut out = [0u8; N];
    decode_into(digits, &mut out).then_some(out)
}

/// `int(text, 16)` for `0x` + 1..64 hex digits.
pub fn uint(text: &[u8]) -> Option<U256> {
    let digits = text.strip_prefix(b"0x")?;
    if digits.is_empty() || digits.len() > 64 {
        return None;
    }
    if digits.len() <= 32 {
        let mut value = 0_u128;
        for &c in digits {
            value = value << 4 | u128::from(nibble(c)?);
        }
        return Some(U256::from(value));
    }
    let mut value = U256::ZERO;
    for &c in digits {
        value = (value << 4) | U256::from(nibble(c)?);
    }
    Some(value)
}

/// The Python `hex_int`: also `0x` (and a JSON null) as 0.
pub fn hex_int(text: Option<&[u8]>) -> Option<U256> {
    match text {
        None => Some(U256::ZERO),
        Some(t) if t == b"0x" => Some(U256::ZERO),
        Some(t) => uint(t),
    }
}

pub fn small(text: &[u8]) -> Option<u64> {
    let digits = text.strip_prefix(b"0x")?;
    if digits.is_empty() || digits.len() > 64 {
        return None;
    }
    let mut value = 0_u64;
    for &c in digits {
        let digit = nibble(c)?;
        if value >> 60 != 0 {
            return None; // past u64
        }
        value = value << 4 | u64::from(digit);
    }
    Some(value)
}

/// A topic that holds an address: 12 zero bytes then 20 (`None` when not, as Python reads it).
pub enum TopicAddress {
    Address([u8; 20]),
    NotAnAddress,
}

pub fn topic_address(topic: &[u8]) -> Option<TopicAddress> {
    if !topic.is_ascii() {
        return None; // Python counts characters, not bytes: left to it
    }
    if topic.len() != 66 || &topic[2..26] != b"000000000000000000000000" {
        return Some(TopicAddress::NotAnAddress);
    }
    // Python reads the rest with bytes.fromhex, which also takes spaces: left to it.
    digits_of::<20>(&topic[26..]).map(TopicAddress::Address)
}

#[cfg(test)]
mod tests {
    use super::*;
    use rstest::rstest;

    #[rstest]
    #[case("0x0", Some(0))]
    #[case("0xff", Some(255))]
    #[case("0xFFFFFFFFFFFFFFFF", Some(u64::MAX))]
    #[case("0x00000000000000000000000000000000001", Some(1))] // zeros past 16 digits
    #[case("0x10000000000000000", None)] // 2^64
    #[case("0x", None)]
    #[case("0x1g", None)]
    #[case("ff", None)]
    fn small_as_python_reads_it(#[case] text: &str, #[case] expected: Option<u64>) {
        assert_eq!(small(text.as_bytes()), expected);
    }

    #[rstest]
    #[case("0x1")]
    #[case("0xffffffffffffffffffffffffffffffff")] // 32 digits: the u128 path
    #[case("0x100000000000000000000000000000000")] // 33: the U256 path
    #[case(&format!("0x{}", "f".repeat(64)))]
    fn uint_of_any_width(#[case] text: &str) {
        assert_eq!(uint(text.as_bytes()), Some(U256::from_str_hex(text).unwrap()));
    }

    #[test]
    fn uint_refuses_more_than_64_digits_or_a_non_digit() {
        assert_eq!(uint(format!("0x{}", "0".repeat(65)).as_bytes()), None);
        assert_eq!(uint(b"0x12z"), None);
        assert_eq!(uint(b"0x"), None);
    }

    #[test]
    fn fixed_and_bytes_take_even_hex_only() {
        assert_eq!(fixed::<2>(b"0xaBcD"), Some([0xab, 0xcd]));
        assert_eq!(fixed::<2>(b"0xabc"), None);
        assert_eq!(fixed::<2>(b"0xabcg"), None);
        assert_eq!(bytes(b"0x"), Some(Vec::new()));
        assert_eq!(bytes(b"0x0a0B"), Some(vec![10, 11]));
        assert_eq!(bytes(b"0xa"), None);
        assert_eq!(bytes(b"0x0:"), None);
    }
}
