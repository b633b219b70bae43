//! What a dockerd command line (plus its daemon.json) configures, as far as
//! the doctor's checks care: the cgroup driver and parent, iptables, the
//! default bridge, the storage driver and the data root.
//!
//! dockerd parses its flags with spf13/pflag: `--flag=value`, `--flag value`,
//! short `-b value`/`-s value`, and booleans as `--flag` or `--flag=false`
//! (never `--flag false`). Unknown flags are skipped; a value that follows
//! one is then read as a stray word and ignored, which is harmless here.
//! This module reads no files but the daemon.json it is pointed at.

use std::path::PathBuf;

use crate::report_format::doctor::DockerdConfig;

/// dockerd's default daemon.json.
pub const DEFAULT_CONFIG_FILE: &str = "/etc/docker/daemon.json";

/// dockerd's default data root.
pub const DEFAULT_DATA_ROOT: &str = "/var/lib/docker";

/// Why a daemon.json could not be used.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The file could not be read.
    #[error("failed to read {path}")]
    Read {
        /// The file.
        path: PathBuf,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
    /// The file is not valid JSON.
    #[error("failed to parse {path}")]
    Parse {
        /// The file.
        path: PathBuf,
        /// The cause.
        #[source]
        source: serde_json::Error,
    },
}

/// Flags that take a value, by every spelling dockerd accepts.
const VALUE_FLAGS: &[(&str, &str)] = &[
    ("--exec-opt", "exec-opt"),
    ("--cgroup-parent", "cgroup-parent"),
    ("--bridge", "bridge"),
    ("-b", "bridge"),
    ("--storage-driver", "storage-driver"),
    ("-s", "storage-driver"),
    ("--data-root", "data-root"),
    ("--graph", "data-root"),
    ("-g", "data-root"),
    ("--userns-remap", "userns-remap"),
    ("--config-file", "config-file"),
];

/// Splits a dockerd command line into the binary (when the first word is
/// not a flag) and its arguments.
pub fn split_binary(argv: &[String]) -> (Option<String>, Vec<String>) {
    match argv.split_first() {
        Some((first, rest)) if !first.starts_with('-') => (Some(first.clone()), rest.to_vec()),
        _ => (None, argv.to_vec()),
    }
}

/// Reads `args` (without the binary) into `(key, value)` pairs for the
/// flags the doctor knows, in order; booleans become `"true"`/`"false"`.
fn flag_values(args: &[String]) -> Vec<(&'static str, String)> {
    let mut out = Vec::new();
    let mut iter = args.iter().peekable();
    while let Some(arg) = iter.next() {
        if arg == "--" {
            break;
        }
        let (name, inline) = match arg.split_once('=') {
            Some((n, v)) => (n, Some(v.to_owned())),
            None => (arg.as_str(), None),
        };
        if name == "--iptables" {
            out.push(("iptables", inline.unwrap_or_else(|| "true".to_owned())));
            continue;
        }
        let Some(&(_, key)) = VALUE_FLAGS.iter().find(|(flag, _)| *flag == name) else {
            continue;
        };
        let value = match inline {
            Some(v) => Some(v),
            None => iter.next().cloned(),
        };
        if let Some(value) = value {
            out.push((key, value));
        }
    }
    out
}

/// The configuration `argv` (optionally starting with the dockerd binary)
/// gives, before daemon.json.
pub fn from_args(argv: &[String]) -> DockerdConfig {
    let (binary, args) = split_binary(argv);
    let mut config = DockerdConfig {
        binary,
        cgroup_driver: None,
        cgroup_parent: None,
        iptables: true,
        bridge: None,
        storage_driver: None,
        data_root: PathBuf::from(DEFAULT_DATA_ROOT),
        userns_remap: None,
        config_file: None,
    };
    for (key, value) in flag_values(&args) {
        apply(&mut config, key, value);
    }
    config
}

fn apply(config: &mut DockerdConfig, key: &str, value: String) {
    match key {
        "exec-opt" => {
            if let Some((opt, v)) = value.split_once('=')
                && opt.trim() == "native.cgroupdriver"
            {
                config.cgroup_driver = Some(v.trim().to_owned());
            }
        }
        "cgroup-parent" => config.cgroup_parent = Some(value),
        "iptables" => config.iptables = value != "false",
        "bridge" => config.bridge = Some(value),
        "storage-driver" => config.storage_driver = Some(value),
        "data-root" => config.data_root = PathBuf::from(value),
        "userns-remap" => config.userns_remap = Some(value),
        "config-file" => config.config_file = Some(PathBuf::from(value)),
        _ => {}
    }
}

/// The configuration `argv` gives, with the daemon.json it names (or the
/// default one, if it exists) filled in under the flags. dockerd itself
/// refuses a directive set both ways; the flag wins here.
///
/// # Errors
/// [`ConfigError`] when a daemon.json exists but cannot be read or parsed
/// (dockerd would refuse to start too).
pub fn resolve(argv: &[String]) -> Result<DockerdConfig, ConfigError> {
    let mut config = from_args(argv);
    let path = config
        .config_file
        .clone()
        .unwrap_or_else(|| PathBuf::from(DEFAULT_CONFIG_FILE));
    let explicit = config.config_file.is_some();
    let text = match std::fs::read_to_string(&path) {
        Ok(text) => text,
        Err(err) if !explicit && err.kind() == std::io::ErrorKind::NotFound => return Ok(config),
        Err(source) => return Err(ConfigError::Read { path, source }),
    };
    let json: serde_json::Value =
        serde_json::from_str(&text).map_err(|source| ConfigError::Parse {
            path: path.clone(),
            source,
        })?;
    merge_daemon_json(&mut config, argv, &json);
    config.config_file = Some(path);
    Ok(config)
}

