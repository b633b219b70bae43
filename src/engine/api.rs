//! The handful of Docker Engine API calls the in-sandbox agent needs to probe a dockerd.
//!
//! This module owns request paths, JSON bodies and the mapping of non-2xx answers to
//! [`ApiError::Status`], whose `message` is Docker's own error text kept verbatim because the
//! classifier reads it as evidence. It must not retry, sleep, classify, or pull images: readiness
//! polling belongs to `probe`, and images come from `engine::image` through [`EngineClient::load_image`].
//! Paths are unversioned, so the daemon serves its own (latest) API version.

use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};

use crate::report_format::DaemonInfo;

use super::http::{self, Body, HttpError, Response};

/// Failure of one Engine API call.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// The HTTP exchange itself failed (connect, timeout, malformed answer).
    #[error("{method} {path} failed")]
    Http {
        /// The request method.
        method: &'static str,
        /// The request path including the query string.
        path: String,
        /// What went wrong on the wire.
        #[source]
        source: HttpError,
    },
    /// The daemon answered with a non-2xx status.
    #[error("{method} {path} returned {status}: {message}")]
    Status {
        /// The request method.
        method: &'static str,
        /// The request path including the query string.
        path: String,
        /// The HTTP status code.
        status: u16,
        /// The `message` field of Docker's JSON error body, verbatim, or the raw body otherwise.
        message: String,
    },
    /// A 2xx answer whose JSON body could not be decoded.
    #[error("{method} {path} returned a body that is not the expected json")]
    Decode {
        /// The request method.
        method: &'static str,
        /// The request path including the query string.
        path: String,
        /// The JSON error.
        #[source]
        source: serde_json::Error,
    },
    /// `GET /_ping` answered 2xx but not with `200 OK`, so something other than dockerd is listening.
    #[error("GET /_ping answered {status} with body {body:?} instead of 200 \"OK\"")]
    UnexpectedPing {
        /// The HTTP status code.
        status: u16,
        /// The body, lossily decoded.
        body: String,
    },
    /// `POST /images/load` answered 200 but its JSON message stream reported an error.
    #[error("image load reported an error: {message}")]
    Load {
        /// The `errorDetail.message` (or `error`) field, verbatim.
        message: String,
    },
    /// A push, pull or build answered 200 but its JSON message stream reported an error.
    #[error("{what} reported an error: {message}")]
    Stream {
        /// `image push`, `image pull` or `build`.
        what: &'static str,
        /// The `errorDetail.message` (or `error`) field, verbatim.
        message: String,
    },
    /// The container was not on the network the probe asked for.
    #[error("container {id} has no address on network {network}")]
    NoAddress {
        /// The container ID.
        id: String,
        /// The network name.
        network: String,
    },
    /// `POST /containers/{id}/wait` answered 200 with a non-empty `Error.Message`.
    #[error("waiting for container {id} reported an error: {message}")]
    Wait {
        /// The container ID.
        id: String,
        /// The `Error.Message` field, verbatim.
        message: String,
    },
    /// `POST /containers/create` returned an ID that cannot be used in a request path.
    #[error("daemon returned an unusable container id {id:?}")]
    InvalidId {
        /// The ID as returned.
        id: String,
    },
}

impl ApiError {
    #[cfg(test)]
    /// Returns the daemon's own error text, when this error carries one, for use as evidence.
    pub fn daemon_message(&self) -> Option<&str> {
        match self {
            Self::Status { message, .. }
            | Self::Load { message }
            | Self::Stream { message, .. }
            | Self::Wait { message, .. } => Some(message),
            Self::Http { .. }
            | Self::Decode { .. }
            | Self::UnexpectedPing { .. }
            | Self::InvalidId { .. }
            | Self::NoAddress { .. } => None,
        }
    }
}

/// The result of running one container to completion.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
pub struct ContainerRun {
    /// The exit status reported by `POST /containers/{id}/wait`.
    pub exit_code: i64,
    /// Stdout and stderr interleaved as the daemon logged them, lossily decoded as UTF-8.
    pub output: String,
    /// Whether the container's stdout contains the expected text.
    pub output_matched: bool,
}

/// A synchronous Engine API client bound to one daemon socket.
///
/// Each call opens its own connection, so a client is cheap to clone and safe to share.
#[derive(Debug, Clone)]
pub struct EngineClient {
    socket: PathBuf,
    request_timeout: Duration,
    /// The start failures this client (and its clones) retried, as the daemon worded them.
    retried: Arc<Mutex<Vec<String>>>,
}

/// How the daemon words a start whose container's init process had already exited: containerd's
/// shim (`stoppedState.Start` in its process package) and runc's `start` command. Under gVisor
/// this happens by chance: runc 1.1 waits for the start in a blocking `open` of its exec FIFO,
/// which Linux restarts after a signal handled with `SA_RESTART` but gVisor fails with `EINTR`
/// (measured with runsc 20240729), and runc init exits on it.
const INIT_EXITED_BEFORE_START: [&str; 2] = [
    "cannot start a stopped process",
    "cannot start a container that has stopped",
];

