//! PHP request parameters and value semantics that CKB's handlers rely on.
//!
//! CKB runs on ThinkPHP 5.1 under PHP 7. Its handlers read every input
//! through `Request::param()`, test fields with `empty()`, convert them with
//! `intval()` and compare them with `==`. This module reproduces those rules
//! so that the simulator treats odd inputs the way CKB does.

use axum::{
    extract::{FromRequest, Request},
    http::{header::CONTENT_TYPE, Method},
    response::Response,
};
use serde_json::{Map, Value};

use crate::ckb::sign::php_string;

/// PHP's default `post_max_size` (8 MiB). PHP ignores a larger body, so the
/// simulator reads such a request as if it had no body.
const MAX_BODY_BYTES: usize = 8 * 1024 * 1024;

/// PHP's default `max_input_nesting_level`. PHP drops a form field with
/// deeper `a[b][c]…` nesting.
const MAX_NESTING: usize = 64;

/// ThinkPHP's URL rewrite variable (`index.php?s=<path>`). ThinkPHP removes
/// it from the query parameters before a handler reads them.
const REWRITE_VARIABLE: &str = "s";

/// The merged request parameters that ThinkPHP's `Request::param()` returns.
pub(crate) struct PhpParams(pub Map<String, Value>);

impl<S: Send + Sync> FromRequest<S> for PhpParams {
    type Rejection = Response;

    async fn from_request(request: Request, _state: &S) -> Result<Self, Self::Rejection> {
        let (parts, body) = request.into_parts();
        let body = axum::body::to_bytes(body, MAX_BODY_BYTES)
            .await
            .unwrap_or_default();
        let content_type = parts
            .headers
            .get(CONTENT_TYPE)
            .map(|value| String::from_utf8_lossy(value.as_bytes()).into_owned());

        Ok(PhpParams(request_params(
            &parts.method,
            parts.uri.query(),
            content_type.as_deref(),
            &body,
        )))
    }
}

/// Merges query and body parameters the way ThinkPHP 5.1's `param()` does.
///
/// The query string is always read. POST adds `$_POST` (form-urlencoded
/// bodies) or, when that is empty, the raw body. PUT, PATCH and DELETE add
/// the raw body. A raw body is decoded as JSON when the media type contains
/// `json`, as urlencoded when it contains `=` after its first byte, and is
/// ignored otherwise. On a duplicate key the body wins.
pub(crate) fn request_params(
    method: &Method,
    query: Option<&str>,
    content_type: Option<&str>,
    body: &[u8],
) -> Map<String, Value> {
    let mut get = parse_str(query.unwrap_or("").as_bytes());
    get.retain(|(key, _)| key != REWRITE_VARIABLE);

    let body_params = if *method == Method::POST {
        post_params(content_type, body)
    } else if [Method::PUT, Method::PATCH, Method::DELETE].contains(method) {
        raw_body_params(content_type, body)
    } else {
        Vec::new()
    };

    array_merge(get, body_params)
}

/// Reads a POST body like ThinkPHP's `post()`: `$_POST` if PHP filled it,
/// otherwise the raw body.
fn post_params(content_type: Option<&str>, body: &[u8]) -> Vec<(String, Value)> {
    // PHP fills $_POST only for these media types, compared case-insensitively.
    let media_type = content_type
        .unwrap_or("")
        .split([';', ',', ' '])
        .next()
        .unwrap_or("")
        .to_ascii_lowercase();

    if media_type == "application/x-www-form-urlencoded" {
        let form = parse_str(body);
        if !form.is_empty() {
            return form;
        }
    }
    if media_type == "multipart/form-data" {
        // NOTE: PHP would put multipart fields into $_POST and leave the raw
        // body empty. The simulator does not parse multipart bodies, so it
        // reads such a request as having no body parameters.
        return Vec::new();
    }
    raw_body_params(content_type, body)
}

