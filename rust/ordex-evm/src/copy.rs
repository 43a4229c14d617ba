//! The decoded rows, priced, as PostgreSQL COPY text (the columns of `db.indexer_ingest`).

use crate::bigint::Big;
use crate::decode::{DecodedRange, ERC1155, ERC20, ERC721};
use crate::usd::{usd_amount, Price, UsdOverflow};
use crate::Address;
use ethnum::U256;
use std::collections::HashMap;
use std::io::Write;

/// Prices at the end of one block, as the Python pricing found them (plain decimal text).
#[derive(Debug, Clone, Default)]
pub struct BlockPrices {
    pub eth_usd: Option<String>,
    pub tokens: Vec<(Address, String)>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EncodeError {
    /// `prices` does not have one entry per block, or a price is not plain decimal text.
    BadPrices(String),
    /// A USD amount needs more than 80 significant digits (Python's decimal refuses it too).
    UsdOverflow,
}

impl From<UsdOverflow> for EncodeError {
    fn from(_: UsdOverflow) -> Self {
        EncodeError::UsdOverflow
    }
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Encoded {
    pub transactions: Vec<u8>,
    pub transfers: Vec<u8>,
    pub address_transactions: Vec<u8>,
    /// Rows per address in `address_transactions`, by address.
    pub address_counts: Vec<(Address, u64)>,
}

fn put_hex(out: &mut Vec<u8>, bytes: &[u8]) {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    out.extend_from_slice(b"\\\\x");
    for &b in bytes {
        out.push(DIGITS[usize::from(b >> 4)]);
        out.push(DIGITS[usize::from(b & 15)]);
    }
}

fn put_opt_hex(out: &mut Vec<u8>, bytes: Option<&[u8]>) {
    match bytes {
        Some(b) => put_hex(out, b),
        None => out.extend_from_slice(b"\\N"),
    }
}

fn put_u256(out: &mut Vec<u8>, value: U256) {
    if value <= U256::from(u64::MAX) {
        out.extend_from_slice(itoa::Buffer::new().format(value.as_u64()).as_bytes());
    } else {
        let _ = write!(out, "{value}");
    }
}

fn put_opt_text(out: &mut Vec<u8>, text: Option<&str>) {
    match text {
        Some(t) => out.extend_from_slice(t.as_bytes()),
        None => out.extend_from_slice(b"\\N"),
    }
}

fn put_num(out: &mut Vec<u8>, value: u64) {
    out.extend_from_slice(itoa::Buffer::new().format(value).as_bytes());
}

/// `datetime.fromtimestamp(seconds, UTC).isoformat()`.
pub fn iso_timestamp(seconds: u64) -> String {
    let days = (seconds / 86_400) as i64;
    let secs = seconds % 86_400;
    // Civil from days (Howard Hinnant's algorithm).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1_460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!("{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}+00:00", secs / 3_600, secs % 3_600 / 60, secs % 60)
}

fn standard_name(standard: u8) -> &'static str {
    match standard {
        ERC20 => "ERC-20",
        ERC721 => "ERC-721",
        ERC1155 => "ERC-1155",
        _ => "",
    }
}

fn big(value: U256) -> Big {
    Big::from_be_bytes(&value.to_be_bytes())
}

fn usd(amount: &Big, decimals: u32, price: Option<&Price>) -> Result<Option<String>, EncodeError> {
    Ok(match price {
        Some(p) => Some(usd_amount(amount, decimals, p)?),
        None => None,
    })
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
    let mut eth: Vec<Option<Price>> = Vec::with_capacity(prices.len());
    let mut tokens: Vec<HashMap<Address, (&str, Price)>> = Vec::with_capacity(prices.len());
    for p in prices {
        eth.push(p.eth_usd.as_deref().map(parse_price).transpose()?);
        let mut map = HashMap::new();
        for (address, text) in &p.tokens {
            map.insert(*address, (text.as_str(), parse_price(text)?));
        }
        tokens.push(map);
    }
    let stamps: Vec<String> = range.blocks.iter().map(|b| iso_timestamp(b.timestamp)).collect();
    let mut out = Encoded {
        transactions: Vec::with_capacity(range.txs.len() * 400),
        transfers: Vec::with_capacity(range.transfers.len() * 300),
        address_transactions: Vec::with_capacity(range.txs.len() * 400),
        address_counts: Vec::new(),
    };
    let mut counts: HashMap<Address, u64> = HashMap::new();
    let mut transfers = range.transfers.iter().peekable();
    for (tx_at, tx) in range.txs.iter().enumerate() {
        let block = &range.blocks[tx.block];
        let stamp = stamps[tx.block].as_bytes();
        let eth_usd = eth[tx.block].as_ref();
        let o = &mut out.transactions;
        put_hex(o, &tx.hash);
        o.push(b'\t');
        put_num(o, block.number);
        o.push(b'\t');
        put_u256(o, tx.index);
        o.push(b'\t');
        o.extend_from_slice(stamp);
        o.push(b'\t');
        put_hex(o, &tx.from);
        o.push(b'\t');
        put_opt_hex(o, tx.to.as_ref().map(|a| &a[..]));
        o.push(b'\t');
        put_opt_hex(o, tx.created.as_ref().map(|a| &a[..]));
        o.push(b'\t');
        for v in [tx.value, tx.nonce, tx.gas, tx.gas_used, tx.gas_price] {
            put_u256(o, v);
            o.push(b'\t');
        }
        match tx.status {
            Some(s) => put_u256(o, s),
            None => o.extend_from_slice(b"\\N"),
        }
        o.push(b'\t');
        put_opt_hex(o, tx.selector.as_ref().map(|s| &s[..]));
        o.push(b'\t');
        put_u256(o, tx.tx_type);
        o.push(b'\t');
        put_num(o, tx.transfers as u64);
        o.push(b'\t');
        put_opt_text(o, prices[tx.block].eth_usd.as_deref());
        o.push(b'\t');
        put_opt_text(o, usd(&big(tx.value), 18, eth_usd)?.as_deref());
        o.push(b'\t');
        let fee = big(tx.gas_used).mul(&big(tx.gas_price));
        put_opt_text(o, usd(&fee, 18, eth_usd)?.as_deref());
        o.push(b'\n');

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
                Some(&d) => usd(&big(t.amount), d, priced.map(|p| &p.1))?,
                None => None,
            };
            let o = &mut out.transfers;
            put_num(o, block.number);
            o.push(b'\t');
            put_num(o, t.log_index);
            o.push(b'\t');
            put_num(o, t.batch_index as u64);
            o.push(b'\t');
            put_hex(o, &tx.hash);
            o.push(b'\t');
            put_u256(o, tx.index);
            o.push(b'\t');
            o.extend_from_slice(stamp);
            o.push(b'\t');
            put_hex(o, &t.contract);
            o.push(b'\t');
            o.extend_from_slice(standard_name(t.standard).as_bytes());
            o.push(b'\t');
            put_hex(o, &t.from);
            o.push(b'\t');
            put_hex(o, &t.to);
            o.push(b'\t');
            put_u256(o, t.amount);
            o.push(b'\t');
            match t.token_id {
                Some(id) => put_u256(o, id),
                None => o.extend_from_slice(b"\\N"),
            }
            o.push(b'\t');
            put_opt_text(o, priced.map(|p| p.0));
            o.push(b'\t');
            put_opt_text(o, amount_usd.as_deref());
            o.push(b'\n');
        }
        for address in participants {
            *counts.entry(address).or_default() += 1;
            let o = &mut out.address_transactions;
            put_hex(o, &address);
            o.push(b'\t');
            put_num(o, block.number);
            o.push(b'\t');
            put_u256(o, tx.index);
            o.push(b'\t');
            put_hex(o, &tx.hash);
            o.push(b'\t');
            o.extend_from_slice(stamp);
            o.push(b'\n');
        }
    }
    out.address_counts = counts.into_iter().collect();
    out.address_counts.sort_unstable();
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::iso_timestamp;
    use rstest::rstest;

    #[rstest]
    #[case(0, "1970-01-01T00:00:00+00:00")]
    #[case(951_782_400, "2000-02-29T00:00:00+00:00")]
    #[case(1_796_400_000, "2026-12-04T16:00:00+00:00")]
    #[case(253_402_300_799, "9999-12-31T23:59:59+00:00")]
    fn timestamps_as_python_writes_them(#[case] seconds: u64, #[case] expected: &str) {
        assert_eq!(iso_timestamp(seconds), expected);
    }
}
