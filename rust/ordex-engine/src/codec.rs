//! JSON wire format of `engine.commands.{MARKET}` and `engine.events.{MARKET}`.
//!
//! Commands and events are JSON objects with a `type` field. Prices, quantities and fees are
//! decimal strings in the market's units and are parsed exactly: a price off the tick grid is a
//! `PRICE_NOT_ALIGNED` rejection, never a rounding. Any malformed command becomes a `rejected`
//! event (`command_rejected` for the orderless `deleverage` and `funding`) with the next sequence
//! number; decoding never panics. The full schema with examples is
//! in `docs/engine-streams.md`.

use crate::config::MarketConfig;
use crate::decimal::DecimalError;
use crate::engine::Engine;
use crate::types::*;
use serde::Deserialize;
use std::io::Write;

#[derive(Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
enum WireCommand<'a> {
    // Every variant takes the envelope's `cmd_id` itself: reading the envelope on its own as well
    // would parse every command twice.
    Place {
        #[serde(default)]
        cmd_id: Option<u64>,
        order_id: OrderId,
        account: AccountId,
        side: Side,
        #[serde(default = "default_order_type")]
        order_type: OrderType,
        #[serde(default)]
        time_in_force: Option<TimeInForce>,
        #[serde(default, borrow)]
        price: Option<&'a str>,
        #[serde(borrow)]
        qty: &'a str,
        #[serde(default, borrow)]
        trigger_price: Option<&'a str>,
        #[serde(default = "default_trigger_by")]
        trigger_by: TriggerBy,
        #[serde(default)]
        expire_at: Option<u64>,
        #[serde(default)]
        post_only: bool,
        #[serde(default)]
        reduce_only: bool,
        #[serde(default = "default_stp")]
        stp: StpMode,
        #[serde(default, borrow)]
        client_order_id: Option<&'a str>,
    },
    Cancel {
        #[serde(default)]
        cmd_id: Option<u64>,
        order_id: OrderId,
        account: AccountId,
    },
    CancelAll {
        #[serde(default)]
        cmd_id: Option<u64>,
        account: AccountId,
    },
    Amend {
        #[serde(default)]
        cmd_id: Option<u64>,
        order_id: OrderId,
        account: AccountId,
        #[serde(default, borrow)]
        price: Option<&'a str>,
        #[serde(default, borrow)]
        qty: Option<&'a str>,
    },
    AdvanceTime {
        #[serde(default)]
        cmd_id: Option<u64>,
        now: u64,
    },
    SetMarkPrice {
        #[serde(default)]
        cmd_id: Option<u64>,
        #[serde(borrow)]
        price: &'a str,
    },
    Liquidate {
        #[serde(default)]
        cmd_id: Option<u64>,
        order_id: OrderId,
        account: AccountId,
        side: Side,
        #[serde(borrow)]
        qty: &'a str,
        #[serde(borrow)]
        price: &'a str,
    },
    Deleverage {
        #[serde(default)]
        cmd_id: Option<u64>,
        account: AccountId,
        counterparty: AccountId,
        side: Side,
        #[serde(borrow)]
        qty: &'a str,
        #[serde(borrow)]
        price: &'a str,
    },
    Funding {
        #[serde(default)]
        cmd_id: Option<u64>,
        interval: u64,
        #[serde(borrow)]
        rate: &'a str,
        #[serde(borrow)]
        mark: &'a str,
    },
}

/// Only the `type` of a command that failed to decode: deleverage and funding name no order, so
/// their rejection is a `command_rejected` event.
#[derive(Deserialize)]
struct KindOnly<'a> {
    #[serde(rename = "type", borrow)]
    kind: &'a str,
}

fn names_no_order(payload: &[u8]) -> bool {
    serde_json::from_slice::<KindOnly<'_>>(payload).is_ok_and(|k| matches!(k.kind, "deleverage" | "funding"))
}

fn default_order_type() -> OrderType {
    OrderType::Limit
}
fn default_trigger_by() -> TriggerBy {
    TriggerBy::LastPrice
}
fn default_stp() -> StpMode {
    StpMode::None
}

