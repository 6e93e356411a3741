//! `integration_config` resolution against a provider's declared schema, exactly as Nango
//! resolves it: unknown keys, visibility, defaults on create, required fields, enum, pattern
//! (ECMAScript semantics) and `uri` checks, in schema order.

use std::collections::HashMap;

use super::provider::ConfigField;

/// Whether the submission creates an integration or patches one with stored values.
#[derive(Debug, Clone, Copy)]
pub enum Mode<'a> {
    Create,
    Patch { stored: &'a HashMap<String, String> },
}

/// Resolves `submitted` against `schema`. On success returns the values to merge into the
/// stored configuration (in schema order); on failure the field messages, in order.
pub fn resolve(
    schema: &[ConfigField],
    submitted: &[(String, String)],
    mode: Mode<'_>,
) -> Result<Vec<(String, String)>, Vec<String>> {
    let mut errors = Vec::new();
    for (key, _) in submitted {
        if !schema.iter().any(|f| &f.name == key) {
            errors.push(format!("Unknown field {key}"));
        }
    }
    let submitted_value = |name: &str| submitted.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str());
    let effective = |name: &str| -> Option<String> {
        submitted_value(name).map(str::to_owned).or_else(|| match mode {
            Mode::Patch { stored } => stored.get(name).cloned(),
            Mode::Create => None,
        })
    };

    let mut resolved = Vec::new();
    for field in schema {
        if !is_visible(schema, field, &effective, 0) {
            continue; // hidden fields are neither required nor validated; values are dropped
        }
        let submitted = submitted_value(&field.name);
        let is_patch = matches!(mode, Mode::Patch { .. });
        if is_patch && submitted.is_none() {
            continue; // keep the stored value
        }
        let mut value = submitted.unwrap_or_default().to_owned();
        if !is_patch
            && value.is_empty()
            && let Some(default) = &field.default_value
        {
            value.clone_from(default);
        }
        if value.is_empty() {
            if !field.optional {
                errors.push(format!("{} is required", field.title));
            } else if is_patch {
                resolved.push((field.name.clone(), String::new())); // explicit clear
            }
            continue;
        }
        if !field.enum_values.is_empty() && !field.enum_values.contains(&value) {
            errors.push(format!("{} must be one of: {}", field.title, field.enum_values.join(", ")));
            continue;
        }
        if let Some(pattern) = &field.pattern
            && pattern.find(&value).is_none()
        {
            errors.push(format!("{} has an invalid format", field.title));
            continue;
        }
        if field.format_uri {
            match url::Url::parse(&value) {
                Err(_) => {
                    errors.push(format!("{} must be a valid URL", field.title));
                    continue;
                }
                Ok(url) if !matches!(url.scheme(), "http" | "https") => {
                    errors.push(format!("{} must be an http(s) URL", field.title));
                    continue;
                }
                Ok(_) => {}
            }
        }
        resolved.push((field.name.clone(), value));
    }
    if errors.is_empty() { Ok(resolved) } else { Err(errors) }
}