/// Reads a raw body like ThinkPHP's `getInputData()`.
fn raw_body_params(content_type: Option<&str>, body: &[u8]) -> Vec<(String, Value)> {
    // ThinkPHP's contentType() keeps the part before the first ';', unless
    // the ';' is the first character (its strpos() check is falsy then).
    let header = content_type.unwrap_or("");
    let media_type = match header.find(';') {
        Some(position) if position > 0 => &header[..position],
        _ => header,
    };

    if media_type.trim().contains("json") {
        return json_body_params(body);
    }
    // `strpos($content, '=')` is falsy when the body starts with '='.
    match body.iter().position(|byte| *byte == b'=') {
        Some(position) if position > 0 => parse_str(body),
        _ => Vec::new(),
    }
}

/// Decodes a JSON body like `(array) json_decode($body, true)`.
///
/// Invalid JSON and `null` give no parameters, a list gives keys 0..n, and a
/// scalar becomes the single element 0.
fn json_body_params(body: &[u8]) -> Vec<(String, Value)> {
    match serde_json::from_slice::<Value>(body) {
        Ok(Value::Object(map)) => map.into_iter().collect(),
        Ok(Value::Array(items)) => items
            .into_iter()
            .enumerate()
            .map(|(index, item)| (index.to_string(), item))
            .collect(),
        Ok(Value::Null) | Err(_) => Vec::new(),
        Ok(scalar) => vec![("0".to_owned(), scalar)],
    }
}

/// Merges parameter lists like PHP's `array_merge`: string keys from
/// `later` overwrite earlier ones, and integer keys are renumbered from 0
/// in order of appearance.
fn array_merge(earlier: Vec<(String, Value)>, later: Vec<(String, Value)>) -> Map<String, Value> {
    let mut merged = Map::new();
    let mut next_index: i64 = 0;
    for (key, value) in earlier.into_iter().chain(later) {
        if is_integer_key(&key) {
            merged.insert(next_index.to_string(), value);
            next_index += 1;
        } else {
            merged.insert(key, value);
        }
    }
    merged
}

/// Reports whether PHP stores this array key as an integer: a decimal
/// integer without leading zeros or '+' that fits in 64 bits.
pub(crate) fn is_integer_key(key: &str) -> bool {
    let digits = key.strip_prefix('-').unwrap_or(key);
    let canonical = !digits.is_empty()
        && digits.bytes().all(|byte| byte.is_ascii_digit())
        && (digits == "0" || !digits.starts_with('0'))
        && key != "-0";
    canonical && key.parse::<i64>().is_ok()
}

/// A form field value while `parse_str` builds nested arrays.
enum FormNode {
    Scalar(String),
    Array(Vec<(String, FormNode)>),
}

/// Parses an urlencoded string like PHP's `parse_str` (and `$_GET`, `$_POST`).
///
/// Pieces are split on '&' and empty pieces skipped. Names lose leading
/// spaces, and '.' or ' ' in a name become '_'. `a[]=1` and `a[k]=1` build
/// arrays. A value may be missing ("a" means `a=""`), and a later duplicate
/// wins. Invalid UTF-8 after percent-decoding is replaced with U+FFFD.
pub(crate) fn parse_str(input: &[u8]) -> Vec<(String, Value)> {
    let mut root: Vec<(String, FormNode)> = Vec::new();
    for (name, value) in form_urlencoded::parse(input) {
        register_variable(&mut root, &name, value.into_owned());
    }
    root.into_iter()
        .map(|(key, node)| (key, node_to_value(node)))
        .collect()
}

