//! `a * b / d` with a 512-bit intermediate product, rounded down or up, as Uniswap's FullMath.

use crate::error::{Result, UniswapError};
use ethnum::U256;

fn limbs(x: U256) -> [u64; 4] {
    let (hi, lo) = x.into_words();
    [lo as u64, (lo >> 64) as u64, hi as u64, (hi >> 64) as u64]
}

fn from_limbs(l: &[u64]) -> U256 {
    let lo = l[0] as u128 | (l[1] as u128) << 64;
    let hi = l[2] as u128 | (l[3] as u128) << 64;
    U256::from_words(hi, lo)
}

/// The full 512-bit product, little-endian 64-bit limbs.
fn mul_wide(a: U256, b: U256) -> [u64; 8] {
    let (x, y) = (limbs(a), limbs(b));
    let mut out = [0u64; 8];
    for (i, &xi) in x.iter().enumerate() {
        let mut carry = 0u128;
        for (j, &yj) in y.iter().enumerate() {
            let t = xi as u128 * yj as u128 + out[i + j] as u128 + carry;
            out[i + j] = t as u64;
            carry = t >> 64;
        }
        out[i + 4] = carry as u64;
    }
    out
}

/// Long division of a 512-bit numerator by a non-zero 256-bit divisor (Knuth, TAOCP 4.3.1,
/// algorithm D, base 2^64). Returns (quotient, remainder); the caller checks the quotient fits.
fn div_wide(num: &[u64; 8], divisor: U256) -> ([u64; 8], U256) {
    let d = limbs(divisor);
    let n = d.iter().rposition(|&l| l != 0).map_or(0, |i| i + 1);
    debug_assert!(n > 0);
    let mut q = [0u64; 8];
    if n == 1 {
        let dv = d[0] as u128;
        let mut rem = 0u128;
        for i in (0..8).rev() {
            let cur = rem << 64 | num[i] as u128;
            q[i] = (cur / dv) as u64;
            rem = cur % dv;
        }
        return (q, U256::from(rem));
    }
    // Normalise so the divisor's top limb has its high bit set.
    let s = d[n - 1].leading_zeros();
    let mut v = [0u64; 4];
    let mut u = [0u64; 9];
    if s == 0 {
        v[..n].copy_from_slice(&d[..n]);
        u[..8].copy_from_slice(num);
    } else {
        for i in (1..n).rev() {
            v[i] = d[i] << s | d[i - 1] >> (64 - s);
        }
        v[0] = d[0] << s;
        u[8] = num[7] >> (64 - s);
        for i in (1..8).rev() {
            u[i] = num[i] << s | num[i - 1] >> (64 - s);
        }
        u[0] = num[0] << s;
    }
    let base: u128 = 1 << 64;
    for j in (0..=8 - n).rev() {
        let top = (u[j + n] as u128) << 64 | u[j + n - 1] as u128;
        let mut qhat = top / v[n - 1] as u128;
        let mut rhat = top % v[n - 1] as u128;
        while qhat >= base || qhat * v[n - 2] as u128 > (rhat << 64 | u[j + n - 2] as u128) {
            qhat -= 1;
            rhat += v[n - 1] as u128;
            if rhat >= base {
                break;
            }
        }
        // u[j..=j+n] -= qhat * v
        let mut borrow: i128 = 0;
        let mut carry: u128 = 0;
        for i in 0..n {
            let p = qhat * v[i] as u128 + carry;
            carry = p >> 64;
            let t = u[i + j] as i128 - borrow - (p as u64) as i128;
            u[i + j] = t as u64;
            borrow = if t < 0 { 1 } else { 0 };
        }
        let t = u[j + n] as i128 - borrow - carry as i128;
        u[j + n] = t as u64;
        if t < 0 {
            // qhat was one too large: add the divisor back.
            qhat -= 1;
            let mut c: u128 = 0;
            for i in 0..n {
                let s2 = u[i + j] as u128 + v[i] as u128 + c;
                u[i + j] = s2 as u64;
                c = s2 >> 64;
            }
            u[j + n] = u[j + n].wrapping_add(c as u64);
        }
        q[j] = qhat as u64;
    }
    let mut r = [0u64; 4];
    if s == 0 {
        r[..n].copy_from_slice(&u[..n]);
    } else {
        for i in 0..n {
            r[i] = u[i] >> s | u[i + 1] << (64 - s);
        }
    }
    (q, from_limbs(&r))
}

/// `floor(a * b / denominator)` and whether the division left a remainder.
fn mul_div_rem(a: U256, b: U256, denominator: U256) -> Result<(U256, bool)> {
    if denominator == U256::ZERO {
        return Err(UniswapError::DivisionByZero);
    }
    if let Some(product) = a.checked_mul(b) {
        return Ok((product / denominator, product % denominator != U256::ZERO));
    }
    let wide = mul_wide(a, b);
    // The quotient fits 256 bits exactly when the product's high half is below the denominator.
    if from_limbs(&wide[4..]) >= denominator {
        return Err(UniswapError::Overflow);
    }
    let (q, r) = div_wide(&wide, denominator);
    Ok((from_limbs(&q[..4]), r != U256::ZERO))
}

/// `floor(a * b / denominator)`; errors on a zero denominator or a quotient past 2^256 - 1.
pub fn mul_div(a: U256, b: U256, denominator: U256) -> Result<U256> {
    mul_div_rem(a, b, denominator).map(|(q, _)| q)
}

/// `ceil(a * b / denominator)`; errors on a zero denominator or a quotient past 2^256 - 1.
pub fn mul_div_rounding_up(a: U256, b: U256, denominator: U256) -> Result<U256> {
    let (q, rem) = mul_div_rem(a, b, denominator)?;
    if rem {
        q.checked_add(U256::ONE).ok_or(UniswapError::Overflow)
    } else {
        Ok(q)
    }
}

/// `ceil(x / y)`.
pub fn div_rounding_up(x: U256, y: U256) -> Result<U256> {
    if y == U256::ZERO {
        return Err(UniswapError::DivisionByZero);
    }
    let q = x / y;
    Ok(if x % y != U256::ZERO { q + U256::ONE } else { q })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wide_division_matches_narrow_when_it_fits() {
        let a = U256::from_words(0x1234, 0xdead_beef_0000_0000_1111_2222_3333_4444);
        let b = U256::from_words(0, 0xffff_ffff_ffff_ffff_0000_0001);
        let d = U256::from_words(0, 0x1_0000_0000_0000_0003);
        let wide = mul_wide(a, b);
        let (q, r) = div_wide(&wide, d);
        // Check q * d + r == a * b.
        let back = mul_wide(from_limbs(&q[..4]), d);
        let mut sum = back;
        let rl = limbs(r);
        let mut carry = 0u128;
        for i in 0..8 {
            let t = sum[i] as u128 + if i < 4 { rl[i] as u128 } else { 0 } + carry;
            sum[i] = t as u64;
            carry = t >> 64;
        }
        assert_eq!(sum, wide);
        assert!(r < d);
    }
}
