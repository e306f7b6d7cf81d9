//! The sinks: calls where request data becomes SQL, a file path, a shell command, a
//! deserialised object, a redirect target, an outgoing URL or code. One table, one rule each.

use ruff_python_ast::{Expr, ExprCall};

use crate::finding::Severity;
use crate::python::expr::{last_segment, literal_truth, method_name, receiver};
use crate::python::imports::Imports;
use crate::python::taint::Sink;

/// The rules of the `input-validation` item.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Rule {
    SqlInjection,
    PathTraversal,
    CommandInjection,
    /// A shell command formatted from a value the view read back from storage.
    StoredCommand,
    UnsafeDeserialization,
    OpenRedirect,
    Ssrf,
    CodeInjection,
    UnvalidatedJson,
}

impl Rule {
    pub fn id(self) -> &'static str {
        match self {
            Rule::SqlInjection => "input-validation/sql-injection",
            Rule::PathTraversal => "input-validation/path-traversal",
            Rule::CommandInjection => "input-validation/command-injection",
            Rule::StoredCommand => "input-validation/command-from-stored-data",
            Rule::UnsafeDeserialization => "input-validation/unsafe-deserialization",
            Rule::OpenRedirect => "input-validation/open-redirect",
            Rule::Ssrf => "input-validation/ssrf",
            Rule::CodeInjection => "input-validation/code-injection",
            Rule::UnvalidatedJson => "input-validation/unvalidated-json",
        }
    }

    pub fn severity(self) -> Severity {
        match self {
            Rule::OpenRedirect | Rule::UnvalidatedJson | Rule::StoredCommand => Severity::Medium,
            _ => Severity::High,
        }
    }

    /// What to do instead, for the finding's message.
    pub fn advice(self) -> &'static str {
        match self {
            Rule::SqlInjection => {
                "pass the values as query parameters (the driver's placeholders, or text() with \
                 :name binds) instead of formatting them into the SQL"
            }
            Rule::PathTraversal => {
                "serve files with send_from_directory(), or build the path with \
                 werkzeug.security.safe_join() / secure_filename() so that `..` cannot leave the \
                 folder"
            }
            Rule::CommandInjection | Rule::StoredCommand => {
                "run the program with an argument list and no shell \
                 (subprocess.run([prog, arg])), or quote with shlex.quote()"
            }
            Rule::UnsafeDeserialization => {
                "never unpickle or yaml.load data a client sent: use json, or yaml.safe_load()"
            }
            Rule::OpenRedirect => {
                "redirect only to url_for() targets, or check that the URL is relative to this \
                 site before redirecting"
            }
            Rule::Ssrf => {
                "fetch only hosts from an allow-list, or build the URL from a fixed base and \
                 validated parts"
            }
            Rule::CodeInjection => "never evaluate request data; parse it (json, ast.literal_eval)",
            Rule::UnvalidatedJson => {
                "validate the body with a schema (a pydantic model) and answer 400 when it does \
                 not fit"
            }
        }
    }
}

/// A call that is a sink, and the arguments that must not carry request data.
#[derive(Debug)]
pub struct SinkCall<'e> {
    pub rule: Rule,
    pub sink: Sink,
    /// The arguments checked, with what each is (`the SQL`, `the program`).
    pub args: Vec<(&'e Expr, &'static str)>,
    /// How the call reads in a message (`cursor.execute()`).
    pub name: String,
}