/// Whether `error` is a start refused because the container's init process had already exited.
fn init_exited_before_start(error: &ApiError) -> bool {
    matches!(error, ApiError::Status { path, message, .. }
        if path.ends_with("/start")
            && INIT_EXITED_BEFORE_START.iter().any(|words| message.contains(words)))
}

/// A deadline far enough away to stand in for "no deadline" when a timeout overflows `Instant`.
const FAR_FUTURE: Duration = Duration::from_secs(365 * 24 * 60 * 60);

impl EngineClient {
    /// Creates a client for the daemon listening on `socket`; each request gets `request_timeout`.
    pub fn new(socket: impl Into<PathBuf>, request_timeout: Duration) -> Self {
        Self {
            socket: socket.into(),
            request_timeout,
            retried: Arc::default(),
        }
    }

    /// The container-start failures this client retried (see [`EngineClient::start_container`]),
    /// oldest first, each as `POST …/start returned 500: <the daemon's message>`.
    pub fn retried_failures(&self) -> Vec<String> {
        self.retried
            .lock()
            .map(|list| list.clone())
            .unwrap_or_default()
    }

    /// Checks that the daemon answers `GET /_ping` with `200 OK`. Makes one attempt; never retries.
    ///
    /// # Errors
    ///
    /// [`ApiError::Http`] when the socket is not there yet or the daemon does not answer in time,
    /// [`ApiError::Status`] for a non-2xx answer, and [`ApiError::UnexpectedPing`] for any other
    /// 2xx answer.
    pub fn ping(&self) -> Result<(), ApiError> {
        let response = self.call("GET", "/_ping", None, self.request_deadline())?;
        if response.status == 200 && response.body.trim_ascii() == b"OK" {
            Ok(())
        } else {
            Err(ApiError::UnexpectedPing {
                status: response.status,
                body: String::from_utf8_lossy(&response.body).into_owned(),
            })
        }
    }

    /// Fetches `GET /info` and extracts [`DaemonInfo`].
    ///
    /// # Errors
    ///
    /// [`ApiError::Http`], [`ApiError::Status`], or [`ApiError::Decode`] when the body is not JSON.
    pub fn info(&self) -> Result<DaemonInfo, ApiError> {
        let path = "/info";
        let response = self.call("GET", path, None, self.request_deadline())?;
        decode("GET", path, &response.body)
    }

    /// Loads a `docker save` tarball with `POST /images/load`, without any registry access.
    ///
    /// # Errors
    ///
    /// [`ApiError::Status`] when the daemon rejects the request, and [`ApiError::Load`] when it
    /// answers 200 but reports an error in the JSON message stream (dockerd has already sent the
    /// status line when the tarball turns out to be bad, so this is the usual failure).
    pub fn load_image(&self, tar: &[u8]) -> Result<(), ApiError> {
        let path = "/images/load?quiet=1";
        let body = Body {
            content_type: "application/x-tar",
            data: tar,
        };
        let response = self.call("POST", path, Some(body), self.request_deadline())?;
        match stream_error(&response.body) {
            Ok(None) => Ok(()),
            Ok(Some(message)) => Err(ApiError::Load { message }),
            Err(source) => Err(ApiError::Decode {
                method: "POST",
                path: path.to_owned(),
                source,
            }),
        }
    }

    /// Runs `cmd` in a new container from `image` with networking disabled and waits for it to exit.
    ///
    /// The container is created (`NetworkMode: none`), started, waited for, and its logs are read;
    /// it is then force-removed on every path, including errors and panics. Each request is bounded
    /// by `deadline` and by the per-request timeout, except the wait (bounded by `deadline` only) and
    /// the removal (which gets its own request timeout, so the call may return up to one request
    /// timeout after `deadline`). `output_matched` is true when the container's stdout (or the whole
    /// log, for a TTY container whose log is not multiplexed) contains `expect_stdout`.
    ///
    /// # Errors
    ///
    /// [`ApiError::Status`] carries the daemon's message verbatim; a runtime failure shows up here,
    /// typically from the start call as `OCI runtime create failed: ...`. [`ApiError::Http`] with
    /// [`HttpError::Timeout`] means the deadline passed. [`ApiError::Wait`] and
    /// [`ApiError::InvalidId`] cover the rarer failures documented on those variants.
    pub fn run_container(
        &self,
        image: &str,
        cmd: &[String],
        expect_stdout: &str,
        deadline: Instant,
    ) -> Result<ContainerRun, ApiError> {
        self.run_container_on("none", image, cmd, expect_stdout, deadline)
    }

