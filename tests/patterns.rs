//! Configuration and routing patterns seen in real Flask applications, each found on the
//! right line.

mod common;

use common::{repo, rules_of};

#[test]
fn from_object_dunder_name_reads_the_modules_own_constants() {
    // The original Flaskr: constants in the module, loaded with from_object(__name__).
    let r = repo(&[(
        "flaskr.py",
        "from flask import Flask\nDEBUG = True\nSECRET_KEY = 'development key'\napp = Flask(__name__)\napp.config.from_object(__name__)\n",
    )]);
    assert_eq!(
        rules_of(r.path(), "debug"),
        vec!["debug/config@flaskr.py:2"]
    );
    assert_eq!(
        rules_of(r.path(), "secret-key"),
        vec!["secret-key/weak@flaskr.py:3"]
    );
}

#[test]
fn from_pyfile_of_a_committed_python_file() {
    let r = repo(&[
        ("settings.py", "SECRET_KEY = 'changeme'\nDEBUG = False\n"),
        (
            "app.py",
            "from flask import Flask\napp = Flask(__name__)\napp.config.from_pyfile('settings.py')\n",
        ),
    ]);
    assert_eq!(
        rules_of(r.path(), "secret-key"),
        vec!["secret-key/placeholder@settings.py:1"]
    );
}

#[test]
fn secret_key_spellings() {
    let r = repo(&[(
        "app.py",
        "import os\nfrom flask import Flask\napp = Flask(__name__)\napp.secret_key = b'_5#y2L\"F4Q8z\\n\\xec]/'\napp.config['SECRET_KEY'] = os.environ.get('SECRET_KEY') or 'hard to guess string'\napp.config.update(dict(SECRET_KEY=os.getenv('SECRET_KEY', default='x1')))\nKEY = 'f3a9c1d7e5b2a8c4d6e0f1a2b3c4d5e6f7a8b9c0'\napp.config.from_mapping({'SECRET_KEY': KEY})\n",
    )]);
    assert_eq!(
        rules_of(r.path(), "secret-key"),
        vec![
            "secret-key/env-fallback@app.py:5",
            "secret-key/env-fallback@app.py:6",
            "secret-key/hardcoded@app.py:8",
            "secret-key/weak@app.py:4",
        ]
    );
}

#[test]
fn missing_secret_key_while_sessions_are_used() {
    let r = repo(&[(
        "app.py",
        "from flask import Flask, session\napp = Flask(__name__)\n@app.route('/')\ndef i():\n    return str(session.get('n'))\n",
    )]);
    assert_eq!(
        rules_of(r.path(), "secret-key"),
        vec!["secret-key/missing@app.py:2"]
    );
}

#[test]
fn debug_spellings() {
    let r = repo(&[(
        "app.py",
        "import os\nfrom flask import Flask\napplication = Flask(__name__)\napplication.debug = True\napplication.config['DEBUG'] = os.environ.get('DEBUG', True)\nif __name__ == '__main__':\n    application.run('0.0.0.0', 5000, True)\n",
    )]);
    assert_eq!(
        rules_of(r.path(), "debug"),
        vec![
            "debug/app-run@app.py:7",
            "debug/config@app.py:4",
            "debug/config@app.py:5"
        ]
    );
}

#[test]
fn add_url_rule_views_are_routes() {
    let r = repo(&[(
        "app.py",
        "from flask import Flask, request, session\napp = Flask(__name__)\ndef update():\n    session['x'] = request.form['x']\n    return 'ok'\napp.add_url_rule('/update', 'update', update, methods=['POST'])\n",
    )]);
    assert_eq!(
        rules_of(r.path(), "csrf"),
        vec!["csrf/missing-protect@app.py:6"]
    );
}

#[test]
fn flask_form_views_carry_a_token() {
    let r = repo(&[
        (
            "forms.py",
            "from flask_wtf import FlaskForm\nfrom wtforms import StringField\nclass BaseForm(FlaskForm):\n    pass\nclass NameForm(BaseForm):\n    name = StringField()\n",
        ),
        (
            "app.py",
            "from flask import Flask, redirect\nfrom forms import NameForm\napp = Flask(__name__)\n@app.route('/name', methods=['GET', 'POST'])\ndef name():\n    form = NameForm()\n    if form.validate_on_submit():\n        return redirect('/')\n    return 'form'\n",
        ),
    ]);
    assert!(rules_of(r.path(), "csrf").is_empty());
}

