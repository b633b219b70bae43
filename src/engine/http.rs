//! Minimal HTTP/1.1 client over a unix socket: one request per connection, bounded in time and size.
//!
//! This module owns the wire format only: it writes one request with `Connection: close`, then parses
//! the status line, the headers and a body framed by `Content-Length`, by chunked transfer-encoding,
//! or by the end of the stream. Every read and write is bounded by the caller's deadline (through the
//! socket's `SO_RCVTIMEO`/`SO_SNDTIMEO`) and the body by [`MAX_BODY_BYTES`]. It knows nothing about
//! the Engine API: status codes are data here, and interpreting them is the job of `engine::api`.

use std::io::{self, BufRead, BufReader, Read, Write};
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// Largest response body accepted, so a misbehaving daemon cannot exhaust the agent's memory.
pub const MAX_BODY_BYTES: usize = 64 * 1024 * 1024;

/// Largest status line plus header section accepted (Go's `net/http` allows 1 MiB; dockerd sends far less).
const MAX_HEAD_BYTES: usize = 64 * 1024;

/// Largest chunk-size line (with its extensions) or trailer line accepted.
const MAX_LINE_BYTES: usize = 8 * 1024;

/// Initial body buffer, so a huge declared `Content-Length` does not allocate before data arrives.
const INITIAL_BODY_CAPACITY: usize = 64 * 1024;

/// Failure to complete one HTTP exchange over the engine socket.
#[derive(Debug, thiserror::Error)]
pub enum HttpError {
    /// The unix socket could not be connected (missing, refused, or a path over 108 bytes).
    #[error("failed to connect to {}", socket.display())]
    Connect {
        /// The socket path that was dialled.
        socket: PathBuf,
        /// The error returned by `connect(2)`.
        #[source]
        source: io::Error,
    },
    /// Reading or writing the socket failed for a reason other than the deadline.
    #[error("i/o error on the engine socket")]
    Io {
        /// The underlying error.
        #[source]
        source: io::Error,
    },
    /// The deadline passed before the response was complete.
    #[error("deadline passed before the http exchange completed")]
    Timeout,
    /// The peer sent something that is not a well-formed HTTP/1.x response.
    #[error("malformed http response: {what}")]
    Malformed {
        /// What was wrong, including the offending text where it is short.
        what: String,
    },
    /// The response body is larger than the accepted limit.
    #[error("http response body exceeds the {limit} byte limit")]
    TooLarge {
        /// The limit in bytes.
        limit: usize,
    },
    /// The caller passed a method, path or content type that cannot be sent safely.
    #[error("invalid http request: {what}")]
    InvalidRequest {
        /// Which part of the request is invalid.
        what: &'static str,
    },
}

/// A request body together with its media type.
#[derive(Debug, Clone, Copy)]
pub struct Body<'a> {
    /// Value of the `Content-Type` header, e.g. `application/json`.
    pub content_type: &'a str,
    /// The bytes to send; `Content-Length` is set from their length.
    pub data: &'a [u8],
}

/// A complete HTTP response.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Response {
    /// The three-digit status code.
    pub status: u16,
    /// Header fields in the order received, names as sent (compare them case-insensitively).
    pub headers: Vec<(String, String)>,
    /// The body with any transfer coding removed.
    pub body: Vec<u8>,
}

impl Response {
    #[cfg(test)]
    /// Returns the value of the first header named `name`, compared case-insensitively.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// Returns true for a 2xx status.
    pub fn is_success(&self) -> bool {
        (200..300).contains(&self.status)
    }
}

/// Sends one request to the HTTP server on the unix socket `socket` and reads the whole response.
///
/// `path` is the request target including any query string (e.g. `/containers/json?all=1`). The
/// connection is closed after the exchange. Every socket operation is bounded by `deadline`.
///
/// # Errors
///
/// [`HttpError::Connect`] when the socket cannot be dialled, [`HttpError::Timeout`] when `deadline`
/// passes first, [`HttpError::Malformed`] or [`HttpError::TooLarge`] for a bad response, and
/// [`HttpError::InvalidRequest`] when `method`, `path` or the content type contain characters that
/// would break the request framing.
pub fn request(
    socket: &Path,
    method: &str,
    path: &str,
    body: Option<Body<'_>>,
    deadline: Instant,
) -> Result<Response, HttpError> {
    request_with_headers(socket, method, path, &[], body, deadline)
}

