//! One JSON-RPC batch answer (blocks with transactions, then their receipts) into rows.

use crate::hex::{self, TopicAddress};
use crate::{Address, Fallback, Hash};
use ethnum::U256;
use serde::de::{DeserializeSeed, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde::Deserialize;
use serde_json::value::RawValue;

const TOPIC_TRANSFER: &[u8] = b"0xddf252ad1be2c89b69c2b068fc378daa952ba7f163c4a11628f55a4df523b3ef";
const TOPIC_TRANSFER_SINGLE: &[u8] = b"0xc3d58168c5ae7397731d063d5bbf3d657854427343f4c083240f7aacaa2d0f62";
const TOPIC_TRANSFER_BATCH: &[u8] = b"0x4a39dc06d4c0dbc64b70af90fd698a233a518aa5d07e595d983b8c0526c8f7fb";
const TOPIC_WETH_DEPOSIT: &[u8] = b"0xe1fffcc4923d04b559f4d29a8bfc6cda04eb5b0d3c460751c2402c5c5cc9109c";
const TOPIC_WETH_WITHDRAWAL: &[u8] = b"0x7fcf532c15f0a6db0bd6d0e038bea71d30d808c7d98cb3bf7268a95bf5081b65";
const TOPIC_SWAP: &[u8] = b"0xc42079f94a6350d7e6235f29174924f928cc2ac818eb64fed8004e115fbcca67";
const TOPIC_INITIALIZE: &[u8] = b"0x98636036cb66a9c19a37435efc1e90142190214e8abeb821bdba3f2990dd4c95";
const TOPIC_MINT: &[u8] = b"0x7a53080ba414158be7ec69b987b5fb7d07dee101fe85488f0853ae16239d0bde";
const TOPIC_BURN: &[u8] = b"0x0c396cd989a39f4459b5fa1aed6a9a8dcdbc45908acfd67e028cd568da98982c";

/// More ids than this in one TransferBatch is not a real transfer.
const MAX_BATCH_IDS: usize = 10_000;
/// 9999-12-31T23:59:59Z: Python's datetime ends there.
const MAX_TIMESTAMP: u64 = 253_402_300_799;

pub const ERC20: u8 = 0;
pub const ERC721: u8 = 1;
pub const ERC1155: u8 = 2;

// The fields are the JSON strings' bytes, borrowed from the answer: they are hex, checked as
// such, so they need no UTF-8 check of their own. A string a node would not write (one with an
// escape) is not borrowed: the whole answer is then left to Python.
#[derive(Deserialize)]
struct RawBlock<'a> {
    number: &'a [u8],
    hash: &'a [u8],
    #[serde(rename = "parentHash")]
    parent_hash: &'a [u8],
    timestamp: &'a [u8],
    #[serde(borrow)]
    transactions: Vec<RawTx<'a>>,
}

#[derive(Deserialize)]
struct RawTx<'a> {
    hash: &'a [u8],
    #[serde(rename = "transactionIndex")]
    transaction_index: &'a [u8],
    from: &'a [u8],
    #[serde(default)]
    to: Option<&'a [u8]>,
    value: &'a [u8],
    nonce: &'a [u8],
    gas: &'a [u8],
    #[serde(rename = "gasPrice", default)]
    gas_price: Option<&'a [u8]>,
    #[serde(default)]
    input: Option<&'a [u8]>,
    #[serde(default)]
    data: Option<&'a [u8]>,
    #[serde(rename = "type", default)]
    tx_type: Option<&'a [u8]>,
}

#[derive(Deserialize)]
struct RawReceipt<'a> {
    #[serde(rename = "transactionHash", default)]
    transaction_hash: Option<&'a [u8]>,
    #[serde(rename = "blockHash", default)]
    block_hash: Option<&'a [u8]>,
    #[serde(rename = "contractAddress", default)]
    contract_address: Option<&'a [u8]>,
    #[serde(rename = "gasUsed")]
    gas_used: &'a [u8],
    #[serde(rename = "effectiveGasPrice", default)]
    effective_gas_price: Option<&'a [u8]>,
    #[serde(default)]
    status: Option<&'a [u8]>,
    #[serde(borrow, default)]
    logs: Option<Vec<RawLog<'a>>>,
}

