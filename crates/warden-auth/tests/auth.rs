//! warden-auth's integration tests: each module through the public API, with
//! the published test vectors and proptest properties.

use proptest::prelude::*;
use warden_auth::codes::{CODE_ALPHABET, CODE_LEN, RECOVERY_CODE_COUNT};
use warden_auth::secretbox::{NONCE_LEN, TAG_LEN};
use warden_auth::*;
use warden_core::{Lang, Timestamp};

/// Parameters cheap enough for many tests.
fn cheap() -> Argon2Params {
    Argon2Params {
        memory_kib: 64,
        iterations: 1,
        parallelism: 1,
    }
}

// ---------------------------------------------------------------- hashing

#[test]
fn the_default_parameters_hash_and_verify() {
    let hasher = PasswordHasher::new(Argon2Params::default()).unwrap();
    let phc = hasher.hash("tall-otter-in-the-snow").unwrap();
    assert!(phc.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"), "{phc}");
    assert!(hasher.verify(&phc, "tall-otter-in-the-snow"));
    assert!(!hasher.verify(&phc, "Tall-otter-in-the-snow"));
    assert!(!hasher.needs_rehash(&phc));
    // A cheaper hasher still verifies the stronger hash, and wants it redone.
    let cheaper = PasswordHasher::new(cheap()).unwrap();
    assert!(cheaper.verify(&phc, "tall-otter-in-the-snow"));
    assert!(cheaper.needs_rehash(&phc));
}

#[test]
fn equivalent_unicode_spellings_are_one_password() {
    let hasher = PasswordHasher::new(cheap()).unwrap();
    // Composed "é" vs "e" + combining accent; full-width digits from a
    // Chinese input method vs ASCII digits (NFKC).
    let phc = hasher.hash("caf\u{e9} au lait 2026").unwrap();
    assert!(hasher.verify(&phc, "cafe\u{301} au lait 2026"));
    assert!(hasher.verify(&phc, "caf\u{e9} au lait \u{ff12}\u{ff10}\u{ff12}\u{ff16}"));
    assert!(!hasher.verify(&phc, "cafe au lait 2026"));
}

#[test]
fn unicode_passwords_hash_as_their_nfkc_utf8_bytes() {
    let hasher = PasswordHasher::new(cheap()).unwrap();
    let phc = hasher.hash("密码是一只高高的水獭").unwrap();
    assert!(hasher.verify(&phc, "密码是一只高高的水獭"));
    assert!(!hasher.verify(&phc, "密码是一只高高的水獺"));
    // The dummy verification accepts any input, including what breaks parsers.
    hasher.verify_dummy("");
    hasher.verify_dummy("$argon2id$v=19$m=1,t=1,p=1$$");
}

#[test]
fn hashing_parameters_deserialise_with_defaults_and_refuse_unknown_keys() {
    let params: Argon2Params = toml::from_str("memory_kib = 65536").unwrap();
    assert_eq!(
        params,
        Argon2Params {
            memory_kib: 65536,
            ..Argon2Params::default()
        }
    );
    assert_eq!(
        toml::from_str::<Argon2Params>("").unwrap(),
        Argon2Params::default()
    );
    let err = toml::from_str::<Argon2Params>("memory = 1").unwrap_err();
    assert!(err.to_string().contains("unknown field"), "{err}");
}

// ----------------------------------------------------------------- policy

const CONTEXT: &[&str] = &["zhang.san@example.com", "zhang", "zhangsan", "acme"];

#[test]
fn each_violation_is_found_with_its_code_and_both_texts() {
    let policy = PasswordPolicy::default();
    let long = "x".repeat(60) + &"vivid-otter-harbour-".repeat(4);
    let cases: &[(&str, &str)] = &[
        ("short-pw", "too_short"),
        (&long, "too_long"),
        ("tab\tinside-the-password", "control_character"),
        ("PASSWORD1234", "common"),
        ("1QAZ2wsx3edc", "common"),
        ("i-am-ZhangSan-2024", "contains_context"),
        ("acme-rocks-forever", "contains_context"),
        ("abcabcabcabc", "repetitive"),
        ("zzzzzzzzzzzzzzzz", "repetitive"),
        ("9876543210987", "sequential"),
        ("abcdefghijklmno", "sequential"),
    ];
    for (password, code) in cases {
        let violation = policy.check(password, CONTEXT).unwrap_err();
        assert_eq!(violation.code(), *code, "{password:?}: {violation:?}");
        let (en, zh) = (violation.message(Lang::En), violation.message(Lang::Zh));
        assert!(en.starts_with("The password") || en.starts_with("This password"));
        assert!(en.ends_with('.'), "{en}");
        assert!(zh.ends_with('。'), "{zh}");
    }
}

#[test]
fn violation_texts_carry_their_numbers_and_words() {
    let policy = PasswordPolicy {
        min_length: 15,
        ..PasswordPolicy::default()
    };
    let short = policy.check("fourteen-chars", &[]).unwrap_err();
    assert_eq!(short, PolicyViolation::TooShort { min: 15 });
    assert_eq!(
        short.message(Lang::En),
        "The password must have at least 15 characters."
    );
    assert_eq!(short.message(Lang::Zh), "密码至少需要 15 个字符。");
    assert_eq!(short.to_string(), short.message(Lang::En));

    let context = policy.check("my-zhangsan-is-here", CONTEXT).unwrap_err();
    // The longest matching word is named.
    assert_eq!(
        context,
        PolicyViolation::ContainsContext {
            word: "zhangsan".into()
        }
    );
    assert!(context.message(Lang::Zh).contains("“zhangsan”"));

    let reused = PolicyViolation::RecentlyUsed { history: 5 };
    assert_eq!(reused.code(), "recently_used");
    assert!(reused.message(Lang::En).contains("last 5"));
    assert!(reused.message(Lang::Zh).contains("最近 5 次"));
}

#[test]
fn length_counts_characters_not_bytes() {
    let policy = PasswordPolicy::default();
    // 11 Chinese characters are 33 bytes, but too short.
    let eleven = "春眠不觉晓处处闻啼鸟夜";
    assert_eq!(eleven.chars().count(), 11);
    assert_eq!(
        policy.check(eleven, &[]).unwrap_err(),
        PolicyViolation::TooShort { min: 12 }
    );
    assert!(policy.check("春眠不觉晓处处闻啼鸟夜来", &[]).is_ok());
    // 128 two-byte characters are allowed, 129 are not.
    let max = "é".repeat(127) + "ü";
    assert!(policy.violation(&max, &[]).is_none());
    assert_eq!(
        policy.violation(&(max + "a"), &[]),
        Some(PolicyViolation::TooLong { max: 128 })
    );
}

#[test]
fn short_context_words_and_switched_off_checks_are_ignored() {
    let policy = PasswordPolicy::default();
    // "san" has 3 characters: not a context word.
    assert!(policy.check("san-the-otter-swims", &["san"]).is_ok());
    let lax = PasswordPolicy {
        check_common: false,
        ..PasswordPolicy::default()
    };
    assert!(lax.check("password1234", &[]).is_ok());
    assert_eq!(
        PasswordPolicy::default().violation("password1234", &[]),
        Some(PolicyViolation::Common)
    );
}

#[test]
fn acceptable_passwords_are_graded_and_weak_ones_are_not_refused() {
    let policy = PasswordPolicy::default();
    let weak = policy.check("password2024", &[]).unwrap();
    assert_eq!(weak.grade, Grade::Weak);
    assert!(weak.score <= 2);
    assert!(!weak.feedback_en.is_empty());
    assert_eq!(weak.feedback_en.len(), weak.feedback_zh.len());
    assert!(weak.feedback_zh.iter().all(|s| !s.is_ascii()));

    let medium = policy.check("summer2024!!", &[]).unwrap();
    assert_eq!((medium.grade, medium.score), (Grade::Medium, 3));

    let strong = policy.check("vivid-otter-harbour-ledger", &[]).unwrap();
    assert_eq!((strong.grade, strong.score), (Grade::Strong, 4));
    assert!(strong.feedback_en.is_empty() && strong.feedback_zh.is_empty());
    assert_eq!(
        (
            strong.grade.as_str(),
            strong.grade.label(Lang::Zh),
            strong.grade.colour()
        ),
        ("strong", "强", "green")
    );
}

#[test]
fn context_words_come_from_names_addresses_and_the_company() {
    let words = context_words(
        "Zhang.San@Example.com",
        Some("zs-work@mail.example.com"),
        "Zhang San",
        "Acme Trading Company Limited",
    );
    for want in [
        "zhang.san@example.com",
        "zhang.san",
        "zhang",
        "zhangsan",
        "zs-work",
        "work",
        "zswork",
        "acme",
        "trading",
        "acmetradingcompanylimited",
    ] {
        assert!(words.iter().any(|w| w == want), "{want} not in {words:?}");
    }
    for unwanted in ["san", "zs", "company", "limited"] {
        assert!(
            !words.iter().any(|w| w == unwanted),
            "{unwanted} in {words:?}"
        );
    }
    let mut sorted = words.clone();
    sorted.sort();
    sorted.dedup();
    assert_eq!(sorted.len(), words.len(), "duplicates in {words:?}");
}

#[test]
fn policies_deserialise_and_validate() {
    let policy: PasswordPolicy = toml::from_str("min_length = 15\nhistory = 5").unwrap();
    assert_eq!(policy.min_length, 15);
    assert_eq!(policy.history, 5);
    assert_eq!(policy.max_length, 128);
    assert!(policy.validate().is_ok());
    assert!(toml::from_str::<PasswordPolicy>("min_len = 15").is_err());

    let bad = [
        (
            PasswordPolicy {
                min_length: 7,
                ..PasswordPolicy::default()
            },
            "min_length",
        ),
        (
            PasswordPolicy {
                max_length: 63,
                ..PasswordPolicy::default()
            },
            "max_length",
        ),
        (
            PasswordPolicy {
                max_length: 2000,
                ..PasswordPolicy::default()
            },
            "max_length",
        ),
        (
            PasswordPolicy {
                min_length: 100,
                max_length: 64,
                ..PasswordPolicy::default()
            },
            "min_length",
        ),
        (
            PasswordPolicy {
                history: 25,
                ..PasswordPolicy::default()
            },
            "history",
        ),
        (
            PasswordPolicy {
                expiry_days: 4000,
                ..PasswordPolicy::default()
            },
            "expiry_days",
        ),
        (
            PasswordPolicy {
                expiry_grace_days: 400,
                ..PasswordPolicy::default()
            },
            "expiry_grace_days",
        ),
    ];
    for (policy, setting) in bad {
        match policy.validate() {
            Err(AuthError::InvalidSetting { setting: s, .. }) => assert_eq!(s, setting),
            other => panic!("{policy:?}: {other:?}"),
        }
    }
}

#[test]
fn passwords_expire_after_the_period_and_the_grace() {
    const DAY: i64 = 86_400;
    let policy = PasswordPolicy {
        expiry_days: 90,
        expiry_grace_days: 7,
        ..PasswordPolicy::default()
    };
    let set = Timestamp(1_700_000_000);
    let at = |days: i64, secs: i64| Timestamp(set.secs() + days * DAY + secs);
    let grace_end = at(97, 0);
    assert_eq!(policy.expiry(set, at(0, 0)), Expiry::Fresh);
    assert_eq!(policy.expiry(set, at(90, -1)), Expiry::Fresh);
    assert_eq!(
        policy.expiry(set, at(90, 0)),
        Expiry::Expiring {
            in_grace_until: grace_end
        }
    );
    assert_eq!(
        policy.expiry(set, at(97, -1)),
        Expiry::Expiring {
            in_grace_until: grace_end
        }
    );
    assert_eq!(policy.expiry(set, at(97, 0)), Expiry::Expired);
    assert_eq!(policy.expiry(set, at(10_000, 0)), Expiry::Expired);
    // Expiry off: fresh forever.
    assert_eq!(
        PasswordPolicy::default().expiry(set, at(10_000, 0)),
        Expiry::Fresh
    );
    // No grace: expired on the day.
    let strict = PasswordPolicy {
        expiry_grace_days: 0,
        ..policy
    };
    assert_eq!(strict.expiry(set, at(90, 0)), Expiry::Expired);
}

// ------------------------------------------------------------------ codes

fn in_alphabet(s: &str) -> bool {
    s.bytes().all(|b| CODE_ALPHABET.contains(&b))
}

#[test]
fn generated_codes_have_the_shape_and_do_not_repeat() {
    let mut seen = std::collections::HashSet::new();
    for _ in 0..1000 {
        let code = AppPasswordSecret::generate();
        assert_eq!(code.as_str().len(), CODE_LEN);
        assert!(in_alphabet(code.as_str()), "{}", code.as_str());
        assert_eq!(code.digest(), code_digest(code.as_str()));
        assert!(seen.insert(code.as_str().to_string()));
    }
    // Each character of the alphabet turns up (31 × ~516 draws).
    let all: String = seen.iter().map(String::as_str).collect();
    for &c in CODE_ALPHABET {
        assert!(all.contains(char::from(c)), "{}", char::from(c));
    }
}

#[test]
fn recovery_codes_are_dashed_groups_that_normalise() {
    let codes = generate_recovery_codes(RECOVERY_CODE_COUNT);
    assert_eq!(codes.len(), 10);
    for code in &codes {
        assert_eq!(code.len(), 19);
        let groups: Vec<&str> = code.split('-').collect();
        assert_eq!(groups.len(), 4, "{code}");
        assert!(
            groups.iter().all(|g| g.len() == 4 && in_alphabet(g)),
            "{code}"
        );
        let normalized = normalize_recovery_code(&code.to_uppercase()).unwrap();
        assert_eq!(normalized, code.replace('-', ""));
        assert_ne!(recovery_digest(&normalized), code_digest(&normalized));
    }
    let distinct: std::collections::HashSet<_> = codes.iter().collect();
    assert_eq!(distinct.len(), codes.len());
}

#[test]
fn session_tokens_are_256_random_bits_in_base64url() {
    use base64::Engine as _;
    let a = generate_session_token();
    let b = generate_session_token();
    assert_ne!(a, b);
    for token in [&a, &b] {
        assert_eq!(token.len(), 43);
        assert!(token
            .bytes()
            .all(|c| c.is_ascii_alphanumeric() || c == b'-' || c == b'_'));
        let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(token)
            .unwrap();
        assert_eq!(bytes.len(), 32);
    }
    assert!(digest_eq(&token_digest(&a), &token_digest(&a)));
    assert!(!digest_eq(&token_digest(&a), &token_digest(&b)));
}

#[test]
fn digests_compare_equal_only_when_every_byte_is() {
    let d = code_digest("abcdefghjkmnpqrs");
    assert!(digest_eq(&d, &d.clone()));
    for i in 0..32 {
        let mut other = d;
        other[i] ^= 0x80;
        assert!(!digest_eq(&d, &other), "byte {i}");
    }
}

proptest! {
    #[test]
    fn displayed_codes_normalise_back(_seed in 0u8..=255, upper in any::<bool>()) {
        let code = AppPasswordSecret::generate();
        let shown = code.display();
        prop_assert_eq!(shown.len(), 19);
        let typed = if upper { shown.to_uppercase() } else { shown.to_string() };
        let normalized = normalize_code(&typed);
        prop_assert_eq!(normalized.as_deref(), Some(code.as_str()));
        let reparsed = AppPasswordSecret::parse(&typed).unwrap();
        prop_assert_eq!(reparsed.digest(), code.digest());
    }

    #[test]
    fn normalised_codes_always_have_the_shape(input in "\\PC{0,40}") {
        if let Some(code) = normalize_code(&input) {
            prop_assert_eq!(code.len(), CODE_LEN);
            prop_assert!(in_alphabet(&code));
        }
    }
}

// ------------------------------------------------------------------- totp

const RFC_6238_TIMES: [i64; 6] = [
    59,
    1_111_111_109,
    1_111_111_111,
    1_234_567_890,
    2_000_000_000,
    20_000_000_000,
];

fn rfc_totp(algorithm: TotpAlgorithm) -> Totp {
    let seed: &[u8] = match algorithm {
        TotpAlgorithm::Sha1 => b"12345678901234567890",
        TotpAlgorithm::Sha256 => b"12345678901234567890123456789012",
        TotpAlgorithm::Sha512 => {
            b"1234567890123456789012345678901234567890123456789012345678901234"
        }
    };
    Totp::with_settings(TotpSecret::from_bytes(seed).unwrap(), algorithm, 8, 30).unwrap()
}

#[test]
fn totp_matches_rfc_6238_appendix_b() {
    let expected = [
        (
            TotpAlgorithm::Sha1,
            [
                "94287082", "07081804", "14050471", "89005924", "69279037", "65353130",
            ],
        ),
        (
            TotpAlgorithm::Sha256,
            [
                "46119246", "68084774", "67062674", "91819424", "90698825", "77737706",
            ],
        ),
        (
            TotpAlgorithm::Sha512,
            [
                "90693936", "25091201", "99943326", "93441116", "38618901", "47863826",
            ],
        ),
    ];
    for (algorithm, codes) in expected {
        let totp = rfc_totp(algorithm);
        for (time, code) in RFC_6238_TIMES.iter().zip(codes) {
            let now = Timestamp(*time);
            assert_eq!(totp.code_now(now), code, "{algorithm:?} at {time}");
            assert_eq!(
                totp.verify(code, now, None),
                Some(totp.step_at(now)),
                "{algorithm:?} at {time}"
            );
        }
    }
}

#[test]
fn totp_accepts_one_step_either_side_and_no_further() {
    let totp = Totp::new(TotpSecret::from_bytes(b"12345678901234567890").unwrap());
    let now = Timestamp(1_234_567_890);
    let step = totp.step_at(now);
    assert_eq!(step, 41_152_263);
    let code = |s: u64| totp.format(totp.code_at(s));
    assert_eq!(totp.verify(&code(step), now, None), Some(step));
    assert_eq!(totp.verify(&code(step - 1), now, None), Some(step - 1));
    assert_eq!(totp.verify(&code(step + 1), now, None), Some(step + 1));
    // Two steps away is refused (unless it happens to equal a code in the window).
    for far in [step - 2, step + 2, step - 100] {
        let window: Vec<String> = (step - 1..=step + 1).map(code).collect();
        if !window.contains(&code(far)) {
            assert_eq!(totp.verify(&code(far), now, None), None, "step {far}");
        }
    }
    // Surrounding white space is tolerated.
    assert_eq!(
        totp.verify(&format!(" {}\n", code(step)), now, None),
        Some(step)
    );
}

#[test]
fn totp_refuses_replays_and_older_steps() {
    let totp = Totp::new(TotpSecret::from_bytes(b"12345678901234567890").unwrap());
    let now = Timestamp(1_234_567_890);
    let step = totp.step_at(now);
    let code = totp.format(totp.code_at(step));
    let accepted = totp.verify(&code, now, None).unwrap();
    assert_eq!(totp.verify(&code, now, Some(accepted)), None);
    // A code of the previous step after the current one was used: refused.
    let previous = totp.format(totp.code_at(step - 1));
    assert_eq!(totp.verify(&previous, now, Some(step)), None);
    // The next step's code is still accepted after the current one.
    let next = totp.format(totp.code_at(step + 1));
    assert_eq!(totp.verify(&next, now, Some(step)), Some(step + 1));
}

#[test]
fn totp_refuses_malformed_codes() {
    let totp = Totp::new(TotpSecret::from_bytes(b"12345678901234567890").unwrap());
    let now = Timestamp(1_234_567_890);
    let good = totp.code_now(now);
    assert_eq!(good.len(), 6);
    for bad in [
        String::new(),
        good[..5].to_string(),
        format!("{good}0"),
        format!("0{good}"),
        format!("{}a", &good[..5]),
        format!("-{}", &good[..5]),
        format!("+{}", &good[..5]),
        format!("{} {}", &good[..3], &good[3..]),
        "１２３４５６".to_string(),
    ] {
        assert_eq!(totp.verify(&bad, now, None), None, "{bad:?}");
    }
}

#[test]
fn totp_settings_are_bounded() {
    let secret = TotpSecret::generate;
    assert!(Totp::with_settings(secret(), TotpAlgorithm::Sha1, 5, 30).is_err());
    assert!(Totp::with_settings(secret(), TotpAlgorithm::Sha1, 9, 30).is_err());
    assert!(Totp::with_settings(secret(), TotpAlgorithm::Sha1, 6, 0).is_err());
    assert!(Totp::with_settings(secret(), TotpAlgorithm::Sha256, 8, 60).is_ok());
    // Before 1970 counts as step 0.
    let totp = Totp::new(secret());
    assert_eq!(totp.step_at(Timestamp(-5)), 0);
    let code = totp.code_now(Timestamp(-5));
    assert_eq!(totp.verify(&code, Timestamp(-5), None), Some(0));
}

#[test]
fn base32_follows_rfc_4648() {
    // RFC 4648 section 10, without padding.
    let secret = TotpSecret::from_bytes(b"foobarfoobarfoob").unwrap();
    assert_eq!(secret.to_base32().as_str(), "MZXW6YTBOJTG633CMFZGM33PMI");
    let parsed = TotpSecret::from_base32("mzxw 6ytb ojtg 633c mfzg m33p mi======").unwrap();
    assert_eq!(parsed.as_bytes(), b"foobarfoobarfoob");
    assert!(matches!(
        TotpSecret::from_base32("MZXW6YTBOJTG633CMFZGM33PM1"),
        Err(AuthError::InvalidTotpSecret(_))
    ));
    // Valid base32 but only 5 bytes.
    assert!(matches!(
        TotpSecret::from_base32("MZXW6YTB"),
        Err(AuthError::InvalidTotpSecret(_))
    ));
}

#[test]
fn the_otpauth_uri_names_issuer_account_and_settings() {
    let totp = Totp::new(TotpSecret::from_bytes(b"12345678901234567890").unwrap());
    assert_eq!(
        totp.otpauth_uri("Example Mail", "zhang.san@example.com"),
        "otpauth://totp/Example%20Mail:zhang.san%40example.com\
         ?secret=GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ&issuer=Example%20Mail\
         &algorithm=SHA1&digits=6&period=30"
    );
    let uri = totp.otpauth_uri("示例邮箱", "a&b?c");
    assert!(
        uri.starts_with("otpauth://totp/%E7%A4%BA%E4%BE%8B%E9%82%AE%E7%AE%B1:a%26b%3Fc?secret="),
        "{uri}"
    );
    assert!(totp
        .otpauth_uri("", "alice")
        .starts_with("otpauth://totp/alice?secret="));
}

#[test]
fn qr_codes_render_as_png_and_svg() {
    let totp = Totp::new(TotpSecret::generate());
    let uri = totp.otpauth_uri("Example Mail", "zhang.san@example.com");
    let png_bytes = qr_png(&uri).unwrap();
    assert_eq!(&png_bytes[..8], b"\x89PNG\r\n\x1a\n");

    let modules = qrcode::QrCode::new(uri.as_bytes()).unwrap().width();
    let side = (modules + 8) * 8;
    let decoder = png::Decoder::new(std::io::Cursor::new(&png_bytes));
    let mut reader = decoder.read_info().unwrap();
    let mut pixels = vec![0; reader.output_buffer_size().unwrap()];
    let info = reader.next_frame(&mut pixels).unwrap();
    assert_eq!((info.width as usize, info.height as usize), (side, side));
    assert_eq!(info.color_type, png::ColorType::Grayscale);
    let at = |x: usize, y: usize| pixels[y * info.line_size + x];
    // The quiet zone is white; the top-left finder pattern starts black
    // after it and has a white ring one module in.
    assert_eq!(at(0, 0), 255);
    assert_eq!(at(31, 31), 255);
    assert_eq!(at(32, 32), 0);
    assert_eq!(at(32 + 8 + 4, 32 + 8 + 4), 255);
    assert_eq!(at(32 + 16 + 4, 32 + 16 + 4), 0);

    let svg = qr_svg(&uri).unwrap();
    assert!(svg.contains("<svg"), "{svg:.200}");
    assert!(svg.trim_end().ends_with("</svg>"));

    let too_long = "x".repeat(5000);
    assert!(matches!(qr_png(&too_long), Err(AuthError::QrCode(_))));
    assert!(matches!(qr_svg(&too_long), Err(AuthError::QrCode(_))));
}

proptest! {
    #[test]
    fn base32_round_trips(bytes in proptest::collection::vec(any::<u8>(), 16..=64)) {
        let secret = TotpSecret::from_bytes(&bytes).unwrap();
        let text = secret.to_base32();
        prop_assert!(!text.contains('='));
        let back = TotpSecret::from_base32(&text.to_lowercase()).unwrap();
        prop_assert_eq!(back.as_bytes(), &bytes[..]);
    }

    #[test]
    fn a_code_verifies_only_in_its_window(time in 30i64..4_000_000_000, offset in -3i64..=3) {
        let totp = Totp::new(TotpSecret::from_bytes(b"12345678901234567890").unwrap());
        let now = Timestamp(time);
        let step = totp.step_at(now) as i64 + offset;
        prop_assume!(step >= 0);
        let code = totp.format(totp.code_at(step as u64));
        let got = totp.verify(&code, now, None);
        if offset.abs() <= 1 {
            prop_assert_eq!(got, Some(step as u64));
            prop_assert_eq!(totp.verify(&code, now, got), None);
        } else if let Some(s) = got {
            // Only a coincidence with a code inside the window.
            prop_assert!(s.abs_diff(totp.step_at(now)) <= 1);
        }
    }
}

// -------------------------------------------------------------- secretbox

fn key() -> SecretKey {
    SecretKey::parse("000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f").unwrap()
}

#[test]
fn sealed_secrets_open_with_the_same_key_and_user() {
    let secret = TotpSecret::generate();
    let sealed = seal(&key(), secret.as_bytes(), b"zhang.san@example.com");
    assert_eq!(sealed.len(), NONCE_LEN + secret.as_bytes().len() + TAG_LEN);
    let opened = open(&key(), &sealed, b"zhang.san@example.com").unwrap();
    assert_eq!(&opened[..], secret.as_bytes());
    // Sealing twice gives different bytes (fresh nonce).
    assert_ne!(
        sealed,
        seal(&key(), secret.as_bytes(), b"zhang.san@example.com")
    );
    // Empty plaintexts work too.
    let empty = seal(&key(), b"", b"");
    assert_eq!(empty.len(), NONCE_LEN + TAG_LEN);
    assert!(open(&key(), &empty, b"").unwrap().is_empty());
}

#[test]
fn truncated_sealed_bytes_do_not_open() {
    let sealed = seal(&key(), b"twenty bytes secret!", b"alice");
    for len in 0..sealed.len() {
        assert_eq!(
            open(&key(), &sealed[..len], b"alice"),
            Err(AuthError::Unseal),
            "{len} bytes"
        );
    }
}

#[test]
fn tampered_sealed_bytes_do_not_open() {
    let sealed = seal(&key(), b"twenty bytes secret!", b"alice");
    for i in 0..sealed.len() {
        let mut tampered = sealed.clone();
        tampered[i] ^= 0x01;
        assert_eq!(
            open(&key(), &tampered, b"alice"),
            Err(AuthError::Unseal),
            "byte {i}"
        );
    }
    let mut longer = sealed.clone();
    longer.push(0);
    assert_eq!(open(&key(), &longer, b"alice"), Err(AuthError::Unseal));
}

#[test]
fn sealed_bytes_do_not_open_with_another_key_or_for_another_user() {
    let sealed = seal(&key(), b"twenty bytes secret!", b"alice");
    assert_eq!(
        open(&SecretKey::generate(), &sealed, b"alice"),
        Err(AuthError::Unseal)
    );
    assert_eq!(open(&key(), &sealed, b"bob"), Err(AuthError::Unseal));
    assert_eq!(open(&key(), &sealed, b""), Err(AuthError::Unseal));
    assert_eq!(
        open(&key(), &sealed, b"alice ").map(|_| ()),
        Err(AuthError::Unseal)
    );
    assert_eq!(
        &open(&key(), &sealed, b"alice").unwrap()[..],
        b"twenty bytes secret!"
    );
}

#[test]
fn keys_round_trip_through_hex_and_refuse_garbage() {
    let key = SecretKey::generate();
    let again: SecretKey = key.to_hex().parse().unwrap();
    let sealed = seal(&key, b"x", b"u");
    assert_eq!(&open(&again, &sealed, b"u").unwrap()[..], b"x");
    assert!("too short".parse::<SecretKey>().is_err());
    assert_eq!(format!("{key:?}"), "SecretKey(<redacted>)");
}

proptest! {
    #[test]
    fn seal_then_open_round_trips(
        plaintext in proptest::collection::vec(any::<u8>(), 0..256),
        aad in proptest::collection::vec(any::<u8>(), 0..64),
    ) {
        let key = key();
        let sealed = seal(&key, &plaintext, &aad);
        prop_assert_eq!(sealed.len(), plaintext.len() + NONCE_LEN + TAG_LEN);
        let opened = open(&key, &sealed, &aad).unwrap();
        prop_assert_eq!(&opened[..], &plaintext[..]);
    }
}
