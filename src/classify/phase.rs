//! Where in dockerd's life a line belongs: the lines that say the daemon
//! became ready, the lines that say a container failed to start (or an
//! API request failed) while it served, dockerd's bare words that the
//! daemon stopped, and the words of failure that make a bare line no entry
//! knows a failure at all.
//!
//! dockerd says it is ready as `API listen on …` (every version), after
//! `Daemon has completed initialization`; systemd says `Started Docker
//! Application Container Engine` (older units) or `Started docker.service -
//! Docker Application Container Engine` (systemd 250+). A container start
//! fails through the API (`Handler for POST /…/containers/…/start returned
//! error: …`), through containerd and the runtime (`failed to create shim
//! task`, `OCI runtime create failed`, `runc did not terminate
//! successfully`; containerd 0.2's `oci runtime error: …`; the CRI plugin's
//! `failed to create containerd container`), and reaches
//! the CLI as `docker: Error response from daemon: …` (docker-compose:
//! `Cannot start service web: …`, `Cannot create container for service web:
//! …`); on Kubernetes nodes containerd's CRI
//! plugin says `failed to create containerd task` (or `failed to start
//! containerd task`) and the kubelet `RunPodSandbox from runtime service
//! failed`. An image pull or load that cannot store a layer (`failed to
//! register layer`, containerd's `failed to pull and unpack image`, `failed
//! to extract layer`, Docker 1.x's `Error pulling image (…`) is a request
//! the daemon served, too, and so are a log
//! driver that cannot start with its container (`failed to initialize
//! logging driver`), a volume driver lookup or a volume plugin's error
//! (`VolumeDriver.Get: …`), a container the daemon's restore could not
//! start, `docker load`'s unpacking (`…/docker-import-<n>/…`), and a swarm
//! task the node's agent gave up on (`msg="fatal task error"`). Only
//! literal scans here; no catalogue and no line choice.

use std::sync::LazyLock;

use aho_corasick::{AhoCorasick, Span, packed};
use memchr::memmem;
use serde::{Deserialize, Serialize};

/// What a failure ended: dockerd's start-up, or a container start (or
/// another API request) while dockerd served.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Phase {
    /// dockerd did not reach readiness, or died.
    Daemon,
    /// dockerd served, and a container start (or a request) failed.
    Container,
}

