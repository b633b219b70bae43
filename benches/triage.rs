//! Triage throughput on in-memory logs of each shape users paste: dockerd's
//! logrus text (the common case), its JSON format, journald-prefixed lines,
//! and an error-heavy log (every line an API error, the worst case for the
//! catalogue match). Each log ends in a fatal line. `scripts/bench-triage.sh`
//! measures the same against grep on a generated 1 GiB file.
//!
//! `catalogue/*` is what every process that classifies pays once, the agent
//! in every cell's sandbox among them: the built-in catalogue as the binary
//! loads it (the build script's JSON and prefilter plan), against reading the
//! same YAML at run time as a user's catalogue is read (parsed, checked, every
//! pattern compiled, the prefilter planned).

use std::hint::black_box;
use std::io::Cursor;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use dindcheck::classify::SignatureSet;
use dindcheck::triage::{triage_reader, triage_str};

const HEALTHY: [&str; 3] = [
    include_str!("../fixtures/logs/ready/dockerd-20.10-runsc-20240729.log"),
    include_str!("../fixtures/logs/ready/dockerd-20.10-native.log"),
    include_str!("../fixtures/logs/ready/dockerd-26.1-runsc-20240729.log"),
];
const JSON: &str = include_str!("../fixtures/logs/ready/dockerd-26.1-json-from-source.log");
const FATAL: &str = "failed to start daemon: Error initializing network controller: error obtaining \
    controller instance: failed to create NAT chain DOCKER: iptables failed: iptables -t nat -N \
    DOCKER: iptables: Failed to initialize nft: Protocol not supported\n (exit status 1)\n";
const SIZE: usize = 8 << 20;

/// Repeats `lines` (without readiness lines, which would restart triage)
/// through `dress` until the log is `SIZE` bytes, then adds the fatal line.
fn build(lines: &[&str], dress: impl Fn(usize, &str) -> String) -> String {
    let lines: Vec<&str> = lines
        .iter()
        .copied()
        .filter(|l| !l.contains("API listen on") && !l.trim().is_empty())
        .collect();
    let mut log = String::with_capacity(SIZE + 1024);
    let mut i = 0;
    while log.len() < SIZE {
        log.push_str(&dress(i, lines[i % lines.len()]));
        log.push('\n');
        i += 1;
    }
    log.push_str(FATAL);
    log
}

fn logs() -> Vec<(&'static str, String)> {
    let text: Vec<&str> = HEALTHY.iter().flat_map(|l| l.lines()).collect();
    let json: Vec<&str> = JSON.lines().collect();
    vec![
        ("logrus", build(&text, |_, l| l.to_owned())),
        ("json", build(&json, |_, l| l.to_owned())),
        (
            "journald",
            build(&text, |_, l| {
                format!("Nov 28 19:09:29 ip-10-0-3-17 dockerd[1187]: {l}")
            }),
        ),
        (
            "error-heavy",
            build(&text, |i, _| {
                format!(
                    "time=\"2026-11-28T19:09:29.{i:09}Z\" level=error msg=\"Handler for GET \
                     /v1.41/containers/c{i}/json returned error: No such container: c{i}\""
                )
            }),
        ),
    ]
}

fn bench(c: &mut Criterion) {
    let set = SignatureSet::builtin();
    let mut group = c.benchmark_group("triage");
    group.sample_size(10);
    for (name, log) in logs() {
        group.throughput(Throughput::Bytes(log.len() as u64));
        group.bench_function(format!("{name}/stream"), |b| {
            b.iter(|| {
                let triage = triage_reader(&set, "-", Cursor::new(log.as_bytes()))
                    .expect("reading memory cannot fail");
                black_box(triage)
            })
        });
        group.bench_function(format!("{name}/str"), |b| {
            b.iter(|| black_box(triage_str(&set, "-", &log)))
        });
        group.bench_function(format!("{name}/classify_log"), |b| {
            b.iter(|| black_box(set.classify_log(&log)))
        });
    }
    group.finish();
}

fn catalogue(c: &mut Criterion) {
    const YAML: &str = include_str!("../src/signatures.yaml");
    let mut group = c.benchmark_group("catalogue");
    group.bench_function("builtin", |b| b.iter(|| black_box(SignatureSet::builtin())));
    group.bench_function("parse-yaml", |b| {
        b.iter(|| {
            black_box(
                SignatureSet::parse(std::path::Path::new("signatures.yaml"), YAML)
                    .expect("the built-in catalogue parses"),
            )
        })
    });
    group.finish();
}

criterion_group!(benches, bench, catalogue);
criterion_main!(benches);
