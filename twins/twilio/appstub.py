"""A stand-in for the application, to test the simulator against: scripted TwiML, checked
signatures, a media stream that does as told, and a record of everything Twilio sent.

    app = AppStub(auth_token, voice=connect_twiml, pages={"after": "<Response>...</Response>"})
    async with app.serving() as url:
        config = CallConfig(server_url=url, public_url=app.public_url, auth_token=token)
        result = await SimulatedCall(config).run()
    app.forms("/hooks/after")        # the signed forms Twilio posted there

The stub believes it is at ``public_url`` (as behind a tunnel), so its URLs (``stream_url``,
``hook(name)``) are known before it serves. Routes: ``/twilio/voice`` (the voice webhook:
``voice``), ``/hooks/{name}`` (``pages[name]``; a page may be a function of the form; any other
name answers 204, as a callback endpoint does) and the WebSocket ``/twilio/media``. Every
request's signature is checked with the twilio library's own ``RequestValidator`` over the
public URL; an unsigned or wrongly signed request is refused with 403 and counted in ``refused``.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import json
import time
from collections.abc import AsyncIterator, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route, WebSocketRoute
from starlette.websockets import WebSocket, WebSocketDisconnect
from twilio.request_validator import RequestValidator

from twins.twilio.asgi import serve_asgi

Page = str | Callable[[dict[str, str]], str]
PUBLIC_URL = "https://app.example.test"


@dataclass(frozen=True)
class Hit:
    """One request from Twilio: where, when (monotonic), the form (or query) and method."""

    path: str
    t: float
    form: dict[str, str]
    method: str


@dataclass
class StreamPlan:
    """What the stub's media endpoint does: say ``say_ulaw`` (with a mark) once the stream
    starts, then close the socket after ``close_after_s`` (None: wait for ``stop``)."""

    close_after_s: float | None = 0.2
    say_ulaw: bytes = b""
    chunk_bytes: int = 800


@dataclass
class StreamLog:
    """What the stub's media endpoint saw: messages (media payloads decoded) with the
    monotonic time each arrived, and when it sent its own."""

    received: list[tuple[float, dict[str, Any]]] = field(default_factory=list)
    media: bytearray = field(default_factory=bytearray)
    sent_at: list[float] = field(default_factory=list)

    def events(self) -> list[str]:
        return [message["event"] for _, message in self.received]


class AppStub:
    def __init__(
        self,
        auth_token: str,
        *,
        voice: Page,
        pages: Mapping[str, Page] | None = None,
        stream: StreamPlan | None = None,
        public_url: str = PUBLIC_URL,
    ) -> None:
        self.auth_token = auth_token
        self.public_url = public_url
        self.voice = voice
        self.pages = dict(pages or {})
        self.stream = stream or StreamPlan()
        self.url = ""
        self.hits: list[Hit] = []
        self.refused = 0
        self.streams: list[StreamLog] = []
        self._hit = asyncio.Event()
        self.app = Starlette(
            routes=[
                Route("/twilio/voice", self._voice, methods=["POST", "GET"]),
                Route("/hooks/{name:path}", self._hook, methods=["POST", "GET"]),
                WebSocketRoute("/twilio/media", self._media),
            ]
        )

    @contextlib.asynccontextmanager
    async def serving(self) -> AsyncIterator[str]:
        async with serve_asgi(self.app) as url:
            self.url = url
            yield url

    @property
    def stream_url(self) -> str:
        return self.public_url.replace("https://", "wss://") + "/twilio/media"

    def hook(self, name: str) -> str:
        return f"{self.public_url}/hooks/{name}"

    def forms(self, path: str) -> list[dict[str, str]]:
        """The forms of the (signed) requests to ``path``, in order."""
        return [hit.form for hit in self.hits if hit.path == path]

    async def wait_for(self, path: str, count: int = 1, timeout_s: float = 10.0) -> None:
        async with asyncio.timeout(timeout_s):
            while len(self.forms(path)) < count:
                self._hit.clear()
                await self._hit.wait()

    async def _signed(self, request: Request) -> dict[str, str] | None:
        validator = RequestValidator(self.auth_token)
        signature = request.headers.get("x-twilio-signature", "")
        url = self.public_url + request.url.path
        if request.method == "GET":
            if request.url.query:
                url += "?" + request.url.query
            valid = validator.validate(url, {}, signature)
            fields = dict(request.query_params)
        else:
            fields = {key: str(value) for key, value in (await request.form()).items()}
            valid = validator.validate(url, fields, signature)
        if not valid:
            self.refused += 1
            return None
        self.hits.append(Hit(request.url.path, time.monotonic(), fields, request.method))
        self._hit.set()
        return fields

    async def _voice(self, request: Request) -> Response:
        return await self._answer(request, self.voice)

    async def _hook(self, request: Request) -> Response:
        return await self._answer(request, self.pages.get(request.path_params["name"]))

    async def _answer(self, request: Request, page: Page | None) -> Response:
        fields = await self._signed(request)
        if fields is None:
            return Response(status_code=403)
        if page is None:
            return Response(status_code=204)
        body = page(fields) if callable(page) else page
        return Response(body, media_type="text/xml")

    async def _media(self, ws: WebSocket) -> None:
        await ws.accept()
        log = StreamLog()
        self.streams.append(log)
        plan = self.stream
        closer: asyncio.Task[None] | None = None
        try:
            while True:
                message = json.loads(await ws.receive_text())
                log.received.append((time.monotonic(), message))
                event = message["event"]
                if event == "media":
                    log.media.extend(base64.b64decode(message["media"]["payload"]))
                elif event == "start":
                    await self._say(ws, log, message["streamSid"], plan)
                    if plan.close_after_s is not None:
                        closer = asyncio.create_task(self._close_later(ws, plan.close_after_s))
                elif event == "stop":
                    return
        except (WebSocketDisconnect, RuntimeError):
            return
        finally:
            if closer is not None:
                closer.cancel()

    @staticmethod
    async def _say(ws: WebSocket, log: StreamLog, sid: str, plan: StreamPlan) -> None:
        audio = plan.say_ulaw
        for offset in range(0, len(audio), plan.chunk_bytes):
            payload = base64.b64encode(audio[offset : offset + plan.chunk_bytes]).decode()
            log.sent_at.append(time.monotonic())
            await ws.send_text(
                json.dumps({"event": "media", "streamSid": sid, "media": {"payload": payload}})
            )
        log.sent_at.append(time.monotonic())
        await ws.send_text(json.dumps({"event": "mark", "streamSid": sid, "mark": {"name": "m"}}))

    @staticmethod
    async def _close_later(ws: WebSocket, seconds: float) -> None:
        await asyncio.sleep(seconds)
        with contextlib.suppress(RuntimeError):
            await ws.close()
