//! `decode_range` and `encode_rows` on hand-made answers, and never a panic on arbitrary bytes.

use ordex_evm::{decode_range, encode_rows, BlockPrices, PoolEventKind};
use proptest::prelude::*;
use rstest::rstest;
use std::collections::HashMap;

const TRANSFER: &str = "0xddf252ad1be2c89b69c2b068fc378daa952ba7f163c4a11628f55a4df523b3ef";
const SINGLE: &str = "0xc3d58168c5ae7397731d063d5bbf3d657854427343f4c083240f7aacaa2d0f62";
const BATCH: &str = "0x4a39dc06d4c0dbc64b70af90fd698a233a518aa5d07e595d983b8c0526c8f7fb";
const DEPOSIT: &str = "0xe1fffcc4923d04b559f4d29a8bfc6cda04eb5b0d3c460751c2402c5c5cc9109c";
const SWAP: &str = "0xc42079f94a6350d7e6235f29174924f928cc2ac818eb64fed8004e115fbcca67";
const MINT: &str = "0x7a53080ba414158be7ec69b987b5fb7d07dee101fe85488f0853ae16239d0bde";
const BURN: &str = "0x0c396cd989a39f4459b5fa1aed6a9a8dcdbc45908acfd67e028cd568da98982c";

const TOKEN: &str = "0x1111111111111111111111111111111111111111";
const ALICE: &str = "0x000000000000000000000000aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa";
const BOB: &str = "0x000000000000000000000000bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb";

fn hash(n: u8) -> String {
    format!("0x{}", format!("{n:02x}").repeat(32))
}

fn word(n: u64) -> String {
    format!("{n:064x}")
}

fn log(topics: &[&str], data: &str) -> String {
    let topics: Vec<String> = topics.iter().map(|t| format!("\"{t}\"")).collect();
    format!(
        r#"{{"address":"{TOKEN}","topics":[{}],"data":"{data}","logIndex":"0x3","removed":false}}"#,
        topics.join(",")
    )
}

/// One block (number 5) with one transaction whose receipt has `logs`; ids 1 and 2.
fn answer(logs: &[String]) -> String {
    let tx = hash(0xcc);
    let block = hash(0xb5);
    format!(
        r#"[{{"jsonrpc":"2.0","id":2,"result":[{{"transactionHash":"{tx}","blockHash":"{block}","contractAddress":null,"gasUsed":"0x5208","effectiveGasPrice":"0x3b9aca00","status":"0x1","logs":[{}]}}]}},
           {{"jsonrpc":"2.0","id":1,"result":{{"number":"0x5","hash":"{block}","parentHash":"{}","timestamp":"0x6751a000","transactions":[{{"hash":"{tx}","transactionIndex":"0x0","from":"0x{}","to":"{TOKEN}","value":"0xde0b6b3a7640000","nonce":"0x7","gas":"0x30000","gasPrice":"0x3b9aca00","input":"0xa9059cbb00","type":"0x2"}}]}}}}]"#,
        logs.join(","),
        hash(0xb4),
        "aa".repeat(20),
    )
}