/// Words that end a container start, in every layer that reports it (the
/// runtime, containerd and its CRI plugin, the kubelet, the CLI, compose,
/// swarm), and the words of the other requests a serving daemon fails
/// (an image pull or load, a log driver, a volume plugin): none of them
/// comes from dockerd's own start-up.
const CONTAINER_START: [&str; 46] = [
    "failed to create shim task",
    "failed to create task for container",
    "OCI runtime create failed",
    "OCI runtime start failed",
    "OCI runtime exec failed",
    "did not terminate successfully",
    "unable to start container process",
    "starting container process caused",
    "Error response from daemon:",
    // go-dockerclient (Nomad's and other Go tools' Docker client) relaying
    // the daemon's HTTP answer: `API error (500): {"message":"…"}`.
    "API error (",
    // docker-compose: `ERROR: for web  Cannot start service web: …`, and
    // (v1) the create before it: `Cannot create container for service web: …`.
    "Cannot start service ",
    "Cannot create container for service ",
    // Docker 1.11-17.03 (containerd 0.2): `rpc error: code = 2 desc = "oci
    // runtime error: could not synchronise with container process: …"`.
    "oci runtime error: ",
    // An image pull, load or build step that could not store a layer, and
    // Docker 1.x's report of a failed pull (`Error pulling image (tag) from
    // repo, …`, from its pull code and the CLI).
    "failed to register layer: ",
    "Error pulling image (",
    "failed to pull and unpack image",
    "failed to extract layer ",
    // containerd's CRI plugin creating a pod's container or sandbox
    // (`failed to create containerd container: …`, kubelet's
    // CreateContainer/RunPodSandbox error): the runtime service served.
    "failed to create containerd container",
    // The bridge driver publishing a container's ports, and (28+) the
    // daemon wiring a starting container into its networks: both only
    // happen for a container start, whoever relays the message (an API
    // client, Ansible, a NAS's UI).
    "driver failed programming external connectivity",
    "failed to set up container networking",
    // containerd's CRI plugin starting a pod sandbox or a container for
    // the kubelet (k3s, kind, minikube, kubeadm nodes), and the kubelet's
    // own report of it: a start that containerd served.
    "failed to create containerd task",
    "failed to start containerd task",
    "RunPodSandbox from runtime service failed",
    // The kubelet's pod worker giving up on a sandbox or a container
    // (`Error syncing pod …, skipping: failed to "StartContainer" for "x"
    // with CrashLoopBackOff: …`), plain or logrus-quoted.
    "failed to \"CreatePodSandbox\" for ",
    "failed to \\\"CreatePodSandbox\\\" for ",
    "failed to \"StartContainer\" for ",
    "failed to \\\"StartContainer\\\" for ",
    // A container's log driver starts with the container (daemon/logs.go
    // StartLogging; `Failed …` before 17.06), and a volume driver is looked
    // up for a volume or container create: never at dockerd's start-up.
    "failed to initialize logging driver: ",
    "Failed to initialize logging driver: ",
    "error looking up volume plugin ",
    "Error looking up volume plugin ",
    // `docker load` and `docker import` unpack into the daemon's
    // <data-root>/tmp/docker-import-<n>.
    "/docker-import-",
    // A volume plugin's answer (`VolumeDriver.Get: …`) never stops dockerd,
    // and neither does a container its restore could not restart
    // (`Failed to start container <id>: …`; 20.10+ `msg="failed to start
    // container"`): both fail a container.
    "VolumeDriver.",
    "Failed to start container ",
    "failed to start container\"",
    // A swarm task (a service's container) that the node's agent gave up
    // on (swarmkit agent/task.go: `msg="fatal task error"`): the daemon
    // served it, whatever the error names.
    "msg=\"fatal task error\"",
    // runc's own CLI ending a create or run (`runc run failed: …`, 1.1+;
    // `Container start failed: …` before 1.0): a runtime never prints them
    // for dockerd's start-up.
    "runc run failed: ",
    "runc create failed: ",
    "Container start failed: ",
    // containerd's CRI plugin building or starting a pod's sandbox or
    // container (pkg/cri/server sandbox_run.go, container_create*.go,
    // container_start.go): only a RunPodSandbox, CreateContainer or
    // StartContainer request reaches them.
    "failed to setup network for sandbox",
    "failed to create network namespace for sandbox",
    "failed to generate seccomp spec opts",
    "failed to generate apparmor spec opts",
    "failed to create and open log file",
    // runc (1.0-rc) moving the container's init into its cgroups
    // (libcontainer/process_linux.go initProcess.start: `applying cgroup
    // configuration for process`): only a container start gets there,
    // whether or not a wrapper line survived above it.
    "applying cgroup configuration for process",
    // A swarm task's container start (moby daemon/cluster/executor/container
    // controller.go Start: `starting container failed: …`): the daemon was
    // serving the task.
    "starting container failed: ",
];

static CONTAINER_START_SEARCH: LazyLock<packed::Searcher> = LazyLock::new(|| {
    packed::Config::new()
        .builder()
        .extend(CONTAINER_START)
        .build()
        .expect("a few literals build a packed searcher")
});
static HANDLER: LazyLock<memmem::Finder<'static>> =
    LazyLock::new(|| memmem::Finder::new(b"Handler for "));
