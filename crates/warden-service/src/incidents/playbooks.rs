//! Playbooks as data: `playbooks/l1.toml`, `l2.toml`, `l3.toml` in this
//! crate, embedded in the binary; an admin overrides one by putting a file
//! of the same name in `incidents.playbook_dir`. Every playbook is parsed
//! and validated ([`warden_core::incident::Playbook::validate`]) when the
//! service starts: a bad one refuses to start, naming the file and the
//! step.
//!
//! A file: `grade`, `title`, then `[[steps]]` each with `id`, `title_en`,
//! `title_zh`, `owner`, `due_minutes` and exactly one of `action` (a
//! one-click action's name) or `checklist` (the items of a manual step).

use std::path::{Path, PathBuf};
use std::sync::Arc;

use serde::Deserialize;
use warden_core::incident::{ActionKind, IncidentGrade, Playbook, PlaybookStep, StepKind};

/// The built-in playbooks, by grade.
pub const BUILT_IN: [(IncidentGrade, &str, &str); 3] = [
    (
        IncidentGrade::L1,
        "l1.toml",
        include_str!("../../playbooks/l1.toml"),
    ),
    (
        IncidentGrade::L2,
        "l2.toml",
        include_str!("../../playbooks/l2.toml"),
    ),
    (
        IncidentGrade::L3,
        "l3.toml",
        include_str!("../../playbooks/l3.toml"),
    ),
];

/// The largest playbook file read (bytes).
pub const MAX_PLAYBOOK_BYTES: u64 = 256 * 1024;