#[test]
fn talisman_sets_the_secure_flag() {
    let r = repo(&[(
        "app.py",
        "from flask import Flask, session\nfrom flask_talisman import Talisman\napp = Flask(__name__)\napp.config['SESSION_COOKIE_SAMESITE'] = 'Lax'\nTalisman(app)\n",
    )]);
    assert!(rules_of(r.path(), "session").is_empty());
}

#[test]
fn xss_sinks_in_code() {
    let r = repo(&[(
        "app.py",
        "import jinja2\nfrom flask import Flask, request, render_template_string, make_response\napp = Flask(__name__)\napp.jinja_env.autoescape = False\nenv = jinja2.Environment(loader=None)\nsafe_env = jinja2.Environment(autoescape=jinja2.select_autoescape())\n@app.route('/a')\ndef a():\n    return render_template_string(request.args['t'])\n@app.route('/b')\ndef b():\n    q = request.args.get('q')\n    body = '<p>{}</p>'.format(q)\n    return make_response(body, 200)\npage = env.get_template('page.html')\n",
    )]);
    assert_eq!(
        rules_of(r.path(), "xss"),
        vec![
            "xss/autoescape-off@app.py:4",
            "xss/autoescape-off@app.py:5",
            "xss/html-from-request@app.py:14",
            "xss/render-template-string@app.py:9",
        ]
    );
}

#[test]
fn a_project_subclass_of_csrfprotect_protects() {
    // pgAdmin's layout: a CSRFProtect subclass instantiated in one module, init_app in another.
    let r = repo(&[
        (
            "pkg/csrf.py",
            "from flask_wtf.csrf import CSRFProtect\nclass _Protect(CSRFProtect):\n    pass\npgCSRFProtect = _Protect()\n",
        ),
        (
            "pkg/__init__.py",
            "from flask import Flask, request\nfrom pkg.csrf import pgCSRFProtect\napp = Flask(__name__)\npgCSRFProtect.init_app(app)\n@app.route('/save', methods=['POST'])\ndef save():\n    return request.form['x']\n",
        ),
    ]);
    assert!(rules_of(r.path(), "csrf").is_empty());
}

#[test]
fn routes_of_other_frameworks_are_not_flask_routes() {
    let r = repo(&[
        ("web.py", "from flask import Flask\napp = Flask(__name__)\n"),
        (
            "gateway.py",
            "from fastapi import FastAPI, Request\ndef make():\n    app = FastAPI()\n    @app.post('/v1/chat')\n    async def chat(request: Request):\n        return {}\n    return app\n",
        ),
    ]);
    assert!(rules_of(r.path(), "csrf").is_empty());
}

#[test]
fn config_module_chosen_by_an_environment_fallback_in_a_factory() {
    // Superset's layout: from_object(name or os.environ.get(VAR, "pkg.config")) in a try block.
    let r = repo(&[
        (
            "pkg/config.py",
            "import os\nfrom pkg.constants import CHANGE_ME\nSECRET_KEY = os.environ.get('PKG_SECRET_KEY') or CHANGE_ME\nSESSION_COOKIE_SECURE = False\n",
        ),
        (
            "pkg/constants.py",
            "CHANGE_ME = 'CHANGE_ME_TO_A_COMPLEX_RANDOM_SECRET'\n",
        ),
        (
            "pkg/app.py",
            "import os\nfrom flask import Flask, session\ndef create_app(config_module=None):\n    app = Flask(__name__)\n    try:\n        module = config_module or os.environ.get('PKG_CONFIG', 'pkg.config')\n        app.config.from_object(module)\n    except Exception:\n        raise\n    return app\ndef current_user_id():\n    return session.get('user_id')\n",
        ),
    ]);
    assert_eq!(
        rules_of(r.path(), "secret-key"),
        vec!["secret-key/env-fallback@pkg/config.py:3"]
    );
    assert_eq!(
        rules_of(r.path(), "session"),
        vec![
            "session/cookie-samesite@pkg/config.py:1",
            "session/cookie-secure@pkg/config.py:4"
        ]
    );
}

