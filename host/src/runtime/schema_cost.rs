//! What checking a call's arguments against a tool's input schema can cost, worked out when the plugin loads.
//!
//! The host validates every call's arguments before the guest runs, on a thread and outside the guest's
//! sandbox, so a schema is host work that a plugin author controls. JSON Schema validation re-evaluates a
//! subschema once for every path that reaches it: a chain of `$defs` where each is an `anyOf` of two `$ref`s to
//! the next costs 2^depth evaluations per value (depth 24 took 36 s, depth 40 never finished). Nothing can stop
//! a validation half way, so the bound is enforced before: at load, the number of subschema evaluations one value
//! of the arguments can cause is computed (counting every path, as the validator walks them) and a schema over
//! [`MAX_EVALUATIONS_PER_VALUE`] is refused; at call time, arguments nested deeper than [`MAX_ARGUMENT_DEPTH`] or
//! whose values times that figure exceed [`MAX_VALIDATION_WORK`] are refused before validation.
//!
//! The figure is an upper bound: at every object it assumes the costliest property, at every array the costliest
//! item schema, and for each combination of subschemas that all apply to the same value the sum of their costs.
//! An evaluation is weighted by the work its keywords do whatever the value (an `enum` of 9,000 members is
//! compared member by member), and a string argument counts as a value per 64 bytes (a `pattern` reads all of
//! it).
//!
//! References must stay inside the schema (`#...`, `$anchor`s, or the root's own `$id`) and must resolve here as
//! the validator resolves them: so a reference cycle that does not descend into the arguments (which would never
//! end), `$dynamicRef`, `$recursiveRef`, `$id`s below the root, anchors defined twice and draft-04 schemas (whose
//! `id` keyword moves the base of references) are refused. So is a schema that nests, through its references,
//! more than [`MAX_SCHEMA_DEPTH`] levels: the validator follows it recursively.

use std::collections::HashMap;

use serde_json::{Map, Value};

/// Arguments may nest at most this deep (an object or array inside another counts one level).
pub const MAX_ARGUMENT_DEPTH: usize = 32;

/// Subschema evaluations one value of the arguments may cause, at most, for a schema to be accepted.
pub const MAX_EVALUATIONS_PER_VALUE: u64 = 10_000;

/// Subschema evaluations a call's arguments may cause in all (values × evaluations per value): a few hundred
/// milliseconds of one core at worst.
pub const MAX_VALIDATION_WORK: u64 = 4_000_000;

/// Levels a schema may nest, following its subschemas and references (a recursive schema counts once per level of
/// the arguments it reaches, up to [`MAX_ARGUMENT_DEPTH`]).
pub const MAX_SCHEMA_DEPTH: usize = 512;

/// Bytes of a string argument that count as one value.
const STRING_BYTES_PER_VALUE: usize = 64;

/// Why a schema is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SchemaCostError {
    #[error(
        "checking arguments against it could take {0} subschema evaluations per value (at most {MAX_EVALUATIONS_PER_VALUE}); \
         simplify its anyOf/oneOf/allOf and $ref structure"
    )]
    TooCostly(u64),
    #[error("its references loop without descending into the arguments, so validation would never end")]
    Cycle,
    #[error("it uses {0}, which this host does not support in input schemas")]
    Unsupported(&'static str),
    #[error(
        "it refers to a schema outside itself or to one that does not exist; only references within the schema are supported"
    )]
    UnresolvedReference,
    #[error("it defines the anchor {0:?} twice")]
    DuplicateAnchor(String),
    #[error("it nests, through its subschemas and references, more than {MAX_SCHEMA_DEPTH} levels deep")]
    TooDeep,
}

/// The bound worked out for one schema.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SchemaCost {
    /// Subschema evaluations one value of the arguments may cause, at most, at any depth.
    pub per_value: u64,
}

/// Why a call's arguments are refused before validation.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ArgumentsTooComplex {
    #[error("the arguments nest more than {MAX_ARGUMENT_DEPTH} levels deep")]
    TooDeep,
    #[error("the arguments hold {0} values, more than this tool's schema can check in one call ({1} at most)")]
    TooMany(u64, u64),
}

