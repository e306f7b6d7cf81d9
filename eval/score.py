#!/usr/bin/env python3
"""Score flask-harden against the hand-written labels of the evaluation corpus.

For each app of eval/corpus.toml that is fetched in eval/corpus/<name>/ and has a label file
eval/labels/<name>.toml (the seven core items) or eval/labels/deployment/<name>.toml (the six
deployment items), runs

    flask-harden check --format json --no-fixes --offline <app>

and matches its findings to the labels (see eval/README.md, "Matching"). Prints, per set
(tune, held-out) and per check: labelled failures found / total (recall), findings on
labelled-safe spots / labelled-safe spots, findings that match no label (to review), and how
many apps get the labelled status; the core and the deployment items in tables of their own. Exits 0 whatever the figures; 2 when it cannot run (no
binary, no corpus file).

Standard library only, Python 3.9+.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import re
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
ITEMS = [
    "secret-key",
    "debug",
    "xss",
    "csrf",
    "session",
    "dependencies",
    "input-validation",
]
DEPLOYMENT_ITEMS = [
    "headers",
    "production-server",
    "proxy",
    "request-limits",
    "cors",
    "tls",
]
# Label groups: name, the items it labels, its folder under --labels-dir.
GROUPS = [("core", ITEMS, ""), ("deployment", DEPLOYMENT_ITEMS, "deployment")]
SETS = ["tune", "held-out"]
STATUSES = {"fail", "pass", "not-applicable"}


# ---------------------------------------------------------------------------------------------
# TOML: tomllib on Python 3.11+, else a reader for the subset the corpus and label files use
# (tables, arrays of tables, dotted headers, strings, integers, booleans, arrays of those).


def load_toml(path: Path) -> dict:
    text = path.read_text(encoding="utf-8")
    try:
        import tomllib  # type: ignore[import-not-found]
    except ImportError:
        return _parse_toml_subset(text, str(path))
    return tomllib.loads(text)


_KEY = r'(?:[A-Za-z0-9_-]+|"[^"]*")'


def _parse_value(raw: str, where: str):
    raw = raw.strip()
    if raw.startswith('"""') or raw.startswith("'''"):
        raise ValueError(f"{where}: multi-line strings need Python 3.11 (tomllib)")
    if raw.startswith('"'):
        m = re.match(r'"((?:[^"\\]|\\.)*)"\s*(#.*)?$', raw)
        if not m:
            raise ValueError(f"{where}: bad string {raw!r}")
        return json.loads('"' + m.group(1) + '"')
    if raw.startswith("'"):
        m = re.match(r"'([^']*)'\s*(#.*)?$", raw)
        if not m:
            raise ValueError(f"{where}: bad string {raw!r}")
        return m.group(1)
    if raw.startswith("["):
        body = raw[1 : raw.rindex("]")]
        parts = re.findall(r'"(?:[^"\\]|\\.)*"|\'[^\']*\'|[^,\s]+', body)
        return [_parse_value(p, where) for p in parts]
    raw = raw.split("#", 1)[0].strip()
    if raw in ("true", "false"):
        return raw == "true"
    if re.fullmatch(r"[+-]?\d+", raw):
        return int(raw)
    raise ValueError(f"{where}: unsupported value {raw!r}")


def _parse_toml_subset(text: str, name: str) -> dict:
    root: dict = {}
    cur = root
    for n, line in enumerate(text.splitlines(), 1):
        s = line.strip()
        if not s or s.startswith("#"):
            continue
        where = f"{name}:{n}"
        m = re.fullmatch(r"\[\[\s*(.+?)\s*\]\](\s*#.*)?", s)
        if m:
            *parents, last = [k.strip().strip('"') for k in m.group(1).split(".")]
            t = root
            for k in parents:
                t = t.setdefault(k, {})
                if isinstance(t, list):
                    t = t[-1]
            cur = {}
            t.setdefault(last, []).append(cur)
            continue
        m = re.fullmatch(r"\[\s*(.+?)\s*\](\s*#.*)?", s)
        if m:
            t = root
            for k in [k.strip().strip('"') for k in m.group(1).split(".")]:
                t = t.setdefault(k, {})
                if isinstance(t, list):
                    t = t[-1]
            cur = t
            continue
        m = re.fullmatch(rf"({_KEY})\s*=\s*(.+)", s)
        if not m:
            raise ValueError(f"{where}: cannot read {s!r}")
        cur[m.group(1).strip('"')] = _parse_value(m.group(2), where)
    return root


# ---------------------------------------------------------------------------------------------
# Corpus and labels


