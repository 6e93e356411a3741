//! Parsing and validating `/connections` bodies and queries the way Nango's zod schemas do
//! (issues in Nango's order and words).

use serde_json::{Map, Value};

use crate::{
    api::{
        rules::{CONNECTION_ID, end_user, object_field, tags_record, valid_tag_key, webhook_url},
        validate::{self, Obj, StrRule, UNIQUE_KEY, issue, path_with},
    },
    error::{ApiError, Code, ValidationIssue},
    model::connection::{Credentials, ListFilter},
    service::connection::{ConnectionPatch, ImportConnection},
};

fn credentials(value: Option<&Value>, path: Vec<String>) -> (Option<Credentials>, Vec<ValidationIssue>) {
    let Some(Value::Object(map)) = value else {
        return (
            None,
            vec![issue(
                "invalid_type",
                format!("Invalid input: expected object, received {}", validate::js_type(value)),
                path,
            )],
        );
    };
    let mut o = Obj::new(value, path.clone());
    let _ = o.raw("type");
    let creds = match map.get("type").and_then(Value::as_str) {
        Some("API_KEY") => o
            .string("apiKey", &StrRule { pattern: None, min: Some(1), max: Some(1024) }, true)
            .map(|api_key| Credentials::ApiKey { api_key }),
        Some("BASIC") => {
            let rule = StrRule { pattern: None, min: None, max: Some(1024) };
            let username = o.string("username", &rule, true);
            let password = o.string("password", &rule, true);
            username.zip(password).map(|(username, password)| Credentials::Basic { username, password })
        }
        _ => return (None, vec![issue("invalid_union", "Invalid input", path_with(&path, "type"))]),
    };
    let mut issues = o.finish();
    if let Some(c) = &creds {
        issues.extend(crate::api::rules::credential_issues(c, &path));
    }
    (creds.filter(|_| issues.is_empty()), issues)
}

pub(super) fn parse_import(value: Option<&Value>) -> Result<ImportConnection, ApiError> {
    let mut o = Obj::new(value, vec![]);
    let provider_config_key = o.string("provider_config_key", &StrRule::default(), true);
    let connection_id = o.string("connection_id", &StrRule::default(), false);
    let metadata = object_field(&mut o, "metadata");
    let connection_config = object_field(&mut o, "connection_config");
    let webhook = o.string("webhook_url_override", &StrRule::default(), false);
    let (webhook_url_override, webhook_issues) = webhook_url(webhook, vec!["webhook_url_override".to_owned()]);
    o.extend(webhook_issues);
    let creds_value = o.raw("credentials");
    let (creds, creds_issues) = credentials(creds_value, vec!["credentials".to_owned()]);
    o.extend(creds_issues);
    let end_user_value = o.raw("end_user");
    let (end_user, end_user_issues) = end_user(end_user_value, vec!["end_user".to_owned()]);
    o.extend(end_user_issues);
    let tags_value = o.raw("tags");
    let (tags, tag_issues) = tags_record(tags_value, vec!["tags".to_owned()], false);
    o.extend(tag_issues);
    let issues = o.finish();
    match (provider_config_key, creds) {
        (Some(provider_config_key), Some(credentials)) if issues.is_empty() => Ok(ImportConnection {
            provider_config_key,
            connection_id,
            credentials,
            connection_config,
            metadata,
            webhook_url_override,
            end_user,
            tags,
        }),
        _ => Err(ApiError::issues(Code::InvalidBody, issues)),
    }
}

pub(super) fn parse_patch(value: Option<&Value>) -> Result<ConnectionPatch, ApiError> {
    let mut o = Obj::new(value, vec![]);
    let end_user_value = o.raw("end_user");
    let (end_user, end_user_issues) = end_user(end_user_value, vec!["end_user".to_owned()]);
    o.extend(end_user_issues);
    let tags_value = o.raw("tags");
    let (tags, tag_issues) = tags_record(tags_value, vec!["tags".to_owned()], false);
    o.extend(tag_issues);
    let webhook = o.string("webhook_url_override", &StrRule::default(), false);
    let (webhook_url_override, webhook_issues) = webhook_url(webhook, vec!["webhook_url_override".to_owned()]);
    o.extend(webhook_issues);
    validate::done(ConnectionPatch { end_user, tags, webhook_url_override }, o.finish(), Code::InvalidBody)
}

/// A validated metadata body: connection ids, integration key, metadata.
/// The connection ids, the integration key and the metadata (borrowed from the body: a large
/// metadata object is not copied).
pub(crate) type MetadataInput<'a> = (Vec<String>, String, &'a Map<String, Value>);

pub(crate) fn parse_metadata(value: Option<&Value>) -> Result<MetadataInput<'_>, ApiError> {
    let mut o = Obj::new(value, vec![]);
    let ids_path = vec!["connection_id".to_owned()];
    let ids = match o.raw("connection_id") {
        Some(Value::String(s)) if validate::check_str(s, &CONNECTION_ID, &ids_path).is_empty() => Some(vec![s.clone()]),
        Some(Value::Array(items))
            if !items.is_empty()
                && items.iter().all(|i| {
                    i.as_str().is_some_and(|s| validate::check_str(s, &CONNECTION_ID, &ids_path).is_empty())
                }) =>
        {
            Some(items.iter().filter_map(|i| i.as_str().map(str::to_owned)).collect())
        }
        _ => {
            o.extend(vec![issue("invalid_union", "Invalid input", ids_path)]);
            None
        }
    };
    let key = o.string("provider_config_key", &UNIQUE_KEY, true);
    let metadata = match o.raw("metadata") {
        Some(Value::Object(m)) => Some(m),
        other => {
            o.extend(vec![issue(
                "invalid_type",
                format!("Invalid input: expected record, received {}", validate::js_type(other)),
                vec!["metadata".to_owned()],
            )]);
            None
        }
    };
    let issues = o.finish();
    match (ids, key, metadata) {
        (Some(ids), Some(key), Some(metadata)) if issues.is_empty() => Ok((ids, key, metadata)),
        _ => Err(ApiError::issues(Code::InvalidBody, issues)),
    }
}

