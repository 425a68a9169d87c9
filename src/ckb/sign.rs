//! The signature that CKB (存客宝) requires on every lead report.
//!
//! CKB's PHP handler for `/v1/api/scenarios` (`validateSign`) signs the
//! request parameters like this:
//!
//! 1. Remove the keys `sign`, `apiKey` and `portrait`.
//! 2. Drop values that are `null` or exactly `""`. The values `"0"`, `0` and
//!    `false` stay.
//! 3. Sort by key with `ksort`, which is plain byte order for ASCII keys.
//! 4. Concatenate the values with no separator, using PHP's string conversion.
//! 5. Compute `sign = md5_hex(md5_hex(concatenation) + apiKey)` in lowercase hex.
//!
//! The server compares with `===`, so only the lowercase form is accepted.
//! Query-string parameters are part of the signed set, and so is any key the
//! server does not store.

use md5::{Digest, Md5};
use serde_json::{Map, Value};

/// Parameter keys that CKB removes before building the string to sign.
pub const UNSIGNED_KEYS: [&str; 3] = ["sign", "apiKey", "portrait"];

/// Digits of precision PHP uses when it converts a float to a string
/// (the `precision` ini setting, 14 by default).
const PHP_FLOAT_PRECISION: i32 = 14;

/// Errors from building a CKB signature.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SignError {
    /// A signed parameter contains an array or object. CKB's `implode` fails
    /// on it, and the server responds with code 500
    /// "系统错误: Array to string conversion".
    #[error(
        "parameter `{key}` is an array or object, but CKB signs only scalar values; \
         send it as a string (a comma-separated list for tags)"
    )]
    NonScalar {
        /// The parameter whose value is not a scalar.
        key: String,
    },
}

/// A CKB signature with its intermediate values, so that a mismatch can be
/// traced to the step that differs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Signature {
    /// The concatenated parameter values that are hashed first.
    pub string_to_sign: String,
    /// `md5_hex(string_to_sign)`.
    pub first_md5: String,
    /// `md5_hex(first_md5 + apiKey)`, the value sent as `sign`.
    pub sign: String,
}

/// Builds the string that CKB hashes: the signed values in key order.
///
/// Returns [`SignError::NonScalar`] for the first signed key, in sorted
/// order, whose value is an array or object.
pub fn string_to_sign(params: &Map<String, Value>) -> Result<String, SignError> {
    let mut signed: Vec<(&String, &Value)> = params
        .iter()
        .filter(|(key, _)| !UNSIGNED_KEYS.contains(&key.as_str()))
        .filter(|(_, value)| !is_left_out(value))
        .collect();

    // NOTE: PHP turns keys made only of digits ("10") into integer keys,
    // and `ksort` compares those numerically. This byte-order sort matches
    // PHP only for the non-numeric keys CKB defines.
    signed.sort_by(|(left, _), (right, _)| left.as_bytes().cmp(right.as_bytes()));

    let mut text = String::new();
    for (key, value) in signed {
        match php_string(value) {
            Some(part) => text.push_str(&part),
            None => return Err(SignError::NonScalar { key: key.clone() }),
        }
    }
    Ok(text)
}

/// Signs lead-report parameters with a plan's apiKey, as CKB checks them.
pub fn sign(params: &Map<String, Value>, api_key: &str) -> Result<Signature, SignError> {
    let string_to_sign = string_to_sign(params)?;
    let first_md5 = md5_hex(string_to_sign.as_bytes());
    let sign = md5_hex(format!("{first_md5}{api_key}").as_bytes());

    Ok(Signature {
        string_to_sign,
        first_md5,
        sign,
    })
}

/// Returns the lowercase hex MD5 digest of `data`, like PHP's `md5()`.
pub fn md5_hex(data: &[u8]) -> String {
    hex::encode(Md5::digest(data))
}

