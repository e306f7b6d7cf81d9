//! Snippets fixes insert, kept as files in the repository's `templates/` folder and embedded
//! in the binary.
//!
//! A placeholder is `{{name}}`: two braces, an identifier, two braces, no spaces. Anything else
//! between braces (Jinja's `{{ csrf_token() }}`, with spaces) is left as it is, so snippets for
//! Jinja templates can be written naturally. Rendering fails on a placeholder without a value.

/// The embedded snippets, by path under `templates/`.
pub const TEMPLATES: &[(&str, &str)] = &[
    (
        "commit_message.txt",
        include_str!("../../templates/commit_message.txt"),
    ),
    (
        "debug/env_flag.py",
        include_str!("../../templates/debug/env_flag.py"),
    ),
    (
        "csrf/token_field.html",
        include_str!("../../templates/csrf/token_field.html"),
    ),
    (
        "csrf/token_field_fstring.txt",
        include_str!("../../templates/csrf/token_field_fstring.txt"),
    ),
    (
        "input_validation/pydantic_model.py",
        include_str!("../../templates/input_validation/pydantic_model.py"),
    ),
    (
        "input_validation/validate_body.py",
        include_str!("../../templates/input_validation/validate_body.py"),
    ),
    (
        "secret_key/strict_check.py",
        include_str!("../../templates/secret_key/strict_check.py"),
    ),
    (
        "headers/after_request.py",
        include_str!("../../templates/headers/after_request.py"),
    ),
    (
        "xss/sanitize_filter.py",
        include_str!("../../templates/xss/sanitize_filter.py"),
    ),
];

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TemplateError {
    #[error("no template named {0:?}")]
    Unknown(String),
    #[error("template {template:?} needs a value for {{{{{name}}}}}")]
    Missing { template: String, name: String },
}

/// An embedded template's text.
pub fn get(name: &str) -> Result<&'static str, TemplateError> {
    TEMPLATES
        .iter()
        .find(|(n, _)| *n == name)
        .map(|(_, t)| *t)
        .ok_or_else(|| TemplateError::Unknown(name.to_string()))
}

/// Render an embedded template.
pub fn render(name: &str, values: &[(&str, &str)]) -> Result<String, TemplateError> {
    render_str(name, get(name)?, values)
}

/// Substitute every `{{name}}` of `template` (called `label` in errors).
pub fn render_str(
    label: &str,
    template: &str,
    values: &[(&str, &str)],
) -> Result<String, TemplateError> {
    let mut out = String::with_capacity(template.len());
    let mut rest = template;
    while let Some(open) = rest.find("{{") {
        out.push_str(&rest[..open]);
        let after = &rest[open + 2..];
        let name_len = after
            .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
            .unwrap_or(after.len());
        let name = &after[..name_len];
        let is_placeholder = !name.is_empty()
            && !name.starts_with(|c: char| c.is_ascii_digit())
            && after[name_len..].starts_with("}}");
        if is_placeholder {
            let Some((_, value)) = values.iter().find(|(k, _)| *k == name) else {
                return Err(TemplateError::Missing {
                    template: label.to_string(),
                    name: name.to_string(),
                });
            };
            out.push_str(value);
            rest = &after[name_len + 2..];
        } else {
            out.push_str("{{");
            rest = after;
        }
    }
    out.push_str(rest);
    Ok(out)
}

/// Render a Python snippet (written with four-space indentation) for a file whose indentation
/// unit is `unit`.
pub fn render_python(
    name: &str,
    values: &[(&str, &str)],
    unit: &str,
) -> Result<String, TemplateError> {
    let rendered = render(name, values)?;
    Ok(rendered
        .lines()
        .map(|line| {
            let spaces = line.len() - line.trim_start_matches(' ').len();
            format!(
                "{}{}",
                unit.repeat(spaces / 4),
                &line[spaces - spaces % 4..]
            )
        })
        .collect::<Vec<_>>()
        .join("\n"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn substitutes_and_leaves_jinja_alone() {
        let t = "<input value=\"{{ csrf_token() }}\" name=\"{{name}}\">";
        assert_eq!(
            render_str("t", t, &[("name", "csrf_token")]).unwrap(),
            "<input value=\"{{ csrf_token() }}\" name=\"csrf_token\">"
        );
    }

    #[test]
    fn missing_placeholder_is_an_error() {
        assert_eq!(
            render_str("t", "a {{b}} c", &[]),
            Err(TemplateError::Missing {
                template: "t".into(),
                name: "b".into()
            })
        );
        assert!(matches!(
            render("nope", &[]),
            Err(TemplateError::Unknown(_))
        ));
    }

    #[test]
    fn embedded_templates_render() {
        let flag = render("debug/env_flag.py", &[("q", "'")]).unwrap();
        assert_eq!(flag.trim_end(), "os.environ.get('FLASK_DEBUG') == '1'");
        assert!(render("commit_message.txt", &[("item", "debug")]).is_err());
    }
}