#[test]
fn a_form_with_any_csrf_helper_has_a_token() {
    let r = repo(&[
        (
            "app.py",
            "from flask import Flask\nfrom flask_wtf.csrf import CSRFProtect\napp = Flask(__name__)\nCSRFProtect(app)\n",
        ),
        (
            "templates/a.html",
            "<form method='post'>\n  {{ h.csrf_input() }}\n</form>\n<form method=\"post\">\n  <input name=q>\n</form>\n",
        ),
    ]);
    assert_eq!(
        rules_of(r.path(), "csrf"),
        vec!["csrf/form-missing-token@templates/a.html:4"]
    );
}

#[test]
fn templates_in_a_custom_template_folder_are_read() {
    let r = repo(&[
        (
            "site/app.py",
            "from flask import Flask, render_template\napp = Flask(__name__, template_folder='views')\n@app.route('/')\ndef index():\n    return render_template('home.tpl', bio='x')\n",
        ),
        ("site/views/home.tpl", "<p>{{ bio|safe }}</p>\n"),
        ("site/views/unused.tpl", "<p>{{ other|safe }}</p>\n"),
    ]);
    assert_eq!(
        rules_of(r.path(), "xss"),
        vec!["xss/safe-filter@site/views/home.tpl:1"]
    );
}

#[test]
fn render_template_string_in_an_error_handler() {
    let r = repo(&[(
        "app.py",
        "from flask import Flask, request, render_template_string\napp = Flask(__name__)\n@app.errorhandler(404)\ndef not_found(error):\n    return render_template_string(f'{error}. Requested URL was {request.path}'), 404\n",
    )]);
    assert_eq!(
        rules_of(r.path(), "xss"),
        vec!["xss/render-template-string@app.py:5"]
    );
}

#[test]
fn a_flask_form_with_its_token_switched_off_does_not_protect() {
    let r = repo(&[
        (
            "forms.py",
            "from flask_wtf import FlaskForm\nclass LoginForm(FlaskForm):\n    class Meta:\n        csrf = False\n",
        ),
        (
            "app.py",
            "from flask import Flask, session\nfrom forms import LoginForm\napp = Flask(__name__)\n@app.route('/login', methods=['GET', 'POST'])\ndef login():\n    form = LoginForm()\n    if form.validate_on_submit():\n        session.clear()\n        session['user_id'] = form.name.data\n    return 'x'\n",
        ),
    ]);
    assert_eq!(
        rules_of(r.path(), "csrf"),
        vec!["csrf/missing-protect@app.py:4"]
    );
}

#[test]
fn legacy_flask_ext_imports_are_understood() {
    let r = repo(&[
        (
            "forms.py",
            "from flask.ext.wtf import Form\nfrom wtforms import StringField\nclass NameForm(Form):\n    name = StringField('n')\n",
        ),
        (
            "app.py",
            "from flask import Flask, session\nfrom flask.ext.login import LoginManager, login_user\nfrom forms import NameForm\napp = Flask(__name__)\nlm = LoginManager(app)\n@app.route('/n', methods=['GET', 'POST'])\ndef n():\n    form = NameForm()\n    if form.validate_on_submit():\n        login_user(form.name.data)\n    return session.get('x', '')\n",
        ),
    ]);
    assert!(rules_of(r.path(), "csrf").is_empty());
    let session = rules_of(r.path(), "session");
    assert!(
        session.contains(&"session/no-reset-at-login@app.py:10".to_string()),
        "{session:?}"
    );
    assert!(
        session.contains(&"session/login-protection@app.py:5".to_string()),
        "{session:?}"
    );
}

