//! Progress while the audit runs: one redrawn line on a terminal (blocks,
//! transactions per second, ETA), a plain line every few seconds
//! otherwise.

use std::io::Write;
use std::time::{Duration, Instant};
use watt_runtime::types::Height;

/// How progress is shown.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mode {
    /// A line redrawn in place (stderr is a terminal).
    Terminal,
    /// Plain lines, every few seconds (logs, pipes).
    Lines,
    /// Nothing.
    Quiet,
}

impl Mode {
    /// `Terminal` if stderr is a terminal, else `Lines`.
    pub fn detect() -> Mode {
        if std::io::IsTerminal::is_terminal(&std::io::stderr()) {
            Mode::Terminal
        } else {
            Mode::Lines
        }
    }
}

/// The progress reporter.
pub struct Progress {
    mode: Mode,
    total: Option<u64>,
    start: Instant,
    last: Instant,
    blocks: u64,
    txs: u64,
    height: u64,
    fraction: Option<f64>,
}

impl Progress {
    /// Starts; `total` is the number of blocks expected, if known.
    pub fn new(mode: Mode, total: Option<u64>) -> Progress {
        let now = Instant::now();
        Progress {
            mode,
            total,
            start: now,
            last: now,
            blocks: 0,
            txs: 0,
            height: 0,
            fraction: None,
        }
    }

    /// Counts a verified block; `fraction` is the share of the source read,
    /// when the total is unknown.
    pub fn block(&mut self, height: Height, txs: u64, fraction: Option<f64>) {
        self.blocks += 1;
        self.txs += txs;
        self.height = height.0;
        self.fraction = fraction;
        let every = match self.mode {
            Mode::Terminal => Duration::from_millis(200),
            Mode::Lines => Duration::from_secs(5),
            Mode::Quiet => return,
        };
        if self.last.elapsed() >= every {
            self.last = Instant::now();
            self.print(false);
        }
    }

    fn line(&self) -> String {
        let secs = self.start.elapsed().as_secs_f64().max(1e-3);
        let done = match (self.total, self.fraction) {
            (Some(t), _) if t > 0 => Some(self.height as f64 / t as f64),
            (_, f) => f,
        };
        let eta = done
            .filter(|d| *d > 0.0)
            .map(|d| {
                let left = (secs / d - secs).max(0.0) as u64;
                format!(", ETA {}m{:02}s", left / 60, left % 60)
            })
            .unwrap_or_default();
        let of = self.total.map(|t| format!("/{t}")).unwrap_or_default();
        format!(
            "audit: height {}{of}, {:.0} blocks/s, {:.0} tx/s{eta}",
            self.height,
            self.blocks as f64 / secs,
            self.txs as f64 / secs
        )
    }

    fn print(&self, last: bool) {
        let mut err = std::io::stderr().lock();
        let _ = match self.mode {
            Mode::Terminal => write!(
                err,
                "\r\x1b[2K{}{}",
                self.line(),
                if last { "\n" } else { "" }
            ),
            Mode::Lines => writeln!(err, "{}", self.line()),
            Mode::Quiet => Ok(()),
        };
        let _ = err.flush();
    }

    /// The final line.
    pub fn done(&self) {
        self.print(true);
    }
}
