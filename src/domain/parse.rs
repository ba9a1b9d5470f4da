//! Parsers for input values. Each returns the normalised value or a message
//! suitable for a field error.

use std::sync::LazyLock;

use chrono::{DateTime, NaiveDate, Utc};
use regex_lite::Regex;
use serde_json::Value;

/// Longest name, company or title, in characters.
pub const MAX_NAME: usize = 200;
/// Longest free text (notes, summaries), in characters.
pub const MAX_TEXT: usize = 10_000;
/// Longest description (of a segment), in characters.
pub const MAX_DESCRIPTION: usize = 2_000;
/// Most tags on one customer.
pub const MAX_TAGS: usize = 50;
/// Longest tag, in characters.
pub const MAX_TAG_LEN: usize = 64;
/// Largest custom-attributes object, in bytes of compact JSON.
pub const MAX_CUSTOM_ATTRIBUTES_BYTES: usize = 8 * 1024;
/// Longest external id.
pub const MAX_EXTERNAL_ID: usize = 128;

// Pragmatic shape check: local@domain.tld, no spaces; deliverability is not our call.
static EMAIL: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(EMAIL_PATTERN).unwrap_or_else(|_| unreachable!("constant pattern")));
static LANGUAGE: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(LANGUAGE_PATTERN).unwrap_or_else(|_| unreachable!("constant pattern")));

// The JSON Schema patterns below state what each parser accepts, for the API
// document; a string they match is accepted. They spell character classes
// out instead of using `\s`, which regex engines read differently (Python
// counts U+001C–U+001F, ECMAScript U+FEFF, Rust's `trim` neither), and they
// ask for no blanks around ids, which the parsers would trim.

/// A character that is neither blank (Unicode White_Space) nor a control character.
macro_rules! visible {
    () => {
        r"[^\x00-\x20\x7f-\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]"
    };
}

/// The JSON Schema pattern [`name`] enforces: after trimming, one line, no
/// control characters but tab, not blank.
pub const NAME_PATTERN: &str = concat!(
    r"^[ \t\r\n]*[^\x00-\x08\x0a-\x1f\x7f-\x9f]*",
    visible!(),
    r"[^\x00-\x08\x0a-\x1f\x7f-\x9f]*[ \t\r\n]*$"
);
/// The JSON Schema pattern [`text`] enforces: after trimming, no control
/// characters but tab and line breaks, not blank.
pub const TEXT_PATTERN: &str = concat!(
    r"^[ \t\r\n]*[^\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]*",
    visible!(),
    r"[^\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]*[ \t\r\n]*$"
);
/// The JSON Schema pattern [`tags`] (and keyword lists) enforce for one entry.
pub const TAG_PATTERN: &str = concat!(
    r"^[ \t\r\n]*[^\x00-\x1f\x7f-\x9f]*",
    visible!(),
    r"[^\x00-\x1f\x7f-\x9f]*[ \t\r\n]*$"
);
/// The JSON Schema pattern [`external_id`] and [`staff_id`] enforce.
pub const ID_PATTERN: &str = concat!("^", visible!(), "+$");
/// The JSON Schema pattern [`email`] enforces.
pub const EMAIL_PATTERN: &str = r"^[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]+@[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)+$";
/// Longest e-mail address.
pub const MAX_EMAIL: usize = 254;
/// The JSON Schema pattern [`phone`] enforces.
pub const PHONE_PATTERN: &str = r"^\+?[ .()-]*(?:[0-9][ .()-]*){7,15}$";
/// The JSON Schema pattern [`country`] enforces.
pub const COUNTRY_PATTERN: &str = "^[A-Za-z]{2}$";
/// The JSON Schema pattern [`currency`] enforces.
pub const CURRENCY_PATTERN: &str = "^[A-Za-z]{3}$";
/// The JSON Schema pattern [`language`] enforces.
pub const LANGUAGE_PATTERN: &str = "^[A-Za-z]{2,3}(-[A-Za-z0-9]{2,8})*$";
/// Longest language tag.
pub const MAX_LANGUAGE: usize = 35;