#[test]
fn logout_is_not_a_login_and_protection_values_are_reported_where_set() {
    let r = repo(&[(
        "app.py",
        "from flask import Flask, session\nfrom flask_login import LoginManager\napp = Flask(__name__)\napp.config.update(SESSION_COOKIE_SECURE=True, SESSION_COOKIE_SAMESITE='Lax')\nlm = LoginManager()\nlm.session_protection = None\n@app.route('/logout')\ndef logout():\n    session['logged_in'] = False\n    session['user_id'] = None\n    return 'bye'\n",
    )]);
    assert_eq!(
        rules_of(r.path(), "session"),
        vec!["session/login-protection@app.py:6"]
    );
}

#[test]
fn posts_that_neither_read_a_form_nor_touch_the_login_are_not_csrf_findings() {
    let r = repo(&[(
        "app.py",
        "from flask import Flask, render_template, request, session\nfrom flask_login import login_required\napp = Flask(__name__)\n@app.route('/glossary', methods=['GET', 'POST'])\ndef glossary():\n    return render_template('g.html')\n@app.route('/delete/<int:i>', methods=['POST'])\n@login_required\ndef delete(i):\n    return 'deleted'\n@app.route('/cart', methods=['POST'])\ndef cart():\n    session['cart'] = request.args.get('item')\n    return 'ok'\n",
    )]);
    assert_eq!(
        rules_of(r.path(), "csrf"),
        vec![
            "csrf/missing-protect@app.py:11",
            "csrf/missing-protect@app.py:7"
        ]
    );
}

#[test]
fn without_sessions_or_cookies_only_form_posts_are_csrf_prone() {
    // A bare `session` import that nothing uses is not session use either. A post that takes
    // files is a state change a forged post can make; one that reads JSON is not.
    let r = repo(&[(
        "app.py",
        "from flask import Flask, request, session\napp = Flask(__name__)\n@app.route('/upload', methods=['POST'])\ndef upload():\n    f = request.files['f']\n    return f.filename\n@app.route('/api', methods=['POST'])\ndef api():\n    return request.get_json()\n",
    )]);
    assert_eq!(
        rules_of(r.path(), "csrf"),
        vec!["csrf/missing-protect@app.py:3"]
    );
    assert!(rules_of(r.path(), "session").is_empty());
    let r = repo(&[(
        "app.py",
        "from flask import Flask, request\napp = Flask(__name__)\n@app.route('/api', methods=['POST'])\ndef api():\n    return request.get_json()\n",
    )]);
    assert!(rules_of(r.path(), "csrf").is_empty());
}

#[test]
fn a_base_form_with_its_token_switched_off_does_not_protect_its_subclasses() {
    // No session or login at all: a form post is still a state change a forged post can make.
    let r = repo(&[
        (
            "forms.py",
            "from flask_wtf import FlaskForm\nfrom wtforms import StringField\nclass NoTokenForm(FlaskForm):\n    class Meta:\n        csrf = False\nclass RegisterForm(NoTokenForm):\n    name = StringField('n')\nclass CheckedForm(NoTokenForm):\n    class Meta:\n        csrf = True\n",
        ),
        (
            "app.py",
            "from flask import Flask\nfrom forms import CheckedForm, RegisterForm\napp = Flask(__name__)\n@app.route('/register', methods=['GET', 'POST'])\ndef register():\n    form = RegisterForm()\n    if form.validate_on_submit():\n        print(form.name.data)\n    return 'x'\n@app.route('/checked', methods=['GET', 'POST'])\ndef checked():\n    form = CheckedForm()\n    if form.validate_on_submit():\n        print(form.name.data)\n    return 'x'\n",
        ),
    ]);
    assert_eq!(
        rules_of(r.path(), "csrf"),
        vec!["csrf/missing-protect@app.py:4"]
    );
}

#[test]
fn a_flask_form_that_is_never_validated_checks_no_token() {
    let r = repo(&[
        (
            "forms.py",
            "from flask_wtf import FlaskForm\nclass AttachForm(FlaskForm):\n    pass\n",
        ),
        (
            "app.py",
            "from flask import Flask, render_template, request\nfrom flask_login import login_required\nfrom forms import AttachForm\napp = Flask(__name__)\n@app.route('/attach', methods=['GET', 'POST'])\n@login_required\ndef attach():\n    if request.method == 'GET':\n        return render_template('a.html', form=AttachForm())\n    request.files['file'].save('/tmp/x')\n    return 'saved'\n",
        ),
    ]);
    assert_eq!(
        rules_of(r.path(), "csrf"),
        vec!["csrf/missing-protect@app.py:5"]
    );
}

