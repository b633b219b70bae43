//! The probes past the first container, run in the sandbox in depth order,
//! each only when the one before it worked:
//! - `pull`: a registry (Debian's docker-registry) on 127.0.0.1:5000 inside
//!   the sandbox; the probe image is tagged for it, pushed, removed, pulled
//!   back and run. Nothing leaves the sandbox.
//! - `network`: a web server container on the default bridge with a
//!   published port; a second container fetches a page from a server the
//!   agent runs on the bridge's gateway and then from the first container,
//!   and the agent fetches the first container's page through the published
//!   port on 127.0.0.1.
//! - `build`: `POST /build` of a two-step Dockerfile FROM the probe image
//!   (a tar context built in memory, RUN steps without network), then a run
//!   of the built image.
//!
//! Each probe returns the first failure as one sentence with the API's
//! words kept verbatim, which the runner classifies like a container failure.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::Path;
use std::time::{Duration, Instant};

use crate::engine::api::{ContainerSpec, EngineClient};
use crate::engine::image::dockerfile_context;
use crate::error_text::error_chain;
use crate::process::child::{Output, SpawnSpec, Supervised, describe_status};
use crate::process::envprobe;
use crate::report_format::{Outcome, millis};
use crate::scenario::Depth;

use super::protocol::{AgentSpec, PROBE_IMAGE, PROBE_TOKEN};

/// Where the `pull` depth's registry listens.
const REGISTRY_ADDR: &str = "127.0.0.1:5000";
/// The probe image's name in that registry.
const PUSHED_REPO: &str = "127.0.0.1:5000/dindcheck/probe";
/// The image the `build` depth builds.
const BUILT_IMAGE: &str = "dindcheck/built:latest";
/// What the built image's second step leaves in /step2.
const BUILD_TOKEN: &str = "dindcheck-build-ok";
/// The page the web server container serves.
const WEB_TOKEN: &str = "dindcheck-web-ok";
/// The page the agent serves on the gateway.
const GATEWAY_TOKEN: &str = "dindcheck-gateway-ok";
/// The web server container's port.
const WEB_PORT: u16 = 8080;

/// How long each deeper probe took, in milliseconds.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct DepthTimes {
    /// The pull probe.
    pub pull: Option<u64>,
    /// The network probe.
    pub network: Option<u64>,
    /// The build probe.
    pub build: Option<u64>,
}

/// Runs the depths past `container` that `spec.depth` asks for, after the
/// probe container ran; returns the outcome and, for a failure, the detail.
pub fn probe_deeper(
    client: &EngineClient,
    spec: &AgentSpec,
    deadline: Instant,
    times: &mut DepthTimes,
) -> (Outcome, Option<String>) {
    let mut image = PROBE_IMAGE.to_owned();
    if spec.depth >= Depth::Pull {
        let started = Instant::now();
        let pulled = probe_pull(client, spec, deadline);
        times.pull = Some(millis(started.elapsed()));
        match pulled {
            Ok(reference) => image = reference,
            Err(detail) => return (Outcome::PullFailed, Some(detail)),
        }
    }
    if spec.depth >= Depth::Network {
        let started = Instant::now();
        let networked = probe_network(client, &image, deadline);
        times.network = Some(millis(started.elapsed()));
        if let Err(detail) = networked {
            return (Outcome::NetworkFailed, Some(detail));
        }
    }
    if spec.depth >= Depth::Build {
        let started = Instant::now();
        let built = probe_build(client, &image, deadline);
        times.build = Some(millis(started.elapsed()));
        if let Err(detail) = built {
            return (Outcome::BuildFailed, Some(detail));
        }
    }
    let reached = match spec.depth {
        Depth::Ready | Depth::Container => Outcome::ContainerOk,
        Depth::Pull => Outcome::PullOk,
        Depth::Network => Outcome::NetworkOk,
        Depth::Build => Outcome::BuildOk,
    };
    (reached, None)
}

