//! Typed tools: a tool written as a Rust function from an arguments type to an answer type, with everything
//! else derived from the two types.
//!
//! A [`TypedTool`] names its `Args` (`serde::Deserialize` + `schemars::JsonSchema`) and its `Output`
//! (`serde::Serialize` + `schemars::JsonSchema`) and implements [`TypedTool::run`]. The SDK derives:
//!
//! - the input schema from `Args` ([`input_schema_of`]): JSON Schema 2020-12, self-contained (subschemas
//!   inlined; only a recursive type leaves a `$ref` into the same document's `$defs`), `"type": "object"` at the
//!   root, `"additionalProperties": false` when the struct has `#[serde(deny_unknown_fields)]`, `required`
//!   listing the fields without `Option` or `#[serde(default)]`, enums as `enum`, doc comments as
//!   `description`s;
//! - the output schema from `Output` ([`output_schema_of`]), for what serialising produces
//!   (`skip_serializing_if` makes a field optional, ...); answer with an [`crate::Envelope`]`<T>` to get the
//!   standard envelope and its schema;
//! - the descriptor (`describe`), from the consts and the two schemas;
//! - the call: arguments parsed with [`crate::parse_args`] (an error names the offending field), the answer
//!   serialised once, as structured output and the same compact JSON as the text block
//!   ([`ToolOutput::serialized`]).
//!
//! Schemas are built only in `describe`, which the host calls once, when it loads the plugin; a call only
//! deserialises, runs and serialises.
//!
//! # How it plugs in
//!
//! A blanket `impl<T: TypedTool> Tool for T` makes every typed tool a [`Tool`], so [`crate::export_plugin!`]
//! takes typed and hand-written tools in the same list. Coherence allows it because the tools are the plugin
//! crate's own types: a type implements either trait, not both (the compiler refuses that as a conflicting
//! implementation of `Tool`). One consequence: with both traits imported, `MyTool::NAME` is ambiguous;
//! import only [`TypedTool`] in a typed tool's module, or write `<MyTool as TypedTool>::NAME`.
//!
//! # Dependencies of a plugin crate
//!
//! `#[derive(JsonSchema)]` expands to paths starting with `schemars::`, so a plugin crate depends on
//! `schemars = "1"` itself, next to `serde` (with `derive`); Cargo unifies it with the SDK's.
//!
//! # What the schema cannot say
//!
//! The host validates every call against the input schema, so `#[schemars(range(min = 1, max = 100))]`,
//! `#[schemars(length(min = 1))]` and the like are enforced there; serde does not check them again in the
//! guest. Check in `run` whatever the tool relies on beyond the types. `Args` and `Output` must be JSON objects
//! (structs, or maps): the host refuses a tool whose schema root is another type, and an answer that does not
//! serialise as an object is an internal error.

use schemars::JsonSchema;
use schemars::generate::SchemaSettings;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::args::parse_args;
use crate::{Annotations, Tool, ToolDescriptor, ToolError, ToolOutput};

/// One MCP tool as a typed function; see the [module docs](self) for what is derived from it.
///
/// ```ignore
/// use fastintercom_plugin_sdk::{Envelope, ToolError, TypedTool};
/// use schemars::JsonSchema;
/// use serde::{Deserialize, Serialize};
///
/// #[derive(Deserialize, JsonSchema)]
/// #[serde(deny_unknown_fields)]
/// struct GreetArgs {
///     /// Who to greet.
///     name: String,
/// }
///
/// #[derive(Serialize, JsonSchema)]
/// struct Greeting {
///     text: String,
/// }
///
/// struct Greet;
///
/// impl TypedTool for Greet {
///     const NAME: &'static str = "greet";
///     const TITLE: &'static str = "Greet";
///     const DESCRIPTION: &'static str = "Greets someone by name.";
///     type Args = GreetArgs;
///     type Output = Envelope<Greeting>;
///
///     fn run(args: GreetArgs) -> Result<Envelope<Greeting>, ToolError> {
///         Ok(Envelope::new(vec![Greeting { text: format!("Hello, {}!", args.name) }]))
///     }
/// }
///
/// fastintercom_plugin_sdk::export_plugin!(Greet);
/// ```
pub trait TypedTool {
    /// The tool's name (1-64 characters of `a-zA-Z0-9_-`), unique across the loaded plugins.
    const NAME: &'static str;
    /// Human-readable name.
    const TITLE: &'static str;
    /// What the tool does and when to use it, written for a language model.
    const DESCRIPTION: &'static str;
    /// Hints to clients; a query tool keeps the default, [`Annotations::READ_ONLY`].
    const ANNOTATIONS: Annotations = Annotations::READ_ONLY;

