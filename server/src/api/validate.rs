//! Request validation with Nango's (zod 4's) issue codes, messages and paths, so clients that
//! parse `error.errors[]` see what Nango would send. Wire shape only: business rules live in
//! `service`.

use serde_json::{Map, Value};

use crate::error::{ApiError, Code, ValidationIssue};

/// A test of a whole string (the Rust side of a JavaScript regex).
pub type CharTest = fn(&str) -> bool;

/// Rules for one string field, checked in this order: pattern, min, max (zod's check order for
/// the schemas Nango uses).
#[derive(Debug, Clone, Copy, Default)]
pub struct StrRule {
    /// A character test and its JavaScript regex display, e.g. `/^[a-zA-Z0-9_-]+$/`.
    pub pattern: Option<(CharTest, &'static str)>,
    pub min: Option<usize>,
    pub max: Option<usize>,
}

/// `providerSchema` / `providerNameSchema`.
pub const PROVIDER: StrRule = StrRule {
    pattern: Some((
        |s| !s.is_empty() && s.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-'),
        "/^[a-zA-Z0-9_-]+$/",
    )),
    min: None,
    max: Some(255),
};

/// `providerConfigKeySchema` (integration `unique_key`, `uniqueKey`, providers `search`).
pub const UNIQUE_KEY: StrRule = StrRule {
    pattern: Some((
        |s| !s.is_empty() && s.bytes().all(|b| b.is_ascii_alphanumeric() || b"~:.@ _-".contains(&b)),
        "/^[a-zA-Z0-9~:.@ _-]+$/",
    )),
    min: None,
    max: Some(255),
};

/// `integrationDisplayNameSchema`.
pub const DISPLAY_NAME: StrRule = StrRule { pattern: None, min: Some(1), max: Some(255) };

/// A required non-empty string of at most 255 characters.
const NAME_255: StrRule = StrRule { pattern: None, min: Some(1), max: Some(255) };
/// A required non-empty string.
const NON_EMPTY: StrRule = StrRule { pattern: None, min: Some(1), max: None };

/// One issue at `path`.
pub fn issue(code: &str, message: impl Into<String>, path: impl Into<Vec<String>>) -> ValidationIssue {
    ValidationIssue { code: code.to_owned(), message: message.into(), path: path.into() }
}

/// `path` extended with `key`.
pub fn path_with(path: &[String], key: &str) -> Vec<String> {
    let mut p = path.to_vec();
    p.push(key.to_owned());
    p
}

/// JavaScript's name for the type of a JSON value (zod's "received ...").
pub fn js_type(value: Option<&Value>) -> &'static str {
    match value {
        None => "undefined",
        Some(Value::Null) => "null",
        Some(Value::Bool(_)) => "boolean",
        Some(Value::Number(_)) => "number",
        Some(Value::String(_)) => "string",
        Some(Value::Array(_)) => "array",
        Some(Value::Object(_)) => "object",
    }
}

fn invalid_type(expected: &str, value: Option<&Value>, path: &[String]) -> ValidationIssue {
    issue("invalid_type", format!("Invalid input: expected {expected}, received {}", js_type(value)), path)
}

/// Checks a string against a rule, returning every failed check (zod reports them all).
pub fn check_str(value: &str, rule: &StrRule, path: &[String]) -> Vec<ValidationIssue> {
    let mut out = Vec::new();
    // zod measures JavaScript string length: UTF-16 code units.
    let len = value.encode_utf16().count();
    if let Some((test, display)) = rule.pattern
        && !test(value)
    {
        out.push(issue("invalid_format", format!("Invalid string: must match pattern {display}"), path));
    }
    if let Some(min) = rule.min
        && len < min
    {
        out.push(issue("too_small", format!("Too small: expected string to have >={min} characters"), path));
    }
    if let Some(max) = rule.max
        && len > max
    {
        out.push(issue("too_big", format!("Too big: expected string to have <={max} characters"), path));
    }
    out
}

/// A strict JSON object being validated: fields are read in schema order, unknown keys are
/// reported last, as zod's `.strict()` does.
pub struct Obj<'v> {
    map: Option<&'v Map<String, Value>>,
    path: Vec<String>,
    known: Vec<&'static str>,
    issues: Vec<ValidationIssue>,
}

