//! Data runtime validation: checks a sync record against the JSON schema of its model.
//!
//! The `nango` CLI turns each model's zod v4 schema into a draft-07 JSON schema (zod's
//! `toJSONSchema`) and deploys them as `models_json_schema = {"definitions": {"Item": {...}}}`.
//! [`check`] validates one record against `definitions[model]` directly from the [`Value`]s (nothing
//! is compiled ahead of time) and returns up to [`MAX_VIOLATIONS`] reasons it does not match.
//!
//! # What is checked
//!
//! Every assertion keyword zod v4 emits for draft-07, plus a few cheap draft-07 extras:
//! `type` (a name or a list; `integer` is a number with no fractional part), `enum`, `const`
//! (deep equality, numbers compared by value so `1 == 1.0`), `properties`, `required`,
//! `additionalProperties`, `patternProperties`, `propertyNames`, `minProperties`/`maxProperties`,
//! `dependencies`, `items` (schema or tuple) with `additionalItems`, `contains`,
//! `minItems`/`maxItems`/`uniqueItems`, `minLength`/`maxLength` (in Unicode code points), `pattern`
//! (ECMAScript syntax through `regress`), `format`, `minimum`/`maximum`/`exclusiveMinimum`/
//! `exclusiveMaximum` (draft-07 numbers, and the draft-04 boolean form), `multipleOf` (tolerant of
//! floating point), `allOf`/`anyOf`/`oneOf`/`not`, `if`/`then`/`else`, boolean schemas and local
//! `$ref`s. Keywords next to a `$ref` are applied too (as ajv does), not ignored.
//!
//! # What is not checked, and leniencies
//!
//! - Annotations (`$schema`, `$id`, `title`, `description`, `default`, `examples`, …) and unknown
//!   keywords are ignored, as are unknown `type` names and unknown `format`s.
//! - A model missing from `definitions` has nothing to check: [`check`] returns no violations.
//! - Only local `$ref`s are followed: `#` (the model itself), `#/definitions/<Name>…` (the deployed
//!   definitions, falling back to the model's own `definitions`) and other `#/…` pointers into the
//!   model. A `$ref` that cannot be resolved is a schema defect, not a record defect: it passes.
//! - Likewise a `pattern` that does not compile passes (in `patternProperties` such a pattern covers
//!   every key, so `additionalProperties: false` does not reject them), and compiled patterns are
//!   cached per thread.
//! - `format`s are checked shape-wise: `date`, `time`, `date-time` (RFC 3339, but seconds and the
//!   offset may be left out, as zod's `z.iso.*` allow; the exact form zod wants is in the `pattern` it
//!   emits next to the `format`), `email` (a sane `local@domain.tld` check), `uuid` (8-4-4-4-12 hex),
//!   `uri` (`scheme:` then something), `ipv4`, `ipv6` (the `std::net` parsers).
//! - `anyOf`/`oneOf` failures are reported once, at the value, without the branches' details, except
//!   the nullable shape zod emits (`anyOf: [X, {"type": "null"}]`): a non-null value is checked
//!   against `X` directly so its own violations show up. `allOf`, `$ref` and `if`/`then`/`else`
//!   report the inner violations.
//!
//! # Limits
//!
//! Records come from untrusted code, so the walk is bounded and never panics: data nested deeper
//! than [`MAX_DEPTH`] levels yields one `depth` violation; more than [`MAX_REF_HOPS`] `$ref`s followed
//! without descending into the data (a `$ref` cycle) yields a `$ref` violation; and the total work is
//! bounded by a budget proportional to the size of the record (exceeded only by pathological
//! schema/record pairs, e.g. deeply nested unions), which yields one `budget` violation. Regular
//! expressions are matched by `regress`, a backtracking engine without a step limit: a pathological
//! `pattern` in the schema can still be slow on long strings.

use std::cell::RefCell;
use std::cmp::Ordering;
use std::collections::HashMap;
use std::net::{Ipv4Addr, Ipv6Addr};
use std::rc::Rc;

use serde_json::{Map, Number, Value};

/// The most violations [`check`] reports for one record.
pub const MAX_VIOLATIONS: usize = 20;

/// How deep the data (objects and arrays) may nest before the record is rejected with `depth`.
pub const MAX_DEPTH: usize = 64;

/// How many `$ref`s may be followed in a row without descending into the data.
pub const MAX_REF_HOPS: usize = 32;

/// How deep the walk through the schema may nest, all kinds of subschemas counted.
const MAX_FRAMES: usize = 512;

/// Work budget: a fixed allowance plus this much per value in the record.
const BASE_BUDGET: usize = 200_000;
const BUDGET_PER_NODE: usize = 64;

/// How many compiled patterns each thread keeps.
const REGEX_CACHE_SIZE: usize = 256;

/// How deep `const`/`enum`/`uniqueItems` comparisons go before giving up.
const MAX_COMPARE_DEPTH: usize = 256;

/// One reason a record does not match its model's schema.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Violation {
    /// Where in the record, as a JSON pointer ("" for the record itself, "/address/zip", "/tags/0").
    pub path: String,
    /// The schema keyword that failed: "type", "required", "additionalProperties", "enum", "const", "format", "pattern",
    /// "minLength", "maxLength", "minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum", "multipleOf",
    /// "minItems", "maxItems", "uniqueItems", "anyOf", "oneOf", "not", "$ref", … plus "false" (a `false` schema),
    /// "depth" (nested too deep) and "budget" (too much work).
    pub rule: &'static str,
    /// A short human sentence, e.g. "expected string, got number", "missing required property `name`".
    pub message: String,
}

/// Checks `record` against `definitions[model]`, resolving `$ref`s of the form "#/definitions/<Name>" (and "#" = the
/// model itself) inside `definitions`.
///
/// `definitions` is the object under `"definitions"` of the deployed `models_json_schema`. Returns at most
/// [`MAX_VIOLATIONS`] violations; an empty `Vec` means the record is valid. A model missing from `definitions` has
/// nothing to check against, so it yields an empty `Vec` too.
pub fn check(definitions: &Value, model: &str, record: &Value) -> Vec<Violation> {
    let Some(schema) = definitions.get(model) else {
        return Vec::new();
    };
    let mut walker = Walker {
        definitions,
        root: schema,
        steps_left: BASE_BUDGET.saturating_add(count_nodes(record).saturating_mul(BUDGET_PER_NODE)),
        exhausted: false,
        too_deep: false,
    };
    let mut sink = Sink::collect(MAX_VIOLATIONS);
    let mut path = String::new();
    walker.validate(schema, record, &mut path, Level::default(), &mut sink);
    let mut out = sink.out;
    if walker.too_deep && !out.iter().any(|v| v.rule == "depth") {
        push_last(&mut out, Violation { path: String::new(), rule: "depth", message: depth_message() });
    }
    if walker.exhausted {
        let message = "the record is too complex to check against this schema".to_owned();
        push_last(&mut out, Violation { path: String::new(), rule: "budget", message });
    }
    out
}

/// Appends `v`, replacing the last violation when the list is already full.
fn push_last(out: &mut Vec<Violation>, v: Violation) {
    if out.len() >= MAX_VIOLATIONS {
        out.pop();
    }
    out.push(v);
}

fn depth_message() -> String {
    format!("nested too deeply to check (more than {MAX_DEPTH} levels)")
}

/// Counts the values in `v` without recursion.
fn count_nodes(v: &Value) -> usize {
    let mut stack = vec![v];
    let mut n = 0usize;
    while let Some(v) = stack.pop() {
        n = n.saturating_add(1);
        match v {
            Value::Array(items) => stack.extend(items.iter()),
            Value::Object(map) => stack.extend(map.values()),
            _ => {}
        }
    }
    n
}

/// Where the walk is: how deep in the data, how many `$ref`s since the last data step, how deep in the schema.
#[derive(Debug, Clone, Copy, Default)]
struct Level {
    data: usize,
    hops: usize,
    frames: usize,
}

impl Level {
    /// Into a property or an item.
    fn data(self) -> Level {
        Level { data: self.data + 1, hops: 0, frames: self.frames + 1 }
    }

    /// Through a `$ref`.
    fn hop(self) -> Level {
        Level { hops: self.hops + 1, frames: self.frames + 1, ..self }
    }

    /// Into a subschema applied to the same value.
    fn sub(self) -> Level {
        Level { frames: self.frames + 1, ..self }
    }
}

/// Where violations go: collected with messages, or only counted (to test a branch of `anyOf` and friends).
struct Sink {
    out: Vec<Violation>,
    count: usize,
    limit: usize,
    collect: bool,
}

impl Sink {
    fn collect(limit: usize) -> Sink {
        Sink { out: Vec::new(), count: 0, limit, collect: true }
    }

    /// Stops at the first violation and builds no messages.
    fn probe() -> Sink {
        Sink { out: Vec::new(), count: 0, limit: 1, collect: false }
    }

    fn full(&self) -> bool {
        self.count >= self.limit
    }

    fn fail(&mut self, path: &str, rule: &'static str, message: impl FnOnce() -> String) {
        if self.full() {
            return;
        }
        self.count += 1;
        if self.collect {
            self.out.push(Violation { path: path.to_owned(), rule, message: message() });
        }
    }
}

