//! USD amounts exactly as the Python ingest computes them with `decimal`: `amount × price`
//! rounded half-even to 80 significant digits, scaled by 10^-decimals, quantized half-even to
//! 18 decimal places (a result needing more than 80 digits is refused, as `decimal` refuses it).

use crate::bigint::round_half_even;
use num_bigint::BigUint;
use num_traits::Zero;

const PRECISION: usize = 80;
const PLACES: i64 = 18;

/// A USD price as a plain decimal (`123.456`, no exponent, no sign).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Price {
    mantissa: BigUint,
    scale: i64,
}

impl Price {
    pub fn parse(text: &str) -> Option<Price> {
        let (int, frac) = text.split_once('.').unwrap_or((text, ""));
        if int.is_empty() {
            return None;
        }
        if !int.bytes().chain(frac.bytes()).all(|c| c.is_ascii_digit()) {
            return None;
        }
        let mantissa = BigUint::parse_bytes(format!("{int}{frac}").as_bytes(), 10)?;
        Some(Price { mantissa, scale: frac.len() as i64 })
    }
}

/// The amount is too large for 80 significant digits at 18 decimal places.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UsdOverflow;

/// USD value of `amount` base units of a token with `decimals`, as COPY text (18 places).
pub fn usd_amount(amount: &BigUint, decimals: u32, price: &Price) -> Result<String, UsdOverflow> {
    if amount.is_zero() {
        return Ok(format!("0.{}", "0".repeat(PLACES as usize)));
    }
    let mut digits = (amount * &price.mantissa).to_string();
    let mut exponent = -(price.scale + i64::from(decimals));
    if digits.len() > PRECISION {
        let drop = digits.len() - PRECISION;
        digits = round_half_even(&digits, drop);
        exponent += drop as i64;
    }
    if exponent < -PLACES {
        let drop = (-PLACES - exponent) as usize;
        digits = round_half_even(&digits, drop);
    } else if exponent > -PLACES && digits != "0" {
        digits.push_str(&"0".repeat((exponent + PLACES) as usize));
    }
    if digits.len() > PRECISION {
        return Err(UsdOverflow);
    }
    let places = PLACES as usize;
    if digits.len() <= places {
        digits = format!("{}{digits}", "0".repeat(places + 1 - digits.len()));
    }
    let (int, frac) = digits.split_at(digits.len() - places);
    Ok(format!("{int}.{frac}"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use rstest::rstest;

    fn big(text: &str) -> BigUint {
        BigUint::parse_bytes(text.as_bytes(), 10).unwrap()
    }

    #[rstest]
    #[case("0", 18, "3000", "0.000000000000000000")]
    #[case("1000000000000000000", 18, "3000", "3000.000000000000000000")]
    #[case("1", 18, "1", "0.000000000000000001")]
    #[case("1", 19, "5", "0.000000000000000000")] // 5e-19: half to even, down
    #[case("3", 19, "5", "0.000000000000000002")] // 1.5e-18: half to even, up
    #[case("1234567", 6, "1", "1.234567000000000000")]
    #[case("5", 0, "0", "0.000000000000000000")]
    #[case("25", 2, "0.1", "0.025000000000000000")]
    fn matches_python_decimal(
        #[case] amount: &str,
        #[case] decimals: u32,
        #[case] price: &str,
        #[case] expected: &str,
    ) {
        let amount = big(amount);
        let price = Price::parse(price).unwrap();
        assert_eq!(usd_amount(&amount, decimals, &price).unwrap(), expected);
    }

    #[test]
    fn rounds_to_eighty_digits_first() {
        // (2**256-1) × 1.5 at 18 decimals, computed with Python's Context(prec=80).
        let amount = big("115792089237316195423570985008687907853269984665640564039457584007913129639935");
        let price = Price::parse("1.5").unwrap();
        assert_eq!(
            usd_amount(&amount, 18, &price).unwrap(),
            "173688133855974293135356477513031861779904976998460846059186.376011869694459902"
        );
    }

    // Products past 80 significant digits, rounded there first; expected values from Python's
    // `usd_amount` (services.indexer_prices).
    #[rstest]
    #[case(
        "1606938044258990275541962092341162602522202993782792835301375",
        18,
        "3012.123456789012345678901234567890123456789",
        "4840295776719164703497299057362752843747426780.412904660193070898"
    )]
    #[case(
        "12345678901234567890123456789",
        6,
        "0.000123456789012345678901234567890123456789012345",
        "1524157875323883675.049535156255144037"
    )]
    #[case(
        "10000000000000000000000000000000000000005",
        30,
        "1.00000000000000000000000000000000000000000000000005",
        "10000000000.000000000000000000"
    )]
    fn long_products_as_python_rounds_them(
        #[case] amount: &str,
        #[case] decimals: u32,
        #[case] price: &str,
        #[case] expected: &str,
    ) {
        let amount = big(amount);
        assert_eq!(usd_amount(&amount, decimals, &Price::parse(price).unwrap()).unwrap(), expected);
    }

    #[test]
    fn refuses_what_decimal_refuses() {
        let max = big("115792089237316195423570985008687907853269984665640564039457584007913129639935");
        assert_eq!(usd_amount(&max, 18, &Price::parse("3012.5").unwrap()), Err(UsdOverflow));
        let amount = big(&"9".repeat(70));
        assert_eq!(usd_amount(&amount, 0, &Price::parse("1").unwrap()), Err(UsdOverflow));
    }
}
