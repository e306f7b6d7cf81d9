"""Benchmark flask-harden against `ruff check --select S` and `bandit -r` on real Flask apps.

Run through bench/run.sh, which creates bench/.venv with the pinned ruff and bandit first.
Standard library only. Steps:

1. download the pinned packages with `pip download --no-deps` into bench/.downloads/;
2. extract each into bench/corpus/<name>/ as a plain tree of the Python files and templates;
3. `cargo build --release`;
4. check that flask-harden neither crashes nor hangs on the whole corpus and on each tree;
5. time each tool on the whole corpus (hyperfine when installed, else a small timer), measure
   peak RSS, time flask-harden on each tree;
6. write BENCHMARKS.md at the repository root.
"""

from __future__ import annotations

import argparse
import datetime as _dt
import json
import os
import platform
import shlex
import shutil
import statistics
import subprocess
import sys
import tarfile
import threading
import time
import zipfile
from pathlib import Path, PurePosixPath

# The corpus: real Flask applications, pinned so that reruns measure the same trees.
PACKAGES = [
    ("apache-superset", "6.1.0"),
    ("pgadmin4", "9.18"),
    ("indico", "3.3.14"),
    ("ckan", "2.12.0"),
    ("flaskbb", "2.2.0"),
    ("flask-appbuilder", "5.3.0"),
    ("mlflow", "3.18.0"),
    ("apache-airflow-core", "3.3.2"),
]

# What flask-harden reads besides Python (src/project/mod.rs): these extensions anywhere, and
# any file with an extension inside a folder named templates/ or template/.
TEMPLATE_EXTENSIONS = {"html", "htm", "jinja", "jinja2", "j2", "xml", "xhtml"}

# Bump when the extraction rule changes, so that old trees are extracted again.
EXTRACT_RULE = "py+templates-v1"

# Targets from the project's issues.
TARGET_BANDIT_RATIO = 50.0
TARGET_PEAK_MB = 500.0
# Fix planning (issue 14): with fix offers at most twice the time of --no-fixes and under
# 400 MB; --no-fixes at most 0.7x ruff's time; `fix` on a 50-file app under 0.3 s.
TARGET_FIX_OFFERS_RATIO = 2.0
TARGET_FIX_OFFERS_MB = 400.0
TARGET_RUFF_RATIO = 0.7
TARGET_TUI_FIXES_S = 0.5
TARGET_FIX_APP_S = 0.3

# The apps `fix` is timed on: the bundled example app and the test apps (each copied into a
# fresh git repository), and two corpus trees of about the size of a whole small app.
FIX_APPS = ["tests/fixtures/example_app", "tests/fixtures/apps/guestbook",
            "tests/fixtures/apps/helpdesk", "tests/fixtures/apps/inventory",
            "tests/fixtures/apps/legacy_shop", "tests/fixtures/apps/factory_notes"]
FIX_CORPUS_TREES = ["flask-appbuilder", "flaskbb"]


def log(msg: str) -> None:
    print(f"[bench] {msg}", file=sys.stderr, flush=True)


# --------------------------------------------------------------------------------------------
# Corpus


def keep_member(rel: str) -> bool:
    parts = PurePosixPath(rel).parts
    if not parts or any(p in ("..", "") for p in parts) or rel.startswith("/"):
        return False
    if any(p.endswith((".dist-info", ".egg-info", ".data")) for p in parts[:-1]):
        return False
    name = parts[-1].lower()
    ext = name.rsplit(".", 1)[1] if "." in name else ""
    if ext in ("py", "pyw") or ext in TEMPLATE_EXTENSIONS:
        return True
    in_templates = any(p in ("templates", "template") for p in parts[:-1])
    return in_templates and ext != ""


def extract(archive: Path, dest: Path) -> None:
    """Extract the kept members of a wheel or sdist into dest, never outside it."""
    if dest.exists():
        shutil.rmtree(dest)
    dest.mkdir(parents=True)

    def write(rel: str, data: bytes) -> None:
        target = dest / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(data)

    if archive.suffix in (".whl", ".zip"):
        with zipfile.ZipFile(archive) as z:
            for info in z.infolist():
                if not info.is_dir() and keep_member(info.filename):
                    write(info.filename, z.read(info))
    elif archive.name.endswith((".tar.gz", ".tgz", ".tar.bz2", ".tar")):
        with tarfile.open(archive) as t:
            for m in t.getmembers():
                if not m.isfile():
                    continue
                # An sdist has one top folder, name-version/: drop it.
                parts = PurePosixPath(m.name).parts
                rel = "/".join(parts[1:]) if len(parts) > 1 else m.name
                if keep_member(rel):
                    f = t.extractfile(m)
                    if f is not None:
                        write(rel, f.read())
    else:
        raise SystemExit(f"unknown archive type: {archive}")


def norm(name: str) -> str:
    return name.lower().replace("-", "_").replace(".", "_")


