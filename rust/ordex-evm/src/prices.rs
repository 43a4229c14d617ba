//! USD prices at each block of a range from Uniswap v3 pools, exactly as the Python reference
//! (`ordex.services.indexer_prices`) works them out: integer ratios from each pool's
//! sqrtPriceX96 and in-range liquidity, divided to 50 significant digits the way Python's
//! `decimal` divides (half-even; an exact quotient keeps no trailing zero past the units).

use crate::bigint::round_half_even;
use crate::decode::{DecodedRange, PoolEventKind};
use crate::Address;
use num_bigint::BigUint;
use num_integer::Integer;
use num_traits::{One, Zero};
use std::collections::{HashMap, HashSet};

/// Significant digits of a price (the reference's `PRICE_CONTEXT`).
const PRECISION: usize = 50;

/// A ratio of integers (numerator, positive denominator).
type Ratio = (BigUint, BigUint);
/// A token's USD price and the pool it came from.
pub type Priced = (Dec, Option<Address>);

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PoolInfo {
    pub address: Address,
    pub token0: Address,
    pub token1: Address,
    pub decimals0: u32,
    pub decimals1: u32,
}

/// What prices tokens: `pools` are the tracked pools (the ETH/USD pool and the whitelisted ones
/// whose tokens' decimals are known), in the reference's order.
#[derive(Debug, Clone, Default)]
pub struct PricingConfig {
    pub weth: Option<Address>,
    pub eth_usd_pool: Option<Address>,
    pub stablecoins: HashSet<Address>,
    pub price_pools: HashSet<Address>,
    pub pools: Vec<PoolInfo>,
    /// The liquidity floor in USD as a ratio (numerator, denominator).
    pub floor: (BigUint, BigUint),
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PoolState {
    pub sqrt_price_x96: BigUint,
    pub liquidity: BigUint,
    pub tick: i32,
}

/// A decimal number as `decimal.Decimal` holds it: coefficient × 10^exponent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Dec {
    pub coefficient: BigUint,
    pub exponent: i32,
}

impl Dec {
    pub fn one() -> Self {
        Dec { coefficient: BigUint::one(), exponent: 0 }
    }

    /// (numerator, denominator), not necessarily in lowest terms.
    fn ratio(&self) -> Ratio {
        let ten = BigUint::from(10_u32);
        if self.exponent >= 0 {
            (&self.coefficient * ten.pow(self.exponent as u32), BigUint::one())
        } else {
            (self.coefficient.clone(), ten.pow(self.exponent.unsigned_abs()))
        }
    }

    /// `format(value, "f")`.
    pub fn text(&self) -> String {
        let digits = self.coefficient.to_string();
        if self.exponent >= 0 {
            let zeros = if self.coefficient.is_zero() { 0 } else { self.exponent as usize };
            return format!("{digits}{}", "0".repeat(zeros));
        }
        let places = self.exponent.unsigned_abs() as usize;
        if digits.len() > places {
            let (int, frac) = digits.split_at(digits.len() - places);
            format!("{int}.{frac}")
        } else {
            format!("0.{}{digits}", "0".repeat(places - digits.len()))
        }
    }
}

/// `Context(prec=50).divide(Decimal(num), Decimal(den))` for integers, `den` > 0.
pub fn divide(num: &BigUint, den: &BigUint) -> Dec {
    if num.is_zero() {
        return Dec { coefficient: BigUint::zero(), exponent: 0 };
    }
    let ten = BigUint::from(10_u32);
    let num_digits = num.to_string().len() as i64;
    let den_digits = den.to_string().len() as i64;
    // Enough digits that the quotient has more than PRECISION of them.
    let shift = (PRECISION as i64 + 1 + den_digits - num_digits).max(0) as u32;
    let (quotient, remainder) = (num * ten.pow(shift)).div_rem(den);
    let quotient = quotient.to_string();
    let drop = quotient.len().saturating_sub(PRECISION);
    let mut exponent = drop as i32 - shift as i32;
    let exact = remainder.is_zero() && quotient.bytes().skip(quotient.len() - drop).all(|d| d == b'0');
    // A remainder is one more nonzero digit past the quotient's for the rounding.
    let mut kept = match (drop, remainder.is_zero()) {
        (0, _) => quotient,
        (_, true) => round_half_even(&quotient, drop),
        (_, false) => round_half_even(&format!("{quotient}1"), drop + 1),
    };
    if kept.len() > PRECISION {
        // 99…9 rounded up to 100…0: one digit more, then one zero less.
        kept.pop();
        exponent += 1;
    }
    let mut digits = kept.into_bytes();
    if exact {
        // An exact quotient: trailing zeros dropped back towards the ideal exponent (0).
        while exponent < 0 && digits.len() > 1 && digits.last() == Some(&b'0') {
            digits.pop();
            exponent += 1;
        }
    }
    let coefficient = BigUint::parse_bytes(&digits, 10).unwrap_or_default();
    Dec { coefficient, exponent }
}

