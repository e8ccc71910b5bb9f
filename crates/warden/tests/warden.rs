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