/// zod 4's `stringbool`.
fn stringbool(v: &str) -> Option<bool> {
    match v.to_ascii_lowercase().as_str() {
        "true" | "1" | "yes" | "on" | "y" | "enabled" => Some(true),
        "false" | "0" | "no" | "off" | "n" | "disabled" => Some(false),
        _ => None,
    }
}

/// The strict query of the single-connection routes: `provider_config_key` (required) plus
/// the read flags on GET.
pub(super) fn connection_query(raw: Option<&str>, allowed: &[&str]) -> Result<String, ApiError> {
    let pairs = validate::strict_query(raw, allowed, |pairs| {
        let mut issues = Vec::new();
        let key_path = vec!["provider_config_key".to_owned()];
        match pairs.iter().rev().find(|(k, _)| k == "provider_config_key") {
            None => issues.push(issue("invalid_type", "Invalid input: expected string, received undefined", key_path)),
            Some((_, v)) => issues.extend(validate::check_str(v, &UNIQUE_KEY, &key_path)),
        }
        for flag in ["refresh_token", "force_refresh", "refresh_github_app_jwt_token"] {
            if let Some((_, v)) = pairs.iter().rev().find(|(k, _)| k == flag)
                && stringbool(v).is_none()
            {
                issues.push(issue(
                    "invalid_format",
                    "Invalid string: must be a boolean-like string",
                    vec![flag.to_owned()],
                ));
            }
        }
        issues
    })?;
    Ok(pairs.into_iter().rev().find(|(k, _)| k == "provider_config_key").map(|(_, v)| v).unwrap_or_default())
}

pub(crate) fn list_filter(raw: Option<&str>) -> Result<ListFilter, ApiError> {
    let mut filter = ListFilter::default();
    let mut issues = Vec::new();
    let mut unknown = Vec::new();
    let text = |v: &str, name: &str, issues: &mut Vec<ValidationIssue>| {
        let found =
            validate::check_str(v, &StrRule { pattern: None, min: Some(1), max: Some(255) }, &[name.to_owned()]);
        let ok = found.is_empty();
        issues.extend(found);
        ok.then(|| v.to_owned())
    };
    let number = |v: &str, name: &str, min: u64, max: Option<u64>, issues: &mut Vec<ValidationIssue>| -> Option<u64> {
        let path = vec![name.to_owned()];
        match v.trim().parse::<f64>() {
            Ok(n) if n.fract() == 0.0 && n >= min as f64 && max.is_none_or(|m| n <= m as f64) => Some(n as u64),
            Ok(n) if n < min as f64 => {
                issues.push(issue("too_small", format!("Too small: expected number to be >={min}"), path));
                None
            }
            Ok(n) if n.fract() == 0.0 => {
                issues.push(issue("too_big", format!("Too big: expected number to be <={}", max.unwrap_or(0)), path));
                None
            }
            _ => {
                issues.push(issue("invalid_type", "Invalid input: expected number, received NaN", path));
                None
            }
        }
    };
    for (key, value) in url::form_urlencoded::parse(raw.unwrap_or_default().as_bytes()) {
        let (key, value) = (key.into_owned(), value.into_owned());
        if let Some(tag) = key.strip_prefix("tags[").and_then(|k| k.strip_suffix(']')) {
            if !valid_tag_key(tag) {
                issues.push(issue("invalid_key", "Invalid key in record", vec!["tags".to_owned(), tag.to_owned()]));
            } else {
                filter.tags.push((tag.to_lowercase(), value));
            }
            continue;
        }
        match key.as_str() {
            "connectionId" => filter.connection_id = text(&value, &key, &mut issues),
            "search" => filter.search = text(&value, &key, &mut issues),
            "endUserId" => filter.end_user_id = text(&value, &key, &mut issues),
            "endUserOrganizationId" => filter.end_user_organization_id = text(&value, &key, &mut issues),
            "integrationId" if !value.is_empty() => {
                filter.integration_keys =
                    Some(value.split(',').map(|k| k.trim().to_owned()).filter(|k| !k.is_empty()).collect());
            }
            "integrationId" => {
                issues.push(issue("too_small", "Too small: expected string to have >=1 characters", vec![key]))
            }
            "limit" => filter.limit = number(&value, "limit", 1, Some(2000), &mut issues),
            "page" => filter.page = number(&value, "page", 0, None, &mut issues).unwrap_or(0),
            _ => {
                let quoted = format!("\"{key}\"");
                if !unknown.contains(&quoted) {
                    unknown.push(quoted);
                }
            }
        }
    }
    if !unknown.is_empty() {
        let noun = if unknown.len() == 1 { "key" } else { "keys" };
        issues.push(issue("unrecognized_keys", format!("Unrecognized {noun}: {}", unknown.join(", ")), vec![]));
    }
    validate::done(filter, issues, Code::InvalidQueryParams)
}