def prepare_corpus(bench: Path, venv: Path, skip_download: bool) -> list[dict]:
    downloads = bench / ".downloads"
    corpus = bench / "corpus"
    downloads.mkdir(exist_ok=True)
    corpus.mkdir(exist_ok=True)
    trees = []
    for name, version in PACKAGES:
        tree = corpus / name
        marker = downloads / f"{name}-{version}.{EXTRACT_RULE}.done"
        if not marker.exists():
            archive = find_archive(downloads, name, version)
            if archive is None:
                if skip_download:
                    raise SystemExit(f"{name}=={version} is not downloaded (--skip-download)")
                log(f"downloading {name}=={version}")
                subprocess.run(
                    [str(venv / "bin" / "pip"), "download", "--no-deps",
                     "--ignore-requires-python", "--disable-pip-version-check", "--quiet",
                     "-d", str(downloads), f"{name}=={version}"],
                    check=True,
                )
                archive = find_archive(downloads, name, version)
                if archive is None:
                    raise SystemExit(f"pip download of {name}=={version} left no archive")
            log(f"extracting {archive.name}")
            extract(archive, tree)
            for old in downloads.glob(f"{name}-*.done"):
                old.unlink()
            marker.write_text(archive.name + "\n")
        archive_name = marker.read_text().strip()
        py = [p for p in tree.rglob("*") if p.is_file() and p.suffix in (".py", ".pyw")]
        other = [p for p in tree.rglob("*") if p.is_file() and p.suffix not in (".py", ".pyw")]
        trees.append({
            "name": name,
            "version": version,
            "archive": archive_name,
            "path": tree,
            "py_files": len(py),
            "py_bytes": sum(p.stat().st_size for p in py),
            "py_lines": sum(p.read_bytes().count(b"\n") for p in py),
            "template_files": len(other),
            "template_bytes": sum(p.stat().st_size for p in other),
        })
    # Trees of packages no longer in the list would skew the timings.
    wanted = {name for name, _ in PACKAGES}
    for p in corpus.iterdir():
        if p.is_dir() and p.name not in wanted:
            log(f"removing stale tree {p}")
            shutil.rmtree(p)
    return trees


def find_archive(downloads: Path, name: str, version: str) -> Path | None:
    prefix = f"{norm(name)}-{version}"
    for p in sorted(downloads.iterdir()):
        if norm(p.name).startswith(norm(prefix)) and (
            p.name.endswith((".whl", ".tar.gz", ".tgz", ".zip", ".tar.bz2"))
        ):
            return p
    return None


# --------------------------------------------------------------------------------------------
# Running and timing


def run_measured(cmd: list[str], timeout: float, stdout=subprocess.DEVNULL) -> dict:
    """Run cmd once: wall time, exit status, peak RSS (from wait4, as GNU time reports it)."""
    start = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=stdout, stderr=subprocess.PIPE)
    timed_out = threading.Event()

    def kill() -> None:
        timed_out.set()
        proc.kill()

    timer = threading.Timer(timeout, kill)
    timer.start()
    # Drain stderr in a thread so a chatty tool cannot block on a full pipe.
    err_chunks: list[bytes] = []
    reader = threading.Thread(target=lambda: err_chunks.append(proc.stderr.read()))
    reader.start()
    _, status, rusage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - start
    timer.cancel()
    reader.join()
    proc.returncode = os.waitstatus_to_exitcode(status)
    return {
        "wall": wall,
        "returncode": proc.returncode,
        "signal": -proc.returncode if proc.returncode < 0 else None,
        "timed_out": timed_out.is_set(),
        "max_rss_kb": rusage.ru_maxrss,
        "cpu": rusage.ru_utime + rusage.ru_stime,
        "stderr": b"".join(err_chunks).decode("utf-8", "replace"),
    }


def summarize(times: list[float], cpu: list[float] | None = None) -> dict:
    return {
        "cpu_median": statistics.median(cpu) if cpu else None,
        "runs": len(times),
        "median": statistics.median(times),
        "mean": statistics.fmean(times),
        "stddev": statistics.stdev(times) if len(times) > 1 else 0.0,
        "min": min(times),
        "max": max(times),
    }


def time_command(name: str, cmd: list[str], runs: int, warmup: int, out_dir: Path,
                 timeout: float, use_hyperfine: bool) -> dict:
    """Median wall time of cmd over runs; hyperfine when available."""
    log(f"timing {name}: {runs} run(s), {warmup} warmup")
    if use_hyperfine:
        export = out_dir / f"hyperfine-{name}.json"
        subprocess.run(
            ["hyperfine", "--style", "basic", "-N", "-i", "--runs", str(runs),
             "--warmup", str(warmup), "--command-name", name,
             "--export-json", str(export), shlex.join(cmd)],
            check=True, stdout=sys.stderr,
        )
        res = json.loads(export.read_text())["results"][0]
        return {**summarize(res["times"]), "cpu_median": res["user"] + res["system"],
                "timer": "hyperfine",
                "exit_codes": sorted(set(res.get("exit_codes") or []))}
    for _ in range(warmup):
        run_measured(cmd, timeout)
    times, cpu, codes = [], [], set()
    for _ in range(runs):
        r = run_measured(cmd, timeout)
        if r["timed_out"]:
            raise SystemExit(f"{name} timed out after {timeout}s")
        times.append(r["wall"])
        cpu.append(r["cpu"])
        codes.add(r["returncode"])
    return {**summarize(times, cpu), "timer": "python", "exit_codes": sorted(codes)}