/// The envelope fields every command may carry, read on their own only when the command is
/// malformed, so the rejection still names the order and account.
#[derive(Deserialize, Default)]
struct Envelope {
    #[serde(default)]
    cmd_id: Option<u64>,
    #[serde(default)]
    order_id: Option<OrderId>,
    #[serde(default)]
    account: Option<AccountId>,
}

/// A command that could not be decoded, with what is known of it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DecodeError {
    pub cmd_id: Option<u64>,
    pub order_id: OrderId,
    pub account: AccountId,
    pub reason: RejectReason,
    pub detail: String,
    /// The command names no order (deleverage, funding): rejected with `command_rejected`.
    pub orderless: bool,
}

fn price_of(cfg: &MarketConfig, s: &str) -> Result<Price, (RejectReason, String)> {
    cfg.price_ticks(s).map_err(|e| match e {
        DecimalError::NotAligned => {
            (RejectReason::PriceNotAligned, format!("price {s} is not a multiple of the tick size {}", cfg.tick_size))
        }
        other => (RejectReason::InvalidPrice, format!("price {s:?}: {other}")),
    })
}

fn qty_of(cfg: &MarketConfig, s: &str) -> Result<Qty, (RejectReason, String)> {
    cfg.qty_lots(s).map_err(|e| match e {
        DecimalError::NotAligned => (
            RejectReason::QuantityNotAligned,
            format!("quantity {s} is not a multiple of the lot size {}", cfg.lot_size),
        ),
        other => (RejectReason::InvalidQuantity, format!("quantity {s:?}: {other}")),
    })
}

fn rate_of(s: &str) -> Result<crate::config::Rate, (RejectReason, String)> {
    crate::config::Rate::parse(s).map_err(|e| (RejectReason::MalformedCommand, format!("rate {s:?}: {e}")))
}

fn opt<T>(
    v: Option<&str>,
    f: impl Fn(&str) -> Result<T, (RejectReason, String)>,
) -> Result<Option<T>, (RejectReason, String)> {
    v.map(f).transpose()
}

/// Why a stream entry is no command at all: it goes to the dead letters, never to the engine.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum NotACommand {
    /// Not a JSON document (the parser's message).
    NotJson(String),
    /// JSON, but not an object with a string `type` (or a field given twice).
    NoType,
}

impl std::fmt::Display for NotACommand {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            NotACommand::NotJson(e) => write!(f, "not JSON: {e}"),
            NotACommand::NoType => f.write_str("not a command object with a type"),
        }
    }
}

/// The command envelope as a stream worker checks it before the engine sees the command: the
/// `type` and `cmd_id` as they were written, every other field only validated and skipped.
#[derive(Deserialize)]
struct Peek<'a> {
    #[serde(rename = "type", default, borrow)]
    kind: Option<&'a serde_json::value::RawValue>,
    #[serde(default, borrow)]
    cmd_id: Option<&'a serde_json::value::RawValue>,
}

/// A JSON object with a string `type`, and its `cmd_id` when that is an integer (a float, a
/// string or a boolean is no command id). One pass over the bytes, no value is built.
pub fn peek_command(payload: &[u8]) -> Result<Option<i128>, NotACommand> {
    // Only an object has named fields; serde would also read an array by position.
    if payload.iter().find(|b| !b.is_ascii_whitespace()) != Some(&b'{') {
        return match serde_json::from_slice::<serde::de::IgnoredAny>(payload) {
            Ok(_) => Err(NotACommand::NoType),
            Err(e) => Err(NotACommand::NotJson(e.to_string())),
        };
    }
    let peek: Peek<'_> = serde_json::from_slice(payload).map_err(|e| {
        if e.is_data() {
            NotACommand::NoType
        } else {
            NotACommand::NotJson(e.to_string())
        }
    })?;
    match peek.kind {
        Some(kind) if kind.get().starts_with('"') => Ok(peek.cmd_id.and_then(|id| id.get().parse().ok())),
        _ => Err(NotACommand::NoType),
    }
}

