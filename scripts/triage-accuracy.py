#!/usr/bin/env python3
"""Scores `dindcheck triage` against the labelled real-log corpus (fixtures/corpus/).

Usage: scripts/triage-accuracy.py [--split heldout|train] [--bin PATH] [--misses] [--start FILE] [--count N]

For each excerpt of the split it runs triage (all files in one call, JSON lines) and compares:
  - outcome: the label's daemon-failed / container-failed / ready against triage's verdict and phase;
  - family (labels with a failure): triage's `family` against the label's;
  - signature (labels whose `cause` names a specific root cause): the expected signature is the FIRST
    catalogue entry (src/signatures.yaml, in precedence order) whose pattern matches the label's cause
    text, decided without looking at the log; triage must name exactly that entry. A cause that no entry
    matches counts as a miss (the catalogue does not cover it).
Prints per-family accuracy, the totals, and with --misses every miss. The labels were written from each
thread's resolution, never from triage's output; the split is sha256(source) mod 100 < 37 -> heldout.
--start FILE scores only the labels from the one for FILE on, and --count N at most N of them (labels are
appended by round, so this scores one round's logs alone, or the logs a build was first scored on).
"""
import argparse
import collections
import json
import pathlib
import re
import subprocess
import sys

import yaml

ROOT = pathlib.Path(__file__).resolve().parent.parent
CATEGORY_FAMILY = {"socket": "listener", "iptables": "firewall"}


def load_catalogue():
    doc = yaml.safe_load((ROOT / "src" / "signatures.yaml").read_text())
    entries = []
    for e in doc["signatures"]:
        try:
            entries.append((e["id"], re.compile(e["pattern"])))
        except re.error as err:
            print(f"warning: {e['id']}: pattern not usable in Python: {err}", file=sys.stderr)
    return entries


def expected_signature(catalogue, cause):
    for sid, rx in catalogue:
        if rx.search(cause):
            return sid
    return None


def predicted(doc):
    verdict = doc.get("verdict")
    phase = doc.get("phase")
    if verdict == "ready":
        outcome = "ready"
    elif phase in ("container", "container-failed"):
        outcome = "container-failed"
    else:
        outcome = "daemon-failed"
    family = doc.get("family")
    if family is None and doc.get("entry"):
        entry = doc["entry"]
        family = entry.get("family") or CATEGORY_FAMILY.get(entry.get("category"), entry.get("category"))
    signature = doc.get("signature")
    if signature in ("unknown", None) or verdict == "ready":
        signature = None
    return outcome, family, signature


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--split", default="heldout", choices=["heldout", "train"])
    ap.add_argument("--bin", default=str(ROOT / "target" / "release" / "dindcheck"))
    ap.add_argument("--misses", action="store_true")
    ap.add_argument("--start", metavar="FILE", help="score from the label of this log file on")
    ap.add_argument("--count", type=int, help="score at most this many labels")
    args = ap.parse_args()
    labels = yaml.safe_load((ROOT / "fixtures" / "corpus" / f"{args.split}.yaml").read_text())
    if args.start:
        names = [e["file"] for e in labels]
        if args.start not in names:
            sys.exit(f"--start {args.start}: no such label in {args.split}.yaml")
        labels = labels[names.index(args.start):]
    if args.count is not None:
        labels = labels[:args.count]
    files = [str(ROOT / "fixtures" / "corpus" / args.split / e["file"]) for e in labels]
    run = subprocess.run([args.bin, "triage", "--format", "json", *files],
                         capture_output=True, text=True, check=False)
    docs = [json.loads(line) for line in run.stdout.splitlines() if line.strip()]
    if len(docs) != len(labels):
        sys.exit(f"triage answered for {len(docs)} of {len(labels)} logs: {run.stderr[-2000:]}")
    catalogue = load_catalogue()
    per_family = collections.defaultdict(lambda: [0, 0])
    outcome_ok = family_ok = family_n = sig_ok = sig_n = uncovered = 0
    misses = []
    for label, doc in zip(labels, docs):
        outcome, family, signature = predicted(doc)
        name = label["file"]
        if outcome == label["outcome"]:
            outcome_ok += 1
        else:
            misses.append(f"outcome   {name}: want {label['outcome']}, got {outcome}")
        if label["outcome"] != "ready":
            family_n += 1
            hit = family == label["family"]
            family_ok += hit
            per_family[label["family"]][0] += hit
            per_family[label["family"]][1] += 1
            if not hit:
                misses.append(f"family    {name}: want {label['family']}, got {family}")
            if label.get("cause"):
                sig_n += 1
                want = expected_signature(catalogue, label["cause"])
                if want is None:
                    uncovered += 1
                if want is not None and signature == want:
                    sig_ok += 1
                else:
                    misses.append(f"signature {name}: want {want or '(no entry matches the cause)'}"
                                  f", got {signature}  [cause: {label['cause']}]")
    pct = lambda a, b: f"{100.0 * a / b:.1f}%" if b else "n/a"
    print(f"split {args.split}: {len(labels)} logs ({family_n} with a failure, {sig_n} with a specific cause)")
    for fam in sorted(per_family):
        ok, n = per_family[fam]
        print(f"  family {fam:<11} {ok:>3}/{n:<3} {pct(ok, n)}")
    print(f"outcome accuracy:   {outcome_ok}/{len(labels)} {pct(outcome_ok, len(labels))}")
    print(f"family accuracy:    {family_ok}/{family_n} {pct(family_ok, family_n)}")
    print(f"signature accuracy: {sig_ok}/{sig_n} {pct(sig_ok, sig_n)}"
          f" ({uncovered} causes match no catalogue entry)")
    if args.misses:
        print("\n".join(misses))
    return 0


if __name__ == "__main__":
    sys.exit(main())
