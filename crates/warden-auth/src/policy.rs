//! The password policy, after NIST SP 800-63B-4: a minimum and maximum
//! length counted in characters, a blocklist of common and breached
//! passwords, no context words (the user's names, the company name), and no
//! composition rules ("one digit, one symbol..."). [`PasswordPolicy::check`]
//! refuses a password with a [`PolicyViolation`] (a code and texts in English
//! and Chinese) or grades an acceptable one with zxcvbn ([`Strength`]): an
//! acceptable password may still be weak, which is shown, not refused.
//!
//! Also here: the optional password expiry ([`Expiry`]) and the context words
//! of an account ([`context_words`], [`account_context`]).

use std::collections::HashSet;
use std::fmt;
use std::sync::LazyLock;

use serde::{Deserialize, Serialize};
use warden_core::{Account, Lang, Timestamp};

use crate::error::AuthError;

/// Context words shorter than this (in characters) are not looked for.
const MIN_CONTEXT_WORD: usize = 4;
/// The longest `max_length` a policy may set.
const MAX_MAX_LENGTH: usize = 1024;
/// zxcvbn grades only this many first characters. Its matching grows fast
/// with the length and the number of look-alike characters (`4@1!|3$5+7`...):
/// a crafted 100-character password cost it 785 ms, its first 32 characters
/// 60 ms. A prefix's grade is a lower bound for the whole password (more
/// characters only add guesses), and 32 characters that are not a pattern
/// already reach the top grade.
pub const STRENGTH_PREFIX: usize = 32;

/// The common and breached passwords, lower case (see `data/README.md`).
static COMMON_PASSWORDS: LazyLock<HashSet<&'static str>> = LazyLock::new(|| {
    include_str!("../data/common-passwords.txt")
        .lines()
        .filter(|l| !l.is_empty())
        .collect()
});

/// Whether `password` is on the bundled list of common and breached
/// passwords, compared case-insensitively. The first call builds the set
/// (about 50,000 entries, a few milliseconds).
pub fn is_common_password(password: &str) -> bool {
    COMMON_PASSWORDS.contains(password.to_lowercase().as_str())
}

/// The password policy. The defaults follow NIST SP 800-63B-4, except the
/// minimum length: NIST asks for 15 characters where the password is the
/// only factor and allows 8 with two-factor login; 12 is the default here.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schemars", derive(schemars::JsonSchema))]
#[serde(default, deny_unknown_fields)]
pub struct PasswordPolicy {
    /// The fewest characters (Unicode scalar values, not bytes) a password
    /// may have; at least 8. NIST SP 800-63B-4 asks for 15 where the
    /// password is the only factor.
    pub min_length: usize,
    /// The most characters a password may have; at least 64 (NIST) and at
    /// most 1024.
    pub max_length: usize,
    /// Refuse passwords on the bundled list of common and breached passwords.
    pub check_common: bool,
    /// A new password may not be one of this many previous passwords; 0
    /// turns the check off (5 is a reasonable value when on).
    pub history: usize,
    /// Passwords expire this many days after they were set; 0 (the default,
    /// as NIST SP 800-63B-4 asks) never. Some regulations require periodic
    /// changes.
    pub expiry_days: u32,
    /// After expiry, a login still succeeds for this many days while the user
    /// is asked to change the password; then it is refused until changed.
    pub expiry_grace_days: u32,
}

impl Default for PasswordPolicy {
    fn default() -> Self {
        PasswordPolicy {
            min_length: 12,
            max_length: 128,
            check_common: true,
            history: 0,
            expiry_days: 0,
            expiry_grace_days: 7,
        }
    }
}

/// Why a password is refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PolicyViolation {
    /// Fewer characters than the policy's minimum.
    TooShort { min: usize },
    /// More characters than the policy's maximum.
    TooLong { max: usize },
    /// A control character (line break, tab, NUL...).
    ControlCharacter,
    /// On the list of common and breached passwords.
    Common,
    /// Contains one of the account's context words (lower case).
    ContainsContext { word: String },
    /// One to four characters repeated ("aaaaaaaaaaaa", "abcabcabcabc").
    Repetitive,
    /// A run of consecutive letters or digits ("abcdefghijkl", "987654321098").
    Sequential,
    /// Equal to one of the last `history` passwords. [`PasswordPolicy::check`]
    /// cannot see old passwords: the caller verifies the new password against
    /// the kept hashes and reports this.
    RecentlyUsed { history: usize },
}

