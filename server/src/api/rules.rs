//! Nango's validation rules for the fields several resources share (connection ids, tags,
//! end users, webhook URLs, free-form objects), with zod's issues. One place, so a rule or
//! message changes everywhere at once.

use serde_json::{Map, Value};

use super::validate::{self, Obj, StrRule, issue, path_with};
use crate::{
    error::ValidationIssue,
    model::connection::{EndUser, MAX_TAGS, TOO_MANY_TAGS},
};

/// `connectionIdSchema`.
pub const CONNECTION_ID: StrRule = StrRule {
    pattern: Some((
        |s| !s.is_empty() && s.chars().all(|c| c.is_ascii_alphanumeric() || ",.;:=+~[]|@${}\"'\\/_ -".contains(c)),
        "/^[a-zA-Z0-9,.;:=+~[\\]|@${}\"'\\\\/_ -]+$/",
    )),
    min: None,
    max: Some(255),
};

pub fn valid_tag_key(k: &str) -> bool {
    let mut chars = k.chars();
    k.len() <= 64
        && chars.next().is_some_and(|c| c.is_ascii_alphabetic())
        && chars.all(|c| c.is_ascii_alphanumeric() || "_-./".contains(c))
}

/// Nango's tag records: key rule, value 1..255 (or 0..255 for end-user tags), at most 10 keys,
/// no duplicates after lower-casing.
pub fn tags_record(
    value: Option<&Value>,
    path: Vec<String>,
    allow_empty: bool,
) -> (Option<Map<String, Value>>, Vec<ValidationIssue>) {
    let Some(value) = value else { return (None, Vec::new()) };
    let Value::Object(map) = value else {
        return (
            None,
            vec![issue(
                "invalid_type",
                format!("Invalid input: expected record, received {}", validate::js_type(Some(value))),
                path,
            )],
        );
    };
    let mut issues = Vec::new();
    let mut seen: Vec<String> = Vec::new();
    for (k, v) in map {
        if !valid_tag_key(k) {
            issues.push(issue("invalid_key", "Invalid key in record", path_with(&path, k)));
            continue;
        }
        match v {
            Value::String(s) => {
                let rule = StrRule { pattern: None, min: (!allow_empty).then_some(1), max: Some(255) };
                issues.extend(validate::check_str(s, &rule, &path_with(&path, k)));
            }
            other => issues.push(issue(
                "invalid_type",
                format!("Invalid input: expected string, received {}", validate::js_type(Some(other))),
                path_with(&path, k),
            )),
        }
        let lower = k.to_lowercase();
        if seen.contains(&lower) {
            issues.push(issue(
                "custom",
                format!("Duplicate tag key after case normalization: \"{lower}\""),
                path.clone(),
            ));
        }
        seen.push(lower);
    }
    if map.len() > MAX_TAGS {
        issues.push(issue("custom", TOO_MANY_TAGS, path.clone()));
    }
    (issues.is_empty().then(|| map.clone()), issues)
}

pub fn valid_email(s: &str) -> bool {
    let Some((local, domain)) = s.split_once('@') else { return false };
    s.len() >= 5
        && !local.is_empty()
        && !domain.contains('@')
        && domain.contains('.')
        && !domain.starts_with('.')
        && !domain.ends_with('.')
        && !s.chars().any(char::is_whitespace)
}

pub fn end_user(value: Option<&Value>, path: Vec<String>) -> (Option<EndUser>, Vec<ValidationIssue>) {
    let Some(value) = value else { return (None, Vec::new()) };
    let mut o = Obj::new(Some(value), path.clone());
    let id = o.string("id", &StrRule { pattern: None, min: Some(1), max: Some(255) }, true);
    let email = o.string("email", &StrRule::default(), false);
    if let Some(e) = &email
        && !valid_email(e)
    {
        o.extend(vec![issue("invalid_format", "Invalid email address", path_with(&path, "email"))]);
    }
    let display_name = o.string("display_name", &StrRule { pattern: None, min: None, max: Some(255) }, false);
    let (tags, tag_issues) = tags_record(o.raw("tags"), path_with(&path, "tags"), true);
    o.extend(tag_issues);
    let issues = o.finish();
    let user = id.filter(|_| issues.is_empty()).map(|id| EndUser { id, email, display_name, tags, organization: None });
    (user, issues)
}

pub fn webhook_url(value: Option<String>, path: Vec<String>) -> (Option<String>, Vec<ValidationIssue>) {
    let Some(url) = value else { return (None, Vec::new()) };
    if url.is_empty() {
        return (Some(url), Vec::new());
    }
    match url::Url::parse(&url) {
        Err(_) => (None, vec![issue("invalid_format", "Invalid URL", path)]),
        Ok(parsed) => {
            let host = parsed.host_str().unwrap_or_default().to_ascii_lowercase();
            if host == "nango.dev" || host.ends_with(".nango.dev") {
                (None, vec![issue("custom", "Webhook URLs cannot point to Nango's domain (nango.dev).", path)])
            } else {
                (Some(url), Vec::new())
            }
        }
    }
}

pub fn object_field(o: &mut Obj<'_>, name: &'static str) -> Option<Map<String, Value>> {
    let path = path_with(o.path(), name);
    match o.raw(name) {
        None => None,
        Some(Value::Object(m)) => Some(m.clone()),
        Some(other) => {
            o.extend(vec![issue(
                "invalid_type",
                format!("Invalid input: expected record, received {}", validate::js_type(Some(other))),
                path,
            )]);
            None
        }
    }
}

/// Control characters (CR, LF, NUL, …) in a credential, one issue per field at `path` +
/// field name: a key with them would break or smuggle headers of every proxied call, so it is
/// refused when it is handed over, naming the credential.
pub fn credential_issues(credentials: &crate::model::connection::Credentials, path: &[String]) -> Vec<ValidationIssue> {
    use crate::model::connection::Credentials;
    let fields: Vec<(&str, &str)> = match credentials {
        Credentials::ApiKey { api_key } => vec![("apiKey", api_key)],
        Credentials::Basic { username, password } => vec![("username", username), ("password", password)],
    };
    fields
        .into_iter()
        .filter(|(_, value)| value.chars().any(char::is_control))
        .map(|(field, _)| {
            issue(
                "invalid_format",
                format!("The credential's {field} must not contain control characters (CR, LF, NUL, …)"),
                path_with(path, field),
            )
        })
        .collect()
}