const SQL_METHODS: &[&str] = &[
    "execute",
    "executemany",
    "executescript",
    "raw",
    "exec_driver_sql",
];
const SQL_FUNCTIONS: &[&str] = &[
    "sqlalchemy.text",
    "sqlalchemy.sql.text",
    "sqlalchemy.sql.expression.text",
    "pandas.read_sql",
    "pandas.read_sql_query",
];
const OPEN: &[&str] = &["open", "io.open", "codecs.open", "builtins.open"];
const SEND_FILE: &[&str] = &["flask.send_file", "flask.helpers.send_file"];
const SEND_FROM_DIRECTORY: &[&str] = &[
    "flask.send_from_directory",
    "flask.helpers.send_from_directory",
];
const FILE_OPS: &[&str] = &[
    "os.remove",
    "os.unlink",
    "os.rmdir",
    "os.listdir",
    "shutil.rmtree",
    "shutil.copyfile",
    "shutil.copy",
    "shutil.move",
];
const PATH_METHODS: &[&str] = &[
    "open",
    "read_text",
    "read_bytes",
    "write_text",
    "write_bytes",
    "unlink",
];
pub(super) const SHELL_ALWAYS: &[&str] = &[
    "os.system",
    "os.popen",
    "subprocess.getoutput",
    "subprocess.getstatusoutput",
    "commands.getoutput",
];
pub(super) const SUBPROCESS: &[&str] = &[
    "subprocess.run",
    "subprocess.call",
    "subprocess.check_call",
    "subprocess.check_output",
    "subprocess.Popen",
];
const EXEC_PROGRAM: &[&str] = &[
    "os.execl",
    "os.execlp",
    "os.execv",
    "os.execvp",
    "os.execve",
    "os.execvpe",
    "os.spawnl",
    "os.spawnlp",
    "os.spawnv",
    "os.spawnvp",
];
const DESERIALIZE: &[&str] = &[
    "pickle.loads",
    "pickle.load",
    "_pickle.loads",
    "_pickle.load",
    "cPickle.loads",
    "cPickle.load",
    "dill.loads",
    "dill.load",
    "marshal.loads",
    "marshal.load",
    "jsonpickle.decode",
    "shelve.open",
    "yaml.unsafe_load",
    "yaml.unsafe_load_all",
    "pandas.read_pickle",
];
pub const YAML_LOAD: &[&str] = &["yaml.load", "yaml.load_all"];
const REDIRECT: &[&str] = &[
    "flask.redirect",
    "flask.helpers.redirect",
    "werkzeug.utils.redirect",
];
const HTTP_CLIENTS: &[&str] = &["requests", "httpx"];
const HTTP_VERBS: &[&str] = &[
    "get", "post", "put", "patch", "delete", "head", "options", "stream",
];
const URLOPEN: &[&str] = &[
    "urllib.request.urlopen",
    "urllib.request.Request",
    "urllib.request.urlretrieve",
    "urllib2.urlopen",
    "urllib.urlopen",
];
const CODE: &[&str] = &["eval", "exec", "builtins.eval", "builtins.exec"];

/// What `classify` asks of the function around the call.
pub trait Surroundings<'e> {
    /// The list literal a local name was bound to (`cmd = ['git', 'log', ref]`).
    fn list_value(&self, name: &str) -> Option<&'e Expr>;
    /// Whether `expr` is an uploaded file (`request.files[...]`, or a name bound to one).
    fn is_upload(&self, expr: &Expr) -> bool;
}