    /// The arguments, deserialised from the call's JSON object; [`NoArgs`] for a tool that takes none.
    type Args: DeserializeOwned + JsonSchema;
    /// The answer; [`crate::Envelope`]`<T>` for the standard envelope. Must serialise as a JSON object.
    type Output: Serialize + JsonSchema;

    /// Runs the tool. Host errors convert to [`ToolError`] with `?`.
    fn run(args: Self::Args) -> Result<Self::Output, ToolError>;
}

/// Every typed tool is a [`Tool`], so [`crate::export_plugin!`] takes it like any other.
impl<T: TypedTool> Tool for T {
    const NAME: &'static str = <T as TypedTool>::NAME;

    fn describe() -> ToolDescriptor {
        ToolDescriptor {
            name: <T as TypedTool>::NAME.to_owned(),
            title: Some(T::TITLE.to_owned()),
            description: T::DESCRIPTION.to_owned(),
            input_schema: input_schema_of::<T::Args>().to_string(),
            output_schema: Some(output_schema_of::<T::Output>().to_string()),
            annotations: T::ANNOTATIONS,
        }
    }

    fn call(arguments: &str) -> Result<ToolOutput, ToolError> {
        let args = parse_args::<T::Args>(arguments)?;
        ToolOutput::serialized(&T::run(args)?)
    }
}

/// The arguments of a tool that takes none: `{}` (or empty text); any argument is refused.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(description = "")]
pub struct NoArgs {}

/// The input schema of a tool whose arguments deserialise into `T` (see the [module docs](self)); also usable
/// by a hand-written [`Tool`]'s `describe`.
pub fn input_schema_of<T: JsonSchema + ?Sized>() -> Value {
    let settings = SchemaSettings::draft2020_12().for_deserialize().with(|s| s.inline_subschemas = true);
    object_root(settings.into_generator().into_root_schema_for::<T>().to_value(), &T::schema_name())
}

/// The output schema of a tool whose structured output is `T` serialised (see the [module docs](self)); also
/// usable by a hand-written [`Tool`]'s `describe`.
pub fn output_schema_of<T: JsonSchema + ?Sized>() -> Value {
    let settings = SchemaSettings::draft2020_12().for_serialize().with(|s| s.inline_subschemas = true);
    object_root(settings.into_generator().into_root_schema_for::<T>().to_value(), &T::schema_name())
}

