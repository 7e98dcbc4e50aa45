"""``generateContent`` for text models: the emulator's answer to a post-call summary request.

The Live API is a WebSocket; text generation is plain HTTPS
(``POST /{version}/models/{model}:generateContent``), so it is served by a small HTTP/1.1 server
of its own, on its own port, with the emulator's certificate. Its answer is deterministic and
derived from the prompt alone, the way a test needs it: the prompt's transcript lines
(``caller: ...`` / ``agent: ...``), its ``Call ended: <reason>`` line and the JSON schema of
the fields it asks for between ``<fields_schema>`` tags. The reply is a JSON object in the
shape the summary prompt requests (``summary``, ``outcome``, ``follow_ups``, ``fields``).
A warm transfer's briefing request (it holds ``<transfer_reason>`` tags) is answered with a
short spoken text instead: the reason and the caller's last words (``brief``).

``TextConfig.fail_next`` makes the next requests answer 503, as an overloaded service does.
"""

import asyncio
import contextlib
import json
import logging
import re
import ssl
from dataclasses import dataclass, field
from http import HTTPStatus
from typing import Any

logger = logging.getLogger(__name__)

_PATH = re.compile(r"^/(v1alpha|v1beta|v1)/models/([A-Za-z0-9._-]+):generateContent$")
_MAX_BODY = 1024 * 1024
_SCHEMA = re.compile(r"<fields_schema>(.*?)</fields_schema>", re.DOTALL)
_ENDED = re.compile(r"^Call ended: (\S+)", re.MULTILINE)
_TURN = re.compile(r"^\[[^\]]*\] (caller|agent): (.*)$", re.MULTILINE)
_REASON = re.compile(r"<transfer_reason>(.*?)</transfer_reason>", re.DOTALL)
_TARGET = re.compile(r"^Transferred to: (.*)$", re.MULTILINE)


@dataclass
class TextConfig:
    fail_next: int = 0
    """How many of the next requests get a 503."""
    requests: list[dict[str, Any]] = field(default_factory=list)
    """The bodies received (for tests), newest last."""


def summarize(prompt: str) -> dict[str, Any]:
    """The deterministic summary of a summary prompt."""
    turns = _TURN.findall(prompt)
    caller = [text for who, text in turns if who == "caller"]
    agent = [text for who, text in turns if who == "agent"]
    ended = _ENDED.search(prompt)
    reason = ended.group(1) if ended else "unknown"
    words = " ".join(caller).lower()
    if reason == "transferred":
        outcome = "transferred"
    elif not caller:
        outcome = "abandoned"
    elif "call me back" in words or "message" in words:
        outcome = "message_taken"
    else:
        outcome = "resolved"
    first = caller[0] if caller else "nothing"
    summary = (
        f"The caller spoke {len(caller)} times and the agent {len(agent)} times; "
        f"the caller began with: {first}"
    )
    follow_ups = ["Call the caller back"] if outcome == "message_taken" else []
    fields: dict[str, Any] = {}
    schema = _SCHEMA.search(prompt)
    if schema:
        with contextlib.suppress(ValueError, AttributeError):
            properties = json.loads(schema.group(1)).get("properties", {})
            fields = {name: _example(spec) for name, spec in properties.items()}
    return {"summary": summary, "outcome": outcome, "follow_ups": follow_ups, "fields": fields}


def brief(prompt: str) -> str | None:
    """The deterministic briefing of a briefing prompt; None for any other prompt."""
    reason = _REASON.search(prompt)
    if reason is None:
        return None
    target = _TARGET.search(prompt)
    caller = [text for who, text in _TURN.findall(prompt) if who == "caller"]
    text = f"Briefing for {target.group(1) if target else 'you'}: {reason.group(1).strip()}."
    if caller:
        text += f" The caller said: {caller[-1]}"
    return text


def _example(spec: Any) -> Any:
    kind = spec.get("type") if isinstance(spec, dict) else None
    examples: dict[str, Any] = {
        "string": "",
        "integer": 0,
        "number": 0,
        "boolean": False,
        "array": [],
    }
    return examples.get(str(kind))


class TextServer:
    """The HTTPS server of ``generateContent``."""

    def __init__(self, config: TextConfig) -> None:
        self.config = config
        self._server: asyncio.Server | None = None

    async def start(self, host: str, context: ssl.SSLContext) -> int:
        self._server = await asyncio.start_server(self._serve, host, 0, ssl=context)
        port: int = self._server.sockets[0].getsockname()[1]
        return port

    async def stop(self) -> None:
        server, self._server = self._server, None
        if server is not None:
            server.close()
            await server.wait_closed()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            status, body = await self._answer(reader)
            payload = json.dumps(body).encode()
            head = (
                f"HTTP/1.1 {status.value} {status.phrase}\r\n"
                "Content-Type: application/json; charset=UTF-8\r\n"
                f"Content-Length: {len(payload)}\r\nConnection: close\r\n\r\n"
            )
            writer.write(head.encode() + payload)
            await writer.drain()
        except (OSError, asyncio.IncompleteReadError, ssl.SSLError):
            logger.debug("text request: the client went away", exc_info=True)
        finally:
            writer.close()
            with contextlib.suppress(OSError, ssl.SSLError):
                await writer.wait_closed()

    async def _answer(self, reader: asyncio.StreamReader) -> tuple[HTTPStatus, dict[str, Any]]:
        head = (await reader.readuntil(b"\r\n\r\n")).decode("latin-1")
        request_line, *header_lines = head.split("\r\n")
        method, target, _version = request_line.split(" ", 2)
        headers = {
            name.strip().lower(): value.strip()
            for name, _, value in (line.partition(":") for line in header_lines if line)
        }
        length = int(headers.get("content-length", "0"))
        if length > _MAX_BODY:
            return HTTPStatus.REQUEST_ENTITY_TOO_LARGE, _error(413, "request too large")
        body = await reader.readexactly(length)
        path = target.split("?", 1)[0]
        match = _PATH.match(path)
        if method != "POST" or match is None:
            return HTTPStatus.NOT_FOUND, _error(404, "not found")
        if not headers.get("x-goog-api-key") and "key=" not in target:
            return HTTPStatus.FORBIDDEN, _error(403, "API key missing")
        if self.config.fail_next > 0:
            self.config.fail_next -= 1
            return HTTPStatus.SERVICE_UNAVAILABLE, _error(503, "the model is overloaded")
        try:
            request = json.loads(body)
            prompt = "\n".join(
                part.get("text", "")
                for content in request.get("contents", [])
                for part in content.get("parts", [])
            )
        except (ValueError, AttributeError, TypeError):
            return HTTPStatus.BAD_REQUEST, _error(400, "invalid JSON payload")
        self.config.requests.append(request)
        text = brief(prompt) or json.dumps(summarize(prompt))
        return HTTPStatus.OK, {
            "candidates": [
                {
                    "content": {"role": "model", "parts": [{"text": text}]},
                    "finishReason": "STOP",
                    "index": 0,
                }
            ],
            "usageMetadata": {
                "promptTokenCount": len(prompt) // 4,
                "candidatesTokenCount": len(text) // 4,
                "totalTokenCount": (len(prompt) + len(text)) // 4,
            },
            "modelVersion": match.group(2),
        }


def _error(code: int, message: str) -> dict[str, Any]:
    return {"error": {"code": code, "message": message, "status": HTTPStatus(code).name}}
