//! MCP over stdio with rmcp: both protocol eras (`initialize` sessions and 2026-07-28 `server/discover` with
//! per-request `_meta`, which rmcp negotiates), `tools/list` and `tools/call`.
//!
//! Error policy, as MCP intends it: a tool that fails, or arguments that break the tool's schema, give an
//! `isError` result whose text tells the model what to change; an unknown tool or a malformed request is a
//! JSON-RPC error. Neither carries stack traces, SQL or file paths.

pub mod stdio_client;

use std::sync::Arc;

use rmcp::model::{
    CallToolRequestParams, CallToolResponse, CallToolResult, ContentBlock, CustomRequest, CustomResult, ErrorCode,
    Implementation, InitializeResult, ListToolsResult, PaginatedRequestParams, ServerCapabilities, ServerConfig, Tool,
    ToolAnnotations,
};
use rmcp::service::RequestContext;
use rmcp::{ErrorData as McpError, RoleServer, ServerHandler, ServiceExt};

use crate::registry::{RegisteredTool, Registry, ToolCallError};
use crate::runtime::{self, ToolOutput};

/// What clients are told about this server when they connect.
const INSTRUCTIONS: &str = "Answers questions about an Intercom workspace from a local, continuously synced copy: \
search conversations (full text and filters), read whole threads, and look up contacts. Answers take about a \
millisecond, so prefer several precise calls over one broad one. Every answer says how fresh the data is.";

/// The MCP face of a [`Registry`].
#[derive(Clone)]
pub struct McpServer {
    registry: Arc<Registry>,
}

impl McpServer {
    pub fn new(registry: Arc<Registry>) -> Self {
        Self { registry }
    }

    /// Serves MCP on stdin/stdout until the client disconnects.
    pub async fn serve_stdio(self) -> anyhow::Result<()> {
        let running = self
            .serve(rmcp::transport::io::stdio_pipes())
            .await
            .map_err(|e| anyhow::anyhow!("MCP session failed to start: {e}"))?;
        running.waiting().await.map_err(|e| anyhow::anyhow!("MCP session ended abnormally: {e}"))?;
        Ok(())
    }
}

impl ServerHandler for McpServer {
    fn get_info(&self) -> ServerConfig {
        let mut info =
            InitializeResult::new(ServerCapabilities::builder().enable_tools().enable_tool_list_changed().build());
        info.server_info = Implementation::new("fastintercom", env!("CARGO_PKG_VERSION")).with_title("fastintercom");
        info.instructions = Some(INSTRUCTIONS.to_owned());
        info
    }

    async fn list_tools(
        &self,
        _request: Option<PaginatedRequestParams>,
        _context: RequestContext<RoleServer>,
    ) -> Result<ListToolsResult, McpError> {
        Ok(ListToolsResult::with_all_items(self.registry.tools().iter().map(mcp_tool).collect()))
    }

    async fn call_tool(
        &self,
        request: CallToolRequestParams,
        _context: RequestContext<RoleServer>,
    ) -> Result<CallToolResponse, McpError> {
        let arguments = request.arguments.unwrap_or_default();
        match self.registry.call(&request.name, arguments).await {
            Ok(output) => Ok(success(output).into()),
            Err(ToolCallError::UnknownTool(name)) => Err(McpError::invalid_params(
                format!("unknown tool {}; call tools/list to see the available tools", echoed(&name)),
                None,
            )),
            Err(error) => Ok(CallToolResult::error(vec![ContentBlock::text(error.to_string())]).into()),
        }
    }

    /// rmcp hands over requests whose method it knows but whose params it could not parse (a `tools/call`
    /// without a `name`, say) as custom requests; those are invalid params, not unknown methods.
    async fn on_custom_request(
        &self,
        request: CustomRequest,
        _context: RequestContext<RoleServer>,
    ) -> Result<CustomResult, McpError> {
        let message = match request.method.as_str() {
            "tools/call" => "tools/call needs params {\"name\": <tool name>, \"arguments\": {...}}".to_owned(),
            "tools/list" => "tools/list takes optional params {\"cursor\": <string>}".to_owned(),
            other => {
                let message = format!("method not found: {}", echoed(other));
                return Err(McpError::new(ErrorCode::METHOD_NOT_FOUND, message, None));
            }
        };
        Err(McpError::invalid_params(message, None))
    }

    fn get_tool(&self, name: &str) -> Option<Tool> {
        self.registry.tools().get(name).map(|tool| mcp_tool(tool))
    }
}

/// A client-supplied name as it may appear in an error: quoted, and cut short so a hostile request cannot make
/// the server echo megabytes back.
fn echoed(name: &str) -> String {
    const MAX_CHARS: usize = 100;
    let mut shown: String = name.chars().take(MAX_CHARS).collect();
    if shown.len() < name.len() {
        shown.push('…');
    }
    format!("{shown:?}")
}

fn success(output: ToolOutput) -> CallToolResult {
    let content = output
        .content
        .into_iter()
        .map(|block| match block {
            runtime::ContentBlock::Text(text) => ContentBlock::text(text),
        })
        .collect();
    let mut result = CallToolResult::success(content);
    result.structured_content = output.structured;
    result
}

/// A registered tool as MCP describes it.
fn mcp_tool(tool: &RegisteredTool) -> Tool {
    let spec = &tool.spec;
    let mut mcp = Tool::new(spec.name.clone(), spec.description.clone(), Arc::new(spec.input_schema.clone()));
    mcp.title = spec.title.clone();
    mcp.output_schema = spec.output_schema.clone().map(Arc::new);
    let hints = spec.annotations;
    let mut annotations = ToolAnnotations::new()
        .read_only(hints.read_only)
        .destructive(hints.destructive)
        .idempotent(hints.idempotent)
        .open_world(hints.open_world);
    annotations.title = spec.title.clone();
    mcp.annotations = Some(annotations);
    mcp
}