struct Walker<'a> {
    definitions: &'a Value,
    root: &'a Value,
    steps_left: usize,
    exhausted: bool,
    too_deep: bool,
}

impl<'a> Walker<'a> {
    /// Takes `cost` from the work budget; false once it is spent.
    fn charge(&mut self, cost: usize) -> bool {
        if self.exhausted {
            return false;
        }
        match self.steps_left.checked_sub(cost) {
            Some(left) => {
                self.steps_left = left;
                true
            }
            None => {
                self.steps_left = 0;
                self.exhausted = true;
                false
            }
        }
    }

    /// True when `value` matches `schema` (no messages are built).
    fn probe(&mut self, schema: &'a Value, value: &Value, path: &mut String, lvl: Level) -> bool {
        let mut sink = Sink::probe();
        self.validate(schema, value, path, lvl, &mut sink);
        sink.count == 0
    }

    fn validate(&mut self, schema: &'a Value, value: &Value, path: &mut String, lvl: Level, sink: &mut Sink) {
        if sink.full() || !self.charge(1) {
            return;
        }
        if lvl.data > MAX_DEPTH || lvl.frames > MAX_FRAMES {
            self.too_deep = true;
            sink.fail(path, "depth", depth_message);
            return;
        }
        let s = match schema {
            Value::Object(s) => s,
            Value::Bool(false) => {
                sink.fail(path, "false", || "no value is allowed here".to_owned());
                return;
            }
            // `true`, and anything that is not a schema, accepts everything.
            _ => return,
        };

        if let Some(Value::String(reference)) = s.get("$ref") {
            if lvl.hops >= MAX_REF_HOPS {
                sink.fail(path, "$ref", || {
                    format!("more than {MAX_REF_HOPS} `$ref`s in a row without reaching data (a cycle?)")
                });
                return;
            }
            if let Some(target) = self.resolve(reference) {
                self.validate(target, value, path, lvl.hop(), sink);
            }
        }

        let type_ok = check_type(s, value, path, sink);
        if type_ok {
            // Skipped after a type mismatch: they would only repeat it.
            check_enum_const(s, value, path, sink);
        }
        match value {
            Value::String(text) => self.check_string(s, text, path, sink),
            Value::Number(n) => check_number(s, n, path, sink),
            Value::Object(map) => self.check_object(s, value, map, path, lvl, sink),
            Value::Array(items) => self.check_array(s, items, path, lvl, sink),
            Value::Null | Value::Bool(_) => {}
        }
        self.check_combinators(s, value, path, lvl, sink);
    }

    fn check_combinators(
        &mut self,
        s: &'a Map<String, Value>,
        value: &Value,
        path: &mut String,
        lvl: Level,
        sink: &mut Sink,
    ) {
        if let Some(Value::Array(all)) = s.get("allOf") {
            for branch in all {
                self.validate(branch, value, path, lvl.sub(), sink);
            }
        }
        if let Some(Value::Array(any)) = s.get("anyOf") {
            match nullable_inner(any) {
                Some(inner) if !value.is_null() => self.validate(inner, value, path, lvl.sub(), sink),
                _ => {
                    if !any.is_empty() && !any.iter().any(|b| self.probe(b, value, path, lvl.sub())) {
                        let n = any.len();
                        sink.fail(path, "anyOf", || format!("matches none of the {n} allowed alternatives (anyOf)"));
                    }
                }
            }
        }
        if let Some(Value::Array(one)) = s.get("oneOf") {
            let mut matched = Vec::new();
            for (i, branch) in one.iter().enumerate() {
                if self.probe(branch, value, path, lvl.sub()) {
                    matched.push(i);
                    if matched.len() > 1 {
                        break;
                    }
                }
            }
            let n = one.len();
            match matched.as_slice() {
                [] if n > 0 => {
                    sink.fail(path, "oneOf", || format!("matches none of the {n} alternatives (oneOf)"));
                }
                [a, b, ..] => {
                    let (a, b) = (*a, *b);
                    sink.fail(path, "oneOf", || {
                        format!("matches more than one alternative (oneOf), e.g. #{a} and #{b}; exactly one is allowed")
                    });
                }
                _ => {}
            }
        }
        if let Some(not) = s.get("not")
            && self.probe(not, value, path, lvl.sub())
        {
            sink.fail(path, "not", || "matches a schema it must not match (not)".to_owned());
        }
        if let Some(cond) = s.get("if") {
            let branch = if self.probe(cond, value, path, lvl.sub()) { s.get("then") } else { s.get("else") };
            if let Some(branch) = branch {
                self.validate(branch, value, path, lvl.sub(), sink);
            }
        }
    }

    fn check_string(&mut self, s: &Map<String, Value>, text: &str, path: &str, sink: &mut Sink) {
        let min = s.get("minLength").and_then(Value::as_u64);
        let max = s.get("maxLength").and_then(Value::as_u64);
        if min.is_some() || max.is_some() {
            let len = u64::try_from(text.chars().count()).unwrap_or(u64::MAX);
            if let Some(min) = min
                && len < min
            {
                sink.fail(path, "minLength", || format!("must be at least {min} characters long, got {len}"));
            }
            if let Some(max) = max
                && len > max
            {
                sink.fail(path, "maxLength", || format!("must be at most {max} characters long, got {len}"));
            }
        }
        if let Some(Value::String(pattern)) = s.get("pattern") {
            // Backtracking is roughly linear in the text for sane patterns; charge for it.
            if self.charge(text.len() / 64)
                && let Some(re) = cached_regex(pattern)
                && re.find(text).is_none()
            {
                sink.fail(path, "pattern", || format!("does not match the pattern `{}`", shorten(pattern, 120)));
            }
        }
        if let Some(Value::String(format)) = s.get("format")
            && let Some(ok) = check_format(format, text)
            && !ok
        {
            sink.fail(path, "format", || format!("is not a valid {format}"));
        }
    }

    #[allow(clippy::too_many_arguments)]
    fn check_object(
        &mut self,
        s: &'a Map<String, Value>,
        value: &Value,
        map: &Map<String, Value>,
        path: &mut String,
        lvl: Level,
        sink: &mut Sink,
    ) {
        if let Some(Value::Array(required)) = s.get("required") {
            for name in required.iter().filter_map(Value::as_str) {
                if !map.contains_key(name) {
                    sink.fail(path, "required", || format!("missing required property `{}`", shorten(name, 80)));
                }
            }
        }
        let count = map.len() as u64;
        if let Some(min) = s.get("minProperties").and_then(Value::as_u64)
            && count < min
        {
            sink.fail(path, "minProperties", || format!("must have at least {min} properties, got {count}"));
        }
        if let Some(max) = s.get("maxProperties").and_then(Value::as_u64)
            && count > max
        {
            sink.fail(path, "maxProperties", || format!("must have at most {max} properties, got {count}"));
        }
        if let Some(Value::Object(deps)) = s.get("dependencies") {
            for (key, dep) in deps {
                if !map.contains_key(key) {
                    continue;
                }
                match dep {
                    Value::Array(names) => {
                        for name in names.iter().filter_map(Value::as_str) {
                            if !map.contains_key(name) {
                                sink.fail(path, "dependencies", || {
                                    format!("property `{}` requires property `{}`", shorten(key, 80), shorten(name, 80))
                                });
                            }
                        }
                    }
                    other => self.validate(other, value, path, lvl.sub(), sink),
                }
            }
        }

        let properties = s.get("properties").and_then(Value::as_object);
        let patterns = s.get("patternProperties").and_then(Value::as_object);
        let additional = s.get("additionalProperties");
        let names = s.get("propertyNames");
        if properties.is_none() && patterns.is_none() && additional.is_none() && names.is_none() {
            return;
        }
        // Scalars first, then nested values: a mismatching discriminator (or any scalar) fails a union branch before
        // its nested values are walked.
        for nested in [false, true] {
            for (key, child) in map {
                if sink.full() || self.exhausted {
                    return;
                }
                if matches!(child, Value::Object(_) | Value::Array(_)) != nested {
                    continue;
                }
                let len = path.len();
                push_token(path, key);
                self.check_property(properties, patterns, additional, key, child, path, lvl, sink);
                if let Some(names) = names {
                    self.validate(names, &Value::String(key.clone()), path, lvl.sub(), sink);
                }
                path.truncate(len);
            }
        }
    }

    /// Checks one property value (`path` already points at it).
    #[allow(clippy::too_many_arguments)]
    fn check_property(
        &mut self,
        properties: Option<&'a Map<String, Value>>,
        patterns: Option<&'a Map<String, Value>>,
        additional: Option<&'a Value>,
        key: &str,
        child: &Value,
        path: &mut String,
        lvl: Level,
        sink: &mut Sink,
    ) {
        let mut covered = false;
        if let Some(sub) = properties.and_then(|p| p.get(key)) {
            covered = true;
            self.validate(sub, child, path, lvl.data(), sink);
        }
        for (pattern, sub) in patterns.into_iter().flatten() {
            match cached_regex(pattern) {
                Some(re) => {
                    if re.find(key).is_some() {
                        covered = true;
                        self.validate(sub, child, path, lvl.data(), sink);
                    }
                }
                // A pattern that does not compile covers every key and checks nothing.
                None => covered = true,
            }
        }
        if !covered {
            match additional {
                Some(Value::Bool(false)) => {
                    sink.fail(path, "additionalProperties", || {
                        format!("unexpected property `{}` (additional properties are not allowed)", shorten(key, 80))
                    });
                }
                Some(sub) => self.validate(sub, child, path, lvl.data(), sink),
                None => {}
            }
        }
    }