/// [`request`] with extra header fields (name, value), e.g. `X-Registry-Auth`.
///
/// # Errors
///
/// As [`request`]; [`HttpError::InvalidRequest`] also when a header name or value contains
/// characters that would break the framing.
pub fn request_with_headers(
    socket: &Path,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: Option<Body<'_>>,
    deadline: Instant,
) -> Result<Response, HttpError> {
    let head = encode_head(method, path, headers, body.as_ref())?;
    if Instant::now() >= deadline {
        return Err(HttpError::Timeout);
    }
    // connect(2) on a unix stream socket does not wait for the server to accept; it only blocks
    // while the listen backlog is full, so it is not bounded separately.
    let stream = UnixStream::connect(socket).map_err(|source| HttpError::Connect {
        socket: socket.to_path_buf(),
        source,
    })?;
    let mut stream = DeadlineStream {
        inner: stream,
        deadline,
    };
    // The write side is deliberately not shut down after the request: Go's net/http server treats
    // EOF from the client as a closed connection and cancels the request context, which would abort
    // long-polling handlers such as `POST /containers/{id}/wait`.
    let written = write_request(&mut stream, &head, body.as_ref());
    let mut reader = BufReader::new(stream);
    let is_head = method == "HEAD";
    match (written, read_response(&mut reader, is_head, MAX_BODY_BYTES)) {
        // A server may answer (e.g. 400 or 413) and close before reading the whole request body;
        // the answer is more useful than the EPIPE that the write then gets.
        (_, Ok(response)) => Ok(response),
        (Err(error), Err(_)) => Err(map_io(error)),
        (Ok(()), Err(error)) => Err(error),
    }
}

fn write_request(
    stream: &mut DeadlineStream,
    head: &[u8],
    body: Option<&Body<'_>>,
) -> io::Result<()> {
    stream.write_all(head)?;
    if let Some(body) = body {
        stream.write_all(body.data)?;
    }
    stream.flush()
}

/// Builds the request line and header section, rejecting input that could split the framing.
fn encode_head(
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: Option<&Body<'_>>,
) -> Result<Vec<u8>, HttpError> {
    if method.is_empty() || !method.bytes().all(|b| b.is_ascii_uppercase()) {
        return Err(HttpError::InvalidRequest {
            what: "method must be non-empty uppercase ASCII letters",
        });
    }
    if !path.starts_with('/') || !path.bytes().all(|b| b.is_ascii_graphic()) {
        return Err(HttpError::InvalidRequest {
            what: "path must start with '/' and contain only visible ASCII characters",
        });
    }
    let mut head = format!(
        "{method} {path} HTTP/1.1\r\nHost: localhost\r\nUser-Agent: dindcheck\r\nConnection: close\r\n"
    );
    for (name, value) in headers {
        let token =
            !name.is_empty() && name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-');
        if !token || value.bytes().any(|b| b.is_ascii_control()) {
            return Err(HttpError::InvalidRequest {
                what: "header name or value contains characters that break the framing",
            });
        }
        head.push_str(&format!("{name}: {value}\r\n"));
    }
    match body {
        Some(body) => {
            if body.content_type.bytes().any(|b| b.is_ascii_control()) {
                return Err(HttpError::InvalidRequest {
                    what: "content type contains control characters",
                });
            }
            head.push_str(&format!(
                "Content-Type: {}\r\nContent-Length: {}\r\n",
                body.content_type,
                body.data.len()
            ));
        }
        // Go's server accepts a bodiless POST without it, but an explicit zero length is unambiguous.
        None if method != "GET" && method != "HEAD" => head.push_str("Content-Length: 0\r\n"),
        None => {}
    }
    head.push_str("\r\n");
    Ok(head.into_bytes())
}

/// A socket whose read and write timeouts are recomputed from a fixed deadline before every call.
struct DeadlineStream {
    inner: UnixStream,
    deadline: Instant,
}