/// Trimmed, non-empty text of at most `max` characters without control characters.
pub fn text(value: String, max: usize) -> Result<String, String> {
    // The limit counts what was sent, as the documented `maxLength` does.
    if value.chars().count() > max {
        return Err(format!("must be at most {max} characters"));
    }
    let trimmed = value.trim();
    if trimmed.is_empty() {
        return Err("must not be empty".into());
    }
    if trimmed
        .chars()
        .any(|c| c.is_control() && c != '\n' && c != '\r' && c != '\t')
    {
        return Err("must not contain control characters".into());
    }
    Ok(trimmed.to_owned())
}

/// A single-line name of at most [`MAX_NAME`] characters.
pub fn name(value: String) -> Result<String, String> {
    let v = text(value, MAX_NAME)?;
    if v.contains('\n') || v.contains('\r') {
        return Err("must be a single line".into());
    }
    Ok(v)
}

/// An e-mail address, lower-cased.
pub fn email(value: String) -> Result<String, String> {
    let v = value.trim().to_lowercase();
    if v.len() > MAX_EMAIL || !EMAIL.is_match(&v) {
        return Err("must be a valid e-mail address".into());
    }
    Ok(v)
}

/// A phone number: optional `+`, then 7–15 digits; spaces, dots, dashes and
/// parentheses are dropped.
pub fn phone(value: String) -> Result<String, String> {
    let trimmed = value.trim();
    let (plus, rest) = match trimmed.strip_prefix('+') {
        Some(rest) => ("+", rest),
        None => ("", trimmed),
    };
    let mut digits = String::with_capacity(rest.len());
    for c in rest.chars() {
        match c {
            '0'..='9' => digits.push(c),
            ' ' | '-' | '.' | '(' | ')' => {}
            _ => return Err("must be a phone number: digits with an optional leading +".into()),
        }
    }
    if !(7..=15).contains(&digits.len()) {
        return Err("must have 7 to 15 digits".into());
    }
    Ok(format!("{plus}{digits}"))
}

/// One tag or keyword: trimmed, lower case, at most [`MAX_TAG_LEN`]
/// characters as sent, no control characters.
pub fn tag(raw: String) -> Result<String, String> {
    // Counted as sent, as the documented `maxLength` counts (lower-casing may
    // also lengthen a string).
    if raw.chars().count() > MAX_TAG_LEN {
        return Err(format!("must be at most {MAX_TAG_LEN} characters"));
    }
    let tag = raw.trim().to_lowercase();
    if tag.is_empty() {
        return Err("must not be empty".into());
    }
    if tag.chars().any(char::is_control) {
        return Err("must not contain control characters".into());
    }
    Ok(tag)
}

/// Tags: each read by [`tag`], de-duplicated, at most [`MAX_TAGS`]. Errors
/// carry the index of the bad tag.
pub fn tags(values: Vec<String>) -> Result<Vec<String>, (Option<usize>, String)> {
    if values.len() > MAX_TAGS {
        return Err((None, format!("at most {MAX_TAGS} tags")));
    }
    let mut out: Vec<String> = Vec::with_capacity(values.len());
    for (i, raw) in values.into_iter().enumerate() {
        let tag = tag(raw).map_err(|e| (Some(i), e))?;
        if !out.contains(&tag) {
            out.push(tag);
        }
    }
    Ok(out)
}

/// The largest magnitude of a number in stored JSON. PostgreSQL's `jsonb`
/// keeps numbers as decimals, and one near the top of the double range
/// (1.7976931348623157e308) comes back as a decimal no reader parses as a
/// double: the record could be written and never read again.
pub const MAX_JSON_NUMBER: f64 = 1e300;

/// Whether every number in `value` is within ±[`MAX_JSON_NUMBER`].
pub fn json_numbers_fit(value: &Value) -> bool {
    match value {
        Value::Number(n) => n.as_f64().is_some_and(|f| f.abs() <= MAX_JSON_NUMBER),
        Value::Array(items) => items.iter().all(json_numbers_fit),
        Value::Object(fields) => fields.values().all(json_numbers_fit),
        _ => true,
    }
}