    fn check_array(
        &mut self,
        s: &'a Map<String, Value>,
        items: &[Value],
        path: &mut String,
        lvl: Level,
        sink: &mut Sink,
    ) {
        let count = items.len() as u64;
        if let Some(min) = s.get("minItems").and_then(Value::as_u64)
            && count < min
        {
            sink.fail(path, "minItems", || format!("must have at least {min} items, got {count}"));
        }
        if let Some(max) = s.get("maxItems").and_then(Value::as_u64)
            && count > max
        {
            sink.fail(path, "maxItems", || format!("must have at most {max} items, got {count}"));
        }
        if s.get("uniqueItems") == Some(&Value::Bool(true))
            && let Some((a, b)) = self.first_duplicate(items)
        {
            sink.fail(path, "uniqueItems", || format!("items must be unique, but #{a} and #{b} are equal"));
        }
        match s.get("items") {
            Some(Value::Array(tuple)) => {
                let extra = s.get("additionalItems");
                if extra == Some(&Value::Bool(false)) && items.len() > tuple.len() {
                    let n = tuple.len();
                    sink.fail(path, "additionalItems", || {
                        format!("must have at most {n} items (a tuple), got {count}")
                    });
                }
                for (i, item) in items.iter().enumerate() {
                    let sub = match (tuple.get(i), extra) {
                        (Some(sub), _) => sub,
                        (None, Some(extra @ Value::Object(_))) => extra,
                        (None, _) => break,
                    };
                    self.validate_item(sub, item, i, path, lvl, sink);
                }
            }
            Some(sub) => {
                for (i, item) in items.iter().enumerate() {
                    self.validate_item(sub, item, i, path, lvl, sink);
                }
            }
            None => {}
        }
        if let Some(contains) = s.get("contains") {
            let mut found = false;
            for (i, item) in items.iter().enumerate() {
                let len = path.len();
                push_index(path, i);
                found = self.probe(contains, item, path, lvl.data());
                path.truncate(len);
                if found {
                    break;
                }
            }
            if !found {
                sink.fail(path, "contains", || "no item matches the `contains` schema".to_owned());
            }
        }
    }

    fn validate_item(
        &mut self,
        sub: &'a Value,
        item: &Value,
        i: usize,
        path: &mut String,
        lvl: Level,
        sink: &mut Sink,
    ) {
        if sink.full() || self.exhausted {
            return;
        }
        let len = path.len();
        push_index(path, i);
        self.validate(sub, item, path, lvl.data(), sink);
        path.truncate(len);
    }

    /// The indexes of the first two equal items (numbers compared by value), if any.
    fn first_duplicate(&mut self, items: &[Value]) -> Option<(usize, usize)> {
        let mut seen: HashMap<String, usize> = HashMap::with_capacity(items.len());
        for (i, item) in items.iter().enumerate() {
            let mut key = String::new();
            let mut nodes = 0usize;
            let complete = canonical(item, &mut key, &mut nodes, 0);
            if !self.charge(nodes) || !complete {
                // Too deep to compare (or out of budget): do not claim a duplicate.
                return None;
            }
            if let Some(&first) = seen.get(&key) {
                return Some((first, i));
            }
            seen.insert(key, i);
        }
        None
    }

    /// Resolves a local `$ref`; `None` for anything else or when the target does not exist.
    fn resolve(&self, reference: &str) -> Option<&'a Value> {
        let fragment = reference.strip_prefix('#')?;
        if fragment.is_empty() {
            return Some(self.root);
        }
        let tokens: Vec<String> = fragment.strip_prefix('/')?.split('/').map(unescape_token).collect();
        let (first, rest) = tokens.split_first()?;
        let in_definitions = || {
            if first == "definitions" || first == "$defs" { walk(self.definitions, rest) } else { None }
        };
        if first == "definitions" {
            in_definitions().or_else(|| walk(self.root, &tokens))
        } else {
            walk(self.root, &tokens).or_else(in_definitions)
        }
    }
}

/// Follows JSON pointer `tokens` from `from`.
fn walk<'v>(from: &'v Value, tokens: &[String]) -> Option<&'v Value> {
    tokens.iter().try_fold(from, |at, token| match at {
        Value::Object(map) => map.get(token.as_str()),
        Value::Array(items) => token.parse::<usize>().ok().and_then(|i| items.get(i)),
        _ => None,
    })
}

/// Decodes one JSON pointer token of a URI fragment: `%XX` escapes, then `~1` → `/` and `~0` → `~`.
fn unescape_token(token: &str) -> String {
    let decoded = if token.contains('%') {
        let bytes = token.as_bytes();
        let mut out = Vec::with_capacity(bytes.len());
        let mut i = 0;
        while i < bytes.len() {
            let hex = bytes.get(i + 1..i + 3).and_then(|h| std::str::from_utf8(h).ok());
            match (bytes.get(i), hex.and_then(|h| u8::from_str_radix(h, 16).ok())) {
                (Some(b'%'), Some(byte)) => {
                    out.push(byte);
                    i += 3;
                }
                (Some(&b), _) => {
                    out.push(b);
                    i += 1;
                }
                (None, _) => break,
            }
        }
        String::from_utf8(out).unwrap_or_else(|_| token.to_owned())
    } else {
        token.to_owned()
    };
    decoded.replace("~1", "/").replace("~0", "~")
}

/// Appends `/key` to a JSON pointer, escaping `~` and `/`.
fn push_token(path: &mut String, key: &str) {
    path.push('/');
    for c in key.chars() {
        match c {
            '~' => path.push_str("~0"),
            '/' => path.push_str("~1"),
            c => path.push(c),
        }
    }
}

fn push_index(path: &mut String, i: usize) {
    path.push('/');
    path.push_str(&i.to_string());
}

/// At most `max` characters of `text`, with an ellipsis when cut.
fn shorten(text: &str, max: usize) -> String {
    match text.char_indices().nth(max) {
        Some((cut, _)) => format!("{}…", text.get(..cut).unwrap_or_default()),
        None => text.to_owned(),
    }
}

/// The `{"type": "X"}` of `anyOf: [X, {"type": "null"}]` (either order), zod's nullable.
fn nullable_inner(branches: &[Value]) -> Option<&Value> {
    match branches {
        [a, b] if is_null_schema(b) && !is_null_schema(a) => Some(a),
        [a, b] if is_null_schema(a) && !is_null_schema(b) => Some(b),
        _ => None,
    }
}

fn is_null_schema(schema: &Value) -> bool {
    const ANNOTATIONS: [&str; 6] = ["title", "description", "default", "examples", "$comment", "$id"];
    schema.as_object().is_some_and(|s| {
        s.get("type").and_then(Value::as_str) == Some("null")
            && s.keys().all(|k| k == "type" || ANNOTATIONS.contains(&k.as_str()))
    })
}