def time_interleaved(plan: dict[str, tuple[list[str], int, int, float]]) -> dict[str, dict]:
    """Time several commands in turn, A B C A B C ..., so that a change in the machine's load
    during the measurement falls on all of them alike. plan maps a name to (command, runs,
    warmup runs, timeout); a command with fewer runs drops out of the later rounds. Also
    records each run's CPU time and peak RSS (from wait4)."""
    desc = ", ".join(f"{name} x{runs}" for name, (_, runs, _, _) in plan.items())
    log(f"timing interleaved: {desc}")
    for cmd, _, warmup, timeout in plan.values():
        for _ in range(warmup):
            run_measured(cmd, timeout)
    raw: dict[str, list[dict]] = {name: [] for name in plan}
    for i in range(max(runs for _, runs, _, _ in plan.values())):
        for name, (cmd, runs, _, timeout) in plan.items():
            if i >= runs:
                continue
            r = run_measured(cmd, timeout)
            if r["timed_out"]:
                raise SystemExit(f"{name} timed out after {timeout}s")
            raw[name].append(r)
            log(f"  run {i + 1}/{runs} {name}: {r['wall']:.3f} s wall, {r['cpu']:.3f} s CPU, "
                f"{mb(r['max_rss_kb']):.0f} MB")
    return {
        name: {**summarize([r["wall"] for r in rs], [r["cpu"] for r in rs]),
               "timer": "python, interleaved",
               "exit_codes": sorted({r["returncode"] for r in rs}),
               "max_rss_kb": max(r["max_rss_kb"] for r in rs)}
        for name, rs in raw.items() if rs
    }


def git_copy(src: Path, dest: Path) -> None:
    """Copy a tree into dest and commit it, so that `fix` reads it from HEAD."""
    if dest.exists():
        shutil.rmtree(dest)
    shutil.copytree(src, dest, symlinks=True)
    env = {**os.environ, "GIT_AUTHOR_NAME": "bench", "GIT_AUTHOR_EMAIL": "bench@example.com",
           "GIT_COMMITTER_NAME": "bench", "GIT_COMMITTER_EMAIL": "bench@example.com"}
    for cmd in (["git", "init", "-q"], ["git", "add", "-A"],
                ["git", "commit", "-q", "-m", "bench"]):
        subprocess.run(cmd, cwd=dest, env=env, check=True, stdout=subprocess.DEVNULL)


def time_fix_apps(fh: Path, root: Path, corpus: Path, runs: int, out_dir: Path,
                  timeout: float) -> list[dict]:
    """`flask-harden fix` (diffs only) on each app, from a fresh git copy."""
    apps = [(PurePosixPath(a).name, root / a) for a in FIX_APPS]
    apps += [(name, corpus / name) for name in FIX_CORPUS_TREES]
    out = []
    for name, src in apps:
        if not src.is_dir():
            continue
        dest = out_dir / "fix-apps" / name
        git_copy(src, dest)
        py_files = sum(1 for p in dest.rglob("*.py") if ".git" not in p.parts)
        times, rss, cpu = [], 0, []
        for _ in range(runs + 1):  # the first run warms the caches
            r = run_measured([str(fh), "fix", str(dest)], timeout)
            times.append(r["wall"])
            cpu.append(r["cpu"])
            rss = max(rss, r["max_rss_kb"])
        s = summarize(times[1:], cpu[1:])
        out.append({"name": name, "py_files": py_files, "runs": runs, "max_rss_kb": rss, **s})
    return out


def time_tui(fh: Path, out_dir: Path, runs: int, timeout: float) -> list[dict]:
    """The interactive mode on each app copied by time_fix_apps, in a tmux pane: how long after
    the scan every item's fix is ready, from the milestones it writes to
    FLASK_HARDEN_TRACE_FILE. Empty without tmux."""
    if shutil.which("tmux") is None:
        log("tmux is not installed: the interactive mode is not timed")
        return []
    out = []
    for dest in sorted((out_dir / "fix-apps").iterdir()):
        py_files = sum(1 for p in dest.rglob("*.py") if ".git" not in p.parts)
        after_scan, scan = [], []
        for run in range(runs + 1):  # the first run warms the caches
            trace = (out_dir / f"tui-{dest.name}-{run}.log").resolve()
            trace.unlink(missing_ok=True)
            socket = f"flask-harden-bench-{os.getpid()}-{dest.name}-{run}"
            subprocess.run(["tmux", "-L", socket, "new-session", "-d", "-x", "120", "-y", "40",
                            "-e", f"FLASK_HARDEN_TRACE_FILE={trace}", "-c", str(dest),
                            f"'{fh}' ."], check=True)
            events: dict[str, float] = {}
            deadline = time.monotonic() + timeout
            while time.monotonic() < deadline and "fixes-ready" not in events:
                time.sleep(0.05)
                if trace.exists():
                    for line in trace.read_text().splitlines():
                        ms, _, what = line.partition(" ")
                        events.setdefault(what, float(ms) / 1000)
            subprocess.run(["tmux", "-L", socket, "kill-server"], check=False,
                           stderr=subprocess.DEVNULL)
            if run == 0 or "fixes-ready" not in events or "scanned" not in events:
                continue
            scan.append(events["scanned"])
            after_scan.append(events["fixes-ready"] - events["scanned"])
        if after_scan:
            out.append({"name": dest.name, "py_files": py_files, "runs": len(after_scan),
                        "scan_median": statistics.median(scan), **summarize(after_scan)})
    return out