    /// [`EngineClient::run_container`] on the network `network` (`none`, `bridge`, `host`).
    ///
    /// # Errors
    ///
    /// As [`EngineClient::run_container`].
    pub fn run_container_on(
        &self,
        network: &str,
        image: &str,
        cmd: &[String],
        expect_stdout: &str,
        deadline: Instant,
    ) -> Result<ContainerRun, ApiError> {
        let container = self.start_container(
            &ContainerSpec {
                image,
                cmd,
                network,
                publish: None,
            },
            deadline,
        )?;
        let id = container.id.as_str();

        let path = format!("/containers/{id}/wait");
        let response = self.call("POST", &path, None, deadline)?;
        let waited: WaitResponse = decode("POST", &path, &response.body)?;
        if let Some(message) = waited.error.map(|e| e.message).filter(|m| !m.is_empty()) {
            return Err(ApiError::Wait {
                id: id.to_owned(),
                message,
            });
        }

        let response = self.call(
            "GET",
            &format!("/containers/{id}/logs?stdout=1&stderr=1"),
            None,
            self.step_deadline(deadline),
        )?;
        let logs = demux_logs(&response.body);
        drop(container);

        let stdout = String::from_utf8_lossy(&logs.stdout);
        Ok(ContainerRun {
            exit_code: waited.status_code,
            output: String::from_utf8_lossy(&logs.combined).into_owned(),
            output_matched: stdout.contains(expect_stdout),
        })
    }