/// Prices at the end of one block: ETH/USD and (token, USD per whole token, pool it came from)
/// by token address.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct BlockPricing {
    pub eth_usd: Option<Dec>,
    pub tokens: Vec<(Address, Dec, Option<Address>)>,
}

pub struct PriceWalk<'a> {
    config: &'a PricingConfig,
    by_address: HashMap<Address, usize>,
    pub states: HashMap<Address, PoolState>,
    token_pools: HashMap<Address, Vec<usize>>,
}

fn ratio_of(state: &PoolState, info: &PoolInfo, token: &Address) -> Option<Ratio> {
    // Whole units of the pool's other token per whole `token`.
    if state.sqrt_price_x96.is_zero() {
        return None;
    }
    let ten = BigUint::from(10_u32);
    let shift = i64::from(info.decimals0) - i64::from(info.decimals1);
    let num = &state.sqrt_price_x96 * &state.sqrt_price_x96 * ten.pow(shift.max(0) as u32);
    let den = (BigUint::one() << 192_u32) * ten.pow((-shift).max(0) as u32);
    Some(if *token == info.token0 { (num, den) } else { (den, num) })
}

impl<'a> PriceWalk<'a> {
    pub fn new(config: &'a PricingConfig, states: HashMap<Address, PoolState>) -> Self {
        let by_address = config.pools.iter().enumerate().map(|(i, p)| (p.address, i)).collect();
        Self { config, by_address, states, token_pools: HashMap::new() }
    }

    pub fn has_pools(&self) -> bool {
        !self.config.pools.is_empty()
    }

    pub fn is_stablecoin(&self, token: &Address) -> bool {
        self.config.stablecoins.contains(token)
    }

    fn quote_usd(&self, token: &Address, eth: Option<&Dec>) -> Option<Dec> {
        if self.config.stablecoins.contains(token) {
            return Some(Dec::one());
        }
        if Some(*token) == self.config.weth {
            return eth.cloned();
        }
        None
    }

    pub fn eth_usd(&self) -> Option<Dec> {
        let pool = self.config.eth_usd_pool?;
        let weth = self.config.weth?;
        let info = &self.config.pools[*self.by_address.get(&pool)?];
        let state = self.states.get(&pool).cloned().unwrap_or_default();
        let (num, den) = ratio_of(&state, info, &weth)?;
        Some(divide(&num, &den))
    }

