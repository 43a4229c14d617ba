//! Streaming indicators, one value in per bar, with TA-Lib's definitions and its order of floating
//! point operations (so values agree with TA-Lib to the last few ulps): SMA by a running total, EMA
//! seeded with the SMA of its first `period` values, RSI and ATR with Wilder's smoothing, MACD whose
//! fast EMA starts where the slow one does, Bollinger bands whose deviation is summed about the
//! window's mean (TA-Lib 0.8's precision: running sums of x² lose digits on small periods and
//! cheap coins). A NaN input (an upstream indicator still warming up) is not consumed and gives NaN.

use crate::catalog::Kind;

#[derive(Debug, Clone)]
struct Window {
    values: Vec<f64>,
    head: usize,
    len: usize,
}

impl Window {
    fn new(period: usize) -> Self {
        Window { values: vec![0.0; period], head: 0, len: 0 }
    }
    /// Pushes `x`; once full, the value that left the window `period` pushes ago is the oldest.
    fn push(&mut self, x: f64) {
        let cap = self.values.len();
        self.values[(self.head + self.len) % cap] = x;
        if self.len < cap {
            self.len += 1;
        } else {
            self.head = (self.head + 1) % cap;
        }
    }
    fn full(&self) -> bool {
        self.len == self.values.len()
    }
    fn oldest(&self) -> f64 {
        self.values[self.head]
    }
}

#[derive(Debug, Clone)]
pub struct Sma {
    period: usize,
    window: Window,
    total: f64,
}

impl Sma {
    pub fn new(period: usize) -> Self {
        Sma { period, window: Window::new(period), total: 0.0 }
    }
    pub fn update(&mut self, x: f64) -> f64 {
        if x.is_nan() {
            return f64::NAN;
        }
        self.window.push(x);
        self.total += x;
        if !self.window.full() {
            return f64::NAN;
        }
        let out = self.total / self.period as f64;
        self.total -= self.window.oldest();
        out
    }
}

#[derive(Debug, Clone)]
pub struct Ema {
    period: usize,
    k: f64,
    seen: usize,
    prev: f64,
}

impl Ema {
    pub fn new(period: usize) -> Self {
        Ema { period, k: 2.0 / (period as f64 + 1.0), seen: 0, prev: 0.0 }
    }
    pub fn update(&mut self, x: f64) -> f64 {
        if x.is_nan() {
            return f64::NAN;
        }
        self.seen += 1;
        if self.seen < self.period {
            self.prev += x;
            f64::NAN
        } else if self.seen == self.period {
            self.prev += x;
            self.prev /= self.period as f64;
            self.prev
        } else {
            self.prev = ((x - self.prev) * self.k) + self.prev;
            self.prev
        }
    }
}

#[derive(Debug, Clone)]
pub struct Rsi {
    period: usize,
    seen: usize,
    prev_value: f64,
    gain: f64,
    loss: f64,
}

impl Rsi {
    pub fn new(period: usize) -> Self {
        Rsi { period, seen: 0, prev_value: 0.0, gain: 0.0, loss: 0.0 }
    }
    fn value(&self) -> f64 {
        // A sum of non-negative averages is zero only when no price has moved since the seed; a
        // fixed band here would zero the RSI of a coin quoted below it.
        let total = self.gain + self.loss;
        if total > 0.0 {
            100.0 * (self.gain / total)
        } else {
            0.0
        }
    }
    pub fn update(&mut self, x: f64) -> f64 {
        if x.is_nan() {
            return f64::NAN;
        }
        self.seen += 1;
        if self.seen == 1 {
            self.prev_value = x;
            return f64::NAN;
        }
        let diff = x - self.prev_value;
        self.prev_value = x;
        let p = self.period as f64;
        if self.seen <= self.period + 1 {
            if diff < 0.0 {
                self.loss -= diff;
            } else {
                self.gain += diff;
            }
            if self.seen < self.period + 1 {
                return f64::NAN;
            }
            self.loss /= p;
            self.gain /= p;
            return self.value();
        }
        self.loss *= p - 1.0;
        self.gain *= p - 1.0;
        if diff < 0.0 {
            self.loss -= diff;
        } else {
            self.gain += diff;
        }
        self.loss /= p;
        self.gain /= p;
        self.value()
    }
}

#[derive(Debug, Clone)]
pub struct Macd {
    fast_period: usize,
    slow_period: usize,
    seen: usize,
    fast: Ema,
    slow: Ema,
    signal: Ema,
}

impl Macd {
    pub fn new(fast: usize, slow: usize, signal: usize) -> Self {
        Macd {
            fast_period: fast,
            slow_period: slow,
            seen: 0,
            fast: Ema::new(fast),
            slow: Ema::new(slow),
            signal: Ema::new(signal),
        }
    }
    /// (macd, signal, hist)
    pub fn update(&mut self, x: f64) -> [f64; 3] {
        const NONE: [f64; 3] = [f64::NAN; 3];
        if x.is_nan() {
            return NONE;
        }
        self.seen += 1;
        // TA-Lib seeds the fast EMA with the `fast` values ending where the slow one's seed ends.
        let fast = if self.seen > self.slow_period - self.fast_period { self.fast.update(x) } else { f64::NAN };
        let slow = self.slow.update(x);
        if slow.is_nan() {
            return NONE;
        }
        let line = fast - slow;
        let signal = self.signal.update(line);
        if signal.is_nan() {
            return NONE;
        }
        [line, signal, line - signal]
    }
}