/// Stores one decoded `name=value` pair, following PHP 7's
/// `php_register_variable_ex`.
fn register_variable(root: &mut Vec<(String, FormNode)>, raw_name: &str, value: String) {
    // PHP reads the name as a C string, so it ends at the first NUL byte.
    let name = raw_name.split('\0').next().unwrap_or("");
    let name = name.trim_start_matches(' ');

    let mut base = String::new();
    let mut after_bracket: Option<&str> = None;
    for (position, character) in name.char_indices() {
        match character {
            ' ' | '.' => base.push('_'),
            '[' => {
                after_bracket = Some(&name[position + 1..]);
                break;
            }
            other => base.push(other),
        }
    }
    if base.is_empty() {
        return;
    }
    let Some(mut rest) = after_bracket else {
        array_insert(root, Some(base), FormNode::Scalar(value));
        return;
    };

    // Each segment is Some(key) for `[key]` or None for `[]` (append).
    let mut segments: Vec<Option<String>> = Vec::new();
    loop {
        let index_start = rest;
        let mut cursor = rest.strip_prefix(' ').unwrap_or(rest);
        if let Some(after) = cursor.strip_prefix(']') {
            segments.push(None);
            cursor = after;
        } else {
            let Some(end) = cursor.find(']') else {
                if segments.is_empty() {
                    // PHP 7 turns the unmatched '[' into '_' and keeps the
                    // rest of the name as it is.
                    let plain_name = format!("{base}_{index_start}");
                    array_insert(root, Some(plain_name), FormNode::Scalar(value));
                    return;
                }
                break;
            };
            let key_length = index_start.len() - cursor.len() + end;
            segments.push(Some(index_start[..key_length].to_owned()));
            cursor = &cursor[end + 1..];
        }

        // Text after a ']' that does not open another '[' is ignored.
        match cursor.strip_prefix('[') {
            Some(next) => rest = next,
            None => break,
        }
    }
    if segments.len() > MAX_NESTING {
        return;
    }

    let (last, parents) = segments
        .split_last()
        .expect("a name with '[' yields at least one segment");
    let mut entries = array_child(root, Some(base));
    for segment in parents {
        entries = array_child(entries, segment.clone());
    }
    array_insert(entries, last.clone(), FormNode::Scalar(value));
}

/// Returns the next free integer key of a PHP array.
fn next_free_index(entries: &[(String, FormNode)]) -> i64 {
    entries
        .iter()
        .filter(|(key, _)| is_integer_key(key))
        .filter_map(|(key, _)| key.parse::<i64>().ok())
        .map(|index| index + 1)
        .max()
        .unwrap_or(0)
        .max(0)
}

/// Sets `key` (or appends, for `None`) in a PHP array, keeping the position
/// of an existing key.
fn array_insert(entries: &mut Vec<(String, FormNode)>, key: Option<String>, node: FormNode) {
    let key = key.unwrap_or_else(|| next_free_index(entries).to_string());
    match entries.iter_mut().find(|(existing, _)| *existing == key) {
        Some(entry) => entry.1 = node,
        None => entries.push((key, node)),
    }
}

/// Returns the array stored under `key` (or a new appended one), replacing
/// a scalar that was there, as PHP does for `a=1&a[b]=2`.
fn array_child(
    entries: &mut Vec<(String, FormNode)>,
    key: Option<String>,
) -> &mut Vec<(String, FormNode)> {
    let key = key.unwrap_or_else(|| next_free_index(entries).to_string());
    let position = match entries.iter().position(|(existing, _)| *existing == key) {
        Some(position) => position,
        None => {
            entries.push((key, FormNode::Array(Vec::new())));
            entries.len() - 1
        }
    };
    let node = &mut entries[position].1;
    if let FormNode::Scalar(_) = node {
        *node = FormNode::Array(Vec::new());
    }
    match node {
        FormNode::Array(children) => children,
        FormNode::Scalar(_) => unreachable!("the scalar was just replaced by an array"),
    }
}

/// Converts a parsed form value to JSON. A PHP array whose keys are 0..n in
/// order is a list, as json_encode would write it.
fn node_to_value(node: FormNode) -> Value {
    match node {
        FormNode::Scalar(text) => Value::String(text),
        FormNode::Array(entries) => {
            let is_list = entries
                .iter()
                .enumerate()
                .all(|(index, (key, _))| *key == index.to_string());
            if is_list {
                Value::Array(entries.into_iter().map(|(_, n)| node_to_value(n)).collect())
            } else {
                Value::Object(
                    entries
                        .into_iter()
                        .map(|(key, n)| (key, node_to_value(n)))
                        .collect(),
                )
            }
        }
    }
}

