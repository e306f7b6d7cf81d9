"""Dependency labels for one app: each pinned or locked version with a known advisory.

    python eval/label_deps.py eval/corpus/<name> [-a]

Reads requirements files (== pins), Pipfile and pyproject.toml (== pins), Pipfile.lock,
poetry.lock and uv.lock, checks each version against the PyPA advisory database (OSV YAML
files under ADVISORIES, default ../shared/advisories/pypa-advisory-database/vulns; withdrawn
records skipped; ECOSYSTEM ranges with introduced / fixed / last_affected, and versions lists),
and prints a [[findings]] entry per vulnerable pin for the app's label file. -a also lists the
pins found clean, as comments. Needs PyYAML and packaging (a labelling aid, not the scorer).
"""
import sys, re, json, os, glob, yaml
from pathlib import Path
from packaging.version import Version, InvalidVersion
from packaging.utils import canonicalize_name
DB = Path(os.environ.get("ADVISORIES", Path(__file__).resolve().parent.parent.parent / "shared/advisories/pypa-advisory-database/vulns"))
if not DB.is_dir():
    sys.exit(f"label_deps.py: no advisory database at {DB} (set ADVISORIES)")


def advisories(pkg):
    d = DB / canonicalize_name(pkg)
    out = []
    if not d.is_dir():
        # dir names may differ
        for cand in DB.iterdir():
            if canonicalize_name(cand.name) == canonicalize_name(pkg): d = cand; break
        else: return out
    for f in sorted(d.glob("*.yaml")):
        a = yaml.safe_load(f.read_text())
        if a.get("withdrawn"): continue
        out.append(a)
    return out
def affected(a, pkg, ver):
    try: v = Version(ver)
    except InvalidVersion: return False
    for af in a.get("affected", []):
        if canonicalize_name(af["package"]["name"]) != canonicalize_name(pkg): continue
        if ver in [str(x) for x in af.get("versions", []) or []]: return True
        for r in af.get("ranges", []) or []:
            if r.get("type") != "ECOSYSTEM": continue
            intro=None
            for ev in r["events"]:
                if "introduced" in ev: intro = Version("0") if ev["introduced"]=="0" else Version(ev["introduced"])
                elif "fixed" in ev and intro is not None:
                    if intro <= v < Version(ev["fixed"]): return True
                    intro=None
                elif "last_affected" in ev and intro is not None:
                    if intro <= v <= Version(ev["last_affected"]): return True
                    intro=None
            if intro is not None and v >= intro: return True
    return False
def pins(root):
    root = Path(root)
    for f in sorted(root.rglob("*")):
        rel = f.relative_to(root).as_posix()
        if ".git/" in rel or not f.is_file(): continue
        name = f.name
        if re.match(r"requirements.*\.txt$", name) or (f.parent.name=="requirements" and name.endswith(".txt")):
            for i,l in enumerate(f.read_text(errors="replace").splitlines(),1):
                m = re.match(r"\s*([A-Za-z0-9_.\-\[\]]+)\s*===?\s*([^\s;#]+)", l)
                if m: yield rel, i, re.sub(r"\[.*\]","",m.group(1)), m.group(2)
        elif name in ("Pipfile.lock",):
            j = json.loads(f.read_text()); txt=f.read_text().splitlines()
            for sec in ("default","develop"):
                for p,info in j.get(sec,{}).items():
                    v = info.get("version","").lstrip("=")
                    ln = next((i for i,l in enumerate(txt,1) if l.strip().startswith(f'"{p}"')),0)
                    yield rel+f"[{sec}]", ln, p, v
        elif name in ("poetry.lock","uv.lock"):
            txt=f.read_text().splitlines()
            for i,l in enumerate(txt):
                if l.startswith('name = "'):
                    p=l.split('"')[1]
                    if i+1<len(txt) and txt[i+1].startswith('version = "'):
                        yield rel, i+1, p, txt[i+1].split('"')[1]
        elif name in ("Pipfile","pyproject.toml"):
            for i,l in enumerate(f.read_text().splitlines(),1):
                m = re.match(r'\s*"?([A-Za-z0-9_.\-]+)"?\s*=\s*"==\s*([^"]+)"', l) or re.match(r'\s*"([A-Za-z0-9_.\-\[\]]+)\s*==\s*([^";]+)"', l)
                if m: yield rel, i, re.sub(r"\[.*\]","",m.group(1)), m.group(2).strip()
for rel, line, p, v in pins(sys.argv[1]):
    hits = [a for a in advisories(p) if affected(a,p,v)]
    if not hits:
        if "-a" in sys.argv: print(f"# {rel}:{line} {p}=={v} ok")
        continue
    old = [a["id"] for a in hits if str(a.get("published",""))[:10] <= "2024-10-10"]
    ids = [a["id"] for a in hits]
    f = rel.split("[")[0]
    rule = "dependencies/vulnerable-lock" if f.endswith(".lock") else "dependencies/vulnerable-pin"
    why = f"{p} {v}: {len(ids)} PyPA advisories ({', '.join(ids[:4])}{'...' if len(ids)>4 else ''}); {len(old)} published by 2024-10-10"
    print(f'[[findings]]\nitem = "dependencies"\nfile = "{f}"\nline = {line}\nrule = "{rule}"\nwhy = "{why}"\n')