/// Push, remove, pull and run; returns the pulled image's reference.
fn probe_pull(
    client: &EngineClient,
    spec: &AgentSpec,
    deadline: Instant,
) -> Result<String, String> {
    envprobe::bring_up_loopback()
        .map_err(|e| format!("the loopback interface cannot be set up: {e}"))?;
    let dir = spec.work_dir.join("registry");
    let _registry = start_registry(&spec.registry, &dir, deadline)?;
    let pushed = format!("{PUSHED_REPO}:latest");
    client
        .tag_image(PROBE_IMAGE, PUSHED_REPO, "latest")
        .map_err(|e| {
            format!(
                "tagging the probe image for the registry failed: {}",
                error_chain(&e)
            )
        })?;
    client
        .push_image(PUSHED_REPO, "latest", deadline)
        .map_err(|e| {
            format!(
                "push to the registry on {REGISTRY_ADDR} failed: {}",
                error_chain(&e)
            )
        })?;
    for reference in [pushed.as_str(), PROBE_IMAGE] {
        client
            .remove_image(reference)
            .map_err(|e| format!("removing {reference} failed: {}", error_chain(&e)))?;
    }
    client
        .pull_image(PUSHED_REPO, "latest", deadline)
        .map_err(|e| {
            format!(
                "pull from the registry on {REGISTRY_ADDR} failed: {}",
                error_chain(&e)
            )
        })?;
    let cmd = busybox(&["echo", PROBE_TOKEN]);
    match client.run_container(&pushed, &cmd, PROBE_TOKEN, deadline) {
        Ok(run) if run.exit_code == 0 && run.output_matched => Ok(pushed),
        Ok(run) => Err(format!(
            "the pulled image's container exited with {} and printed {:?}",
            run.exit_code,
            run.output.trim()
        )),
        Err(e) => Err(format!(
            "running the pulled image failed: {}",
            error_chain(&e)
        )),
    }
}

/// Starts the registry with its storage in `dir` and waits until it
/// listens; it stops when the returned guard is dropped.
fn start_registry(binary: &Path, dir: &Path, deadline: Instant) -> Result<Supervised, String> {
    std::fs::create_dir_all(dir.join("data"))
        .map_err(|e| format!("failed to create {}: {e}", dir.display()))?;
    let config = dir.join("config.yml");
    let text = format!(
        "version: 0.1\nlog:\n  level: info\nstorage:\n  filesystem:\n    rootdirectory: {}\n  \
         delete:\n    enabled: true\nhttp:\n  addr: {REGISTRY_ADDR}\n",
        dir.join("data").display()
    );
    std::fs::write(&config, text)
        .map_err(|e| format!("failed to write {}: {e}", config.display()))?;
    let log = dir.join("registry.log");
    let spawn = SpawnSpec {
        argv: vec![binary.into(), "serve".into(), config.into()],
        env: vec![("PATH".into(), "/usr/sbin:/usr/bin:/sbin:/bin".into())],
        stdout: Output::File(log.clone()),
        stderr: Output::File(dir.join("registry.err")),
        isolate: false,
    };
    let mut registry = Supervised::spawn(&spawn).map_err(|e| {
        format!(
            "the registry {} did not start: {}",
            binary.display(),
            error_chain(&e)
        )
    })?;
    let addr: SocketAddr = REGISTRY_ADDR
        .parse()
        .expect("the registry address is valid");
    let mut backoff = Duration::from_millis(2);
    loop {
        if let Some(status) = registry.try_wait() {
            let said = std::fs::read_to_string(dir.join("registry.err")).unwrap_or_default();
            return Err(format!(
                "the registry exited ({}) before it listened on {REGISTRY_ADDR}: {}",
                describe_status(status),
                last_line(&said)
            ));
        }
        if TcpStream::connect_timeout(&addr, Duration::from_millis(200)).is_ok() {
            return Ok(registry);
        }
        let now = Instant::now();
        if now >= deadline {
            return Err(format!(
                "the registry did not listen on {REGISTRY_ADDR} in time"
            ));
        }
        std::thread::sleep(backoff.min(deadline - now));
        backoff = (backoff * 2).min(Duration::from_millis(20));
    }
}