/// Decodes one command payload. On failure the error says how to reject it.
pub fn decode_command(cfg: &MarketConfig, payload: &[u8]) -> Result<(Option<u64>, Command), DecodeError> {
    // Only an object has named envelope fields; serde would also read an array by position.
    let is_object = payload.iter().find(|b| !b.is_ascii_whitespace()) == Some(&b'{');
    let fail = |reason, detail: String| {
        let envelope: Envelope =
            if is_object { serde_json::from_slice(payload).unwrap_or_default() } else { Envelope::default() };
        DecodeError {
            cmd_id: envelope.cmd_id,
            order_id: envelope.order_id.unwrap_or(0),
            account: envelope.account.unwrap_or(0),
            reason,
            detail,
            orderless: is_object && names_no_order(payload),
        }
    };
    let wire: WireCommand<'_> =
        serde_json::from_slice(payload).map_err(|e| fail(RejectReason::MalformedCommand, e.to_string()))?;
    let cmd = match wire {
        WireCommand::Place {
            cmd_id,
            order_id,
            account,
            side,
            order_type,
            time_in_force,
            price,
            qty,
            trigger_price,
            trigger_by,
            expire_at,
            post_only,
            reduce_only,
            stp,
            client_order_id,
        } => {
            let parsed = (|| {
                let client_order_id = match client_order_id {
                    Some(s) => Some(ClientOrderId::new(s).ok_or((
                        RejectReason::InvalidClientOrderId,
                        "client_order_id must be 1 to 36 printable ASCII characters".to_owned(),
                    ))?),
                    None => None,
                };
                let default_tif = if order_type.has_limit_price() { TimeInForce::Gtc } else { TimeInForce::Ioc };
                Ok(NewOrder {
                    order_id,
                    account,
                    side,
                    order_type,
                    time_in_force: time_in_force.unwrap_or(default_tif),
                    price: opt(price, |s| price_of(cfg, s))?,
                    qty: qty_of(cfg, qty)?,
                    trigger_price: opt(trigger_price, |s| price_of(cfg, s))?,
                    trigger_by,
                    expire_at,
                    post_only,
                    reduce_only,
                    stp,
                    client_order_id,
                })
            })();
            (cmd_id, Command::Place(parsed.map_err(|(r, d)| fail(r, d))?))
        }
        WireCommand::Cancel { cmd_id, order_id, account } => (cmd_id, Command::Cancel { order_id, account }),
        WireCommand::CancelAll { cmd_id, account } => (cmd_id, Command::CancelAll { account }),
        WireCommand::Amend { cmd_id, order_id, account, price, qty } => (
            cmd_id,
            Command::Amend {
                order_id,
                account,
                price: opt(price, |s| price_of(cfg, s)).map_err(|(r, d)| fail(r, d))?,
                qty: opt(qty, |s| qty_of(cfg, s)).map_err(|(r, d)| fail(r, d))?,
            },
        ),
        WireCommand::AdvanceTime { cmd_id, now } => (cmd_id, Command::AdvanceTime { now }),
        WireCommand::SetMarkPrice { cmd_id, price } => {
            (cmd_id, Command::SetMarkPrice { price: price_of(cfg, price).map_err(|(r, d)| fail(r, d))? })
        }
        WireCommand::Liquidate { cmd_id, order_id, account, side, qty, price } => {
            let parsed = (|| Ok((qty_of(cfg, qty)?, price_of(cfg, price)?)))();
            let (qty, price) = parsed.map_err(|(r, d)| fail(r, d))?;
            (cmd_id, Command::Liquidate { order_id, account, side, qty, price })
        }
        WireCommand::Deleverage { cmd_id, account, counterparty, side, qty, price } => {
            let parsed = (|| Ok((qty_of(cfg, qty)?, price_of(cfg, price)?)))();
            let (qty, price) = parsed.map_err(|(r, d)| fail(r, d))?;
            (cmd_id, Command::Deleverage { account, counterparty, side, qty, price })
        }
        WireCommand::Funding { cmd_id, interval, rate, mark } => {
            let parsed = (|| Ok((rate_of(rate)?, price_of(cfg, mark)?)))();
            let (rate, mark) = parsed.map_err(|(r, d)| fail(r, d))?;
            (cmd_id, Command::Funding { interval, rate, mark })
        }
    };
    Ok(cmd)
}

fn write_str(out: &mut Vec<u8>, s: &str) {
    // serde_json escapes correctly; writing into a Vec cannot fail.
    let _ = serde_json::to_writer(&mut *out, s);
}

