//! Cases that must stay silent: code that looks like a finding and is not one.

mod common;

use common::{repo, rules_of};

#[test]
fn commented_out_code_is_not_a_finding() {
    let r = repo(&[(
        "app.py",
        "import os\nfrom flask import Flask\napp = Flask(__name__)\n# app.run(debug=True)\n# app.secret_key = 'dev'\n\"\"\"\napp.run(debug=True)\n\"\"\"\nif __name__ == '__main__':\n    app.run()\n",
    )]);
    assert!(rules_of(r.path(), "debug").is_empty());
    assert!(rules_of(r.path(), "secret-key").is_empty());
}

#[test]
fn debug_in_a_development_config_production_does_not_select() {
    let r = repo(&[
        (
            "config.py",
            "import os\nclass Config:\n    SECRET_KEY = os.environ['SECRET_KEY']\nclass DevelopmentConfig(Config):\n    DEBUG = True\nclass ProductionConfig(Config):\n    DEBUG = False\nconfig = {'development': DevelopmentConfig, 'production': ProductionConfig, 'default': DevelopmentConfig}\n",
        ),
        (
            "app.py",
            "import os\nfrom flask import Flask\nfrom config import config\napp = Flask(__name__)\napp.config.from_object(config[os.getenv('FLASK_CONFIG', 'default')])\n",
        ),
    ]);
    assert!(rules_of(r.path(), "debug").is_empty());
}

#[test]
fn debug_in_an_if_debug_branch_is_silent_but_inherited_debug_is_not() {
    let r = repo(&[(
        "app.py",
        "from flask import Flask\napp = Flask(__name__)\nif app.debug:\n    app.config['DEBUG'] = True\n",
    )]);
    assert!(rules_of(r.path(), "debug").is_empty());
    let r = repo(&[(
        "app.py",
        "from flask import Flask\nclass Base:\n    DEBUG = True\nclass ProductionConfig(Base):\n    pass\napp = Flask(__name__)\napp.config.from_object(ProductionConfig)\n",
    )]);
    assert_eq!(rules_of(r.path(), "debug"), vec!["debug/config@app.py:3"]);
}

#[test]
fn csrf_disabled_in_a_testing_config() {
    let r = repo(&[
        (
            "settings.py",
            "class Config:\n    WTF_CSRF_ENABLED = True\nclass TestingConfig(Config):\n    TESTING = True\n    WTF_CSRF_ENABLED = False\nclass ProductionConfig(Config):\n    pass\n",
        ),
        (
            "app.py",
            "import os\nfrom flask import Flask\nfrom flask_wtf.csrf import CSRFProtect\napp = Flask(__name__)\napp.config.from_object(os.environ.get('APP_SETTINGS', 'settings.ProductionConfig'))\nCSRFProtect(app)\n",
        ),
        (
            "tests/conftest.py",
            "from app import app\napp.config['WTF_CSRF_ENABLED'] = False\n",
        ),
    ]);
    assert!(rules_of(r.path(), "csrf").is_empty());
}

#[test]
fn safe_filter_on_a_literal() {
    let r = repo(&[
        ("app.py", "from flask import Flask\napp = Flask(__name__)\n"),
        (
            "templates/page.html",
            "{{ '<br>'|safe }}\n{{ \"<hr>\" | safe }}\n{# {{ user_bio|safe }} #}\n",
        ),
    ]);
    assert!(rules_of(r.path(), "xss").is_empty());
}

#[test]
fn json_api_authenticated_by_a_header_token() {
    let r = repo(&[(
        "api.py",
        "from flask import Flask, abort, jsonify, request\napp = Flask(__name__)\n@app.route('/api/items', methods=['POST', 'DELETE'])\ndef items():\n    if request.headers.get('Authorization') != 'Bearer x':\n        abort(401)\n    data = request.get_json()\n    return jsonify(data)\n@app.post('/api/hook')\ndef hook():\n    payload = request.get_json(force=True)\n    return jsonify(ok=bool(payload))\n",
    )]);
    assert!(rules_of(r.path(), "csrf").is_empty());
}

#[test]
fn secret_read_from_the_environment_without_fallback() {
    let r = repo(&[(
        "app.py",
        "import os\nfrom os import environ\nfrom flask import Flask, session\napp = Flask(__name__)\napp.secret_key = os.environ['SECRET_KEY']\napp.config['SECRET_KEY'] = os.getenv('SECRET_KEY')\napp.config.update(SECRET_KEY=environ['SECRET_KEY'])\n",
    )]);
    assert!(rules_of(r.path(), "secret-key").is_empty());
}

#[test]
fn escaped_and_converted_values_in_html() {
    let r = repo(&[(
        "app.py",
        "from flask import Flask, request\nfrom markupsafe import escape\napp = Flask(__name__)\n@app.route('/a')\ndef a():\n    return f\"<p>{escape(request.args['q'])}</p>\"\n@app.route('/b/<int:n>')\ndef b(n):\n    return '<p>%d</p>' % n\n@app.route('/c')\ndef c():\n    n = int(request.args.get('n', 0))\n    return '<p>' + str(n) + '</p>'\n",
    )]);
    assert!(rules_of(r.path(), "xss").is_empty());
}

#[test]
fn no_flask_app_is_not_applicable() {
    let r = repo(&[("tool.py", "print('hello')\n")]);
    let result = common::scan_dir(r.path());
    for item in &result.items {
        assert_eq!(item.status(), flask_harden::finding::Status::NotApplicable);
    }
}

#[test]
fn csrf_tokens_are_only_asked_of_pages_flask_renders() {
    // Once CSRFProtect is on, a template's post form needs a token; a vendored sample page
    // under static/ is served as it is, and a form inside an HTML comment is not on the page.
    let form = "<form method=\"post\" action=\"/x\"><input name=\"q\"></form>\n";
    let r = repo(&[
        (
            "app.py",
            "from flask import Flask\nfrom flask_wtf.csrf import CSRFProtect\napp = Flask(__name__)\nCSRFProtect(app)\n",
        ),
        ("static/ckeditor/samples/api.html", form),
        ("templates/static/partial.html", form),
        ("templates/old.html", &format!("<!-- {form} -->\n")),
    ]);
    assert_eq!(
        rules_of(r.path(), "csrf"),
        vec!["csrf/form-missing-token@templates/static/partial.html:1"]
    );
}

#[test]
fn a_post_branch_that_only_renders_a_page_changes_nothing() {
    let r = repo(&[(
        "app.py",
        "from flask import Flask, redirect, request, url_for\nfrom flask.templating import render_template\nfrom flask_login import current_user, login_required\napp = Flask(__name__)\n@app.route('/profile', methods=['GET', 'POST'])\n@login_required\ndef profile():\n    if request.method == 'POST':\n        return render_template('p.html', title='Edit', user=current_user)\n    if not current_user.is_admin:\n        return redirect(url_for('index'))\n    return render_template('p.html', title='Profile', user=current_user)\n",
    )]);
    assert!(rules_of(r.path(), "csrf").is_empty());
}