fn json_type(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

/// Whether `value` is of the JSON Schema type `name`; `None` for a name JSON Schema does not define.
fn is_type(name: &str, value: &Value) -> Option<bool> {
    Some(match name {
        "null" => value.is_null(),
        "boolean" => value.is_boolean(),
        "object" => value.is_object(),
        "array" => value.is_array(),
        "string" => value.is_string(),
        "number" => value.is_number(),
        "integer" => match value {
            Value::Number(n) => {
                n.is_i64() || n.is_u64() || n.as_f64().is_some_and(|f| f.is_finite() && f.fract() == 0.0)
            }
            _ => false,
        },
        _ => return None,
    })
}

/// Checks `type`; true when it matches (or is absent or unusable).
fn check_type(s: &Map<String, Value>, value: &Value, path: &str, sink: &mut Sink) -> bool {
    let names: Vec<&str> = match s.get("type") {
        Some(Value::String(name)) => vec![name.as_str()],
        Some(Value::Array(names)) => names.iter().filter_map(Value::as_str).collect(),
        _ => return true,
    };
    // An unknown type name is a schema defect: accept rather than reject every record.
    let ok = names.is_empty() || names.iter().any(|name| is_type(name, value).unwrap_or(true));
    if !ok {
        sink.fail(path, "type", || format!("expected {}, got {}", names.join(" or "), json_type(value)));
    }
    ok
}

fn check_enum_const(s: &Map<String, Value>, value: &Value, path: &str, sink: &mut Sink) {
    if let Some(Value::Array(allowed)) = s.get("enum")
        && !allowed.iter().any(|a| json_eq(a, value, 0))
    {
        sink.fail(path, "enum", || {
            let shown: Vec<String> = allowed.iter().take(5).map(|a| shorten(&a.to_string(), 40)).collect();
            let more = if allowed.len() > 5 { ", …" } else { "" };
            format!("must be one of {}{more}", shown.join(", "))
        });
    }
    if let Some(expected) = s.get("const")
        && !json_eq(expected, value, 0)
    {
        sink.fail(path, "const", || format!("must be {}", shorten(&expected.to_string(), 80)));
    }
}

fn check_number(s: &Map<String, Value>, n: &Number, path: &str, sink: &mut Sink) {
    let bound = |key: &str| match s.get(key) {
        Some(Value::Number(b)) => Some(b),
        _ => None,
    };
    // Draft-04 form: `exclusiveMinimum: true` makes `minimum` exclusive.
    let min_exclusive = s.get("exclusiveMinimum") == Some(&Value::Bool(true));
    let max_exclusive = s.get("exclusiveMaximum") == Some(&Value::Bool(true));
    if let Some(min) = bound("minimum") {
        match (num_cmp(n, min), min_exclusive) {
            (Some(Ordering::Less), _) => sink.fail(path, "minimum", || format!("must be at least {min}, got {n}")),
            (Some(Ordering::Equal), true) => sink.fail(path, "minimum", || format!("must be greater than {min}")),
            _ => {}
        }
    }
    if let Some(max) = bound("maximum") {
        match (num_cmp(n, max), max_exclusive) {
            (Some(Ordering::Greater), _) => sink.fail(path, "maximum", || format!("must be at most {max}, got {n}")),
            (Some(Ordering::Equal), true) => sink.fail(path, "maximum", || format!("must be less than {max}")),
            _ => {}
        }
    }
    if let Some(min) = bound("exclusiveMinimum")
        && matches!(num_cmp(n, min), Some(Ordering::Less | Ordering::Equal))
    {
        sink.fail(path, "exclusiveMinimum", || format!("must be greater than {min}, got {n}"));
    }
    if let Some(max) = bound("exclusiveMaximum")
        && matches!(num_cmp(n, max), Some(Ordering::Greater | Ordering::Equal))
    {
        sink.fail(path, "exclusiveMaximum", || format!("must be less than {max}, got {n}"));
    }
    if let Some(divisor) = bound("multipleOf")
        && !is_multiple_of(n, divisor)
    {
        sink.fail(path, "multipleOf", || format!("must be a multiple of {divisor}, got {n}"));
    }
}

fn as_i128(n: &Number) -> Option<i128> {
    n.as_i64().map(i128::from).or_else(|| n.as_u64().map(i128::from))
}

/// A float with no fractional part as an exact integer, when it fits.
fn float_as_i128(f: f64) -> Option<i128> {
    // 2^126: well inside i128, and every float this large is an integer.
    const LIMIT: f64 = 85_070_591_730_234_615_865_843_651_857_942_052_864.0;
    (f.is_finite() && f.fract() == 0.0 && f.abs() < LIMIT).then_some(f as i128)
}

/// Numeric order, exact for integers (including integers written as floats).
fn num_cmp(a: &Number, b: &Number) -> Option<Ordering> {
    let exact = |n: &Number| as_i128(n).or_else(|| n.as_f64().and_then(float_as_i128));
    match (exact(a), exact(b)) {
        (Some(x), Some(y)) => Some(x.cmp(&y)),
        _ => a.as_f64()?.partial_cmp(&b.as_f64()?),
    }
}

fn is_multiple_of(n: &Number, divisor: &Number) -> bool {
    if let (Some(x), Some(d)) = (as_i128(n), as_i128(divisor)) {
        return d <= 0 || x.checked_rem(d).is_none_or(|r| r == 0);
    }
    let (Some(x), Some(d)) = (n.as_f64(), divisor.as_f64()) else {
        return true;
    };
    if d <= 0.0 || !d.is_finite() {
        return true; // not a usable divisor: a schema defect
    }
    let q = x / d;
    if !q.is_finite() {
        return true;
    }
    (q - q.round()).abs() <= 1e-9 * q.abs().max(1.0)
}

/// JSON equality with numbers compared by value (`1 == 1.0`) and object keys in any order.
fn json_eq(a: &Value, b: &Value, depth: usize) -> bool {
    if depth > MAX_COMPARE_DEPTH {
        return false;
    }
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => num_cmp(x, y) == Some(Ordering::Equal),
        (Value::Array(x), Value::Array(y)) => {
            x.len() == y.len() && x.iter().zip(y).all(|(x, y)| json_eq(x, y, depth + 1))
        }
        (Value::Object(x), Value::Object(y)) => {
            x.len() == y.len() && x.iter().all(|(k, xv)| y.get(k).is_some_and(|yv| json_eq(xv, yv, depth + 1)))
        }
        _ => a == b,
    }
}

/// Writes a canonical form of `v` (sorted keys, numbers by value) into `out`, consistent with [`json_eq`]; false
/// when `v` nests too deeply to finish.
fn canonical(v: &Value, out: &mut String, nodes: &mut usize, depth: usize) -> bool {
    *nodes = nodes.saturating_add(1);
    if depth > MAX_COMPARE_DEPTH {
        return false;
    }
    match v {
        Value::Number(n) => {
            match as_i128(n).or_else(|| n.as_f64().and_then(float_as_i128)) {
                Some(i) => out.push_str(&i.to_string()),
                None => out.push_str(&format!("f{:?}", n.as_f64().unwrap_or(f64::NAN))),
            }
            true
        }
        Value::Array(items) => {
            out.push('[');
            for item in items {
                if !canonical(item, out, nodes, depth + 1) {
                    return false;
                }
                out.push(',');
            }
            out.push(']');
            true
        }
        Value::Object(map) => {
            let mut entries: Vec<(&String, &Value)> = map.iter().collect();
            entries.sort_by(|a, b| a.0.cmp(b.0));
            out.push('{');
            for (k, v) in entries {
                out.push_str(&Value::String(k.clone()).to_string());
                out.push(':');
                if !canonical(v, out, nodes, depth + 1) {
                    return false;
                }
                out.push(',');
            }
            out.push('}');
            true
        }
        other => {
            out.push_str(&other.to_string());
            true
        }
    }
}

thread_local! {
    static REGEX_CACHE: RefCell<HashMap<String, Option<Rc<regress::Regex>>>> = RefCell::new(HashMap::new());
}

/// Compiles an ECMAScript `pattern` once per thread; `None` when it does not compile.
///
/// Like ajv, patterns get the `u` flag (so `\p{L}` is a Unicode class); one that is only valid without it (legacy
/// escapes such as `\_`) is compiled without it.
fn cached_regex(pattern: &str) -> Option<Rc<regress::Regex>> {
    REGEX_CACHE.with(|cache| {
        if let Some(hit) = cache.borrow().get(pattern) {
            return hit.clone();
        }
        let compiled =
            regress::Regex::with_flags(pattern, "u").or_else(|_| regress::Regex::new(pattern)).ok().map(Rc::new);
        let mut cache = cache.borrow_mut();
        if cache.len() >= REGEX_CACHE_SIZE {
            cache.clear();
        }
        cache.insert(pattern.to_owned(), compiled.clone());
        compiled
    })
}

/// Whether `text` has `format`; `None` for formats that are not checked.
fn check_format(format: &str, text: &str) -> Option<bool> {
    Some(match format {
        "date-time" => is_date_time(text),
        "date" => is_date(text),
        "time" => is_time(text),
        "email" => is_email(text),
        "uuid" => is_uuid(text),
        "uri" => is_uri(text),
        "ipv4" => text.parse::<Ipv4Addr>().is_ok(),
        "ipv6" => text.parse::<Ipv6Addr>().is_ok(),
        _ => return None,
    })
}

/// Parses exactly `n` ASCII digits.
fn digits(text: &str, n: usize) -> Option<u32> {
    (text.len() == n && text.bytes().all(|b| b.is_ascii_digit())).then(|| text.parse().ok()).flatten()
}

/// `YYYY-MM-DD` with a real day of the month.
fn is_date(text: &str) -> bool {
    let b = text.as_bytes();
    if b.len() != 10 || b.get(4) != Some(&b'-') || b.get(7) != Some(&b'-') {
        return false;
    }
    let (Some(y), Some(m), Some(d)) = (
        text.get(0..4).and_then(|t| digits(t, 4)),
        text.get(5..7).and_then(|t| digits(t, 2)),
        text.get(8..10).and_then(|t| digits(t, 2)),
    ) else {
        return false;
    };
    let leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    let days = match m {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        2 if leap => 29,
        2 => 28,
        _ => return false,
    };
    (1..=days).contains(&d)
}

/// `HH:MM[:SS[.fraction]][Z|±HH[:]MM]`: RFC 3339's full-time, with the seconds and the offset optional (as zod allows).
fn is_time(text: &str) -> bool {
    let (clock, offset) = match text.find(['Z', 'z', '+', '-']) {
        Some(at) => (text.get(..at).unwrap_or_default(), text.get(at..).unwrap_or_default()),
        None => (text, ""),
    };
    let offset_ok = match offset {
        "" | "Z" | "z" => true,
        _ => {
            let digits_part = offset.get(1..).unwrap_or_default();
            let (h, m) = match digits_part.len() {
                2 => (digits(digits_part, 2), Some(0)),
                4 => (digits_part.get(..2).and_then(|t| digits(t, 2)), digits_part.get(2..).and_then(|t| digits(t, 2))),
                5 if digits_part.get(2..3) == Some(":") => {
                    (digits_part.get(..2).and_then(|t| digits(t, 2)), digits_part.get(3..).and_then(|t| digits(t, 2)))
                }
                _ => (None, None),
            };
            matches!((h, m), (Some(h), Some(m)) if h < 24 && m < 60)
        }
    };
    if !offset_ok {
        return false;
    }
    let (hms, fraction) = match clock.split_once('.') {
        Some((hms, fraction)) => (hms, Some(fraction)),
        None => (clock, None),
    };
    if fraction.is_some_and(|f| f.is_empty() || !f.bytes().all(|b| b.is_ascii_digit())) {
        return false;
    }
    let parts: Vec<&str> = hms.split(':').collect();
    match parts.as_slice() {
        [h, m] if fraction.is_none() => matches!((digits(h, 2), digits(m, 2)), (Some(h), Some(m)) if h < 24 && m < 60),
        [h, m, s] => {
            matches!((digits(h, 2), digits(m, 2), digits(s, 2)), (Some(h), Some(m), Some(s)) if h < 24 && m < 60 && s <= 60)
        }
        _ => false,
    }
}

