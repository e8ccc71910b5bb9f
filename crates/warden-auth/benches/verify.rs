//! The cost of checking a credential, one core:
//!
//! - `argon2_verify/default`: one password verification with the default
//!   argon2id parameters (19 MiB, 2 iterations, 1 lane): what each login
//!   with a password costs, and each login to an unknown user
//!   (`verify_dummy`).
//! - `code_digest`: normalising a typed authorization code and hashing it,
//!   what a mail client's login with an app password costs before the lookup.
//! - `totp_verify`: checking a six-digit code against the ±1 step window.

use std::hint::black_box;
use std::time::Duration;

use criterion::Criterion;
use warden_auth::{code_digest, normalize_code, Argon2Params, PasswordHasher, Totp, TotpSecret};
use warden_core::Timestamp;

fn bench(c: &mut Criterion) {
    let hasher = PasswordHasher::new(Argon2Params::default()).expect("default parameters");
    let phc = hasher.hash("tall-otter-in-the-snow").expect("hash");
    let mut group = c.benchmark_group("argon2_verify");
    group
        .sample_size(20)
        .measurement_time(Duration::from_secs(10));
    group.bench_function("default", |b| {
        b.iter(|| hasher.verify(black_box(&phc), black_box("tall-otter-in-the-snow")))
    });
    group.finish();

    c.bench_function("code_digest", |b| {
        b.iter(|| normalize_code(black_box("abcd efgh jkmn pqrs")).map(|c| code_digest(&c)))
    });

    let totp = Totp::new(TotpSecret::from_bytes(b"12345678901234567890").expect("secret"));
    let now = Timestamp(1_234_567_890);
    // `verify` computes the three steps of the window whatever the code.
    let code = totp.code_now(now);
    c.bench_function("totp_verify", |b| {
        b.iter(|| totp.verify(black_box(&code), black_box(now), black_box(None)))
    });
}

fn main() {
    let mut c = Criterion::default().configure_from_args();
    bench(&mut c);
    c.final_summary();
}