def load_corpus(path: Path) -> list:
    apps = load_toml(path).get("app", [])
    for a in apps:
        for key in ("name", "url", "commit", "set"):
            if key not in a:
                raise ValueError(f"{path}: an app lacks {key!r}")
        if not re.fullmatch(r"[0-9a-f]{40}", a["commit"]):
            raise ValueError(f"{path}: {a['name']}: commit is not 40 hex digits")
        if a["set"] not in SETS:
            raise ValueError(f"{path}: {a['name']}: set must be tune or held-out")
        a.setdefault("batch", 1)
    return apps


def expected_sets(apps: list) -> dict:
    """The held-out rule of README.md, within each batch: sort by sha256(name); positions 0,
    3, 6... held out."""
    out = {}
    for batch in sorted({a["batch"] for a in apps}):
        names = [a["name"] for a in apps if a["batch"] == batch]
        order = sorted(names, key=lambda n: hashlib.sha256(n.encode("utf-8")).hexdigest())
        out.update({n: ("held-out" if i % 3 == 0 else "tune") for i, n in enumerate(order)})
    return out


def load_labels(path: Path, as_written: bool = False, items: list = ITEMS) -> dict:
    data = load_toml(path)
    if as_written:
        data.setdefault("status", {}).update(data.get("status_as_written", {}))
        for kind in ("findings", "safe"):
            data[kind] = [e for e in data.get(kind, []) if not e.get("added_after_tool")]
    status = data.get("status", {})
    for item in items:
        if status.get(item) not in STATUSES:
            raise ValueError(f"{path}: status.{item} must be one of {sorted(STATUSES)}")
    for kind in ("findings", "safe"):
        for e in data.get(kind, []):
            if e.get("item") not in items:
                raise ValueError(f"{path}: a {kind} entry has item {e.get('item')!r}")
            if not e.get("anywhere") and ("file" not in e or "line" not in e):
                raise ValueError(f"{path}: a {kind} entry lacks file/line: {e}")
            if kind == "findings" and e.get("anywhere") and "rule" not in e:
                raise ValueError(f"{path}: an anywhere finding needs a rule: {e}")
    return data


# ---------------------------------------------------------------------------------------------
# Running flask-harden


def run_tool(binary: str, app_dir: Path, timeout: int) -> dict:
    cmd = [binary, "check", "--format", "json", "--no-fixes", "--offline", str(app_dir)]
    try:
        p = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        return {"error": f"timed out after {timeout} s"}
    if p.returncode not in (0, 1):
        return {"error": f"exit {p.returncode}: {p.stderr.strip()[:300]}"}
    try:
        return json.loads(p.stdout)
    except json.JSONDecodeError as e:
        return {"error": f"output is not JSON: {e}"}


def tool_findings(report: dict) -> tuple:
    statuses = {}
    findings = []
    for item in report.get("items", []):
        statuses[item.get("id")] = item.get("status")
        for f in item.get("findings", []):
            findings.append(
                {
                    "item": item.get("id"),
                    "rule": f.get("rule", ""),
                    "file": f.get("path", ""),
                    "line": int(f.get("line", 0)),
                    "end_line": int(f.get("end_line", f.get("line", 0))),
                    "message": f.get("message", ""),
                }
            )
    return statuses, findings


def widen_lock_entries(labels: dict, app_dir: Path) -> None:
    """A label on a package of a JSON lock file (Pipfile.lock) spans the package's whole entry,
    from its key line to the line closing its object, since a tool may point at the key or at
    the "version" line inside it."""
    cache = {}
    for e in labels.get("findings", []) + labels.get("safe", []):
        f = e.get("file", "")
        if e.get("anywhere") or not f.endswith("Pipfile.lock") or "end_line" in e:
            continue
        if f not in cache:
            try:
                cache[f] = (app_dir / f).read_text(encoding="utf-8").splitlines()
            except OSError:
                cache[f] = []
        lines = cache[f]
        start = int(e["line"])
        if not 1 <= start <= len(lines) or not lines[start - 1].rstrip().endswith("{"):
            continue
        indent = len(lines[start - 1]) - len(lines[start - 1].lstrip())
        for n in range(start, len(lines)):
            text = lines[n]
            if text.strip().startswith("}") and len(text) - len(text.lstrip()) == indent:
                e["end_line"] = n + 1
                break


def near(f: dict, e: dict, tol: int) -> bool:
    if f["item"] != e["item"] or f["file"] != e["file"]:
        return False
    lo = int(e["line"])
    hi = int(e.get("end_line", lo))
    return f["line"] - tol <= hi and lo <= f["end_line"] + tol


# ---------------------------------------------------------------------------------------------
# Scoring one app