impl SchemaCost {
    /// Refuses arguments whose validation would exceed the bounds, counting their values and depth first; returns
    /// the count.
    pub fn admit(&self, arguments: &Value) -> Result<u64, ArgumentsTooComplex> {
        let values = count_values(arguments)?;
        let most = MAX_VALIDATION_WORK / self.per_value.max(1);
        if values > most {
            return Err(ArgumentsTooComplex::TooMany(values, most));
        }
        Ok(values)
    }
}

/// Values in `value` (itself included; a string counts one more per [`STRING_BYTES_PER_VALUE`] bytes, and so does
/// each member name), or an error when it nests deeper than [`MAX_ARGUMENT_DEPTH`]. Iterative: arguments nested a
/// million levels deep must not overflow the stack here.
pub fn count_values(value: &Value) -> Result<u64, ArgumentsTooComplex> {
    let mut pending = vec![(value, 0usize)];
    let mut values = 0u64;
    while let Some((value, depth)) = pending.pop() {
        values += 1;
        let children: Box<dyn Iterator<Item = &Value>> = match value {
            Value::Array(items) => Box::new(items.iter()),
            Value::Object(members) => {
                let names: usize = members.keys().map(|name| name.len() / STRING_BYTES_PER_VALUE).sum();
                values += names as u64;
                Box::new(members.values())
            }
            Value::String(text) => {
                values += (text.len() / STRING_BYTES_PER_VALUE) as u64;
                continue;
            }
            _ => continue,
        };
        if depth >= MAX_ARGUMENT_DEPTH {
            return Err(ArgumentsTooComplex::TooDeep);
        }
        pending.extend(children.map(|child| (child, depth + 1)));
    }
    Ok(values)
}

/// Works out the bound for `schema`, refusing it when the bound is over [`MAX_EVALUATIONS_PER_VALUE`].
/// Recursive (to [`MAX_SCHEMA_DEPTH`] levels): run it on a thread with a large stack, as loading does.
pub fn analyze(schema: &Value) -> Result<SchemaCost, SchemaCostError> {
    if let Some(draft) = schema.get("$schema").and_then(Value::as_str)
        && (draft.contains("draft-04") || draft.contains("draft-03"))
    {
        return Err(SchemaCostError::Unsupported("a draft-04 (or older) $schema; use draft 7, 2019-09 or 2020-12"));
    }
    let mut analysis = Analysis::new(schema)?;
    let mut per_value = 0;
    for depth in 0..=MAX_ARGUMENT_DEPTH {
        per_value = per_value.max(analysis.evaluations(schema, depth)?);
    }
    if per_value > MAX_EVALUATIONS_PER_VALUE {
        return Err(SchemaCostError::TooCostly(per_value));
    }
    Ok(SchemaCost { per_value })
}

/// Above this, figures are not added up any further (the schema is refused anyway).
const SATURATED: u64 = u64::MAX / 4;

/// The subschemas a schema object applies, by how they reach the value.
#[derive(Default)]
struct Applied<'a> {
    /// To the same value: allOf, anyOf, oneOf, not, if/then/else, dependentSchemas, $ref.
    same: Vec<&'a Value>,
    /// To one member of an object, whichever matches (properties, additionalProperties).
    one_member: Vec<&'a Value>,
    /// To every member they match (patternProperties, unevaluatedProperties).
    each_member: Vec<&'a Value>,
    /// To each member's name (propertyNames).
    names: Vec<&'a Value>,
    /// To one item of an array (items, prefixItems, additionalItems).
    one_item: Vec<&'a Value>,
    /// To every item (contains, unevaluatedItems).
    each_item: Vec<&'a Value>,
}

struct Analysis<'a> {
    root: &'a Value,
    /// The root's `$id`, which references may start with.
    root_id: Option<&'a str>,
    anchors: HashMap<&'a str, &'a Value>,
    /// Evaluations at depth `d` below a schema, by (schema address, d).
    memo: HashMap<(usize, usize), u64>,
    /// (schema, depth) pairs being worked out, to catch reference cycles at one value.
    in_progress: std::collections::HashSet<(usize, usize)>,
}

