//! Caddyfiles: site blocks (`example.com { … }`) and directives, one per line.

use super::ServerConfig;

pub fn parse(text: &str) -> ServerConfig {
    super::nginx::parse_with(text, true)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sites_and_directives() {
        let text = "example.com {\n  reverse_proxy app:8000\n  tls {\n    protocols tls1.0 tls1.3\n  }\n}\n";
        let cfg = parse(text);
        let names: Vec<&str> = cfg.directives.iter().map(|d| d.name.as_str()).collect();
        assert_eq!(names, ["reverse_proxy", "protocols"]);
        assert_eq!(cfg.blocks[0].name, "example.com");
    }
}
