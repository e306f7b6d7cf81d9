#!/usr/bin/env python3
"""Write a large synthetic Flask repository, to measure how flask-harden scales.

    tests/gen_large_repo.py KIND SCALE OUT_DIR

KIND is one of:
  requirements  a requirements.txt of 12,500 x SCALE pinned lines (SCALE 8: 100,000)
  routes        one views.py with 625 x SCALE POST routes reading forms (SCALE 8: 5,000)
  files         25,000 x SCALE small modules in nested packages (SCALE 8: 200,000)
  template      one template of about 0.5 MB x SCALE (SCALE 8: about 4 MB)

Each repository has a small Flask app (app.py) so every check has something to look at, and is
a git repository with one commit, as `fix` needs. BENCHMARKS.md ("Scaling") lists the timings
and how to rerun them.
"""
import os
import subprocess
import sys

APP = '''from flask import Flask, render_template, request

app = Flask(__name__)
app.secret_key = "dev"


@app.route("/")
def index():
    return render_template("index.html", bio=request.args.get("bio", ""))
'''


def write(root, rel, text):
    path = os.path.join(root, rel)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w", encoding="utf-8") as f:
        f.write(text)


def requirements(root, scale):
    n = 12_500 * scale
    lines = ["flask==2.0.0"] + [f"package-{i}=={i % 50}.{i % 7}.0" for i in range(n - 1)]
    write(root, "requirements.txt", "\n".join(lines) + "\n")


def routes(root, scale):
    n = 625 * scale
    # Forms posted to views that use the session: each one is a CSRF finding with a fix.
    out = ["from flask import request, session", "from app import app", ""]
    for i in range(n):
        out += [
            f'@app.route("/form{i}", methods=["POST"])',
            f"def form{i}():",
            f'    name = request.form["name{i}"]',
            f'    session["last"] = name',
            f"    return name.upper()",
            "",
        ]
    write(root, "views.py", "\n".join(out) + "\n")


def files(root, scale):
    n = 25_000 * scale
    for i in range(n):
        write(root, f"pkg{i // 1000}/sub{(i // 100) % 10}/m{i}.py", f"def f{i}(x):\n    return x + {i}\n")
    for d in range(0, n, 1000):
        write(root, f"pkg{d // 1000}/__init__.py", "")


def template(root, scale):
    block = '<div class="row">{{ item.name }} {% if item.safe %}{{ item.bio|safe }}{% endif %}</div>\n'
    form = '<form method="post" action="/x">{{ csrf_token() }}<input name="q"></form>\n'
    reps = (500_000 * scale) // (len(block) + len(form))
    write(root, "templates/big.html", (block + form) * reps)


def main():
    if len(sys.argv) != 4 or sys.argv[1] not in ("requirements", "routes", "files", "template"):
        sys.exit(__doc__)
    kind, scale, root = sys.argv[1], int(sys.argv[2]), sys.argv[3]
    os.makedirs(root, exist_ok=True)
    write(root, "app.py", APP)
    write(root, "templates/index.html", "<p>{{ bio|safe }}</p>\n")
    globals()[kind](root, scale)
    git = ["git", "-c", "user.name=bench", "-c", "user.email=bench@example.com"]
    subprocess.run(git + ["init", "-q"], cwd=root, check=True)
    subprocess.run(git + ["add", "-A"], cwd=root, check=True)
    subprocess.run(git + ["commit", "-q", "-m", "generated"], cwd=root, check=True)


if __name__ == "__main__":
    main()
