//! Which configuration production loads: the objects each `app.config.from_*` call may load,
//! the entry chosen when the selecting variable is unset, the production pick among them,
//! and reads of the environment with their fallbacks.

use super::*;

impl<'m> Facts<'m> {
    pub(super) fn resolve_loads(&mut self, pending: Vec<PendingLoad<'m>>) {
        for p in pending {
            let mut candidates = Vec::new();
            self.guessing = false;
            if p.kind == LoadKind::Object
                && let Some(arg) = p.arg
            {
                self.object_candidates(
                    p.module,
                    arg,
                    p.param_defaults.as_ref(),
                    None,
                    &mut candidates,
                );
            }
            // `from_pyfile('settings.py')` of a file that is committed: its UPPERCASE names are
            // configuration, as a module's are. (Usually the file lives in the instance folder,
            // outside the repository, and stays an external source.)
            if p.kind == LoadKind::Pyfile
                && let Some(name) = p.arg.and_then(str_value)
                && name.ends_with(".py")
                && let Some(target) = self
                    .modules
                    .iter()
                    .position(|m| m.path == name || m.path.ends_with(&format!("/{name}")))
                && !self.modules[target].is_test
            {
                let module_name = self.modules[target].name.clone();
                if let Some(c) = self.config_object(&module_name, p.module) {
                    candidates.push((None, c));
                }
            }
            let when_unset = match (p.kind, p.arg) {
                (LoadKind::Object, Some(arg)) => self.selection_when_unset(
                    p.module,
                    arg,
                    p.param_defaults.as_ref(),
                    p.function.as_ref(),
                    0,
                ),
                _ => None,
            };
            self.loads.push(ConfigLoad {
                module: p.module,
                kind: p.kind,
                production: p.production,
                range: p.range,
                candidates,
                guessed: self.guessing,
                when_unset,
            });
        }
    }

    /// `from_object(configs[key])` / `configs.get(key)` (or a local bound to one): the
    /// variable `key` is read from and the entry chosen when it is unset.
    pub(super) fn selection_when_unset(
        &self,
        module: usize,
        arg: &'m Expr,
        locals: Option<&HashMap<String, Option<&'m Expr>>>,
        function: Option<&(String, Vec<String>)>,
        depth: usize,
    ) -> Option<(String, String)> {
        if depth > 4 {
            return None;
        }
        match arg {
            Expr::Subscript(sub) => self.env_default(module, &sub.slice, locals, function, depth),
            Expr::Call(call) if method_name(call) == Some("get") => {
                let key = call.arguments.args.first()?;
                self.env_default(module, key, locals, function, depth)
            }
            Expr::Name(n) => {
                let value = (*locals?.get(n.id.as_str())?)?;
                self.selection_when_unset(module, value, locals, function, depth + 1)
            }
            _ => None,
        }
    }

