//! Terminal styles: plain by default, coloured when colour is on.
//!
//! Only the terminal table uses these; files never contain ANSI codes.

use owo_colors::Style;

use crate::report_format::Outcome;

/// The styles the terminal table uses.
#[derive(Debug, Clone, Copy, Default)]
pub struct Styles {
    /// Good outcomes.
    pub ok: Style,
    /// Failed outcomes.
    pub fail: Style,
    /// Timeouts and harness errors.
    pub warn: Style,
    /// Secondary text.
    pub dim: Style,
    /// Headers.
    pub bold: Style,
}

impl Styles {
    /// Turns colour on.
    pub fn colorize(&mut self) {
        self.ok = Style::new().green().bold();
        self.fail = Style::new().red().bold();
        self.warn = Style::new().yellow().bold();
        self.dim = Style::new().dimmed();
        self.bold = Style::new().bold();
    }

    /// The style for an outcome.
    pub fn outcome(&self, outcome: Outcome) -> Style {
        match outcome {
            Outcome::Timeout | Outcome::Error => self.warn,
            o if o.is_success() => self.ok,
            _ => self.fail,
        }
    }
}