fn is_visible(
    schema: &[ConfigField],
    field: &ConfigField,
    effective: &dyn Fn(&str) -> Option<String>,
    depth: usize,
) -> bool {
    let Some((controller, equals)) = &field.visible_when else {
        return true;
    };
    // A cycle in visible_when would recurse forever; a schema that deep is broken anyway.
    if depth > schema.len() {
        return false;
    }
    let controller_visible =
        schema.iter().find(|f| &f.name == controller).is_none_or(|c| is_visible(schema, c, effective, depth + 1));
    controller_visible && effective(controller).as_deref() == Some(equals.as_str())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::service::provider::Catalog;

    fn generic() -> Catalog {
        Catalog::load(None).unwrap()
    }

    fn pairs(items: &[(&str, &str)]) -> Vec<(String, String)> {
        items.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect()
    }

    fn schema(c: &Catalog) -> &[ConfigField] {
        c.get("private-api-generic").unwrap().integration_config.as_deref().unwrap()
    }

    #[test]
    fn create_applies_defaults() {
        let c = generic();
        let out = resolve(
            schema(&c),
            &pairs(&[("keyName", "X-Api-Key"), ("baseUrl", "https://api.example.com")]),
            Mode::Create,
        )
        .unwrap();
        assert_eq!(
            out,
            pairs(&[
                ("keyPlacement", "header"),
                ("keyName", "X-Api-Key"),
                ("valueTemplate", "${apiKey}"),
                ("baseUrl", "https://api.example.com"),
                ("keyLabel", "API Key"),
            ])
        );
    }

    #[test]
    fn create_reports_every_problem_in_schema_order() {
        let c = generic();
        let err = resolve(
            schema(&c),
            &pairs(&[("baseUrl", "ftp://x"), ("valueTemplate", "nokey"), ("bogus", "1")]),
            Mode::Create,
        )
        .unwrap_err();
        assert_eq!(
            err.join(", "),
            "Unknown field bogus, Key name is required, Value template has an invalid format, Base URL has an invalid format"
        );
        let err = resolve(
            schema(&c),
            &pairs(&[("keyName", "k"), ("baseUrl", "https://a"), ("keyPlacement", "body")]),
            Mode::Create,
        )
        .unwrap_err();
        assert_eq!(err, ["Key placement must be one of: header, query"]);
        let err = resolve(schema(&c), &pairs(&[("keyName", "k"), ("baseUrl", "http://")]), Mode::Create).unwrap_err();
        assert_eq!(err, ["Base URL must be a valid URL"]);
    }

    #[test]
    fn patch_validates_only_submitted_fields_and_clears_optionals() {
        let c = generic();
        let stored: HashMap<String, String> =
            pairs(&[("keyName", "k"), ("baseUrl", "https://a")]).into_iter().collect();
        let mode = Mode::Patch { stored: &stored };
        assert_eq!(resolve(schema(&c), &pairs(&[("keyName", "X")]), mode).unwrap(), pairs(&[("keyName", "X")]));
        assert_eq!(resolve(schema(&c), &pairs(&[("keyName", "")]), mode).unwrap_err(), ["Key name is required"]);
        assert_eq!(resolve(schema(&c), &pairs(&[("keyLabel", "")]), mode).unwrap(), pairs(&[("keyLabel", "")]));
        assert_eq!(
            resolve(schema(&c), &pairs(&[("keyPlacement", "body")]), mode).unwrap_err(),
            ["Key placement must be one of: header, query"]
        );
    }

    #[test]
    fn patterns_use_ecmascript_semantics_and_visibility_hides_fields() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("p.yaml");
        std::fs::write(
            &path,
            "x:\n  display_name: X\n  auth_mode: TWO_STEP\n  integration_config:\n    region:\n      type: string\n      title: Region\n      enum: [us, eu]\n    host:\n      type: string\n      title: Host\n      pattern: '^(?!.*\\.evil\\.com$)[a-z.]+$'\n      visible_when: { field: region, equals: eu }\n",
        )
        .unwrap();
        let c = Catalog::load(Some(&path)).unwrap();
        let s = c.get("x").unwrap().integration_config.as_deref().unwrap();
        // Host is hidden unless region is eu: not required, and a submitted value is dropped.
        assert_eq!(
            resolve(s, &pairs(&[("region", "us"), ("host", "a.evil.com")]), Mode::Create).unwrap(),
            pairs(&[("region", "us")])
        );
        // Visible: the negative lookahead (not supported by the `regex` crate) applies.
        assert_eq!(
            resolve(s, &pairs(&[("region", "eu"), ("host", "a.evil.com")]), Mode::Create).unwrap_err(),
            ["Host has an invalid format"]
        );
        assert_eq!(resolve(s, &pairs(&[("region", "eu")]), Mode::Create).unwrap_err(), ["Host is required"]);
        assert_eq!(
            resolve(s, &pairs(&[("region", "xx")]), Mode::Create).unwrap_err(),
            ["Region must be one of: us, eu"]
        );
    }
}