    /// (USD per whole token, pool it came from) at the current state.
    pub fn token_usd(&mut self, token: &Address, eth: Option<&Dec>) -> Option<Priced> {
        if self.config.stablecoins.contains(token) {
            return Some((Dec::one(), None));
        }
        if Some(*token) == self.config.weth {
            return eth.map(|e| (e.clone(), self.config.eth_usd_pool));
        }
        let config = self.config;
        let pools = self
            .token_pools
            .entry(*token)
            .or_insert_with(|| {
                config
                    .pools
                    .iter()
                    .enumerate()
                    .filter(|(_, p)| {
                        config.price_pools.contains(&p.address) && (p.token0 == *token || p.token1 == *token)
                    })
                    .map(|(i, _)| i)
                    .collect()
            })
            .clone();
        let q96 = BigUint::one() << 96_u32;
        let ten = BigUint::from(10_u32);
        let (floor_num, floor_den) = &self.config.floor;
        let mut best: Option<(Ratio, Ratio, Address)> = None;
        for i in pools {
            let info = &self.config.pools[i];
            let quote = if *token == info.token0 { info.token1 } else { info.token0 };
            let Some(quote_usd) = self.quote_usd(&quote, eth) else { continue };
            let Some(state) = self.states.get(&info.address) else { continue };
            let Some(price) = ratio_of(state, info, token) else { continue };
            // In-range virtual reserves: x = L·2⁹⁶/√P (token0), y = L·√P/2⁹⁶ (token1).
            let (reserve, quote_decimals) = if quote == info.token1 {
                ((&state.liquidity * &state.sqrt_price_x96, q96.clone()), info.decimals1)
            } else {
                ((&state.liquidity * &q96, state.sqrt_price_x96.clone()), info.decimals0)
            };
            let (usd_num, usd_den) = quote_usd.ratio();
            let depth = (&reserve.0 * &usd_num, &reserve.1 * ten.pow(quote_decimals) * &usd_den);
            if &depth.0 * floor_den < floor_num * &depth.1 {
                continue;
            }
            let deeper = match &best {
                None => true,
                Some((b, _, _)) => &depth.0 * &b.1 > &b.0 * &depth.1,
            };
            if deeper {
                best = Some((depth, (price.0 * &usd_num, price.1 * &usd_den), info.address));
            }
        }
        let (_, (num, den), pool) = best?;
        Some((divide(&num, &den), Some(pool)))
    }