#[rstest]
#[case::erc20(log(&[TRANSFER, ALICE, BOB], &format!("0x{}", word(250))), 1, "ERC-20")]
#[case::erc721(log(&[TRANSFER, ALICE, BOB, &format!("0x{}", word(9))], "0x"), 1, "ERC-721")]
#[case::erc1155_single(log(&[SINGLE, ALICE, ALICE, BOB], &format!("0x{}{}", word(7), word(100))), 1, "ERC-1155")]
#[case::erc1155_batch(
    log(&[BATCH, ALICE, ALICE, BOB], &format!("0x{}{}{}{}{}{}{}", word(64), word(160), word(2), word(7), word(8), word(2), word(10))),
    0, ""
)]
#[case::weth_deposit(log(&[DEPOSIT, BOB], &format!("0x{}", word(5))), 1, "ERC-20")]
#[case::erc20_bad_length(log(&[TRANSFER, ALICE, BOB], "0x01"), 0, "")]
#[case::not_an_address(log(&[TRANSFER, &hash(1), BOB], &format!("0x{}", word(1))), 0, "")]
fn transfers_decoded_as_python_does(#[case] log: String, #[case] transfers: usize, #[case] standard: &str) {
    let weth = Some([0x11; 20]);
    let range = decode_range(answer(&[log]).as_bytes(), 1, 1, weth).expect("canonical");
    assert_eq!(range.blocks.len(), 1);
    assert_eq!(range.txs[0].transfers, range.transfers.len());
    if standard.is_empty() {
        // the malformed batch above: ids and values of different lengths
        assert_eq!(range.transfers.len(), transfers);
        return;
    }
    assert_eq!(range.transfers.len(), transfers);
    let prices = vec![BlockPrices { eth_usd: Some("3000.5".into()), tokens: vec![([0x11; 20], "2".into(), None)] }];
    let decimals = HashMap::from([([0x11; 20], 6u32)]);
    let encoded = encode_rows(&range, &prices, &decimals).unwrap();
    let transfer = &copy_rows(&encoded.transfers)[0];
    assert_eq!(transfer.len(), 14);
    assert_eq!(transfer[7].as_deref(), Some(standard.as_bytes()));
    let tx = &copy_rows(&encoded.transactions)[0];
    assert_eq!(tx.len(), 19);
    // 1 ETH at 3000.5 USD; a fee of 21000 gwei.
    let usd: Vec<String> = tx[16..].iter().map(|f| numeric_text(f.as_deref().unwrap())).collect();
    assert_eq!(usd, ["3000.5", "3000.500000000000000000", "0.063010500000000000"]);
    assert_eq!(numeric_text(tx[7].as_deref().unwrap()), "1000000000000000000");
    // 2024-12-05T12:43:44Z in microseconds since 2000-01-01.
    let stamp = i64::from_be_bytes(tx[3].as_deref().unwrap().try_into().unwrap());
    assert_eq!(stamp, (1_733_402_624 - 946_684_800) * 1_000_000);
    assert_eq!(tx[2].as_deref(), Some(&0_i32.to_be_bytes()[..]));
    let addresses = copy_rows(&encoded.address_transactions);
    let mut parties = vec![range.txs[0].from.to_vec(), range.txs[0].to.unwrap().to_vec()];
    parties.extend(range.transfers.iter().flat_map(|t| [t.from.to_vec(), t.to.to_vec()]));
    parties.sort();
    parties.dedup();
    let mut listed: Vec<Vec<u8>> = addresses.iter().map(|r| r[0].clone().unwrap()).collect();
    listed.sort();
    assert_eq!(listed, parties);
}

/// The rows of a binary COPY payload: each field's bytes, None for NULL.
fn copy_rows(payload: &[u8]) -> Vec<Vec<Option<Vec<u8>>>> {
    assert_eq!(&payload[..11], b"PGCOPY\n\xff\r\n\0");
    let mut at = 19;
    let mut rows = Vec::new();
    loop {
        let fields = i16::from_be_bytes([payload[at], payload[at + 1]]);
        at += 2;
        if fields == -1 {
            assert_eq!(at, payload.len());
            return rows;
        }
        let mut row = Vec::new();
        for _ in 0..fields {
            let length = i32::from_be_bytes(payload[at..at + 4].try_into().unwrap());
            at += 4;
            if length < 0 {
                row.push(None);
            } else {
                row.push(Some(payload[at..at + length as usize].to_vec()));
                at += length as usize;
            }
        }
        rows.push(row);
    }
}