    /// What `key` is when the environment sets nothing: `os.getenv('X', 'dev')`,
    /// `os.getenv('X') or 'dev'`, a local bound to one, or a parameter that every call site
    /// passes one for. Returns the variable and the literal.
    pub(super) fn env_default(
        &self,
        module: usize,
        key: &'m Expr,
        locals: Option<&HashMap<String, Option<&'m Expr>>>,
        function: Option<&(String, Vec<String>)>,
        depth: usize,
    ) -> Option<(String, String)> {
        if depth > 4 {
            return None;
        }
        let env_var = |e: &'m Expr| -> Option<(String, Option<&'m Expr>)> {
            let Expr::Call(call) = e else { return None };
            let callee = self.imports[module].qualified(&call.func)?;
            if !ENV_GETTERS.contains(&callee.as_str()) {
                return None;
            }
            let var = call.arguments.args.first().and_then(str_value)?;
            Some((
                var.to_string(),
                call.arguments.find_argument_value("default", 1),
            ))
        };
        match key {
            Expr::Call(_) => {
                let (var, fallback) = env_var(key)?;
                Some((var, str_value(fallback?)?.to_string()))
            }
            Expr::BoolOp(b) if b.op == ruff_python_ast::BoolOp::Or => {
                // `os.getenv('X') or 'dev'`.
                if let [.., read, last] = b.values.as_slice()
                    && let Some((var, None)) = env_var(read)
                    && let Some(label) = str_value(last)
                {
                    return Some((var, label.to_string()));
                }
                b.values
                    .iter()
                    .find_map(|v| self.env_default(module, v, locals, function, depth + 1))
            }
            Expr::Name(n) => {
                if let Some(Some(value)) = locals.and_then(|l| l.get(n.id.as_str()))
                    && !matches!(value, Expr::Name(v) if v.id == n.id)
                {
                    return self.env_default(module, value, locals, function, depth + 1);
                }
                // A parameter of the factory: what its callers pass.
                let (name, params) = function?;
                let position = params.iter().position(|p| p == n.id.as_str())?;
                (0..self.modules.len()).find_map(|idx| {
                    self.calls_named(idx, name).find_map(|call| {
                        let passed = call
                            .arguments
                            .find_argument_value(n.id.as_str(), position)?;
                        self.env_default(idx, passed, None, None, depth + 1)
                    })
                })
            }
            _ => None,
        }
    }

    /// What `from_object(arg)` may load.
    pub(super) fn object_candidates(
        &mut self,
        module: usize,
        arg: &'m Expr,
        params: Option<&HashMap<String, Option<&'m Expr>>>,
        label: Option<String>,
        out: &mut Vec<(Option<String>, usize)>,
    ) {
        match arg {
            Expr::StringLiteral(s) => {
                if let Some(c) = self.config_object(s.value.to_str(), module) {
                    out.push((label, c));
                }
            }
            // `from_object(__name__)`: the module's own UPPERCASE names.
            Expr::Name(n) if n.id.as_str() == "__name__" => {
                let own = self.modules[module].name.clone();
                if let Some(c) = self.config_object(&own, module) {
                    out.push((label, c));
                }
            }
            Expr::Name(n) => {
                // A parameter of the enclosing factory: its default is what `create_app()` uses.
                if let Some(params) = params
                    && let Some(default) = params.get(n.id.as_str())
                {
                    if let Some(default) = default {
                        self.object_candidates(module, default, None, label, out);
                    } else {
                        self.unresolved_candidates(out);
                    }
                    return;
                }
                if let Some(q) = self.imports[module].qualified(arg)
                    && let Some(c) = self.config_object(&q, module)
                {
                    out.push((label, c));
                    return;
                }
                if let Some(value) = self.consts(module).get(n.id.as_str()).copied()
                    && !matches!(value, Expr::Name(v) if v.id == n.id)
                {
                    self.object_candidates(module, value, None, label, out);
                    return;
                }
                self.unresolved_candidates(out);
            }
            Expr::Attribute(_) => {
                if let Some(q) = self.imports[module].qualified(arg)
                    && let Some(c) = self.config_object(&q, module)
                {
                    out.push((label, c));
                } else {
                    self.unresolved_candidates(out);
                }
            }
            // `config[name]`, `config.get(name)`, `config.get(name, default)`.
            Expr::Subscript(sub) => self.dict_candidates(module, &sub.value, out),
            // `name or os.environ.get("APP_CONFIG", "app.config")`: any of them.
            Expr::BoolOp(b) => {
                for v in &b.values {
                    self.object_candidates(module, v, params, label.clone(), out);
                }
            }
            Expr::Call(call) => {
                let callee = self.imports[module]
                    .qualified(&call.func)
                    .unwrap_or_default();
                if matches!(
                    callee.as_str(),
                    "os.environ.get" | "os.getenv" | "getenv" | "environ.get"
                ) {
                    if let Some(fallback) = call.arguments.find_argument_value("default", 1) {
                        self.object_candidates(
                            module,
                            fallback,
                            params,
                            Some("default".into()),
                            out,
                        );
                    } else {
                        self.unresolved_candidates(out);
                    }
                } else if method_name(call) == Some("get")
                    && let Some(dict) = receiver(call)
                {
                    self.dict_candidates(module, dict, out);
                } else {
                    self.unresolved_candidates(out);
                }
            }
            _ => self.unresolved_candidates(out),
        }
    }

    pub(super) fn dict_candidates(
        &mut self,
        module: usize,
        dict: &'m Expr,
        out: &mut Vec<(Option<String>, usize)>,
    ) {
        let dict_expr = match dict {
            Expr::Dict(_) => Some((module, dict)),
            Expr::Name(n) => self
                .consts(module)
                .get(n.id.as_str())
                .map(|v| (module, *v))
                .or_else(|| {
                    let q = self.imports[module].qualified(dict)?;
                    let (m, name) = q.rsplit_once('.')?;
                    let target = self
                        .modules
                        .iter()
                        .position(|x| x.name == m || x.name.ends_with(&format!(".{m}")))?;
                    self.consts(target).get(name).map(|v| (target, *v))
                }),
            _ => None,
        };
        let Some((dict_module, Expr::Dict(d))) = dict_expr else {
            self.unresolved_candidates(out);
            return;
        };
        for item in &d.items {
            let label = item.key.as_ref().and_then(str_value);
            self.object_candidates(dict_module, &item.value, None, label, out);
        }
    }

    /// `from_object` with something we cannot follow: every config class may be the one.
    pub(super) fn unresolved_candidates(&mut self, out: &mut Vec<(Option<String>, usize)>) {
        self.guessing = true;
        for (i, c) in self.classes.iter().enumerate() {
            if !c.is_module && !self.modules[c.module].is_test {
                out.push((None, i));
            }
        }
    }

    /// Which config objects production loads. Each load outside development-only code
    /// contributes: the entry labelled `production`, else a `Prod*` class, else its only
    /// candidate, else the `default` entry, else every candidate not named for development.
    pub(super) fn choose_production(&mut self) {
        let mut chosen = Vec::new();
        for load in &self.loads {
            if !load.production
                || !self.is_production_module(load.module)
                || load.candidates.is_empty()
            {
                continue;
            }
            let picked = self.production_candidates(&load.candidates);
            // A labelled `production` entry or a `Prod*` class is no guess even among
            // candidates that could not all be followed.
            if load.guessed
                && !picked
                    .iter()
                    .all(|c| env_kind(&self.classes[*c].name) == EnvKind::Production)
            {
                self.production_guessed = true;
            }
            chosen.extend(picked);
        }
        chosen.sort_unstable();
        chosen.dedup();
        self.production = chosen;
    }

    pub(super) fn production_candidates(&self, candidates: &[Candidate]) -> Vec<usize> {
        let pick = |f: &dyn Fn(&Candidate) -> bool| -> Vec<usize> {
            candidates
                .iter()
                .filter(|c| f(c))
                .map(|(_, c)| *c)
                .collect()
        };
        let labelled = pick(&|(l, _)| {
            l.as_deref()
                .is_some_and(|l| env_kind(l) == EnvKind::Production)
        });
        if !labelled.is_empty() {
            return labelled;
        }
        let named = pick(&|(_, c)| env_kind(&self.classes[*c].name) == EnvKind::Production);
        if !named.is_empty() {
            return named;
        }
        let mut unique: Vec<usize> = candidates.iter().map(|(_, c)| *c).collect();
        unique.sort_unstable();
        unique.dedup();
        if unique.len() == 1 {
            return unique;
        }
        let defaults = pick(&|(l, _)| l.as_deref() == Some("default"));
        if !defaults.is_empty() {
            return defaults;
        }
        unique
            .into_iter()
            .filter(|c| env_kind(&self.classes[*c].name) == EnvKind::Other)
            .collect()
    }

    /// The literal fallback of an environment read: `os.environ.get('K', 'x')`,
    /// `os.getenv('K') or 'x'`, `config('K', default='x')`.
    pub fn env_fallback(&self, module: usize, value: &'m Expr) -> Option<&'m Expr> {
        match value {
            Expr::Call(call) => {
                let callee = self.imports[module]
                    .qualified(&call.func)
                    .unwrap_or_default();
                let fallback = if ENV_GETTERS.contains(&callee.as_str()) {
                    call.arguments.find_argument_value("default", 1)
                } else if matches!(
                    callee.rsplit('.').next(),
                    Some("config" | "env" | "str" | "get")
                ) && call.arguments.args.first().and_then(str_value).is_some()
                {
                    call.arguments.find_keyword("default").map(|k| &k.value)
                } else {
                    None
                }?;
                (is_constant(fallback) && !matches!(fallback, Expr::NoneLiteral(_)))
                    .then_some(fallback)
            }
            Expr::BoolOp(b) if b.op == BoolOp::Or => {
                let reads_env = b.values.iter().any(|v| self.is_env_read(module, v));
                let literal = b
                    .values
                    .iter()
                    .rev()
                    .map(|v| self.resolve_const(module, v))
                    .find(|v| is_constant(v) && !matches!(v, Expr::NoneLiteral(_)))?;
                reads_env.then_some(literal)
            }
            _ => None,
        }
    }

    pub fn is_env_read(&self, module: usize, expr: &Expr) -> bool {
        match expr {
            Expr::Call(call) => self.imports[module]
                .qualified(&call.func)
                .is_some_and(|q| ENV_GETTERS.contains(&q.as_str())),
            Expr::Subscript(s) => self.imports[module]
                .qualified(&s.value)
                .is_some_and(|q| q == "os.environ" || q == "environ"),
            _ => false,
        }
    }

    /// Resolve a name to a module-level constant of `module`, following imports once.
    pub fn resolve_const(&self, module: usize, expr: &'m Expr) -> &'m Expr {
        let Expr::Name(n) = expr else { return expr };
        if let Some(v) = self.consts(module).get(n.id.as_str()) {
            return v;
        }
        if let Some(q) = self.imports[module].get(n.id.as_str())
            && let Some((m, name)) = q.rsplit_once('.')
            && let Some(target) = self.modules.iter().position(|x| x.name == m)
            && let Some(v) = self.consts(target).get(name)
        {
            return v;
        }
        expr
    }
}

/// Ways of reading the environment: os.environ.get / os.getenv (and setdefault).
pub const ENV_GETTERS: &[&str] = &[
    "os.environ.get",
    "os.getenv",
    "environ.get",
    "getenv",
    "os.environ.setdefault",
];

/// What an environment name or a class name says about where it runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EnvKind {
    Production,
    Development,
    Other,
}

pub fn env_kind(name: &str) -> EnvKind {
    let lower = name.to_ascii_lowercase();
    if lower.starts_with("prod") || lower.contains("production") || lower.contains("prodconfig") {
        EnvKind::Production
    } else if ["dev", "test", "local", "debug", "ci", "unittest"]
        .iter()
        .any(|w| {
            lower.starts_with(w)
                || lower.contains(&format!("_{w}"))
                || lower.contains(&format!("{w}config"))
                || lower.contains("testing")
                || lower.contains("development")
        })
    {
        EnvKind::Development
    } else {
        EnvKind::Other
    }
}