impl PolicyViolation {
    /// The machine-readable code, snake case.
    pub fn code(&self) -> &'static str {
        match self {
            PolicyViolation::TooShort { .. } => "too_short",
            PolicyViolation::TooLong { .. } => "too_long",
            PolicyViolation::ControlCharacter => "control_character",
            PolicyViolation::Common => "common",
            PolicyViolation::ContainsContext { .. } => "contains_context",
            PolicyViolation::Repetitive => "repetitive",
            PolicyViolation::Sequential => "sequential",
            PolicyViolation::RecentlyUsed { .. } => "recently_used",
        }
    }

    /// The text for the user, in `lang`.
    pub fn message(&self, lang: Lang) -> String {
        let en = lang == Lang::En;
        match self {
            PolicyViolation::TooShort { min } if en => {
                format!("The password must have at least {min} characters.")
            }
            PolicyViolation::TooShort { min } => format!("密码至少需要 {min} 个字符。"),
            PolicyViolation::TooLong { max } if en => {
                format!("The password must have at most {max} characters.")
            }
            PolicyViolation::TooLong { max } => format!("密码最多 {max} 个字符。"),
            PolicyViolation::ControlCharacter if en => {
                "The password must not contain control characters such as line breaks or tabs."
                    .into()
            }
            PolicyViolation::ControlCharacter => "密码不能包含换行符、制表符等控制字符。".into(),
            PolicyViolation::Common if en => {
                "This password is on a list of common or leaked passwords; choose another one."
                    .into()
            }
            PolicyViolation::Common => "该密码属于常见或已泄露的密码，请另选一个。".into(),
            PolicyViolation::ContainsContext { word } if en => format!(
                "The password must not contain \u{201c}{word}\u{201d} (your name, user name, \
                 email address or company name)."
            ),
            PolicyViolation::ContainsContext { word } => {
                format!("密码不能包含\u{201c}{word}\u{201d}（您的姓名、用户名、邮箱或公司名称）。")
            }
            PolicyViolation::Repetitive if en => {
                "The password repeats the same few characters; choose another one.".into()
            }
            PolicyViolation::Repetitive => "密码由少数几个字符重复组成，请另选一个。".into(),
            PolicyViolation::Sequential if en => {
                "The password is a run of consecutive characters such as \u{201c}abcdef\u{201d} \
                 or \u{201c}654321\u{201d}; choose another one."
                    .into()
            }
            PolicyViolation::Sequential => {
                "密码是连续的字符序列（如\u{201c}abcdef\u{201d}或\u{201c}654321\u{201d}），请另选一个。"
                    .into()
            }
            PolicyViolation::RecentlyUsed { history } if en => {
                format!("The password must differ from your last {history} passwords.")
            }
            PolicyViolation::RecentlyUsed { history } => {
                format!("新密码不能与最近 {history} 次使用过的密码相同。")
            }
        }
    }
}

impl fmt::Display for PolicyViolation {
    /// The English text.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message(Lang::En))
    }
}

impl std::error::Error for PolicyViolation {}

/// A password's strength, graded from zxcvbn's score.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Grade {
    /// zxcvbn score 0–2: guessable within about 10^8 guesses. Shown red.
    Weak,
    /// Score 3: within about 10^10 guesses. Shown yellow.
    Medium,
    /// Score 4: more. Shown green.
    Strong,
}

impl Grade {
    /// Every grade, weakest first.
    pub const ALL: &'static [Grade] = &[Grade::Weak, Grade::Medium, Grade::Strong];

    /// The grade of a zxcvbn score (0–4; above 4 counts as 4).
    pub fn from_score(score: u8) -> Grade {
        match score {
            0..=2 => Grade::Weak,
            3 => Grade::Medium,
            _ => Grade::Strong,
        }
    }