    /// Creates and starts a container that keeps running; it is force-removed when the returned
    /// guard is dropped.
    ///
    /// A start refused because the container's init process had already exited is retried once
    /// with a new container, and the first refusal is kept for [`EngineClient::retried_failures`]:
    /// under gVisor that happens by chance (see `INIT_EXITED_BEFORE_START`). A cause that is not
    /// chance fails the second start too, and that is the error returned.
    ///
    /// # Errors
    ///
    /// [`ApiError::Status`] from create or start (a runtime or network failure is reported by the
    /// start call), [`ApiError::InvalidId`], and [`ApiError::Http`] past `deadline`.
    pub fn start_container(
        &self,
        spec: &ContainerSpec<'_>,
        deadline: Instant,
    ) -> Result<RunningContainer<'_>, ApiError> {
        match self.create_and_start(spec, deadline) {
            Err(error) if init_exited_before_start(&error) => {
                if let Ok(mut list) = self.retried.lock() {
                    list.push(error.to_string());
                }
                self.create_and_start(spec, deadline)
            }
            result => result,
        }
    }

    /// One create and start of `spec`'s container; the container is removed if the start fails.
    fn create_and_start(
        &self,
        spec: &ContainerSpec<'_>,
        deadline: Instant,
    ) -> Result<RunningContainer<'_>, ApiError> {
        let mut host_config = serde_json::json!({
            "NetworkMode": spec.network,
            "AutoRemove": false,
        });
        let mut create = serde_json::json!({
            "Image": spec.image,
            "Cmd": spec.cmd,
        });
        if let Some(port) = spec.publish {
            let key = format!("{port}/tcp");
            host_config["PortBindings"] =
                serde_json::json!({ key.clone(): [{ "HostIp": "127.0.0.1", "HostPort": "" }] });
            create["ExposedPorts"] = serde_json::json!({ key: {} });
        }
        create["HostConfig"] = host_config;
        let create = create.to_string();
        let path = "/containers/create";
        let body = Body {
            content_type: "application/json",
            data: create.as_bytes(),
        };
        let response = self.call("POST", path, Some(body), self.step_deadline(deadline))?;
        let created: CreateResponse = decode("POST", path, &response.body)?;
        if created.id.is_empty() || !created.id.bytes().all(|b| b.is_ascii_alphanumeric()) {
            return Err(ApiError::InvalidId { id: created.id });
        }
        let container = RunningContainer {
            client: self,
            id: created.id,
        };
        self.call(
            "POST",
            &format!("/containers/{}/start", container.id),
            None,
            self.step_deadline(deadline),
        )?;
        Ok(container)
    }

    /// Where a running container is on `network`: its address, the network's gateway, and the
    /// host port published for its first exposed port, from `GET /containers/{id}/json`.
    ///
    /// # Errors
    ///
    /// [`ApiError::NoAddress`] when the container has no address there, and the errors of
    /// [`EngineClient::info`].
    pub fn container_address(
        &self,
        id: &str,
        network: &str,
        deadline: Instant,
    ) -> Result<ContainerAddress, ApiError> {
        let path = format!("/containers/{id}/json");
        let response = self.call("GET", &path, None, self.step_deadline(deadline))?;
        let inspect: serde_json::Value = decode("GET", &path, &response.body)?;
        let settings = &inspect["NetworkSettings"];
        let endpoint = &settings["Networks"][network];
        let text = |v: &serde_json::Value| v.as_str().filter(|s| !s.is_empty()).map(str::to_owned);
        let (Some(ip), Some(gateway)) = (text(&endpoint["IPAddress"]), text(&endpoint["Gateway"]))
        else {
            return Err(ApiError::NoAddress {
                id: id.to_owned(),
                network: network.to_owned(),
            });
        };
        let host_port = settings["Ports"]
            .as_object()
            .and_then(|ports| ports.values().find_map(|b| b.as_array()?.first().cloned()))
            .and_then(|binding| binding["HostPort"].as_str()?.parse().ok());
        Ok(ContainerAddress {
            ip,
            gateway,
            host_port,
        })
    }

    /// Tags `image` as `repo:tag` (`POST /images/{image}/tag`).
    ///
    /// # Errors
    ///
    /// [`ApiError::Status`] and [`ApiError::Http`].
    pub fn tag_image(&self, image: &str, repo: &str, tag: &str) -> Result<(), ApiError> {
        let path = format!("/images/{image}/tag?repo={repo}&tag={tag}");
        self.call("POST", &path, None, self.request_deadline())?;
        Ok(())
    }

    /// Removes an image reference (`DELETE /images/{image}?force=1`).
    ///
    /// # Errors
    ///
    /// [`ApiError::Status`] and [`ApiError::Http`].
    pub fn remove_image(&self, image: &str) -> Result<(), ApiError> {
        let path = format!("/images/{image}?force=1");
        self.call("DELETE", &path, None, self.request_deadline())?;
        Ok(())
    }

    /// Pushes `name:tag` to the registry its name points at (`POST /images/{name}/push`), with
    /// empty credentials.
    ///
    /// # Errors
    ///
    /// [`ApiError::Stream`] when the progress stream reports an error (the usual failure), and
    /// the errors of [`EngineClient::info`].
    pub fn push_image(&self, name: &str, tag: &str, deadline: Instant) -> Result<(), ApiError> {
        let path = format!("/images/{name}/push?tag={tag}");
        self.streaming("POST", &path, None, "image push", deadline)
    }

    /// Pulls `name:tag` (`POST /images/create?fromImage=…`), with empty credentials.
    ///
    /// # Errors
    ///
    /// As [`EngineClient::push_image`].
    pub fn pull_image(&self, name: &str, tag: &str, deadline: Instant) -> Result<(), ApiError> {
        let path = format!("/images/create?fromImage={name}&tag={tag}");
        self.streaming("POST", &path, None, "image pull", deadline)
    }

    /// Builds the tar `context` (with its `Dockerfile`) into the image `tag` (`POST /build`),
    /// with networking off for its RUN steps.
    ///
    /// # Errors
    ///
    /// As [`EngineClient::push_image`].
    pub fn build_image(
        &self,
        context: &[u8],
        tag: &str,
        deadline: Instant,
    ) -> Result<(), ApiError> {
        let path = format!("/build?t={tag}&networkmode=none&rm=1&forcerm=1");
        let body = Body {
            content_type: "application/x-tar",
            data: context,
        };
        self.streaming("POST", &path, Some(body), "build", deadline)
    }

    /// A request whose 200 answer is a JSON progress stream that may report an error.
    fn streaming(
        &self,
        method: &'static str,
        path: &str,
        body: Option<Body<'_>>,
        what: &'static str,
        deadline: Instant,
    ) -> Result<(), ApiError> {
        // "{}": empty credentials; dockerd 20.10 refuses a push without the header.
        let headers = [("X-Registry-Auth", "e30=")];
        let response = self.call_with_headers(method, path, &headers, body, deadline)?;
        match stream_error(&response.body) {
            Ok(None) => Ok(()),
            Ok(Some(message)) => Err(ApiError::Stream { what, message }),
            Err(source) => Err(ApiError::Decode {
                method,
                path: path.to_owned(),
                source,
            }),
        }
    }

    /// Sends one request and turns a non-2xx answer into [`ApiError::Status`].
    fn call(
        &self,
        method: &'static str,
        path: &str,
        body: Option<Body<'_>>,
        deadline: Instant,
    ) -> Result<Response, ApiError> {
        self.call_with_headers(method, path, &[], body, deadline)
    }

    /// [`EngineClient::call`] with extra header fields.
    fn call_with_headers(
        &self,
        method: &'static str,
        path: &str,
        headers: &[(&str, &str)],
        body: Option<Body<'_>>,
        deadline: Instant,
    ) -> Result<Response, ApiError> {
        let sent = if headers.is_empty() {
            http::request(&self.socket, method, path, body, deadline)
        } else {
            http::request_with_headers(&self.socket, method, path, headers, body, deadline)
        };
        let response = sent.map_err(|source| ApiError::Http {
            method,
            path: path.to_owned(),
            source,
        })?;
        if response.is_success() {
            Ok(response)
        } else {
            Err(ApiError::Status {
                method,
                path: path.to_owned(),
                status: response.status,
                message: error_message(&response.body),
            })
        }
    }

    fn request_deadline(&self) -> Instant {
        let now = Instant::now();
        now.checked_add(self.request_timeout)
            .or_else(|| now.checked_add(FAR_FUTURE))
            .unwrap_or(now)
    }

    fn step_deadline(&self, deadline: Instant) -> Instant {
        self.request_deadline().min(deadline)
    }
}