/// The words of readiness, found in one packed (SIMD) pass: every info
/// line of a log is searched for them, and four separate scans cost a
/// tenth of triage's time. systemd's unit words ([`UNIT_READY`]) come last.
static READY: LazyLock<packed::Searcher> = LazyLock::new(|| {
    packed::Config::new()
        .builder()
        .extend([
            "API listen on ",
            "Daemon has completed initialization",
            "docker daemon is ready",
            UNIT_READY,
        ])
        .build()
        .expect("a few literals build a packed searcher")
});
/// systemd's words for the unit, which say it is ready after `Started `.
const UNIT_READY: &str = "Docker Application Container Engine";
/// The index of [`UNIT_READY`] among the words of readiness.
const UNIT_READY_INDEX: usize = 3;

/// Whether `line` reports a failed container start: the runtime's or
/// containerd's words, or the API handler of a container start, create or
/// exec returning an error.
pub fn is_container_start_failure(line: &str) -> bool {
    if CONTAINER_START_SEARCH.find(line).is_some() {
        return true;
    }
    api_request(line).is_some_and(|(method, path)| {
        method == "POST"
            && (path.ends_with("/start")
                || path.contains("/containers/create")
                || path.contains("/exec/"))
    })
}

/// Whether `line` is an API handler's error (`Handler for GET /x returned
/// error: …`): the daemon served and a request failed.
pub fn is_api_error(line: &str) -> bool {
    api_request(line).is_some()
}

/// The method and path of `Handler for METHOD PATH returned error`.
fn api_request(line: &str) -> Option<(&str, &str)> {
    let at = HANDLER.find(line.as_bytes())?;
    let rest = &line[at + "Handler for ".len()..];
    let (method, rest) = rest.split_once(' ')?;
    let (path, rest) = rest.split_once(' ')?;
    rest.starts_with("returned error")
        .then(|| (method, path.split('?').next().unwrap_or(path)))
}

/// Whether `line` is the docker CLI's closing summary of `docker start`
/// (`Error: failed to start containers: web`): it repeats that the
/// daemon's answer above it was an error and never names a cause, so it
/// does not end a failure itself.
pub fn is_cli_summary(line: &str) -> bool {
    let payload = super::logline::frame(line).payload.trim_start();
    // Docker 1.x's client closed `docker start` with `Error: failed to
    // start one or more containers` instead of naming them.
    payload.starts_with("Error: failed to start containers: ")
        || payload.starts_with("Error: failed to start one or more containers")
}

/// Whether `line` is a shell prompt running the docker CLI (`$ docker run
/// …`, `# sudo docker pull …`, `docker-compose up`), or docker-compose
/// (v1) reporting the network it creates for a project (`Creating network
/// "web_default" with the default driver`): what follows is the CLI's
/// transcript, whose failures are failed requests to a daemon that
/// answered. Docker before 1.12 started the daemon itself as `docker
/// daemon` (or `docker -d`): that is not a request.
pub fn is_cli_command(line: &str) -> bool {
    let rest = line.trim_start();
    if rest.starts_with("Creating network \"") && rest.contains("\" with ") {
        return true;
    }
    let rest = command_words(rest);
    if let Some(args) = rest.strip_prefix("docker ") {
        return !starts_daemon(args);
    }
    rest.starts_with("docker-compose ")
}

/// Whether `line` is a shell prompt that starts the daemon through the
/// docker binary (`$ docker daemon …`, `# docker -d`, Docker before 1.12):
/// what fails after it is the daemon's own start-up, whatever requests the
/// transcript ran before.
pub fn is_daemon_command(line: &str) -> bool {
    let rest = line.trim_start();
    let prompted = rest.starts_with('$') || rest.starts_with('#');
    prompted
        && command_words(rest)
            .strip_prefix("docker ")
            .is_some_and(starts_daemon)
}

/// A command line without its prompt (`$`, `#`) and `sudo`.
fn command_words(rest: &str) -> &str {
    let rest = rest
        .strip_prefix('$')
        .or_else(|| rest.strip_prefix('#'))
        .unwrap_or(rest)
        .trim_start();
    rest.strip_prefix("sudo ").unwrap_or(rest).trim_start()
}

