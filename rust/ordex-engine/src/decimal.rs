//! Exact decimal strings <-> integer units.
//!
//! Every amount the engine sees is an integer count of some unit: price ticks, quantity lots,
//! quote atoms (10^-quote_decimals), or rate units (10^-8). Parsing never rounds: a string that
//! is not a whole number of units is an error the caller must surface.

use std::fmt;

/// A positive decimal unit `mantissa * 10^-exponent` (for example a tick size of 0.05 is 5e-2).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub struct Unit {
    pub mantissa: u64,
    pub exponent: u32,
}

/// Why a decimal string could not become a whole number of units.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum DecimalError {
    /// Not of the form `[-]digits[.digits]`.
    Malformed,
    /// Too many digits to represent exactly.
    Overflow,
    /// A valid decimal, but not a whole multiple of the unit (for example 100.05 with tick 0.1).
    NotAligned,
    /// A negative value where only non-negative ones make sense.
    Negative,
}

impl fmt::Display for DecimalError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            DecimalError::Malformed => "not a decimal number",
            DecimalError::Overflow => "too many digits",
            DecimalError::NotAligned => "not a multiple of the unit",
            DecimalError::Negative => "must not be negative",
        })
    }
}

impl std::error::Error for DecimalError {}

const MAX_EXPONENT: u32 = 30;

/// Parses `[-]digits[.digits]` into `(mantissa, exponent)` with value `mantissa * 10^-exponent`.
/// No exponent notation, no leading `+`, no whitespace: money strings are strict.
pub fn parse(s: &str) -> Result<(i128, u32), DecimalError> {
    let bytes = s.as_bytes();
    let (negative, digits) = match bytes.first() {
        Some(b'-') => (true, &bytes[1..]),
        _ => (false, bytes),
    };
    if digits.is_empty() {
        return Err(DecimalError::Malformed);
    }
    let mut mantissa: i128 = 0;
    let mut exponent: u32 = 0;
    let mut seen_dot = false;
    let mut seen_digit_before_dot = false;
    let mut seen_digit_after_dot = false;
    for &b in digits {
        match b {
            b'0'..=b'9' => {
                mantissa = mantissa
                    .checked_mul(10)
                    .and_then(|m| m.checked_add(i128::from(b - b'0')))
                    .ok_or(DecimalError::Overflow)?;
                if seen_dot {
                    exponent += 1;
                    seen_digit_after_dot = true;
                    if exponent > MAX_EXPONENT {
                        return Err(DecimalError::Overflow);
                    }
                } else {
                    seen_digit_before_dot = true;
                }
            }
            b'.' if !seen_dot => seen_dot = true,
            _ => return Err(DecimalError::Malformed),
        }
    }
    if !seen_digit_before_dot || (seen_dot && !seen_digit_after_dot) {
        return Err(DecimalError::Malformed);
    }
    Ok((if negative { -mantissa } else { mantissa }, exponent))
}

fn pow10(n: u32) -> Result<i128, DecimalError> {
    10i128.checked_pow(n).ok_or(DecimalError::Overflow)
}

impl Unit {
    pub const fn new(mantissa: u64, exponent: u32) -> Self {
        Unit { mantissa, exponent }
    }

    /// The unit `10^-decimals` (quote atoms, rate units).
    pub const fn atom(decimals: u32) -> Self {
        Unit { mantissa: 1, exponent: decimals }
    }

    /// Parses a positive unit such as a tick size `"0.01"`, normalised (trailing zeros folded).
    pub fn parse(s: &str) -> Result<Self, DecimalError> {
        let (mut m, mut e) = parse(s)?;
        if m < 0 {
            return Err(DecimalError::Negative);
        }
        if m == 0 {
            return Err(DecimalError::Malformed);
        }
        while e > 0 && m % 10 == 0 {
            m /= 10;
            e -= 1;
        }
        let mantissa = u64::try_from(m).map_err(|_| DecimalError::Overflow)?;
        Ok(Unit { mantissa, exponent: e })
    }

    /// How many whole units `s` is. Errors with `NotAligned` rather than rounding.
    pub fn units_of(&self, s: &str) -> Result<i128, DecimalError> {
        let (m, e) = parse(s)?;
        self.units_of_parts(m, e)
    }

