//! ordex-engine benchmark: throughput, per-message latency and memory per resting order, side by
//! side with other Rust matching engines fed exactly the same message streams, after checking
//! that each of them produces the same trades as ordex.
//!
//! `ordex-engine-bench [--quick] [--json PATH] [--engine ordex|matchcore|orderbook-rs] [--workload a|b|memory]`
//! (`--engine` and `--workload` may repeat; without them everything runs).

mod adapters;
mod measure;
mod reference_book;
mod report;
#[cfg(test)]
mod tests;
mod workload;

use adapters::matchcore::MatchcoreAdapter;
use adapters::orderbook_rs::OrderbookRsAdapter;
use adapters::ordex::OrdexAdapter;
use adapters::{EngineAdapter, EngineKind, TradeRecord};
use measure::{Clock, CountingAllocator, Latency};
use report::{MemoryRow, Report, Row, TradeCheck};
use workload::{Op, Workload};

#[global_allocator]
static ALLOCATOR: CountingAllocator = CountingAllocator;

const SEED_A: u64 = 0x5EED_0A0A_2026;
const SEED_B: u64 = 0x5EED_0B0B_2026;
const THROUGHPUT_RUNS: usize = 3;

struct Options {
    quick: bool,
    json: Option<String>,
    engines: Vec<EngineKind>,
    workloads: Vec<String>,
}

impl Options {
    fn runs_workload(&self, name: &str) -> bool {
        self.workloads.is_empty() || self.workloads.iter().any(|w| w == name)
    }
}

fn parse_args() -> Options {
    let mut opts = Options { quick: false, json: None, engines: Vec::new(), workloads: Vec::new() };
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--quick" => opts.quick = true,
            "--json" => opts.json = Some(args.next().unwrap_or_else(|| usage("--json needs a path"))),
            "--engine" => {
                let name = args.next().unwrap_or_else(|| usage("--engine needs a name"));
                let kind = EngineKind::ALL.into_iter().find(|k| k.name().starts_with(name.as_str()));
                opts.engines.push(kind.unwrap_or_else(|| usage(&format!("unknown engine {name}"))));
            }
            "--workload" => {
                let name = args.next().unwrap_or_else(|| usage("--workload needs a name"));
                if !["a", "b", "memory"].contains(&name.as_str()) {
                    usage(&format!("unknown workload {name}"));
                }
                opts.workloads.push(name);
            }
            "-h" | "--help" => usage(""),
            other => usage(&format!("unknown argument {other}")),
        }
    }
    opts
}

fn usage(problem: &str) -> ! {
    if !problem.is_empty() {
        eprintln!("{problem}");
    }
    eprintln!(
        "usage: ordex-engine-bench [--quick] [--json PATH] [--engine ordex|matchcore|orderbook-rs]... [--workload a|b|memory]..."
    );
    std::process::exit(if problem.is_empty() { 0 } else { 2 })
}

fn recorded_trades<A: EngineAdapter>(mut engine: A, ops: &[Op]) -> Vec<TradeRecord> {
    for op in ops {
        engine.apply(op);
    }
    engine.trades()
}

fn compare_trades(expected: &[TradeRecord], got: &[TradeRecord]) -> TradeCheck {
    let first_difference = expected
        .iter()
        .zip(got)
        .position(|(a, b)| a != b)
        .or_else(|| (expected.len() != got.len()).then_some(expected.len().min(got.len())));
    TradeCheck { trades: got.len(), first_difference }
}

/// Correctness pass, throughput pass and latency pass of one engine on one workload.
fn measure_engine<A: EngineAdapter>(
    build: impl Fn(bool) -> A,
    w: &Workload,
    reference: &[TradeRecord],
    clock: &Clock,
) -> (TradeCheck, f64, Latency) {
    let check = compare_trades(reference, &recorded_trades(build(true), &w.ops));
    let rate = measure::throughput(|| build(false), &w.ops, THROUGHPUT_RUNS);
    let latency = clock.latency(build(false), &w.ops);
    (check, rate, latency)
}

