//! USD amounts exactly as the Python ingest computes them with `decimal`: `amount × price`
//! rounded half-even to 80 significant digits, scaled by 10^-decimals, quantized half-even to
//! 18 decimal places (a result needing more than 80 digits is refused, as `decimal` refuses it).

use crate::bigint::round_half_even;
use ethnum::U256;
use num_bigint::BigUint;

const PRECISION: usize = 80;
const PLACES: i64 = 18;

/// A USD price as a plain decimal (`123.456`, no exponent, no sign).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Price {
    mantissa: BigUint,
    /// The mantissa when it fits 256 bits: most products are then worked out without BigUint.
    small: Option<U256>,
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
        let small = u256(&mantissa);
        Some(Price { mantissa, small, scale: frac.len() as i64 })
    }
}

/// The amount is too large for 80 significant digits at 18 decimal places.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UsdOverflow;

fn u256(value: &BigUint) -> Option<U256> {
    let bytes = value.to_bytes_be();
    (bytes.len() <= 32).then(|| {
        let mut word = [0_u8; 32];
        word[32 - bytes.len()..].copy_from_slice(&bytes);
        U256::from_be_bytes(word)
    })
}

/// Decimal digits of `value`: 10^19 at a time rather than digit by digit.
fn u256_digits(mut value: U256) -> String {
    const CHUNK: u64 = 10_000_000_000_000_000_000;
    let mut chunks = [0_u64; 4];
    let mut count = 0;
    while value > U256::from(u128::MAX) {
        let (quotient, remainder) = value.div_rem(U256::from(CHUNK));
        chunks[count] = remainder.as_u64();
        count += 1;
        value = quotient;
    }
    let mut buffer = itoa::Buffer::new();
    let mut digits = String::with_capacity(80);
    digits.push_str(buffer.format(value.as_u128()));
    for &chunk in chunks[..count].iter().rev() {
        let text = buffer.format(chunk);
        digits.extend(std::iter::repeat_n('0', 19 - text.len()));
        digits.push_str(text);
    }
    digits
}

/// `usd_amount` of a 256-bit amount: the product in 256 bits when it fits, else in BigUint.
pub fn usd_amount_u256(amount: U256, decimals: u32, price: &Price) -> Result<String, UsdOverflow> {
    match price.small.and_then(|m| amount.checked_mul(m)) {
        Some(product) => usd_of_digits(u256_digits(product), decimals, price),
        None => usd_amount(&BigUint::from_bytes_be(&amount.to_be_bytes()), decimals, price),
    }
}

/// USD value of `amount` base units of a token with `decimals`, as COPY text (18 places).
pub fn usd_amount(amount: &BigUint, decimals: u32, price: &Price) -> Result<String, UsdOverflow> {
    usd_of_digits((amount * &price.mantissa).to_string(), decimals, price)
}

/// The product `amount × mantissa` (its decimal digits) scaled, rounded and quantized.
fn usd_of_digits(mut digits: String, decimals: u32, price: &Price) -> Result<String, UsdOverflow> {
    if digits == "0" {
        return Ok(format!("0.{}", "0".repeat(PLACES as usize)));
    }
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

    proptest::proptest! {
        // The 256-bit path gives the BigUint path's text (or its refusal), whatever fits where.
        #[test]
        fn u256_path_matches_the_biguint_path(
            amount in proptest::array::uniform32(proptest::num::u8::ANY),
            width in 0_usize..=32,
            decimals in 0_u32..40,
            int in "[0-9]{1,30}",
            frac in "[0-9]{0,50}",
        ) {
            let mut word = [0_u8; 32];
            word[32 - width..].copy_from_slice(&amount[..width]);
            let amount = U256::from_be_bytes(word);
            let text = if frac.is_empty() { int.clone() } else { format!("{int}.{frac}") };
            let price = Price::parse(&text).unwrap();
            let expected = usd_amount(&BigUint::from_bytes_be(&amount.to_be_bytes()), decimals, &price);
            proptest::prop_assert_eq!(usd_amount_u256(amount, decimals, &price), expected);
        }
    }

    #[test]
    fn digits_of_u256_values() {
        for value in [U256::ZERO, U256::ONE, U256::from(u128::MAX), U256::from(u128::MAX) + 1, U256::MAX] {
            assert_eq!(u256_digits(value), value.to_string());
        }
    }

    #[test]
    fn refuses_what_decimal_refuses() {
        let max = big("115792089237316195423570985008687907853269984665640564039457584007913129639935");
        assert_eq!(usd_amount(&max, 18, &Price::parse("3012.5").unwrap()), Err(UsdOverflow));
        let amount = big(&"9".repeat(70));
        assert_eq!(usd_amount(&amount, 0, &Price::parse("1").unwrap()), Err(UsdOverflow));
    }
}