def score_app(labels: dict, statuses: dict, findings: list, tol: int, items: list) -> dict:
    findings = [f for f in findings if f["item"] in items]
    expected = labels.get("findings", [])
    safe = labels.get("safe", [])
    found = [False] * len(expected)
    flagged = [False] * len(safe)
    matched_finding = [False] * len(findings)
    for i, e in enumerate(expected):
        for j, f in enumerate(findings):
            if e.get("anywhere"):
                ok = f["item"] == e["item"] and f["rule"] == e["rule"]
            else:
                ok = near(f, e, tol)
            if ok:
                found[i] = True
                matched_finding[j] = True
    for i, e in enumerate(safe):
        for j, f in enumerate(findings):
            if not e.get("anywhere") and near(f, e, tol) and not matched_finding[j]:
                flagged[i] = True
                matched_finding[j] = True
    per_item = {}
    for item in items:
        per_item[item] = {
            "label_status": labels["status"][item],
            "tool_status": statuses.get(item, "missing"),
            "failures": sum(1 for e in expected if e["item"] == item),
            "found": sum(1 for e, ok in zip(expected, found) if e["item"] == item and ok),
            "safe": sum(1 for e in safe if e["item"] == item),
            "safe_flagged": sum(1 for e, fl in zip(safe, flagged) if e["item"] == item and fl),
            "unmatched": sum(
                1 for f, m in zip(findings, matched_finding) if f["item"] == item and not m
            ),
            "findings": sum(1 for f in findings if f["item"] == item),
        }
    return {
        "items": per_item,
        "missed": [e for e, ok in zip(expected, found) if not ok],
        "safe_flagged": [e for e, fl in zip(safe, flagged) if fl],
        "unmatched": [f for f, m in zip(findings, matched_finding) if not m],
    }


def agree(label_status: str, tool_status: str) -> bool:
    """Both fail, or neither: pass and not-applicable both mean "nothing to fix" here."""
    return (label_status == "fail") == (tool_status == "fail")


def totals(results: list, set_name: str, group: str, items: list) -> dict:
    out = {}
    for item in items + ["all"]:
        keys = items if item == "all" else [item]
        t = {"apps": 0, "status_agree": 0, "failures": 0, "found": 0, "safe": 0,
             "safe_flagged": 0, "unmatched": 0, "findings": 0}
        for r in results:
            if r["set"] != set_name or group not in r.get("score", {}):
                continue
            for k in keys:
                s = r["score"][group]["items"][k]
                t["apps"] += 1
                t["status_agree"] += int(agree(s["label_status"], s["tool_status"]))
                for f in ("failures", "found", "safe", "safe_flagged", "unmatched", "findings"):
                    t[f] += s[f]
        out[item] = t
    return out


def pct(a: int, b: int) -> str:
    return f"{100.0 * a / b:5.1f}%" if b else "    -"