/// A JSON object of at most [`MAX_CUSTOM_ATTRIBUTES_BYTES`] bytes, its
/// numbers within ±[`MAX_JSON_NUMBER`].
pub fn custom_attributes(value: Value) -> Result<Value, String> {
    if !value.is_object() {
        return Err("must be a JSON object".into());
    }
    if !json_numbers_fit(&value) {
        return Err("numbers must be within ±1e300".into());
    }
    let size = serde_json::to_vec(&value).map(|v| v.len()).unwrap_or(usize::MAX);
    if size > MAX_CUSTOM_ATTRIBUTES_BYTES {
        return Err(format!("must be at most {MAX_CUSTOM_ATTRIBUTES_BYTES} bytes of JSON"));
    }
    Ok(value)
}

/// How far ahead of this server's clock a reported instant may be: the
/// sender's clock may run a little fast.
pub const CLOCK_SKEW_MINUTES: i64 = 5;

/// An instant that has already happened (an order placed, an interaction
/// held, a confirmation given), allowing for the sender's clock skew.
pub fn happened(value: DateTime<Utc>, now: DateTime<Utc>) -> Result<DateTime<Utc>, String> {
    if value > now + chrono::Duration::minutes(CLOCK_SKEW_MINUTES) {
        return Err("must not be in the future".into());
    }
    Ok(value)
}

/// A birthday: not in the future and not before 1900.
pub fn birthday(value: NaiveDate, today: NaiveDate) -> Result<NaiveDate, String> {
    if value > today {
        return Err("must not be in the future".into());
    }
    past_date(value)
}

/// A date on or after 1900-01-01.
pub fn past_date(value: NaiveDate) -> Result<NaiveDate, String> {
    match NaiveDate::from_ymd_opt(1900, 1, 1) {
        Some(min) if value < min => Err("must be on or after 1900-01-01".into()),
        _ => Ok(value),
    }
}

/// An ISO 3166-1 alpha-2 country code, upper-cased.
pub fn country(value: String) -> Result<String, String> {
    let v = value.trim().to_uppercase();
    if v.len() == 2 && v.bytes().all(|b| b.is_ascii_uppercase()) {
        Ok(v)
    } else {
        Err("must be an ISO 3166-1 alpha-2 country code such as \"DE\"".into())
    }
}

/// An ISO 4217 currency code, upper-cased.
pub fn currency(value: String) -> Result<String, String> {
    let v = value.trim().to_uppercase();
    if v.len() == 3 && v.bytes().all(|b| b.is_ascii_uppercase()) {
        Ok(v)
    } else {
        Err("must be an ISO 4217 currency code such as \"EUR\"".into())
    }
}

/// A BCP 47 language tag such as `en` or `zh-Hans`.
pub fn language(value: String) -> Result<String, String> {
    let v = value.trim().to_owned();
    if v.len() <= MAX_LANGUAGE && LANGUAGE.is_match(&v) {
        Ok(v)
    } else {
        Err("must be a language tag such as \"en\" or \"zh-CN\"".into())
    }
}

/// An IANA time zone name such as `Europe/Paris`.
pub fn time_zone(value: &str) -> Result<chrono_tz::Tz, String> {
    value
        .trim()
        .parse::<chrono_tz::Tz>()
        .map_err(|_| "must be an IANA time zone such as \"Europe/Paris\"".into())
}

/// Days between contacts: 1–365.
pub fn cadence_days(value: i32) -> Result<i32, String> {
    if (1..=365).contains(&value) {
        Ok(value)
    } else {
        Err("must be between 1 and 365".into())
    }
}

/// An external id: 1–128 printable characters without spaces.
pub fn external_id(value: String) -> Result<String, String> {
    let v = value.trim().to_owned();
    if v.is_empty() || value.chars().count() > MAX_EXTERNAL_ID {
        return Err(format!("must be 1 to {MAX_EXTERNAL_ID} characters"));
    }
    if v.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err("must not contain spaces or control characters".into());
    }
    Ok(v)
}

/// A staff member's id (a token subject).
pub fn staff_id(value: String) -> Result<String, String> {
    external_id(value)
}

/// Largest amount of one order, in minor units (10^12: ten billion in a
/// two-decimal currency). Sums of amounts saturate instead of overflowing.
pub const MAX_AMOUNT_MINOR: i64 = 1_000_000_000_000;

