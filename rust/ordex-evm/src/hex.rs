//! Strict `0x` hex: anything Python could read differently is refused (and left to it).

use ethnum::U256;

fn nibble(c: u8) -> Option<u8> {
    match c {
        b'0'..=b'9' => Some(c - b'0'),
        b'a'..=b'f' => Some(c - b'a' + 10),
        b'A'..=b'F' => Some(c - b'A' + 10),
        _ => None,
    }
}

/// `0x` + an even number of hex digits.
pub fn bytes(text: &str) -> Option<Vec<u8>> {
    let digits = text.strip_prefix("0x")?.as_bytes();
    if digits.len() % 2 != 0 {
        return None;
    }
    digits.chunks(2).map(|p| Some(nibble(p[0])? << 4 | nibble(p[1])?)).collect()
}

pub fn fixed<const N: usize>(text: &str) -> Option<[u8; N]> {
    let digits = text.strip_prefix("0x")?.as_bytes();
    if digits.len() != 2 * N {
        return None;
    }
    let mut out = [0u8; N];
    for (slot, p) in out.iter_mut().zip(digits.chunks(2)) {
        *slot = nibble(p[0])? << 4 | nibble(p[1])?;
    }
    Some(out)
}

/// `int(text, 16)` for `0x` + 1..64 hex digits.
pub fn uint(text: &str) -> Option<U256> {
    let digits = text.strip_prefix("0x")?;
    if digits.is_empty() || digits.len() > 64 {
        return None;
    }
    let mut value = U256::ZERO;
    for &c in digits.as_bytes() {
        value = (value << 4) | U256::from(nibble(c)?);
    }
    Some(value)
}

/// The Python `hex_int`: also `0x` (and a JSON null) as 0.
pub fn hex_int(text: Option<&str>) -> Option<U256> {
    match text {
        None | Some("0x") => Some(U256::ZERO),
        Some(t) => uint(t),
    }
}

pub fn small(text: &str) -> Option<u64> {
    let v = uint(text)?;
    if v > U256::from(u64::MAX) {
        return None;
    }
    Some(v.as_u64())
}

/// A topic that holds an address: 12 zero bytes then 20 (`None` when not, as Python reads it).
pub enum TopicAddress {
    Address([u8; 20]),
    NotAnAddress,
}

pub fn topic_address(topic: &str) -> Option<TopicAddress> {
    if !topic.is_ascii() {
        return None; // Python counts characters, not bytes: left to it
    }
    if topic.len() != 66 || &topic[2..26] != "000000000000000000000000" {
        return Some(TopicAddress::NotAnAddress);
    }
    // Python reads the rest with bytes.fromhex, which also takes spaces: left to it.
    fixed::<20>(&format!("0x{}", &topic[26..])).map(TopicAddress::Address)
}