#[test]
fn get_views_that_commit_for_the_logged_in_user() {
    // Directly, and through a project function that commits; a GET view that only reads is
    // silent.
    let r = repo(&[
        (
            "store.py",
            "import sqlite3\ndef delete_book(book_id):\n    conn = sqlite3.connect('a.db')\n    conn.execute('DELETE FROM books WHERE id = ?', (book_id,))\n    conn.commit()\n",
        ),
        (
            "app.py",
            "from flask import Flask, redirect, render_template\nfrom flask_login import current_user, login_required\nfrom flask_sqlalchemy import SQLAlchemy\nimport store\napp = Flask(__name__)\ndb = SQLAlchemy(app)\n@app.route('/follow/<name>')\n@login_required\ndef follow(name):\n    current_user.follow(name)\n    db.session.commit()\n    return redirect('/')\n@app.route('/delete/<int:book_id>')\ndef delete(book_id):\n    if current_user.is_authenticated:\n        store.delete_book(book_id)\n    return redirect('/')\n@app.route('/books')\n@login_required\ndef books():\n    return render_template('books.html')\n",
        ),
    ]);
    assert_eq!(
        rules_of(r.path(), "csrf"),
        vec![
            "csrf/state-change-on-get@app.py:13",
            "csrf/state-change-on-get@app.py:7"
        ]
    );
}

/// The factory loads `config[os.getenv('FLASK_CONFIG') or 'default']`, and `'default'` is the
/// development config with DEBUG on: production runs it when a deployment file starts the app
/// without FLASK_CONFIG (here the Procfile), and not when every one sets it, when only a
/// development compose file starts it, or when nothing in the repository starts it.
#[test]
fn debug_in_the_config_a_deployment_falls_back_to() {
    const CONFIG: &str = "import os\n\n\nclass Config:\n    SECRET_KEY = os.environ['SECRET_KEY']\n\n\nclass DevelopmentConfig(Config):\n    DEBUG = True\n\n\nclass ProductionConfig(Config):\n    pass\n\n\nconfig = {\n    'development': DevelopmentConfig,\n    'production': ProductionConfig,\n    'default': DevelopmentConfig,\n}\n";
    const FACTORY: &str = "from flask import Flask\nfrom config import config\n\n\ndef create_app(config_name):\n    app = Flask(__name__)\n    app.config.from_object(config[config_name])\n    return app\n";
    const ENTRY: &str = "import os\nfrom app import create_app\n\napp = create_app(os.getenv('FLASK_CONFIG') or 'default')\n";
    let base = [
        ("config.py", CONFIG),
        ("app/__init__.py", FACTORY),
        ("wsgi.py", ENTRY),
    ];
    let with = |extra: &[(&'static str, &'static str)]| {
        let mut files: Vec<(&str, &str)> = base.to_vec();
        files.extend_from_slice(extra);
        rules_of(repo(&files).path(), "debug")
    };
    assert_eq!(
        with(&[("Procfile", "web: gunicorn wsgi:app\n")]),
        vec!["debug/default-config@config.py:9"]
    );
    // Set where the app starts: production gets ProductionConfig.
    assert!(
        with(&[(
            "Dockerfile",
            "FROM python:3.12\nENV FLASK_CONFIG=production\nCMD [\"gunicorn\", \"wsgi:app\"]\n"
        )])
        .is_empty()
    );
    assert!(
        with(&[(
            "Procfile",
            "web: FLASK_CONFIG=production gunicorn wsgi:app\n"
        )])
        .is_empty()
    );
    // Set to the development entry: the same finding.
    assert_eq!(
        with(&[(
            "Procfile",
            "web: FLASK_CONFIG=development gunicorn wsgi:app\n"
        )]),
        vec!["debug/default-config@config.py:9"]
    );
    // A committed .flaskenv is read by `flask run`, not by gunicorn (no load_dotenv()).
    assert_eq!(
        with(&[
            ("Procfile", "web: gunicorn wsgi:app\n"),
            (".flaskenv", "FLASK_CONFIG=production\n"),
        ]),
        vec!["debug/default-config@config.py:9"]
    );
    assert!(
        with(&[
            ("Procfile", "web: flask run\n"),
            (".flaskenv", "FLASK_CONFIG=production\n"),
        ])
        .iter()
        .all(|r| !r.starts_with("debug/default-config")),
    );
    // Only a development setup starts it, or nothing does: no finding.
    assert!(
        with(&[(
            "docker-compose.dev.yml",
            "services:\n  web:\n    build: .\n    command: gunicorn wsgi:app\n"
        )])
        .is_empty()
    );
    assert!(with(&[]).is_empty());
}