/// PHP's `empty()`: true for a missing key, `null`, `false`, `0`, `0.0`,
/// `""`, `"0"` and an empty array.
pub(crate) fn is_empty(value: Option<&Value>) -> bool {
    match value {
        None | Some(Value::Null) => true,
        Some(Value::Bool(flag)) => !flag,
        Some(Value::Number(number)) => number.as_f64() == Some(0.0),
        Some(Value::String(text)) => text.is_empty() || text == "0",
        Some(Value::Array(items)) => items.is_empty(),
        Some(Value::Object(map)) => map.is_empty(),
    }
}

/// A number read from the start of a string by PHP 7's `is_numeric_string`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) enum Numeric {
    Integer(i64),
    Float(f64),
}

impl Numeric {
    fn as_f64(self) -> f64 {
        match self {
            Numeric::Integer(integer) => integer as f64,
            Numeric::Float(float) => float,
        }
    }
}

/// Reads the numeric prefix of a string as PHP 7 does when it converts a
/// string to a number.
///
/// Leading whitespace and a sign are allowed, then digits with an optional
/// fraction and exponent. Returns the number (if any) and whether it used
/// the whole string, which PHP 7 requires for a "numeric string".
pub(crate) fn numeric_prefix(text: &str) -> (Option<Numeric>, bool) {
    let bytes = text.as_bytes();
    let mut position = 0;
    while position < bytes.len() && b" \t\n\r\x0b\x0c".contains(&bytes[position]) {
        position += 1;
    }
    let start = position;
    if position < bytes.len() && (bytes[position] == b'+' || bytes[position] == b'-') {
        position += 1;
    }

    let integer_start = position;
    while position < bytes.len() && bytes[position].is_ascii_digit() {
        position += 1;
    }
    let integer_digits = position - integer_start;
    let mut is_float = false;

    // "1." and ".5" are numeric in PHP, but "." alone is not.
    if position < bytes.len() && bytes[position] == b'.' {
        let fraction_start = position + 1;
        let mut end = fraction_start;
        while end < bytes.len() && bytes[end].is_ascii_digit() {
            end += 1;
        }
        if end > fraction_start || integer_digits > 0 {
            position = end;
            is_float = true;
        }
    }
    if integer_digits == 0 && !is_float {
        return (None, false);
    }

    if position < bytes.len() && (bytes[position] == b'e' || bytes[position] == b'E') {
        let mut end = position + 1;
        if end < bytes.len() && (bytes[end] == b'+' || bytes[end] == b'-') {
            end += 1;
        }
        let exponent_start = end;
        while end < bytes.len() && bytes[end].is_ascii_digit() {
            end += 1;
        }
        if end > exponent_start {
            position = end;
            is_float = true;
        }
    }

    let number_text = &text[start..position];
    let whole = position == bytes.len();
    if !is_float {
        if let Ok(integer) = number_text.parse::<i64>() {
            return (Some(Numeric::Integer(integer)), whole);
        }
    }
    // Integers too large for 64 bits become floats, as in PHP.
    let float = number_text.parse::<f64>().unwrap_or(0.0);
    (Some(Numeric::Float(float)), whole)
}

/// PHP 7's `intval()` for a request value.
///
/// Strings keep their numeric prefix, so `"1710000000abc"` is 1710000000
/// and `"abc"` is 0. Floats are truncated. A non-empty array is 1.
pub(crate) fn intval(value: Option<&Value>) -> i64 {
    match value {
        None | Some(Value::Null) => 0,
        Some(Value::Bool(flag)) => i64::from(*flag),
        Some(Value::Number(number)) => match number.as_i64() {
            Some(integer) => integer,
            None => float_to_integer(number.as_f64().unwrap_or(0.0)),
        },
        Some(Value::String(text)) => match numeric_prefix(text).0 {
            None => 0,
            Some(Numeric::Integer(integer)) => integer,
            // PHP caps numeric strings that overflow at the integer limits.
            Some(Numeric::Float(float)) if float.is_finite() => {
                float.clamp(i64::MIN as f64, i64::MAX as f64) as i64
            }
            Some(Numeric::Float(_)) => 0,
        },
        Some(Value::Array(items)) => i64::from(!items.is_empty()),
        Some(Value::Object(map)) => i64::from(!map.is_empty()),
    }
}

