//! The database's files are private: the file (argon2 hashes, login
//! history) is created with mode 0600 whatever the process's umask, so its
//! `-wal` and `-shm` (which SQLite creates with the database's mode) are
//! too, and folders created here are 0700. A file found with group or other
//! permissions is tightened to 0600, with a warning; a folder is only
//! warned about.

use std::io;
use std::path::{Path, PathBuf};

/// Creates `dir` and its missing parents, each new one with mode 0700.
pub fn create_dir_all(dir: &Path) -> io::Result<()> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::DirBuilderExt;
        std::fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(dir)
    }
    #[cfg(not(unix))]
    std::fs::create_dir_all(dir)
}

/// Creates (or truncates) `path` for writing with mode 0600, for exports
/// of login data; an existing looser file is tightened first.
pub fn create_file(path: &Path) -> io::Result<std::fs::File> {
    tighten(path, 0o600)?;
    let mut o = std::fs::OpenOptions::new();
    o.write(true).create(true).truncate(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        o.mode(0o600);
    }
    o.open(path)
}

/// The database file and its companions.
fn companions(db: &Path) -> [PathBuf; 3] {
    let with = |suffix: &str| {
        let mut s = db.as_os_str().to_owned();
        s.push(suffix);
        PathBuf::from(s)
    };
    [db.to_path_buf(), with("-wal"), with("-shm")]
}

/// Creates the database file empty with mode 0600 when it is missing (an
/// empty file is a new database to SQLite) and tightens the modes of the
/// file, its `-wal` and its `-shm` when they exist.
pub fn prepare(db: &Path) -> io::Result<()> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        match std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(db)
        {
            Ok(_) => {}
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {}
            Err(e) => return Err(e),
        }
        for f in companions(db) {
            tighten(&f, 0o600)?;
        }
    }
    #[cfg(not(unix))]
    let _ = db;
    Ok(())
}

/// Warns when the folder `dir` lets group or others in (its files are
/// private anyway; the folder is not changed, since other programs may
/// share it). Returns whether it does.
pub fn warn_if_open(dir: &Path) -> bool {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let Ok(meta) = std::fs::metadata(dir) else {
            return false;
        };
        let mode = meta.permissions().mode() & 0o777;
        if mode & 0o077 == 0 {
            return false;
        }
        tracing::warn!(
            dir = %dir.display(),
            mode = format!("{mode:04o}"),
            "the data folder is open to other users (its files are 0600); `chmod 700` it unless another program needs it"
        );
        true
    }
    #[cfg(not(unix))]
    {
        let _ = dir;
        false
    }
}

/// Sets `path`'s mode to `mode` when it exists and grants more than that
/// (group or other bits), logging a warning. Returns whether it changed.
pub fn tighten(path: &Path, mode: u32) -> io::Result<bool> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let meta = match std::fs::metadata(path) {
            Ok(m) => m,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(false),
            Err(e) => return Err(e),
        };
        let old = meta.permissions().mode() & 0o777;
        if old & !mode == 0 {
            return Ok(false);
        }
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode))?;
        tracing::warn!(
            file = %path.display(),
            old = format!("{old:04o}"),
            new = format!("{mode:04o}"),
            "tightened the permissions of a private file"
        );
        Ok(true)
    }
    #[cfg(not(unix))]
    {
        let _ = (path, mode);
        Ok(false)
    }
}