/// Whether the docker binary's arguments start the daemon (`daemon`, `-d`).
fn starts_daemon(args: &str) -> bool {
    let args = args.trim_start();
    args.starts_with("daemon") || args.starts_with("-d ") || args == "-d"
}

/// Words in which programs (Go errors, shell tools, the kernel, wrappers)
/// say something failed, matched ASCII case-insensitively where a word
/// starts. A line with none of them is not a failure, whatever else it
/// says; a line with one is one only where nothing better is in the log.
const FAILURE_WORDS: [&str; 36] = [
    "error",
    "failed",
    "failure",
    "fatal",
    "panic:",
    "unable to",
    "cannot",
    "can't",
    "could not",
    "couldn't",
    "permission denied",
    "access denied",
    "not permitted",
    "not found",
    "invalid",
    "refused",
    "not supported",
    "unsupported",
    "missing",
    "timed out",
    "timeout",
    "exit status",
    "no space left",
    // Go's words for the errno values a failed system call returns
    // (`no such device`, `address already in use`, `is a directory`, …),
    // and the words of a refused flag or unit.
    "no such",
    "not exist",
    "already in use",
    "already exists",
    "is a directory",
    "not a directory",
    "read-only",
    "resource busy",
    "temporarily unavailable",
    "too many",
    "not implemented",
    "not defined",
    "refusing",
];

static FAILURE_SEARCH: LazyLock<AhoCorasick> = LazyLock::new(|| {
    AhoCorasick::builder()
        .ascii_case_insensitive(true)
        .build(FAILURE_WORDS)
        .expect("a few literals build an automaton")
});

/// Words with which dockerd (and the wrappers that start it) say the
/// daemon itself stopped, printed bare on stderr: `failed to start daemon:
/// …` (20.10+, cmd/dockerd/docker.go), `Error starting daemon: …` (before
/// 20.10), and the start-up wrappers around a cause.
const DAEMON_ENDED: [&str; 5] = [
    "failed to start daemon",
    "Error starting daemon",
    "failed to load listeners",
    "failed to start containerd",
    "unable to configure the Docker daemon",
];

/// Whether `line` is in dockerd's words that the daemon stopped
/// ([`DAEMON_ENDED`]).
pub fn says_daemon_ended(line: &str) -> bool {
    DAEMON_ENDED.iter().any(|w| line.contains(w))
}

/// Whether `line` says something failed, in any program's words (an
/// error, `permission denied`, `not found`, `exit status 1`, …): what makes
/// a bare line no catalogue entry knows a failure at all.
pub fn says_failure(line: &str) -> bool {
    FAILURE_SEARCH
        .find_overlapping_iter(line)
        .any(|m| super::logline::starts_word(line, m.start()))
}

/// Whether `line` is systemd saying the service failed: `Main process
/// exited, code=…, status=N/…` with N other than 0, `Failed with result`,
/// `Start request repeated too quickly`, `Failed to start …`.
pub fn says_unit_failed(line: &str) -> bool {
    if let Some(at) = line.find("Main process exited, code=") {
        return !line[at..].contains("status=0/");
    }
    line.contains("Failed with result '")
        || line.contains("Start request repeated too quickly")
        || line.contains("Failed to start ")
}