    /// The wire name: `weak`, `medium`, `strong`.
    pub fn as_str(self) -> &'static str {
        match self {
            Grade::Weak => "weak",
            Grade::Medium => "medium",
            Grade::Strong => "strong",
        }
    }

    /// The name shown to people: the wire name in English, 弱/中/强 in Chinese.
    pub fn label(self, lang: Lang) -> &'static str {
        match (lang, self) {
            (Lang::En, g) => g.as_str(),
            (Lang::Zh, Grade::Weak) => "弱",
            (Lang::Zh, Grade::Medium) => "中",
            (Lang::Zh, Grade::Strong) => "强",
        }
    }

    /// The colour of a strength meter: `red`, `yellow`, `green`.
    pub fn colour(self) -> &'static str {
        match self {
            Grade::Weak => "red",
            Grade::Medium => "yellow",
            Grade::Strong => "green",
        }
    }

    /// The colour's name in `lang`: red/yellow/green or 红/黄/绿.
    pub fn colour_label(self, lang: Lang) -> &'static str {
        match (lang, self) {
            (Lang::En, g) => g.colour(),
            (Lang::Zh, Grade::Weak) => "红",
            (Lang::Zh, Grade::Medium) => "黄",
            (Lang::Zh, Grade::Strong) => "绿",
        }
    }
}

impl fmt::Display for Grade {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// How strong an acceptable password is, with zxcvbn's advice in English
/// and Chinese (the same items in the same order; empty when there is none).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Strength {
    pub grade: Grade,
    /// zxcvbn's score, 0–4.
    pub score: u8,
    pub feedback_en: Vec<String>,
    pub feedback_zh: Vec<String>,
}

/// Whether a password is due to be changed (see
/// [`PasswordPolicy::expiry_days`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Expiry {
    /// Not expired (or expiry is off).
    Fresh,
    /// Expired, but logins succeed until `in_grace_until` while the user is
    /// asked to change the password.
    Expiring { in_grace_until: Timestamp },
    /// Expired and past the grace period: the password must be changed.
    Expired,
}

impl PasswordPolicy {
    /// Refuses a policy that makes no sense or goes against NIST's floor.
    pub fn validate(&self) -> Result<(), AuthError> {
        let invalid =
            |setting, message: String| Err(AuthError::InvalidSetting { setting, message });
        if self.min_length < 8 {
            return invalid(
                "min_length",
                format!(
                    "must be at least 8 (NIST SP 800-63B-4), got {}",
                    self.min_length
                ),
            );
        }
        if self.max_length < 64 || self.max_length > MAX_MAX_LENGTH {
            return invalid(
                "max_length",
                format!(
                    "must be within 64..={MAX_MAX_LENGTH} (NIST SP 800-63B-4 asks for at least 64), got {}",
                    self.max_length
                ),
            );
        }
        if self.min_length > self.max_length {
            return invalid(
                "min_length",
                format!(
                    "must not exceed max_length ({}), got {}",
                    self.max_length, self.min_length
                ),
            );
        }
        if self.history > 24 {
            return invalid(
                "history",
                format!("must be at most 24, got {}", self.history),
            );
        }
        if self.expiry_days > 3650 {
            return invalid(
                "expiry_days",
                format!(
                    "must be at most 3650 (ten years; 0 turns expiry off), got {}",
                    self.expiry_days
                ),
            );
        }
        if self.expiry_grace_days > 365 {
            return invalid(
                "expiry_grace_days",
                format!("must be at most 365, got {}", self.expiry_grace_days),
            );
        }
        Ok(())
    }

    /// Checks a new password against the policy. `context` holds the words
    /// the password may not contain (see [`context_words`]); words shorter
    /// than 4 characters are ignored, case does not matter. The first
    /// violation refuses the password; otherwise its [`Strength`] is
    /// returned (zxcvbn, with the context words as the user's own inputs).
    /// The history check is the caller's ([`PolicyViolation::RecentlyUsed`]).
    pub fn check(&self, password: &str, context: &[&str]) -> Result<Strength, PolicyViolation> {
        match self.violation(password, context) {
            Some(v) => Err(v),
            None => Ok(strength(password, context)),
        }
    }