/// What [`EngineClient::start_container`] starts.
#[derive(Debug, Clone, Copy)]
pub struct ContainerSpec<'a> {
    /// The image reference.
    pub image: &'a str,
    /// The command.
    pub cmd: &'a [String],
    /// `none`, `bridge` or `host`.
    pub network: &'a str,
    /// A container TCP port to publish on 127.0.0.1 (any free host port).
    pub publish: Option<u16>,
}

/// A container's place on a network.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ContainerAddress {
    /// Its IPv4 address.
    pub ip: String,
    /// The network's gateway (the bridge's address).
    pub gateway: String,
    /// The host port its exposed port is published on, when it is.
    pub host_port: Option<u16>,
}

/// A started container, force-removed when dropped, so cleanup does not depend on the happy path.
#[derive(Debug)]
pub struct RunningContainer<'a> {
    client: &'a EngineClient,
    id: String,
}

impl RunningContainer<'_> {
    /// The container ID.
    pub fn id(&self) -> &str {
        &self.id
    }
}

impl Drop for RunningContainer<'_> {
    fn drop(&mut self) {
        // Best effort: the in-sandbox daemon is torn down after the probe anyway, and a failed
        // removal must not mask the result (or the error) that the caller is about to get.
        let path = format!("/containers/{}?force=1", self.id);
        let _ = self
            .client
            .call("DELETE", &path, None, self.client.request_deadline());
    }
}

#[derive(Deserialize)]
struct CreateResponse {
    #[serde(rename = "Id")]
    id: String,
}

#[derive(Deserialize)]
struct WaitResponse {
    #[serde(rename = "StatusCode")]
    status_code: i64,
    #[serde(rename = "Error", default)]
    error: Option<WaitError>,
}

#[derive(Deserialize)]
struct WaitError {
    #[serde(rename = "Message", default)]
    message: String,
}

#[derive(Deserialize)]
struct ErrorBody {
    message: String,
}

fn decode<T: for<'de> Deserialize<'de>>(
    method: &'static str,
    path: &str,
    body: &[u8],
) -> Result<T, ApiError> {
    serde_json::from_slice(body).map_err(|source| ApiError::Decode {
        method,
        path: path.to_owned(),
        source,
    })
}

/// Extracts Docker's error text: the `message` field of `{"message": "..."}`, else the raw body.
///
/// Only trailing whitespace is trimmed from a raw body; the text is otherwise kept verbatim because
/// the classifier matches signatures against it.
fn error_message(body: &[u8]) -> String {
    match serde_json::from_slice::<ErrorBody>(body) {
        Ok(error) => error.message,
        Err(_) => String::from_utf8_lossy(body).trim_end().to_owned(),
    }
}

#[derive(Deserialize)]
struct StreamMessage {
    #[serde(default)]
    error: Option<String>,
    #[serde(rename = "errorDetail", default)]
    error_detail: Option<ErrorDetail>,
}

#[derive(Deserialize)]
struct ErrorDetail {
    #[serde(default)]
    message: Option<String>,
}

/// Scans a JSON message stream (one object per line) and returns the first error it reports.
fn stream_error(body: &[u8]) -> Result<Option<String>, serde_json::Error> {
    for message in serde_json::Deserializer::from_slice(body).into_iter::<StreamMessage>() {
        let message = message?;
        let detail = message.error_detail.and_then(|d| d.message);
        if let Some(text) = detail.or(message.error).filter(|t| !t.is_empty()) {
            return Ok(Some(text));
        }
    }
    Ok(None)
}

/// A container log split by stream.
#[derive(Debug, Default, PartialEq, Eq)]
pub(crate) struct LogStreams {
    /// Stdout payload (stdin frames, which dockerd does not log, are counted here too).
    pub(crate) stdout: Vec<u8>,
    /// Stderr payload.
    pub(crate) stderr: Vec<u8>,
    /// Both streams in the order logged.
    pub(crate) combined: Vec<u8>,
}

/// Decodes the multiplexed log stream of a non-TTY container, or returns the bytes as stdout.
///
/// Each frame is an 8-byte header `[stream, 0, 0, 0, size (u32 big endian)]` followed by `size`
/// bytes, stream 1 being stdout and 2 stderr (see the Engine API docs for `ContainerAttach`). A TTY
/// container's log is not framed; any input that is not a sequence of whole frames is treated as raw.
pub(crate) fn demux_logs(raw: &[u8]) -> LogStreams {
    demux_frames(raw).unwrap_or_else(|| LogStreams {
        stdout: raw.to_vec(),
        stderr: Vec::new(),
        combined: raw.to_vec(),
    })
}

