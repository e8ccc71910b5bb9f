//! The binary's integration tests (one test binary for link time).
mod alerts;
mod answers;
mod audit;
mod crash;
mod detection;
mod docs;
mod e2e;
mod edge;
mod eval;
mod incident_l1;
mod notify;
mod operations;
mod replay;
mod reports;
mod service;

/// Writes a DB-IP fixture pair covering the synthetic address pools.
fn write_pool_fixture(dir: &std::path::Path) {
    let mut f = warden_geo::mmdb_writer::DbipFixture::new();
    for p in warden::synth::POOLS {
        f = f.city(p.net, p.country, p.region, p.city, p.lat, p.lon, p.tz);
    }
    f.write_pair(dir).unwrap();
}

/// IP intelligence over [`write_pool_fixture`], for replay and eval.
fn replay_intel() -> (tempfile::TempDir, warden_geo::IpIntel) {
    let dir = tempfile::tempdir().unwrap();
    write_pool_fixture(dir.path());
    let intel = warden_geo::IpIntel::from_dir(dir.path()).unwrap();
    (dir, intel)
}

/// The `warden` binary with a clean environment and its data (and so its
/// default geo folder, `geo/`) in `data_dir`.
fn warden_bin(data_dir: &std::path::Path) -> std::process::Command {
    let mut c = std::process::Command::new(env!("CARGO_BIN_EXE_warden"));
    c.env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("WARDEN_DATA_DIR", data_dir);
    c
}

/// A data folder whose `geo/` holds [`write_pool_fixture`].
fn data_dir_with_geo() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let geo = dir.path().join("geo");
    std::fs::create_dir_all(&geo).unwrap();
    write_pool_fixture(&geo);
    dir
}

/// Runs `cmd` to the end; returns (exit code, stdout, stderr).
fn output_of(cmd: &mut std::process::Command) -> (Option<i32>, String, String) {
    let out = cmd.output().unwrap();
    (
        out.status.code(),
        String::from_utf8(out.stdout).unwrap(),
        String::from_utf8(out.stderr).unwrap(),
    )
}

/// Asserts that a `warden` run refused for want of geo data, clearly: a
/// non-zero exit, an error naming the folder, the way to fetch the data
/// and the flag to run without it, and no output.
fn assert_refused_without_geo(
    (code, stdout, stderr): &(Option<i32>, String, String),
    geo: &std::path::Path,
) {
    assert!(code.is_some_and(|c| c != 0), "exit {code:?}: {stderr}");
    assert!(stderr.starts_with("error: "), "{stderr}");
    assert!(stderr.contains(&geo.display().to_string()), "{stderr}");
    assert!(
        stderr.contains(&format!("scripts/fetch-geo.sh {}", geo.display())),
        "{stderr}"
    );
    assert!(stderr.contains("--no-geo"), "{stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
    assert_eq!(stdout, "");
}

/// Runs a `warden` CLI command (`base` carries the environment) against the
/// service on `port` with API key `key`, feeding `stdin` as its first line;
/// asserts success and returns stdout.
fn run_cli(
    mut base: std::process::Command,
    port: u16,
    key: &str,
    args: &[&str],
    stdin: Option<&str>,
) -> String {
    use std::io::Write;
    use std::process::Stdio;
    let mut child = base
        .env("WARDEN_API_KEY", key)
        .args(args)
        .args(["--server", &format!("127.0.0.1:{port}")])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut input = child.stdin.take().unwrap();
    if let Some(s) = stdin {
        writeln!(input, "{s}").unwrap();
    }
    drop(input);
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "warden {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}
