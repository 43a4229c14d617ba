//! Just enough unsigned big-integer arithmetic for exact USD amounts (amount × price, rounded
//! half-even): little-endian base-2³² limbs.

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Big(Vec<u32>);

impl Big {
    pub fn zero() -> Self {
        Big(Vec::new())
    }

    pub fn from_be_bytes(bytes: &[u8]) -> Self {
        let mut limbs = Vec::with_capacity(bytes.len().div_ceil(4));
        for chunk in bytes.rchunks(4) {
            let mut word = [0u8; 4];
            word[4 - chunk.len()..].copy_from_slice(chunk);
            limbs.push(u32::from_be_bytes(word));
        }
        let mut out = Big(limbs);
        out.trim();
        out
    }

    /// Decimal digits only (no sign, no point); None for anything else or an empty string.
    pub fn from_decimal(text: &str) -> Option<Self> {
        if text.is_empty() || !text.bytes().all(|c| c.is_ascii_digit()) {
            return None;
        }
        let mut out = Big::zero();
        for chunk in text.as_bytes().chunks(9) {
            let mut value = 0u32;
            for &c in chunk {
                value = value * 10 + u32::from(c - b'0');
            }
            out.mul_small_add(10u32.pow(chunk.len() as u32), value);
        }
        Some(out)
    }

    fn trim(&mut self) {
        while self.0.last() == Some(&0) {
            self.0.pop();
        }
    }

    pub fn is_zero(&self) -> bool {
        self.0.is_empty()
    }

    pub fn mul_small_add(&mut self, factor: u32, add: u32) {
        let mut carry = u64::from(add);
        for limb in &mut self.0 {
            let v = u64::from(*limb) * u64::from(factor) + carry;
            *limb = v as u32;
            carry = v >> 32;
        }
        if carry != 0 {
            self.0.push(carry as u32);
        }
        self.trim();
    }

    pub fn mul(&self, other: &Big) -> Big {
        if self.is_zero() || other.is_zero() {
            return Big::zero();
        }
        let mut out = vec![0u32; self.0.len() + other.0.len()];
        for (i, &a) in self.0.iter().enumerate() {
            let mut carry = 0u64;
            for (j, &b) in other.0.iter().enumerate() {
                let v = u64::from(a) * u64::from(b) + u64::from(out[i + j]) + carry;
                out[i + j] = v as u32;
                carry = v >> 32;
            }
            let mut k = i + other.0.len();
            while carry != 0 {
                let v = u64::from(out[k]) + carry;
                out[k] = v as u32;
                carry = v >> 32;
                k += 1;
            }
        }
        let mut big = Big(out);
        big.trim();
        big
    }

    /// Divides in place, returning the remainder.
    pub fn div_small(&mut self, divisor: u32) -> u32 {
        let mut rem = 0u64;
        for limb in self.0.iter_mut().rev() {
            let v = (rem << 32) | u64::from(*limb);
            *limb = (v / u64::from(divisor)) as u32;
            rem = v % u64::from(divisor);
        }
        self.trim();
        rem as u32
    }

    pub fn to_decimal(&self) -> String {
        if self.is_zero() {
            return "0".to_owned();
        }
        let mut n = self.clone();
        let mut parts = Vec::new();
        while !n.is_zero() {
            parts.push(n.div_small(1_000_000_000));
        }
        let mut out = parts.pop().map(|p| p.to_string()).unwrap_or_default();
        for p in parts.iter().rev() {
            out.push_str(&format!("{p:09}"));
        }
        out
    }
}

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
    fn decimal_round_trip() {
        let text = "115792089237316195423570985008687907853269984665640564039457584007913129639935";
        let n = Big::from_decimal(text).unwrap();
        assert_eq!(n.to_decimal(), text);
        assert_eq!(n.mul(&Big::from_decimal("10").unwrap()).to_decimal(), format!("{text}0"));
        assert_eq!(Big::from_be_bytes(&[1, 0, 0, 0, 0]).to_decimal(), "4294967296");
    }

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