/// A date, `T` (or `t` or a space), a time.
fn is_date_time(text: &str) -> bool {
    match (text.get(..10), text.get(10..11), text.get(11..)) {
        (Some(date), Some("T" | "t" | " "), Some(time)) => is_date(date) && is_time(time),
        _ => false,
    }
}

/// `local@domain.tld`: no spaces or control characters, one `@`, a dotted domain without empty labels.
fn is_email(text: &str) -> bool {
    let Some((local, domain)) = text.rsplit_once('@') else {
        return false;
    };
    if local.is_empty()
        || local.len() > 64
        || local.contains('@')
        || text.chars().any(|c| c.is_whitespace() || c.is_control())
    {
        return false;
    }
    if let Some(literal) = domain.strip_prefix('[').and_then(|d| d.strip_suffix(']')) {
        return literal.parse::<Ipv4Addr>().is_ok()
            || literal.strip_prefix("IPv6:").is_some_and(|v6| v6.parse::<Ipv6Addr>().is_ok());
    }
    let labels: Vec<&str> = domain.split('.').collect();
    labels.len() >= 2
        && domain.len() <= 253
        && labels.iter().all(|l| {
            !l.is_empty()
                && !l.starts_with('-')
                && !l.ends_with('-')
                && l.chars().all(|c| c.is_alphanumeric() || c == '-')
        })
}

/// `xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx` in hex digits of either case.
fn is_uuid(text: &str) -> bool {
    text.len() == 36
        && text.bytes().enumerate().all(|(i, b)| match i {
            8 | 13 | 18 | 23 => b == b'-',
            _ => b.is_ascii_hexdigit(),
        })
}