impl<'a> Analysis<'a> {
    fn new(root: &'a Value) -> Result<Self, SchemaCostError> {
        let root_id = root.get("$id").and_then(Value::as_str);
        let mut analysis = Self {
            root,
            root_id,
            anchors: HashMap::new(),
            memo: HashMap::new(),
            in_progress: std::collections::HashSet::new(),
        };
        analysis.collect_anchors()?;
        Ok(analysis)
    }

    /// Finds every `$anchor` (and draft 6/7 `#name` `$id`) in the document, and refuses what this bound cannot
    /// follow. Iterative, like everything here: a schema is at most a few hundred KiB but may nest deeply.
    fn collect_anchors(&mut self) -> Result<(), SchemaCostError> {
        let mut pending = vec![(self.root, true)];
        while let Some((value, is_root)) = pending.pop() {
            match value {
                Value::Object(members) => {
                    if members.contains_key("$dynamicRef") {
                        return Err(SchemaCostError::Unsupported("$dynamicRef"));
                    }
                    if members.contains_key("$recursiveRef") {
                        return Err(SchemaCostError::Unsupported("$recursiveRef"));
                    }
                    let id = members.get("$id").and_then(Value::as_str);
                    let fragment_id = id.and_then(|id| id.strip_prefix('#'));
                    if id.is_some() && fragment_id.is_none() && !is_root {
                        return Err(SchemaCostError::Unsupported("an $id below the root"));
                    }
                    let names = ["$anchor", "$dynamicAnchor"].map(|key| members.get(key).and_then(Value::as_str));
                    for name in names.into_iter().flatten().chain(fragment_id) {
                        // The validator would pick one of two same-named anchors, maybe not the one counted here.
                        if self.anchors.insert(name, value).is_some_and(|other| !std::ptr::eq(other, value)) {
                            return Err(SchemaCostError::DuplicateAnchor(name.to_owned()));
                        }
                    }
                    pending.extend(members.values().map(|child| (child, false)));
                }
                Value::Array(items) => pending.extend(items.iter().map(|child| (child, false))),
                _ => {}
            }
        }
        Ok(())
    }

