//! MCP with rmcp, over stdio or Streamable HTTP (see [`crate::http`]): both protocol eras (`initialize`
//! sessions and 2026-07-28 `server/discover` with per-request `_meta`, which rmcp negotiates), `tools/list`,
//! `tools/call`, and `notifications/tools/list_changed` to legacy sessions and `subscriptions/listen` streams.
//!
//! Over HTTP each request carries the authenticated [`Caller`]; a key restricted to some tools sees only those in
//! `tools/list`, and any other tool is unknown to it.
//!
//! Error policy, as MCP intends it: a tool that fails, or arguments that break the tool's schema, give an
//! `isError` result whose text tells the model what to change; an unknown tool or a malformed request is a
//! JSON-RPC error. Neither carries stack traces, SQL or file paths.

pub mod http_client;
mod notifier;
pub mod stdio_client;

use std::sync::Arc;

use rmcp::model::{
    CallToolRequestParams, CallToolResponse, CallToolResult, ContentBlock, CustomRequest, CustomResult, ErrorCode,
    Implementation, InitializeResult, ListToolsResult, PaginatedRequestParams, ServerCapabilities, ServerConfig,
    SubscriptionFilter, Tool, ToolAnnotations,
};
use rmcp::service::{NotificationContext, RequestContext, SubscriptionContext};
use rmcp::{ErrorData as McpError, RoleServer, ServerHandler, ServiceExt};
use tracing::Instrument as _;

use crate::access::Caller;
use crate::registry::{RegisteredTool, Registry, ToolCallError};
use crate::runtime::{self, ToolOutput};

pub use notifier::Notifier;

/// What clients are told about this server when they connect.
const INSTRUCTIONS: &str = "Answers questions about an Intercom workspace from a local, continuously synced copy: \
search conversations (full text and filters), read whole threads, and look up contacts. Answers take about a \
millisecond, so prefer several precise calls over one broad one. Every answer says how fresh the data is.";

/// The MCP face of a [`Registry`]. Cheap to clone: the HTTP transport makes one per session and per request.
#[derive(Clone)]
pub struct McpServer {
    registry: Arc<Registry>,
    notifier: Arc<Notifier>,
}

impl McpServer {
    /// A server for `registry`; its tool-set changes reach every client connected through this server.
    pub fn new(registry: Arc<Registry>) -> Self {
        let notifier = Arc::new(Notifier::default());
        notifier.follow(&registry);
        Self { registry, notifier }
    }

    /// Who list_changed would reach now.
    pub fn notifier(&self) -> &Arc<Notifier> {
        &self.notifier
    }

    pub fn registry(&self) -> &Arc<Registry> {
        &self.registry
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
        context: RequestContext<RoleServer>,
    ) -> Result<ListToolsResult, McpError> {
        let caller = caller(&context);
        let tools = self.registry.tools();
        let visible = tools.iter().filter(|tool| caller.as_ref().is_none_or(|c| c.may_use(&tool.spec.name)));
        Ok(ListToolsResult::with_all_items(visible.map(mcp_tool).collect()))
    }

    async fn call_tool(
        &self,
        request: CallToolRequestParams,
        context: RequestContext<RoleServer>,
    ) -> Result<CallToolResponse, McpError> {
        let caller = caller(&context);
        let key = caller.as_ref().map_or("stdio", |c| &c.key_name);
        let span =
            tracing::info_span!("tool_call", request_id = %request_id(&context), tool = %echoed(&request.name), key);
        async move {
            let started = std::time::Instant::now();
            let response = self.run_call(request, caller.as_ref()).await;
            let failed = match &response {
                Ok(CallToolResponse::Complete(result)) => result.is_error == Some(true),
                Ok(_) => false,
                Err(_) => true,
            };
            tracing::info!(elapsed_ms = started.elapsed().as_secs_f64() * 1e3, failed, "tool call");
            response
        }
        .instrument(span)
        .await
    }

    /// Legacy clients (stdio or an HTTP session) are told of tool-list changes on their session.
    async fn on_initialized(&self, context: NotificationContext<RoleServer>) {
        self.notifier.add_peer(context.peer.clone());
    }

    /// 2026-07-28 clients ask for list_changed on a `subscriptions/listen` stream; that is all we publish.
    fn accepted_subscription_filter(&self, requested: &SubscriptionFilter) -> Option<SubscriptionFilter> {
        Some(requested.supported_by(&self.get_info().capabilities))
    }

    async fn listen(&self, context: SubscriptionContext) -> Result<(), McpError> {
        let sink = context.sink().clone();
        self.notifier.add_listener(sink.clone());
        context.cancelled().await;
        self.notifier.remove_listener(&sink);
        Ok(())
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
            "subscriptions/listen" => {
                "subscriptions/listen needs params {\"notifications\": {\"toolsListChanged\": true}}".to_owned()
            }
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

impl McpServer {
    async fn run_call(
        &self,
        request: CallToolRequestParams,
        caller: Option<&Caller>,
    ) -> Result<CallToolResponse, McpError> {
        let unknown = |name: &str| {
            McpError::invalid_params(
                format!("unknown tool {}; call tools/list to see the available tools", echoed(name)),
                None,
            )
        };
        if caller.is_some_and(|caller| !caller.may_use(&request.name)) {
            // A key restricted to other tools is not told whether this one exists.
            return Err(unknown(&request.name));
        }
        let arguments = request.arguments.unwrap_or_default();
        match self.registry.call(&request.name, arguments).await {
            Ok(output) => Ok(success(output).into()),
            Err(ToolCallError::UnknownTool(name)) => Err(unknown(&name)),
            Err(error) => Ok(CallToolResult::error(vec![ContentBlock::text(error.to_string())]).into()),
        }
    }
}

/// The authenticated caller of an HTTP request (the HTTP layer puts it in the request's extensions, which rmcp
/// hands over as `http::request::Parts`); `None` on stdio.
fn caller(context: &RequestContext<RoleServer>) -> Option<Caller> {
    context.extensions.get::<axum::http::request::Parts>().and_then(|parts| parts.extensions.get::<Caller>()).cloned()
}

/// The id of this call in the logs: the HTTP request's (set by the HTTP layer), or a fresh one on stdio.
fn request_id(context: &RequestContext<RoleServer>) -> String {
    context
        .extensions
        .get::<axum::http::request::Parts>()
        .and_then(|parts| parts.headers.get("x-request-id"))
        .and_then(|value| value.to_str().ok())
        .map_or_else(crate::observability::next_request_id, str::to_owned)
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
    let mut mcp = Tool::new(spec.name.clone(), spec.description.clone(), Arc::clone(&spec.input_schema));
    mcp.title = spec.title.clone();
    mcp.output_schema = spec.output_schema.clone();
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
