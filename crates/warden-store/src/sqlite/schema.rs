//! The SQLite schema migrations, embedded in the binary from
//! `migrations/sqlite/` so a deployed service needs no files next to it.

use std::borrow::Cow;

use sqlx::migrate::{Migration, MigrationType, Migrator};

/// `(version, description, sql)` of every SQLite migration, in order. A unit
/// test checks this list against the files in the folder.
pub(crate) const MIGRATIONS: &[(i64, &str, &str)] = &[
    (
        1,
        "init",
        include_str!("../../migrations/sqlite/0001_init.sql"),
    ),
    (
        2,
        "accounts",
        include_str!("../../migrations/sqlite/0002_accounts.sql"),
    ),
    (
        3,
        "event_auth_reason",
        include_str!("../../migrations/sqlite/0003_event_auth_reason.sql"),
    ),
    (
        4,
        "meta",
        include_str!("../../migrations/sqlite/0004_meta.sql"),
    ),
    (
        5,
        "profile_replay",
        include_str!("../../migrations/sqlite/0005_profile_replay.sql"),
    ),
    (
        6,
        "alerts",
        include_str!("../../migrations/sqlite/0006_alerts.sql"),
    ),
    (
        7,
        "notify",
        include_str!("../../migrations/sqlite/0007_notify.sql"),
    ),
    (
        8,
        "alerts_mark",
        include_str!("../../migrations/sqlite/0008_alerts_mark.sql"),
    ),
    (
        9,
        "answers",
        include_str!("../../migrations/sqlite/0009_answers.sql"),
    ),
    (
        10,
        "sessions",
        include_str!("../../migrations/sqlite/0010_sessions.sql"),
    ),
    (
        11,
        "policies",
        include_str!("../../migrations/sqlite/0011_policies.sql"),
    ),
    (
        12,
        "sensitive",
        include_str!("../../migrations/sqlite/0012_sensitive.sql"),
    ),
    (
        13,
        "audit",
        include_str!("../../migrations/sqlite/0013_audit.sql"),
    ),
    (
        14,
        "incidents",
        include_str!("../../migrations/sqlite/0014_incidents.sql"),
    ),
];

/// A migrator over the embedded migrations.
pub(crate) fn migrator() -> Migrator {
    Migrator::with_migrations(
        MIGRATIONS
            .iter()
            .map(|&(version, description, sql)| {
                Migration::new(
                    version,
                    Cow::Borrowed(description),
                    MigrationType::Simple,
                    sqlx::SqlSafeStr::into_sql_str(sql),
                    false,
                )
            })
            .collect(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_migration_file_is_embedded() {
        let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/migrations/sqlite");
        let mut files: Vec<String> = std::fs::read_dir(dir)
            .expect("migrations folder")
            .map(|e| {
                e.expect("dir entry")
                    .file_name()
                    .to_string_lossy()
                    .into_owned()
            })
            .filter(|name| name.ends_with(".sql"))
            .collect();
        files.sort();
        let embedded: Vec<String> = MIGRATIONS
            .iter()
            .map(|(v, d, _)| format!("{v:04}_{d}.sql"))
            .collect();
        assert_eq!(files, embedded);
        // Consecutive from 1.
        for (i, m) in MIGRATIONS.iter().enumerate() {
            assert_eq!(m.0, i as i64 + 1, "{}", m.1);
        }
    }
}
