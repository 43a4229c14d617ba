//! The decoded rows, priced, as PostgreSQL binary COPY payloads (the columns of
//! `db.indexer_ingest`, each field of its column's type).

use crate::decode::{DecodedRange, ERC1155, ERC20, ERC721};
use crate::pgcopy::{encoded_numeric, CopyWriter, OutOfRange};
use crate::prices::PriceWalk;
use crate::usd::{usd_amount, usd_amount_u256, Price, UsdOverflow};
use crate::Address;
use ethnum::U256;
use num_bigint::BigUint;
use std::collections::HashMap;

/// Prices at the end of one block as plain decimal text: ETH/USD, and (token, USD per whole
/// token, the pool it came from) in token order.
#[derive(Debug, Clone, Default)]
pub struct BlockPrices {
    pub eth_usd: Option<String>,
    pub tokens: Vec<(Address, String, Option<Address>)>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EncodeError {
    /// `prices` does not have one entry per block, or a price is not plain decimal text.
    BadPrices(String),
    /// A USD amount needs more than 80 significant digits (Python's decimal refuses it too).
    UsdOverflow,
    /// A value that does not fit its column (PostgreSQL would refuse it too).
    OutOfRange(String),
}

impl From<OutOfRange> for EncodeError {
    fn from(e: OutOfRange) -> Self {
        EncodeError::OutOfRange(e.0)
    }
}

impl From<UsdOverflow> for EncodeError {
    fn from(_: UsdOverflow) -> Self {
        EncodeError::UsdOverflow
    }
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Encoded {
    pub blocks: Vec<u8>,
    pub token_prices: Vec<u8>,
    pub transactions: Vec<u8>,
    pub transfers: Vec<u8>,
    pub address_transactions: Vec<u8>,
    /// Rows per address in `address_transactions`, by address.
    pub address_counts: Vec<(Address, u64)>,
}

fn standard_name(standard: u8) -> &'static str {
    match standard {
        ERC20 => "ERC-20",
        ERC721 => "ERC-721",
        ERC1155 => "ERC-1155",
        _ => "",
    }
}

fn big(value: U256) -> BigUint {
    BigUint::from_bytes_be(&value.to_be_bytes())
}

fn usd(amount: U256, decimals: u32, price: Option<&Price>) -> Result<Option<String>, EncodeError> {
    Ok(match price {
        Some(p) => Some(usd_amount_u256(amount, decimals, p)?),
        None => None,
    })
}

/// The USD value of a transaction's fee (gas used × its price, in wei).
fn fee_usd(gas_used: U256, gas_price: U256, price: Option<&Price>) -> Result<Option<String>, EncodeError> {
    match gas_used.checked_mul(gas_price) {
        Some(fee) => usd(fee, 18, price),
        None => Ok(price.map(|p| usd_amount(&(big(gas_used) * big(gas_price)), 18, p)).transpose()?),
    }
}

/// A price as its encoded `numeric` field and as a `Price`.
fn priced_field(text: &str) -> Result<(Vec<u8>, Price), EncodeError> {
    let price = parse_price(text)?;
    Ok((encoded_numeric(text)?, price))
}

fn parse_price(text: &str) -> Result<Price, EncodeError> {
    Price::parse(text).ok_or_else(|| EncodeError::BadPrices(format!("not a plain decimal: {text}")))
}

/// The COPY payloads of `range` priced with `prices` (one per block) and the token `decimals`.
pub fn encode_rows(
    range: &DecodedRange,
    prices: &[BlockPrices],
    decimals: &HashMap<Address, u32>,
) -> Result<Encoded, EncodeError> {
    if prices.len() != range.blocks.len() {
        return Err(EncodeError::BadPrices("one entry per block".to_owned()));
    }
    // Each block's prices parsed, and encoded as fields, once: its rows repeat them.
    let mut eth: Vec<Option<(Vec<u8>, Price)>> = Vec::with_capacity(prices.len());
    let mut tokens: Vec<HashMap<Address, (Vec<u8>, Price)>> = Vec::with_capacity(prices.len());
    for p in prices {
        eth.push(p.eth_usd.as_deref().map(priced_field).transpose()?);
        let mut map = HashMap::new();
        for (address, text, _) in &p.tokens {
            map.insert(*address, priced_field(text)?);
        }
        tokens.push(map);
    }
    let mut blocks = CopyWriter::with_capacity(range.blocks.len() * 120);
    let mut token_prices = CopyWriter::with_capacity(range.blocks.len() * 150);
    for (block, p) in range.blocks.iter().zip(prices) {
        blocks.row(6);
        blocks.int8(block.number)?;
        blocks.bytea(&block.hash);
        blocks.bytea(&block.parent_hash);
        blocks.timestamptz(block.timestamp)?;
        blocks.int4(block.tx_count as u64)?;
        blocks.opt_numeric_text(p.eth_usd.as_deref())?;
        for (token, usd, pool) in &p.tokens {
            token_prices.row(4);
            token_prices.int8(block.number)?;
            token_prices.bytea(token);
            token_prices.numeric_text(usd)?;
            token_prices.opt_bytea(pool.as_ref().map(|a| &a[..]));
        }
    }
    let mut transactions = CopyWriter::with_capacity(range.txs.len() * 300);
    let mut transfer_rows = CopyWriter::with_capacity(range.transfers.len() * 250);
    let mut address_rows = CopyWriter::with_capacity(range.txs.len() * 200);
    let mut counts: HashMap<Address, u64> = HashMap::new();
    let mut transfers = range.transfers.iter().peekable();
    for (tx_at, tx) in range.txs.iter().enumerate() {
        let block = &range.blocks[tx.block];
        let (eth_field, eth_usd) = match &eth[tx.block] {
            Some((field, price)) => (Some(&field[..]), Some(price)),
            None => (None, None),
        };
        let o = &mut transactions;
        o.row(19);
        o.bytea(&tx.hash);
        o.int8(block.number)?;
        o.int4_u256(tx.index)?;
        o.timestamptz(block.timestamp)?;
        o.bytea(&tx.from);
        o.opt_bytea(tx.to.as_ref().map(|a| &a[..]));
        o.opt_bytea(tx.created.as_ref().map(|a| &a[..]));
        o.numeric_u256(tx.value);
        o.int8_u256(tx.nonce)?;
        o.int8_u256(tx.gas)?;
        o.int8_u256(tx.gas_used)?;
        o.numeric_u256(tx.gas_price);
        match tx.status {
            Some(s) => o.int2_u256(s)?,
            None => o.null(),
        }
        o.opt_bytea(tx.selector.as_ref().map(|s| &s[..]));
        o.int2_u256(tx.tx_type)?;
        o.int4(tx.transfers as u64)?;
        o.encoded(eth_field);
        o.opt_numeric_text(usd(tx.value, 18, eth_usd)?.as_deref())?;
        o.opt_numeric_text(fee_usd(tx.gas_used, tx.gas_price, eth_usd)?.as_deref())?;

        let mut participants: Vec<Address> = vec![tx.from];
        let mut add = |a: Address| {
            if !participants.contains(&a) {
                participants.push(a);
            }
        };
        tx.to.map(&mut add);
        tx.created.map(&mut add);
        while let Some(t) = transfers.next_if(|t| t.tx == tx_at) {
            add(t.from);
            add(t.to);
            let priced = tokens[tx.block].get(&t.contract).filter(|_| t.standard == ERC20);
            let amount_usd = match decimals.get(&t.contract) {
                Some(&d) => usd(t.amount, d, priced.map(|p| &p.1))?,
                None => None,
            };
            let o = &mut transfer_rows;
            o.row(14);
            o.int8(block.number)?;
            o.int4(t.log_index)?;
            o.int4(t.batch_index as u64)?;
            o.bytea(&tx.hash);
            o.int4_u256(tx.index)?;
            o.timestamptz(block.timestamp)?;
            o.bytea(&t.contract);
            o.text(standard_name(t.standard));
            o.bytea(&t.from);
            o.bytea(&t.to);
            o.numeric_u256(t.amount);
            match t.token_id {
                Some(id) => o.numeric_u256(id),
                None => o.null(),
            }
            o.encoded(priced.map(|p| &p.0[..]));
            o.opt_numeric_text(amount_usd.as_deref())?;
        }
        for address in participants {
            *counts.entry(address).or_default() += 1;
            let o = &mut address_rows;
            o.row(5);
            o.bytea(&address);
            o.int8(block.number)?;
            o.int4_u256(tx.index)?;
            o.bytea(&tx.hash);
            o.timestamptz(block.timestamp)?;
        }
    }
    let mut out = Encoded {
        blocks: blocks.finish(),
        token_prices: token_prices.finish(),
        transactions: transactions.finish(),
        transfers: transfer_rows.finish(),
        address_transactions: address_rows.finish(),
        address_counts: Vec::new(),
    };
    out.address_counts = counts.into_iter().collect();
    out.address_counts.sort_unstable();
    Ok(out)
}

/// Prices the range from the pools' state (`walk`: the state at the block before it, updated to
/// the end of the range) and encodes every row of it: a stablecoin is priced at 1 without any
/// pool, a block that moves nothing has no ETH price.
pub fn price_and_encode(
    range: &DecodedRange,
    walk: &mut PriceWalk<'_>,
    decimals: &HashMap<Address, u32>,
) -> Result<Encoded, EncodeError> {
    let walked = if walk.has_pools() { walk.walk(range, decimals) } else { vec![None; range.blocks.len()] };
    let mut prices = Vec::with_capacity(range.blocks.len());
    for (block, priced) in range.blocks.iter().zip(walked) {
        let priced = priced.unwrap_or_default();
        let mut tokens: Vec<(Address, String, Option<Address>)> =
            priced.tokens.iter().map(|(t, usd, pool)| (*t, usd.text(), *pool)).collect();
        for token in block.tokens.iter().filter(|t| decimals.contains_key(*t)) {
            if walk.is_stablecoin(token) && !tokens.iter().any(|(t, _, _)| t == token) {
                tokens.push((*token, "1".to_owned(), None));
            }
        }
        tokens.sort_unstable_by_key(|t| t.0);
        prices.push(BlockPrices { eth_usd: priced.eth_usd.map(|e| e.text()), tokens });
    }
    encode_rows(range, &prices, decimals)
}