/// Appends one event as a JSON object (no trailing newline).
pub fn encode_event(cfg: &MarketConfig, cmd_id: Option<u64>, event: &Event, detail: Option<&str>, out: &mut Vec<u8>) {
    let _ = write!(out, "{{\"seq\":{},\"type\":\"{}\",\"market\":", event.seq(), event.kind());
    write_str(out, &cfg.symbol);
    if let Some(id) = cmd_id {
        let _ = write!(out, ",\"cmd_id\":{id}");
    }
    let p = |x: Price| cfg.format_price(x);
    let q = |x: Qty| cfg.format_qty(x);
    let _ = match *event {
        Event::Accepted { order_id, account, side, order_type, price, qty, .. } => {
            let _ = write!(
                out,
                ",\"order_id\":{order_id},\"account\":{account},\"side\":\"{side}\",\"order_type\":\"{order_type}\",\"qty\":\"{}\"",
                q(qty)
            );
            match price {
                Some(x) => write!(out, ",\"price\":\"{}\"", p(x)),
                None => write!(out, ",\"price\":null"),
            }
        }
        Event::Rejected { order_id, account, reason, .. } => {
            let _ = write!(out, ",\"order_id\":{order_id},\"account\":{account},\"reason\":\"{reason}\"");
            if let Some(d) = detail {
                out.extend_from_slice(b",\"detail\":");
                write_str(out, d);
            }
            Ok(())
        }
        Event::Triggered { order_id, account, trigger_price, .. } => write!(
            out,
            ",\"order_id\":{order_id},\"account\":{account},\"trigger_price\":\"{}\"",
            p(trigger_price)
        ),
        Event::Trade {
            taker_order_id,
            taker_account,
            maker_order_id,
            maker_account,
            taker_side,
            price,
            qty,
            taker_fee,
            maker_fee,
            ..
        } => write!(
            out,
            ",\"taker_order_id\":{taker_order_id},\"taker_account\":{taker_account},\"maker_order_id\":{maker_order_id},\"maker_account\":{maker_account},\"taker_side\":\"{taker_side}\",\"price\":\"{}\",\"qty\":\"{}\",\"taker_fee\":\"{}\",\"maker_fee\":\"{}\"",
            p(price),
            q(qty),
            cfg.format_quote(taker_fee),
            cfg.format_quote(maker_fee)
        ),
        Event::Cancelled { order_id, account, remaining, reason, .. } => write!(
            out,
            ",\"order_id\":{order_id},\"account\":{account},\"remaining\":\"{}\",\"reason\":\"{reason}\"",
            q(remaining)
        ),
        Event::Expired { order_id, account, remaining, .. } => {
            write!(out, ",\"order_id\":{order_id},\"account\":{account},\"remaining\":\"{}\"", q(remaining))
        }
        Event::Amended { order_id, account, price, qty, priority_kept, .. } => write!(
            out,
            ",\"order_id\":{order_id},\"account\":{account},\"price\":\"{}\",\"qty\":\"{}\",\"priority_kept\":{priority_kept}",
            p(price),
            q(qty)
        ),
        Event::BookDelta { side, price, qty, orders, .. } => write!(
            out,
            ",\"side\":\"{side}\",\"price\":\"{}\",\"qty\":\"{}\",\"orders\":{orders}",
            p(price),
            cfg.lot_size.format(qty)
        ),
        Event::Liquidation { order_id, account, side, qty, price, .. } => write!(
            out,
            ",\"order_id\":{order_id},\"account\":{account},\"side\":\"{side}\",\"qty\":\"{}\",\"price\":\"{}\"",
            q(qty),
            p(price)
        ),
        Event::Adl { account, counterparty, side, qty, price, .. } => write!(
            out,
            ",\"account\":{account},\"counterparty\":{counterparty},\"side\":\"{side}\",\"qty\":\"{}\",\"price\":\"{}\"",
            q(qty),
            p(price)
        ),
        Event::CommandRejected { reason, .. } => {
            let _ = write!(out, ",\"reason\":\"{reason}\"");
            if let Some(d) = detail {
                out.extend_from_slice(b",\"detail\":");
                write_str(out, d);
            }
            Ok(())
        }
        Event::Funding { interval, rate, mark, ref payments, house, .. } => {
            let _ = write!(
                out,
                ",\"interval\":{interval},\"rate\":\"{}\",\"mark\":\"{}\",\"payments\":[",
                rate.to_decimal_string(),
                p(mark)
            );
            for (i, &(account, amount)) in payments.iter().enumerate() {
                let sep = if i == 0 { "" } else { "," };
                let _ = write!(out, "{sep}[{account},\"{}\"]", cfg.format_quote(amount));
            }
            write!(out, "],\"house\":\"{}\"", cfg.format_quote(house))
        }
    };
    out.push(b'}');
}