/// Truncates a float to an integer. Non-finite and out-of-range values give
/// 0 here, while PHP 7 wraps out-of-range values modulo 2^64. Either way such
/// a timestamp lies far outside CKB's 300-second window.
fn float_to_integer(float: f64) -> i64 {
    if float.is_finite() && float >= i64::MIN as f64 && float < i64::MAX as f64 {
        float as i64
    } else {
        0
    }
}

/// PHP 7's `$value == $integer`, as `in_array($value, [1, 2])` uses it.
///
/// A string compares by its numeric prefix, so `"1abc" == 1` is true in PHP 7.
pub(crate) fn loosely_equals_integer(value: &Value, target: i64) -> bool {
    match value {
        Value::Null => target == 0,
        Value::Bool(flag) => *flag == (target != 0),
        Value::Number(number) => match number.as_i64() {
            Some(integer) => integer == target,
            None => number.as_f64() == Some(target as f64),
        },
        Value::String(text) => match numeric_prefix(text).0 {
            None => target == 0,
            Some(number) => number.as_f64() == target as f64,
        },
        Value::Array(_) | Value::Object(_) => false,
    }
}

/// PHP 7's `$value == "<digits>"` for a target made of digits, as ThinkPHP's
/// `in:1,2` validation rule uses it.
///
/// Two numeric strings compare as numbers (`"01" == "1"`), while a string
/// with trailing text compares as text and fails.
pub(crate) fn loosely_equals_numeric_string(value: &Value, target: i64) -> bool {
    match value {
        Value::Null | Value::Array(_) | Value::Object(_) => false,
        Value::Bool(flag) => *flag == (target != 0),
        Value::Number(_) => loosely_equals_integer(value, target),
        Value::String(text) => match numeric_prefix(text) {
            (Some(number), true) => number.as_f64() == target as f64,
            _ => *text == target.to_string(),
        },
    }
}

/// PHP's `trim()` with its default characters: space, tab, newline,
/// carriage return, NUL and vertical tab.
pub(crate) fn php_trim(text: &str) -> &str {
    text.trim_matches([' ', '\t', '\n', '\r', '\0', '\x0b'])
}

/// Returns the PHP 7 type name used in warnings such as
/// "ksort() expects parameter 1 to be array, string given".
pub(crate) fn php_type_name(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(number) if number.as_i64().is_some() => "integer",
        Value::Number(_) => "float",
        Value::String(_) => "string",
        Value::Array(_) | Value::Object(_) => "array",
    }
}