    /// Like [`Unit::units_of`] for an already split decimal `m * 10^-e`.
    pub fn units_of_parts(&self, m: i128, e: u32) -> Result<i128, DecimalError> {
        let common = e.max(self.exponent);
        let value = m.checked_mul(pow10(common - e)?).ok_or(DecimalError::Overflow)?;
        let unit =
            i128::from(self.mantissa).checked_mul(pow10(common - self.exponent)?).ok_or(DecimalError::Overflow)?;
        if value % unit != 0 {
            return Err(DecimalError::NotAligned);
        }
        Ok(value / unit)
    }

    /// `units * self` as a canonical decimal string (no exponent, trailing zeros trimmed).
    pub fn format(&self, units: i128) -> String {
        format_scaled(units * i128::from(self.mantissa), self.exponent)
    }

    /// How many `other` units one `self` unit is, when that is a whole number.
    pub fn ratio_to(&self, other: &Unit) -> Option<i128> {
        other.units_of_parts(i128::from(self.mantissa), self.exponent).ok()
    }

    /// The canonical decimal string of the unit itself.
    pub fn to_decimal_string(&self) -> String {
        self.format(1)
    }
}

impl fmt::Display for Unit {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_decimal_string())
    }
}

/// Formats `value * 10^-exponent` canonically: `"-12.5"`, `"0.001"`, `"100"`.
pub fn format_scaled(value: i128, exponent: u32) -> String {
    let negative = value < 0;
    let mut buf = itoa::Buffer::new();
    let digits = buf.format(value.unsigned_abs());
    let exponent = exponent as usize;
    let mut out = String::with_capacity(digits.len() + exponent + 3);
    if negative {
        out.push('-');
    }
    if exponent == 0 {
        out.push_str(digits);
        return out;
    }
    let (int_part, frac_part) =
        if digits.len() > exponent { digits.split_at(digits.len() - exponent) } else { ("", digits) };
    if int_part.is_empty() {
        out.push('0');
    } else {
        out.push_str(int_part);
    }
    let frac = format!("{frac_part:0>exponent$}");
    let frac = frac.trim_end_matches('0');
    if !frac.is_empty() {
        out.push('.');
        out.push_str(frac);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use rstest::rstest;

    #[rstest]
    #[case("65000", "0.1", Ok(650000))]
    #[case("65000.5", "0.1", Ok(650005))]
    #[case("65000.50", "0.1", Ok(650005))]
    #[case("65000.55", "0.1", Err(DecimalError::NotAligned))]
    #[case("0.25", "0.05", Ok(5))]
    #[case("0.3", "0.25", Err(DecimalError::NotAligned))]
    #[case("1e5", "1", Err(DecimalError::Malformed))]
    #[case("", "1", Err(DecimalError::Malformed))]
    #[case(".5", "0.1", Err(DecimalError::Malformed))]
    #[case("5.", "0.1", Err(DecimalError::Malformed))]
    #[case("1.2.3", "0.1", Err(DecimalError::Malformed))]
    #[case("+1", "0.1", Err(DecimalError::Malformed))]
    #[case("-2.5", "0.5", Ok(-5))]
    #[case("100", "25", Ok(4))]
    #[case("110", "25", Err(DecimalError::NotAligned))]
    fn units_are_exact(#[case] input: &str, #[case] unit: &str, #[case] want: Result<i128, DecimalError>) {
        assert_eq!(Unit::parse(unit).unwrap().units_of(input), want);
    }

    #[rstest]
    #[case(650005, "0.1", "65000.5")]
    #[case(650000, "0.1", "65000")]
    #[case(1, "0.001", "0.001")]
    #[case(-15, "0.1", "-1.5")]
    #[case(4, "25", "100")]
    #[case(0, "0.01", "0")]
    fn formats_canonically(#[case] units: i128, #[case] unit: &str, #[case] want: &str) {
        assert_eq!(Unit::parse(unit).unwrap().format(units), want);
    }

    #[test]
    fn unit_normalises_trailing_zeros() {
        assert_eq!(Unit::parse("0.10").unwrap(), Unit::new(1, 1));
        assert_eq!(Unit::parse("0.0001").unwrap().ratio_to(&Unit::atom(6)), Some(100));
        assert_eq!(Unit::parse("0.1").unwrap().ratio_to(&Unit::new(3, 1)), None);
    }
}
