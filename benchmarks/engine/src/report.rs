//! The printed table and the JSON written by `--json`.

use crate::measure::{Latency, Percentiles, KINDS};
use serde_json::{json, Value};
use std::fmt::Write;

/// ordex's performance targets, checked in the summary.
const TARGET_MSGS_PER_SEC: f64 = 10_000_000.0;
const TARGET_VS_MATCHCORE: f64 = 1.2;
const TARGET_P99_NS: f64 = 1_000.0;
const TARGET_BYTES_PER_ORDER: f64 = 200.0;

fn percentiles_json(p: &Percentiles) -> Value {
    json!({"p50": p.p50, "p99": p.p99, "p99_9": p.p999, "max": p.max})
}

#[derive(Clone, Copy, Debug)]
pub struct TradeCheck {
    pub trades: usize,
    /// Index of the first trade that differs from ordex's, if any.
    pub first_difference: Option<usize>,
}

pub struct Row {
    pub engine: &'static str,
    pub workload: &'static str,
    pub messages: usize,
    pub msgs_per_sec: f64,
    pub latency: Latency,
    pub reference_trades: usize,
    pub check: TradeCheck,
}

pub struct MemoryRow {
    pub engine: &'static str,
    pub resting_orders: usize,
    pub bytes_per_order: f64,
}

#[derive(Default)]
pub struct Report {
    pub quick: bool,
    pub timer_overhead_ns: f64,
    pub mixes: Vec<(&'static str, String)>,
    pub rows: Vec<Row>,
    pub memory: Vec<MemoryRow>,
}

impl Report {
    fn ordex_rate(&self, workload: &str) -> f64 {
        self.rows
            .iter()
            .find(|r| r.workload == workload && r.engine.starts_with("ordex"))
            .map_or(0.0, |r| r.msgs_per_sec)
    }

    pub fn table(&self) -> String {
        let mut s = String::new();
        for (name, mix) in &self.mixes {
            let _ = writeln!(s, "workload {name}: {mix}");
        }
        let _ = writeln!(
            s,
            "Mmsg/s: best of 3 whole-stream runs; ordex ×: ordex's msgs/s over this engine's; latency per message \
             (timer overhead {:.1} ns subtracted); same trades: (taker, maker, price, qty) sequence equals ordex's",
            self.timer_overhead_ns
        );
        let _ = writeln!(
            s,
            "\n{:<40} {:<18} {:>10} {:>9} {:>8} {:>8} {:>8} {:>10} {:>12}",
            "workload", "engine", "Mmsg/s", "ordex ×", "p50 ns", "p99 ns", "p99.9 ns", "trades", "same trades"
        );
        for r in &self.rows {
            let same = match r.check.first_difference {
                None => "yes".to_string(),
                Some(i) => format!("NO (#{i})"),
            };
            let _ = writeln!(
                s,
                "{:<40} {:<18} {:>10.2} {:>9.2} {:>8.0} {:>8.0} {:>8.0} {:>10} {:>12}",
                r.workload,
                r.engine,
                r.msgs_per_sec / 1e6,
                self.ordex_rate(r.workload) / r.msgs_per_sec,
                r.latency.all.p50,
                r.latency.all.p99,
                r.latency.all.p999,
                r.check.trades,
                same
            );
        }
        let _ = write!(s, "\nlatency by message kind, p50 / p99 ns:\n{:<40} {:<18}", "workload", "engine");
        for kind in KINDS {
            let _ = write!(s, " {kind:>15}");
        }
        let _ = writeln!(s);
        for r in &self.rows {
            let _ = write!(s, "{:<40} {:<18}", r.workload, r.engine);
            for p in &r.latency.by_kind {
                let _ = write!(s, " {:>15}", format!("{:.0} / {:.0}", p.p50, p.p99));
            }
            let _ = writeln!(s);
        }
        let _ = writeln!(s, "\n{:<18} {:>14} {:>16}", "engine", "resting orders", "bytes per order");
        for m in &self.memory {
            let _ = writeln!(s, "{:<18} {:>14} {:>16.1}", m.engine, m.resting_orders, m.bytes_per_order);
        }
        let _ = writeln!(s, "\ntargets for ordex{}:", if self.quick { " (quick run: indicative only)" } else { "" });
        for (what, ok) in self.targets() {
            let _ = writeln!(s, "  [{}] {what}", if ok { "met" } else { "MISSED" });
        }
        s
    }

    fn targets(&self) -> Vec<(String, bool)> {
        let mut out = Vec::new();
        let find = |engine: &str, workload_prefix: &str| {
            self.rows.iter().find(|r| r.engine.starts_with(engine) && r.workload.starts_with(workload_prefix))
        };
        if let Some(a) = find("ordex", "a:") {
            out.push((
                format!("{:.2} M msg/s on workload a (target >= 10)", a.msgs_per_sec / 1e6),
                a.msgs_per_sec >= TARGET_MSGS_PER_SEC,
            ));
            if let Some(m) = find("matchcore", "a:") {
                let ratio = a.msgs_per_sec / m.msgs_per_sec;
                out.push((
                    format!("{ratio:.2} x matchcore on workload a (target >= 1.2)"),
                    ratio >= TARGET_VS_MATCHCORE,
                ));
            }
        }
        for r in self.rows.iter().filter(|r| r.engine.starts_with("ordex")) {
            out.push((
                format!("p99 {:.0} ns on {} (target <= 1000)", r.latency.all.p99, r.workload),
                r.latency.all.p99 <= TARGET_P99_NS,
            ));
        }
        if let Some(m) = self.memory.iter().find(|m| m.engine.starts_with("ordex")) {
            out.push((
                format!("{:.1} bytes per resting order (target <= 200)", m.bytes_per_order),
                m.bytes_per_order <= TARGET_BYTES_PER_ORDER,
            ));
        }
        out
    }

    pub fn json(&self) -> String {
        let rows: Vec<Value> = self
            .rows
            .iter()
            .map(|r| {
                json!({
                    "engine": r.engine,
                    "workload": r.workload,
                    "messages": r.messages,
                    "msgs_per_sec": r.msgs_per_sec,
                    "ordex_speedup": self.ordex_rate(r.workload) / r.msgs_per_sec,
                    "latency_ns": percentiles_json(&r.latency.all),
                    "latency_ns_by_kind": KINDS
                        .iter()
                        .zip(&r.latency.by_kind)
                        .map(|(kind, p)| (kind.to_string(), percentiles_json(p)))
                        .collect::<serde_json::Map<String, Value>>(),
                    "trades": r.check.trades,
                    "ordex_trades": r.reference_trades,
                    "trades_equal": r.check.first_difference.is_none(),
                    "first_difference": r.check.first_difference,
                })
            })
            .collect();
        let memory: Vec<Value> = self
            .memory
            .iter()
            .map(|m| json!({"engine": m.engine, "resting_orders": m.resting_orders, "bytes_per_order": m.bytes_per_order}))
            .collect();
        let targets: Vec<Value> =
            self.targets().into_iter().map(|(what, met)| json!({"target": what, "met": met})).collect();
        let mixes: Vec<Value> = self.mixes.iter().map(|(name, mix)| json!({"workload": name, "mix": mix})).collect();
        let doc = json!({
            "quick": self.quick,
            "timer_overhead_ns": self.timer_overhead_ns,
            "workloads": mixes,
            "results": rows,
            "memory": memory,
            "targets": targets,
        });
        serde_json::to_string_pretty(&doc).expect("json") + "\n"
    }
}