#[derive(Deserialize)]
struct RawLog<'a> {
    address: &'a [u8],
    #[serde(borrow)]
    topics: Vec<&'a [u8]>,
    data: &'a [u8],
    #[serde(rename = "logIndex")]
    log_index: &'a [u8],
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Block {
    pub number: u64,
    pub hash: Hash,
    pub parent_hash: Hash,
    pub timestamp: u64,
    pub tx_count: usize,
    /// Has transactions or logs (the price walk reports prices for these blocks only).
    pub active: bool,
    /// Distinct token contracts with a transfer in this block, first seen first.
    pub tokens: Vec<Address>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tx {
    pub block: usize,
    pub hash: Hash,
    pub index: U256,
    pub from: Address,
    pub to: Option<Address>,
    pub created: Option<Address>,
    pub value: U256,
    pub nonce: U256,
    pub gas: U256,
    pub gas_used: U256,
    pub gas_price: U256,
    pub status: Option<U256>,
    pub selector: Option<[u8; 4]>,
    pub tx_type: U256,
    pub transfers: usize,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Transfer {
    pub tx: usize,
    pub log_index: u64,
    pub batch_index: usize,
    pub contract: Address,
    pub standard: u8,
    pub from: Address,
    pub to: Address,
    pub amount: U256,
    pub token_id: Option<U256>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PoolEventKind {
    /// `Swap`: the pool's sqrtPriceX96 (`a`), in-range liquidity (`b`) and tick after it.
    Swap,
    /// `Initialize`: the pool's first sqrtPriceX96 (`a`) and tick.
    Initialize,
    /// `Mint`: liquidity `b` added between `tick` and `tick_upper`.
    Mint,
    /// `Burn`: liquidity `b` removed between `tick` and `tick_upper`.
    Burn,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PoolEvent {
    pub block: usize,
    pub kind: PoolEventKind,
    pub pool: Address,
    pub a: [u8; 32],
    pub b: [u8; 32],
    pub tick: i32,
    pub tick_upper: i32,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DecodedRange {
    pub blocks: Vec<Block>,
    pub txs: Vec<Tx>,
    pub transfers: Vec<Transfer>,
    pub pool_events: Vec<PoolEvent>,
    /// (contract, standard, first block number) in the order first seen.
    pub seen_tokens: Vec<(Address, u8, u64)>,
}

fn fallback(why: &str) -> Fallback {
    Fallback(why.to_owned())
}

fn need<T>(value: Option<T>, why: &str) -> Result<T, Fallback> {
    value.ok_or_else(|| fallback(why))
}

/// Decodes the answer to `count` `eth_getBlockByNumber(n, true)` calls (ids `first_id..`) followed
/// by `count` `eth_getBlockReceipts(n)` calls (the next ids); `weth` is the contract whose
/// Deposit/Withdrawal events are mints and burns.
pub fn decode_range(body: &[u8], first_id: u64, count: usize, weth: Option<Address>) -> Result<DecodedRange, Fallback> {
    let total = 2 * count;
    let seed = AnswersSeed { first_id, count };
    let mut de = serde_json::Deserializer::from_slice(body);
    let answers =
        seed.deserialize(&mut de).and_then(|a| de.end().map(|()| a)).map_err(|e| Fallback(format!("answer: {e}")))?;
    let mut results: Vec<Option<Parsed<'_>>> = (0..total).map(|_| None).collect();
    for answer in answers {
        let slot = answer.id.checked_sub(first_id).and_then(|i| usize::try_from(i).ok()).filter(|&i| i < total);
        let slot = need(slot, "an answer to no call")?;
        if answer.error || results[slot].is_some() {
            return Err(fallback("an error or a repeated answer"));
        }
        results[slot] = Some(need(answer.result, "an answer without a result")?);
    }
    let mut out = DecodedRange::default();
    let mut previous_hash: Option<&[u8]> = None;
    let (blocks, receipts) = results.split_at_mut(count);
    for (block, receipts) in blocks.iter_mut().zip(receipts.iter_mut()) {
        let block = match need(block.take(), "a block missing")? {
            Parsed::Block(b) => b,
            Parsed::Raw(raw) => serde_json::from_str(raw.get()).map_err(|e| Fallback(format!("block: {e}")))?,
            Parsed::Receipts(_) => return Err(fallback("a block missing")),
        };
        let receipts = match need(receipts.take(), "receipts missing")? {
            Parsed::Receipts(r) => r,
            Parsed::Raw(raw) => serde_json::from_str(raw.get()).map_err(|e| Fallback(format!("receipts: {e}")))?,
            Parsed::Block(_) => return Err(fallback("receipts missing")),
        };
        if previous_hash.is_some_and(|h| h != block.parent_hash) {
            return Err(fallback("the range does not link up"));
        }
        previous_hash = Some(block.hash);
        if receipts.iter().any(|r| r.block_hash != Some(block.hash)) || receipts.len() != block.transactions.len() {
            return Err(fallback("receipts of another block"));
        }
        add_block(&mut out, &block, &receipts, weth)?;
    }
    Ok(out)
}

/// A call's result, parsed as its call's answer in the same pass as the envelope when the `id`
/// comes before the `result` (as nodes write them), else kept raw and parsed afterwards.
enum Parsed<'a> {
    Block(RawBlock<'a>),
    Receipts(Vec<RawReceipt<'a>>),
    Raw(&'a RawValue),
}

struct Answer<'a> {
    id: u64,
    result: Option<Parsed<'a>>,
    error: bool,
}

/// The batch answer: ids `first_id..first_id + count` are blocks, the next `count` receipts.
#[derive(Clone, Copy)]
struct AnswersSeed {
    first_id: u64,
    count: usize,
}

impl<'de> DeserializeSeed<'de> for AnswersSeed {
    type Value = Vec<Answer<'de>>;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Self::Value, D::Error> {
        deserializer.deserialize_seq(self)
    }
}

impl<'de> Visitor<'de> for AnswersSeed {
    type Value = Vec<Answer<'de>>;

    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("a JSON-RPC batch answer")
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
        let mut answers = Vec::with_capacity(2 * self.count.min(MAX_BATCH_IDS));
        while let Some(answer) = seq.next_element_seed(AnswerSeed(self))? {
            answers.push(answer);
        }
        Ok(answers)
    }
}

struct AnswerSeed(AnswersSeed);

impl<'de> DeserializeSeed<'de> for AnswerSeed {
    type Value = Answer<'de>;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Self::Value, D::Error> {
        deserializer.deserialize_map(self)
    }
}

impl<'de> Visitor<'de> for AnswerSeed {
    type Value = Answer<'de>;

    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("a JSON-RPC answer")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let AnswersSeed { first_id, count } = self.0;
        let (mut id, mut result, mut error) = (None, None, false);
        while let Some(key) = map.next_key::<&'de str>()? {
            let repeated = match key {
                "id" => id.is_some(),
                "result" => result.is_some(),
                _ => false,
            };
            if repeated {
                return Err(serde::de::Error::custom(format!("duplicate field `{key}`")));
            }
            match key {
                "id" => id = Some(map.next_value::<u64>()?),
                "result" => {
                    let slot = id.and_then(|i: u64| i.checked_sub(first_id)).and_then(|i| usize::try_from(i).ok());
                    result = Some(match slot {
                        Some(s) if s < count => Parsed::Block(map.next_value()?),
                        Some(s) if s < 2 * count => Parsed::Receipts(map.next_value()?),
                        _ => Parsed::Raw(map.next_value()?),
                    });
                }
                "error" => error |= map.next_value::<Option<&'de RawValue>>()?.is_some(),
                _ => {
                    map.next_value::<IgnoredAny>()?;
                }
            }
        }
        let id = id.ok_or_else(|| serde::de::Error::missing_field("id"))?;
        Ok(Answer { id, result, error })
    }
}

fn add_block(
    out: &mut DecodedRange,
    block: &RawBlock<'_>,
    receipts: &[RawReceipt<'_>],
    weth: Option<Address>,
) -> Result<(), Fallback> {
    let number = need(hex::small(block.number), "block number")?;
    let timestamp = need(hex::small(block.timestamp), "timestamp")?;
    if timestamp > MAX_TIMESTAMP {
        return Err(fallback("timestamp"));
    }
    let index = out.blocks.len();
    let mut tokens: Vec<Address> = Vec::new();
    let mut any_log = false;
    for (tx, receipt) in block.transactions.iter().zip(receipts) {
        let logs = receipt.logs.as_deref().unwrap_or(&[]);
        any_log |= !logs.is_empty();
        let tx_at = out.txs.len();
        let mut count = 0;
        for log in logs {
            if let Some(&topic0) = log.topics.first() {
                for transfer in decode_transfer(log, topic0, tx_at, weth)? {
                    if !tokens.contains(&transfer.contract) {
                        tokens.push(transfer.contract);
                    }
                    if !out.seen_tokens.iter().any(|s| s.0 == transfer.contract) {
                        out.seen_tokens.push((transfer.contract, transfer.standard, number));
                    }
                    out.transfers.push(transfer);
                    count += 1;
                }
                if let Some(event) = pool_event(log, topic0, index)? {
                    out.pool_events.push(event);
                }
            }
        }
        out.txs.push(transaction(tx, receipt, index, count)?);
    }
    out.blocks.push(Block {
        number,
        hash: need(hex::fixed(block.hash), "block hash")?,
        parent_hash: need(hex::fixed(block.parent_hash), "parent hash")?,
        timestamp,
        tx_count: block.transactions.len(),
        active: !block.transactions.is_empty() || any_log,
        tokens,
    });
    Ok(())
}

fn non_empty(value: Option<&[u8]>) -> Option<&[u8]> {
    value.filter(|v| !v.is_empty())
}

fn transaction(tx: &RawTx<'_>, receipt: &RawReceipt<'_>, block: usize, transfers: usize) -> Result<Tx, Fallback> {
    if receipt.transaction_hash != Some(tx.hash) {
        return Err(fallback("receipt order"));
    }
    let address = |v: &[u8]| need(hex::fixed::<20>(v), "address");
    let input = non_empty(tx.input).or(non_empty(tx.data)).unwrap_or(b"0x");
    if !input.is_ascii() {
        return Err(fallback("input"));
    }
    let selector = if input.len() >= 10 { Some(need(hex::digits_of::<4>(&input[2..10]), "selector")?) } else { None };
    let number = |v: Option<&[u8]>| need(hex::hex_int(v), "number");
    Ok(Tx {
        block,
        hash: need(hex::fixed(tx.hash), "tx hash")?,
        index: number(Some(tx.transaction_index))?,
        from: address(tx.from)?,
        to: non_empty(tx.to).map(address).transpose()?,
        created: non_empty(receipt.contract_address).map(address).transpose()?,
        value: number(Some(tx.value))?,
        nonce: number(Some(tx.nonce))?,
        gas: number(Some(tx.gas))?,
        gas_used: number(Some(receipt.gas_used))?,
        gas_price: number(non_empty(receipt.effective_gas_price).or(tx.gas_price))?,
        status: receipt.status.map(|s| number(Some(s))).transpose()?,
        selector,
        tx_type: number(Some(non_empty(tx.tx_type).unwrap_or(b"0x0")))?,
        transfers,
    })
}

fn words(data: &[u8]) -> Result<Vec<u8>, Fallback> {
    if data.len() <= 2 {
        return if data.is_ascii() { Ok(Vec::new()) } else { Err(fallback("data")) };
    }
    need(hex::bytes(data), "data")
}

fn word(data: &[u8], at: usize) -> U256 {
    let mut w = [0u8; 32];
    w.copy_from_slice(&data[at..at + 32]);
    U256::from_be_bytes(w)
}

fn topic_addr(topic: &[u8]) -> Result<Option<Address>, Fallback> {
    match need(hex::topic_address(topic), "topic")? {
        TopicAddress::Address(a) => Ok(Some(a)),
        TopicAddress::NotAnAddress => Ok(None),
    }
}

#[allow(clippy::too_many_arguments)]
fn one(
    log_index: u64,
    contract: Address,
    standard: u8,
    from: Address,
    to: Address,
    amount: U256,
    token_id: Option<U256>,
    tx: usize,
) -> Vec<Transfer> {
    vec![Transfer { tx, log_index, batch_index: 0, contract, standard, from, to, amount, token_id }]
}

fn decode_transfer(
    log: &RawLog<'_>,
    topic0: &[u8],
    tx: usize,
    weth: Option<Address>,
) -> Result<Vec<Transfer>, Fallback> {
    let topics = &log.topics;
    let contract = || need(hex::fixed::<20>(log.address), "log address");
    let log_index = || need(hex::small(log.log_index), "log index");
    match topic0 {
        TOPIC_WETH_DEPOSIT | TOPIC_WETH_WITHDRAWAL => {
            let Some(weth) = weth else { return Ok(Vec::new()) };
            if topics.len() != 2 {
                return Ok(Vec::new());
            }
            let contract = contract()?;
            let holder = topic_addr(topics[1])?;
            let data = words(log.data)?;
            let Some(holder) = holder.filter(|_| contract == weth && data.len() == 32) else {
                return Ok(Vec::new());
            };
            let amount = word(&data, 0);
            let (from, to) = if topic0 == TOPIC_WETH_DEPOSIT { ([0; 20], holder) } else { (holder, [0; 20]) };
            Ok(one(log_index()?, contract, ERC20, from, to, amount, None, tx))
        }
        TOPIC_TRANSFER => {
            if topics.len() != 3 && topics.len() != 4 {
                return Ok(Vec::new());
            }
            let (Some(from), Some(to)) = (topic_addr(topics[1])?, topic_addr(topics[2])?) else {
                return Ok(Vec::new());
            };
            let data = words(log.data)?;
            let (contract, log_index) = (contract()?, log_index()?);
            if topics.len() == 3 {
                if data.len() != 32 {
                    return Ok(Vec::new());
                }
                return Ok(one(log_index, contract, ERC20, from, to, word(&data, 0), None, tx));
            }
            if !data.is_empty() {
                return Ok(Vec::new());
            }
            let id = need(hex::uint(topics[3]), "token id")?;
            Ok(one(log_index, contract, ERC721, from, to, U256::ONE, Some(id), tx))
        }
        TOPIC_TRANSFER_SINGLE => {
            if topics.len() != 4 {
                return Ok(Vec::new());
            }
            let (from, to) = (topic_addr(topics[2])?, topic_addr(topics[3])?);
            let data = words(log.data)?;
            let (Some(from), Some(to)) = (from, to) else { return Ok(Vec::new()) };
            if data.len() != 64 {
                return Ok(Vec::new());
            }
            let (id, amount) = (word(&data, 0), word(&data, 32));
            Ok(one(log_index()?, contract()?, ERC1155, from, to, amount, Some(id), tx))
        }
        TOPIC_TRANSFER_BATCH => {
            if topics.len() != 4 {
                return Ok(Vec::new());
            }
            let (from, to) = (topic_addr(topics[2])?, topic_addr(topics[3])?);
            let data = words(log.data)?;
            let (Some(from), Some(to)) = (from, to) else { return Ok(Vec::new()) };
            if data.len() < 128 {
                return Ok(Vec::new());
            }
            let ids = uint_array(&data, word(&data, 0));
            let values = uint_array(&data, word(&data, 32));
            let (Some(ids), Some(values)) = (ids, values) else { return Ok(Vec::new()) };
            if ids.len() != values.len() {
                return Ok(Vec::new());
            }
            let (contract, log_index) = (contract()?, log_index()?);
            Ok(ids
                .into_iter()
                .zip(values)
                .enumerate()
                .map(|(i, (id, amount))| Transfer {
                    tx,
                    log_index,
                    batch_index: i,
                    contract,
                    standard: ERC1155,
                    from,
                    to,
                    amount,
                    token_id: Some(id),
                })
                .collect())
        }
        _ => Ok(Vec::new()),
    }
}

fn uint_array(data: &[u8], offset: U256) -> Option<Vec<U256>> {
    if offset % 32 != 0 || offset + 32 > U256::from(data.len() as u64) {
        return None;
    }
    let offset = offset.as_usize();
    let length = word(data, offset);
    if length > U256::from(MAX_BATCH_IDS as u64) {
        return None;
    }
    let length = length.as_usize();
    let end = offset + 32 + 32 * length;
    if end > data.len() {
        return None;
    }
    Some((offset + 32..end).step_by(32).map(|at| word(data, at)).collect())
}

fn pool_event(log: &RawLog<'_>, topic0: &[u8], block: usize) -> Result<Option<PoolEvent>, Fallback> {
    let kind = match topic0 {
        TOPIC_SWAP => PoolEventKind::Swap,
        TOPIC_INITIALIZE => PoolEventKind::Initialize,
        TOPIC_MINT => PoolEventKind::Mint,
        TOPIC_BURN => PoolEventKind::Burn,
        _ => return Ok(None),
    };
    let pool = need(hex::fixed::<20>(log.address), "pool address")?;
    let mut event = PoolEvent { block, kind, pool, a: [0; 32], b: [0; 32], tick: 0, tick_upper: 0 };
    let data = words(log.data)?;
    // Anything not shaped as Uniswap v3 emits it is not a pool event (as in Python).
    let tick_in = |bytes: &[u8]| int24(bytes);
    match kind {
        PoolEventKind::Swap if data.len() >= 160 => {
            event.a.copy_from_slice(&data[64..96]);
            event.b.copy_from_slice(&data[96..128]);
            let Some(tick) = tick_in(&data[128..160]) else { return Ok(None) };
            event.tick = tick;
        }
        PoolEventKind::Initialize if data.len() >= 64 => {
            event.a.copy_from_slice(&data[..32]);
            let Some(tick) = tick_in(&data[32..64]) else { return Ok(None) };
            event.tick = tick;
        }
        PoolEventKind::Mint | PoolEventKind::Burn if log.topics.len() == 4 => {
            let amount = match kind {
                PoolEventKind::Mint if data.len() >= 128 => &data[32..64],
                PoolEventKind::Burn if data.len() >= 96 => &data[..32],
                _ => return Ok(None),
            };
            event.b.copy_from_slice(amount);
            let (Some(lower), Some(upper)) = (topic_int24(log.topics[2])?, topic_int24(log.topics[3])?) else {
                return Ok(None);
            };
            event.tick = lower;
            event.tick_upper = upper;
        }
        _ => return Ok(None),
    }
    Ok(Some(event))
}

/// An ABI `int24` word: sign-extended to 32 bytes, or None.
fn int24(word: &[u8]) -> Option<i32> {
    let value = i32::from_be_bytes(word[28..32].try_into().ok()?);
    let fill = if value < 0 { 0xff } else { 0x00 };
    let extended = word[..28].iter().all(|&b| b == fill);
    (extended && (-(1 << 23)..(1 << 23)).contains(&value)).then_some(value)
}

fn topic_int24(topic: &[u8]) -> Result<Option<i32>, Fallback> {
    let word = need(hex::fixed::<32>(topic), "topic")?;
    Ok(int24(&word))
}
