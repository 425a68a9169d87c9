//! Masking of personal data for callers other than admins.

/// Masks a phone number as `138****0000`: the first three and last four digits stay.
pub fn mask_phone(phone: &str) -> String {
    let chars: Vec<char> = phone.chars().collect();
    if chars.len() < 8 {
        return "****".to_owned();
    }
    let head: String = chars[..3].iter().collect();
    let tail: String = chars[chars.len() - 4..].iter().collect();
    format!("{head}****{tail}")
}

/// Masks a WeChat id as `wx****23`: the first two and last two characters stay, or only the
/// first one for ids shorter than 10 characters, so that most of an id stays hidden.
pub fn mask_wechat_id(wechat_id: &str) -> String {
    let chars: Vec<char> = wechat_id.chars().collect();
    if chars.len() < 4 {
        return "****".to_owned();
    }
    if chars.len() < 10 {
        return format!("{}****", chars[0]);
    }
    let head: String = chars[..2].iter().collect();
    let tail: String = chars[chars.len() - 2..].iter().collect();
    format!("{head}****{tail}")
}

/// Masks a lead identifier, which is a WeChat id or a phone number.
pub fn mask_identifier(identifier: &str) -> String {
    if identifier.len() == 11 && identifier.chars().all(|c| c.is_ascii_digit()) {
        mask_phone(identifier)
    } else {
        mask_wechat_id(identifier)
    }
}

/// Shows only the last four characters of a secret, as `****abcd`; a secret shorter than 12
/// characters shows none.
pub fn mask_secret(secret: &str) -> String {
    let chars: Vec<char> = secret.chars().collect();
    if chars.len() < 12 {
        return "****".to_owned();
    }
    let tail: String = chars[chars.len().saturating_sub(4)..].iter().collect();
    format!("****{tail}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn phone_keeps_head_and_tail() {
        assert_eq!(mask_phone("13800000000"), "138****0000");
        assert_eq!(mask_phone("123"), "****");
    }

    #[test]
    fn wechat_id_keeps_two_each_side() {
        assert_eq!(mask_wechat_id("wxid_abcdefg123"), "wx****23");
        assert_eq!(mask_wechat_id("abcdef"), "a****");
    }

    #[test]
    fn secret_shows_last_four() {
        assert_eq!(mask_secret("abcde-12345-fghij-67890-klmno"), "****lmno");
        assert_eq!(mask_secret("ab"), "****");
        assert_eq!(mask_secret("abcdefgh"), "****");
    }
}