/// A positive amount in minor units, at most [`MAX_AMOUNT_MINOR`].
pub fn positive_amount(value: i64) -> Result<i64, String> {
    if value <= 0 {
        Err("must be greater than 0".into())
    } else if value > MAX_AMOUNT_MINOR {
        Err(format!("must be at most {MAX_AMOUNT_MINOR}"))
    } else {
        Ok(value)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every documented pattern admits only what its parser accepts, and
    /// admits the ordinary values.
    #[test]
    fn the_documented_patterns_agree_with_the_parsers() {
        type Parser = fn(String) -> Result<String, String>;
        let cases: [(&str, &str, Parser, &[&str]); 9] = [
            (
                "name",
                NAME_PATTERN,
                name,
                &["Ann", " Ann Lee\n", "a\tb", "王小明", "Ann\u{3000}"],
            ),
            (
                "text",
                TEXT_PATTERN,
                |v| text(v, MAX_TEXT),
                &["two\nlines", "x\r\ny", "Ärger"],
            ),
            ("tag", TAG_PATTERN, tag as Parser, &["vip", " VIP ", "b2b-2026"]),
            ("id", ID_PATTERN, external_id, &["crm-42", "agent@example.com", "Ä1"]),
            (
                "email",
                EMAIL_PATTERN,
                email,
                &["ann@example.com", "A.B+c@x-y.example.org"],
            ),
            ("phone", PHONE_PATTERN, phone, &["+49 (30) 123-4567", "0301234567"]),
            ("country", COUNTRY_PATTERN, country, &["DE", "cn"]),
            ("currency", CURRENCY_PATTERN, currency, &["EUR", "cny"]),
            ("language", LANGUAGE_PATTERN, language, &["en", "zh-CN", "zh-Hans-CN"]),
        ];
        let odd = [
            "",
            "   ",
            "x\u{0}",
            "\u{7f}y",
            "a\u{85}b",
            "\u{1c}Ann",
            "Ann\u{1f}",
            "\u{3000}",
            "\u{feff}",
            "a b",
            "two\nlines",
            "\u{2028}x",
            "İİ",
            "ann@",
            "+1",
            "D",
            "EURO",
            "e",
            "12345678",
        ];
        for (what, pattern, parse, ordinary) in cases {
            let re = regex_lite::Regex::new(pattern).expect("pattern");
            for sample in ordinary {
                assert!(re.is_match(sample), "{what} pattern refuses {sample:?}");
                assert!(parse((*sample).into()).is_ok(), "{what} parser refuses {sample:?}");
            }
            for sample in ordinary.iter().chain(odd.iter()) {
                if re.is_match(sample) {
                    assert!(
                        parse((*sample).into()).is_ok(),
                        "{what}: {sample:?} matches but is refused"
                    );
                }
            }
        }
    }

    #[test]
    fn phone_numbers_are_normalised_to_digits() {
        assert_eq!(phone("+49 (30) 123-4567".into()).as_deref(), Ok("+49301234567"));
        assert!(phone("12345".into()).is_err());
        assert!(phone("call me".into()).is_err());
    }

    #[test]
    fn tags_are_trimmed_lowered_and_deduplicated() {
        let tags = tags(vec![" VIP ".into(), "vip".into(), "Beta".into()]);
        assert_eq!(tags, Ok(vec!["vip".to_owned(), "beta".to_owned()]));
    }

    #[test]
    fn an_empty_tag_is_named_by_its_index() {
        assert_eq!(tags(vec!["ok".into(), "  ".into()]).map_err(|e| e.0), Err(Some(1)));
    }

    #[test]
    fn emails_are_lower_cased_and_checked() {
        assert_eq!(email(" Ann@Example.COM ".into()).as_deref(), Ok("ann@example.com"));
        assert!(email("ann@".into()).is_err());
        assert!(email("ann example.com".into()).is_err());
    }

    #[test]
    fn custom_attributes_must_be_a_small_object() {
        assert!(custom_attributes(serde_json::json!([1])).is_err());
        assert!(custom_attributes(serde_json::json!({"a": [{"b": 1.797_693_134_862_315_7e308}]})).is_err());
        assert!(custom_attributes(serde_json::json!({"a": [-1e300, 12, "x"]})).is_ok());
        let big = "x".repeat(9000);
        assert!(custom_attributes(serde_json::json!({ "a": big })).is_err());
        assert!(custom_attributes(serde_json::json!({ "plan": "pro" })).is_ok());
    }
}
