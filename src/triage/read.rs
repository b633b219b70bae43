//! Reading a log as lines without ever holding more than one (capped) line.
//!
//! Support bundles reach gigabytes and may hold a single line of hundreds
//! of megabytes (a base64 blob, a runaway debug dump). [`LineReader`] keeps
//! at most [`MAX_LINE_BYTES`] of each line and skips the rest, so memory
//! stays flat whatever the input. It must not interpret the lines.

use std::io::{self, BufRead};

use crate::classify::logline::MAX_LINE_BYTES;

/// Splits a byte stream into lines (on `\n`, dropping a `\r` before it, as
/// `str::lines` does), each cut to [`MAX_LINE_BYTES`].
#[derive(Debug)]
pub struct LineReader<R> {
    inner: R,
    /// Bytes of the inner buffer handed out as the last line, consumed on
    /// the next call.
    pending: usize,
    /// Where a line that spans buffer refills is assembled.
    line: Vec<u8>,
}

impl<R: BufRead> LineReader<R> {
    /// Reads lines from `inner`.
    pub fn new(inner: R) -> LineReader<R> {
        LineReader {
            inner,
            pending: 0,
            line: Vec::new(),
        }
    }

    /// The next line without its line ending, or `None` at the end of the
    /// input. A last line without a newline is still a line; an empty input
    /// has none.
    ///
    /// # Errors
    /// The underlying reader's errors (`Interrupted` is retried).
    pub fn next_line(&mut self) -> io::Result<Option<&[u8]>> {
        self.inner.consume(std::mem::take(&mut self.pending));
        // Most lines lie whole in the reader's buffer: hand out a slice of
        // it, copying nothing.
        let whole = {
            let buf = fill(&mut self.inner)?;
            if buf.is_empty() {
                return Ok(None);
            }
            memchr::memchr(b'\n', buf).filter(|end| *end <= MAX_LINE_BYTES)
        };
        if let Some(end) = whole {
            self.pending = end + 1;
            // The same bytes again: the buffer was not consumed.
            let buf = fill(&mut self.inner)?;
            return Ok(Some(without_cr(&buf[..end])));
        }
        self.next_line_copied()
    }

    /// The slow path: a line that crosses a buffer refill or is too long.
    fn next_line_copied(&mut self) -> io::Result<Option<&[u8]>> {
        self.line.clear();
        let mut seen_any = false;
        let mut complete = true;
        let mut newline = false;
        loop {
            let buf = fill(&mut self.inner)?;
            if buf.is_empty() {
                break;
            }
            seen_any = true;
            let (chunk, used, done) = match memchr::memchr(b'\n', buf) {
                Some(end) => (&buf[..end], end + 1, true),
                None => (buf, buf.len(), false),
            };
            let room = MAX_LINE_BYTES.saturating_sub(self.line.len());
            if chunk.len() > room {
                complete = false;
            }
            self.line.extend_from_slice(&chunk[..chunk.len().min(room)]);
            self.inner.consume(used);
            if done {
                newline = true;
                break;
            }
        }
        if !seen_any {
            return Ok(None);
        }
        if complete && newline && self.line.last() == Some(&b'\r') {
            self.line.pop();
        }
        Ok(Some(&self.line))
    }
}

/// A whole log file as text, read the way `dindcheck triage` reads it: line
/// by line with [`LineReader`] (each line cut to [`MAX_LINE_BYTES`]) and
/// decoded lossily (invalid UTF-8 becomes U+FFFD), so that `dindcheck run`
/// classifies the same characters triage does. Lines are joined by `\n`.
///
/// # Errors
/// The file's open and read errors.
pub fn read_lossy(path: &std::path::Path) -> io::Result<String> {
    let file = std::fs::File::open(path)?;
    let mut lines = LineReader::new(io::BufReader::new(file));
    let mut text = String::new();
    while let Some(bytes) = lines.next_line()? {
        text.push_str(&String::from_utf8_lossy(bytes));
        text.push('\n');
    }
    Ok(text)
}

/// `fill_buf`, retrying `Interrupted`.
fn fill<R: BufRead>(inner: &mut R) -> io::Result<&[u8]> {
    loop {
        match inner.fill_buf() {
            Ok(_) => break,
            Err(err) if err.kind() == io::ErrorKind::Interrupted => continue,
            Err(err) => return Err(err),
        }
    }
    inner.fill_buf()
}

/// A line ended by `\r\n` loses its `\r`, as `str::lines` does.
fn without_cr(line: &[u8]) -> &[u8] {
    line.strip_suffix(b"\r").unwrap_or(line)
}

#[cfg(test)]
mod tests {
    #[test]
    fn a_file_with_invalid_utf8_reads_lossily_line_by_line() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("dockerd.log");
        std::fs::write(
            &path,
            b"caf\xe9 ok\r\nfailed to start daemon: \xff\xfe bad\n",
        )
        .unwrap();
        let text = super::read_lossy(&path).unwrap();
        assert_eq!(
            text,
            "caf\u{fffd} ok\nfailed to start daemon: \u{fffd}\u{fffd} bad\n"
        );
        assert!(super::read_lossy(&dir.path().join("missing")).is_err());
    }

    use super::*;
    use proptest::prelude::*;
    use rstest::rstest;

    fn lines_of(input: &[u8], capacity: usize) -> Vec<Vec<u8>> {
        let mut reader = LineReader::new(io::BufReader::with_capacity(capacity, input));
        let mut out = Vec::new();
        while let Some(line) = reader.next_line().unwrap() {
            out.push(line.to_vec());
        }
        out
    }

    #[rstest]
    #[case::empty("", &[])]
    #[case::one_without_newline("a", &["a"])]
    #[case::one_with_newline("a\n", &["a"])]
    #[case::blank_lines("\n\nb\n", &["", "", "b"])]
    #[case::crlf("a\r\nb\r\n", &["a", "b"])]
    #[case::lone_cr_kept("a\rb\n", &["a\rb"])]
    #[case::trailing_cr_without_newline_kept("a\r", &["a\r"])]
    fn splits_like_str_lines(#[case] input: &str, #[case] expected: &[&str]) {
        for capacity in [1, 2, 7, 8192] {
            let got = lines_of(input.as_bytes(), capacity);
            let want: Vec<Vec<u8>> = expected.iter().map(|s| s.as_bytes().to_vec()).collect();
            assert_eq!(got, want, "capacity {capacity}");
            let std: Vec<&str> = input.lines().collect();
            assert_eq!(std, expected);
        }
    }

    #[test]
    fn long_lines_are_cut_and_the_next_line_survives() {
        let mut input = vec![b'x'; 3 * MAX_LINE_BYTES + 5];
        input.extend_from_slice(b"\r\nnext\n");
        let lines = lines_of(&input, 4096);
        assert_eq!(lines.len(), 2);
        assert_eq!(lines[0].len(), MAX_LINE_BYTES);
        assert_eq!(lines[1], b"next");
    }

    proptest! {
        #[test]
        fn never_panics_and_agrees_with_lines(
            bytes in proptest::collection::vec(prop_oneof![Just(b'\n'), Just(b'\r'), any::<u8>()], 0..400),
            capacity in 1usize..64,
        ) {
            let got = lines_of(&bytes, capacity);
            let text = String::from_utf8_lossy(&bytes);
            let want: Vec<String> = text.lines().map(str::to_owned).collect();
            let got: Vec<String> = got.iter().map(|l| String::from_utf8_lossy(l).into_owned()).collect();
            prop_assert_eq!(got, want);
        }
    }
}
