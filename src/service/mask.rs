//! Masking of personal data for roles that may see records but not people.

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
    }
}
