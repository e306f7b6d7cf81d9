//! Apache httpd configs: `<Section args>` … `</Section>` blocks and `Directive args` lines
//! (with `\` continuations). Directive names are case-insensitive in Apache.

use super::{Block, Directive, ServerConfig};

pub fn parse(text: &str) -> ServerConfig {
    let mut cfg = ServerConfig::default();
    let mut stack: Vec<usize> = Vec::new();
    let mut lines = super::lines_with_offsets(text).peekable();
    while let Some((start, line)) = lines.next() {
        let trimmed = line.trim();
        if trimmed.is_empty() || trimmed.starts_with('#') {
            continue;
        }
        let lead = line.len() - line.trim_start().len();
        let begin = start + lead;
        let mut end = start + line.trim_end().len();
        let mut logical = trimmed.to_string();
        while logical.ends_with('\\') {
            logical.pop();
            let Some((s, next)) = lines.next() else { break };
            logical.push(' ');
            logical.push_str(next.trim());
            end = s + next.trim_end().len();
        }
        if let Some(close) = logical.strip_prefix("</") {
            let name = close.trim_end_matches('>').trim();
            // Pop to the matching section; a stray closing tag is ignored.
            if let Some(pos) = stack
                .iter()
                .rposition(|&b| cfg.blocks[b].name.eq_ignore_ascii_case(name))
            {
                for &b in &stack[pos..] {
                    cfg.blocks[b].body_end = begin;
                }
                stack.truncate(pos);
            }
            continue;
        }
        let words: Vec<String> = super::shell::split_commands(&logical.replace(['<', '>'], " "))
            .into_iter()
            .flatten()
            .map(|w| w.text)
            .collect();
        let Some((name, args)) = words.split_first() else {
            continue;
        };
        if logical.starts_with('<') {
            cfg.blocks.push(Block {
                name: name.clone(),
                args: args.to_vec(),
                range: begin..end,
                body_end: text.len(),
                parent: stack.last().copied(),
            });
            stack.push(cfg.blocks.len() - 1);
            continue;
        }
        cfg.directives.push(Directive {
            name: name.clone(),
            args: args.to_vec(),
            range: begin..end,
            block: stack.last().copied(),
        });
    }
    cfg
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sections_and_directives() {
        let text = "ServerTokens Full\n<VirtualHost *:443>\n  SSLProtocol all -SSLv3\n  Header always set X-Frame-Options DENY\n</VirtualHost>\n";
        let cfg = parse(text);
        assert_eq!(cfg.directives.len(), 3);
        assert_eq!(cfg.blocks[0].name, "VirtualHost");
        assert_eq!(cfg.blocks[0].args, ["*:443"]);
        assert!(cfg.within(&cfg.directives[1], 0));
        assert_eq!(
            &text[cfg.directives[1].range.clone()],
            "SSLProtocol all -SSLv3"
        );
        for junk in ["</x>", "<", "\\", "<a\n</b>\n</a>"] {
            let _ = parse(junk);
        }
    }
}