    /// The first rule `password` breaks, if any (without grading it).
    pub fn violation(&self, password: &str, context: &[&str]) -> Option<PolicyViolation> {
        // Too long however it is normalised (a character is at most four
        // bytes): refused before any work on it.
        if password.len() > 4 * self.max_length.min(MAX_MAX_LENGTH) {
            return Some(PolicyViolation::TooLong {
                max: self.max_length,
            });
        }
        // Judged in the form it is hashed in.
        let password = crate::hashing::normalize_password(password);
        let password = password.as_str();
        let length = password.chars().count();
        if length < self.min_length {
            return Some(PolicyViolation::TooShort {
                min: self.min_length,
            });
        }
        if length > self.max_length {
            return Some(PolicyViolation::TooLong {
                max: self.max_length,
            });
        }
        if password.chars().any(char::is_control) {
            return Some(PolicyViolation::ControlCharacter);
        }
        let lower = password.to_lowercase();
        if self.check_common && COMMON_PASSWORDS.contains(lower.as_str()) {
            return Some(PolicyViolation::Common);
        }
        let found = context
            .iter()
            .map(|w| w.trim().to_lowercase())
            .filter(|w| w.chars().count() >= MIN_CONTEXT_WORD && lower.contains(w.as_str()))
            .max_by_key(|w| w.chars().count());
        if let Some(word) = found {
            return Some(PolicyViolation::ContainsContext { word });
        }
        let chars: Vec<char> = lower.chars().collect();
        if is_repetitive(&chars) {
            return Some(PolicyViolation::Repetitive);
        }
        if is_sequential(&chars) {
            return Some(PolicyViolation::Sequential);
        }
        None
    }

    /// Whether a password set at `changed_at` has expired at `now`: fresh
    /// for `expiry_days`, then in grace for `expiry_grace_days`, then
    /// expired. Always fresh when `expiry_days` is 0.
    pub fn expiry(&self, changed_at: Timestamp, now: Timestamp) -> Expiry {
        if self.expiry_days == 0 {
            return Expiry::Fresh;
        }
        const DAY: i64 = 86_400;
        let due = changed_at
            .secs()
            .saturating_add(i64::from(self.expiry_days) * DAY);
        let grace_end = due.saturating_add(i64::from(self.expiry_grace_days) * DAY);
        if now.secs() < due {
            Expiry::Fresh
        } else if now.secs() < grace_end {
            Expiry::Expiring {
                in_grace_until: Timestamp(grace_end),
            }
        } else {
            Expiry::Expired
        }
    }
}

/// One to four characters repeated over the whole password (the last
/// repetition may be cut short).
fn is_repetitive(chars: &[char]) -> bool {
    (1..=4).any(|unit| {
        chars.len() >= 2 * unit && chars.iter().enumerate().all(|(i, c)| *c == chars[i % unit])
    })
}

/// Consecutive letters or digits, ascending or descending throughout;
/// digits wrap around (`…7890…`, `…2109…`).
fn is_sequential(chars: &[char]) -> bool {
    let step = |a: char, b: char| -> Option<i32> {
        match (a.to_digit(10), b.to_digit(10)) {
            (Some(x), Some(y)) => match (y + 10 - x) % 10 {
                1 => Some(1),
                9 => Some(-1),
                _ => None,
            },
            (None, None) if a.is_ascii_lowercase() && b.is_ascii_lowercase() => {
                match b as i32 - a as i32 {
                    d @ (1 | -1) => Some(d),
                    _ => None,
                }
            }
            _ => None,
        }
    };
    if chars.len() < 3 {
        return false;
    }
    let first = step(chars[0], chars[1]);
    first.is_some() && chars.windows(2).all(|w| step(w[0], w[1]) == first)
}

/// Grades `password` with zxcvbn, with `context` as the user's own inputs.
/// Only the first [`STRENGTH_PREFIX`] characters are graded (zxcvbn's cost
/// grows fast with the length; see there). CPU-heavy all the same: run it
/// off the request threads.
pub fn strength(password: &str, context: &[&str]) -> Strength {
    let graded = match password.char_indices().nth(STRENGTH_PREFIX) {
        Some((end, _)) => &password[..end],
        None => password,
    };
    let lowered: Vec<String> = context.iter().map(|w| w.trim().to_lowercase()).collect();
    let inputs: Vec<&str> = lowered
        .iter()
        .map(String::as_str)
        .filter(|w| !w.is_empty())
        .collect();
    let entropy = zxcvbn::zxcvbn(graded, &inputs);
    let score = u8::from(entropy.score());
    let mut feedback_en = Vec::new();
    let mut feedback_zh = Vec::new();
    if let Some(feedback) = entropy.feedback() {
        if let Some(w) = feedback.warning() {
            feedback_en.push(w.to_string());
            feedback_zh.push(warning_zh(w).to_string());
        }
        for s in feedback.suggestions() {
            feedback_en.push(s.to_string());
            feedback_zh.push(suggestion_zh(*s).to_string());
        }
    }
    Strength {
        grade: Grade::from_score(score),
        score,
        feedback_en,
        feedback_zh,
    }
}