/// Converts a JSON scalar to text the way PHP's string conversion does.
///
/// Strings are returned unchanged, integers in decimal, floats as
/// [`php_float_to_string`] formats them, `true` as `"1"`, and `false` and
/// `null` as `""`. Arrays and objects return `None`, because PHP cannot
/// convert them.
pub fn php_string(value: &Value) -> Option<String> {
    match value {
        Value::Null => Some(String::new()),
        Value::Bool(true) => Some("1".to_owned()),
        Value::Bool(false) => Some(String::new()),
        Value::String(text) => Some(text.clone()),
        Value::Number(number) => {
            // PHP's json_decode keeps integers that fit in a 64-bit signed
            // integer and turns larger ones into floats.
            if let Some(integer) = number.as_i64() {
                Some(integer.to_string())
            } else {
                number.as_f64().map(php_float_to_string)
            }
        }
        Value::Array(_) | Value::Object(_) => None,
    }
}

/// Formats a float like PHP's `(string)$float` with `precision = 14`,
/// which is C's `%.14G` with PHP's own exponent style.
///
/// `1.5` gives `"1.5"`, `0.1 + 0.2` gives `"0.3"`, `100.0` gives `"100"` and
/// `1e20` gives `"1.0E+20"`.
pub fn php_float_to_string(value: f64) -> String {
    if value.is_nan() {
        return "NAN".to_owned();
    }
    if value.is_infinite() {
        return if value > 0.0 { "INF" } else { "-INF" }.to_owned();
    }
    if value == 0.0 {
        return if value.is_sign_negative() { "-0" } else { "0" }.to_owned();
    }

    // Round to 14 significant digits. Rust rounds the exact binary value
    // half to even, like the zend_dtoa call PHP makes.
    let scientific = format!("{:.*e}", (PHP_FLOAT_PRECISION - 1) as usize, value.abs());
    let (mantissa, exponent) = scientific
        .split_once('e')
        .expect("Rust's {:e} output always contains an exponent");
    let exponent: i32 = exponent
        .parse()
        .expect("Rust's {:e} exponent is a decimal integer");
    let digits: String = mantissa.chars().filter(|c| *c != '.').collect();
    let digits = digits.trim_end_matches('0');

    // `point` is where the decimal point sits relative to the first digit,
    // the `decpt` of zend_dtoa: the value is 0.<digits> * 10^point.
    let point = exponent + 1;
    let mut text = String::new();
    if value < 0.0 {
        text.push('-');
    }

    if !(-3..=PHP_FLOAT_PRECISION).contains(&point) {
        let (first, rest) = digits.split_at(1);
        text.push_str(first);
        text.push('.');
        text.push_str(if rest.is_empty() { "0" } else { rest });
        text.push('E');
        text.push(if point - 1 < 0 { '-' } else { '+' });
        text.push_str(&(point - 1).abs().to_string());
    } else if point <= 0 {
        text.push_str("0.");
        text.push_str(&"0".repeat(point.unsigned_abs() as usize));
        text.push_str(digits);
    } else {
        let point = point as usize;
        if digits.len() <= point {
            text.push_str(digits);
            text.push_str(&"0".repeat(point - digits.len()));
        } else {
            text.push_str(&digits[..point]);
            text.push('.');
            text.push_str(&digits[point..]);
        }
    }
    text
}