/// `scheme:rest`: a scheme (a letter, then letters, digits, `+`, `-`, `.`), a colon, then something without spaces.
fn is_uri(text: &str) -> bool {
    let Some((scheme, rest)) = text.split_once(':') else {
        return false;
    };
    let mut chars = scheme.chars();
    chars.next().is_some_and(|c| c.is_ascii_alphabetic())
        && chars.all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.'))
        && !rest.is_empty()
        && !text.chars().any(|c| c.is_whitespace() || c.is_control())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    /// `check` against a single model named "M" with `schema`.
    fn run(schema: Value, record: Value) -> Vec<Violation> {
        check(&json!({ "M": schema }), "M", &record)
    }

    fn rules(violations: &[Violation]) -> Vec<(&str, &'static str)> {
        violations.iter().map(|v| (v.path.as_str(), v.rule)).collect()
    }

    fn ok(schema: Value, record: Value) {
        let v = run(schema.clone(), record.clone());
        assert!(v.is_empty(), "expected {record} to match {schema}, got {v:?}");
    }

    fn fails(schema: Value, record: Value, path: &str, rule: &str) {
        let v = run(schema.clone(), record.clone());
        assert!(
            v.iter().any(|v| v.path == path && v.rule == rule),
            "expected {rule} at {path:?} for {record} against {schema}, got {v:?}"
        );
    }

    /// Debug builds use far bigger frames than release ones.
    const STACK_FOR_TEST: usize = 1 << 20;

    const SAFE: i64 = 9_007_199_254_740_991;

    /// As zod v4 `toJSONSchema(..., { target: "draft-7" })` writes
    /// `z.object({ id: z.string(), name: z.string(), n: z.number().int().min(0), email: z.email().optional(),
    /// tags: z.array(z.string()).max(3), kind: z.enum(['a','b']), at: z.iso.datetime(),
    /// nested: z.object({ zip: z.string().regex(/^\d{5}$/) }).nullable() })`.
    fn zod_item() -> Value {
        json!({
            "$schema": "http://json-schema.org/draft-07/schema#",
            "type": "object",
            "properties": {
                "id": { "type": "string" },
                "name": { "type": "string" },
                "n": { "type": "integer", "minimum": 0, "maximum": SAFE },
                "email": {
                    "type": "string",
                    "format": "email",
                    "pattern": "^(?!\\.)(?!.*\\.\\.)([A-Za-z0-9_'+\\-\\.]*)[A-Za-z0-9_+-]@([A-Za-z0-9][A-Za-z0-9\\-]*\\.)+[A-Za-z]{2,}$"
                },
                "tags": { "type": "array", "items": { "type": "string" }, "maxItems": 3 },
                "kind": { "type": "string", "enum": ["a", "b"] },
                "at": {
                    "type": "string",
                    "format": "date-time",
                    "pattern": "^(?:(?:\\d\\d[2468][048]|\\d\\d[13579][26]|\\d\\d0[48]|[02468][048]00|[13579][26]00)-02-29|\\d{4}-(?:(?:0[13578]|1[02])-(?:0[1-9]|[12]\\d|3[01])|(?:0[469]|11)-(?:0[1-9]|[12]\\d|30)|(?:02)-(?:0[1-9]|1\\d|2[0-8])))T(?:(?:[01]\\d|2[0-3]):[0-5]\\d(?::[0-5]\\d(?:\\.\\d+)?)?(?:Z))$"
                },
                "nested": {
                    "anyOf": [
                        {
                            "type": "object",
                            "properties": { "zip": { "type": "string", "pattern": "^\\d{5}$" } },
                            "required": ["zip"],
                            "additionalProperties": false
                        },
                        { "type": "null" }
                    ]
                }
            },
            "required": ["id", "name", "n", "tags", "kind", "at", "nested"],
            "additionalProperties": false
        })
    }

    fn good_item() -> Value {
        json!({
            "id": "1",
            "name": "Ada",
            "n": 3,
            "email": "ada@example.com",
            "tags": ["x", "y"],
            "kind": "a",
            "at": "2024-02-29T12:34:56.789Z",
            "nested": { "zip": "12345" }
        })
    }

    fn with(mut record: Value, key: &str, value: Value) -> Value {
        if let Some(map) = record.as_object_mut() {
            map.insert(key.to_owned(), value);
        }
        record
    }

    fn without(mut record: Value, key: &str) -> Value {
        if let Some(map) = record.as_object_mut() {
            map.remove(key);
        }
        record
    }

    #[test]
    fn zod_model_accepts_valid_records() {
        ok(zod_item(), good_item());
        ok(zod_item(), without(good_item(), "email"));
        ok(zod_item(), with(good_item(), "nested", Value::Null));
        ok(zod_item(), with(good_item(), "tags", json!([])));
        ok(zod_item(), with(good_item(), "n", json!(0)));
        ok(zod_item(), with(good_item(), "n", json!(7.0)));
        ok(zod_item(), with(good_item(), "at", json!("2024-01-01T00:00Z")));
    }

    #[test]
    fn zod_model_reports_each_field() {
        let item = good_item;
        let v = run(zod_item(), with(item(), "name", json!(5)));
        assert_eq!(
            v,
            vec![Violation { path: "/name".into(), rule: "type", message: "expected string, got number".into() }]
        );
        let v = run(zod_item(), without(item(), "name"));
        assert_eq!(
            v,
            vec![Violation {
                path: String::new(),
                rule: "required",
                message: "missing required property `name`".into()
            }]
        );
        fails(zod_item(), with(item(), "n", json!(-1)), "/n", "minimum");
        fails(zod_item(), with(item(), "n", json!(1.5)), "/n", "type");
        fails(zod_item(), with(item(), "n", json!(SAFE as u64 + 1)), "/n", "maximum");
        fails(zod_item(), with(item(), "email", json!("not-an-email")), "/email", "format");
        fails(zod_item(), with(item(), "email", json!("a..b@example.com")), "/email", "pattern");
        fails(zod_item(), with(item(), "tags", json!(["a", "b", "c", "d"])), "/tags", "maxItems");
        fails(zod_item(), with(item(), "tags", json!(["a", 2])), "/tags/1", "type");
        fails(zod_item(), with(item(), "kind", json!("c")), "/kind", "enum");
        fails(zod_item(), with(item(), "at", json!("2023-02-29T00:00:00Z")), "/at", "format");
        fails(zod_item(), with(item(), "at", json!("2024-01-01T00:00:00+02:00")), "/at", "pattern");
        fails(zod_item(), with(item(), "nested", json!({ "zip": "1234" })), "/nested/zip", "pattern");
        fails(zod_item(), with(item(), "nested", json!({})), "/nested", "required");
        fails(
            zod_item(),
            with(item(), "nested", json!({ "zip": "12345", "x": 1 })),
            "/nested/x",
            "additionalProperties",
        );
        fails(zod_item(), with(item(), "extra", json!(true)), "/extra", "additionalProperties");
        fails(zod_item(), json!([]), "", "type");
    }

    #[test]
    fn nullable_reports_the_inner_violation() {
        let schema = json!({
            "type": "object",
            "properties": { "name": { "anyOf": [{ "type": "string" }, { "type": "null" }] } }
        });
        let v = run(schema.clone(), json!({ "name": 5 }));
        assert_eq!(
            v,
            vec![Violation { path: "/name".into(), rule: "type", message: "expected string, got number".into() }]
        );
        ok(schema.clone(), json!({ "name": null }));
        ok(schema, json!({ "name": "x" }));
        // Either order.
        fails(
            json!({ "anyOf": [{ "type": "null" }, { "type": "string", "minLength": 2 }] }),
            json!("a"),
            "",
            "minLength",
        );
    }

    #[test]
    fn several_violations_are_all_reported() {
        let record = json!({ "id": 1, "n": -5, "kind": "z", "tags": "x", "at": "now", "nested": 3, "more": 1 });
        let v = run(zod_item(), record);
        let r = rules(&v);
        for expected in [
            ("", "required"),
            ("/id", "type"),
            ("/n", "minimum"),
            ("/kind", "enum"),
            ("/tags", "type"),
            ("/at", "format"),
            ("/at", "pattern"),
            ("/nested", "type"),
            ("/more", "additionalProperties"),
        ] {
            assert!(r.contains(&expected), "{expected:?} missing from {r:?}");
        }
    }

    #[test]
    fn type_keyword() {
        ok(json!({ "type": "string" }), json!("x"));
        fails(json!({ "type": "string" }), json!(1), "", "type");
        ok(json!({ "type": "integer" }), json!(-3));
        ok(json!({ "type": "integer" }), json!(1e20));
        ok(json!({ "type": "integer" }), json!(u64::MAX));
        fails(json!({ "type": "integer" }), json!(0.5), "", "type");
        ok(json!({ "type": "number" }), json!(0.5));
        ok(json!({ "type": "null" }), Value::Null);
        fails(json!({ "type": "null" }), json!(false), "", "type");
        ok(json!({ "type": "boolean" }), json!(true));
        ok(json!({ "type": "array" }), json!([]));
        ok(json!({ "type": "object" }), json!({}));
        fails(json!({ "type": "object" }), json!([]), "", "type");
        ok(json!({ "type": ["string", "null"] }), Value::Null);
        let v = run(json!({ "type": ["string", "null"] }), json!(1));
        assert_eq!(v.first().map(|v| v.message.as_str()), Some("expected string or null, got number"));
        // Unknown type names are a schema defect and accept.
        ok(json!({ "type": "bogus" }), json!(1));
    }

    #[test]
    fn enum_and_const() {
        ok(json!({ "enum": [1, "a", null, { "k": [1] }] }), json!(1.0));
        ok(json!({ "enum": [{ "a": 1, "b": 2 }] }), json!({ "b": 2.0, "a": 1 }));
        fails(json!({ "enum": [1, "a"] }), json!("b"), "", "enum");
        fails(json!({ "enum": [[1, 2]] }), json!([2, 1]), "", "enum");
        ok(json!({ "const": "x" }), json!("x"));
        ok(json!({ "const": 10 }), json!(10.0));
        fails(json!({ "const": "x" }), json!("y"), "", "const");
        fails(json!({ "const": { "a": 1 } }), json!({ "a": 1, "b": 2 }), "", "const");
        fails(json!({ "const": true }), json!(1), "", "const");
        // No enum violation on top of a type violation.
        assert_eq!(rules(&run(json!({ "type": "string", "enum": ["a"] }), json!(1))), vec![("", "type")]);
    }

    #[test]
    fn string_keywords() {
        ok(json!({ "minLength": 2, "maxLength": 3 }), json!("éé"));
        ok(json!({ "maxLength": 2 }), json!("😀😀"));
        fails(json!({ "minLength": 2 }), json!("é"), "", "minLength");
        fails(json!({ "maxLength": 2 }), json!("abc"), "", "maxLength");
        ok(json!({ "pattern": "b" }), json!("abc"));
        fails(json!({ "pattern": "^b" }), json!("abc"), "", "pattern");
        ok(json!({ "pattern": "^\\p{L}+$" }), json!("héllo"));
        fails(json!({ "pattern": "^\\p{L}+$" }), json!("h1"), "", "pattern");
        // Only valid without the `u` flag (identity escape), still used.
        ok(json!({ "pattern": "^a\\_b$" }), json!("a_b"));
        fails(json!({ "pattern": "^a\\_b$" }), json!("ab"), "", "pattern");
        // Length keywords do not apply to other types.
        ok(json!({ "minLength": 5, "pattern": "x" }), json!(1));
    }

    #[test]
    fn bad_patterns_pass_and_do_not_panic() {
        for bad in ["(", "[z-a]", "a{2,1}", "\\", "(?<n>a)(?<n>b)"] {
            ok(json!({ "type": "string", "pattern": bad }), json!("anything"));
            ok(
                json!({ "patternProperties": { (bad): { "type": "string" } }, "additionalProperties": false }),
                json!({ "k": 1 }),
            );
        }
        // The cache hands back the same (failed) compilation.
        assert!(cached_regex("(").is_none());
        assert!(cached_regex("(").is_none());
        assert!(cached_regex("^a$").is_some_and(|r| r.find("a").is_some()));
    }

    #[test]
    fn number_keywords() {
        ok(json!({ "minimum": 1, "maximum": 2 }), json!(1));
        ok(json!({ "minimum": 1, "maximum": 2 }), json!(2.0));
        fails(json!({ "minimum": 1 }), json!(0.999), "", "minimum");
        fails(json!({ "maximum": 2 }), json!(2.001), "", "maximum");
        ok(json!({ "exclusiveMinimum": 0 }), json!(0.001));
        fails(json!({ "exclusiveMinimum": 0 }), json!(0), "", "exclusiveMinimum");
        ok(json!({ "exclusiveMaximum": 10 }), json!(9));
        fails(json!({ "exclusiveMaximum": 10 }), json!(10.0), "", "exclusiveMaximum");
        // Draft-04 boolean form.
        fails(json!({ "minimum": 0, "exclusiveMinimum": true }), json!(0), "", "minimum");
        ok(json!({ "minimum": 0, "exclusiveMinimum": true }), json!(1));
        fails(json!({ "maximum": 5, "exclusiveMaximum": true }), json!(5), "", "maximum");
        ok(json!({ "maximum": 5, "exclusiveMaximum": false }), json!(5));
        // Exact for large integers.
        fails(json!({ "maximum": 9_007_199_254_740_992u64 }), json!(9_007_199_254_740_993u64), "", "maximum");
        ok(json!({ "minimum": -1 }), json!(u64::MAX));
        // multipleOf
        ok(json!({ "multipleOf": 3 }), json!(9));
        fails(json!({ "multipleOf": 3 }), json!(10), "", "multipleOf");
        ok(json!({ "multipleOf": 0.1 }), json!(0.3));
        ok(json!({ "multipleOf": 0.01 }), json!(19.99));
        fails(json!({ "multipleOf": 0.01 }), json!(19.995), "", "multipleOf");
        ok(json!({ "multipleOf": 0.5 }), json!(4));
        ok(json!({ "multipleOf": 0 }), json!(4)); // not a usable divisor
        ok(json!({ "multipleOf": 1e-308 }), json!(1e308)); // overflowing quotient
        ok(json!({ "minimum": 5 }), json!("string")); // only numbers
    }

    #[test]
    fn object_keywords() {
        let schema = json!({
            "properties": { "a": { "type": "string" } },
            "patternProperties": { "^x-": { "type": "integer" } },
            "additionalProperties": { "type": "boolean" },
            "minProperties": 1,
            "maxProperties": 3
        });
        ok(schema.clone(), json!({ "a": "s", "x-1": 1, "other": true }));
        fails(schema.clone(), json!({ "x-1": "no" }), "/x-1", "type");
        fails(schema.clone(), json!({ "other": 1 }), "/other", "type");
        fails(schema.clone(), json!({}), "", "minProperties");
        fails(schema, json!({ "a": "", "b": true, "c": true, "d": true }), "", "maxProperties");
        // patternProperties also covers keys for additionalProperties: false.
        let strict = json!({ "patternProperties": { "^x-": {} }, "additionalProperties": false });
        ok(strict.clone(), json!({ "x-a": 1 }));
        fails(strict, json!({ "y": 1 }), "/y", "additionalProperties");
        // z.record(z.string().regex(..), X)
        let names = json!({ "propertyNames": { "type": "string", "pattern": "^[a-z]+$" }, "additionalProperties": { "type": "number" } });
        ok(names.clone(), json!({ "abc": 1 }));
        fails(names.clone(), json!({ "ABC": 1 }), "/ABC", "pattern");
        fails(names, json!({ "abc": "1" }), "/abc", "type");
        // dependencies
        let deps = json!({ "dependencies": { "card": ["billing"], "x": { "required": ["y"] } } });
        ok(deps.clone(), json!({ "card": 1, "billing": 2 }));
        ok(deps.clone(), json!({ "billing": 2 }));
        fails(deps.clone(), json!({ "card": 1 }), "", "dependencies");
        fails(deps, json!({ "x": 1 }), "", "required");
    }

    #[test]
    fn array_keywords() {
        ok(json!({ "minItems": 1, "maxItems": 2 }), json!([1]));
        fails(json!({ "minItems": 1 }), json!([]), "", "minItems");
        fails(json!({ "maxItems": 1 }), json!([1, 2]), "", "maxItems");
        ok(json!({ "uniqueItems": true }), json!([1, "1", [1], { "a": 1 }, { "a": 2 }]));
        fails(json!({ "uniqueItems": true }), json!([1, 2, 1.0]), "", "uniqueItems");
        fails(json!({ "uniqueItems": true }), json!([{ "a": 1, "b": [2] }, { "b": [2.0], "a": 1 }]), "", "uniqueItems");
        ok(json!({ "uniqueItems": false }), json!([1, 1]));
        // Tuple (zod draft-7 output).
        let tuple =
            json!({ "type": "array", "items": [{ "type": "string" }, { "type": "number" }], "additionalItems": false });
        ok(tuple.clone(), json!(["a", 1]));
        ok(tuple.clone(), json!(["a"]));
        fails(tuple.clone(), json!([1, 1]), "/0", "type");
        fails(tuple, json!(["a", 1, 2]), "", "additionalItems");
        let rest = json!({ "items": [{ "type": "string" }], "additionalItems": { "type": "boolean" } });
        ok(rest.clone(), json!(["a", true, false]));
        fails(rest, json!(["a", true, 3]), "/2", "type");
        ok(json!({ "items": [{ "type": "string" }] }), json!(["a", 1]));
        fails(json!({ "items": false }), json!([1]), "/0", "false");
        ok(json!({ "items": false }), json!([]));
        ok(json!({ "contains": { "type": "string" } }), json!([1, "a"]));
        fails(json!({ "contains": { "type": "string" } }), json!([1, 2]), "", "contains");
    }

    #[test]
    fn combinators() {
        let any = json!({ "anyOf": [{ "type": "string" }, { "type": "number" }, { "type": "null" }] });
        ok(any.clone(), json!("a"));
        ok(any.clone(), json!(1));
        assert_eq!(rules(&run(any, json!(true))), vec![("", "anyOf")]);
        let one = json!({ "oneOf": [{ "type": "integer" }, { "type": "number", "minimum": 10 }] });
        ok(one.clone(), json!(5));
        ok(one.clone(), json!(10.5));
        fails(one.clone(), json!(11), "", "oneOf");
        fails(one, json!("x"), "", "oneOf");
        let all = json!({ "allOf": [{ "type": "object", "required": ["a"] }, { "required": ["b"] }] });
        ok(all.clone(), json!({ "a": 1, "b": 2 }));
        assert_eq!(rules(&run(all, json!({ "a": 1 }))), vec![("", "required")]);
        fails(json!({ "not": { "type": "string" } }), json!("x"), "", "not");
        ok(json!({ "not": { "type": "string" } }), json!(1));
        // z.never()
        fails(json!({ "not": {} }), json!(1), "", "not");
        let cond = json!({ "if": { "properties": { "k": { "const": "a" } } }, "then": { "required": ["a"] }, "else": { "required": ["b"] } });
        ok(cond.clone(), json!({ "k": "a", "a": 1 }));
        fails(cond.clone(), json!({ "k": "a" }), "", "required");
        ok(cond, json!({ "k": "z", "b": 1 }));
        // Discriminated union of objects (zod: anyOf).
        let union = json!({ "anyOf": [
            { "type": "object", "properties": { "t": { "type": "string", "const": "a" }, "x": { "type": "string" } }, "required": ["t", "x"], "additionalProperties": false },
            { "type": "object", "properties": { "t": { "type": "string", "const": "b" }, "y": { "type": "number" } }, "required": ["t", "y"], "additionalProperties": false }
        ] });
        ok(union.clone(), json!({ "t": "a", "x": "s" }));
        ok(union.clone(), json!({ "t": "b", "y": 1 }));
        assert_eq!(rules(&run(union, json!({ "t": "b", "y": "s" }))), vec![("", "anyOf")]);
    }

    #[test]
    fn boolean_schemas() {
        ok(json!(true), json!({ "anything": [1] }));
        assert_eq!(rules(&run(json!(false), json!(1))), vec![("", "false")]);
        ok(json!({}), json!(null));
        fails(json!({ "properties": { "gone": false } }), json!({ "gone": 1 }), "/gone", "false");
    }

    #[test]
    fn formats() {
        let f = |format: &str, text: &str| check_format(format, text);
        for good in [
            "2024-02-29T00:00:00Z",
            "2024-01-01t10:20:30.5+01:00",
            "2024-01-01 10:20Z",
            "2024-01-01T23:59:60-0530",
            "2024-01-01T10:20:30",
        ] {
            assert_eq!(f("date-time", good), Some(true), "{good}");
        }
        for bad in [
            "2023-02-29T00:00:00Z",
            "2024-13-01T00:00:00Z",
            "2024-01-01",
            "2024-01-01T24:00:00Z",
            "2024-01-01T10:20:30+25:00",
            "2024-01-01T10:2",
            "2024-01-01T10:20:30.Z",
            "２０２４-01-01T00:00:00Z",
            "2024-01-01T10:20:30Zjunk",
        ] {
            assert_eq!(f("date-time", bad), Some(false), "{bad}");
        }
        assert_eq!(f("date", "2000-02-29"), Some(true));
        assert_eq!(f("date", "1900-02-29"), Some(false));
        assert_eq!(f("date", "2024-04-31"), Some(false));
        assert_eq!(f("date", "2024-4-01"), Some(false));
        assert_eq!(f("time", "12:34:56.789Z"), Some(true));
        assert_eq!(f("time", "12:34"), Some(true));
        assert_eq!(f("time", "12:60"), Some(false));
        assert_eq!(f("time", "1:00"), Some(false));
        for good in ["a@b.co", "first.last+tag@sub.example.org", "x@[127.0.0.1]", "ü@exämple.de"] {
            assert_eq!(f("email", good), Some(true), "{good}");
        }
        for bad in ["", "a", "@b.co", "a@", "a@b", "a@b..co", "a b@c.de", "a@-b.co", "a@b.co.", "a@@b.co"] {
            assert_eq!(f("email", bad), Some(false), "{bad}");
        }
        assert_eq!(f("uuid", "123e4567-e89b-12d3-a456-426614174000"), Some(true));
        assert_eq!(f("uuid", "123E4567-E89B-12D3-A456-426614174000"), Some(true));
        assert_eq!(f("uuid", "123e4567e89b12d3a456426614174000"), Some(false));
        assert_eq!(f("uuid", "123e4567-e89b-12d3-a456-42661417400g"), Some(false));
        assert_eq!(f("uri", "https://example.com/a?b#c"), Some(true));
        assert_eq!(f("uri", "urn:isbn:0451450523"), Some(true));
        assert_eq!(f("uri", "mailto:a@b.co"), Some(true));
        for bad in ["example.com", "https:", "1http://x", "http://a b", ":x"] {
            assert_eq!(f("uri", bad), Some(false), "{bad}");
        }
        assert_eq!(f("ipv4", "192.168.0.1"), Some(true));
        assert_eq!(f("ipv4", "256.1.1.1"), Some(false));
        assert_eq!(f("ipv4", "01.1.1.1"), Some(false));
        assert_eq!(f("ipv6", "::1"), Some(true));
        assert_eq!(f("ipv6", "2001:db8::ff00:42:8329"), Some(true));
        assert_eq!(f("ipv6", "1.2.3.4"), Some(false));
        assert_eq!(f("hostname", "anything at all"), None);
        ok(json!({ "format": "made-up" }), json!("x"));
        ok(json!({ "format": "email" }), json!(5)); // formats apply to strings only
    }

    #[test]
    fn pointers_escape_keys() {
        let schema = json!({ "additionalProperties": { "type": "string" } });
        let v = run(schema, json!({ "a/b": 1, "c~d": 2, "": 3 }));
        let mut paths: Vec<&str> = v.iter().map(|v| v.path.as_str()).collect();
        paths.sort_unstable();
        assert_eq!(paths, vec!["/", "/a~1b", "/c~0d"]);
        let nested = json!({ "properties": { "l": { "items": { "properties": { "x/y": { "type": "string" } } } } } });
        fails(nested, json!({ "l": [{}, { "x/y": 1 }] }), "/l/1/x~1y", "type");
    }

    #[test]
    fn violations_are_capped() {
        let schema = json!({ "type": "array", "items": { "type": "string" } });
        let v = run(schema, json!((0..100).collect::<Vec<_>>()));
        assert_eq!(v.len(), MAX_VIOLATIONS);
        assert_eq!(v.first().map(|v| v.path.as_str()), Some("/0"));
        assert_eq!(v.last().map(|v| v.path.as_str()), Some("/19"));
        let props: Map<String, Value> = (0..50).map(|i| (format!("k{i}"), json!(i))).collect();
        let v = run(json!({ "additionalProperties": false, "required": ["a", "b"] }), Value::Object(props));
        assert_eq!(v.len(), MAX_VIOLATIONS);
    }

    #[test]
    fn refs_resolve() {
        let defs = json!({
            "Item": {
                "type": "object",
                "properties": { "other": { "$ref": "#/definitions/Other" }, "self": { "$ref": "#" }, "zip": { "$ref": "#/definitions/Other/properties/zip" } },
                "additionalProperties": false
            },
            "Other": { "type": "object", "properties": { "zip": { "type": "string" } }, "required": ["zip"] },
            "Odd name/x": { "type": "integer" },
            "UsesOdd": { "$ref": "#/definitions/Odd%20name~1x" },
            "Local": {
                "properties": { "v": { "$ref": "#/$defs/V" }, "w": { "$ref": "#/definitions/__schema0" } },
                "$defs": { "V": { "type": "boolean" } },
                "definitions": { "__schema0": { "type": "null" } }
            },
            "Dangling": { "$ref": "#/definitions/Nope" },
            "Remote": { "$ref": "https://example.com/schema.json" }
        });
        let item = json!({ "other": { "zip": "1" }, "self": { "zip": "2", "self": {} } });
        assert!(check(&defs, "Item", &item).is_empty());
        let v = check(&defs, "Item", &json!({ "other": {}, "self": { "self": { "other": { "zip": 5 } } }, "zip": 1 }));
        assert_eq!(rules(&v), vec![("/zip", "type"), ("/other", "required"), ("/self/self/other/zip", "type")]);
        assert!(check(&defs, "Odd name/x", &json!(1)).is_empty());
        assert_eq!(rules(&check(&defs, "UsesOdd", &json!("x"))), vec![("", "type")]);
        assert!(check(&defs, "Local", &json!({ "v": true, "w": null })).is_empty());
        assert_eq!(rules(&check(&defs, "Local", &json!({ "v": 1, "w": 1 }))), vec![("/v", "type"), ("/w", "type")]);
        // Unresolvable and remote refs are schema defects: nothing to check.
        assert!(check(&defs, "Dangling", &json!(1)).is_empty());
        assert!(check(&defs, "Remote", &json!(1)).is_empty());
        // Siblings of `$ref` apply too.
        let defs2 = json!({ "M": { "$ref": "#/definitions/S", "maxLength": 1 }, "S": { "type": "string" } });
        assert_eq!(rules(&check(&defs2, "M", &json!("ab"))), vec![("", "maxLength")]);
    }

    #[test]
    fn unknown_model_and_odd_definitions() {
        assert!(check(&json!({ "Item": { "type": "string" } }), "Missing", &json!(1)).is_empty());
        assert!(check(&json!([]), "Item", &json!(1)).is_empty());
        assert!(check(&Value::Null, "Item", &json!(1)).is_empty());
        // Keyword values of the wrong shape are ignored rather than trusted.
        ok(
            json!({ "required": "a", "properties": [], "items": 3, "minLength": "2", "enum": {}, "anyOf": {}, "type": 7 }),
            json!({}),
        );
        ok(json!({ "anyOf": [], "oneOf": [], "allOf": [] }), json!(1));
    }

    #[test]
    fn ref_cycles_terminate() {
        let defs = json!({
            "A": { "$ref": "#/definitions/B" },
            "B": { "$ref": "#/definitions/A" },
            "Self": { "$ref": "#" },
            "Wide": { "allOf": [{ "$ref": "#" }, { "$ref": "#" }] },
            "Any": { "anyOf": [{ "$ref": "#" }, { "$ref": "#" }] }
        });
        for model in ["A", "Self"] {
            let v = check(&defs, model, &json!(1));
            assert_eq!(rules(&v), vec![("", "$ref")], "{model}");
        }
        // Branching cycles would be 2^32 steps without the budget: they must end quickly and fail.
        for model in ["Wide", "Any"] {
            let v = check(&defs, model, &json!(1));
            assert!(!v.is_empty() && v.len() <= MAX_VIOLATIONS, "{model}: {v:?}");
        }
    }

    #[test]
    fn recursive_models_check_nested_data() {
        let defs = json!({
            "Tree": {
                "type": "object",
                "properties": { "v": { "type": "integer" }, "children": { "type": "array", "items": { "$ref": "#/definitions/Tree" } } },
                "required": ["v"]
            }
        });
        let mut tree = json!({ "v": 0 });
        for i in 1..10 {
            tree = json!({ "v": i, "children": [tree] });
        }
        assert!(check(&defs, "Tree", &tree).is_empty());
        let bad = json!({ "v": 1, "children": [{ "v": 2 }, { "v": "x" }] });
        assert_eq!(rules(&check(&defs, "Tree", &bad)), vec![("/children/1/v", "type")]);
    }

    fn nest(levels: usize) -> Value {
        let mut v = json!(1);
        for _ in 0..levels {
            v = json!({ "a": v });
        }
        v
    }

    #[test]
    fn deep_data_is_cut_off() {
        let defs = json!({ "N": { "type": "object", "additionalProperties": { "anyOf": [{ "$ref": "#" }, { "type": "integer" }] } } });
        // 60 levels fit.
        assert!(check(&defs, "N", &nest(60)).is_empty());
        let v = check(&defs, "N", &nest(100));
        assert_eq!(v.iter().filter(|v| v.rule == "depth").count(), 1, "{v:?}");
        // Without a schema to follow, deep data is not walked at all.
        assert!(check(&json!({ "M": {} }), "M", &nest(100)).is_empty());
        // Deep arrays under `items`.
        let mut arr = json!([]);
        for _ in 0..100 {
            arr = json!([arr]);
        }
        let v = run(json!({ "$ref": "#/definitions/A" }), arr.clone());
        assert!(v.is_empty()); // "A" does not exist: nothing to check
        let defs = json!({ "A": { "type": "array", "items": { "$ref": "#" } } });
        let v = check(&defs, "A", &arr);
        let path = "/0".repeat(MAX_DEPTH + 1);
        assert_eq!(rules(&v), vec![(path.as_str(), "depth")]);
    }

    /// The deepest walk the limits allow: long `$ref` chains and a union at every data level.
    fn worst_case() -> (Value, Value) {
        let mut defs = Map::new();
        let hops = MAX_REF_HOPS - 2;
        for i in 0..hops {
            defs.insert(format!("R{i}"), json!({ "allOf": [{ "$ref": format!("#/definitions/R{}", i + 1) }] }));
        }
        defs.insert(
            format!("R{hops}"),
            json!({ "type": "object", "additionalProperties": { "anyOf": [{ "$ref": "#/definitions/R0" }, { "type": "integer" }] } }),
        );
        (Value::Object(defs), nest(200))
    }

    #[test]
    fn worst_case_nesting_fits_a_small_stack() {
        let handle = std::thread::Builder::new()
            .stack_size(STACK_FOR_TEST)
            .spawn(|| {
                let (defs, record) = worst_case();
                check(&defs, "R0", &record)
            })
            .expect("spawn");
        let v = handle.join().expect("no stack overflow");
        assert!(v.iter().any(|v| v.rule == "depth"), "{v:?}");
    }

    #[test]
    fn deep_values_in_comparisons_do_not_overflow() {
        let deep = nest(120);
        fails(json!({ "uniqueItems": true }), json!([deep.clone(), deep.clone()]), "", "uniqueItems");
        ok(json!({ "const": deep.clone() }), deep);
        // Beyond the comparison depth: no duplicate is claimed, and equality is not proven.
        let deeper = nest(MAX_COMPARE_DEPTH + 10);
        ok(json!({ "uniqueItems": true }), json!([deeper.clone(), deeper.clone()]));
        fails(json!({ "const": deeper.clone() }), deeper, "", "const");
    }

    #[test]
    fn exponential_unions_hit_the_budget() {
        // Two branches that both descend: naive validation is 2^depth.
        // Both object branches walk `c` and only then fail (combinators run after `properties`).
        let defs = json!({
            "U": { "anyOf": [
                { "type": "object", "properties": { "c": { "$ref": "#" } }, "allOf": [{ "not": {} }] },
                { "type": "object", "properties": { "c": { "$ref": "#" } }, "not": {} },
                { "type": "integer" }
            ] }
        });
        let mut v = json!(1);
        for _ in 0..40 {
            v = json!({ "c": v });
        }
        let start = std::time::Instant::now();
        let out = check(&defs, "U", &v);
        assert!(start.elapsed() < std::time::Duration::from_secs(20));
        assert!(!out.is_empty());
        assert!(out.iter().any(|v| v.rule == "budget"), "{out:?}");
    }

    #[test]
    fn huge_and_odd_strings_do_not_panic() {
        let long = "é".repeat(10_000);
        ok(json!({ "type": "string", "maxLength": 10_000 }), json!(long));
        fails(json!({ "type": "string", "maxLength": 9_999 }), json!(long), "", "maxLength");
        for format in ["date-time", "date", "time", "email", "uuid", "uri", "ipv4", "ipv6"] {
            for text in [
                "",
                "é",
                "\u{0}",
                "2024-01-01T",
                "2024-01-01Té",
                "@",
                "%",
                "é:é",
                "-",
                "+",
                "Z",
                "12:34+",
                "12:34+ab:cd",
            ] {
                let _ = check_format(format, text);
            }
        }
        assert_eq!(shorten("ééé", 2), "éé…");
        assert_eq!(unescape_token("a%2Fb~0~1%"), "a/b~/%");
        assert_eq!(unescape_token("%zz%C3%A9"), "%zzé");
    }
}
