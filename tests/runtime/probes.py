"""Probes of the hardened runtime_app fixture, run with real Flask by tests/runtime.rs.

Run from the app's folder: python probes.py. Prints one line per probe and exits non-zero on
the first failure.
"""

import os
import re
import sys

sys.path.insert(0, os.getcwd())
for var in ("SECRET_KEY", "FLASK_SECRET_KEY", "FLASK_DEBUG"):
    os.environ.pop(var, None)


def ok(what):
    print(f"ok: {what}")


# The app refuses to start without a secret key in the environment.
try:
    import app as module  # noqa: F401
except KeyError as exc:
    assert "SECRET_KEY" in str(exc), exc
    ok("importing the app without SECRET_KEY raises KeyError('SECRET_KEY')")
else:
    raise AssertionError("the app imported without SECRET_KEY in the environment")
sys.modules.pop("app", None)

os.environ["SECRET_KEY"] = "probe-" + "0123456789abcdef" * 4
import app as module  # noqa: E402

app = module.app
assert app.config["SECRET_KEY"] == os.environ["SECRET_KEY"]
ok("SECRET_KEY comes from the environment")

# Debug mode is off, and the __main__ block no longer asks for it.
assert app.debug is False, app.debug
source = open("app.py", encoding="utf-8").read()
runs = re.findall(r"app\.run\([^)]*\)", source)
assert runs, "app.run() is gone from app.py"
assert all("debug" not in r for r in runs), runs
ok(f"app.debug is False; {runs[0]} has no debug argument")

client = app.test_client()

# CSRF: a login POST without the token is refused…
resp = client.post("/login", data={"username": "alice", "password": "wonderland"})
assert resp.status_code == 400, (resp.status_code, resp.text)
assert "CSRF" in resp.text, resp.text
ok("POST /login without a CSRF token: 400")

# …and succeeds with the token the form page carries.
page = client.get("/login")
assert page.status_code == 200
found = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
assert found, page.text
token = found.group(1)
resp = client.post(
    "/login",
    data={"username": "alice", "password": "wonderland", "csrf_token": token},
)
assert resp.status_code == 302, (resp.status_code, resp.text)
ok("POST /login with the token from the form: 302")

# The session cookie set at login carries Secure, HttpOnly and SameSite=Lax.
cookies = [c for c in resp.headers.getlist("Set-Cookie") if c.startswith("session=")]
assert cookies, resp.headers
attrs = [a.strip().lower() for a in cookies[-1].split(";")[1:]]
for flag in ("secure", "httponly", "samesite=lax"):
    assert flag in attrs, (flag, cookies[-1])
ok("session Set-Cookie: Secure; HttpOnly; SameSite=Lax")
with client.session_transaction() as sess:
    assert sess["user"] == "alice", dict(sess)
ok("the session holds the logged-in user")

# The other cookie the app sets carries the flags too.
resp = client.get("/theme/dark")
theme = [c for c in resp.headers.getlist("Set-Cookie") if c.startswith("theme=")]
assert theme, resp.headers
attrs = [a.strip().lower() for a in theme[0].split(";")[1:]]
for flag in ("secure", "httponly", "samesite=lax"):
    assert flag in attrs, (flag, theme[0])
ok("theme Set-Cookie: Secure; HttpOnly; SameSite=Lax")

# XSS: a script in the name comes back escaped.
payload = "<script>alert(1)</script>"
resp = client.get("/greet", query_string={"name": payload})
assert resp.status_code == 200
assert payload not in resp.text, resp.text
assert "&lt;script&gt;alert(1)&lt;/script&gt;" in resp.text, resp.text
ok("GET /greet with a script: escaped")

# JSON validation: a body that does not fit gets 400 with the errors listed. The API is
# under CSRFProtect too, so the client sends the token as the header AJAX code would; the
# login cleared the session (and the token in it), so a page rendered since carries a new one.
fresh = re.search(r'name="csrf_token" value="([^"]+)"', client.get("/login").text).group(1)
headers = {"X-CSRFToken": fresh}
# Both keys are required (the view reads them with [...]); nothing says what type they are,
# so the model takes any value for them.
resp = client.post("/api/notes", json={"tags": []}, headers=headers)
assert resp.status_code == 400, (resp.status_code, resp.text)
assert resp.is_json, resp.text
errors = resp.get_json()["errors"]
locs = sorted(tuple(e["loc"]) for e in errors)
assert locs == [("body",), ("title",)], errors
assert all(e["msg"] for e in errors), errors
ok(f"POST /api/notes with an invalid body: 400, errors at {locs}")

resp = client.post("/api/notes", json={"title": "t", "body": "b"}, headers=headers)
assert resp.status_code == 201, (resp.status_code, resp.text)
assert resp.get_json() == {"title": "t", "body": "b", "count": 1}, resp.get_json()
ok("POST /api/notes with a valid body: 201")

print("all probes passed")