/// Reports whether CKB's `array_filter` removes the value before signing.
fn is_left_out(value: &Value) -> bool {
    match value {
        Value::Null => true,
        Value::String(text) => text.is_empty(),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use serde_json::json;

    fn object(value: Value) -> Map<String, Value> {
        match value {
            Value::Object(map) => map,
            other => panic!("test parameters must be a JSON object, got {other}"),
        }
    }

    struct Vector {
        name: &'static str,
        api_key: &'static str,
        params: Value,
        string_to_sign: &'static str,
        first_md5: &'static str,
        sign: &'static str,
    }

    /// Reference signatures for CKB's algorithm.
    fn vectors() -> Vec<Vector> {
        vec![
            Vector {
                name: "documented example",
                api_key: "YOUR_API_KEY",
                params: json!({
                    "apiKey": "YOUR_API_KEY",
                    "timestamp": 1710000000,
                    "phone": "13800000000",
                    "name": "张三",
                    "source": "微信广告"
                }),
                string_to_sign: "张三13800000000微信广告1710000000",
                first_md5: "5d4603e99f2914b9adda66aa03102c70",
                sign: "de9cdd9cae7bdabef299eccc2f4d9e33",
            },
            Vector {
                name: "site tags sort before source",
                api_key: "abcde-12345-fghij-67890-klmno",
                params: json!({
                    "name": "张三",
                    "phone": "13800000000",
                    "siteTags": "新客,女装",
                    "source": "测试",
                    "timestamp": "1710000000"
                }),
                string_to_sign: "张三13800000000新客,女装测试1710000000",
                first_md5: "6044731c8a8e44bef7eeea4335bc4746",
                sign: "308a38e8947fc36922608a5cdcbed233",
            },
            Vector {
                name: "portrait, sign and empty values are left out",
                api_key: "k1",
                params: json!({
                    "apiKey": "k1",
                    "sign": "00000000000000000000000000000000",
                    "timestamp": 1710000000,
                    "wechatId": "wxid_abcdefg123",
                    "phone": "13800000001",
                    "name": "李四",
                    "remark": "",
                    "source": null,
                    "portrait": {"type": 1, "source": 0, "uniqueId": "site_1"}
                }),
                string_to_sign: "李四138000000011710000000wxid_abcdefg123",
                first_md5: "3d26c017f0a2be63420ff755fcc1d1aa",
                sign: "fb23346cc6f48be9442047c7c4b95c22",
            },
        ]
    }

    #[test]
    fn sign_matches_every_vector() {
        for vector in vectors() {
            let params = object(vector.params);
            let signature = sign(&params, vector.api_key).unwrap();
            assert_eq!(
                signature.string_to_sign, vector.string_to_sign,
                "string to sign of {:?}",
                vector.name
            );
            assert_eq!(
                signature.first_md5, vector.first_md5,
                "first MD5 of {:?}",
                vector.name
            );
            assert_eq!(signature.sign, vector.sign, "sign of {:?}", vector.name);
        }
    }

    #[test]
    fn sign_keeps_zero_and_false_values() {
        let params = object(json!({"a": "0", "b": 0, "c": false, "d": true}));
        assert_eq!(string_to_sign(&params).unwrap(), "001");
    }

    #[test]
    fn sign_sorts_uppercase_before_lowercase() {
        let params = object(json!({"b": "2", "a": "1", "Z": "0"}));
        assert_eq!(string_to_sign(&params).unwrap(), "012");
    }

    #[test]
    fn sign_rejects_array_value() {
        let params = object(json!({"phone": "13800000000", "tags": ["a", "b"]}));
        assert_eq!(
            sign(&params, "key"),
            Err(SignError::NonScalar {
                key: "tags".to_owned()
            })
        );
    }

    #[test]
    fn sign_rejects_object_value() {
        let params = object(json!({"extra": {"a": 1}}));
        assert_eq!(
            string_to_sign(&params),
            Err(SignError::NonScalar {
                key: "extra".to_owned()
            })
        );
    }

    #[test]
    fn sign_accepts_object_under_portrait() {
        let params = object(json!({"portrait": {"a": [1, 2]}, "phone": "1"}));
        assert_eq!(string_to_sign(&params).unwrap(), "1");
    }

    #[test]
    fn sign_is_lowercase_hex() {
        let params = object(json!({"phone": "13800000000", "timestamp": 1}));
        let signature = sign(&params, "key").unwrap();
        assert_eq!(signature.sign.len(), 32);
        assert!(signature
            .sign
            .chars()
            .all(|c| c.is_ascii_digit() || ('a'..='f').contains(&c)));
    }

    #[test]
    fn float_formatting_matches_php() {
        let cases = [
            (1.5, "1.5"),
            (0.1 + 0.2, "0.3"),
            (1e20, "1.0E+20"),
            (100.0, "100"),
            (-2.5, "-2.5"),
            (0.0001, "0.0001"),
            (0.00001, "1.0E-5"),
            (1.5e-7, "1.5E-7"),
            (1e14, "1.0E+14"),
            (1e13, "10000000000000"),
            (123456789.12345678, "123456789.12346"),
            (0.05, "0.05"),
            (1710000000.0, "1710000000"),
            (1.0 / 3.0, "0.33333333333333"),
            (2.5e15, "2.5E+15"),
            (0.0, "0"),
            (-0.0, "-0"),
            (f64::INFINITY, "INF"),
            (f64::NAN, "NAN"),
        ];
        for (value, expected) in cases {
            assert_eq!(php_float_to_string(value), expected, "formatting {value:e}");
        }
    }

    #[test]
    fn large_integer_signs_as_php_float() {
        // json_decode turns integers above i64::MAX into floats.
        let params = object(json!({"n": 18446744073709551615u64}));
        assert_eq!(string_to_sign(&params).unwrap(), "1.844674407371E+19");
    }

    fn scalar() -> impl Strategy<Value = Value> {
        prop_oneof![
            "[a-zA-Z0-9一-龥,_ -]{1,12}".prop_map(Value::String),
            any::<i64>().prop_map(Value::from),
            any::<bool>().prop_map(Value::Bool),
        ]
    }

    fn signed_params() -> impl Strategy<Value = Vec<(String, Value)>> {
        prop::collection::btree_map("[a-zA-Z]{1,8}", scalar(), 0..8).prop_map(|map| {
            map.into_iter()
                .filter(|(key, _)| !UNSIGNED_KEYS.contains(&key.as_str()))
                .collect()
        })
    }

    fn any_json() -> impl Strategy<Value = Value> {
        let leaf = prop_oneof![
            Just(Value::Null),
            any::<bool>().prop_map(Value::Bool),
            any::<i64>().prop_map(Value::from),
            ".{0,8}".prop_map(Value::String),
        ];
        leaf.prop_recursive(3, 16, 4, |inner| {
            prop_oneof![
                prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
                prop::collection::btree_map("[a-z]{1,4}", inner, 0..4)
                    .prop_map(|map| Value::Object(map.into_iter().collect())),
            ]
        })
    }

    proptest! {
        #[test]
        fn insertion_order_never_changes_sign(
            pairs in signed_params().prop_shuffle(),
        ) {
            let forward: Map<String, Value> = pairs.iter().cloned().collect();
            let backward: Map<String, Value> = pairs.iter().rev().cloned().collect();
            prop_assert_eq!(sign(&forward, "key").unwrap(), sign(&backward, "key").unwrap());
        }

        #[test]
        fn portrait_never_changes_sign(pairs in signed_params(), portrait in any_json()) {
            let without: Map<String, Value> = pairs.into_iter().collect();
            let mut with = without.clone();
            with.insert("portrait".to_owned(), portrait);
            prop_assert_eq!(sign(&without, "key").unwrap(), sign(&with, "key").unwrap());
        }

        #[test]
        fn empty_or_null_field_never_changes_sign(
            pairs in signed_params(),
            key in "[a-z]{9,12}",
            null in any::<bool>(),
        ) {
            let without: Map<String, Value> = pairs.into_iter().collect();
            let mut with = without.clone();
            let blank = if null { Value::Null } else { Value::String(String::new()) };
            with.insert(key, blank);
            prop_assert_eq!(sign(&without, "key").unwrap(), sign(&with, "key").unwrap());
        }

        #[test]
        fn number_and_decimal_string_sign_alike(
            pairs in signed_params(),
            key in "[a-z]{9,12}",
            number in any::<i64>(),
        ) {
            let mut as_number: Map<String, Value> = pairs.into_iter().collect();
            let mut as_string = as_number.clone();
            as_number.insert(key.clone(), Value::from(number));
            as_string.insert(key, Value::String(number.to_string()));
            prop_assert_eq!(sign(&as_number, "key").unwrap(), sign(&as_string, "key").unwrap());
        }

        #[test]
        fn float_and_php_text_sign_alike(
            key in "[a-z]{1,8}",
            float in any::<f64>().prop_filter("finite", |f| f.is_finite()),
        ) {
            let mut as_number = Map::new();
            as_number.insert(key.clone(), json!(float));
            let mut as_string = Map::new();
            as_string.insert(key, Value::String(php_float_to_string(float)));
            prop_assert_eq!(sign(&as_number, "k").unwrap(), sign(&as_string, "k").unwrap());
        }
    }
}