/// numeric_out of a binary numeric (ndigits, weight, sign, dscale, base-10000 digits).
fn numeric_text(field: &[u8]) -> String {
    let word = |i: usize| i16::from_be_bytes([field[2 * i], field[2 * i + 1]]);
    let (ndigits, weight, sign, dscale) = (word(0) as usize, word(1) as i32, word(2), word(3) as usize);
    let digit = |position: i32| {
        let i = weight - position;
        if i >= 0 && (i as usize) < ndigits {
            word(4 + i as usize)
        } else {
            0
        }
    };
    let mut int = String::new();
    for position in (0..=weight.max(0)).rev() {
        int.push_str(&format!("{:04}", digit(position)));
    }
    let int = int.trim_start_matches('0');
    let mut frac = String::new();
    for position in 1..=dscale.div_ceil(4) as i32 {
        frac.push_str(&format!("{:04}", digit(-position)));
    }
    frac.truncate(dscale);
    let sign = if sign == 0x4000 { "-" } else { "" };
    let int = if int.is_empty() { "0" } else { int };
    if dscale == 0 {
        format!("{sign}{int}")
    } else {
        format!("{sign}{int}.{frac}")
    }
}

#[test]
fn a_batch_gives_one_row_per_id() {
    let data = format!("0x{}{}{}{}{}{}{}", word(64), word(160), word(2), word(7), word(8), word(2), word(10));
    let data = format!("{}{}", data, word(5));
    let range = decode_range(answer(&[log(&[BATCH, ALICE, ALICE, BOB], &data)]).as_bytes(), 1, 1, None).unwrap();
    let ids: Vec<_> = range.transfers.iter().map(|t| (t.batch_index, t.token_id.unwrap().as_u64())).collect();
    assert_eq!(ids, vec![(0, 7), (1, 8)]);
    let amounts: Vec<_> = range.transfers.iter().map(|t| t.amount.as_u64()).collect();
    assert_eq!(amounts, vec![10, 5]);
}

#[test]
fn swaps_are_pool_events_and_weth_needs_its_contract() {
    let swap = log(&[SWAP, ALICE, BOB], &format!("0x{}{}{}{}{}", word(1), word(2), word(77), word(88), word(3)));
    let deposit = log(&[DEPOSIT, BOB], &format!("0x{}", word(5)));
    let range = decode_range(answer(&[swap, deposit]).as_bytes(), 1, 1, None).unwrap();
    assert!(range.transfers.is_empty(), "no WETH configured: a Deposit is nothing");
    assert_eq!(range.pool_events.len(), 1);
    assert_eq!(range.pool_events[0].kind, PoolEventKind::Swap);
    assert_eq!(range.pool_events[0].a[31], 77);
    assert_eq!(range.pool_events[0].b[31], 88);
    assert!(range.blocks[0].active);
}

/// An ABI int24 as a sign-extended 32-byte topic.
fn tick_topic(tick: i32) -> String {
    let fill = if tick < 0 { "f" } else { "0" };
    format!("0x{}{:08x}", fill.repeat(56), tick)
}

#[test]
fn mints_and_burns_carry_their_range_and_liquidity() {
    let mint = log(
        &[MINT, ALICE, &tick_topic(-60), &tick_topic(120)],
        &format!("0x{}{}{}{}", word(0), word(500), word(1), word(2)),
    );
    let burn = log(
        &[BURN, ALICE, &tick_topic(-887_220), &tick_topic(887_220)],
        &format!("0x{}{}{}", word(40), word(1), word(2)),
    );
    let bad_tick = log(
        &[BURN, ALICE, &format!("0x{}", word(1 << 23)), &tick_topic(60)],
        &format!("0x{}{}{}", word(4), word(1), word(2)),
    );
    let range = decode_range(answer(&[mint, burn, bad_tick]).as_bytes(), 1, 1, None).unwrap();
    let got: Vec<_> = range
        .pool_events
        .iter()
        .map(|e| (e.kind, e.tick, e.tick_upper, u16::from_be_bytes([e.b[30], e.b[31]])))
        .collect();
    assert_eq!(got, vec![(PoolEventKind::Mint, -60, 120, 500), (PoolEventKind::Burn, -887_220, 887_220, 40)]);
}