impl DeadlineStream {
    fn remaining(&self) -> io::Result<Duration> {
        let left = self.deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            // A zero timeout would mean "block forever" to setsockopt and is rejected by std.
            Err(io::ErrorKind::TimedOut.into())
        } else {
            Ok(left)
        }
    }
}

impl Read for DeadlineStream {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.inner.set_read_timeout(Some(self.remaining()?))?;
        self.inner.read(buf)
    }
}

impl Write for DeadlineStream {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.inner.set_write_timeout(Some(self.remaining()?))?;
        self.inner.write(buf)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

/// Maps a socket error, turning an expired `SO_RCVTIMEO`/`SO_SNDTIMEO` (EAGAIN) into a timeout.
fn map_io(source: io::Error) -> HttpError {
    match source.kind() {
        io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut => HttpError::Timeout,
        _ => HttpError::Io { source },
    }
}

fn malformed(what: impl Into<String>) -> HttpError {
    HttpError::Malformed { what: what.into() }
}

/// Reads one complete response; `is_head` marks the answer to a HEAD request, which has no body.
pub(crate) fn read_response<R: BufRead>(
    reader: &mut R,
    is_head: bool,
    max_body: usize,
) -> Result<Response, HttpError> {
    loop {
        let (status, headers) = read_head(reader)?;
        // Interim 1xx responses precede the final one and never carry a body (RFC 9110 §15.2).
        if (100..200).contains(&status) {
            continue;
        }
        // 204 and 304 never carry a body whatever their headers say (RFC 9112 §6.3).
        let body = if is_head || status == 204 || status == 304 {
            Vec::new()
        } else {
            read_body(reader, &headers, max_body)?
        };
        return Ok(Response {
            status,
            headers,
            body,
        });
    }
}

type Head = (u16, Vec<(String, String)>);

fn read_head<R: BufRead>(reader: &mut R) -> Result<Head, HttpError> {
    let mut budget = MAX_HEAD_BYTES;
    let status_line = read_head_line(reader, &mut budget)?;
    let status = parse_status_line(&status_line)?;
    let mut headers = Vec::new();
    loop {
        let line = read_head_line(reader, &mut budget)?;
        if line.is_empty() {
            return Ok((status, headers));
        }
        if line.starts_with([' ', '\t']) {
            return Err(malformed("obsolete line folding in header section"));
        }
        let Some((name, value)) = line.split_once(':') else {
            return Err(malformed(format!("header line without a colon: {line:?}")));
        };
        if name.is_empty() || name.bytes().any(|b| !b.is_ascii_graphic()) {
            return Err(malformed(format!("invalid header name: {name:?}")));
        }
        headers.push((name.to_owned(), value.trim_matches([' ', '\t']).to_owned()));
    }
}

fn read_head_line<R: BufRead>(reader: &mut R, budget: &mut usize) -> Result<String, HttpError> {
    let line = read_line(reader, *budget, "header section")?;
    // The line terminator counts too; saturate rather than track it exactly.
    *budget = budget.saturating_sub(line.len() + 2);
    Ok(String::from_utf8_lossy(&line).into_owned())
}

/// Reads one line terminated by LF (optionally preceded by CR) and returns it without the terminator.
fn read_line<R: BufRead>(reader: &mut R, limit: usize, what: &str) -> Result<Vec<u8>, HttpError> {
    let mut line = Vec::new();
    let read = reader
        .by_ref()
        .take(limit as u64)
        .read_until(b'\n', &mut line)
        .map_err(map_io)?;
    if line.last() != Some(&b'\n') {
        return Err(if read >= limit {
            malformed(format!("{what} exceeds {limit} bytes"))
        } else {
            malformed(format!("connection closed inside the {what}"))
        });
    }
    line.pop();
    if line.last() == Some(&b'\r') {
        line.pop();
    }
    Ok(line)
}

fn parse_status_line(line: &str) -> Result<u16, HttpError> {
    let mut parts = line.splitn(3, ' ');
    let version = parts.next().unwrap_or_default();
    let code = parts.next().unwrap_or_default();
    if !matches!(version, "HTTP/1.0" | "HTTP/1.1")
        || code.len() != 3
        || !code.bytes().all(|b| b.is_ascii_digit())
    {
        return Err(malformed(format!("invalid status line: {line:?}")));
    }
    code.parse()
        .map_err(|_| malformed(format!("invalid status code: {code:?}")))
}

fn read_body<R: BufRead>(
    reader: &mut R,
    headers: &[(String, String)],
    max_body: usize,
) -> Result<Vec<u8>, HttpError> {
    let values = |name: &str| {
        headers
            .iter()
            .filter(|(n, _)| n.eq_ignore_ascii_case(name))
            .flat_map(|(_, v)| v.split(','))
            .map(|v| v.trim_matches([' ', '\t']))
            .filter(|v| !v.is_empty())
            .collect::<Vec<_>>()
    };
    // Transfer-Encoding wins over Content-Length; a response whose final coding is not chunked is
    // delimited by the connection closing (RFC 9112 §6.3, rules 3 and 8).
    let codings = values("transfer-encoding");
    if let Some(last) = codings.last() {
        return if last.eq_ignore_ascii_case("chunked") {
            read_chunked(reader, max_body)
        } else {
            read_to_eof(reader, max_body)
        };
    }
    let lengths = values("content-length");
    match lengths.first() {
        Some(first) => {
            if lengths.iter().any(|l| l != first) {
                return Err(malformed(format!(
                    "conflicting Content-Length values: {lengths:?}"
                )));
            }
            if !first.bytes().all(|b| b.is_ascii_digit()) {
                return Err(malformed(format!("invalid Content-Length: {first:?}")));
            }
            // An all-digit value that does not fit in usize is certainly over the limit.
            let length = first
                .parse::<usize>()
                .map_err(|_| HttpError::TooLarge { limit: max_body })?;
            read_exact_body(reader, length, max_body)
        }
        None => read_to_eof(reader, max_body),
    }
}

fn read_exact_body<R: BufRead>(
    reader: &mut R,
    length: usize,
    max_body: usize,
) -> Result<Vec<u8>, HttpError> {
    if length > max_body {
        return Err(HttpError::TooLarge { limit: max_body });
    }
    let mut body = Vec::with_capacity(length.min(INITIAL_BODY_CAPACITY));
    reader
        .by_ref()
        .take(length as u64)
        .read_to_end(&mut body)
        .map_err(map_io)?;
    if body.len() < length {
        return Err(malformed(format!(
            "body ended after {} of {length} bytes announced by Content-Length",
            body.len()
        )));
    }
    Ok(body)
}

fn read_to_eof<R: BufRead>(reader: &mut R, max_body: usize) -> Result<Vec<u8>, HttpError> {
    let mut body = Vec::new();
    reader
        .by_ref()
        .take(max_body as u64 + 1)
        .read_to_end(&mut body)
        .map_err(map_io)?;
    if body.len() > max_body {
        return Err(HttpError::TooLarge { limit: max_body });
    }
    Ok(body)
}

/// Decodes a chunked body (RFC 9112 §7.1): size lines with optional extensions, data, trailers.
fn read_chunked<R: BufRead>(reader: &mut R, max_body: usize) -> Result<Vec<u8>, HttpError> {
    let mut body = Vec::new();
    loop {
        let line = read_line(reader, MAX_LINE_BYTES, "chunk size line")?;
        let line = String::from_utf8_lossy(&line);
        // Extensions (";name=value") carry nothing we need; whitespace may precede the ';'.
        let size = line
            .split(';')
            .next()
            .unwrap_or_default()
            .trim_matches([' ', '\t']);
        if size.is_empty() || !size.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(malformed(format!("invalid chunk size line: {line:?}")));
        }
        let size =
            usize::from_str_radix(size, 16).map_err(|_| HttpError::TooLarge { limit: max_body })?;
        if size == 0 {
            break;
        }
        if body.len().saturating_add(size) > max_body {
            return Err(HttpError::TooLarge { limit: max_body });
        }
        let before = body.len();
        reader
            .by_ref()
            .take(size as u64)
            .read_to_end(&mut body)
            .map_err(map_io)?;
        if body.len() - before < size {
            return Err(malformed("connection closed inside a chunk"));
        }
        match read_line(reader, 2, "chunk terminator") {
            Ok(rest) if rest.is_empty() => {}
            Ok(_) | Err(HttpError::Malformed { .. }) => {
                return Err(malformed("chunk data not followed by CRLF"));
            }
            Err(error) => return Err(error),
        }
    }
    // Trailer fields are read and dropped; the section ends with an empty line.
    let mut budget = MAX_HEAD_BYTES;
    loop {
        let line = read_line(reader, budget.min(MAX_LINE_BYTES), "trailer section")?;
        if line.is_empty() {
            return Ok(body);
        }
        budget = budget.saturating_sub(line.len() + 2);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rstest::rstest;
    use std::io::BufRead;
    use std::os::unix::net::UnixListener;
    use std::thread;

    fn parse(raw: &[u8]) -> Result<Response, HttpError> {
        let mut reader = raw;
        read_response(&mut reader, false, 1024)
    }

    #[rstest]
    #[case::content_length(
        b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 2\r\n\r\nOK",
        200,
        b"OK"
    )]
    #[case::content_length_ignores_extra_bytes(
        b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nOKtrailing",
        200,
        b"OK"
    )]
    #[case::repeated_equal_content_length(
        b"HTTP/1.1 200 OK\r\nContent-Length: 2, 2\r\nContent-Length: 2\r\n\r\nOK",
        200,
        b"OK"
    )]
    #[case::chunked(
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n",
        200,
        b"hello world"
    )]
    #[case::chunked_with_extensions_and_trailers(
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5;name=value\r\nhello\r\nA ; x=\"y\"\r\n0123456789\r\n0;last\r\nX-Trailer: 1\r\n\r\n",
        200,
        b"hello0123456789"
    )]
    #[case::chunked_uppercase_and_bare_lf(
        b"HTTP/1.1 200 OK\nTRANSFER-ENCODING: Chunked\n\n3\nabc\n0\n\n",
        200,
        b"abc"
    )]
    #[case::chunked_wins_over_content_length(
        b"HTTP/1.1 200 OK\r\nContent-Length: 99\r\nTransfer-Encoding: chunked\r\n\r\n1\r\nx\r\n0\r\n\r\n",
        200,
        b"x"
    )]
    #[case::read_to_eof(b"HTTP/1.0 500 Internal Server Error\r\n\r\nboom\n", 500, b"boom\n")]
    #[case::no_content_has_no_body(b"HTTP/1.1 204 No Content\r\n\r\n", 204, b"")]
    #[case::interim_response_is_skipped(
        b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 201 Created\r\nContent-Length: 2\r\n\r\n{}",
        201,
        b"{}"
    )]
    #[case::status_without_reason(b"HTTP/1.1 404\r\nContent-Length: 0\r\n\r\n", 404, b"")]
    fn parses_valid_responses(#[case] raw: &[u8], #[case] status: u16, #[case] body: &[u8]) {
        let response = parse(raw).expect("valid response");
        assert_eq!(response.status, status);
        assert_eq!(response.body, body);
    }

    #[rstest]
    #[case::not_http(b"SSH-2.0-OpenSSH\r\n\r\n", "invalid status line")]
    #[case::http2(b"HTTP/2 200\r\n\r\n", "invalid status line")]
    #[case::bad_code(b"HTTP/1.1 2x0 OK\r\n\r\n", "invalid status line")]
    #[case::empty(b"", "connection closed inside the header section")]
    #[case::eof_in_headers(b"HTTP/1.1 200 OK\r\nContent-Len", "connection closed inside")]
    #[case::header_without_colon(b"HTTP/1.1 200 OK\r\nbogus\r\n\r\n", "without a colon")]
    #[case::space_in_header_name(b"HTTP/1.1 200 OK\r\nBad Name: x\r\n\r\n", "invalid header name")]
    #[case::folded_header(b"HTTP/1.1 200 OK\r\nA: b\r\n c\r\n\r\n", "obsolete line folding")]
    #[case::short_body(
        b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nab",
        "body ended after 2 of 5"
    )]
    #[case::conflicting_lengths(
        b"HTTP/1.1 200 OK\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\nab",
        "conflicting Content-Length"
    )]
    #[case::negative_length(
        b"HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n",
        "invalid Content-Length"
    )]
    #[case::bad_chunk_size(
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nab\r\n0\r\n\r\n",
        "invalid chunk size"
    )]
    #[case::empty_chunk_size(
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n;ext\r\n",
        "invalid chunk size"
    )]
    #[case::chunk_without_crlf(
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nabcd\r\n0\r\n\r\n",
        "not followed by CRLF"
    )]
    #[case::truncated_chunk(
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n9\r\nabc",
        "inside a chunk"
    )]
    #[case::missing_last_chunk(
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n1\r\na\r\n",
        "inside the chunk size line"
    )]
    #[case::missing_final_crlf(
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n",
        "inside the trailer section"
    )]
    fn rejects_malformed_responses(#[case] raw: &[u8], #[case] expected: &str) {
        match parse(raw) {
            Err(HttpError::Malformed { what }) => {
                assert!(
                    what.contains(expected),
                    "{what:?} should contain {expected:?}"
                );
            }
            other => panic!("expected Malformed containing {expected:?}, got {other:?}"),
        }
    }

    #[rstest]
    #[case::content_length(b"HTTP/1.1 200 OK\r\nContent-Length: 1025\r\n\r\n".to_vec())]
    #[case::huge_content_length(
        b"HTTP/1.1 200 OK\r\nContent-Length: 99999999999999999999999\r\n\r\n".to_vec()
    )]
    #[case::chunked(
        [b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n400\r\n".as_slice(), &[b'a'; 1024], b"\r\n1\r\nb\r\n0\r\n\r\n"].concat()
    )]
    #[case::huge_chunk(
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nffffffffffffffffffffff\r\n".to_vec()
    )]
    #[case::read_to_eof([b"HTTP/1.1 200 OK\r\n\r\n".as_slice(), &[b'a'; 1025]].concat())]
    fn rejects_oversized_bodies(#[case] raw: Vec<u8>) {
        assert!(matches!(
            parse(&raw),
            Err(HttpError::TooLarge { limit: 1024 })
        ));
    }

    #[test]
    fn oversized_header_section_is_rejected() {
        let raw = [
            b"HTTP/1.1 200 OK\r\nX: ".as_slice(),
            &vec![b'a'; MAX_HEAD_BYTES],
            b"\r\n\r\n",
        ]
        .concat();
        assert!(
            matches!(parse(&raw), Err(HttpError::Malformed { what }) if what.contains("exceeds"))
        );
    }

    #[test]
    fn head_response_has_no_body() {
        let mut reader: &[u8] = b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n";
        let response = read_response(&mut reader, true, 1024).expect("valid response");
        assert!(response.body.is_empty());
    }

    #[test]
    fn headers_are_kept_in_order_and_found_case_insensitively() {
        let response = parse(
            b"HTTP/1.1 200 OK\r\nApi-Version: 1.41\r\nDocker-Experimental:  false \r\nContent-Length: 0\r\n\r\n",
        )
        .expect("valid response");
        assert_eq!(response.header("api-version"), Some("1.41"));
        assert_eq!(response.header("DOCKER-EXPERIMENTAL"), Some("false"));
        assert_eq!(response.header("missing"), None);
        assert_eq!(response.headers[0].0, "Api-Version");
        assert!(response.is_success());
    }

    #[rstest]
    #[case::get(
        "GET",
        "/_ping",
        None,
        "GET /_ping HTTP/1.1\r\nHost: localhost\r\nUser-Agent: dindcheck\r\nConnection: close\r\n\r\n"
    )]
    #[case::post_without_body(
        "POST",
        "/containers/abc/start",
        None,
        "POST /containers/abc/start HTTP/1.1\r\nHost: localhost\r\nUser-Agent: dindcheck\r\nConnection: close\r\nContent-Length: 0\r\n\r\n"
    )]
    #[case::post_with_body("POST", "/containers/create", Some(Body { content_type: "application/json", data: b"{}" }), "POST /containers/create HTTP/1.1\r\nHost: localhost\r\nUser-Agent: dindcheck\r\nConnection: close\r\nContent-Type: application/json\r\nContent-Length: 2\r\n\r\n")]
    fn encodes_request_head(
        #[case] method: &str,
        #[case] path: &str,
        #[case] body: Option<Body<'static>>,
        #[case] expected: &str,
    ) {
        let head = encode_head(method, path, &[], body.as_ref()).expect("valid request");
        assert_eq!(String::from_utf8_lossy(&head), expected);
    }

    #[rstest]
    #[case::lowercase_method("get", "/", None)]
    #[case::relative_path("GET", "info", None)]
    #[case::space_in_path("GET", "/a b", None)]
    #[case::newline_in_path("GET", "/a\r\nX: y", None)]
    #[case::newline_in_content_type("POST", "/", Some(Body { content_type: "a\r\nX: y", data: b"" }))]
    fn rejects_unsafe_requests(
        #[case] method: &str,
        #[case] path: &str,
        #[case] body: Option<Body<'static>>,
    ) {
        assert!(matches!(
            encode_head(method, path, &[], body.as_ref()),
            Err(HttpError::InvalidRequest { .. })
        ));
    }

    /// Serves one connection on a fresh socket with `handler` and returns the socket path.
    fn serve_once(
        handler: impl FnOnce(UnixStream) + Send + 'static,
    ) -> (tempfile::TempDir, PathBuf, thread::JoinHandle<()>) {
        let dir = tempfile::tempdir().expect("temp dir");
        let socket = dir.path().join("d.sock");
        let listener = UnixListener::bind(&socket).expect("bind");
        let server = thread::spawn(move || {
            let (stream, _) = listener.accept().expect("accept");
            handler(stream);
        });
        (dir, socket, server)
    }

    fn read_request_head(reader: &mut impl BufRead) -> Vec<String> {
        let mut lines = Vec::new();
        loop {
            let mut line = String::new();
            reader.read_line(&mut line).expect("read request");
            let line = line.trim_end().to_owned();
            if line.is_empty() {
                return lines;
            }
            lines.push(line);
        }
    }

    #[test]
    fn round_trip_over_a_unix_socket() {
        let (_dir, socket, server) = serve_once(|mut stream| {
            let mut reader = BufReader::new(&stream);
            let head = read_request_head(&mut reader);
            assert_eq!(head[0], "POST /echo HTTP/1.1");
            assert!(head.contains(&"Connection: close".to_owned()));
            let mut body = [0u8; 5];
            reader.read_exact(&mut body).expect("read body");
            assert_eq!(&body, b"hello");
            stream
                .write_all(b"HTTP/1.1 201 Created\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n")
                .expect("write response");
        });
        let body = Body {
            content_type: "text/plain",
            data: b"hello",
        };
        let deadline = Instant::now() + Duration::from_secs(10);
        let response = request(&socket, "POST", "/echo", Some(body), deadline).expect("request");
        assert_eq!(response.status, 201);
        assert_eq!(response.body, b"hello");
        server.join().expect("server thread");
    }

    #[rstest]
    #[timeout(Duration::from_secs(60))]
    fn silent_server_times_out_at_the_deadline() {
        // The server never answers until the client has given up: a client
        // that ignored its deadline would wait here until the test's
        // #[timeout], so no wall-clock bound is needed.
        let (release, released) = std::sync::mpsc::channel::<()>();
        let (_dir, socket, server) = serve_once(move |stream| {
            let _ = read_request_head(&mut BufReader::new(&stream));
            let _ = released.recv();
        });
        let deadline = Instant::now() + Duration::from_millis(300);
        let result = request(&socket, "GET", "/_ping", None, deadline);
        assert!(matches!(result, Err(HttpError::Timeout)), "{result:?}");
        release.send(()).expect("server waits");
        server.join().expect("server thread");
    }

    #[test]
    fn missing_socket_is_a_connect_error() {
        let dir = tempfile::tempdir().expect("temp dir");
        let socket = dir.path().join("absent.sock");
        let deadline = Instant::now() + Duration::from_secs(1);
        match request(&socket, "GET", "/_ping", None, deadline) {
            Err(HttpError::Connect { socket: s, .. }) => assert_eq!(s, socket),
            other => panic!("expected Connect, got {other:?}"),
        }
    }

    #[test]
    fn past_deadline_fails_without_connecting() {
        let deadline = Instant::now();
        let result = request(
            Path::new("/nonexistent.sock"),
            "GET",
            "/_ping",
            None,
            deadline,
        );
        assert!(matches!(result, Err(HttpError::Timeout)));
    }
}