fn demux_frames(raw: &[u8]) -> Option<LogStreams> {
    let mut streams = LogStreams::default();
    let mut rest = raw;
    while !rest.is_empty() {
        let (header, tail) = rest.split_first_chunk::<8>()?;
        let [stream, 0, 0, 0, s0, s1, s2, s3] = *header else {
            return None;
        };
        let size = usize::try_from(u32::from_be_bytes([s0, s1, s2, s3])).ok()?;
        if tail.len() < size {
            return None;
        }
        let (payload, next) = tail.split_at(size);
        match stream {
            0 | 1 => streams.stdout.extend_from_slice(payload),
            2 => streams.stderr.extend_from_slice(payload),
            _ => return None,
        }
        streams.combined.extend_from_slice(payload);
        rest = next;
    }
    Some(streams)
}

#[cfg(test)]
mod tests {
    use super::*;
    use rstest::rstest;
    use std::io::{BufRead, BufReader, Read, Write};
    use std::os::unix::net::{UnixListener, UnixStream};
    use std::thread;

    fn frame(stream: u8, payload: &[u8]) -> Vec<u8> {
        let size = u32::try_from(payload.len()).expect("small payload");
        [&[stream, 0, 0, 0][..], &size.to_be_bytes(), payload].concat()
    }

    #[test]
    fn demuxes_interleaved_frames() {
        let raw = [
            frame(1, b"out1\n"),
            frame(2, b"err1\n"),
            frame(1, b""),
            frame(1, b"out2\n"),
        ]
        .concat();
        let logs = demux_logs(&raw);
        assert_eq!(logs.stdout, b"out1\nout2\n");
        assert_eq!(logs.stderr, b"err1\n");
        assert_eq!(logs.combined, b"out1\nerr1\nout2\n");
    }

    #[rstest]
    #[case::tty_text(b"dindcheck-probe-ok\n".to_vec())]
    #[case::bad_stream_byte([&[3u8, 0, 0, 0, 0, 0, 0, 1][..], b"x"].concat())]
    #[case::nonzero_padding([&[1u8, 0, 1, 0, 0, 0, 0, 1][..], b"x"].concat())]
    #[case::truncated_payload([frame(1, b"ok"), vec![1, 0, 0, 0, 0, 0, 0, 9, b'x']].concat())]
    #[case::truncated_header([frame(1, b"ok"), vec![1, 0, 0]].concat())]
    fn falls_back_to_raw(#[case] raw: Vec<u8>) {
        let logs = demux_logs(&raw);
        assert_eq!(logs.stdout, raw);
        assert_eq!(logs.combined, raw);
        assert!(logs.stderr.is_empty());
    }

    #[test]
    fn empty_log_is_empty() {
        assert_eq!(demux_logs(b""), LogStreams::default());
    }