/// A playbook that cannot be used: the file and what is wrong.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("playbook {file}: {message}")]
pub struct PlaybookFileError {
    /// The file (`l1.toml (built-in)` or its path).
    pub file: String,
    pub message: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileStep {
    id: String,
    title_en: String,
    title_zh: String,
    owner: String,
    due_minutes: u32,
    action: Option<String>,
    checklist: Option<Vec<String>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct File {
    grade: String,
    title: String,
    steps: Vec<FileStep>,
}

/// Parses and validates one playbook file's text, for `grade`.
pub fn parse(text: &str, grade: IncidentGrade, file: &str) -> Result<Playbook, PlaybookFileError> {
    let bad = |message: String| PlaybookFileError {
        file: file.to_string(),
        message,
    };
    let f: File = toml::from_str(text).map_err(|e| bad(e.to_string().trim().to_string()))?;
    let declared: IncidentGrade = f.grade.parse().map_err(|e| bad(format!("grade: {e}")))?;
    if declared != grade {
        return Err(bad(format!(
            "grade: the file {file} holds the {grade} playbook, not {declared}"
        )));
    }
    let mut steps = Vec::with_capacity(f.steps.len());
    for s in f.steps {
        let kind = match (s.action, s.checklist) {
            (Some(a), None) => StepKind::Action(
                a.parse::<ActionKind>()
                    .map_err(|e| bad(format!("step {:?}: action: {e}", s.id)))?,
            ),
            (None, Some(checklist)) => StepKind::Manual { checklist },
            _ => {
                return Err(bad(format!(
                    "step {:?}: needs exactly one of `action` or `checklist`",
                    s.id
                )))
            }
        };
        steps.push(PlaybookStep {
            id: s.id,
            title_en: s.title_en,
            title_zh: s.title_zh,
            owner: s.owner,
            due_minutes: s.due_minutes,
            kind,
        });
    }
    let book = Playbook {
        grade,
        title: f.title,
        steps,
    };
    book.validate().map_err(|e| bad(e.to_string()))?;
    Ok(book)
}

/// The effective playbook of each grade and where it came from.
#[derive(Debug, Clone)]
pub struct Playbooks {
    books: [(Arc<Playbook>, String); 3],
}

fn slot(g: IncidentGrade) -> usize {
    match g {
        IncidentGrade::L1 => 0,
        IncidentGrade::L2 => 1,
        IncidentGrade::L3 => 2,
    }
}

impl Playbooks {
    /// The built-in ones.
    pub fn built_in() -> Self {
        Self::load(None).expect("the built-in playbooks are valid (a unit test checks)")
    }

    /// The built-in playbooks, each replaced by a file of the same name in
    /// `dir` when there is one. The first bad file is the error.
    pub fn load(dir: Option<&Path>) -> Result<Self, PlaybookFileError> {
        let mut out = Vec::with_capacity(3);
        for (grade, name, text) in BUILT_IN {
            let path: Option<PathBuf> = dir.map(|d| d.join(name)).filter(|p| p.exists());
            let book = match path {
                Some(p) => {
                    let shown = p.display().to_string();
                    let read = || -> Result<String, String> {
                        let meta = std::fs::metadata(&p).map_err(|e| e.to_string())?;
                        if meta.len() > MAX_PLAYBOOK_BYTES {
                            return Err(format!("larger than {MAX_PLAYBOOK_BYTES} bytes"));
                        }
                        std::fs::read_to_string(&p).map_err(|e| e.to_string())
                    };
                    let text = read().map_err(|message| PlaybookFileError {
                        file: shown.clone(),
                        message,
                    })?;
                    (parse(&text, grade, &shown)?, shown)
                }
                None => {
                    let shown = format!("{name} (built-in)");
                    (parse(text, grade, &shown)?, shown)
                }
            };
            out.push((Arc::new(book.0), book.1));
        }
        let [a, b, c]: [(Arc<Playbook>, String); 3] =
            out.try_into().expect("three grades, three playbooks");
        Ok(Playbooks { books: [a, b, c] })
    }

    /// The playbook of `grade`.
    pub fn of(&self, grade: IncidentGrade) -> &Arc<Playbook> {
        &self.books[slot(grade)].0
    }

    /// Where the playbook of `grade` came from (a path or `l1.toml
    /// (built-in)`).
    pub fn source(&self, grade: IncidentGrade) -> &str {
        &self.books[slot(grade)].1
    }
}

impl Default for Playbooks {
    fn default() -> Self {
        Self::built_in()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_built_in_playbooks_are_valid_and_l1_contains_within_an_hour() {
        let p = Playbooks::built_in();
        let l1 = p.of(IncidentGrade::L1);
        let actions: Vec<ActionKind> = l1.steps.iter().filter_map(|s| s.kind.action()).collect();
        for a in [
            ActionKind::LockAccount,
            ActionKind::LogoutEverywhere,
            ActionKind::BlockSource,
            ActionKind::MarkForRevert,
            ActionKind::ForcePasswordReset,
            ActionKind::RequireTwoFactor,
            ActionKind::Notify,
        ] {
            let step = l1
                .steps
                .iter()
                .find(|s| s.kind.action() == Some(a))
                .unwrap();
            assert_eq!(step.due_minutes, 60, "{a}: containment within an hour");
            assert!(actions.contains(&a));
        }
        let report = l1.steps.iter().find(|s| s.id == "forensic_report").unwrap();
        assert_eq!(report.due_minutes, 24 * 60);
        assert_eq!(p.of(IncidentGrade::L3).grade, IncidentGrade::L3);
        assert_eq!(p.source(IncidentGrade::L2), "l2.toml (built-in)");
    }

    #[test]
    fn a_file_in_the_directory_replaces_the_built_in_one() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join("l2.toml"),
            "grade = \"l2\"\ntitle = \"Lost phone\"\n[[steps]]\nid = \"wipe\"\ntitle_en = \"Wipe\"\ntitle_zh = \"擦除\"\nowner = \"it\"\ndue_minutes = 30\nchecklist = [\"Wiped\"]\n",
        )
        .unwrap();
        let p = Playbooks::load(Some(dir.path())).unwrap();
        assert_eq!(p.of(IncidentGrade::L2).title, "Lost phone");
        assert_eq!(p.of(IncidentGrade::L2).steps.len(), 1);
        assert!(p.source(IncidentGrade::L2).ends_with("l2.toml"));
        assert_eq!(p.source(IncidentGrade::L1), "l1.toml (built-in)");
    }

    #[test]
    fn a_bad_file_names_the_file_and_the_step() {
        let dir = tempfile::tempdir().unwrap();
        let write = |text: &str| std::fs::write(dir.path().join("l1.toml"), text).unwrap();
        let step = |extra: &str| {
            format!("grade = \"l1\"\ntitle = \"x\"\n[[steps]]\nid = \"lock\"\ntitle_en = \"Lock\"\ntitle_zh = \"冻结\"\nowner = \"sec\"\n{extra}")
        };
        write(&step("due_minutes = 0\naction = \"lock_account\"\n"));
        let e = Playbooks::load(Some(dir.path())).unwrap_err();
        assert!(e.file.ends_with("l1.toml"), "{e}");
        assert!(e.message.contains("step \"lock\": due_minutes"), "{e}");

        write(&step("due_minutes = 5\naction = \"launch_missiles\"\n"));
        let e = Playbooks::load(Some(dir.path())).unwrap_err();
        assert!(e.message.contains("step \"lock\": action"), "{e}");

        write(&step(
            "due_minutes = 5\naction = \"lock_account\"\nchecklist = [\"a\"]\n",
        ));
        let e = Playbooks::load(Some(dir.path())).unwrap_err();
        assert!(e.message.contains("exactly one"), "{e}");

        write("grade = \"l3\"\ntitle = \"x\"\nsteps = []\n");
        let e = Playbooks::load(Some(dir.path())).unwrap_err();
        assert!(e.message.contains("grade"), "{e}");

        write("grade = \"l1\"\ntitle = \"x\"\nsteps = []\nsurprise = 1\n");
        let e = Playbooks::load(Some(dir.path())).unwrap_err();
        assert!(e.message.contains("surprise"), "{e}");
    }
}