def tool_version(cmd: list[str]) -> str:
    try:
        out = subprocess.run(cmd, capture_output=True, text=True, timeout=60)
        return (out.stdout or out.stderr).strip().splitlines()[0]
    except Exception as e:  # noqa: BLE001 - a version string is informative only
        return f"unknown ({e})"


# --------------------------------------------------------------------------------------------
# Robustness: no crash, no hang


def robustness(fh: Path, corpus: Path, trees: list[dict], timeout: float, out_dir: Path) -> dict:
    """flask-harden on the whole corpus and on each tree: exit 0 or 1, within the timeout."""
    results = []
    whole_json = None
    for label, path in [("corpus", corpus)] + [(t["name"], t["path"]) for t in trees]:
        out_file = out_dir / f"flask-harden-{label}.json"
        with open(out_file, "wb") as f:
            r = run_measured([str(fh), "check", str(path), "--format", "json", "--no-fixes"], timeout, stdout=f)
        ok = not r["timed_out"] and r["returncode"] in (0, 1)
        entry = {"label": label, "ok": ok, **{k: r[k] for k in
                 ("wall", "returncode", "signal", "timed_out", "max_rss_kb")}}
        if not ok:
            entry["stderr"] = r["stderr"][-2000:]
            log(f"flask-harden FAILED on {label}: {entry}")
        else:
            try:
                doc = json.loads(out_file.read_text())
                entry["diagnostics"] = doc.get("diagnostics", [])
                entry["items"] = {i["id"]: (i["status"], len(i["findings"]))
                                  for i in doc.get("items", [])}
                if label == "corpus":
                    whole_json = doc
            except (ValueError, KeyError) as e:
                entry["ok"] = False
                entry["stderr"] = f"invalid JSON output: {e}"
        results.append(entry)
    return {"runs": results, "whole": whole_json}


# --------------------------------------------------------------------------------------------
# Report


def machine_info() -> dict:
    cpu = "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    mem = "unknown"
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal"):
                mem = f"{int(line.split()[1]) / 1024 / 1024:.1f} GiB"
                break
    except OSError:
        pass
    return {"nproc": os.cpu_count(), "cpu": cpu, "mem": mem,
            "kernel": platform.release(), "os": platform.platform()}


def fmt_s(x: float) -> str:
    return f"{x:.3f} s" if x < 10 else f"{x:.1f} s"


def mb(kb: int) -> float:
    return kb / 1024


