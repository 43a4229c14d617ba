//! Exact decimal text in and out of integer atoms, and the rounding rules of fills.

use ethnum::U256;

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

// Amounts nearly always fit in 64 bits, where a division is one instruction instead of a call
// into the 128-bit routines: the per-bar marks and fills take that path.
#[inline]
pub fn div_floor(a: i128, b: i128) -> i128 {
    match (i64::try_from(a), i64::try_from(b)) {
        (Ok(a), Ok(b)) if b > 0 => i128::from(a.div_euclid(b)),
        _ => a.div_euclid(b),
    }
}

#[inline]
pub fn div_ceil(a: i128, b: i128) -> i128 {
    -div_floor(-a, b)
}

/// floor(a x b / c) for a, b >= 0 and c > 0, exact even where a x b leaves 128 bits (a large
/// capital at 12 decimals); the product is widened to 256 bits only then. Saturates at i128::MAX.
pub fn mul_div_floor(a: i128, b: i128, c: i128) -> i128 {
    debug_assert!(a >= 0 && b >= 0 && c > 0);
    match a.checked_mul(b) {
        Some(p) => div_floor(p, c),
        None => {
            let q = U256::from(a as u128) * U256::from(b as u128) / U256::from(c as u128);
            i128::try_from(q).unwrap_or(i128::MAX)
        }
    }
}

/// ceil(a x b / c), as `mul_div_floor`.
pub fn mul_div_ceil(a: i128, b: i128, c: i128) -> i128 {
    debug_assert!(a >= 0 && b >= 0 && c > 0);
    match a.checked_mul(b) {
        Some(p) => div_ceil(p, c),
        None => {
            let (n, d) = (U256::from(a as u128) * U256::from(b as u128), U256::from(c as u128));
            let q = n / d + U256::from(u8::from(n % d != U256::ZERO));
            i128::try_from(q).unwrap_or(i128::MAX)
        }
    }
}

/// Whether a / b > c / d for a, c >= 0 and b, d > 0, exactly.
pub fn ratio_gt(a: i128, b: i128, c: i128, d: i128) -> bool {
    match (a.checked_mul(d), c.checked_mul(b)) {
        (Some(x), Some(y)) => x > y,
        _ => U256::from(a as u128) * U256::from(d as u128) > U256::from(c as u128) * U256::from(b as u128),
    }
}

pub fn div_round(a: i128, b: i128) -> i128 {
    div_floor(a + b / 2, b)
}

/// A float price in atoms of 10^-decimals, rounded to the nearest atom (half away from zero).
#[inline]
pub fn to_atoms(x: f64, scale: f64) -> i128 {
    let v = x * scale;
    // Below 2^53 the truncation and the remainder are exact, and the conversion is one
    // instruction where `round() as i128` calls two routines.
    if v.abs() < 9.0e15 {
        let t = v as i64;
        let rest = v - t as f64;
        i128::from(if rest >= 0.5 {
            t + 1
        } else if rest <= -0.5 {
            t - 1
        } else {
            t
        })
    } else {
        v.round() as i128
    }
}

/// Atoms to a float in quote units, through 64 bits when the amount fits.
#[inline]
pub fn atoms_to_f64(atoms: i128, scale: f64) -> f64 {
    match i64::try_from(atoms) {
        Ok(a) => a as f64 / scale,
        // In two halves: written as `atoms as f64` the compiler folds both arms into the slow
        // 128-bit conversion. (The halves may round once more: this is only a curve's float.)
        Err(_) => ((atoms >> 32) as f64 * 4_294_967_296.0 + (atoms & 0xFFFF_FFFF) as f64) / scale,
    }
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
    fn to_atoms_rounds_half_away_from_zero_like_round() {
        for (x, scale) in [(0.125, 100.0), (2.5, 1.0), (-2.5, 1.0), (0.49999999999999994, 1.0), (1e20, 1.0)] {
            assert_eq!(to_atoms(x, scale), (x * scale).round() as i128, "{x} x {scale}");
        }
        for i in 0..10_000 {
            let x = 100.0 + f64::from(i) * 0.000_000_013;
            assert_eq!(to_atoms(x, 1e8), (x * 1e8).round() as i128, "{x}");
        }
    }

    #[test]
    fn atoms_to_f64_beyond_64_bits() {
        assert_eq!(atoms_to_f64(150_000_000, 1e8), 1.5);
        let big = i128::from(i64::MAX) * 1_000;
        assert!((atoms_to_f64(big, 1e8) / (big as f64 / 1e8) - 1.0).abs() < 1e-15);
        assert!((atoms_to_f64(-big, 1e8) / (-big as f64 / 1e8) - 1.0).abs() < 1e-15);
    }

    #[test]
    fn fast_division_paths_agree_with_128_bits() {
        for a in [-7i128, 7, 0, i128::from(i64::MIN), i128::from(i64::MAX), i128::from(i64::MAX) * 3] {
            for b in [1i128, 2, 7, i128::from(i64::MAX)] {
                assert_eq!(div_floor(a, b), a.div_euclid(b));
                assert_eq!(div_ceil(a, b), -(-a).div_euclid(b));
            }
        }
    }

    #[test]
    fn products_beyond_128_bits_stay_exact() {
        let big = 10i128.pow(24);
        assert_eq!(mul_div_floor(big, big, 10i128.pow(30)), 10i128.pow(18));
        assert_eq!(mul_div_floor(big + 1, big, 10i128.pow(30)), 10i128.pow(18));
        assert_eq!(mul_div_ceil(big + 1, big, 10i128.pow(30)), 10i128.pow(18) + 1);
        assert_eq!(mul_div_floor(7, 3, 2), 10);
        assert_eq!(mul_div_ceil(7, 3, 2), 11);
        assert_eq!(mul_div_floor(big, big, 1), i128::MAX);
        assert!(ratio_gt(big + 1, big, big, big));
        assert!(!ratio_gt(big, big, big, big));
        assert!(ratio_gt(1, 2, 1, 3));
    }

    #[test]
    fn rounding_directions() {
        assert_eq!(div_floor(-7, 2), -4);
        assert_eq!(div_ceil(7, 2), 4);
        assert_eq!(div_ceil(-7, 2), -3);
        assert_eq!(div_round(5, 2), 3);
    }
}