#[rstest]
#[case::error_answer(
    r#"[{"jsonrpc":"2.0","id":1,"error":{"code":-32601,"message":"no"}},{"jsonrpc":"2.0","id":2,"result":[]}]"#
)]
#[case::null_block(r#"[{"jsonrpc":"2.0","id":1,"result":null},{"jsonrpc":"2.0","id":2,"result":[]}]"#)]
#[case::missing_answer(r#"[{"jsonrpc":"2.0","id":2,"result":[]}]"#)]
#[case::not_a_list(r#"{"jsonrpc":"2.0","id":1,"result":null}"#)]
#[case::garbage("not json")]
fn anything_else_is_left_to_python(#[case] body: &str) {
    assert!(decode_range(body.as_bytes(), 1, 1, None).is_err());
}

#[test]
fn a_result_before_its_id_decodes_the_same() {
    let logs = [log(&[TRANSFER, ALICE, BOB], &format!("0x{}", word(250)))];
    let body = answer(&logs);
    let expected = decode_range(body.as_bytes(), 1, 1, None).unwrap();
    // The block's answer written result first, id last.
    let at = body.find(r#"{"jsonrpc":"2.0","id":1,"result":"#).unwrap();
    let block_end = body.rfind('}').unwrap();
    let result = &body[at + r#"{"jsonrpc":"2.0","id":1,"result":"#.len()..block_end];
    let reordered = format!(r#"{}{{"result":{result},"jsonrpc":"2.0","id":1}}{}"#, &body[..at], &body[block_end + 1..]);
    assert_eq!(decode_range(reordered.as_bytes(), 1, 1, None).unwrap(), expected);
    // An id or result given twice is no canonical answer.
    let twice = body.replacen(r#""id":1,"#, r#""id":1,"id":1,"#, 1);
    assert!(decode_range(twice.as_bytes(), 1, 1, None).is_err());
}

#[test]
fn escaped_or_non_hex_strings_are_left_to_python() {
    let body = answer(&[log(&[TRANSFER, ALICE, BOB], &format!("0x{}", word(250)))]);
    assert!(decode_range(body.as_bytes(), 1, 1, None).is_ok());
    let tx_hash = format!(r#""hash":"{}""#, hash(0xcc));
    assert!(body.contains(&tx_hash));
    // An escaped digit: the same JSON value, but not as a node writes it.
    // Then a non-ASCII letter (escaped, and as UTF-8) and an ASCII letter that is not hex.
    for first in [r"\u0063", r"\u00e9", "é", "g"] {
        let mangled = body.replacen(&tx_hash, &format!(r#""hash":"0x{first}{}""#, &hash(0xcc)[3..]), 1);
        assert!(decode_range(mangled.as_bytes(), 1, 1, None).is_err(), "{first}");
    }
}

#[test]
fn a_receipt_of_another_transaction_is_left_to_python() {
    let body = answer(&[]).replace(
        &format!("\"transactionHash\":\"{}\"", hash(0xcc)),
        &format!("\"transactionHash\":\"{}\"", hash(0xcd)),
    );
    assert!(decode_range(body.as_bytes(), 1, 1, None).is_err());
}

proptest! {
    #[test]
    fn never_panics_on_arbitrary_bytes(body in proptest::collection::vec(any::<u8>(), 0..512), count in 0usize..4) {
        let _ = decode_range(&body, 1, count, None);
    }

    #[test]
    fn never_panics_on_mangled_answers(cut in 0usize..2000, byte in any::<u8>(), at in 0usize..2000) {
        let data = format!("0x{}{}{}{}{}{}{}", word(64), word(160), word(2), word(7), word(8), word(2), word(10));
        let mut body = answer(&[log(&[BATCH, ALICE, ALICE, BOB], &data), log(&[TRANSFER, ALICE, BOB], &format!("0x{}", word(3)))]).into_bytes();
        if at < body.len() {
            body[at] = byte;
        }
        body.truncate(cut.max(1).min(body.len()));
        if let Ok(range) = decode_range(&body, 1, 1, Some([0x11; 20])) {
            let prices = vec![BlockPrices::default(); range.blocks.len()];
            let _ = encode_rows(&range, &prices, &HashMap::new());
        }
    }
}