    #[rstest]
    #[case::docker_json(
        b"{\"message\":\"OCI runtime create failed: runc create failed: unable to start container process: exec: \\\"nope\\\": executable file not found in $PATH: unknown\"}\n",
        "OCI runtime create failed: runc create failed: unable to start container process: exec: \"nope\": executable file not found in $PATH: unknown"
    )]
    #[case::raw_text(b"404 page not found\n", "404 page not found")]
    #[case::json_without_message(b"{\"error\":\"x\"}", "{\"error\":\"x\"}")]
    fn extracts_error_message(#[case] body: &[u8], #[case] expected: &str) {
        assert_eq!(error_message(body), expected);
    }

    #[rstest]
    #[case::success(b"{\"stream\":\"Loaded image: dindcheck/busybox:probe\\n\"}\n", None)]
    #[case::empty(b"", None)]
    #[case::error_detail(
        b"{\"stream\":\"x\"}\r\n{\"errorDetail\":{\"message\":\"open /var/lib/docker/tmp/x: no such file\"},\"error\":\"short\"}\n",
        Some("open /var/lib/docker/tmp/x: no such file")
    )]
    #[case::error_only(b"{\"error\":\"unexpected EOF\"}", Some("unexpected EOF"))]
    fn scans_message_stream(#[case] body: &[u8], #[case] expected: Option<&str>) {
        let found = stream_error(body).expect("valid stream");
        assert_eq!(found.as_deref(), expected);
    }

    #[test]
    fn invalid_message_stream_is_a_decode_error() {
        assert!(stream_error(b"{\"stream\":").is_err());
    }

    #[test]
    fn daemon_info_decodes_docker_json_with_nulls() {
        let body = br#"{"ID":"x","ServerVersion":"20.10.24+dfsg1","CgroupDriver":"cgroupfs",
            "CgroupVersion":"2","Driver":"vfs","SecurityOptions":["name=seccomp,profile=default"],
            "Warnings":null,"Containers":0}"#;
        let info: DaemonInfo = serde_json::from_slice(body).expect("valid info");
        assert_eq!(
            info,
            DaemonInfo {
                server_version: Some("20.10.24+dfsg1".to_owned()),
                cgroup_driver: Some("cgroupfs".to_owned()),
                cgroup_version: Some("2".to_owned()),
                storage_driver: Some("vfs".to_owned()),
                security_options: vec!["name=seccomp,profile=default".to_owned()],
                warnings: Vec::new(),
            }
        );
        let round_trip: DaemonInfo =
            serde_json::from_str(&serde_json::to_string(&info).expect("serialize"))
                .expect("deserialize");
        assert_eq!(round_trip, info);
        let empty: DaemonInfo = serde_json::from_slice(b"{}").expect("empty info");
        assert_eq!(empty, DaemonInfo::default());
    }

    #[test]
    fn status_error_exposes_the_daemon_message() {
        let error = ApiError::Status {
            method: "POST",
            path: "/containers/abc/start".to_owned(),
            status: 500,
            message: "OCI runtime create failed: boom".to_owned(),
        };
        assert_eq!(
            error.daemon_message(),
            Some("OCI runtime create failed: boom")
        );
        assert_eq!(
            error.to_string(),
            "POST /containers/abc/start returned 500: OCI runtime create failed: boom"
        );
    }

    /// Formats a complete response with a Content-Length body.
    fn reply(status: &str, body: &[u8]) -> Vec<u8> {
        [
            format!(
                "HTTP/1.1 {status}\r\nContent-Length: {}\r\n\r\n",
                body.len()
            )
            .as_bytes(),
            body,
        ]
        .concat()
    }

    /// A scripted fake daemon: answers each accepted connection with the next canned response and
    /// records the request lines it saw.
    fn fake_daemon(
        responses: Vec<Vec<u8>>,
    ) -> (
        tempfile::TempDir,
        EngineClient,
        Arc<Mutex<Vec<String>>>,
        thread::JoinHandle<()>,
    ) {
        let dir = tempfile::tempdir().expect("temp dir");
        let socket = dir.path().join("d.sock");
        let listener = UnixListener::bind(&socket).expect("bind");
        let seen = Arc::new(Mutex::new(Vec::new()));
        let log = Arc::clone(&seen);
        let server = thread::spawn(move || {
            for response in responses {
                let (stream, _) = listener.accept().expect("accept");
                let request_line = read_request(&stream);
                log.lock().expect("lock").push(request_line);
                (&stream).write_all(&response).expect("write");
            }
        });
        let client = EngineClient::new(socket, Duration::from_secs(5));
        (dir, client, seen, server)
    }

    /// Reads one request (head and Content-Length body) and returns its request line.
    fn read_request(stream: &UnixStream) -> String {
        let mut reader = BufReader::new(stream);
        let mut request_line = String::new();
        reader.read_line(&mut request_line).expect("read");
        let mut length = 0;
        loop {
            let mut line = String::new();
            reader.read_line(&mut line).expect("read");
            let line = line.trim_end();
            if line.is_empty() {
                break;
            }
            if let Some(value) = line.strip_prefix("Content-Length: ") {
                length = value.parse().expect("length");
            }
        }
        let mut body = vec![0; length];
        reader.read_exact(&mut body).expect("body");
        request_line.trim_end().to_owned()
    }

    #[test]
    fn run_container_drives_the_full_sequence() {
        let logs = [frame(1, b"dindcheck-probe-ok\n"), frame(2, b"warn\n")].concat();
        let (_dir, client, seen, server) = fake_daemon(vec![
            reply("201 Created", br#"{"Id":"abc123","Warnings":[]}"#),
            reply("204 No Content", b""),
            b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n1d\r\n{\"Error\":null,\"StatusCode\":0}\r\n0\r\n\r\n".to_vec(),
            reply("200 OK", &logs),
            reply("204 No Content", b""),
        ]);
        let run = client
            .run_container(
                "dindcheck/busybox:probe",
                &["/bin/busybox".to_owned(), "echo".to_owned()],
                "dindcheck-probe-ok",
                Instant::now() + Duration::from_secs(10),
            )
            .expect("run");
        server.join().expect("server");
        assert_eq!(
            run,
            ContainerRun {
                exit_code: 0,
                output: "dindcheck-probe-ok\nwarn\n".to_owned(),
                output_matched: true,
            }
        );
        assert_eq!(
            *seen.lock().expect("lock"),
            [
                "POST /containers/create HTTP/1.1",
                "POST /containers/abc123/start HTTP/1.1",
                "POST /containers/abc123/wait HTTP/1.1",
                "GET /containers/abc123/logs?stdout=1&stderr=1 HTTP/1.1",
                "DELETE /containers/abc123?force=1 HTTP/1.1",
            ]
        );
    }

    #[test]
    fn failed_start_keeps_the_message_and_still_removes_the_container() {
        let (_dir, client, seen, server) = fake_daemon(vec![
            reply("201 Created", br#"{"Id":"f0"}"#),
            reply(
                "500 Internal Server Error",
                b"{\"message\":\"OCI runtime create failed: boom\"}\n",
            ),
            reply("204 No Content", b""),
        ]);
        let error = client
            .run_container(
                "img:tag",
                &[],
                "x",
                Instant::now() + Duration::from_secs(10),
            )
            .expect_err("start fails");
        server.join().expect("server");
        match error {
            ApiError::Status {
                method,
                path,
                status,
                message,
            } => {
                assert_eq!(
                    (method, path.as_str(), status),
                    ("POST", "/containers/f0/start", 500)
                );
                assert_eq!(message, "OCI runtime create failed: boom");
            }
            other => panic!("expected Status, got {other:?}"),
        }
        assert_eq!(
            seen.lock().expect("lock").last().map(String::as_str),
            Some("DELETE /containers/f0?force=1 HTTP/1.1")
        );
    }

    /// A container on no network, as the retry tests start it.
    const PLAIN: ContainerSpec<'static> = ContainerSpec {
        image: "img:tag",
        cmd: &[],
        network: "none",
        publish: None,
    };

    /// The daemon's answer to a start whose container's init process had already exited.
    const INIT_GONE: &[u8] = b"{\"message\":\"cannot start a stopped process: unknown\"}\n";

    #[test]
    fn a_start_refused_because_init_exited_is_retried_once_and_kept() {
        let (_dir, client, seen, server) = fake_daemon(vec![
            reply("201 Created", br#"{"Id":"f0"}"#),
            reply("500 Internal Server Error", INIT_GONE),
            reply("204 No Content", b""),
            reply("201 Created", br#"{"Id":"f1"}"#),
            reply("204 No Content", b""),
            reply("204 No Content", b""),
        ]);
        let running = client
            .start_container(&PLAIN, Instant::now() + Duration::from_secs(10))
            .expect("the second start succeeds");
        assert_eq!(running.id(), "f1");
        drop(running);
        server.join().expect("server");
        assert_eq!(
            *seen.lock().expect("lock"),
            [
                "POST /containers/create HTTP/1.1",
                "POST /containers/f0/start HTTP/1.1",
                "DELETE /containers/f0?force=1 HTTP/1.1",
                "POST /containers/create HTTP/1.1",
                "POST /containers/f1/start HTTP/1.1",
                "DELETE /containers/f1?force=1 HTTP/1.1",
            ]
        );
        assert_eq!(
            client.retried_failures(),
            ["POST /containers/f0/start returned 500: cannot start a stopped process: unknown"]
        );
    }

    #[rstest]
    #[case::init_exited_twice(INIT_GONE, "cannot start a stopped process: unknown", 1)]
    #[case::other_failure(
        b"{\"message\":\"OCI runtime create failed: boom\"}",
        "OCI runtime create failed: boom",
        0
    )]
    fn a_start_is_retried_at_most_once_and_only_when_init_exited(
        #[case] answer: &[u8],
        #[case] want: &str,
        #[case] retries: usize,
    ) {
        let mut script = vec![
            reply("201 Created", br#"{"Id":"f0"}"#),
            reply("500 Internal Server Error", answer),
            reply("204 No Content", b""),
        ];
        if retries == 1 {
            script.extend(script.clone());
        }
        let (_dir, client, seen, server) = fake_daemon(script);
        let error = client
            .start_container(&PLAIN, Instant::now() + Duration::from_secs(10))
            .map(|running| running.id().to_owned())
            .expect_err("the start fails");
        server.join().expect("server");
        assert!(
            matches!(&error, ApiError::Status { message, .. } if message == want),
            "{error:?}"
        );
        assert_eq!(client.retried_failures().len(), retries);
        let seen = seen.lock().expect("lock");
        assert_eq!(seen.len(), 3 * (retries + 1), "{seen:?}");
        assert_eq!(
            seen.last().map(String::as_str),
            Some("DELETE /containers/f0?force=1 HTTP/1.1")
        );
    }

    #[rstest]
    #[case::ok("200 OK", b"OK", true)]
    #[case::not_docker("200 OK", b"hello", false)]
    #[case::no_content("204 No Content", b"", false)]
    #[case::server_error("500 Internal Server Error", b"{\"message\":\"x\"}", false)]
    fn ping_requires_ok(#[case] status: &str, #[case] body: &[u8], #[case] ok: bool) {
        let (_dir, client, _seen, server) = fake_daemon(vec![reply(status, body)]);
        let result = client.ping();
        server.join().expect("server");
        assert_eq!(result.is_ok(), ok, "{result:?}");
    }

    #[test]
    fn load_reports_stream_errors() {
        let (_dir, client, seen, server) = fake_daemon(vec![reply(
            "200 OK",
            br#"{"errorDetail":{"message":"unexpected EOF"},"error":"unexpected EOF"}"#,
        )]);
        let result = client.load_image(b"not a tar");
        server.join().expect("server");
        assert!(
            matches!(&result, Err(ApiError::Load { message }) if message == "unexpected EOF"),
            "{result:?}"
        );
        assert_eq!(
            seen.lock().expect("lock")[0],
            "POST /images/load?quiet=1 HTTP/1.1"
        );
    }
}