/// The sink `call` is, if any.
pub fn classify<'e>(
    imports: &Imports,
    call: &'e ExprCall,
    around: &dyn Surroundings<'e>,
) -> Option<SinkCall<'e>> {
    let callee = imports.qualified(&call.func).unwrap_or_default();
    let q = callee.as_str();
    let args = &call.arguments;
    let sink = |rule, sink, checked: Vec<(Option<&'e Expr>, &'static str)>| {
        let checked: Vec<_> = checked
            .into_iter()
            .filter_map(|(e, what)| e.map(|e| (e, what)))
            .collect();
        (!checked.is_empty()).then(|| SinkCall {
            rule,
            sink,
            args: checked,
            name: call_name(call),
        })
    };

    if SQL_FUNCTIONS.contains(&q) || q.ends_with("db.text") {
        return sink(
            Rule::SqlInjection,
            Sink::Sql,
            vec![(args.find_argument_value("sql", 0), "the SQL")],
        );
    }
    if let Some(m) = method_name(call)
        && SQL_METHODS.contains(&m)
        && !q.starts_with("concurrent.")
    {
        let sql = args.find_positional(0).or_else(|| {
            ["sql", "statement", "query", "operation", "raw_sql"]
                .iter()
                .find_map(|k| args.find_keyword(k).map(|k| &k.value))
        });
        return sink(Rule::SqlInjection, Sink::Sql, vec![(sql, "the SQL")]);
    }
    if matches!(last_segment(q), "read_sql" | "read_sql_query") {
        return sink(
            Rule::SqlInjection,
            Sink::Sql,
            vec![(args.find_argument_value("sql", 0), "the SQL")],
        );
    }
    if OPEN.contains(&q) {
        return sink(
            Rule::PathTraversal,
            Sink::Path,
            vec![(args.find_argument_value("file", 0), "the path")],
        );
    }
    if SEND_FILE.contains(&q) {
        return sink(
            Rule::PathTraversal,
            Sink::Path,
            vec![(
                args.find_argument_value("path_or_file", 0)
                    .or_else(|| args.find_keyword("filename_or_fp").map(|k| &k.value)),
                "the path",
            )],
        );
    }
    if SEND_FROM_DIRECTORY.contains(&q) {
        return sink(
            Rule::PathTraversal,
            Sink::Path,
            vec![(args.find_argument_value("directory", 0), "the directory")],
        );
    }
    if FILE_OPS.contains(&q) {
        return sink(
            Rule::PathTraversal,
            Sink::Path,
            vec![(args.find_positional(0), "the path")],
        );
    }
    if let Some(m) = method_name(call)
        && let Some(recv) = receiver(call)
    {
        // `Path(user).read_text()`: the receiver is the path.
        if PATH_METHODS.contains(&m)
            && let Expr::Call(inner) = recv
            && imports.is(&inner.func, &["pathlib.Path", "pathlib.PurePath", "Path"])
        {
            return sink(
                Rule::PathTraversal,
                Sink::Path,
                vec![(inner.arguments.find_positional(0), "the path")],
            );
        }
        // `request.files['f'].save(path)`: FileStorage.save writes where it is told.
        if m == "save" && around.is_upload(recv) {
            return sink(
                Rule::PathTraversal,
                Sink::Path,
                vec![(args.find_argument_value("dst", 0), "the path")],
            );
        }
    }
    if SHELL_ALWAYS.contains(&q) {
        return sink(
            Rule::CommandInjection,
            Sink::Shell,
            vec![(args.find_argument_value("cmd", 0), "the shell command")],
        );
    }
    if SUBPROCESS.contains(&q) {
        let command = args.find_argument_value("args", 0);
        let shell = args
            .find_keyword("shell")
            .is_some_and(|k| literal_truth(&k.value) != Some(false));
        if shell {
            return sink(
                Rule::CommandInjection,
                Sink::Shell,
                vec![(command, "the shell command")],
            );
        }
        let program = command.map(|c| program_of(c, around));
        return sink(
            Rule::CommandInjection,
            Sink::Shell,
            vec![(program, "the program")],
        );
    }
    if EXEC_PROGRAM.contains(&q) {
        let pos = usize::from(q.starts_with("os.spawn"));
        return sink(
            Rule::CommandInjection,
            Sink::Shell,
            vec![(args.find_positional(pos), "the program")],
        );
    }
    if DESERIALIZE.contains(&q) {
        return sink(
            Rule::UnsafeDeserialization,
            Sink::Code,
            vec![(args.find_positional(0), "the data")],
        );
    }
    if YAML_LOAD.contains(&q) && !yaml_loader_is_safe(imports, call) {
        return sink(
            Rule::UnsafeDeserialization,
            Sink::Code,
            vec![(args.find_argument_value("stream", 0), "the data")],
        );
    }
    if REDIRECT.contains(&q) {
        return sink(
            Rule::OpenRedirect,
            Sink::Url,
            vec![(args.find_argument_value("location", 0), "the URL")],
        );
    }
    if let Some((module, verb)) = q.rsplit_once('.')
        && HTTP_CLIENTS.contains(&module)
    {
        let url = if verb == "request" {
            args.find_argument_value("url", 1)
        } else if HTTP_VERBS.contains(&verb) {
            args.find_argument_value("url", 0)
        } else {
            None
        };
        return sink(Rule::Ssrf, Sink::Url, vec![(url, "the URL")]);
    }
    if URLOPEN.contains(&q) {
        return sink(
            Rule::Ssrf,
            Sink::Url,
            vec![(args.find_argument_value("url", 0), "the URL")],
        );
    }
    if CODE.contains(&q) {
        return sink(
            Rule::CodeInjection,
            Sink::Code,
            vec![(args.find_argument_value("source", 0), "the code")],
        );
    }
    None
}

/// `yaml.load(s, Loader=yaml.SafeLoader)`: a loader that builds only plain data.
pub fn yaml_loader_is_safe(imports: &Imports, call: &ExprCall) -> bool {
    call.arguments
        .find_argument_value("Loader", 1)
        .and_then(|l| imports.qualified(l))
        .is_some_and(|l| {
            matches!(
                last_segment(&l),
                "SafeLoader" | "CSafeLoader" | "BaseLoader" | "CBaseLoader"
            )
        })
}

/// The program a subprocess runs: the first element of its argument list.
fn program_of<'e>(command: &'e Expr, around: &dyn Surroundings<'e>) -> &'e Expr {
    let resolved = match command {
        Expr::Name(n) => around.list_value(n.id.as_str()).unwrap_or(command),
        _ => command,
    };
    match resolved {
        Expr::List(l) => l.elts.first().unwrap_or(resolved),
        Expr::Tuple(t) => t.elts.first().unwrap_or(resolved),
        _ => resolved,
    }
}

/// `cursor.execute()`, `os.system()`: the callee as written, for messages.
pub fn call_name(call: &ExprCall) -> String {
    fn written(e: &Expr) -> Option<String> {
        match e {
            Expr::Name(n) => Some(n.id.to_string()),
            Expr::Attribute(a) => Some(format!(
                "{}.{}",
                written(&a.value).unwrap_or_else(|| "…".to_string()),
                a.attr.id
            )),
            Expr::Call(c) => written(&c.func).map(|f| format!("{f}()")),
            _ => None,
        }
    }
    format!(
        "{}()",
        written(&call.func).unwrap_or_else(|| "call".to_string())
    )
}