/// A pydantic-settings field reads SECRET_KEY from the environment and falls back to its
/// default: a literal default that SECRET_KEY is set from is an env read with a fallback. A
/// field with no default (the key must be set) and a plain pydantic model are silent.
#[test]
fn secret_key_from_a_pydantic_settings_field_with_a_default() {
    const SETTINGS: &str = "from pydantic_settings import BaseSettings\n\n\nclass Settings(BaseSettings):\n    name: str = 'web'\n    secret_key: str = 'test_secret'\n\n\nsettings = Settings()\n";
    const APP: &str = "from flask import Flask, session\nfrom web.config import settings\n\napp = Flask(__name__)\napp.config['SECRET_KEY'] = settings.secret_key\n";
    let r = repo(&[
        ("web/__init__.py", ""),
        ("web/config.py", SETTINGS),
        ("web/app.py", APP),
    ]);
    assert_eq!(
        rules_of(r.path(), "secret-key"),
        vec!["secret-key/settings-default@web/config.py:6"]
    );
    let required = SETTINGS.replace("secret_key: str = 'test_secret'", "secret_key: str");
    let r = repo(&[
        ("web/__init__.py", ""),
        ("web/config.py", &required),
        ("web/app.py", APP),
    ]);
    assert!(rules_of(r.path(), "secret-key").is_empty());
    let model = SETTINGS.replace(
        "pydantic_settings import BaseSettings",
        "pydantic import BaseModel as BaseSettings",
    );
    let r = repo(&[
        ("web/__init__.py", ""),
        ("web/config.py", &model),
        ("web/app.py", APP),
    ]);
    assert!(rules_of(r.path(), "secret-key").is_empty());
}

/// `post.body_html|safe` where the code stores only sanitiser output in `body_html` (flasky's
/// Markdown rendered through bleach.clean in a model event) is safe; one store of raw input,
/// by assignment or by the model's constructor, makes it a finding again.
#[test]
fn safe_on_a_column_the_code_only_fills_with_sanitised_html() {
    const MODEL: &str = "import bleach\nfrom markdown import markdown\n\n\nclass Post:\n    def on_changed_body(target, value, oldvalue, initiator):\n        target.body_html = bleach.linkify(bleach.clean(markdown(value), tags=['p'], strip=True))\n";
    const VIEW: &str = "from flask import Flask, render_template\napp = Flask(__name__)\n\n\n@app.route('/')\ndef index():\n    return render_template('post.html', post=None)\n";
    const TEMPLATE: &str = "<div>{{ post.body_html | safe }}</div>\n";
    let files = |extra: &'static str| {
        repo(&[
            ("models.py", MODEL),
            ("app.py", VIEW),
            ("templates/post.html", TEMPLATE),
            ("extra.py", extra),
        ])
    };
    assert!(rules_of(files("").path(), "xss").is_empty());
    let r = files(
        "from flask import request\nfrom models import Post\n\n\ndef edit(post):\n    post.body_html = request.form['body']\n",
    );
    assert_eq!(
        rules_of(r.path(), "xss"),
        vec!["xss/safe-filter@templates/post.html:1"]
    );
    let r = files(
        "from flask import request\nfrom models import Post\n\n\ndef new():\n    return Post(body_html=request.form['body'])\n",
    );
    assert_eq!(
        rules_of(r.path(), "xss"),
        vec!["xss/safe-filter@templates/post.html:1"]
    );
    // Nothing stores it at all: nothing says it is safe.
    let r = repo(&[("app.py", VIEW), ("templates/post.html", TEMPLATE)]);
    assert_eq!(
        rules_of(r.path(), "xss"),
        vec!["xss/safe-filter@templates/post.html:1"]
    );
}

