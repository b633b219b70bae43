#!/usr/bin/env python3
"""Checks dindcheck's house of layers (ARCHITECTURE.md) from the code's own imports.

Reads every `crate::…` and `super::…` path outside `#[cfg(test)]` blocks of src/**/*.rs, maps
each file to its top-level module and each module to its layer, and fails on
  - an import from a lower layer up to a higher one, and
  - a cycle between top-level modules, or between files of one module.
Prints the module graph it read. Usage: scripts/check-layers.py [SRC_DIR]
"""
import pathlib
import re
import sys

LAYERS = [
    ("plain data", ["report_format", "scenario", "matrix", "error_text", "fixture_reports"]),
    ("clients", ["process", "engine", "binaries"]),
    ("knowledge", ["classify", "evidence", "triage", "doctor"]),
    ("execution", ["agent", "sandbox", "runner", "schedule"]),
    ("analysis and output", ["analysis", "report"]),
    ("commands", ["errors", "commands", "cli", "main", "lib"]),
]
LAYER_OF = {m: i for i, (_, mods) in enumerate(LAYERS) for m in mods}
PATH = re.compile(r"\b(crate|super)((?:::[A-Za-z_][A-Za-z0-9_]*)+)")


def module_path(src, file):
    rel = file.relative_to(src).with_suffix("")
    parts = list(rel.parts)
    return parts


def strip_tests(text):
    """Drops `#[cfg(test)]` items (the test module at the bottom, test-only helpers)."""
    out, skip_depth, depth, pending = [], None, 0, False
    for line in text.splitlines():
        stripped = line.strip()
        if skip_depth is None and stripped.startswith("#[cfg(test)]"):
            pending = True
            continue
        opens, closes = line.count("{"), line.count("}")
        if pending:
            if opens == 0 and stripped.endswith(";"):
                pending = False
                continue
            skip_depth, pending = depth, False
        if skip_depth is not None:
            depth += opens - closes
            if depth <= skip_depth:
                skip_depth = None
            continue
        depth += opens - closes
        out.append(line)
    return "\n".join(out)


def imports(src, file):
    parts = module_path(src, file)
    text = strip_tests(file.read_text())
    text = re.sub(r"//[^\n]*", "", text)
    found = set()
    for kind, rest in PATH.findall(text):
        names = rest.strip(":").split("::")
        if kind == "crate":
            target = names
        else:
            base = parts[:-1]
            while names and names[0] == "super":
                names, base = names[1:], base[:-1]
            target = base + names
        if target:
            found.add(tuple(target))
    return found


def cycles(graph):
    seen, stack, found = {}, [], []

    def visit(node):
        seen[node] = "open"
        stack.append(node)
        for nxt in sorted(graph.get(node, ())):
            if seen.get(nxt) == "open":
                found.append(stack[stack.index(nxt):] + [nxt])
            elif nxt not in seen:
                visit(nxt)
        stack.pop()
        seen[node] = "done"

    for node in sorted(graph):
        if node not in seen:
            visit(node)
    return found


def main():
    src = pathlib.Path(sys.argv[1] if len(sys.argv) > 1 else "src")
    files = sorted(p for p in src.rglob("*.rs") if "bin" not in p.relative_to(src).parts)
    problems = []
    modules, file_graph = {}, {}
    known = {tuple(module_path(src, f)) for f in files}
    for file in files:
        parts = module_path(src, file)
        top = parts[0]
        if top not in LAYER_OF:
            problems.append(f"{file}: module `{top}` is in no layer of this script")
            continue
        for target in imports(src, file):
            other = target[0]
            if other not in LAYER_OF:
                continue
            if other != top:
                modules.setdefault(top, set()).add(other)
                if LAYER_OF[other] > LAYER_OF[top]:
                    problems.append(
                        f"{file}: imports {'::'.join(target)} from layer "
                        f"'{LAYERS[LAYER_OF[other]][0]}' above its own "
                        f"'{LAYERS[LAYER_OF[top]][0]}'"
                    )
            # File-level edge: the longest known module path the import names.
            for n in range(len(target), 0, -1):
                if target[:n] in known and target[:n] != tuple(parts):
                    # An import of a folder module's own declaring file from
                    # its children is a re-export, not a dependency.
                    if tuple(parts[: n]) != target[:n]:
                        file_graph.setdefault(tuple(parts), set()).add(target[:n])
                    break
    for cycle in cycles(modules):
        problems.append("module cycle: " + " -> ".join(cycle))
    for cycle in cycles(file_graph):
        problems.append("file cycle: " + " -> ".join("::".join(c) for c in cycle))
    for i, (name, mods) in enumerate(LAYERS):
        uses = sorted({o for m in mods for o in modules.get(m, ())})
        print(f"{i + 1} {name}: {', '.join(mods)}  (uses: {', '.join(uses) or '-'})")
    if problems:
        print("\n".join(problems), file=sys.stderr)
        print(f"{len(problems)} layering problem(s)", file=sys.stderr)
        return 1
    print("no upward import, no module or file cycle")
    return 0


if __name__ == "__main__":
    sys.exit(main())
