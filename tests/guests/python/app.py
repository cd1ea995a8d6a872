"""`py_thread_stats`: counts of one conversation's thread, written in Python.

The second guest language of fastintercom: a plugin built with componentize-py (see `build.sh`) against the
contract in `wit/0.1.0`, world `plugin`. It exports `tool` and uses only the host's `conversations` interface
(and the `types` it shares); `build.sh` narrows the component's imports to those, so `plugin.toml` grants only
`conversations`. The host validates the arguments against `INPUT_SCHEMA` before `call` runs, so the checks below
are only a second line of defence.
"""

import json
import re

from componentize_py_types import Err
from wit_world import exports
from wit_world.exports import tool
from wit_world.imports import conversations, types

NAME = "py_thread_stats"

# The author types Intercom uses; they are always present in `by_author_type` (zero when absent) so that the
# shape of the answer does not depend on the thread. Any other type the host reports is added as it comes.
AUTHOR_TYPES = ("user", "lead", "admin", "bot", "team")

INPUT_SCHEMA = {
    "type": "object",
    "properties": {
        "id": {
            "type": "string",
            "minLength": 1,
            "description": "The conversation id, as search_conversations returns it.",
        }
    },
    "required": ["id"],
    "additionalProperties": False,
}

OUTPUT_SCHEMA = {
    "type": "object",
    "properties": {
        "id": {"type": "string", "description": "The conversation id."},
        "parts": {
            "type": "integer",
            "minimum": 0,
            "description": "Conversation parts (replies, notes and events) after the first message.",
        },
        "words": {
            "type": "integer",
            "minimum": 0,
            "description": "Whitespace-separated words in the bodies of those parts.",
        },
        "by_author_type": {
            "type": "object",
            "description": "Parts per author type (user, lead, admin, bot, team).",
            "additionalProperties": {"type": "integer", "minimum": 0},
        },
        "truncated": {
            "type": "boolean",
            "description": "Intercom returned fewer parts than the conversation has (it caps at 500).",
        },
        "instance_calls": {
            "type": "integer",
            "minimum": 1,
            "description": (
                "Calls this instance of the plugin has answered, this one included: always 1 when the host gives "
                "every call a fresh instance, rising when the operator lets it reuse warm instances."
            ),
        },
    },
    "required": ["id", "parts", "words", "by_author_type", "truncated", "instance_calls"],
    "additionalProperties": False,
}

_WORD = re.compile(r"\S+")

# Calls answered by this instance. Module state lives as long as the instance: the host's instance policy decides
# whether that is one call (fresh, the default) or many (warm).
_instance_calls = 0


def _fail(error: tool.ToolError):
    """The exception that makes `call` return `error` to the host."""
    return Err(error)


def _from_host(error: types.HostError) -> tool.ToolError:
    """Maps a host error to the matching tool error, keeping the host's (user-safe) message."""
    if isinstance(error, types.HostError_InvalidArgument):
        return tool.ToolError_InvalidArguments(error.value)
    if isinstance(error, types.HostError_Unavailable):
        return tool.ToolError_Unavailable(error.value)
    if isinstance(error, types.HostError_Internal):
        return tool.ToolError_Internal(error.value)
    return tool.ToolError_Internal(f"the host failed in an unexpected way: {error!r}")


def _arguments(text: str) -> str:
    try:
        arguments = json.loads(text)
    except ValueError as e:
        raise _fail(tool.ToolError_InvalidArguments(f"arguments are not JSON: {e}"))
    if not isinstance(arguments, dict):
        raise _fail(tool.ToolError_InvalidArguments("arguments must be a JSON object"))
    unknown = sorted(set(arguments) - {"id"})
    if unknown:
        names = ", ".join(unknown)
        raise _fail(tool.ToolError_InvalidArguments(f"unknown argument(s): {names}; only `id` is accepted"))
    conversation_id = arguments.get("id")
    if not isinstance(conversation_id, str) or not conversation_id:
        raise _fail(tool.ToolError_InvalidArguments("`id` must be a non-empty string (a conversation id)"))
    return conversation_id


def thread_stats(conversation_id: str) -> dict:
    """Fetches the conversation through the host and counts its parts, words and authors."""
    try:
        conversation = conversations.get(conversation_id)
    except Err as e:
        raise _fail(_from_host(e.value))
    if conversation is None:
        raise _fail(
            tool.ToolError_NotFound(
                f"No conversation with id {conversation_id}; use search_conversations to find conversation ids."
            )
        )
    by_author_type = dict.fromkeys(AUTHOR_TYPES, 0)
    words = 0
    for part in conversation.parts:
        kind = part.author.kind or "unknown"
        by_author_type[kind] = by_author_type.get(kind, 0) + 1
        if part.body:
            words += len(_WORD.findall(part.body))
    return {
        "id": conversation.summary.id,
        "parts": len(conversation.parts),
        "words": words,
        "by_author_type": by_author_type,
        "truncated": conversation.parts_truncated,
    }


class Tool(exports.Tool):
    """The exported `tool` interface."""

    def describe(self) -> list[tool.ToolDescriptor]:
        return [
            tool.ToolDescriptor(
                name=NAME,
                title="Thread statistics (Python)",
                description=(
                    "Counts one Intercom conversation's thread: how many parts (replies, notes and events after "
                    "the first message) it has, how many words their bodies hold, and how many parts each author "
                    "type (user, lead, admin, bot, team) wrote. Use it to size up a thread before reading it "
                    "with get_conversation; find the id with search_conversations."
                ),
                input_schema=json.dumps(INPUT_SCHEMA),
                output_schema=json.dumps(OUTPUT_SCHEMA),
                annotations=tool.Annotations(read_only=True, destructive=False, idempotent=True, open_world=False),
            )
        ]

    def call(self, name: str, arguments: str) -> tool.ToolOutput:
        if name != NAME:
            raise _fail(tool.ToolError_NotFound(f"this plugin has no tool named `{name}`"))
        try:
            stats = thread_stats(_arguments(arguments))
        except Err:
            raise
        except Exception as e:  # a bug here must be a tool error, not a trap that kills the call
            raise _fail(tool.ToolError_Internal(f"py_thread_stats failed: {type(e).__name__}: {e}"))
        global _instance_calls
        _instance_calls += 1
        stats["instance_calls"] = _instance_calls
        text = json.dumps(stats, separators=(",", ":"))
        return tool.ToolOutput(content=[tool.ContentBlock_Text(text)], structured=text)