/// Fills in what daemon.json sets and the command line does not.
fn merge_daemon_json(config: &mut DockerdConfig, argv: &[String], json: &serde_json::Value) {
    let (_, args) = split_binary(argv);
    let given: Vec<&str> = flag_values(&args).iter().map(|(k, _)| *k).collect();
    let unset = |key: &str| !given.contains(&key);
    if unset("exec-opt")
        && let Some(opts) = json.get("exec-opts").and_then(|v| v.as_array())
    {
        for opt in opts.iter().filter_map(|o| o.as_str()) {
            apply(config, "exec-opt", opt.to_owned());
        }
    }
    for (json_key, key) in [
        ("cgroup-parent", "cgroup-parent"),
        ("bridge", "bridge"),
        ("storage-driver", "storage-driver"),
        ("data-root", "data-root"),
        ("graph", "data-root"),
        ("userns-remap", "userns-remap"),
    ] {
        if unset(key)
            && let Some(value) = json.get(json_key).and_then(|v| v.as_str())
        {
            apply(config, key, value.to_owned());
        }
    }
    if unset("iptables")
        && let Some(value) = json.get("iptables").and_then(|v| v.as_bool())
    {
        config.iptables = value;
    }
}

/// `config` with `flags` applied on top, later flags overriding earlier
/// settings (as pflag does for single-valued flags).
pub fn with_flags(config: &DockerdConfig, flags: &[String]) -> DockerdConfig {
    let mut config = config.clone();
    for (key, value) in flag_values(flags) {
        apply(&mut config, key, value);
    }
    config
}

#[cfg(test)]
mod tests {
    use super::*;
    use rstest::rstest;

    fn argv(text: &str) -> Vec<String> {
        text.split_whitespace().map(str::to_owned).collect()
    }

    #[rstest]
    #[case("", None, None, true, None)]
    #[case(
        "/usr/sbin/dockerd --exec-opt native.cgroupdriver=systemd",
        Some("systemd"),
        None,
        true,
        None
    )]
    #[case(
        "--exec-opt=native.cgroupdriver=cgroupfs --cgroup-parent=/",
        Some("cgroupfs"),
        Some("/"),
        true,
        None
    )]
    #[case("--cgroup-parent / --iptables=false", None, Some("/"), false, None)]
    #[case("--iptables=false --iptables", None, None, true, None)]
    #[case("--debug --log-level info -b none", None, None, true, Some("none"))]
    #[case(
        "--bridge=none --exec-opt native.cgroupdriver = x",
        None,
        None,
        true,
        Some("none")
    )]
    fn flags(
        #[case] line: &str,
        #[case] driver: Option<&str>,
        #[case] parent: Option<&str>,
        #[case] iptables: bool,
        #[case] bridge: Option<&str>,
    ) {
        let c = from_args(&argv(line));
        assert_eq!(c.cgroup_driver.as_deref(), driver, "{line}");
        assert_eq!(c.cgroup_parent.as_deref(), parent, "{line}");
        assert_eq!(c.iptables, iptables, "{line}");
        assert_eq!(c.bridge.as_deref(), bridge, "{line}");
    }

    #[test]
    fn the_binary_and_harness_paths_are_read() {
        let c = from_args(&argv(
            "/usr/sbin/dockerd --data-root=/tmp/w/data -s overlay2 --pidfile=/tmp/w/p",
        ));
        assert_eq!(c.binary.as_deref(), Some("/usr/sbin/dockerd"));
        assert_eq!(c.data_root, PathBuf::from("/tmp/w/data"));
        assert_eq!(c.storage_driver.as_deref(), Some("overlay2"));
    }

    #[test]
    fn daemon_json_fills_in_under_the_flags() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("daemon.json");
        std::fs::write(
            &file,
            r#"{"exec-opts": ["native.cgroupdriver=systemd"], "iptables": false,
                "cgroup-parent": "/", "bridge": "none"}"#,
        )
        .unwrap();
        let args = vec![
            format!("--config-file={}", file.display()),
            "--bridge=docker1".to_owned(),
        ];
        let c = resolve(&args).unwrap();
        assert_eq!(c.cgroup_driver.as_deref(), Some("systemd"));
        assert!(!c.iptables);
        assert_eq!(c.cgroup_parent.as_deref(), Some("/"));
        assert_eq!(c.bridge.as_deref(), Some("docker1"));
        assert_eq!(c.config_file, Some(file));
    }

    #[test]
    fn a_named_but_missing_daemon_json_is_an_error() {
        let err = resolve(&argv("--config-file /nonexistent/daemon.json")).unwrap_err();
        assert_eq!(err.to_string(), "failed to read /nonexistent/daemon.json");
    }

    #[test]
    fn added_flags_override() {
        let base = from_args(&argv("--iptables=true --cgroup-parent=/"));
        let c = with_flags(&base, &argv("--iptables=false"));
        assert!(!c.iptables);
        assert_eq!(c.cgroup_parent.as_deref(), Some("/"));
    }
}
