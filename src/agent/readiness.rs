//! Waiting for dockerd's API without holding up the rest of the watch.
//!
//! dockerd binds its socket early (`loadListeners`, before containerd and
//! `NewDaemon`) but serves it only once the daemon is up, so a `GET /_ping`
//! sent during start-up is accepted by the kernel and then waits, unread,
//! until dockerd serves it or closes the socket. Asked from the agent's
//! loop, that wait would hide dockerd's last words and the deadline until
//! dockerd exits. So a thread asks, and the loop only looks at the answer:
//! the pending request is answered the moment dockerd starts serving.
//!
//! The thread ends with the answer or at the deadline; it touches nothing
//! but the socket, and dies with the agent.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use crate::engine::api::EngineClient;

/// Between attempts while the socket is not there yet (or an attempt
/// failed). Not a readiness delay: dockerd binds its socket long before it
/// serves it, and once connected an attempt waits for the answer.
const MAX_BACKOFF: Duration = Duration::from_millis(50);

/// Starts pinging `socket` until `/_ping` answers `200 OK` or `deadline`
/// passes; `answered` is called with the moment of the answer.
pub(crate) fn ping_until(
    socket: PathBuf,
    deadline: Instant,
    answered: impl FnOnce(Instant) + Send + 'static,
) {
    std::thread::spawn(move || {
        let mut backoff = Duration::from_millis(2);
        loop {
            let now = Instant::now();
            if now >= deadline {
                return;
            }
            // Each attempt may wait for dockerd as long as the cell may.
            let client = EngineClient::new(socket.clone(), deadline - now);
            if client.ping().is_ok() {
                answered(Instant::now());
                return;
            }
            let now = Instant::now();
            if now >= deadline {
                return;
            }
            std::thread::sleep(backoff.min(deadline - now));
            backoff = (backoff * 2).min(MAX_BACKOFF);
        }
    });
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::{Read, Write};
    use std::os::unix::net::UnixListener;

    #[test]
    fn a_pending_ping_is_seen_when_the_server_starts_serving() {
        let dir = tempfile::tempdir().unwrap();
        let socket = dir.path().join("d.sock");
        // Bound but not yet served, as dockerd's socket during start-up.
        let listener = UnixListener::bind(&socket).unwrap();
        let (wake, answer) = std::sync::mpsc::channel();
        ping_until(
            socket,
            Instant::now() + Duration::from_secs(30),
            move |at| {
                let _ = wake.send(at);
            },
        );
        assert!(answer.try_recv().is_err(), "nothing answered yet");
        let (mut conn, _) = listener.accept().unwrap();
        let mut request = [0u8; 512];
        let n = conn.read(&mut request).unwrap();
        assert!(String::from_utf8_lossy(&request[..n]).starts_with("GET /_ping "));
        conn.write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nOK")
            .unwrap();
        assert!(answer.recv_timeout(Duration::from_secs(30)).is_ok());
    }

    #[test]
    fn the_thread_gives_up_at_the_deadline() {
        let dir = tempfile::tempdir().unwrap();
        let (wake, answer) = std::sync::mpsc::channel::<Instant>();
        ping_until(dir.path().join("none.sock"), Instant::now(), move |at| {
            let _ = wake.send(at);
        });
        // The thread drops its sender, unused, when it gives up.
        assert!(matches!(
            answer.recv_timeout(Duration::from_secs(30)),
            Err(std::sync::mpsc::RecvTimeoutError::Disconnected)
        ));
    }
}