fn warning_zh(w: zxcvbn::feedback::Warning) -> &'static str {
    use zxcvbn::feedback::Warning as W;
    match w {
        W::StraightRowsOfKeysAreEasyToGuess => "键盘上连成一行的按键很容易被猜到。",
        W::ShortKeyboardPatternsAreEasyToGuess => "短的键盘图案很容易被猜到。",
        W::RepeatsLikeAaaAreEasyToGuess => "像\u{201c}aaa\u{201d}这样的重复很容易被猜到。",
        W::RepeatsLikeAbcAbcAreOnlySlightlyHarderToGuess => {
            "像\u{201c}abcabcabc\u{201d}这样的重复只比\u{201c}abc\u{201d}难猜一点点。"
        }
        W::ThisIsATop10Password => "这是最常见的前 10 个密码之一。",
        W::ThisIsATop100Password => "这是最常见的前 100 个密码之一。",
        W::ThisIsACommonPassword => "这是一个非常常见的密码。",
        W::ThisIsSimilarToACommonlyUsedPassword => "这与一个常用密码很相似。",
        W::SequencesLikeAbcAreEasyToGuess => "像 abc 或 6543 这样的序列很容易被猜到。",
        W::RecentYearsAreEasyToGuess => "最近的年份很容易被猜到。",
        W::AWordByItselfIsEasyToGuess => "单独一个词很容易被猜到。",
        W::DatesAreOftenEasyToGuess => "日期通常很容易被猜到。",
        W::NamesAndSurnamesByThemselvesAreEasyToGuess => "单独的名字或姓氏很容易被猜到。",
        W::CommonNamesAndSurnamesAreEasyToGuess => "常见的名字和姓氏很容易被猜到。",
    }
}

fn suggestion_zh(s: zxcvbn::feedback::Suggestion) -> &'static str {
    use zxcvbn::feedback::Suggestion as S;
    match s {
        S::UseAFewWordsAvoidCommonPhrases => "使用几个词组合，避免常见短语。",
        S::NoNeedForSymbolsDigitsOrUppercaseLetters => "不必非要使用符号、数字或大写字母。",
        S::AddAnotherWordOrTwo => "再加一两个词，不常见的词更好。",
        S::CapitalizationDoesntHelpVeryMuch => "大写字母帮助不大。",
        S::AllUppercaseIsAlmostAsEasyToGuessAsAllLowercase => {
            "全部大写和全部小写几乎一样容易被猜到。"
        }
        S::ReversedWordsArentMuchHarderToGuess => "把词倒过来写并不会难猜多少。",
        S::PredictableSubstitutionsDontHelpVeryMuch => {
            "用\u{201c}@\u{201d}代替\u{201c}a\u{201d}这类可预见的替换帮助不大。"
        }
        S::UseALongerKeyboardPatternWithMoreTurns => "使用更长、转折更多的键盘图案。",
        S::AvoidRepeatedWordsAndCharacters => "避免重复的词和字符。",
        S::AvoidSequences => "避免连续的序列。",
        S::AvoidRecentYears => "避免使用最近的年份。",
        S::AvoidYearsThatAreAssociatedWithYou => "避免使用与您相关的年份。",
        S::AvoidDatesAndYearsThatAreAssociatedWithYou => "避免使用与您相关的日期和年份。",
    }
}

/// Legal-form words of company names, too generic to refuse.
const GENERIC_COMPANY_WORDS: &[&str] =
    &["company", "limited", "corporation", "incorporated", "group"];