/// Containers on the default bridge: an address, the gateway and another
/// container over TCP, and a published port.
fn probe_network(client: &EngineClient, image: &str, deadline: Instant) -> Result<(), String> {
    let gateway_server = TcpListener::bind("0.0.0.0:0")
        .map_err(|e| format!("the agent cannot listen for the gateway test: {e}"))?;
    let gateway_port = gateway_server
        .local_addr()
        .map_err(|e| format!("the agent cannot listen for the gateway test: {e}"))?
        .port();
    // Serves every connection until the agent exits; the agent exits right
    // after its result, and the thread with it.
    std::thread::spawn(move || serve_token(&gateway_server, GATEWAY_TOKEN));

    let serve = format!(
        "/bin/busybox mkdir -p /www && /bin/busybox echo {WEB_TOKEN} > /www/index.html && \
         exec /bin/busybox httpd -f -p {WEB_PORT} -h /www"
    );
    let web = client
        .start_container(
            &ContainerSpec {
                image,
                cmd: &busybox(&["sh", "-c", &serve]),
                network: "bridge",
                publish: Some(WEB_PORT),
            },
            deadline,
        )
        .map_err(|e| {
            format!(
                "a container on the default bridge did not start: {}",
                error_chain(&e)
            )
        })?;
    let address = client
        .container_address(web.id(), "bridge", deadline)
        .map_err(|e| error_chain(&e))?;
    // The client asks the gateway once (the agent already listens), then
    // the web container until its httpd is up: at most 50 tries. It speaks
    // HTTP through `nc`: busybox-static's wget segfaults in a root without
    // glibc's NSS modules (as the probe image is), nc does not.
    let get = "/bin/busybox printf 'GET / HTTP/1.0\\r\\n\\r\\n'";
    let fetch = format!(
        "{get} | /bin/busybox nc -w 5 {gw} {gateway_port} | /bin/busybox grep -q {GATEWAY_TOKEN} \
         || exit 11; echo {GATEWAY_TOKEN}; \
         i=0; while [ $i -lt 50 ]; do \
         {get} | /bin/busybox nc -w 2 {ip} {WEB_PORT} | /bin/busybox grep {WEB_TOKEN} && exit 0; \
         i=$((i+1)); /bin/busybox sleep 0.1; done; exit 12",
        gw = address.gateway,
        ip = address.ip,
    );
    let run = client
        .run_container_on(
            "bridge",
            image,
            &busybox(&["sh", "-c", &fetch]),
            WEB_TOKEN,
            deadline,
        )
        .map_err(|e| {
            format!(
                "a second container on the default bridge did not run: {}",
                error_chain(&e)
            )
        })?;
    let said = run.output.trim();
    match run.exit_code {
        0 if run.output_matched && said.contains(GATEWAY_TOKEN) => {}
        11 => {
            return Err(format!(
                "a container at {} could not reach the bridge gateway {}:{gateway_port} over \
                 TCP: {said:?}",
                address.ip, address.gateway
            ));
        }
        12 => {
            return Err(format!(
                "a container could not reach another container at {}:{WEB_PORT} over TCP: \
                 {said:?}",
                address.ip
            ));
        }
        code => {
            return Err(format!(
                "the bridge client container exited with {code} and printed {said:?}"
            ));
        }
    }
    let Some(host_port) = address.host_port else {
        return Err(format!(
            "port {WEB_PORT} of the container at {} was not published",
            address.ip
        ));
    };
    fetch_token(host_port, WEB_TOKEN, deadline).map_err(|e| {
        format!(
            "the published port 127.0.0.1:{host_port} (container {}:{WEB_PORT}) did not answer: \
             {e}",
            address.ip
        )
    })?;
    drop(web);
    Ok(())
}

