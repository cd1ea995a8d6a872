"""Drives fastintercom with the official MCP Python SDK (`mcp` on PyPI), as a third-party client would.

    python_client.py stdio <fastintercom-exe> <data-dir> <mode>
    python_client.py http <url> <api-key or -> <mode>

<mode> is the SDK's connect mode: `legacy` (initialize, a session) or `2026-07-28` (server/discover, stateless).
Lists the tools, calls search_conversations and get_conversation, and prints one JSON line with what it saw;
the Rust test compares it with the demo workspace.
"""

import asyncio
import json
import sys

import httpx2
from mcp import Client, StdioServerParameters
from mcp.client.streamable_http import streamable_http_client


async def exercise(client):
    tools = sorted(tool.name for tool in (await client.list_tools()).tools)
    search = await client.call_tool("search_conversations", {"limit": 2, "sort": "newest"})
    first = search.structured_content["results"][0]["id"]
    thread = await client.call_tool("get_conversation", {"id": first})
    bad = await client.call_tool("search_conversations", {"limit": 0})
    return {
        "tools": tools,
        "total": search.structured_content["summary"]["total"],
        "search_is_error": search.is_error,
        "first_id": first,
        "thread_id": thread.structured_content["results"][0]["id"],
        "thread_is_error": thread.is_error,
        "bad_is_error": bad.is_error,
    }


async def main():
    transport, target, extra, mode = sys.argv[1:5]
    if transport == "stdio":
        params = StdioServerParameters(command=target, args=["--data-dir", extra, "serve"])
        async with Client(params, mode=mode) as client:
            seen = await exercise(client)
    else:
        headers = {} if extra == "-" else {"Authorization": f"Bearer {extra}"}
        async with httpx2.AsyncClient(headers=headers, timeout=60) as http:
            async with Client(streamable_http_client(target, http_client=http), mode=mode) as client:
                seen = await exercise(client)
    print(json.dumps(seen))


asyncio.run(main())