fn run_workload(w: &Workload, engines: &[EngineKind], clock: &Clock, report: &mut Report) {
    eprintln!("workload {}: {}", w.name, w.mix());
    let reference = recorded_trades(OrdexAdapter::new(true), &w.ops);
    for &kind in engines {
        eprintln!("  {} ...", kind.name());
        let (check, rate, latency) = match kind {
            EngineKind::Ordex => measure_engine(OrdexAdapter::new, w, &reference, clock),
            EngineKind::Matchcore => measure_engine(MatchcoreAdapter::new, w, &reference, clock),
            EngineKind::OrderbookRs => measure_engine(OrderbookRsAdapter::new, w, &reference, clock),
        };
        if let Some(i) = check.first_difference {
            eprintln!(
                "    trades differ from ordex at #{i}: ordex {:?}, {} {:?}",
                reference.get(i),
                kind.name(),
                recorded_trades_at(kind, &w.ops, i)
            );
        }
        report.rows.push(Row {
            engine: kind.name(),
            workload: w.name,
            messages: w.ops.len(),
            msgs_per_sec: rate,
            latency,
            reference_trades: reference.len(),
            check,
        });
    }
}

/// The peer's trade at index `i`, recomputed for the diagnostic line.
fn recorded_trades_at(kind: EngineKind, ops: &[Op], i: usize) -> Option<TradeRecord> {
    let trades = match kind {
        EngineKind::Ordex => recorded_trades(OrdexAdapter::new(true), ops),
        EngineKind::Matchcore => recorded_trades(MatchcoreAdapter::new(true), ops),
        EngineKind::OrderbookRs => recorded_trades(OrderbookRsAdapter::new(true), ops),
    };
    trades.get(i).copied()
}

fn run_memory(resting: &Workload, engines: &[EngineKind], report: &mut Report) {
    eprintln!("memory: {} resting orders", resting.ops.len());
    for &kind in engines {
        let bytes = match kind {
            EngineKind::Ordex => measure::bytes_per_op(|| OrdexAdapter::new(false), &resting.ops),
            EngineKind::Matchcore => measure::bytes_per_op(|| MatchcoreAdapter::new(false), &resting.ops),
            EngineKind::OrderbookRs => measure::bytes_per_op(|| OrderbookRsAdapter::new(false), &resting.ops),
        };
        report.memory.push(MemoryRow {
            engine: kind.name(),
            resting_orders: resting.ops.len(),
            bytes_per_order: bytes,
        });
    }
}

fn main() {
    let opts = parse_args();
    let scale = if opts.quick { 10 } else { 1 };
    let clock = Clock::calibrate();
    let mut report = Report { quick: opts.quick, timer_overhead_ns: clock.overhead_ns(), ..Report::default() };
    let engines = if opts.engines.is_empty() { EngineKind::ALL.to_vec() } else { opts.engines.clone() };
    if opts.runs_workload("a") {
        let w = workload::harness_mix(2_000_000 / scale, SEED_A);
        run_workload(&w, &engines, &clock, &mut report);
        report.mixes.push((w.name, w.mix()));
    }
    if opts.runs_workload("b") {
        let w = workload::exchange_core_mix(3_000_000 / scale, SEED_B);
        run_workload(&w, &engines, &clock, &mut report);
        report.mixes.push((w.name, w.mix()));
    }
    if opts.runs_workload("memory") {
        run_memory(&workload::resting_only(1_000_000 / scale), &engines, &mut report);
    }
    print!("{}", report.table());
    if let Some(path) = opts.json {
        std::fs::write(&path, report.json()).unwrap_or_else(|e| panic!("writing {path}: {e}"));
        eprintln!("wrote {path}");
    }
    if report.rows.iter().any(|r| r.check.first_difference.is_some()) {
        std::process::exit(1);
    }
}