    /// The schema a `$ref` names.
    fn resolve(&self, reference: &str) -> Result<&'a Value, SchemaCostError> {
        let fragment = match reference.split_once('#') {
            Some(("", fragment)) => fragment,
            Some((base, fragment)) if Some(base) == self.root_id => fragment,
            None if reference.is_empty() || Some(reference) == self.root_id => "",
            _ => return Err(SchemaCostError::UnresolvedReference),
        };
        let fragment = percent_decode(fragment).ok_or(SchemaCostError::UnresolvedReference)?;
        let target = if fragment.is_empty() || fragment.starts_with('/') {
            self.root.pointer(&fragment)
        } else {
            self.anchors.get(fragment.as_str()).copied()
        };
        target.ok_or(SchemaCostError::UnresolvedReference)
    }

    fn applied(&self, members: &'a Map<String, Value>) -> Result<Applied<'a>, SchemaCostError> {
        let mut applied = Applied::default();
        let schemas = |value: &'a Value| -> Vec<&'a Value> {
            match value {
                Value::Array(items) => items.iter().collect(),
                Value::Object(_) | Value::Bool(_) => vec![value],
                _ => Vec::new(),
            }
        };
        let object_values = |value: &'a Value| -> Vec<&'a Value> {
            value.as_object().map(|members| members.values().collect()).unwrap_or_default()
        };
        for (keyword, value) in members {
            match keyword.as_str() {
                "allOf" | "anyOf" | "oneOf" | "not" | "if" | "then" | "else" => applied.same.extend(schemas(value)),
                "dependentSchemas" => applied.same.extend(object_values(value)),
                // Draft 7's `dependencies`: schemas (applied to the same value) or lists of names (no schema).
                "dependencies" => {
                    applied.same.extend(object_values(value).into_iter().filter(|v| v.is_object() || v.is_boolean()))
                }
                "$ref" => {
                    let reference = value.as_str().ok_or(SchemaCostError::UnresolvedReference)?;
                    applied.same.push(self.resolve(reference)?);
                }
                "properties" => applied.one_member.extend(object_values(value)),
                "additionalProperties" => applied.one_member.extend(schemas(value)),
                "patternProperties" => applied.each_member.extend(object_values(value)),
                "unevaluatedProperties" => applied.each_member.extend(schemas(value)),
                "propertyNames" => applied.names.extend(schemas(value)),
                "items" | "prefixItems" | "additionalItems" => applied.one_item.extend(schemas(value)),
                "contains" | "unevaluatedItems" => applied.each_item.extend(schemas(value)),
                _ => {}
            }
        }
        Ok(applied)
    }

    /// Evaluations, at most, at one value `depth` levels below a value that `schema` is applied to (each
    /// weighted by [`weight`]).
    fn evaluations(&mut self, schema: &'a Value, depth: usize) -> Result<u64, SchemaCostError> {
        let key = (std::ptr::from_ref(schema) as usize, depth);
        if let Some(&known) = self.memo.get(&key) {
            return Ok(known);
        }
        if self.in_progress.contains(&key) {
            return Err(SchemaCostError::Cycle);
        }
        let Value::Object(members) = schema else {
            // `true`, `false`, or something the validator would have refused to compile.
            return Ok(u64::from(depth == 0));
        };
        // The schemas in progress are the walk's path from the root: its depth.
        if self.in_progress.len() >= MAX_SCHEMA_DEPTH {
            return Err(SchemaCostError::TooDeep);
        }
        self.in_progress.insert(key);
        let applied = self.applied(members)?;
        let mut total = if depth == 0 { weight(members) } else { 0 };
        for &same in &applied.same {
            total = add(total, self.evaluations(same, depth)?);
        }
        if depth > 0 {
            let below = depth - 1;
            let mut object = self.most(&applied.one_member, below)?;
            object = add(object, self.sum(&applied.each_member, below)?);
            if below == 0 {
                object = add(object, self.sum(&applied.names, 0)?);
            }
            let array = add(self.most(&applied.one_item, below)?, self.sum(&applied.each_item, below)?);
            // The value is an object or an array, not both.
            total = add(total, object.max(array));
        }
        self.in_progress.remove(&key);
        self.memo.insert(key, total);
        Ok(total)
    }

    fn most(&mut self, schemas: &[&'a Value], depth: usize) -> Result<u64, SchemaCostError> {
        schemas.iter().try_fold(0, |most, &schema| Ok(most.max(self.evaluations(schema, depth)?)))
    }

    fn sum(&mut self, schemas: &[&'a Value], depth: usize) -> Result<u64, SchemaCostError> {
        schemas.iter().try_fold(0, |sum, &schema| Ok(add(sum, self.evaluations(schema, depth)?)))
    }
}

/// What evaluating one schema object costs, in units of a simple keyword: its keywords whose work grows with the
/// schema rather than with the value (`enum` compares against each member, `required` and `dependentRequired`
/// look up each name, `patternProperties` runs each pattern on every member name), plus one.
fn weight(members: &Map<String, Value>) -> u64 {
    let list = |keyword: &str| {
        members.get(keyword).map_or(0, |value| match value {
            Value::Array(items) => items.len(),
            Value::Object(entries) => entries.len(),
            _ => 0,
        })
    };
    let sizes = ["enum", "required", "dependentRequired", "patternProperties", "dependencies"].map(list);
    1 + sizes.iter().sum::<usize>() as u64
}

fn add(a: u64, b: u64) -> u64 {
    a.saturating_add(b).min(SATURATED)
}

/// A URI fragment with its `%XX` escapes decoded; `None` when they are malformed or not UTF-8.
fn percent_decode(fragment: &str) -> Option<String> {
    let bytes = fragment.as_bytes();
    let mut decoded = Vec::with_capacity(bytes.len());
    let mut at = 0;
    while at < bytes.len() {
        if bytes[at] == b'%' {
            let hex = fragment.get(at + 1..at + 3)?;
            decoded.push(u8::from_str_radix(hex, 16).ok()?);
            at += 3;
        } else {
            decoded.push(bytes[at]);
            at += 1;
        }
    }
    String::from_utf8(decoded).ok()
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    /// `$defs` d0..d{depth}, each an `anyOf` of two references to the next: 2^depth paths to the last.
    fn ref_chain(depth: usize) -> Value {
        let mut defs = Map::new();
        for level in 0..depth {
            let next = format!("#/$defs/d{}", level + 1);
            defs.insert(format!("d{level}"), json!({"anyOf": [{"$ref": next}, {"$ref": next}]}));
        }
        defs.insert(format!("d{depth}"), json!({"type": "string"}));
        json!({"type": "object", "properties": {"x": {"$ref": "#/$defs/d0"}}, "$defs": defs})
    }

    #[test]
    fn ordinary_schemas_cost_a_few_evaluations_per_value() {
        let schema = json!({
            "type": "object",
            "properties": {
                "query": {"type": "string", "maxLength": 100},
                "state": {"$ref": "#/$defs/state"},
                "tags": {"type": "array", "items": {"type": "string"}},
                "limit": {"anyOf": [{"type": "integer"}, {"type": "null"}]}
            },
            "additionalProperties": false,
            "$defs": {"state": {"enum": ["open", "closed"]}}
        });
        let cost = analyze(&schema).unwrap();
        assert!(cost.per_value <= 4, "{cost:?}");
        assert!(cost.admit(&json!({"query": "refund", "tags": ["a", "b"]})).is_ok());
    }

    #[test]
    fn an_exponential_reference_chain_is_refused_and_a_short_one_counted_exactly() {
        // Each level is its anyOf, the two `{"$ref"}` schemas and, through each, the next level: e(k) = 3 + 2 e(k+1).
        assert_eq!(analyze(&ref_chain(24)), Err(SchemaCostError::TooCostly((1 << 26) - 2)));
        assert!(matches!(analyze(&ref_chain(64)), Err(SchemaCostError::TooCostly(_))), "saturates, does not overflow");
        // d4 costs 1, d3 5, d2 13, d1 29, d0 61, and x (a `$ref` to d0) one more.
        assert_eq!(analyze(&ref_chain(4)).unwrap().per_value, 62);
    }

    #[test]
    fn a_cycle_at_one_value_is_refused_but_recursion_into_the_arguments_is_bounded() {
        let looping = json!({"type": "object", "$defs": {"a": {"$ref": "#/$defs/b"}, "b": {"allOf": [{"$ref": "#/$defs/a"}]}}, "properties": {"x": {"$ref": "#/$defs/a"}}});
        assert_eq!(analyze(&looping), Err(SchemaCostError::Cycle));
        let tree = json!({"type": "object", "properties": {"name": {"type": "string"}, "children": {"type": "array", "items": {"$ref": "#"}}}});
        assert!(analyze(&tree).unwrap().per_value <= 2);
        // Recursion that doubles at every level of the arguments: refused once the depth limit makes it costly.
        let doubling =
            json!({"type": "object", "properties": {"a": {"$ref": "#"}}, "patternProperties": {"^a$": {"$ref": "#"}}});
        assert!(matches!(analyze(&doubling), Err(SchemaCostError::TooCostly(_))));
    }

    #[test]
    fn keywords_whose_work_grows_with_the_schema_weigh_more_and_long_strings_count_as_several_values() {
        let members: Vec<u32> = (0..9000).collect();
        let schema = json!({"type": "object", "properties": {"x": {"type": "array", "items": {"enum": members}}}});
        let cost = analyze(&schema).unwrap();
        assert!(cost.per_value > 9000, "{cost:?}");
        assert!(matches!(cost.admit(&json!({"x": vec![1.5; 1000]})), Err(ArgumentsTooComplex::TooMany(..))));
        assert_eq!(count_values(&json!("x".repeat(640))), Ok(11));
        assert_eq!(count_values(&json!({"y".repeat(128): 1})), Ok(4));
    }

    #[test]
    fn schemas_the_validator_would_resolve_differently_or_follow_too_deep_are_refused() {
        let draft4 = json!({"$schema": "http://json-schema.org/draft-04/schema#", "type": "object"});
        assert!(matches!(analyze(&draft4), Err(SchemaCostError::Unsupported(_))));
        let twice =
            json!({"type": "object", "$defs": {"a": {"$anchor": "A"}, "b": {"$anchor": "A", "type": "string"}}});
        assert_eq!(analyze(&twice), Err(SchemaCostError::DuplicateAnchor("A".to_owned())));
        // 100 definitions, each 30 nested allOfs ending in a reference to the next: 3,000 levels.
        let mut defs = Map::new();
        for level in 0..100 {
            let mut nested = json!({"$ref": format!("#/$defs/d{}", level + 1)});
            for _ in 0..30 {
                nested = json!({"allOf": [nested]});
            }
            defs.insert(format!("d{level}"), nested);
        }
        defs.insert("d100".to_owned(), json!({"type": "string"}));
        let deep = json!({"type": "object", "properties": {"x": {"$ref": "#/$defs/d0"}}, "$defs": defs});
        assert_eq!(analyze(&deep), Err(SchemaCostError::TooDeep));
        let own = json!({"type": "object", "properties": {"again": {"$ref": ""}}});
        assert!(analyze(&own).is_ok(), "an empty reference is the schema itself");
    }

    #[test]
    fn references_must_stay_inside_the_schema() {
        let remote = json!({"type": "object", "properties": {"x": {"$ref": "https://example.com/s.json"}}});
        assert_eq!(analyze(&remote), Err(SchemaCostError::UnresolvedReference));
        let missing = json!({"type": "object", "properties": {"x": {"$ref": "#/$defs/none"}}});
        assert_eq!(analyze(&missing), Err(SchemaCostError::UnresolvedReference));
        let anchored = json!({"type": "object", "properties": {"x": {"$ref": "#name"}}, "$defs": {"n": {"$anchor": "name", "type": "string"}}});
        assert!(analyze(&anchored).is_ok());
        let escaped = json!({"type": "object", "properties": {"x": {"$ref": "#/$defs/a~1b%20c"}}, "$defs": {"a/b c": {"type": "string"}}});
        assert!(analyze(&escaped).is_ok());
        let dynamic = json!({"type": "object", "properties": {"x": {"$dynamicRef": "#meta"}}});
        assert_eq!(analyze(&dynamic), Err(SchemaCostError::Unsupported("$dynamicRef")));
        let nested_id =
            json!({"type": "object", "properties": {"x": {"$id": "https://example.com/x", "type": "string"}}});
        assert!(matches!(analyze(&nested_id), Err(SchemaCostError::Unsupported(_))));
        let own_id = json!({"$id": "https://example.com/s", "type": "object", "properties": {"x": {"$ref": "https://example.com/s#/$defs/t"}}, "$defs": {"t": {"type": "string"}}});
        assert!(analyze(&own_id).is_ok());
    }

    #[test]
    fn arguments_are_refused_when_too_deep_or_too_many_for_the_schema() {
        let cheap = SchemaCost { per_value: 1 };
        let mut deep = json!(1);
        for _ in 0..=MAX_ARGUMENT_DEPTH {
            deep = json!([deep]);
        }
        assert_eq!(cheap.admit(&deep), Err(ArgumentsTooComplex::TooDeep));
        let costly = SchemaCost { per_value: MAX_EVALUATIONS_PER_VALUE };
        let many: Vec<u32> = (0..1000).collect();
        assert!(matches!(costly.admit(&json!({ "x": many })), Err(ArgumentsTooComplex::TooMany(1002, 400))));
        assert!(cheap.admit(&json!({ "x": many })).is_ok());
    }
}