/// Whether `line` says dockerd became ready: `API listen on`, `Daemon has
/// completed initialization`, a supervisor's `docker daemon is ready`, or
/// systemd's `Started … Docker Application Container Engine`.
pub fn says_ready(line: &str) -> bool {
    // Every place one of the words occurs, leftmost first: dockerd's and a
    // supervisor's words anywhere say it; systemd's only when `Started `
    // comes before their first occurrence.
    let mut unit_seen = false;
    let mut from = 0;
    while let Some(found) = READY.find_in(line, Span::from(from..line.len())) {
        if found.pattern().as_usize() != UNIT_READY_INDEX {
            return true;
        }
        if !unit_seen {
            unit_seen = true;
            if line[..found.start()].contains("Started ") {
                return true;
            }
        }
        from = found.start() + 1;
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;
    use rstest::rstest;

    #[rstest]
    #[case::api_start(
        r#"level=error msg="Handler for POST /v1.45/containers/4f1c/start returned error: boom""#,
        true
    )]
    #[case::api_create_with_query(
        r#"level=error msg="Handler for POST /v1.41/containers/create?name=web returned error: boom""#,
        true
    )]
    #[case::api_get_is_not_a_start(
        r#"level=error msg="Handler for GET /v1.41/containers/x/json returned error: No such container: x""#,
        false
    )]
    #[case::shim("failed to create shim task: OCI runtime create failed: x", true)]
    #[case::runsc("runsc did not terminate successfully: exit status 128", true)]
    #[case::cli("docker: Error response from daemon: x.", true)]
    #[case::containerd_0_2(
        r#"rpc error: code = 2 desc = "oci runtime error: could not synchronise with container process: x""#,
        true
    )]
    #[case::daemon("failed to start daemon: Devices cgroup isn't mounted", false)]
    #[case::register_layer(
        "failed to register layer: ApplyLayer exit status 1 stdout:  stderr: open /root/.bash_logout: permission denied",
        true
    )]
    #[case::pull_1x(
        "Error pulling image (ci-134) from IMAGE, link /var/lib/docker/overlay/c1ff/root/etc/x /var/lib/docker/overlay/37d7/tmproot2201/etc/x: too many links",
        true
    )]
    #[case::cri_pull(
        r#"level=error msg="PullImage \"nginx:1.27\" failed" error="failed to pull and unpack image \"docker.io/library/nginx:1.27\": failed to extract layer sha256:5f70: failed to convert whiteout file \"etc/.wh..wh..opq\": operation not supported: unknown""#,
        true
    )]
    #[case::ctr_extract(
        "ctr: failed to extract layer sha256:be4e: failed to mount /var/lib/containerd/tmpmounts/containerd-mount78: input/output error: unknown",
        true
    )]
    #[case::compose_create(
        "ERROR: for runner  Cannot create container for service runner: NanoCPUs can not be set, as your kernel does not support CPU cfs period/quota or the cgroup is not mounted",
        true
    )]
    #[case::cri_create_container(
        r#"E1013 22:12:14.361653   31773 remote_runtime.go:442] "CreateContainer in sandbox from runtime service failed" err="rpc error: code = Unknown desc = failed to create containerd container: x""#,
        true
    )]
    #[case::snapshotter_plugin_is_not_a_pull(
        r#"level=warning msg="failed to load plugin io.containerd.snapshotter.v1.overlayfs" error="/var/lib/containerd does not support d_type""#,
        false
    )]
    #[case::port_publishing(
        r#"500 Server Error: Internal Server Error ("driver failed programming external connectivity on endpoint web (36e7): x")"#,
        true
    )]
    #[case::networking_28(
        r#"Start container web failed: {"message":"failed to set up container networking: x"}"#,
        true
    )]
    #[case::cri_sandbox_task(
        r#"E1107 13:49:43.967007   17226 remote_runtime.go:105] RunPodSandbox from runtime service failed: rpc error: code = Unknown desc = failed to create containerd task: failed to mount rootfs component &{overlay overlay [x]}: invalid argument: unknown"#,
        true
    )]
    #[case::kubelet_event(
        "  Warning  Failed  4m39s  kubelet, node-1  Error: failed to create containerd task: ttrpc: closed: unknown",
        true
    )]
    #[case::cri_start_task(
        r#"level=error msg="StartContainer for \"79b2\" failed" error="failed to start containerd task \"79b2\": ttrpc: closed: unknown""#,
        true
    )]
    #[case::kubelet_pod_worker(
        r#"E0925 23:19:09.570140    2162 pod_workers.go:191] Error syncing pod f004 ("gvisor_kube-system(f004)"), skipping: failed to "StartContainer" for "gvisor" with CrashLoopBackOff: "back-off 5m0s restarting failed container=gvisor""#,
        true
    )]
    #[case::kubelet_pod_worker_quoted(
        r#"level=error msg="Error syncing pod f004, skipping: failed to \"CreatePodSandbox\" for \"web\" with CreatePodSandboxError: x""#,
        true
    )]
    #[case::kubelet_sync_loop(
        r#"I0925 23:19:09.570140    2162 kubelet.go:1850] "SyncLoop (PLEG): event for pod" pod="kube-system/gvisor" event={"Type":"ContainerStarted"}"#,
        false
    )]
    #[case::cri_plugin_not_loaded(
        r#"level=warning msg="failed to load plugin io.containerd.grpc.v1.cri" error="failed to create CRI service: failed to find snapshotter \"zfs\"""#,
        false
    )]
    #[case::network_controller(
        "failed to start daemon: Error initializing network controller: error obtaining controller instance: x",
        false
    )]
    #[case::log_driver(
        "failed to initialize logging driver: dial tcp 127.0.0.1:24224: connect: connection refused",
        true
    )]
    #[case::log_driver_before_17_06(
        "Failed to initialize logging driver: NoCredentialProviders: no valid providers in chain",
        true
    )]
    #[case::log_opts_at_start_up(
        "failed to start daemon: failed to set log opts: unknown log opt 'max-size' for journald log driver",
        false
    )]
    #[case::volume_plugin(
        r#"404 Client Error: Not Found ("Error looking up volume plugin convoy: Plugin not found")"#,
        true
    )]
    #[case::image_load(
        "open /var/lib/docker/tmp/docker-import-132287903/repositories: no such file or directory",
        true
    )]
    #[case::volume_driver(
        r#"level=error msg="Failed to start container 9c1f: get data: VolumeDriver.Get: volume data not found""#,
        true
    )]
    #[case::restore_20_10(
        r#"level=error msg="failed to start container" container=9c1f error="x""#,
        true
    )]
    #[case::swarm_task(
        r#"level=error msg="fatal task error" error="failed to copy xattrs: x" module=node/agent/taskmanager"#,
        true
    )]
    #[case::runc_cli_run(
        "ERRO[0000] runc run failed: unable to start container process: error during container init: x",
        true
    )]
    #[case::runc_cli_before_1_0(
        "FATA[0000] Container start failed: [7] Invalid configuration: unable to set hostname without a private UTS namespace",
        true
    )]
    #[case::cri_sandbox_network(
        r#"level=error msg="RunPodSandbox for &PodSandboxMetadata{Name:web,} failed, error" error="failed to setup network for sandbox \"7fa2\": plugin type=\"flannel\" failed (add): x""#,
        true
    )]
    #[case::cri_seccomp_spec(
        r#"level=error msg="RunPodSandbox for &PodSandboxMetadata{Name:web,} failed, error" error="failed to generate seccomp spec opts: seccomp is not supported""#,
        true
    )]
    #[case::containerd_daemon_fatal_is_not_a_start(
        r#"level=fatal msg="Failed to run CRI service" error="failed to recover state: failed to reserve container name \"x\": name \"x\" is reserved for \"y\"""#,
        false
    )]
    #[case::task_words_alone_are_not_a_task("error: fatal task error in config", false)]
    #[case::go_dockerclient(
        r#"API error (500): {"message":"Privileged mode is incompatible with user namespaces"}."#,
        true
    )]
    #[case::containerd_is_not_a_container(
        "failed to start containerd: timeout waiting for containerd to start",
        false
    )]
    fn container_start_failures(#[case] line: &str, #[case] want: bool) {
        assert_eq!(is_container_start_failure(line), want, "{line}");
    }

    #[rstest]
    #[case::listen(r#"level=info msg="API listen on /var/run/docker.sock""#, true)]
    #[case::initialized(r#"level=info msg="Daemon has completed initialization""#, true)]
    #[case::systemd_old(
        "Nov 28 19:09:29 h systemd[1]: Started Docker Application Container Engine.",
        true
    )]
    #[case::systemd_new(
        "Nov 28 19:09:29 h systemd[1]: Started docker.service - Docker Application Container Engine.",
        true
    )]
    #[case::systemd_starting(
        "Nov 28 19:09:29 h systemd[1]: Starting docker.service - Docker Application Container Engine...",
        false
    )]
    #[case::systemd_failed(
        "Nov 28 19:09:29 h systemd[1]: Failed to start Docker Application Container Engine.",
        false
    )]
    #[case::unit_words_then_listen(
        "Docker Application Container Engine; then: API listen on /run/docker.sock",
        true
    )]
    #[case::started_only_before_a_later_unit_mention(
        "Docker Application Container Engine. Started Docker Application Container Engine.",
        false
    )]
    fn readiness(#[case] line: &str, #[case] want: bool) {
        assert_eq!(says_ready(line), want, "{line}");
    }

    #[rstest]
    #[case::exited(
        "h systemd[1]: docker.service: Main process exited, code=exited, status=1/FAILURE",
        true
    )]
    #[case::stopped(
        "h systemd[1]: docker.service: Main process exited, code=exited, status=0/SUCCESS",
        false
    )]
    #[case::result("h systemd[1]: docker.service: Failed with result 'exit-code'.", true)]
    #[case::failed_to_start(
        "h systemd[1]: Failed to start Docker Application Container Engine.",
        true
    )]
    #[case::started("h systemd[1]: Started Docker Application Container Engine.", false)]
    fn unit_failures(#[case] line: &str, #[case] want: bool) {
        assert_eq!(says_unit_failed(line), want, "{line}");
    }

    #[rstest]
    #[case::start_summary("Error: failed to start containers: web", true)]
    #[case::start_summary_list("Error: failed to start containers: [web]", true)]
    #[case::daemon_answer("Error response from daemon: no space left on device", false)]
    #[case::docker_1_start_summary("Error: failed to start one or more containers", true)]
    #[case::other_cli_error("Error: No such container: web", false)]
    fn cli_summaries(#[case] line: &str, #[case] want: bool) {
        assert_eq!(is_cli_summary(line), want, "{line}");
    }

    #[rstest]
    #[case::prompt("$ docker run --rm busybox true", true)]
    #[case::root_prompt("# sudo docker pull nginx", true)]
    #[case::bare("docker-compose up -d", true)]
    #[case::daemon("$ dockerd --debug", false)]
    #[case::old_daemon("$ sudo docker daemon", false)]
    #[case::old_daemon_flag("# docker -d", false)]
    #[case::compose_network(r#"Creating network "website_default" with the default driver"#, true)]
    #[case::prose_network("Creating network interfaces failed", false)]
    #[case::text("the docker daemon failed", false)]
    fn cli_commands(#[case] line: &str, #[case] want: bool) {
        assert_eq!(is_cli_command(line), want, "{line}");
    }

    #[rstest]
    #[case::old_daemon("$ sudo docker daemon -H fd://", true)]
    #[case::old_daemon_flag("$ docker -d", true)]
    #[case::request("$ docker --version", false)]
    #[case::bare_words("docker -d", false)]
    #[case::text("the docker daemon failed", false)]
    fn daemon_commands(#[case] line: &str, #[case] want: bool) {
        assert_eq!(is_daemon_command(line), want, "{line}");
    }

    #[test]
    fn api_errors_are_recognised() {
        assert!(is_api_error(
            "Handler for GET /v1.41/containers/x/json returned error: No such container: x"
        ));
        assert!(!is_api_error("Handler for nothing"));
    }
}
