//! Clocks, a counting allocator and the three timed passes.

use crate::adapters::EngineAdapter;
use crate::workload::Op;
use hdrhistogram::Histogram;
use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicBool, AtomicIsize, Ordering};
use std::time::Instant;

/// Counts live heap bytes while `COUNTING` is on; off, it costs one relaxed load per call.
pub struct CountingAllocator;

static COUNTING: AtomicBool = AtomicBool::new(false);
static LIVE_BYTES: AtomicIsize = AtomicIsize::new(0);

unsafe impl GlobalAlloc for CountingAllocator {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        if COUNTING.load(Ordering::Relaxed) {
            LIVE_BYTES.fetch_add(layout.size() as isize, Ordering::Relaxed);
        }
        System.alloc(layout)
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        if COUNTING.load(Ordering::Relaxed) {
            LIVE_BYTES.fetch_sub(layout.size() as isize, Ordering::Relaxed);
        }
        System.dealloc(ptr, layout)
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        if COUNTING.load(Ordering::Relaxed) {
            LIVE_BYTES.fetch_add(new_size as isize - layout.size() as isize, Ordering::Relaxed);
        }
        System.realloc(ptr, layout, new_size)
    }
}

/// Heap bytes still allocated by whatever `build` returns, per element of `ops`: the engine is
/// built and fed with counting on, and measured while it is alive.
pub fn bytes_per_op<A: EngineAdapter>(build: impl FnOnce() -> A, ops: &[Op]) -> f64 {
    LIVE_BYTES.store(0, Ordering::SeqCst);
    COUNTING.store(true, Ordering::SeqCst);
    let mut engine = build();
    for op in ops {
        engine.apply(op);
    }
    let live = LIVE_BYTES.load(Ordering::SeqCst);
    COUNTING.store(false, Ordering::SeqCst);
    drop(engine);
    live as f64 / ops.len() as f64
}

/// Messages per second for the whole stream on a fresh engine; the best of `runs`.
pub fn throughput<A: EngineAdapter>(build: impl Fn() -> A, ops: &[Op], runs: usize) -> f64 {
    let mut best = 0.0f64;
    for _ in 0..runs {
        let mut engine = build();
        let start = Instant::now();
        for op in ops {
            engine.apply(std::hint::black_box(op));
        }
        let secs = start.elapsed().as_secs_f64();
        std::hint::black_box(&engine);
        drop(engine);
        best = best.max(ops.len() as f64 / secs);
    }
    best
}

/// Per-message latency percentiles in nanoseconds.
#[derive(Clone, Copy, Debug, Default)]
pub struct Percentiles {
    pub p50: f64,
    pub p99: f64,
    pub p999: f64,
    pub max: f64,
}

/// Message kinds timed separately, in the order of `Latency::by_kind`.
pub const KINDS: [&str; 4] = ["new GTC", "new IOC", "cancel", "modify"];

fn kind_of(op: &Op) -> usize {
    match op {
        Op::New { ioc: false, .. } => 0,
        Op::New { ioc: true, .. } => 1,
        Op::Cancel { .. } => 2,
        Op::Modify { .. } => 3,
    }
}

#[derive(Clone, Copy, Debug, Default)]
pub struct Latency {
    pub all: Percentiles,
    pub by_kind: [Percentiles; 4],
}

/// A cycle counter read in program order, converted to nanoseconds by a calibration against
/// `Instant`, with the cost of reading it twice measured and subtracted.
pub struct Clock {
    ns_per_tick: f64,
    overhead_ticks: u64,
}

#[cfg(target_arch = "x86_64")]
#[inline(always)]
fn ticks() -> u64 {
    // lfence keeps the read from drifting across the measured code.
    unsafe {
        core::arch::x86_64::_mm_lfence();
        let t = core::arch::x86_64::_rdtsc();
        core::arch::x86_64::_mm_lfence();
        t
    }
}

#[cfg(not(target_arch = "x86_64"))]
#[inline(always)]
fn ticks() -> u64 {
    use std::sync::OnceLock;
    static EPOCH: OnceLock<Instant> = OnceLock::new();
    EPOCH.get_or_init(Instant::now).elapsed().as_nanos() as u64
}

impl Clock {
    pub fn calibrate() -> Clock {
        let (t0, i0) = (ticks(), Instant::now());
        while i0.elapsed().as_millis() < 200 {
            std::hint::spin_loop();
        }
        let (t1, elapsed) = (ticks(), i0.elapsed());
        let ns_per_tick = elapsed.as_nanos() as f64 / (t1 - t0).max(1) as f64;
        let mut overhead = Histogram::<u64>::new(3).expect("histogram");
        for _ in 0..1_000_000 {
            let a = ticks();
            let b = ticks();
            let _ = overhead.record(b - a);
        }
        Clock { ns_per_tick, overhead_ticks: overhead.value_at_quantile(0.5) }
    }

    pub fn overhead_ns(&self) -> f64 {
        self.overhead_ticks as f64 * self.ns_per_tick
    }

    /// Times every message of the stream on a fresh engine.
    pub fn latency<A: EngineAdapter>(&self, mut engine: A, ops: &[Op]) -> Latency {
        let new_hist = || Histogram::<u64>::new_with_bounds(1, 1 << 40, 3).expect("histogram");
        let mut all = new_hist();
        let mut by_kind = [new_hist(), new_hist(), new_hist(), new_hist()];
        for op in ops {
            let start = ticks();
            engine.apply(std::hint::black_box(op));
            let end = ticks();
            let t = (end - start).saturating_sub(self.overhead_ticks).max(1);
            let _ = all.record(t);
            let _ = by_kind[kind_of(op)].record(t);
        }
        let percentiles = |h: &Histogram<u64>| {
            let ns = |q: f64| h.value_at_quantile(q) as f64 * self.ns_per_tick;
            Percentiles { p50: ns(0.5), p99: ns(0.99), p999: ns(0.999), max: h.max() as f64 * self.ns_per_tick }
        };
        Latency { all: percentiles(&all), by_kind: by_kind.each_ref().map(percentiles) }
    }
}
