//! The binary's integration tests (one test binary for link time).
mod detection;
mod docs;
mod e2e;
mod eval;
mod replay;
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
