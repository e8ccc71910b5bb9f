//! The configuration snippets in `docs/integrations/*.md` are the
//! templates under `integrations/` that the end-to-end tests render, so
//! what the docs tell a mail admin is what the tests run.

use std::collections::BTreeSet;

use super::harness::{repo, template};

/// The templates every mail admin needs; each must be shown in a doc.
const SNIPPETS: &[&str] = &[
    "dovecot/warden-policy.conf",
    "dovecot/warden-passdb.conf",
    "dovecot/warden-checkpassword.conf",
    "dovecot/postfix-sasl.conf",
    "postfix/main.cf",
    "warden.toml",
];

#[test]
fn the_docs_show_the_tested_templates_verbatim() {
    const MARK: &str = "<!-- snippet: ";
    let mut shown = BTreeSet::new();
    for doc in [
        "docs/integrations/dovecot.md",
        "docs/integrations/postfix.md",
    ] {
        let text = std::fs::read_to_string(repo().join(doc)).unwrap();
        for (at, _) in text.match_indices(MARK) {
            let rest = &text[at + MARK.len()..];
            let end = rest.find(" -->").expect("snippet marker ends with -->");
            let name = rest[..end].trim();
            let after = &rest[end..];
            let fence = after.find("```").expect("a fenced block after the marker");
            let block = &after[fence..];
            let body_start = block.find('\n').unwrap() + 1;
            let body_len = block[body_start..]
                .find("\n```")
                .expect("the fenced block ends")
                + 1;
            let body = &block[body_start..body_start + body_len];
            assert_eq!(
                body,
                template(name),
                "{doc}: the snippet differs from integrations/{name}"
            );
            shown.insert(name.to_string());
        }
    }
    for s in SNIPPETS {
        assert!(shown.contains(*s), "no doc shows integrations/{s}");
    }
}
