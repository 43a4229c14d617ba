//! Half-even rounding of decimal digit strings, as Python's `decimal` rounds (the big integers
//! themselves are num-bigint's).

/// Rounds the decimal digit string `digits` (no leading zeros) to drop its last `drop` digits,
/// half to even, returning the kept digits (which may gain one digit by a carry).
pub fn round_half_even(digits: &str, drop: usize) -> String {
    if drop == 0 {
        return digits.to_owned();
    }
    if drop > digits.len() {
        return "0".to_owned();
    }
    let (keep, gone) = digits.split_at(digits.len() - drop);
    let first = gone.as_bytes()[0];
    let rest_zero = gone.as_bytes()[1..].iter().all(|&c| c == b'0');
    let last_odd = keep.as_bytes().last().is_some_and(|&c| (c - b'0') % 2 == 1);
    let up = first > b'5' || (first == b'5' && (!rest_zero || last_odd));
    let mut out: Vec<u8> = if keep.is_empty() { b"0".to_vec() } else { keep.as_bytes().to_vec() };
    if up {
        let mut i = out.len();
        loop {
            if i == 0 {
                out.insert(0, b'1');
                break;
            }
            i -= 1;
            if out[i] == b'9' {
                out[i] = b'0';
            } else {
                out[i] += 1;
                break;
            }
        }
    }
    let text = String::from_utf8(out).unwrap_or_default();
    let trimmed = text.trim_start_matches('0');
    if trimmed.is_empty() {
        "0".to_owned()
    } else {
        trimmed.to_owned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn half_even() {
        assert_eq!(round_half_even("125", 1), "12");
        assert_eq!(round_half_even("135", 1), "14");
        assert_eq!(round_half_even("1251", 2), "13");
        assert_eq!(round_half_even("999", 1), "100");
        assert_eq!(round_half_even("5", 1), "0");
        assert_eq!(round_half_even("6", 1), "1");
        assert_eq!(round_half_even("4", 3), "0");
    }
}