def write_report(path: Path, ctx: dict) -> None:
    m = ctx["machine"]
    t = ctx["timings"]
    fh, ruff, bandit = t["flask-harden"], t["ruff"], t.get("bandit")
    r_ruff = ruff["median"] / fh["median"]
    r_bandit = bandit["median"] / fh["median"] if bandit else float("nan")
    peak = ctx["peak_rss_kb"]
    rob = ctx["robustness"]
    all_ok = all(r["ok"] for r in rob["runs"])
    whole = next(r for r in rob["runs"] if r["label"] == "corpus")
    diags = whole.get("diagnostics", [])
    trees = ctx["trees"]

    def yes(b: bool) -> str:
        return "met" if b else "**not met**"

    L = []
    L.append("# Benchmarks")
    L.append("")
    L.append("How fast `flask-harden check` is on real Flask applications, next to "
             "`ruff check --select S` (ruff's flake8-bandit rules) and `bandit -r`. "
             "Everything below is written by `bench/run.sh`; rerun it to refresh the numbers.")
    L.append("")
    L.append(f"Measured on {ctx['date']}.")
    L.append("")
    L.append("## Caveats")
    L.append("")
    for c in ctx["caveats"]:
        L.append(f"- {c}")
    L.append("")
    L.append("## Results")
    L.append("")
    L.append("Whole process wall time on the whole corpus in one run (all trees under "
             "`bench/corpus`):")
    L.append("")
    L.append("| tool | command | runs | median wall | min | max | ratio to flask-harden "
             "(wall) | median CPU (user+sys) | ratio (CPU) |")
    L.append("| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
    for name, ratio in (("flask-harden", 1.0), ("ruff", r_ruff), ("bandit", r_bandit)):
        s = t.get(name)
        if s is None:
            L.append(f"| {name} | `{ctx['commands_display'][name]}` | 0 | not run | | | | | |")
            continue
        L.append(f"| {name} | `{ctx['commands_display'][name]}` | {s['runs']} | "
                 f"{fmt_s(s['median'])} | {fmt_s(s['min'])} | {fmt_s(s['max'])} | "
                 f"{ratio:.2f}x | {fmt_s(s['cpu_median'])} | "
                 f"{s['cpu_median'] / fh['cpu_median']:.2f}x |")
    L.append("")
    L.append("The tools were run in turn (flask-harden, bandit, ruff, flask-harden, bandit, "
             "ruff, ...; bandit drops out after its runs), after warmup runs of flask-harden and "
             "ruff, so that a change in load falls on all alike. The ratio of wall times is the "
             "targets' measure. CPU time (user + system, all threads) depends less on what else "
             "runs on the machine than wall time does; bandit uses one core, flask-harden and "
             "ruff use all.")
    L.append("")
    L.append("Peak resident memory (largest over the timed runs, from `wait4`, as GNU time "
             "reports it):")
    L.append("")
    L.append("| tool | peak RSS |")
    L.append("| --- | ---: |")
    L.append(f"| flask-harden | {mb(peak):.0f} MB |")
    for name in ("ruff", "bandit"):
        if ctx["other_rss_kb"].get(name):
            L.append(f"| {name} | {mb(ctx['other_rss_kb'][name]):.0f} MB |")
    L.append("")
    L.append("Targets:")
    L.append("")
    L.append("| target | measured | |")
    L.append("| --- | --- | --- |")
    L.append(f"| faster than ruff's S rules on the whole corpus | ruff / flask-harden = "
             f"{r_ruff:.2f}x (CPU: {ruff['cpu_median'] / fh['cpu_median']:.2f}x) | "
             f"{yes(r_ruff > 1)} |")
    L.append(f"| at least {TARGET_BANDIT_RATIO:.0f}x faster than bandit | bandit / flask-harden "
             f"= {r_bandit:.1f}x"
             + (f" (CPU: {bandit['cpu_median'] / fh['cpu_median']:.1f}x)" if bandit else "")
             + " | "
             f"{yes(r_bandit >= TARGET_BANDIT_RATIO) if bandit else 'not measured'} |")
    L.append(f"| peak memory under {TARGET_PEAK_MB:.0f} MB | {mb(peak):.0f} MB | "
             f"{yes(mb(peak) < TARGET_PEAK_MB)} |")
    L.append(f"| no crash or hang (exit 0 or 1 within {ctx['timeout']:.0f} s, whole corpus and "
             f"each tree) | {sum(r['ok'] for r in rob['runs'])}/{len(rob['runs'])} runs clean "
             f"| {yes(all_ok)} |")
    L.append("")
    L.append("### With fix offers")
    L.append("")
    L.append("`--format json` works out which findings have a verified fix (`fix.available`), "
             "`--format sarif` adds the fixes themselves; both plan and verify every fix. They "
             "ran in the same rounds as the tools above.")
    L.append("")
    L.append("| command | runs | median wall | min | max | ratio to `--no-fixes` (wall) | "
             "median CPU | peak RSS |")
    L.append("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
    offers = []
    for name in ("flask-harden json", "flask-harden sarif"):
        s = t.get(name)
        if not s or not s.get("runs"):
            continue
        ratio = s["median"] / fh["median"]
        offers.append((name, ratio, mb(s["max_rss_kb"])))
        L.append(f"| `{ctx['commands_display'][name]}` | {s['runs']} | {fmt_s(s['median'])} | "
                 f"{fmt_s(s['min'])} | {fmt_s(s['max'])} | {ratio:.2f}x | "
                 f"{fmt_s(s['cpu_median'])} | {mb(s['max_rss_kb']):.0f} MB |")
    L.append("")
    fix_apps = ctx.get("fix_apps") or []
    if fix_apps:
        L.append("### `fix` on whole apps")
        L.append("")
        L.append("`flask-harden fix PATH` (plan, verify and print every fix; nothing is "
                 "committed) on the bundled apps and on two corpus trees, each copied into a "
                 "fresh git repository, after one warmup run. It compiles every patched file "
                 "with CPython, so the time includes starting `python3` once. Where a fix changes a "
                 "dependency file, it also includes checking that the new set resolves against "
                 "the package index (`uv pip compile` when uv is on PATH, else `pip install "
                 "--dry-run`, which takes about 2 s): that is most of the time of the small "
                 "bundled apps.")
        L.append("")
        L.append("| app | Python files | runs | median wall | min | max | median CPU | peak RSS |")
        L.append("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
        for a in fix_apps:
            L.append(f"| {a['name']} | {a['py_files']} | {a['runs']} | {fmt_s(a['median'])} | "
                     f"{fmt_s(a['min'])} | {fmt_s(a['max'])} | {fmt_s(a['cpu_median'])} | "
                     f"{mb(a['max_rss_kb']):.0f} MB |")
        L.append("")
    tui_apps = ctx.get("tui_apps") or []
    if tui_apps:
        L.append("### Fixes in the interactive mode")
        L.append("")
        L.append("`flask-harden PATH` in a 120x40 tmux pane on the same copies, after one "
                 "warmup run: when the scan's results are on screen, and how long after that "
                 "every item's fix is ready (planned and verified; items appear one by one "
                 "before that), from the milestones the interface writes to "
                 "`FLASK_HARDEN_TRACE_FILE`.")
        L.append("")
        L.append("| app | Python files | runs | scan done (median) | fixes ready after the "
                 "scan: median | min | max |")
        L.append("| --- | ---: | ---: | ---: | ---: | ---: | ---: |")
        for a in tui_apps:
            L.append(f"| {a['name']} | {a['py_files']} | {a['runs']} | "
                     f"{fmt_s(a['scan_median'])} | {fmt_s(a['median'])} | {fmt_s(a['min'])} | "
                     f"{fmt_s(a['max'])} |")
        L.append("")
    L.append("Targets of fix planning:")
    L.append("")
    L.append("| target | measured | |")
    L.append("| --- | --- | --- |")
    for name, ratio, peak_mb in offers:
        L.append(f"| `{name.split()[-1]}` with fix offers at most "
                 f"{TARGET_FIX_OFFERS_RATIO:.0f}x the time of `--no-fixes` | {ratio:.2f}x | "
                 f"{yes(ratio <= TARGET_FIX_OFFERS_RATIO)} |")
        L.append(f"| `{name.split()[-1]}` with fix offers under {TARGET_FIX_OFFERS_MB:.0f} MB | "
                 f"{peak_mb:.0f} MB | {yes(peak_mb < TARGET_FIX_OFFERS_MB)} |")
    L.append(f"| `--no-fixes` at most {TARGET_RUFF_RATIO}x ruff's time | "
             f"{1 / r_ruff:.2f}x | {yes(1 / r_ruff <= TARGET_RUFF_RATIO)} |")
    def near_50(apps: list[dict]) -> list[dict]:
        return [a for a in apps if 30 <= a["py_files"] <= 120]

    for a in near_50(fix_apps):
        L.append(f"| `fix` on a 50-file app under {TARGET_FIX_APP_S} s ({a['name']}, "
                 f"{a['py_files']} files) | {fmt_s(a['median'])} | "
                 f"{yes(a['median'] < TARGET_FIX_APP_S)} |")
    for a in near_50(tui_apps):
        L.append(f"| in the TUI, the fixes of a 50-file app ready within {TARGET_TUI_FIXES_S} s "
                 f"of the scan ({a['name']}, {a['py_files']} files) | {fmt_s(a['median'])} | "
                 f"{yes(a['median'] <= TARGET_TUI_FIXES_S)} |")
    L.append("")
    L.append("### flask-harden per tree")
    L.append("")
    L.append(f"Timer: {next(iter(ctx['per_tree'].values()))['timer']}, {ctx['runs']} runs "
             f"each.")
    L.append("")
    L.append("| tree | Python files | median wall | CPU (user+sys) | exit | diagnostics |")
    L.append("| --- | ---: | ---: | ---: | ---: | ---: |")
    for tr in trees:
        s = ctx["per_tree"][tr["name"]]
        rr = next(r for r in rob["runs"] if r["label"] == tr["name"])
        L.append(f"| {tr['name']} | {tr['py_files']} | {fmt_s(s['median'])} | "
                 f"{fmt_s(s['cpu_median'])} | {rr['returncode']} | "
                 f"{len(rr.get('diagnostics', []))} |")
    L.append("")
    L.append("### Diagnostics on the whole corpus")
    L.append("")
    L.append(f"Files that flask-harden could not use and reported in the JSON output's "
             f"`diagnostics` array instead: **{len(diags)}**.")
    if diags:
        L.append("")
        for d in diags[:10]:
            msg = str(d.get("message", "")).replace("\n", " ")
            if len(msg) > 160:
                msg = msg[:157] + "..."
            L.append(f"- `{d.get('path', '')}`: {msg}")
        if len(diags) > 10:
            L.append(f"- ... and {len(diags) - 10} more")
    if ctx.get("ruff_syntax_errors") is not None:
        L.append("")
        L.append(f"For comparison, ruff reported {ctx['ruff_syntax_errors']} syntax error(s) on "
                 f"the same corpus.")
    if not all_ok:
        L.append("")
        L.append("Failed runs:")
        L.append("")
        for r in rob["runs"]:
            if not r["ok"]:
                L.append(f"- {r['label']}: exit {r['returncode']}, signal {r['signal']}, "
                         f"timed out {r['timed_out']}: `{r.get('stderr', '').strip()[-300:]}`")
    L.append("")
    L.append("## Corpus")
    L.append("")
    L.append("Each package is fetched with `pip download --no-deps` at the pinned version and "
             "extracted into `bench/corpus/<name>/` keeping only Python files and templates "
             "(the files flask-harden reads; static JavaScript, CSS, images and package metadata "
             "are left out).")
    L.append("")
    L.append("| package | version | archive | Python files | Python lines | Python MB | "
             "template files | template MB |")
    L.append("| --- | --- | --- | ---: | ---: | ---: | ---: | ---: |")
    for tr in trees:
        L.append(f"| {tr['name']} | {tr['version']} | `{tr['archive']}` | {tr['py_files']} | "
                 f"{tr['py_lines']} | {tr['py_bytes'] / 1e6:.1f} | {tr['template_files']} | "
                 f"{tr['template_bytes'] / 1e6:.1f} |")
    tot = lambda k: sum(tr[k] for tr in trees)  # noqa: E731
    L.append(f"| **total** | | | {tot('py_files')} | {tot('py_lines')} | "
             f"{tot('py_bytes') / 1e6:.1f} | {tot('template_files')} | "
             f"{tot('template_bytes') / 1e6:.1f} |")
    L.append("")
    if ctx.get("ruff_files") is not None:
        L.append(f"ruff checked {ctx['ruff_files']} files (`--show-files`); bandit reported "
                 f"metrics for {ctx.get('bandit_files', '?')} files. flask-harden reads the "
                 "Python files and the templates, and skips folders named `build` or `dist` "
                 "among others, as ruff does by default.")
        L.append("")
    L.append("## Machine and tools")
    L.append("")
    L.append(f"- CPU: {m['cpu']}, {m['nproc']} logical cores (`nproc`)")
    L.append(f"- Memory: {m['mem']}")
    L.append(f"- OS: {m['os']}")
    L.append(f"- Load average before / after the timings: {ctx['load_before']} / "
             f"{ctx['load_after']}")
    for k, v in ctx["versions"].items():
        L.append(f"- {k}: {v}")
    L.append("")
    L.append("## Rerun")
    L.append("")
    L.append("```sh")
    L.append("apt-get install -y hyperfine   # optional: without it a small Python timer is used")
    L.append("bench/run.sh")
    L.append("```")
    L.append("")
    L.append(f"This run: `{ctx['argv']}`. Options: `--runs N` (repetitions of flask-harden and "
             "ruff), `--bandit-runs N`, `--timeout S`, `--skip-download`, `--no-report` "
             "(print only), `--note TEXT` (add a caveat). The downloads are kept in "
             "`bench/.downloads/`, the trees in `bench/corpus/`, raw outputs (hyperfine JSON, "
             "flask-harden JSON per tree) in `bench/.out/`; none of them is committed.")
    L.append("")
    # Sections written by hand below the generated report (measurements of another kind)
    # are kept.
    kept = ""
    if path.exists():
        old = path.read_text()
        at = old.find(KEPT_SECTION)
        if at >= 0:
            kept = old[at:]
    path.write_text("\n".join(L) + ("\n" + kept if kept else ""))


# The first heading of the hand-written part of BENCHMARKS.md, which a rerun keeps.
KEPT_SECTION = "## Scaling with repository size"



# --------------------------------------------------------------------------------------------


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--root", type=Path, required=True)
    ap.add_argument("--venv", type=Path, required=True)
    ap.add_argument("--runs", type=int, default=10, help="runs of flask-harden and ruff")
    ap.add_argument("--warmup", type=int, default=1)
    ap.add_argument("--bandit-runs", type=int, default=1)
    ap.add_argument("--fix-runs", type=int, default=3,
                    help="runs of flask-harden with fix offers (json, sarif) and of `fix`")
    ap.add_argument("--timeout", type=float, default=300.0,
                    help="seconds before flask-harden counts as hung")
    ap.add_argument("--skip-download", action="store_true")
    ap.add_argument("--skip-build", action="store_true")
    ap.add_argument("--no-report", action="store_true", help="do not write BENCHMARKS.md")
    ap.add_argument("--note", action="append", default=[], help="a caveat for BENCHMARKS.md")
    args = ap.parse_args()

    root: Path = args.root
    bench = root / "bench"
    out_dir = bench / ".out"
    out_dir.mkdir(exist_ok=True)
    corpus = bench / "corpus"
    ruff_bin = args.venv / "bin" / "ruff"
    bandit_bin = args.venv / "bin" / "bandit"

    trees = prepare_corpus(bench, args.venv, args.skip_download)
    log(f"corpus: {sum(t['py_files'] for t in trees)} Python files, "
        f"{sum(t['py_bytes'] for t in trees) / 1e6:.1f} MB")

    if not args.skip_build:
        log("cargo build --release")
        subprocess.run(["cargo", "build", "--release", "--quiet"], cwd=root, check=True)
    fh = root / "target" / "release" / "flask-harden"

    use_hyperfine = shutil.which("hyperfine") is not None
    if not use_hyperfine:
        log("hyperfine not found: using the Python timer (apt-get install -y hyperfine)")

    load_before = " ".join(Path("/proc/loadavg").read_text().split()[:3])

    log("robustness: flask-harden on the whole corpus and on each tree")
    rob = robustness(fh, corpus, trees, args.timeout, out_dir)

    rel_corpus = os.path.relpath(corpus, root)
    cmds = {
        "flask-harden": [str(fh), "check", str(corpus), "--format", "json", "--no-fixes"],
        "ruff": [str(ruff_bin), "check", "--isolated", "--select", "S", "--no-cache",
                 "--output-format", "json", str(corpus)],
        "bandit": [str(bandit_bin), "-r", "-q", "-f", "json", "-o",
                   str(out_dir / "bandit.json"), str(corpus)],
        "flask-harden json": [str(fh), "check", str(corpus), "--format", "json"],
        "flask-harden sarif": [str(fh), "check", str(corpus), "--format", "sarif"],
    }
    display = {
        "flask-harden": f"target/release/flask-harden check {rel_corpus} --format json --no-fixes",
        "ruff": f"ruff check --isolated --select S --no-cache --output-format json {rel_corpus}",
        "bandit": f"bandit -r -q -f json -o bench/.out/bandit.json {rel_corpus}",
        "flask-harden json": f"target/release/flask-harden check {rel_corpus} --format json",
        "flask-harden sarif": f"target/release/flask-harden check {rel_corpus} --format sarif",
    }

    # bandit takes minutes a run: fewer runs, no warmup, in the same rounds as the others.
    timings = time_interleaved({
        "flask-harden": (cmds["flask-harden"], args.runs, args.warmup, args.timeout),
        "bandit": (cmds["bandit"], args.bandit_runs, 0, 3600.0),
        "ruff": (cmds["ruff"], args.runs, args.warmup, args.timeout * 10),
        "flask-harden json": (cmds["flask-harden json"], args.fix_runs, 0, args.timeout),
        "flask-harden sarif": (cmds["flask-harden sarif"], args.fix_runs, 0, args.timeout),
    })

    log("flask-harden fix on the bundled apps")
    fix_apps = time_fix_apps(fh, root, corpus, args.fix_runs, out_dir, args.timeout)
    log("the interactive mode on the same apps")
    tui_apps = time_tui(fh, out_dir, args.fix_runs, args.timeout)

    # Peak memory of flask-harden: the largest over its timed runs and the robustness runs.
    peak = max([timings["flask-harden"]["max_rss_kb"]]
               + [r["max_rss_kb"] for r in rob["runs"] if r["label"] == "corpus"])
    other_rss = {name: timings[name]["max_rss_kb"] for name in ("ruff", "bandit")
                 if name in timings}

    log("flask-harden per tree")
    per_tree = {}
    for tr in trees:
        per_tree[tr["name"]] = time_command(
            f"flask-harden-{tr['name']}",
            [str(fh), "check", str(tr["path"]), "--format", "json", "--no-fixes"],
            args.runs, args.warmup, out_dir, args.timeout, use_hyperfine)

    load_after = " ".join(Path("/proc/loadavg").read_text().split()[:3])

    # What the other tools looked at.
    ruff_files = ruff_syntax = bandit_files = None
    try:
        shown = subprocess.run([str(ruff_bin), "check", "--isolated", "--select", "S",
                                "--no-cache", "--show-files", str(corpus)],
                               capture_output=True, text=True, check=False)
        ruff_files = sum(1 for line in shown.stdout.splitlines() if line.strip())
        out = subprocess.run(cmds["ruff"], capture_output=True, text=True, check=False)
        ruff_syntax = sum(1 for d in json.loads(out.stdout) if d.get("code") is None)
    except (OSError, ValueError):
        pass
    try:
        bj = json.loads((out_dir / "bandit.json").read_text())
        bandit_files = len([k for k in bj.get("metrics", {}) if k != "_totals"])
    except (OSError, ValueError):
        pass

    caveats = [
        f"The machine has {os.cpu_count()} cores. Unless the load average below is close to "
        "zero, other work shared them during the runs, which makes every absolute time longer "
        "and noisier; the ratios are steadier than the absolute times but not immune. Rerun "
        "`bench/run.sh` on a quiet machine for clean numbers.",
        (f"bandit ran {args.bandit_runs} time{'s' if args.bandit_runs != 1 else ''} only (it "
         f"takes minutes per run), against "
         f"{args.runs} runs of the other two; its median rests on few samples."
         if args.bandit_runs else
         "bandit was not run this time (`--bandit-runs 0`)."),
        "All three tools write JSON; flask-harden and ruff to /dev/null, bandit to a file.",
        "`--isolated` keeps ruff from reading any configuration file, so every tree is checked "
        "with the same S rules.",
        "flask-harden parses templates as well as Python files; ruff and bandit read Python "
        "only.",
    ] + args.note

    ctx = {
        "date": _dt.datetime.now(_dt.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "machine": machine_info(),
        "versions": {
            "flask-harden": tool_version([str(fh), "--version"]) + " (release build)",
            "rustc": tool_version(["rustc", "--version"]),
            "ruff": tool_version([str(ruff_bin), "--version"]),
            "bandit": tool_version([str(bandit_bin), "--version"]),
            "python (bandit)": tool_version([str(args.venv / "bin" / "python"), "--version"]),
            "hyperfine": tool_version(["hyperfine", "--version"]) if use_hyperfine else "absent",
        },
        "trees": trees,
        "timings": timings,
        "per_tree": per_tree,
        "peak_rss_kb": peak,
        "other_rss_kb": other_rss,
        "fix_apps": fix_apps,
        "tui_apps": tui_apps,
        "runs": args.runs,
        "robustness": rob,
        "timeout": args.timeout,
        "commands_display": display,
        "load_before": load_before,
        "load_after": load_after,
        "ruff_files": ruff_files,
        "ruff_syntax_errors": ruff_syntax,
        "bandit_files": bandit_files,
        "caveats": caveats,
        # run.sh passes --root R --venv V first; the rest is what the user typed.
        "argv": shlex.join(["bench/run.sh", *sys.argv[5:]]),
    }

    summary = {k: v for k, v in ctx.items() if k not in ("robustness", "trees")}
    summary["trees"] = [{k: (str(v) if isinstance(v, Path) else v) for k, v in t.items()}
                        for t in trees]
    summary["robustness"] = [{k: v for k, v in r.items() if k != "diagnostics"}
                             | {"diagnostics": len(r.get("diagnostics", []))}
                             for r in rob["runs"]]
    (out_dir / "summary.json").write_text(json.dumps(summary, indent=2, default=str))

    fhm, rm = (timings[k]["median"] for k in ("flask-harden", "ruff"))
    bm = timings["bandit"]["median"] if "bandit" in timings else float("nan")
    n_diag = len(next(r for r in rob["runs"] if r["label"] == "corpus").get("diagnostics", []))
    print(f"flask-harden median {fhm:.3f}s | ruff {rm:.3f}s ({rm / fhm:.2f}x) | "
          f"bandit {bm:.1f}s ({bm / fhm:.1f}x) | peak RSS {mb(peak):.0f} MB | "
          f"diagnostics {n_diag} | "
          f"clean runs {sum(r['ok'] for r in rob['runs'])}/{len(rob['runs'])}")
    if not args.no_report:
        write_report(root / "BENCHMARKS.md", ctx)
        log("wrote BENCHMARKS.md")


if __name__ == "__main__":
    main()
