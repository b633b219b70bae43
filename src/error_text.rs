//! An error and its chain of causes as text: one line for reports and
//! events, one line per cause for the terminal.
//!
//! Ground floor: every layer may call it; it knows no error type of ours.

/// An error and its causes on one line, `a: b: c`.
pub fn error_chain(err: &dyn std::error::Error) -> String {
    let mut text = err.to_string();
    let mut source = err.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

/// Prints `error: …` and one `caused by: …` line per source to stderr.
pub fn print_error_chain(err: &dyn std::error::Error) {
    eprintln!("error: {err}");
    let mut source = err.source();
    while let Some(cause) = source {
        eprintln!("caused by: {cause}");
        source = cause.source();
    }
}