impl Engine {
    /// Records a rejection that happened outside the engine (a command that could not be decoded),
    /// with the next sequence number, so the event stream stays gap-free.
    pub fn record_rejection(
        &mut self,
        order_id: OrderId,
        account: AccountId,
        reason: RejectReason,
        out: &mut Vec<Event>,
    ) {
        self.seq += 1;
        out.push(Event::Rejected { seq: self.seq, order_id, account, reason });
    }

    /// The stream workers' path: JSON command payloads in, JSON event payloads out (one per event).
    pub fn process_json(&mut self, payloads: &[&[u8]]) -> Vec<Vec<u8>> {
        let mut events = Vec::with_capacity(4);
        let mut out = Vec::with_capacity(payloads.len() * 3);
        for payload in payloads {
            events.clear();
            let (cmd_id, detail) = match decode_command(&self.cfg, payload) {
                Ok((cmd_id, cmd)) => {
                    self.process(&cmd, &mut events);
                    (cmd_id, None)
                }
                Err(e) if e.orderless => {
                    self.command_rejected(e.reason, &mut events);
                    (e.cmd_id, Some(e.detail))
                }
                Err(e) => {
                    self.record_rejection(e.order_id, e.account, e.reason, &mut events);
                    (e.cmd_id, Some(e.detail))
                }
            };
            for ev in &events {
                let mut buf = Vec::with_capacity(192);
                encode_event(&self.cfg, cmd_id, ev, detail.as_deref(), &mut buf);
                out.push(buf);
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rstest::rstest;

    #[rstest]
    #[case::place(r#"{"type":"place","order_id":1,"cmd_id":42}"#, Ok(Some(42)))]
    #[case::spaces(r#"  { "cmd_id" : -7 , "type" : "cancel" } "#, Ok(Some(-7)))]
    #[case::no_cmd_id(r#"{"type":"advance_time","now":5}"#, Ok(None))]
    #[case::null_cmd_id(r#"{"type":"cancel","cmd_id":null}"#, Ok(None))]
    #[case::float_cmd_id(r#"{"type":"cancel","cmd_id":4.0}"#, Ok(None))]
    #[case::bool_cmd_id(r#"{"type":"cancel","cmd_id":true}"#, Ok(None))]
    #[case::string_cmd_id(r#"{"type":"cancel","cmd_id":"4"}"#, Ok(None))]
    #[case::nested(r#"{"type":"x","a":{"cmd_id":1,"type":2},"cmd_id":3}"#, Ok(Some(3)))]
    #[case::no_type(r#"{"no_type": 1}"#, Err(NotACommand::NoType))]
    #[case::null_type(r#"{"type": null}"#, Err(NotACommand::NoType))]
    #[case::number_type(r#"{"type": 1}"#, Err(NotACommand::NoType))]
    #[case::twice(r#"{"type":"a","type":"b"}"#, Err(NotACommand::NoType))]
    #[case::array("[1, 2]", Err(NotACommand::NoType))]
    #[case::string(r#""place""#, Err(NotACommand::NoType))]
    fn peeks_commands(#[case] payload: &str, #[case] expected: Result<Option<i128>, NotACommand>) {
        assert_eq!(peek_command(payload.as_bytes()), expected);
    }

    #[rstest]
    #[case::broken("{not json")]
    #[case::empty("")]
    #[case::trailing(r#"{"type":"a"} x"#)]
    #[case::bad_array("[1,")]
    fn tells_what_is_no_json(#[case] payload: &str) {
        let err = peek_command(payload.as_bytes()).unwrap_err();
        assert!(matches!(err, NotACommand::NotJson(_)), "{err:?}");
        assert!(err.to_string().starts_with("not JSON: "));
    }

    fn engine() -> Engine {
        let cfg = MarketConfig::builder("BTC-PERP", MarketKind::Perp, "BTC", "USDC")
            .with_tick_size("0.1")
            .unwrap()
            .with_lot_size("0.001")
            .unwrap();
        Engine::new(cfg).unwrap()
    }

    fn run(e: &mut Engine, payloads: &[&str]) -> Vec<serde_json::Value> {
        let raw: Vec<&[u8]> = payloads.iter().map(|p| p.as_bytes()).collect();
        e.process_json(&raw).iter().map(|b| serde_json::from_slice(b).unwrap()).collect()
    }

    #[test]
    fn place_and_trade_round_trip() {
        let mut e = engine();
        let evs = run(
            &mut e,
            &[
                r#"{"type":"place","cmd_id":1,"order_id":1,"account":7,"side":"SELL","price":"65000.5","qty":"0.25"}"#,
                r#"{"type":"place","cmd_id":2,"order_id":2,"account":8,"side":"BUY","order_type":"MARKET","qty":"0.1"}"#,
            ],
        );
        let trade = evs.iter().find(|v| v["type"] == "trade").unwrap();
        assert_eq!(trade["price"], "65000.5");
        assert_eq!(trade["qty"], "0.1");
        assert_eq!(trade["cmd_id"], 2);
        // 6500.05 USDC notional: taker 0.05% = 3.250025 -> 3.250025; maker 0.02% = 1.30001.
        assert_eq!(trade["taker_fee"], "3.250025");
        assert_eq!(trade["maker_fee"], "1.30001");
        let seqs: Vec<u64> = evs.iter().map(|v| v["seq"].as_u64().unwrap()).collect();
        assert!(seqs.windows(2).all(|w| w[1] == w[0] + 1));
    }

    #[test]
    fn malformed_commands_become_rejections() {
        let mut e = engine();
        let evs = run(
            &mut e,
            &[
                "not json",
                r#"{"type":"place","order_id":5,"account":3,"side":"BUY","price":"65000.55","qty":"1"}"#,
                r#"{"type":"place","order_id":6,"account":3,"side":"BUY","price":"1","qty":"0.0001"}"#,
                r#"{"type":"place","order_id":7,"account":3,"side":"UP","price":"1","qty":"1"}"#,
                r#"{"type":"teleport"}"#,
                r#"{"type":"place","order_id":8,"account":3,"side":"BUY","price":"-1","qty":"1"}"#,
                r#"[1,2,3]"#,
                "",
            ],
        );
        assert_eq!(evs.len(), 8);
        assert!(evs.iter().all(|v| v["type"] == "rejected"));
        assert_eq!(evs[1]["reason"], "PRICE_NOT_ALIGNED");
        assert_eq!(evs[1]["order_id"], 5);
        assert_eq!(evs[2]["reason"], "QUANTITY_NOT_ALIGNED");
        assert_eq!(evs[3]["reason"], "MALFORMED_COMMAND");
        assert_eq!(evs[5]["reason"], "INVALID_PRICE");
        // An array is not an envelope: its items are not an order or an account.
        assert_eq!((evs[6]["order_id"].as_u64(), evs[6].get("cmd_id")), (Some(0), None));
        assert_eq!(e.resting_orders(), 0);
    }
    #[test]
    fn perp_commands_round_trip() {
        let mut e = engine();
        let evs = run(
            &mut e,
            &[
                r#"{"type":"place","cmd_id":1,"order_id":1,"account":7,"side":"SELL","price":"65000","qty":"1"}"#,
                r#"{"type":"place","cmd_id":2,"order_id":2,"account":8,"side":"BUY","price":"65000","qty":"1"}"#,
                r#"{"type":"place","cmd_id":3,"order_id":3,"account":8,"side":"SELL","price":"70000","qty":"0.5"}"#,
                r#"{"type":"place","cmd_id":4,"order_id":4,"account":9,"side":"BUY","price":"61000","qty":"0.4"}"#,
                r#"{"type":"liquidate","cmd_id":5,"order_id":5,"account":8,"side":"SELL","qty":"0.5","price":"61000"}"#,
                r#"{"type":"deleverage","cmd_id":6,"account":8,"counterparty":7,"side":"SELL","qty":"0.2","price":"60500"}"#,
                r#"{"type":"deleverage","cmd_id":7,"account":8,"counterparty":7,"side":"BUY","qty":"0.2","price":"60500"}"#,
                r#"{"type":"funding","cmd_id":8,"interval":1000,"rate":"0.0001","mark":"65000.1"}"#,
                r#"{"type":"funding","cmd_id":9,"interval":1000,"rate":"0.0001","mark":"65000"}"#,
            ],
        );
        let of = |cmd: u64| -> Vec<&serde_json::Value> { evs.iter().filter(|v| v["cmd_id"] == cmd).collect() };
        let liq = of(5);
        let kinds: Vec<&str> = liq.iter().map(|v| v["type"].as_str().unwrap()).collect();
        assert_eq!(kinds, ["cancelled", "liquidation", "trade", "cancelled", "book_delta", "book_delta"]);
        assert_eq!((liq[0]["order_id"].as_u64(), liq[0]["reason"].as_str()), (Some(3), Some("LIQUIDATION")));
        assert_eq!(
            *liq[1],
            serde_json::json!({"seq": 11, "type": "liquidation", "market": "BTC-PERP", "cmd_id": 5, "order_id": 5,
                "account": 8, "side": "SELL", "qty": "0.5", "price": "61000"})
        );
        assert_eq!((liq[3]["remaining"].as_str(), liq[3]["reason"].as_str()), (Some("0.1"), Some("IOC_REMAINDER")));
        assert_eq!(
            *of(6)[0],
            serde_json::json!({"seq": 16, "type": "adl", "market": "BTC-PERP", "cmd_id": 6, "account": 8,
                "counterparty": 7, "side": "SELL", "qty": "0.2", "price": "60500"})
        );
        assert_eq!(
            *of(7)[0],
            serde_json::json!({"seq": 17, "type": "command_rejected", "market": "BTC-PERP", "cmd_id": 7,
                "reason": "NO_POSITION"})
        );
        // 0.8 short receives 0.8 * 65000.1 * 0.0001 = 5.200008; the longs of 0.4 pay 2.600004 each.
        assert_eq!(
            *of(8)[0],
            serde_json::json!({"seq": 18, "type": "funding", "market": "BTC-PERP", "cmd_id": 8, "interval": 1000,
                "rate": "0.0001", "mark": "65000.1", "payments": [[7, "5.200008"], [8, "-2.600004"], [9, "-2.600004"]],
                "house": "0"})
        );
        assert!(of(9).is_empty(), "an interval settled already pays nothing");
    }

    #[test]
    fn malformed_orderless_commands_are_command_rejections() {
        let mut e = engine();
        let evs = run(
            &mut e,
            &[
                r#"{"type":"funding","cmd_id":1,"interval":1,"rate":"0.000000001","mark":"1"}"#,
                r#"{"type":"funding","cmd_id":2,"interval":-1,"rate":"0.0001","mark":"1"}"#,
                r#"{"type":"funding","cmd_id":3,"interval":1,"rate":"0.0001","mark":"1.05"}"#,
                r#"{"type":"deleverage","cmd_id":4,"account":1,"counterparty":2,"side":"SELL","qty":"0.0001","price":"1"}"#,
                r#"{"type":"deleverage","cmd_id":5,"account":1,"side":"SELL","qty":"1","price":"1"}"#,
                r#"{"type":"liquidate","cmd_id":6,"order_id":9,"account":1,"side":"SELL","qty":"1","price":"x"}"#,
            ],
        );
        let got: Vec<(&str, &str)> =
            evs.iter().map(|v| (v["type"].as_str().unwrap(), v["reason"].as_str().unwrap())).collect();
        assert_eq!(
            got,
            [
                ("command_rejected", "MALFORMED_COMMAND"),
                ("command_rejected", "MALFORMED_COMMAND"),
                ("command_rejected", "PRICE_NOT_ALIGNED"),
                ("command_rejected", "QUANTITY_NOT_ALIGNED"),
                ("command_rejected", "MALFORMED_COMMAND"),
                ("rejected", "INVALID_PRICE"),
            ]
        );
        assert!(evs.iter().all(|v| v["detail"].is_string()));
        assert_eq!(evs[5]["order_id"], 9);
        assert_eq!(e.last_funding_interval(), None);
    }
}
