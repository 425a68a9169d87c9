//! Input checks shared by the mutations. Each failure names the field and says what to send.

use async_graphql::ID;
use chrono::{DateTime, Utc};

use crate::error::{GatewayError, Result};

/// Parses a GraphQL `ID` argument into a row id.
pub fn id(field: &str, id: &ID) -> Result<i64> {
    id.parse::<i64>().ok().filter(|id| *id > 0).ok_or_else(|| {
        GatewayError::bad_input(
            field,
            format!(
                "{field} must be a positive integer id, got {}",
                crate::error::quote_input(id.as_str())
            ),
        )
    })
}

/// Parses a list of ids.
pub fn ids(field: &str, ids: &[ID]) -> Result<Vec<i64>> {
    ids.iter().map(|value| id(field, value)).collect()
}

/// Trims `value` and checks that it has `min..=max` characters.
pub fn text(field: &str, value: &str, min: usize, max: usize) -> Result<String> {
    let value = value.trim();
    let length = value.chars().count();
    if length < min {
        return Err(GatewayError::bad_input(
            field,
            if min == 1 {
                format!("{field} must not be empty")
            } else {
                format!("{field} must have at least {min} characters, got {length}")
            },
        ));
    }
    if length > max {
        return Err(GatewayError::bad_input(
            field,
            format!("{field} must have at most {max} characters, got {length}"),
        ));
    }
    if value.chars().any(|c| c.is_control() && c != '\n') {
        return Err(GatewayError::bad_input(
            field,
            format!("{field} must not contain control characters"),
        ));
    }
    Ok(value.to_owned())
}

/// Like [`text`], but an absent or blank value is `None`.
pub fn optional_text(field: &str, value: Option<&str>, max: usize) -> Result<Option<String>> {
    match value.map(str::trim).filter(|v| !v.is_empty()) {
        Some(value) => text(field, value, 1, max).map(Some),
        None => Ok(None),
    }
}

/// Checks a list of tags: at most `max_count`, each 1 to 32 characters without commas (CKB
/// receives tags comma-separated), duplicates removed.
pub fn tags(field: &str, values: &[String], max_count: usize) -> Result<Vec<String>> {
    if values.len() > max_count {
        return Err(GatewayError::bad_input(
            field,
            format!(
                "{field} may hold at most {max_count} tags, got {}",
                values.len()
            ),
        ));
    }
    let mut tags = Vec::with_capacity(values.len());
    for value in values {
        let tag = text(field, value, 1, 32)?;
        if tag.contains(',') || tag.contains('，') {
            return Err(GatewayError::bad_input(field, format!("tag {tag:?} in {field} must not contain a comma, because CKB receives tags comma-separated")));
        }
        if !tags.contains(&tag) {
            tags.push(tag);
        }
    }
    Ok(tags)
}

/// Normalizes a mainland China mobile number: 11 digits starting with 1 and a second digit of
/// 3 to 9, with an optional `+86` or `86` prefix and spaces or dashes, which are removed.
pub fn phone(field: &str, value: &str) -> Result<String> {
    let digits: String = value.chars().filter(|c| !matches!(c, ' ' | '-')).collect();
    let digits = digits
        .strip_prefix("+86")
        .or_else(|| digits.strip_prefix("86").filter(|d| d.len() == 11))
        .unwrap_or(&digits);
    let valid = digits.len() == 11
        && digits.chars().all(|c| c.is_ascii_digit())
        && digits.starts_with('1')
        && matches!(digits.as_bytes()[1], b'3'..=b'9');
    if !valid {
        return Err(GatewayError::bad_input(
            field,
            format!(
                "{field} must be a mainland China mobile number of 11 digits such as 13800000000"
            ),
        ));
    }
    Ok(digits.to_owned())
}

/// Checks a WeChat id: 6 to 40 characters of letters, digits, `_` and `-`, starting with a
/// letter. This admits both chosen ids (6–20 characters) and generated `wxid_…` ids.
pub fn wechat_id(field: &str, value: &str) -> Result<String> {
    let value = value.trim();
    let valid = (6..=40).contains(&value.len())
        && value.starts_with(|c: char| c.is_ascii_alphabetic())
        && value
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-');
    if !valid {
        return Err(GatewayError::bad_input(field, format!("{field} must be a WeChat id: 6 to 40 letters, digits, _ or -, starting with a letter")));
    }
    Ok(value.to_owned())
}

/// Checks that `from` is not after `to`.
pub fn date_range(
    field: &str,
    from: Option<DateTime<Utc>>,
    to: Option<DateTime<Utc>>,
) -> Result<()> {
    if let (Some(from), Some(to)) = (from, to) {
        if from > to {
            return Err(GatewayError::bad_input(
                field,
                format!("{field} is reversed: from ({from}) is after to ({to}); swap them"),
            ));
        }
    }
    Ok(())
}

/// Checks that `value` lies within `min..=max`.
pub fn range(field: &str, value: i32, min: i32, max: i32) -> Result<i32> {
    if !(min..=max).contains(&value) {
        return Err(GatewayError::bad_input(
            field,
            format!("{field} must be between {min} and {max}, got {value}"),
        ));
    }
    Ok(value)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn phone_accepts_mainland_mobiles() {
        assert_eq!(phone("phone", "13800000000").unwrap(), "13800000000");
        assert_eq!(phone("phone", "+86 138-0000-0000").unwrap(), "13800000000");
        assert_eq!(phone("phone", "8613800000000").unwrap(), "13800000000");
    }

    #[test]
    fn phone_rejects_other_numbers() {
        for bad in [
            "12800000000",
            "1380000000",
            "138000000001",
            "abc",
            "",
            "02012345678",
        ] {
            assert!(phone("phone", bad).is_err(), "{bad} accepted");
        }
    }

    #[test]
    fn wechat_id_rules() {
        assert!(wechat_id("wechatId", "wxid_abcdefg123").is_ok());
        assert!(wechat_id("wechatId", "karuo_2024").is_ok());
        assert!(wechat_id("wechatId", "1abcdef").is_err());
        assert!(wechat_id("wechatId", "ab").is_err());
        assert!(wechat_id("wechatId", "有中文的id").is_err());
    }

    #[test]
    fn reversed_range_is_rejected() {
        let later = crate::db::now();
        let earlier = later - chrono::Duration::days(1);
        assert!(date_range("matchedAt", Some(later), Some(earlier)).is_err());
        assert!(date_range("matchedAt", Some(earlier), Some(later)).is_ok());
    }

    #[test]
    fn text_counts_characters_not_bytes() {
        assert!(text("name", "张三", 1, 2).is_ok());
        assert!(text("name", "   ", 1, 10).is_err());
    }

    #[test]
    fn tags_reject_commas_and_dedupe() {
        assert!(tags("tags", &["a,b".into()], 5).is_err());
        assert_eq!(
            tags("tags", &["a".into(), "a".into()], 5).unwrap(),
            vec!["a".to_owned()]
        );
    }
}