/// The words a password of this account may not contain, lower case, each
/// of at least 4 characters, without duplicates:
/// - the user name, its local part before `@`, and that local part's pieces
///   split at `.`, `_`, `-`, `+` (and joined without them);
/// - the same for the email address, if any;
/// - the display name's words and all of them joined ("Zhang San" →
///   `zhang`, `zhangsan`);
/// - the company name's words (but not "company", "limited"...) and all of
///   them joined.
pub fn context_words(
    user: &str,
    email: Option<&str>,
    display_name: &str,
    company: &str,
) -> Vec<String> {
    let mut words: Vec<String> = Vec::new();
    let mut add = |w: &str| {
        let w = w.trim().to_lowercase();
        if w.chars().count() >= MIN_CONTEXT_WORD && !words.contains(&w) {
            words.push(w);
        }
    };
    let is_separator = |c: char| matches!(c, '.' | '_' | '-' | '+');
    for address in std::iter::once(user).chain(email) {
        add(address);
        let local = address.split('@').next().unwrap_or(address);
        add(local);
        for piece in local.split(is_separator) {
            add(piece);
        }
        add(&local.replace(is_separator, ""));
    }
    let split_words = |s: &str| -> Vec<String> {
        s.split(|c: char| c.is_whitespace() || (c.is_ascii_punctuation() && c != '&'))
            .filter(|w| !w.is_empty())
            .map(str::to_string)
            .collect()
    };
    let name_words = split_words(display_name);
    for w in &name_words {
        add(w);
    }
    add(&name_words.concat());
    add(company);
    let company_words = split_words(company);
    for w in &company_words {
        if !GENERIC_COMPANY_WORDS.contains(&w.to_lowercase().as_str()) {
            add(w);
        }
    }
    add(&company_words.concat());
    words
}

/// [`context_words`] of an account in a company (the organisation's display
/// name).
pub fn account_context(account: &Account, company: &str) -> Vec<String> {
    context_words(
        &account.user,
        account.email.as_deref(),
        &account.display_name,
        company,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_common_list_is_loaded_and_lower_case() {
        assert!((10_000..=100_000).contains(&COMMON_PASSWORDS.len()));
        assert!(COMMON_PASSWORDS.iter().all(|p| *p == p.to_lowercase()));
        assert!(is_common_password("PassWord"));
        assert!(is_common_password("qwertyuiop"));
        assert!(!is_common_password("vivid-otter-harbour-ledger"));
    }

    #[test]
    fn repetitions_and_sequences_are_recognised() {
        let rep = |s: &str| is_repetitive(&s.chars().collect::<Vec<_>>());
        let seq = |s: &str| is_sequential(&s.chars().collect::<Vec<_>>());
        assert!(rep("aaaaaaaaaaaa") && rep("abcabcabcabc") && rep("ab12ab12ab12a"));
        assert!(!rep("abcdeabcdeab") && !rep("a") && !rep("correct horse"));
        assert!(seq("abcdefghijkl") && seq("zyxwvutsrqpo") && seq("123456789012"));
        assert!(seq("987654321098"));
        assert!(!seq("abcdefghijkm") && !seq("12345678abcd") && !seq("ab") && !seq("a1b2c3"));
    }

    #[test]
    fn over_long_input_is_refused_and_only_a_prefix_is_graded() {
        let p = PasswordPolicy::default();
        // Far beyond any length: refused as too long, before normalising.
        let huge = "4@1!|3$5+70(<{[".repeat(4000);
        assert_eq!(
            p.violation(&huge, &[]),
            Some(PolicyViolation::TooLong { max: 128 })
        );
        assert_eq!(
            p.check(&huge, &[]).unwrap_err(),
            PolicyViolation::TooLong { max: 128 }
        );
        // Within the policy, a crafted long password is graded on its prefix.
        let crafted: String = "4@1!|3$5+70(<{[".repeat(9).chars().take(128).collect();
        let prefix: String = crafted.chars().take(STRENGTH_PREFIX).collect();
        assert_eq!(strength(&crafted, &[]), strength(&prefix, &[]));
        // Multi-byte characters are counted as characters, not bytes.
        let chinese = "密".repeat(128);
        assert!(!matches!(
            p.violation(&chinese, &[]),
            Some(PolicyViolation::TooLong { .. })
        ));
        assert_eq!(
            p.violation(&"密".repeat(129), &[]),
            Some(PolicyViolation::TooLong { max: 128 })
        );
    }

    #[test]
    fn grades_follow_scores() {
        let grades: Vec<Grade> = (0..=5).map(Grade::from_score).collect();
        use Grade::*;
        assert_eq!(grades, [Weak, Weak, Weak, Medium, Strong, Strong]);
        assert_eq!(
            Grade::ALL
                .iter()
                .map(|g| (g.label(Lang::Zh), g.colour(), g.colour_label(Lang::Zh)))
                .collect::<Vec<_>>(),
            [
                ("弱", "red", "红"),
                ("中", "yellow", "黄"),
                ("强", "green", "绿")
            ]
        );
    }
}