def print_table(title: str, t: dict, n_apps: int, items: list) -> None:
    print(f"\n== {title} ({n_apps} apps) ==")
    print(f"{'check':<17} {'recall':>15} {'safe flagged':>15} {'unmatched':>9} "
          f"{'findings':>8} {'status agrees':>15}")
    for item in items + ["all"]:
        s = t[item]
        print(
            f"{item:<17} {s['found']:>4}/{s['failures']:<4}{pct(s['found'], s['failures'])} "
            f"{s['safe_flagged']:>4}/{s['safe']:<4}{pct(s['safe_flagged'], s['safe'])} "
            f"{s['unmatched']:>9} {s['findings']:>8} "
            f"{s['status_agree']:>4}/{s['apps']:<4}{pct(s['status_agree'], s['apps'])}"
        )


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--bin", default=None,
                    help="flask-harden binary (default: $CARGO_TARGET_DIR or target/, release)")
    ap.add_argument("--corpus", default=str(HERE / "corpus.toml"))
    ap.add_argument("--apps-dir", default=str(HERE / "corpus"))
    ap.add_argument("--labels-dir", default=str(HERE / "labels"))
    ap.add_argument("--tolerance", type=int, default=2, help="lines either side (default 2)")
    ap.add_argument("--timeout", type=int, default=300, help="seconds per app (default 300)")
    ap.add_argument("--only", action="append", default=[], help="score some apps only")
    ap.add_argument("--set", choices=SETS, help="score one set only")
    ap.add_argument("--as-written", action="store_true",
                    help="ignore label entries marked added_after_tool (the labels as first written)")
    ap.add_argument("--json", action="store_true", help="print the whole result as JSON")
    ap.add_argument("--details", action="store_true",
                    help="also list missed labels, flagged safe spots and unmatched findings")
    ap.add_argument("--list-corpus", action="store_true",
                    help="print name, url and commit of each app, one a line, and exit")
    ap.add_argument("--check-sets", action="store_true",
                    help="check each app's set against the held-out rule and exit")
    args = ap.parse_args()

    try:
        apps = load_corpus(Path(args.corpus))
    except (OSError, ValueError) as e:
        print(f"score.py: {e}", file=sys.stderr)
        return 2
    if args.list_corpus:
        for a in apps:
            print(a["name"], a["url"], a["commit"])
        return 0
    if args.check_sets:
        want = expected_sets(apps)
        bad = [a for a in apps if want[a["name"]] != a["set"]]
        for a in bad:
            print(f"{a['name']}: set is {a['set']}, the rule says {want[a['name']]}")
        print(f"{len(apps) - len(bad)}/{len(apps)} apps in the set the rule gives")
        return 0

    binary = args.bin
    if binary is None:
        target = os.environ.get("CARGO_TARGET_DIR") or str(HERE.parent / "target")
        binary = str(Path(target) / "release" / "flask-harden")
    if not (Path(binary).is_file() and os.access(binary, os.X_OK)):
        print(f"score.py: no flask-harden binary at {binary} (build it, or give --bin)",
              file=sys.stderr)
        return 2

    results = []
    for a in apps:
        if args.only and a["name"] not in args.only:
            continue
        if args.set and a["set"] != args.set:
            continue
        r = {"name": a["name"], "set": a["set"], "commit": a["commit"], "score": {}}
        results.append(r)
        app_dir = Path(args.apps_dir) / a["name"]
        if not app_dir.is_dir():
            r["error"] = f"not fetched ({app_dir}); run eval/fetch.sh"
            continue
        groups = {}
        for group, items, folder in GROUPS:
            label_path = Path(args.labels_dir) / folder / f"{a['name']}.toml"
            if not label_path.is_file():
                continue
            try:
                groups[group] = load_labels(label_path, args.as_written, items)
            except (OSError, ValueError) as e:
                r["error"] = f"labels: {e}"
                break
        if "error" in r:
            continue
        if not groups:
            r["error"] = f"no labels under {args.labels_dir} for {a['name']}"
            continue
        r["labels_meta"] = {g: lab.get("meta", {}) for g, lab in groups.items()}
        for lab in groups.values():
            widen_lock_entries(lab, app_dir)
        report = run_tool(binary, app_dir, args.timeout)
        if "error" in report:
            r["error"] = f"flask-harden: {report['error']}"
            continue
        statuses, findings = tool_findings(report)
        r["diagnostics"] = len(report.get("diagnostics", []))
        for group, items, _ in GROUPS:
            if group in groups:
                r["score"][group] = score_app(groups[group], statuses, findings,
                                              args.tolerance, items)

    summary = {g: {s: totals(results, s, g, items) for s in SETS} for g, items, _ in GROUPS}
    if args.json:
        json.dump({"tolerance": args.tolerance, "as_written": args.as_written,
                   "binary": binary, "summary": summary,
                   "apps": results}, sys.stdout, indent=2)
        print()
        return 0

    for r in results:
        if "error" in r:
            print(f"! {r['name']}: {r['error']}")
    for group, items, _ in GROUPS:
        for s in SETS:
            n = sum(1 for r in results if r["set"] == s and group in r["score"])
            if n:
                print_table(f"{group} items, {s}", summary[group][s], n, items)
    print("\nrecall: labelled failures with a matching finding; safe flagged: labelled-safe spots"
          f"\nwith a finding; unmatched: findings matching no label (line tolerance ±{args.tolerance}).")
    if args.details:
        for r in results:
            if not r["score"]:
                continue
            print(f"\n--- {r['name']} ({r['set']})")
            for group, items, _ in GROUPS:
                sc = r["score"].get(group)
                if not sc:
                    continue
                print_details(sc, items)
    return 0


def print_details(sc: dict, items: list) -> None:
    for item in items:
        s = sc["items"][item]
        if not agree(s["label_status"], s["tool_status"]):
            print(f"  status {item}: labelled {s['label_status']}, tool {s['tool_status']}")
    for e in sc["missed"]:
        loc = "anywhere" if e.get("anywhere") else f"{e['file']}:{e['line']}"
        print(f"  missed  {e['item']:<16} {loc} {e.get('rule', '')} -- {e.get('why', '')}")
    for e in sc["safe_flagged"]:
        print(f"  safe!   {e['item']:<16} {e['file']}:{e['line']} -- {e.get('why', '')}")
    for f in sc["unmatched"]:
        print(f"  review  {f['item']:<16} {f['file']}:{f['line']} {f['rule']}")


if __name__ == "__main__":
    sys.exit(main())