/// Builds a two-step Dockerfile FROM `image` and runs the result.
fn probe_build(client: &EngineClient, image: &str, deadline: Instant) -> Result<(), String> {
    let dockerfile = format!(
        "FROM {image}\n\
         RUN [\"/bin/busybox\", \"sh\", \"-c\", \"/bin/busybox echo {BUILD_TOKEN} > /step1\"]\n\
         RUN [\"/bin/busybox\", \"cp\", \"/step1\", \"/step2\"]\n"
    );
    let context = dockerfile_context(&dockerfile).map_err(|e| error_chain(&e))?;
    client
        .build_image(&context, BUILT_IMAGE, deadline)
        .map_err(|e| format!("docker build failed: {}", error_chain(&e)))?;
    match client.run_container(
        BUILT_IMAGE,
        &busybox(&["cat", "/step2"]),
        BUILD_TOKEN,
        deadline,
    ) {
        Ok(run) if run.exit_code == 0 && run.output_matched => Ok(()),
        Ok(run) => Err(format!(
            "the built image's container exited with {} and printed {:?}",
            run.exit_code,
            run.output.trim()
        )),
        Err(e) => Err(format!(
            "running the built image failed: {}",
            error_chain(&e)
        )),
    }
}

/// `/bin/busybox ARGS…` as a command.
fn busybox(args: &[&str]) -> Vec<String> {
    std::iter::once("/bin/busybox")
        .chain(args.iter().copied())
        .map(str::to_owned)
        .collect()
}

/// Answers every connection with a page holding `token`.
fn serve_token(listener: &TcpListener, token: &str) {
    let page = format!(
        "HTTP/1.0 200 OK\r\nContent-Type: text/plain\r\nContent-Length: {}\r\n\r\n{token}\n",
        token.len() + 1
    );
    for stream in listener.incoming() {
        let Ok(mut stream) = stream else { continue };
        let _ = stream.set_read_timeout(Some(Duration::from_secs(2)));
        let mut request = [0u8; 1024];
        let _ = stream.read(&mut request);
        let _ = stream.write_all(page.as_bytes());
    }
}

/// `GET /` on 127.0.0.1:`port` until the page holds `token` or `deadline`
/// passes (the proxy behind a published port may answer before the
/// container's server does), with a backoff between tries.
fn fetch_token(port: u16, token: &str, deadline: Instant) -> Result<(), String> {
    let addr = SocketAddr::from(([127, 0, 0, 1], port));
    let mut backoff = Duration::from_millis(5);
    loop {
        let last = match get_page(&addr) {
            Ok(page) if page.contains(token) => return Ok(()),
            Ok(page) => format!("the page was {:?}", last_line(&page)),
            Err(e) => e.to_string(),
        };
        let now = Instant::now();
        if now >= deadline {
            return Err(last);
        }
        std::thread::sleep(backoff.min(deadline - now));
        backoff = (backoff * 2).min(Duration::from_millis(100));
    }
}

fn get_page(addr: &SocketAddr) -> std::io::Result<String> {
    let mut stream = TcpStream::connect_timeout(addr, Duration::from_secs(2))?;
    stream.set_read_timeout(Some(Duration::from_secs(2)))?;
    stream.write_all(b"GET / HTTP/1.0\r\nHost: localhost\r\n\r\n")?;
    let mut page = String::new();
    stream.read_to_string(&mut page)?;
    Ok(page)
}

fn last_line(text: &str) -> &str {
    text.lines()
        .rev()
        .find(|l| !l.trim().is_empty())
        .unwrap_or("")
        .trim()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_gateway_server_answers_with_its_token() {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        std::thread::spawn(move || serve_token(&listener, GATEWAY_TOKEN));
        let deadline = Instant::now() + Duration::from_secs(10);
        assert_eq!(fetch_token(port, GATEWAY_TOKEN, deadline), Ok(()));
        let past = Instant::now();
        let err = fetch_token(port, "another-token", past).unwrap_err();
        assert!(err.contains(GATEWAY_TOKEN), "{err}");
    }

    #[test]
    fn commands_run_busybox_by_path() {
        assert_eq!(busybox(&["cat", "/x"]), ["/bin/busybox", "cat", "/x"]);
    }
}