/// Converts a scalar request value to text, or `""` for arrays.
pub(crate) fn text_of(value: Option<&Value>) -> String {
    value.and_then(php_string).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn params(method: Method, query: &str, content_type: &str, body: &str) -> Value {
        Value::Object(request_params(
            &method,
            Some(query),
            Some(content_type),
            body.as_bytes(),
        ))
    }

    #[test]
    fn post_body_wins_over_query() {
        let merged = params(
            Method::POST,
            "phone=1&name=query",
            "application/json",
            r#"{"name":"body"}"#,
        );
        assert_eq!(merged, json!({"phone": "1", "name": "body"}));
    }

    #[test]
    fn post_form_fills_params() {
        let merged = params(
            Method::POST,
            "",
            "application/x-www-form-urlencoded; charset=UTF-8",
            "name=%E5%BC%A0+%E4%B8%89&tags=a,b",
        );
        assert_eq!(merged, json!({"name": "张 三", "tags": "a,b"}));
    }

    #[test]
    fn raw_body_with_equals_is_urlencoded() {
        let merged = params(Method::POST, "", "text/plain", "a=1&b=2");
        assert_eq!(merged, json!({"a": "1", "b": "2"}));
    }

    #[test]
    fn raw_body_starting_with_equals_is_ignored() {
        let merged = params(Method::POST, "", "text/plain", "=1&b=2");
        assert_eq!(merged, json!({}));
    }

    #[test]
    fn invalid_json_gives_no_params() {
        let merged = params(Method::POST, "", "application/json", "{not json");
        assert_eq!(merged, json!({}));
    }

    #[test]
    fn json_scalar_becomes_index_zero() {
        let merged = params(Method::PUT, "", "application/json", "\"x\"");
        assert_eq!(merged, json!({"0": "x"}));
    }

    #[test]
    fn get_ignores_body() {
        let merged = params(Method::GET, "a=1", "application/json", r#"{"b":2}"#);
        assert_eq!(merged, json!({"a": "1"}));
    }

    #[test]
    fn rewrite_variable_is_removed_from_query() {
        let merged = params(Method::GET, "s=/v1/api&a=1", "", "");
        assert_eq!(merged, json!({"a": "1"}));
    }

    #[test]
    fn integer_keys_are_renumbered_on_merge() {
        let merged = params(Method::POST, "5=a", "text/plain", "7=b&x=c");
        assert_eq!(merged, json!({"0": "a", "1": "b", "x": "c"}));
    }

    #[test]
    fn form_names_replace_dots_and_spaces() {
        let parsed: Map<String, Value> = parse_str(b"  a.b c=1").into_iter().collect();
        assert_eq!(Value::Object(parsed), json!({"a_b_c": "1"}));
    }

    #[test]
    fn form_brackets_build_arrays() {
        let parsed: Map<String, Value> =
            parse_str(b"tags[]=a&tags[]=b&p[type]=1&p[data][k]=v&x[=1&y[a]z=2")
                .into_iter()
                .collect();
        assert_eq!(
            Value::Object(parsed),
            json!({
                "tags": ["a", "b"],
                "p": {"type": "1", "data": {"k": "v"}},
                "x_": "1",
                "y": {"a": "2"}
            })
        );
    }

    #[test]
    fn form_key_without_value_is_empty_string() {
        let parsed: Map<String, Value> = parse_str(b"a&&b=").into_iter().collect();
        assert_eq!(Value::Object(parsed), json!({"a": "", "b": ""}));
    }

    #[test]
    fn empty_follows_php() {
        let empty = [
            json!(null),
            json!(false),
            json!(0),
            json!(0.0),
            json!(""),
            json!("0"),
            json!([]),
            json!({}),
        ];
        for value in empty {
            assert!(is_empty(Some(&value)), "{value} should be empty");
        }
        let filled = [
            json!("0.0"),
            json!(" "),
            json!("a"),
            json!(1),
            json!(true),
            json!([0]),
        ];
        for value in filled {
            assert!(!is_empty(Some(&value)), "{value} should not be empty");
        }
        assert!(is_empty(None));
    }

    #[test]
    fn intval_follows_php7() {
        let cases = [
            (json!("1710000000abc"), 1710000000),
            (json!(" 42"), 42),
            (json!("abc"), 0),
            (json!("1e3"), 1000),
            (json!("-7.9"), -7),
            (json!("99999999999999999999"), i64::MAX),
            (json!(1710000000), 1710000000),
            (json!(17.9), 17),
            (json!(true), 1),
            (json!(["a"]), 1),
            (json!([]), 0),
            (json!(".5"), 0),
        ];
        for (value, expected) in cases {
            assert_eq!(intval(Some(&value)), expected, "intval({value})");
        }
    }

    #[test]
    fn loose_integer_comparison_uses_prefix() {
        assert!(loosely_equals_integer(&json!("1abc"), 1));
        assert!(loosely_equals_integer(&json!("2"), 2));
        assert!(!loosely_equals_integer(&json!("abc"), 1));
        assert!(!loosely_equals_integer(&json!([1]), 1));
    }

    #[test]
    fn loose_numeric_string_comparison_needs_whole_number() {
        assert!(loosely_equals_numeric_string(&json!("01"), 1));
        assert!(loosely_equals_numeric_string(&json!("1.0"), 1));
        assert!(loosely_equals_numeric_string(&json!(1), 1));
        assert!(loosely_equals_numeric_string(&json!(true), 1));
        assert!(!loosely_equals_numeric_string(&json!("1 "), 1));
        assert!(!loosely_equals_numeric_string(&json!("1abc"), 1));
        assert!(!loosely_equals_numeric_string(&json!(null), 1));
    }
}