/// render_template_string over a template formatted from anything not constant (here the
/// text of a database error, which quotes the input) is template injection; a template
/// formatted only from constants, or a constant template given values as variables, is not.
#[test]
fn render_template_string_formatted_from_an_exception() {
    let app = |body: &str| {
        format!(
            "from flask import Flask, render_template_string, request\nimport sqlite3\n\nSITE = 'Shop'\napp = Flask(__name__)\n\n\n@app.route('/search', methods=['POST'])\ndef search():\n    try:\n        sqlite3.connect('x').execute('SELECT 1')\n    except Exception as e:\n{body}\n    return 'ok'\n"
        )
    };
    let rules = |body: &str| rules_of(repo(&[("app.py", &app(body))]).path(), "xss");
    assert_eq!(
        rules(
            "        template = '<h3>%s</h3>' % str(e)\n        return render_template_string(template), 500"
        ),
        vec!["xss/render-template-string@app.py:14"]
    );
    assert_eq!(
        rules("        return render_template_string(f'<h3>{e}</h3>'), 500"),
        vec!["xss/render-template-string@app.py:13"]
    );
    assert!(rules("        return render_template_string('<h3>%s</h3>' % SITE), 500").is_empty());
    assert!(
        rules("        return render_template_string('<h3>{{ e }}</h3>', e=str(e)), 500")
            .is_empty()
    );
}

/// Bootstrap-Flask's render_table renders the columns named in safe_columns with |safe.
#[test]
fn render_table_safe_columns_are_raw_html() {
    let app = "from flask import Flask, render_template\napp = Flask(__name__)\n";
    let r = repo(&[
        ("app.py", app),
        (
            "templates/notes.html",
            "{% from 'bootstrap5/table.html' import render_table %}\n<div>\n{{ render_table(notes, responsive=True, safe_columns=['text']) }}\n{{ render_table(notes, safe_columns=[]) }}\n{{ render_table(notes) }}\n</div>\n",
        ),
    ]);
    assert_eq!(
        rules_of(r.path(), "xss"),
        vec!["xss/safe-columns@templates/notes.html:3"]
    );
}

/// Second order: a view runs a shell command formatted from what it read back from the
/// database (an upload's stored name). Request data there is command injection proper (one
/// finding, not two); a constant, a quoted value or an argument list is silent.
#[test]
fn shell_command_from_a_stored_value() {
    let app = |body: &str| {
        format!(
            "import os\nimport shlex\nimport subprocess\nfrom flask import Flask, request\nimport db\n\nFOLDER = 'uploads'\napp = Flask(__name__)\n\n\n@app.route('/delete/<int:book_id>')\ndef delete(book_id):\n    book = db.get_book(book_id)\n{body}\n    return 'ok'\n"
        )
    };
    let rules = |body: &str| {
        rules_of(
            repo(&[
                ("app.py", &app(body)),
                ("db.py", "def get_book(i):\n    return None\n"),
            ])
            .path(),
            "input-validation",
        )
    };
    assert_eq!(
        rules("    path = book.cover\n    os.system(f'rm uploads/{path}')"),
        vec!["input-validation/command-from-stored-data@app.py:15"]
    );
    assert_eq!(
        rules("    subprocess.run('rm ' + book.cover, shell=True)"),
        vec!["input-validation/command-from-stored-data@app.py:14"]
    );
    assert_eq!(
        rules("    os.system('rm %s' % request.args['name'])"),
        vec!["input-validation/command-injection@app.py:14"]
    );
    assert!(rules("    os.system(f'rm -rf {FOLDER}')").is_empty());
    assert!(rules("    os.system(f'rm uploads/{shlex.quote(book.cover)}')").is_empty());
    assert!(rules("    subprocess.run(['rm', book.cover])").is_empty());
}