#[derive(Debug, Clone)]
pub struct Bollinger {
    period: usize,
    k: f64,
    window: Window,
    total: f64,
    /// Bars in a row equal to the one before: a window of equal closes has exactly no width.
    unchanged: usize,
    last: f64,
}

impl Bollinger {
    pub fn new(period: usize, k: f64) -> Self {
        Bollinger { period, k, window: Window::new(period), total: 0.0, unchanged: 0, last: f64::NAN }
    }
    /// (upper, middle, lower)
    pub fn update(&mut self, x: f64) -> [f64; 3] {
        if x.is_nan() {
            return [f64::NAN; 3];
        }
        self.unchanged = if x == self.last { self.unchanged + 1 } else { 0 };
        self.last = x;
        self.window.push(x);
        self.total += x;
        if !self.window.full() {
            return [f64::NAN; 3];
        }
        let p = self.period as f64;
        let middle = self.total / p;
        self.total -= self.window.oldest();
        if self.unchanged + 1 >= self.period {
            return [middle, middle, middle];
        }
        let squares: f64 = self.window.values.iter().map(|v| (v - middle) * (v - middle)).sum();
        let band = (squares / p).sqrt() * self.k;
        [middle + band, middle, middle - band]
    }
}

#[derive(Debug, Clone)]
pub struct Atr {
    period: usize,
    seen: usize,
    prev_close: f64,
    ranges: usize,
    atr: f64,
}

impl Atr {
    pub fn new(period: usize) -> Self {
        Atr { period, seen: 0, prev_close: 0.0, ranges: 0, atr: 0.0 }
    }
    pub fn update(&mut self, high: f64, low: f64, close: f64) -> f64 {
        self.seen += 1;
        let prev = std::mem::replace(&mut self.prev_close, close);
        if self.seen == 1 {
            return f64::NAN;
        }
        let mut range = high - low;
        let up = (prev - high).abs();
        if up > range {
            range = up;
        }
        let down = (prev - low).abs();
        if down > range {
            range = down;
        }
        self.ranges += 1;
        let p = self.period as f64;
        if self.ranges < self.period {
            self.atr += range;
            f64::NAN
        } else if self.ranges == self.period {
            self.atr += range;
            self.atr /= p;
            self.atr
        } else {
            self.atr *= p - 1.0;
            self.atr += range;
            self.atr /= p;
            self.atr
        }
    }
}

/// The running state of one indicator node.
#[derive(Debug, Clone)]
pub enum Indicator {
    Sma(Sma),
    Ema(Ema),
    Rsi(Rsi),
    Macd(Macd),
    Bollinger(Bollinger),
    Atr(Atr),
}

impl Indicator {
    pub fn for_kind(kind: &Kind) -> Option<Indicator> {
        Some(match *kind {
            Kind::Sma { period } => Indicator::Sma(Sma::new(period)),
            Kind::Ema { period } => Indicator::Ema(Ema::new(period)),
            Kind::Rsi { period } => Indicator::Rsi(Rsi::new(period)),
            Kind::Macd { fast, slow, signal } => Indicator::Macd(Macd::new(fast, slow, signal)),
            Kind::Bollinger { period, k } => Indicator::Bollinger(Bollinger::new(period, k)),
            Kind::Atr { period } => Indicator::Atr(Atr::new(period)),
            _ => return None,
        })
    }

    /// Feeds a block of bars: `x` the source, `high`, `low` and `close` the bars' (ATR reads
    /// them); writes each output port's column (in port order) into `out`.
    pub fn update_block(&mut self, x: &[f64], high: &[f64], low: &[f64], close: &[f64], out: &mut [Vec<f64>]) {
        let n = x.len();
        match self {
            Indicator::Sma(s) => out[0][..n].iter_mut().zip(x).for_each(|(o, &v)| *o = s.update(v)),
            Indicator::Ema(s) => out[0][..n].iter_mut().zip(x).for_each(|(o, &v)| *o = s.update(v)),
            Indicator::Rsi(s) => out[0][..n].iter_mut().zip(x).for_each(|(o, &v)| *o = s.update(v)),
            Indicator::Atr(s) => {
                for (j, o) in out[0][..n].iter_mut().enumerate() {
                    *o = s.update(high[j], low[j], close[j]);
                }
            }
            Indicator::Macd(s) => {
                for (j, &v) in x.iter().enumerate() {
                    let [a, b, c] = s.update(v);
                    (out[0][j], out[1][j], out[2][j]) = (a, b, c);
                }
            }
            Indicator::Bollinger(s) => {
                for (j, &v) in x.iter().enumerate() {
                    let [a, b, c] = s.update(v);
                    (out[0][j], out[1][j], out[2][j]) = (a, b, c);
                }
            }
        }
    }
}
