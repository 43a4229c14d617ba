//! Exact decimal text in and out of integer atoms, and the rounding rules of fills.

/// `"123.45"` with `decimals` = 8 → 12_345_000_000. Refuses signs, exponents and digits beyond
/// `decimals`.
pub fn parse_decimal(text: &str, decimals: u32) -> Option<i128> {
    let (whole, frac) = match text.split_once('.') {
        Some((w, f)) => (w, f),
        None => (text, ""),
    };
    if whole.is_empty() && frac.is_empty() {
        return None;
    }
    if !whole.bytes().all(|b| b.is_ascii_digit()) || !frac.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let frac = frac.trim_end_matches('0');
    if frac.len() > decimals as usize || whole.len() > 30 {
        return None;
    }
    let mut atoms: i128 = 0;
    for b in whole.bytes().chain(frac.bytes()) {
        atoms = atoms.checked_mul(10)?.checked_add(i128::from(b - b'0'))?;
    }
    atoms.checked_mul(10i128.pow(decimals - frac.len() as u32))
}

/// Atoms as a decimal string with the trailing zeros of the fraction dropped.
pub fn format_atoms(atoms: i128, decimals: u32) -> String {
    let scale = 10i128.pow(decimals);
    let sign = if atoms < 0 { "-" } else { "" };
    let abs = atoms.unsigned_abs();
    let (whole, frac) = (abs / scale as u128, abs % scale as u128);
    if frac == 0 {
        return format!("{sign}{whole}");
    }
    let digits = format!("{frac:0width$}", width = decimals as usize);
    format!("{sign}{whole}.{}", digits.trim_end_matches('0'))
}

pub fn div_floor(a: i128, b: i128) -> i128 {
    a.div_euclid(b)
}

pub fn div_ceil(a: i128, b: i128) -> i128 {
    -(-a).div_euclid(b)
}

pub fn div_round(a: i128, b: i128) -> i128 {
    div_floor(a + b / 2, b)
}

/// A float price in atoms of 10^-decimals, rounded to the nearest atom.
pub fn to_atoms(x: f64, scale: f64) -> i128 {
    (x * scale).round() as i128
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decimals_round_trip() {
        assert_eq!(parse_decimal("123.45", 8), Some(12_345_000_000));
        assert_eq!(parse_decimal("0.00000001", 8), Some(1));
        assert_eq!(parse_decimal("0.000000001", 8), None);
        assert_eq!(parse_decimal("1e3", 8), None);
        assert_eq!(parse_decimal("-1", 8), None);
        assert_eq!(format_atoms(12_345_000_000, 8), "123.45");
        assert_eq!(format_atoms(-5, 8), "-0.00000005");
        assert_eq!(format_atoms(700_000_000, 8), "7");
    }

    #[test]
    fn rounding_directions() {
        assert_eq!(div_floor(-7, 2), -4);
        assert_eq!(div_ceil(7, 2), 4);
        assert_eq!(div_ceil(-7, 2), -3);
        assert_eq!(div_round(5, 2), 3);
    }
}
