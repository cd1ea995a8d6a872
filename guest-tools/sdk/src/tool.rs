//! The plugin side of the `tool` interface: one [`Tool`] per MCP tool, [`crate::export_plugin!`] to export a
//! set of them, and conveniences on the generated types.

use serde::Serialize;
use serde_json::Value;

use crate::types::HostError;
use crate::{Annotations, ContentBlock, ToolDescriptor, ToolError, ToolOutput};

/// One MCP tool. Implement it on a unit struct and list the struct in [`crate::export_plugin!`].
///
/// Every [`crate::TypedTool`] is a `Tool` too (a blanket impl), so implement one or the other on a type, never
/// both (the compiler refuses the second as a conflicting implementation). `Tool` is the raw form: text in,
/// [`ToolOutput`] out, schemas written by hand; use it for text-only answers or hand-tuned schemas.
///
/// Associated functions rather than methods: the host makes a fresh instance for every call, so there is no
/// state to keep between calls, and dispatch is a string comparison per tool with nothing built up front.
pub trait Tool {
    /// The tool's name; must equal `describe().name`. Calls are routed by it.
    const NAME: &'static str;

    /// The descriptor `tools/list` shows. Called once, when the host loads the plugin.
    fn describe() -> ToolDescriptor;

    /// Runs the tool. `arguments` is a JSON object as text that the host validated against the input schema.
    fn call(arguments: &str) -> Result<ToolOutput, ToolError>;
}

/// Exports the listed [`Tool`]s as this component's `tool` interface. [`crate::TypedTool`]s are `Tool`s, so
/// the two kinds mix freely in one list.
///
/// ```ignore
/// struct Hello;
/// impl fastintercom_plugin_sdk::Tool for Hello { /* ... */ }
/// struct CountOpen;
/// impl fastintercom_plugin_sdk::TypedTool for CountOpen { /* ... */ }
/// fastintercom_plugin_sdk::export_plugin!(Hello, CountOpen);
/// ```
///
/// Use it once per component, at the crate root of a `cdylib`.
#[macro_export]
macro_rules! export_plugin {
    ($($tool:ty),+ $(,)?) => {
        // The generated export glue is `unsafe` ABI code; the workspace denies `unsafe_code` everywhere else.
        #[allow(unsafe_code)]
        const _: () = {
            struct __FastintercomPlugin;

            impl $crate::bindings::exports::fastintercom::plugin0_1_0::tool::Guest for __FastintercomPlugin {
                fn describe() -> ::std::vec::Vec<$crate::ToolDescriptor> {
                    ::std::vec![$(<$tool as $crate::Tool>::describe()),+]
                }

                fn call(
                    name: ::std::string::String,
                    arguments: ::std::string::String,
                ) -> ::core::result::Result<$crate::ToolOutput, $crate::ToolError> {
                    $(
                        if name == <$tool as $crate::Tool>::NAME {
                            return <$tool as $crate::Tool>::call(&arguments);
                        }
                    )+
                    ::core::result::Result::Err($crate::unknown_tool(&name))
                }
            }

            $crate::bindings::__export_plugin_world!(__FastintercomPlugin with_types_in $crate::bindings);
        };
    };
}

/// The error for a call to a tool this plugin does not have (the host should never route one here).
#[doc(hidden)]
pub fn unknown_tool(name: &str) -> ToolError {
    ToolError::NotFound(format!("this plugin has no tool named `{name}`"))
}

impl Annotations {
    /// What every query tool is: reads only the local copy, so repeating a call changes nothing.
    pub const READ_ONLY: Annotations =
        Annotations { read_only: true, destructive: false, idempotent: true, open_world: false };
}

impl ToolDescriptor {
    /// A descriptor with [`Annotations::READ_ONLY`] and the schemas serialised.
    pub fn read_only(
        name: &str,
        title: &str,
        description: &str,
        input_schema: &Value,
        output_schema: Option<&Value>,
    ) -> ToolDescriptor {
        ToolDescriptor {
            name: name.to_owned(),
            title: Some(title.to_owned()),
            description: description.to_owned(),
            input_schema: input_schema.to_string(),
            output_schema: output_schema.map(Value::to_string),
            annotations: Annotations::READ_ONLY,
        }
    }
}

impl ToolOutput {
    /// Plain text only, no structured output.
    pub fn text(text: impl Into<String>) -> ToolOutput {
        ToolOutput { content: vec![ContentBlock::Text(text.into())], structured: None }
    }

    /// `value` as structured output, and the same compact JSON as the text block (MCP asks tools with
    /// structured output to repeat it as text for clients that ignore `structuredContent`).
    pub fn json(value: &Value) -> ToolOutput {
        let text = value.to_string();
        ToolOutput { content: vec![ContentBlock::Text(text.clone())], structured: Some(text) }
    }

    /// Like [`ToolOutput::json`] for any `Serialize` value (an [`crate::Envelope`], a `#[derive(Serialize)]`
    /// struct), serialised once, straight to text. Structured output must match an object schema, so a value
    /// that does not serialise as a JSON object is an [`ToolError::Internal`] error rather than an answer that
    /// breaks its schema.
    pub fn serialized<T: Serialize + ?Sized>(value: &T) -> Result<ToolOutput, ToolError> {
        let text = serde_json::to_string(value)
            .map_err(|e| ToolError::Internal(format!("could not serialise the answer: {e}")))?;
        if !text.starts_with('{') {
            let start: String = text.chars().take(40).collect();
            return Err(ToolError::Internal(format!(
                "the answer must serialise as a JSON object (a struct or a map), got `{start}`"
            )));
        }
        Ok(ToolOutput { content: vec![ContentBlock::Text(text.clone())], structured: Some(text) })
    }
}

/// Host errors become tool errors of the same kind, keeping the host's message (which the host guarantees is
/// safe to show), so `?` works on every host call.
impl From<HostError> for ToolError {
    fn from(e: HostError) -> ToolError {
        match e {
            HostError::InvalidArgument(m) => ToolError::InvalidArguments(m),
            HostError::Unavailable(m) => ToolError::Unavailable(m),
            HostError::Internal(m) => ToolError::Internal(m),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn host_errors_keep_their_kind_and_message() {
        assert!(
            matches!(ToolError::from(HostError::InvalidArgument("bad cursor".into())), ToolError::InvalidArguments(m) if m == "bad cursor")
        );
        assert!(
            matches!(ToolError::from(HostError::Unavailable("migrating".into())), ToolError::Unavailable(m) if m == "migrating")
        );
        assert!(matches!(ToolError::from(HostError::Internal("oops".into())), ToolError::Internal(m) if m == "oops"));
    }

    #[test]
    fn read_only_descriptor_serialises_schemas() {
        let d = ToolDescriptor::read_only("t", "T", "does t", &serde_json::json!({"type": "object"}), None);
        assert_eq!(d.input_schema, r#"{"type":"object"}"#);
        assert!(d.output_schema.is_none());
        assert!(
            d.annotations.read_only
                && d.annotations.idempotent
                && !d.annotations.destructive
                && !d.annotations.open_world
        );
    }
}
