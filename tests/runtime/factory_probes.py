"""Probes of the hardened factory_configs fixture, run with real Flask by tests/runtime.rs.

Run from the app's folder: python factory_probes.py. Each probe builds the app the way one
setup does (production, development, the test suite's mapping) and checks that its logins,
forms and API still work with CSRF protection on. Exits non-zero on the first failure.
"""

import os
import re
import sys

sys.path.insert(0, os.getcwd())
for var in ("SECRET_KEY", "FLASK_SECRET_KEY", "FLASK_DEBUG", "FLASK_CONFIG"):
    os.environ.pop(var, None)



def create_app(*args):
    """The factory of a freshly imported app, as a new process would see it: the config
    classes read the environment when they are imported."""
    for name in list(sys.modules):
        if name == "config" or name == "notes" or name.startswith("notes."):
            del sys.modules[name]
    from notes import create_app as factory

    return factory(*args)


def ok(what):
    print(f"ok: {what}")


TOKEN = re.compile(r'name="csrf_token" value="([^"]+)"')


def token(client, path):
    page = client.get(path).get_data(as_text=True)
    found = TOKEN.search(page)
    assert found, f"no CSRF token in {path}: {page}"
    return found.group(1)


# Production refuses to start without the key…
os.environ["FLASK_CONFIG"] = "production"
try:
    create_app()
except RuntimeError as exc:
    assert "SECRET_KEY" in str(exc), exc
    ok("production without SECRET_KEY refuses to start (RuntimeError)")
else:
    raise AssertionError("the production app started without SECRET_KEY")

# …and with it, every form and the API work with CSRF on.
os.environ["SECRET_KEY"] = "probe-" + "0123456789abcdef" * 4
app = create_app()
assert app.config["SECRET_KEY"] == os.environ["SECRET_KEY"]
assert app.config.get("WTF_CSRF_ENABLED", True) is True
client = app.test_client()

resp = client.post("/login", data={"username": "alice", "password": "wonderland"})
assert resp.status_code == 400, (resp.status_code, resp.text)
ok("a login POST without the token is refused with 400")

resp = client.post(
    "/login",
    data={"username": "alice", "password": "wonderland", "csrf_token": token(client, "/login")},
)
assert resp.status_code == 302, (resp.status_code, resp.text)
with client.session_transaction() as s:
    assert s.get("_user_id") == "alice", dict(s)
ok("the login form posts with its token; Flask-Login's user is in the cleared session")

resp = client.post("/login-plain", data={"username": "alice", "csrf_token": token(client, "/login")})
assert resp.status_code == 302, resp.status_code
with client.session_transaction() as s:
    assert s.get("user_id") == "alice" and s.get("username") == "alice", dict(s)
ok("one session.clear() before both session writes: both keys survive the login")

resp = client.post("/notes", data={"body": "from the form", "csrf_token": token(client, "/")})
assert resp.status_code == 302, (resp.status_code, resp.text)
assert "from the form" in client.get("/").get_data(as_text=True)
ok("the FlaskForm (Meta.csrf no longer off) validates with the template's token")

resp = client.post("/comment", data={"text": "a comment", "csrf_token": token(client, "/comment")})
assert resp.status_code == 302, (resp.status_code, resp.text)
assert client.post("/comment", data={"text": "forged"}).status_code == 400
ok("the form built in a Python string carries generate_csrf(); without it: 400")

resp = client.post(
    "/api/notes", data={"text": "api"}, headers={"Authorization": "Bearer token-123"}
)
assert resp.status_code == 201, (resp.status_code, resp.text)
ok("the API authenticated by its Authorization header is exempted and still answers 201")

resp = client.post("/theme", data={"theme": "dark", "csrf_token": token(client, "/")})
cookie = resp.headers["Set-Cookie"]
for flag in ("Secure", "HttpOnly", "SameSite=Lax"):
    assert flag in cookie, cookie
ok(f"set_cookie carries its flags: {cookie}")

# Development runs without exporting a key.
os.environ.pop("SECRET_KEY")
os.environ["FLASK_CONFIG"] = "development"
dev = create_app()
assert dev.config["SECRET_KEY"], "no development key"
resp = dev.test_client().get("/login")
assert resp.status_code == 200, resp.status_code
ok("the development config starts without SECRET_KEY in the environment")

# The test suite's own mapping: CSRF off, its own key.
os.environ.pop("FLASK_CONFIG")
test_app = create_app({"TESTING": True, "WTF_CSRF_ENABLED": False, "SECRET_KEY": "t"})
resp = test_app.test_client().post("/login", data={"username": "alice", "password": "wonderland"})
assert resp.status_code == 302, resp.status_code
ok("a test-config app accepts posts without tokens")

vendored = open("notes/static/vendor/editor/sample.html", encoding="utf-8").read()
assert "csrf" not in vendored, vendored
index = open("notes/templates/index.html", encoding="utf-8").read()
commented = index[index.index("<!--") : index.index("-->")]
assert "csrf" not in commented, commented
ok("vendored static HTML and the commented-out form are untouched")

print("all probes passed")