impl<'v> Obj<'v> {
    /// Starts validating `value` (the whole body when `path` is empty).
    pub fn new(value: Option<&'v Value>, path: Vec<String>) -> Self {
        let (map, issues) = match value {
            Some(Value::Object(map)) => (Some(map), Vec::new()),
            other => (None, vec![invalid_type("object", other, &path)]),
        };
        Self { map, path, known: Vec::new(), issues }
    }

    fn get(&mut self, name: &'static str) -> Option<&'v Value> {
        self.known.push(name);
        self.map.and_then(|m| m.get(name))
    }

    /// A string field.
    pub fn string(&mut self, name: &'static str, rule: &StrRule, required: bool) -> Option<String> {
        self.map?;
        let path = path_with(self.path.as_slice(), name);
        match self.get(name) {
            None if !required => None,
            Some(Value::String(s)) => {
                let found = check_str(s, rule, &path);
                let ok = found.is_empty();
                self.issues.extend(found);
                ok.then(|| s.clone())
            }
            other => {
                self.issues.push(invalid_type("string", other, &path));
                None
            }
        }
    }

    /// An optional boolean field (strings such as "true" are refused).
    pub fn boolean(&mut self, name: &'static str) -> Option<bool> {
        self.map?;
        let path = path_with(self.path.as_slice(), name);
        match self.get(name) {
            None => None,
            Some(Value::Bool(b)) => Some(*b),
            other => {
                self.issues.push(invalid_type("boolean", other, &path));
                None
            }
        }
    }

    /// An optional record of string to string, each value at most `max` characters.
    pub fn string_record(&mut self, name: &'static str, max: Option<usize>) -> Vec<(String, String)> {
        if self.map.is_none() {
            return Vec::new();
        }
        let path = path_with(self.path.as_slice(), name);
        match self.get(name) {
            None => Vec::new(),
            Some(Value::Object(entries)) => {
                let mut out = Vec::with_capacity(entries.len());
                for (key, value) in entries {
                    let value_path = path_with(&path, key);
                    match value {
                        Value::String(s) => {
                            let found = check_str(s, &StrRule { max, ..StrRule::default() }, &value_path);
                            if found.is_empty() {
                                out.push((key.clone(), s.clone()));
                            }
                            self.issues.extend(found);
                        }
                        other => self.issues.push(invalid_type("string", Some(other), &value_path)),
                    }
                }
                out
            }
            other => {
                self.issues.push(invalid_type("record", other, &path));
                Vec::new()
            }
        }
    }

    /// The raw value of a field validated by the caller (e.g. a union); marks it known.
    pub fn raw(&mut self, name: &'static str) -> Option<&'v Value> {
        self.map?;
        self.get(name)
    }

    /// Adds issues found by the caller for a nested value.
    pub fn extend(&mut self, issues: Vec<ValidationIssue>) {
        self.issues.extend(issues);
    }

    /// The path of this object.
    pub fn path(&self) -> &[String] {
        &self.path
    }

    /// Ends validation of a non-strict object (zod's default): unknown keys are dropped, not
    /// reported.
    pub fn finish_lenient(self) -> Vec<ValidationIssue> {
        self.issues
    }

    /// Ends validation: reports unknown keys and returns every issue found.
    pub fn finish(mut self) -> Vec<ValidationIssue> {
        if let Some(map) = self.map {
            let unknown: Vec<String> =
                map.keys().filter(|k| !self.known.contains(&k.as_str())).map(|k| format!("\"{k}\"")).collect();
            if !unknown.is_empty() {
                let noun = if unknown.len() == 1 { "key" } else { "keys" };
                self.issues.push(issue(
                    "unrecognized_keys",
                    format!("Unrecognized {noun}: {}", unknown.join(", ")),
                    self.path.as_slice(),
                ));
            }
        }
        self.issues
    }
}

/// Turns collected issues into the result of a validation step.
pub fn done<T>(value: T, issues: Vec<ValidationIssue>, code: Code) -> Result<T, ApiError> {
    if issues.is_empty() { Ok(value) } else { Err(ApiError::issues(code, issues)) }
}

/// Developer-app credentials as submitted (Nango's `integrationCredentialsSchema`).
pub fn credentials(
    value: &Value,
    path: &[String],
) -> (Option<crate::model::integration::AppCredentials>, Vec<ValidationIssue>) {
    use crate::model::integration::AppCredentials;
    let Value::Object(map) = value else {
        return (None, vec![invalid_type("object", Some(value), path)]);
    };
    let kind = map.get("type").and_then(Value::as_str).unwrap_or_default().to_owned();
    let mut obj = Obj::new(Some(value), path.to_vec());
    let _ = obj.raw("type");
    let mut creds = AppCredentials { kind: kind.clone(), ..Default::default() };
    match kind.as_str() {
        "OAUTH1" | "OAUTH2" | "TBA" => {
            creds.client_id = obj.string("client_id", &NAME_255, true);
            creds.client_secret = obj.string("client_secret", &NON_EMPTY, true);
            if let Some(scopes) = obj.raw("scopes") {
                let scopes_path = path_with(path, "scopes");
                match scopes {
                    Value::String(s) if s.is_empty() || valid_scopes(s) => creds.scopes = Some(s.clone()),
                    _ => obj.extend(vec![issue("invalid_union", "Invalid input", scopes_path.as_slice())]),
                }
            }
            creds.webhook_secret =
                obj.string("webhook_secret", &StrRule { max: Some(255), ..StrRule::default() }, false);
        }
        "APP" | "CUSTOM" => {
            if kind == "CUSTOM" {
                creds.client_id = obj.string("client_id", &NAME_255, true);
                creds.client_secret = obj.string("client_secret", &NON_EMPTY, true);
            }
            creds.app_id = obj.string("app_id", &NAME_255, true);
            creds.app_link = obj.string("app_link", &NON_EMPTY, true);
            let key_path = path_with(path, "private_key");
            match obj.raw("private_key") {
                Some(Value::String(key)) => {
                    let mut found = Vec::new();
                    const BEGIN: &str = "-----BEGIN RSA PRIVATE KEY----";
                    const END: &str = "-----END RSA PRIVATE KEY-----";
                    if !key.starts_with(BEGIN) {
                        found.push(issue(
                            "invalid_format",
                            format!("Invalid string: must start with \"{BEGIN}\""),
                            key_path.as_slice(),
                        ));
                    }
                    if !key.ends_with(END) {
                        found.push(issue(
                            "invalid_format",
                            format!("Invalid string: must end with \"{END}\""),
                            key_path.as_slice(),
                        ));
                    }
                    if found.is_empty() {
                        creds.private_key = Some(key.clone());
                    }
                    obj.extend(found);
                }
                other => obj.extend(vec![invalid_type("string", other, &key_path)]),
            }
        }
        _ => {
            return (None, vec![issue("invalid_union", "invalid credentials object", path_with(path, "type"))]);
        }
    }
    let issues = obj.finish();
    (issues.is_empty().then_some(creds), issues)
}

fn valid_scopes(s: &str) -> bool {
    s.split(',')
        .all(|scope| !scope.is_empty() && scope.bytes().all(|b| b.is_ascii_alphanumeric() || b":/_.*-".contains(&b)))
}

/// The query string as Nango's `qs` parser sees it: `(name, value)` pairs, with `name[]` and
/// `name[0]` folded into `name`.
pub fn query_pairs(raw: Option<&str>) -> Vec<(String, String)> {
    url::form_urlencoded::parse(raw.unwrap_or_default().as_bytes())
        .map(|(k, v)| {
            let key = match k.find('[') {
                Some(i) if k.ends_with(']') && i > 0 => k[..i].to_owned(),
                _ => k.into_owned(),
            };
            (key, v.into_owned())
        })
        .collect()
}

/// Checks a strict query: every key must be in `allowed`; returns the pairs.
/// Field issues found by `check` come first, unknown keys last (zod's order).
pub fn strict_query(
    raw: Option<&str>,
    allowed: &[&str],
    check: impl FnOnce(&[(String, String)]) -> Vec<ValidationIssue>,
) -> Result<Vec<(String, String)>, ApiError> {
    let pairs = query_pairs(raw);
    let mut issues = check(&pairs);
    issues.extend(unrecognized_keys(&pairs, allowed));
    done(pairs, issues, Code::InvalidQueryParams)
}

/// zod's `unrecognized_keys` issue for the query keys not in `allowed`, if any.
pub fn unrecognized_keys(pairs: &[(String, String)], allowed: &[&str]) -> Option<ValidationIssue> {
    let mut unknown: Vec<String> = Vec::new();
    for (k, _) in pairs {
        let quoted = format!("\"{k}\"");
        if !allowed.contains(&k.as_str()) && !unknown.contains(&quoted) {
            unknown.push(quoted);
        }
    }
    if unknown.is_empty() {
        return None;
    }
    let noun = if unknown.len() == 1 { "key" } else { "keys" };
    Some(issue("unrecognized_keys", format!("Unrecognized {noun}: {}", unknown.join(", ")), &[]))
}

/// Checks a query that must be empty.
pub fn empty_query(raw: Option<&str>) -> Result<(), ApiError> {
    strict_query(raw, &[], |_| Vec::new()).map(|_| ())
}

/// Checks one path parameter.
pub fn path_param(name: &str, value: &str, rule: &StrRule) -> Result<(), ApiError> {
    done((), check_str(value, rule, &[name.to_owned()]), Code::InvalidUriParams)
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn codes(issues: &[ValidationIssue]) -> Vec<(&str, &str, Vec<&str>)> {
        issues
            .iter()
            .map(|i| (i.code.as_str(), i.message.as_str(), i.path.iter().map(String::as_str).collect()))
            .collect()
    }

    #[test]
    fn strict_object_reports_fields_then_unknown_keys() {
        let body = json!({"unique_key": format!("{}é", "a".repeat(300)), "display_name": "", "forward_webhooks": "true", "extra": 1, "other": 2});
        let mut o = Obj::new(Some(&body), vec![]);
        o.string("provider", &PROVIDER, true);
        o.string("unique_key", &UNIQUE_KEY, true);
        o.string("display_name", &DISPLAY_NAME, false);
        o.boolean("forward_webhooks");
        let issues = o.finish();
        assert_eq!(
            codes(&issues),
            vec![
                ("invalid_type", "Invalid input: expected string, received undefined", vec!["provider"]),
                ("invalid_format", "Invalid string: must match pattern /^[a-zA-Z0-9~:.@ _-]+$/", vec!["unique_key"]),
                ("too_big", "Too big: expected string to have <=255 characters", vec!["unique_key"]),
                ("too_small", "Too small: expected string to have >=1 characters", vec!["display_name"]),
                ("invalid_type", "Invalid input: expected boolean, received string", vec!["forward_webhooks"]),
                ("unrecognized_keys", "Unrecognized keys: \"extra\", \"other\"", vec![]),
            ]
        );
    }

    #[test]
    fn non_object_bodies_give_one_issue() {
        for (body, received) in [(None, "undefined"), (Some(json!([])), "array"), (Some(json!("x")), "string")] {
            let mut o = Obj::new(body.as_ref(), vec![]);
            o.string("provider", &PROVIDER, true);
            let issues = o.finish();
            assert_eq!(
                codes(&issues),
                vec![("invalid_type", &*format!("Invalid input: expected object, received {received}"), vec![])]
            );
        }
    }

    #[test]
    fn credentials_union() {
        let (_, issues) = credentials(&json!({"type": "API_KEY"}), &["credentials".to_owned()]);
        assert_eq!(codes(&issues), vec![("invalid_union", "invalid credentials object", vec!["credentials", "type"])]);
        let (_, issues) = credentials(
            &json!({"type": "OAUTH2", "client_id": "", "client_secret": "s", "scopes": "a b", "webhook_secret": null, "foo": 1}),
            &["credentials".to_owned()],
        );
        assert_eq!(
            codes(&issues),
            vec![
                ("too_small", "Too small: expected string to have >=1 characters", vec!["credentials", "client_id"]),
                ("invalid_union", "Invalid input", vec!["credentials", "scopes"]),
                (
                    "invalid_type",
                    "Invalid input: expected string, received null",
                    vec!["credentials", "webhook_secret"]
                ),
                ("unrecognized_keys", "Unrecognized key: \"foo\"", vec!["credentials"]),
            ]
        );
        let (creds, issues) =
            credentials(&json!({"type": "OAUTH2", "client_id": "id", "client_secret": "s", "scopes": "a,b:c"}), &[]);
        assert!(issues.is_empty());
        assert_eq!(creds.unwrap().scopes.as_deref(), Some("a,b:c"));
    }

    #[test]
    fn query_parsing_follows_qs() {
        assert_eq!(
            query_pairs(Some("include[]=a&include=b&x=1")),
            vec![("include".into(), "a".into()), ("include".into(), "b".into()), ("x".into(), "1".into())]
        );
        let err = strict_query(Some("foo=bar"), &[], |_| vec![]).unwrap_err();
        let issues = err.envelope().error.errors.clone().unwrap();
        assert_eq!(codes(&issues), vec![("unrecognized_keys", "Unrecognized key: \"foo\"", vec![])]);
        assert_eq!(err.envelope().error.code, "invalid_query_params");
    }
}
