//! Masking of personal data for roles that may see records but not people.

use std::sync::LazyLock;

use regex_lite::{Captures, Regex};

use crate::auth::Actor;

static CONTACT_DETAILS: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?i)(?P<email>[a-z0-9._%+-]+@[a-z0-9.-]+\.[a-z]{2,})|(?P<phone>\+?\d[\d ().-]{5,}\d)")
        .unwrap_or_else(|_| unreachable!("constant pattern"))
});

/// Free text with the e-mail addresses and phone numbers in it masked.
pub fn text(value: &str) -> String {
    CONTACT_DETAILS
        .replace_all(value, |c: &Captures<'_>| match (c.name("email"), c.name("phone")) {
            (Some(e), _) => email(e.as_str()),
            (_, Some(p)) => phone(&p.as_str().chars().filter(char::is_ascii_digit).collect::<String>()),
            _ => String::new(),
        })
        .into_owned()
}

/// Free text as `actor` may see it: masked for roles that see people masked.
pub fn text_for(actor: &Actor, value: String) -> String {
    if actor.masks_personal_data() {
        text(&value)
    } else {
        value
    }
}

/// `Ann Lee` → `A** L**`.
pub fn name(value: &str) -> String {
    value
        .split_whitespace()
        .map(|word| {
            let mut chars = word.chars();
            match chars.next() {
                Some(first) => format!("{first}{}", "*".repeat(chars.count().clamp(1, 8))),
                None => String::new(),
            }
        })
        .collect::<Vec<_>>()
        .join(" ")
}

/// `ann@example.com` → `a***@example.com`.
pub fn email(value: &str) -> String {
    match value.split_once('@') {
        Some((local, domain)) => {
            let first = local.chars().next().map(String::from).unwrap_or_default();
            format!("{first}***@{domain}")
        }
        None => "***".into(),
    }
}

/// `+49301234567` → `*********67`.
pub fn phone(value: &str) -> String {
    let n = value.chars().count();
    let keep: String = value.chars().skip(n.saturating_sub(2)).collect();
    format!("{}{keep}", "*".repeat(n.saturating_sub(2)))
}

#[cfg(test)]
mod tests {
    #[test]
    fn masking_keeps_only_initials_domain_and_last_digits() {
        assert_eq!(super::name("Ann Lee"), "A** L**");
        assert_eq!(super::email("ann@example.com"), "a***@example.com");
        assert_eq!(super::phone("+49301234567"), "**********67");
        assert_eq!(
            super::text("Call +1 555-123-4567 or mail ann.lee@example.com."),
            "Call *********67 or mail a***@example.com."
        );
    }
}