/// Finishes a root schema: drops the `title` schemars makes of the Rust type's name (a doc-comment title
/// stays), and says `"type": "object"` where the schema allows objects without saying only objects (`true`
/// for any JSON value, an internally tagged enum's `oneOf`, `["object", "null"]`). That narrowing is sound:
/// arguments are always an object, and an answer must be one. A root that allows no object (a string, an
/// array) is left as it is, for the host to refuse with a message naming the tool.
fn object_root(mut schema: Value, type_name: &str) -> Value {
    if let Value::Object(map) = &mut schema {
        if map.get("title").and_then(Value::as_str) == Some(type_name) {
            map.remove("title");
        }
        let allows_objects = match map.get("type") {
            None => true,
            Some(Value::Array(types)) => types.iter().any(|t| t == "object"),
            Some(other) => other == "object",
        };
        if allows_objects {
            map.insert("type".to_owned(), Value::from("object"));
        }
    }
    schema
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use schemars::JsonSchema;
    use serde::{Deserialize, Serialize};
    use serde_json::{Value, json};

    use super::*;
    use crate::{ContentBlock, Envelope};

    /// Which conversations to count.
    #[derive(Debug, Deserialize, JsonSchema)]
    #[serde(deny_unknown_fields)]
    struct CountArgs {
        /// Words to look for.
        query: String,
        /// Only conversations in this state.
        state: Option<State>,
        /// Most results to return.
        #[serde(default = "default_limit")]
        #[schemars(range(min = 1, max = 100))]
        limit: u32,
        /// Conversations with all these tags.
        #[serde(default)]
        tags: Vec<String>,
        /// A window of time.
        window: Option<Window>,
    }

    fn default_limit() -> u32 {
        20
    }

    #[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
    #[serde(rename_all = "snake_case")]
    enum State {
        Open,
        Closed,
        Snoozed,
    }

    #[derive(Debug, Deserialize, JsonSchema)]
    #[serde(deny_unknown_fields)]
    struct Window {
        /// Days back from now.
        days: u16,
    }

    /// Lenient arguments: unknown ones are ignored.
    #[derive(Debug, Deserialize, JsonSchema)]
    #[allow(dead_code)]
    struct Lenient {
        id: String,
    }

    #[derive(Debug, Serialize, JsonSchema)]
    struct Hit {
        /// The conversation id.
        id: String,
        state: State,
        #[serde(skip_serializing_if = "Option::is_none")]
        title: Option<String>,
    }

    struct Count;

    impl TypedTool for Count {
        const NAME: &'static str = "count_conversations";
        const TITLE: &'static str = "Count conversations";
        const DESCRIPTION: &'static str = "Counts conversations.";
        type Args = CountArgs;
        type Output = Envelope<Hit>;

        fn run(args: CountArgs) -> Result<Envelope<Hit>, ToolError> {
            if args.query == "nothing" {
                return Err(ToolError::NotFound("no such conversation".to_owned()));
            }
            let state = args.state.unwrap_or(State::Open);
            let hits = (0..args.limit.min(2)).map(|i| Hit { id: format!("c{i}"), state, title: None }).collect();
            Ok(Envelope::new(hits).total(u64::from(args.limit)).query_ms(0.5))
        }
    }

    /// A plain struct answer, a tool that changes things, and no arguments.
    struct Touch;

    #[derive(Serialize, JsonSchema)]
    struct Touched {
        touched: bool,
        at: Option<String>,
    }

    impl TypedTool for Touch {
        const NAME: &'static str = "touch";
        const TITLE: &'static str = "Touch";
        const DESCRIPTION: &'static str = "Touches.";
        const ANNOTATIONS: Annotations =
            Annotations { read_only: false, destructive: false, idempotent: true, open_world: false };
        type Args = NoArgs;
        type Output = Touched;

        fn run(NoArgs {}: NoArgs) -> Result<Touched, ToolError> {
            Ok(Touched { touched: true, at: None })
        }
    }

    /// A loose answer type that can break the object rule.
    struct Loose;

    impl TypedTool for Loose {
        const NAME: &'static str = "loose";
        const TITLE: &'static str = "Loose";
        const DESCRIPTION: &'static str = "Returns whatever `value` is.";
        type Args = BTreeMap<String, Value>;
        type Output = Value;

        fn run(mut args: BTreeMap<String, Value>) -> Result<Value, ToolError> {
            Ok(args.remove("value").unwrap_or_default())
        }
    }

    /// A hand-written tool, to export next to typed ones.
    struct Legacy;

    impl Tool for Legacy {
        const NAME: &'static str = "legacy";

        fn describe() -> ToolDescriptor {
            ToolDescriptor::read_only(Self::NAME, "Legacy", "Says hi.", &json!({"type": "object"}), None)
        }

        fn call(_arguments: &str) -> Result<ToolOutput, ToolError> {
            Ok(ToolOutput::text("hi"))
        }
    }

    // Typed and hand-written tools in one export list (compiles natively too: the export is just functions).
    crate::export_plugin!(Count, Touch, Loose, Legacy);

    fn message(e: ToolError) -> String {
        match e {
            ToolError::InvalidArguments(m) => m,
            other => panic!("expected invalid-arguments, got {other:?}"),
        }
    }

    fn parse(arguments: &str) -> Result<CountArgs, ToolError> {
        parse_args::<CountArgs>(arguments)
    }

    fn schemas<T: Tool>() -> (Value, Value) {
        let d = T::describe();
        let input = serde_json::from_str(&d.input_schema).unwrap();
        let output = serde_json::from_str(d.output_schema.as_deref().unwrap()).unwrap();
        (input, output)
    }

    fn validator(schema: &Value) -> jsonschema::Validator {
        jsonschema::validator_for(schema).unwrap_or_else(|e| panic!("invalid schema {schema}: {e}"))
    }

    #[test]
    fn input_schema_follows_the_args_struct() {
        let (schema, _) = schemas::<Count>();
        assert_eq!(
            schema,
            json!({
                "$schema": "https://json-schema.org/draft/2020-12/schema",
                "description": "Which conversations to count.",
                "type": "object",
                "properties": {
                    "query": {"type": "string", "description": "Words to look for."},
                    "state": {
                        "type": ["string", "null"],
                        "enum": ["open", "closed", "snoozed", null],
                        "description": "Only conversations in this state."
                    },
                    "limit": {
                        "type": "integer", "format": "uint32", "minimum": 1, "maximum": 100, "default": 20,
                        "description": "Most results to return."
                    },
                    "tags": {
                        "type": "array", "items": {"type": "string"}, "default": [],
                        "description": "Conversations with all these tags."
                    },
                    "window": {
                        "type": ["object", "null"],
                        "properties": {
                            "days": {"type": "integer", "format": "uint16", "minimum": 0, "maximum": 65535, "description": "Days back from now."}
                        },
                        "required": ["days"],
                        "additionalProperties": false,
                        "description": "A window of time."
                    }
                },
                "required": ["query"],
                "additionalProperties": false
            })
        );
        assert!(!schema.to_string().contains("$ref"), "subschemas are inlined: {schema}");
    }

    #[test]
    fn the_host_validator_accepts_the_schema_and_enforces_it() {
        let (schema, _) = schemas::<Count>();
        let v = validator(&schema);
        assert!(v.is_valid(&json!({"query": "refund"})));
        assert!(v.is_valid(
            &json!({"query": "refund", "state": "open", "limit": 5, "tags": ["vip"], "window": {"days": 7}})
        ));
        assert!(v.is_valid(&json!({"query": "refund", "state": null, "window": null})));
        for bad in [
            json!({}),
            json!({"query": "refund", "extra": 1}),
            json!({"query": "refund", "state": "pending"}),
            json!({"query": "refund", "limit": 0}),
            json!({"query": "refund", "window": {"days": 7, "hours": 1}}),
        ] {
            assert!(!v.is_valid(&bad), "{bad}");
        }
    }

    #[test]
    fn without_deny_unknown_fields_extra_arguments_are_allowed() {
        let schema = input_schema_of::<Lenient>();
        assert_eq!(schema["type"], "object");
        assert!(schema.get("additionalProperties").is_none(), "{schema}");
        assert_eq!(schema["required"], json!(["id"]));
        assert!(parse_args::<Lenient>(r#"{"id":"1","extra":true}"#).is_ok());
    }

    #[test]
    fn no_args_is_an_empty_closed_object() {
        let (schema, output) = schemas::<Touch>();
        assert_eq!(
            schema,
            json!({
                "$schema": "https://json-schema.org/draft/2020-12/schema",
                "type": "object",
                "additionalProperties": false
            })
        );
        validator(&schema);
        assert_eq!(parse_args::<NoArgs>("").unwrap(), NoArgs {});
        assert_eq!(parse_args::<NoArgs>(" {} ").unwrap(), NoArgs {});
        assert!(message(parse_args::<NoArgs>(r#"{"x":1}"#).unwrap_err()).starts_with("unknown field `x`"));
        // The output schema describes serialisation: `at` is always written, so it is required.
        assert_eq!(output["required"], json!(["touched", "at"]));
        assert_eq!(output["type"], "object");
    }

    #[test]
    fn loose_schemas_are_narrowed_to_objects() {
        let (input, output) = schemas::<Loose>();
        assert_eq!(input["type"], "object");
        assert_eq!(output, json!({"$schema": "https://json-schema.org/draft/2020-12/schema", "type": "object"}));
        validator(&input);
        validator(&output);
        let call = |args: &str| <Loose as Tool>::call(args);
        assert!(call(r#"{"value":{"a":1}}"#).is_ok());
        let err = call(r#"{"value":[1,2]}"#).unwrap_err();
        assert!(matches!(&err, ToolError::Internal(m) if m.contains("must serialise as a JSON object")), "{err:?}");
    }

    #[test]
    fn non_object_roots_are_left_for_the_host_to_refuse() {
        assert_eq!(input_schema_of::<String>()["type"], "string");
        assert_eq!(output_schema_of::<Vec<u8>>()["type"], "array");
        assert_eq!(output_schema_of::<Option<Hit>>()["type"], "object");
    }

    #[test]
    fn argument_errors_name_the_field() {
        assert_eq!(
            message(parse(r#"{"query":3}"#).unwrap_err()),
            "`query`: invalid type: integer `3`, expected a string"
        );
        assert_eq!(
            message(parse(r#"{"query":"a","state":"pending"}"#).unwrap_err()),
            "`state`: unknown variant `pending`, expected one of `open`, `closed`, `snoozed`"
        );
        assert_eq!(
            message(parse(r#"{"query":"a","limit":-1}"#).unwrap_err()),
            "`limit`: invalid value: integer `-1`, expected u32"
        );
        assert_eq!(
            message(parse(r#"{"query":"a","tags":["x",2]}"#).unwrap_err()),
            "`tags[1]`: invalid type: integer `2`, expected a string"
        );
        assert_eq!(
            message(parse(r#"{"query":"a","window":{"days":"seven"}}"#).unwrap_err()),
            "`window.days`: invalid type: string \"seven\", expected u16"
        );
        assert_eq!(message(parse(r#"{"window":{"days":1}}"#).unwrap_err()), "missing field `query`");
        assert_eq!(
            message(parse(r#"{"query":"a","limt":5}"#).unwrap_err()),
            "unknown field `limt`, expected one of `query`, `state`, `limit`, `tags`, `window`"
        );
        assert_eq!(
            message(parse(r#"{"query":"a","window":{"days":1,"hours":1}}"#).unwrap_err()),
            "`window`: unknown field `hours`, expected `days`"
        );
        assert_eq!(
            message(parse(r#"{"query":"a""#).unwrap_err()),
            "the arguments are not valid JSON: EOF while parsing an object"
        );
        assert_eq!(message(parse(r#"["a"]"#).unwrap_err()), r#"the arguments must be a JSON object, got ["a"]"#);
        assert_eq!(message(parse("").unwrap_err()), "missing field `query`");
    }

    #[test]
    fn arguments_parse_with_defaults_and_whole_floats() {
        let args = parse(r#"{"query":"refund","limit":10.0,"window":{"days":7}}"#).unwrap();
        assert_eq!((args.query.as_str(), args.limit, args.state), ("refund", 10, None));
        assert_eq!(args.window.unwrap().days, 7);
        assert!(args.tags.is_empty());
        assert_eq!(parse(r#"{"query":"x","state":null}"#).unwrap().limit, 20);
        assert!(message(parse(r#"{"query":"x","limit":1.5}"#).unwrap_err()).starts_with("`limit`: invalid type"));
    }

    #[test]
    fn describe_uses_the_consts_and_read_only_by_default() {
        let d = <Count as Tool>::describe();
        assert_eq!(d.name, "count_conversations");
        assert_eq!(<Count as Tool>::NAME, "count_conversations");
        assert_eq!(d.title.as_deref(), Some("Count conversations"));
        assert_eq!(d.description, "Counts conversations.");
        let a = d.annotations;
        assert!(a.read_only && a.idempotent && !a.destructive && !a.open_world);
        let a = <Touch as Tool>::describe().annotations;
        assert!(!a.read_only && a.idempotent);
    }

    #[test]
    fn answers_are_the_envelope_as_structured_json_and_text() {
        let output = <Count as Tool>::call(r#"{"query":"refund","state":"closed","limit":7}"#).unwrap();
        let structured = output.structured.clone().unwrap();
        assert!(matches!(&output.content[..], [ContentBlock::Text(text)] if *text == structured));
        assert_eq!(
            structured,
            r#"{"summary":{"total":7,"returned":2,"query_ms":0.5},"results":[{"id":"c0","state":"closed"},{"id":"c1","state":"closed"}],"pagination":{"next_cursor":null,"has_more":false},"metadata":{"filters":{},"data_as_of":null,"source":"empty"}}"#
        );
        // Exactly what a hand-written tool answering with the same envelope returns.
        let hits = vec![
            Hit { id: "c0".into(), state: State::Closed, title: None },
            Hit { id: "c1".into(), state: State::Closed, title: None },
        ];
        let by_hand = Envelope::new(hits).total(7).query_ms(0.5).into_output().unwrap();
        assert_eq!(by_hand.structured.as_deref(), Some(structured.as_str()));

        let (_, schema) = schemas::<Count>();
        let answer: Value = serde_json::from_str(&structured).unwrap();
        assert!(validator(&schema).is_valid(&answer), "{answer} against {schema}");
    }

    #[test]
    fn output_schema_is_the_envelope_around_the_item() {
        let (_, schema) = schemas::<Count>();
        assert_eq!(schema["$schema"], "https://json-schema.org/draft/2020-12/schema");
        assert_eq!(schema["type"], "object");
        assert_eq!(schema["required"], json!(["summary", "results", "pagination", "metadata"]));
        let item = &schema["properties"]["results"]["items"];
        assert_eq!(item["type"], "object");
        assert_eq!(item["required"], json!(["id", "state"]), "`title` is skipped when empty: {item}");
        assert_eq!(item["properties"]["id"], json!({"type": "string", "description": "The conversation id."}));
        assert_eq!(item["properties"]["state"]["enum"], json!(["open", "closed", "snoozed"]));
        assert!(!schema.to_string().contains("$ref"), "{schema}");
        let mut expected = crate::envelope_output_schema(item.clone());
        expected["$schema"] = schema["$schema"].clone();
        assert_eq!(schema, expected);
    }

    #[test]
    fn tool_errors_and_argument_errors_come_back_from_call() {
        assert!(matches!(<Count as Tool>::call(r#"{"query":"nothing"}"#), Err(ToolError::NotFound(_))));
        assert!(matches!(<Count as Tool>::call(r#"{"query":1}"#), Err(ToolError::InvalidArguments(_))));
        let touched = <Touch as Tool>::call("").unwrap();
        assert_eq!(touched.structured.as_deref(), Some(r#"{"touched":true,"at":null}"#));
    }

    #[derive(Serialize, Deserialize, JsonSchema)]
    struct Node {
        name: String,
        children: Vec<Node>,
    }

    #[test]
    fn recursive_types_refer_within_the_document() {
        #[derive(Serialize, JsonSchema)]
        struct Tree {
            root: Node,
        }
        let schema = output_schema_of::<Tree>();
        assert_eq!(schema["type"], "object");
        let text = schema.to_string();
        assert!(text.contains(r##""$ref":"#/$defs/Node""##), "{text}");
        assert!(schema["$defs"]["Node"].is_object(), "{text}");
        let v = validator(&schema);
        assert!(v.is_valid(&json!({"root": {"name": "a", "children": [{"name": "b", "children": []}]}})));
        assert!(!v.is_valid(&json!({"root": {"name": "a", "children": [{"name": 1, "children": []}]}})));
    }
}
