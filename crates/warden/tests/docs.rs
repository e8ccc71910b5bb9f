//! The README cannot drift from the code: its configuration reference is the
//! generated one, and it has exactly two set-up commands, the second of which
//! is what `.ci/run` runs.

use std::path::PathBuf;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// The byte range strictly between two markers.
fn span(text: &str, start: &str, end: &str) -> std::ops::Range<usize> {
    let s = text
        .find(start)
        .unwrap_or_else(|| panic!("README lacks {start}"))
        + start.len();
    let e = text[s..]
        .find(end)
        .unwrap_or_else(|| panic!("README lacks {end}"))
        + s;
    s..e
}

fn between<'a>(text: &'a str, start: &str, end: &str) -> &'a str {
    &text[span(text, start, end)]
}

#[test]
fn readme_configuration_reference_is_generated() {
    let readme = std::fs::read_to_string(root().join("README.md")).unwrap();
    let range = span(
        &readme,
        "<!-- config-reference:start -->\n",
        "<!-- config-reference:end -->",
    );
    let generated = warden::config::reference_markdown();
    if readme[range.clone()] != generated {
        if std::env::var_os("WARDEN_UPDATE_DOCS").is_some() {
            let mut updated = readme.clone();
            updated.replace_range(range, &generated);
            std::fs::write(root().join("README.md"), updated).unwrap();
        } else {
            panic!(
                "README.md's configuration reference is out of date: run `WARDEN_UPDATE_DOCS=1 cargo test -p warden --test warden docs`\n--- expected ---\n{generated}"
            );
        }
    }
}

#[test]
fn readme_has_exactly_two_setup_commands_and_ci_runs_the_second() {
    let readme = std::fs::read_to_string(root().join("README.md")).unwrap();
    let block = between(&readme, "<!-- setup:start -->", "<!-- setup:end -->");
    let commands: Vec<&str> = block
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with("```") && !l.starts_with('#'))
        .collect();
    assert_eq!(commands.len(), 2, "set-up commands in README: {commands:?}");
    for c in &commands {
        let script = c.split_whitespace().next().unwrap();
        assert!(
            root().join(script).is_file(),
            "{script} named in the README does not exist"
        );
    }
    let ci = std::fs::read_to_string(root().join(".ci/run")).unwrap();
    assert!(
        ci.contains(commands[1]),
        ".ci/run must run the README's test command {:?}",
        commands[1]
    );
}