    /// Walks the range's pool events block by block from the current state: the prices at the
    /// end of each active block (None for the others), for the tokens each moves whose
    /// decimals are known. A Swap sets a pool's price, liquidity and tick, an Initialize its
    /// price and tick, and a Mint or Burn moves its in-range liquidity when the current tick is
    /// within the position's range, as the pool itself does.
    pub fn walk(&mut self, range: &DecodedRange, decimals: &HashMap<Address, u32>) -> Vec<Option<BlockPricing>> {
        let mut out: Vec<Option<BlockPricing>> = vec![None; range.blocks.len()];
        let mut events = range.pool_events.iter().peekable();
        let mut eth: Option<Dec> = None;
        // Prices are a function of the state: reused until a pool moves.
        let mut found: Option<HashMap<Address, Option<Priced>>> = None;
        for (at, block) in range.blocks.iter().enumerate() {
            while let Some(e) = events.next_if(|e| e.block == at) {
                let Some(state) = self.states.get_mut(&e.pool) else { continue };
                found = None;
                match e.kind {
                    PoolEventKind::Swap => {
                        state.sqrt_price_x96 = BigUint::from_bytes_be(&e.a);
                        state.liquidity = BigUint::from_bytes_be(&e.b);
                        state.tick = e.tick;
                    }
                    PoolEventKind::Initialize => {
                        state.sqrt_price_x96 = BigUint::from_bytes_be(&e.a);
                        state.tick = e.tick;
                    }
                    PoolEventKind::Mint | PoolEventKind::Burn => {
                        if e.tick <= state.tick && state.tick < e.tick_upper {
                            let amount = BigUint::from_bytes_be(&e.b);
                            if e.kind == PoolEventKind::Mint {
                                state.liquidity += amount;
                            } else if state.liquidity >= amount {
                                state.liquidity -= amount;
                            } else {
                                state.liquidity = BigUint::zero();
                            }
                        }
                    }
                }
            }
            if !block.active {
                continue;
            }
            if found.is_none() {
                eth = self.eth_usd();
                found = Some(HashMap::new());
            }
            let mut prices = BlockPricing { eth_usd: eth.clone(), tokens: Vec::new() };
            for token in block.tokens.iter().filter(|t| decimals.contains_key(*t)) {
                let cached = found.as_ref().and_then(|f| f.get(token).cloned());
                let value = match cached {
                    Some(v) => v,
                    None => {
                        let v = self.token_usd(token, eth.as_ref());
                        if let Some(f) = found.as_mut() {
                            f.insert(*token, v.clone());
                        }
                        v
                    }
                };
                if let Some((usd, pool)) = value {
                    prices.tokens.push((*token, usd, pool));
                }
            }
            out[at] = Some(prices);
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rstest::rstest;

    const WETH: Address = [0x0a; 20];
    const USDC: Address = [0x0b; 20];
    const TOKEN: Address = [0x0c; 20];
    const ETH_POOL: Address = [0x01; 20];
    const TOKEN_WETH: Address = [0x02; 20];
    const TOKEN_USDC: Address = [0x03; 20];

    fn pool(address: Address, token0: Address, token1: Address) -> PoolInfo {
        PoolInfo { address, token0, token1, decimals0: 18, decimals1: 18 }
    }

    /// sqrtPriceX96 = 2⁹⁶·root: whole token1 per whole token0 = root².
    fn state(root: u32, liquidity: u64) -> PoolState {
        PoolState { sqrt_price_x96: BigUint::from(root) << 96_u32, liquidity: BigUint::from(liquidity), tick: 0 }
    }

    fn config(floor_usd: u32) -> PricingConfig {
        PricingConfig {
            weth: Some(WETH),
            eth_usd_pool: Some(ETH_POOL),
            stablecoins: HashSet::from([USDC]),
            price_pools: HashSet::from([TOKEN_WETH, TOKEN_USDC]),
            pools: vec![pool(ETH_POOL, WETH, USDC), pool(TOKEN_WETH, TOKEN, WETH), pool(TOKEN_USDC, TOKEN, USDC)],
            floor: (BigUint::from(floor_usd), BigUint::one()),
        }
    }

    #[rstest]
    // WETH at 1600; TOKEN at 4 WETH (6,400) with 3,200 USD of WETH in range, or at 10,000 USD
    // with 100 USD of USDC in range: the deeper pool prices it, unless under the floor.
    #[case(0, Some(("6400", TOKEN_WETH)))]
    #[case(3_200, Some(("6400", TOKEN_WETH)))]
    #[case(3_201, None)]
    fn the_deepest_pool_over_the_floor_prices_a_token(#[case] floor: u32, #[case] expected: Option<(&str, Address)>) {
        let config = config(floor);
        let one = 1_000_000_000_000_000_000;
        let states =
            HashMap::from([(ETH_POOL, state(40, one)), (TOKEN_WETH, state(2, one)), (TOKEN_USDC, state(100, one))]);
        let mut walk = PriceWalk::new(&config, states);
        let eth = walk.eth_usd();
        assert_eq!(eth.as_ref().map(Dec::text).as_deref(), Some("1600"));
        let found = walk.token_usd(&TOKEN, eth.as_ref()).map(|(usd, pool)| (usd.text(), pool.unwrap()));
        assert_eq!(found, expected.map(|(usd, pool)| (usd.to_owned(), pool)));
        assert_eq!(walk.token_usd(&USDC, eth.as_ref()), Some((Dec::one(), None)));
        assert_eq!(walk.token_usd(&WETH, None), None);
    }

    fn big(text: &str) -> BigUint {
        BigUint::parse_bytes(text.as_bytes(), 10).unwrap()
    }

    // Expected: `format(Context(prec=50).divide(Decimal(n), Decimal(d)), "f")` in Python.
    #[rstest]
    #[case("1", "4", "0.25")]
    #[case("6", "3", "2")]
    #[case("100", "1", "100")]
    #[case("1", "3", "0.33333333333333333333333333333333333333333333333333")]
    #[case("2", "3", "0.66666666666666666666666666666666666666666666666667")]
    #[case("10", "4", "2.5")]
    #[case("0", "7", "0")]
    #[case("1", "1024", "0.0009765625")]
    #[case("3000500000", "1000000", "3000.5")]
    #[case(
        "123456789012345678901234567890123456789012345678901234567890",
        "1",
        "123456789012345678901234567890123456789012345678900000000000"
    )]
    #[case(
        "123456789012345678901234567890123456789012345678951",
        "10",
        "12345678901234567890123456789012345678901234567895"
    )]
    #[case("1", "7", "0.14285714285714285714285714285714285714285714285714")]
    // The dropped digit is a 5 and the quotient's digits stop there, but the remainder is not 0.
    #[case(
        "2264047462231775706024780540614074707893013039976516",
        "3",
        "754682487410591902008260180204691569297671013325510"
    )]
    #[case(
        "99999999999999999999999999999999999999999999999999999",
        "1000",
        "100000000000000000000000000000000000000000000000000"
    )]
    fn divides_as_python_decimal(#[case] num: &str, #[case] den: &str, #[case] expected: &str) {
        assert_eq!(divide(&big(num), &big(den)).text(), expected);
    }
}
