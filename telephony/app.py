"""The application factory: ``create_app(settings)``.

Nothing happens at import time, and nothing outside the app changes: process-wide tuning belongs
to the entry point that owns the process (``server.py``). The lifespan checks the libraries'
internals the call path relies on (``live/internals.py``), builds the database engine, checks
its schema (``transcripts/schema.py``: one that needs migrating stops the start), the transcript
store, ADK's session service and, without Gemini credentials, the local Live API emulator; all
of it lives on ``app.state.services`` and is torn down when the app stops. Erasing a call
removes its ADK session too (``erasure``); with ``RETENTION_DAYS`` old calls are erased on a
schedule (``retention``).

Before the first call, the instance takes its lease in the database and closes the calls a
crashed instance left open; while it runs, its ``StorageKeeper`` renews the lease and catches the
database up after an outage; when it stops, writes still owed get a short, bounded wait
(``transcripts.keeper``).
"""

import contextlib
import logging
import secrets
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path

from fastapi import FastAPI
from google import genai
from google.adk.models import BaseLlm
from google.auth.exceptions import GoogleAuthError
from sqlalchemy.engine import make_url

from telephony import audio, offline
from telephony.background import alongside
from telephony.briefing import BriefingWriter
from telephony.config import Settings
from telephony.errors import NotConfiguredError
from telephony.live import internals
from telephony.live.agent import GREETING_CUE
from telephony.live.agents import LiveModel, load_agent
from telephony.live.models import gemini_model, live_run_config
from telephony.live.sessions import CallSessionService, erase_sessions
from telephony.live.warmup import warm_up
from telephony.memory import memory_release
from telephony.metrics import Metrics
from telephony.retention import Retention
from telephony.routes import (
    api,
    calls,
    console,
    events,
    media,
    outbound,
    recordings,
    transfers,
    voice,
    warm,
)
from telephony.routing import RoutingTable, default_table, load_routes
from telephony.server import configure_logging
from telephony.services import Services
from telephony.summaries import Summaries, summary_plans
from telephony.summaries.client import gemini_text_client
from telephony.transcripts import Call, TranscriptStore, create_engine, schema
from telephony.transcripts.keeper import StorageKeeper
from telephony.transcripts.privacy import NumberStorage, Privacy
from telephony.transcripts.redaction import Redaction
from telephony.transcripts.writes import close_writes
from telephony.twilio.rest import RestClient, rest_client_from
from telephony.twilio.security import SignatureChecker, StreamTokens

logger = logging.getLogger(__name__)


def create_app(settings: Settings | None = None) -> FastAPI:
    """Build the app. Without ``settings``, they are read from the environment and ``.env``
    (the way ``uvicorn --factory`` builds it), and logging is set up unless it already is."""
    if settings is None:
        settings = Settings()
        configure_logging(settings.log_level, settings.log_format)

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        async with contextlib.AsyncExitStack() as stack:
            services = await _build_services(settings, stack)
            await stack.enter_async_context(services.metrics.monitoring())
            release = memory_release(
                settings.memory_release_interval_s, services.metrics.memory_released
            )
            if release is not None:
                await stack.enter_async_context(release.running())
            await stack.enter_async_context(services.feed.running())
            await stack.enter_async_context(services.outbound.running())
            await stack.enter_async_context(alongside(services.drain.run(), name="drain"))
            app.state.services = services
            yield

    app = FastAPI(title="telephony", lifespan=lifespan, docs_url=None, redoc_url=None)
    app.include_router(voice.router)
    app.include_router(media.router)
    app.include_router(events.router)  # before any /calls/{sid}: /calls/events is not a call
    app.include_router(transfers.router)
    app.include_router(warm.router)
    app.include_router(api.router)
    calls.install(app)
    console.mount(app)
    app.include_router(recordings.router)
    app.include_router(outbound.router)
    return app


async def _build_services(settings: Settings, stack: contextlib.AsyncExitStack) -> Services:
    signatures = _signature_checker(settings)
    routing = _routing(settings)
    checked = internals.verify()
    auth_token = settings.twilio_auth_token
    # Stream tokens and caller pseudonyms are keyed by the auth token, so that every worker
    # process of a deployment agrees; without one (local use) a per-process key will do.
    secret = auth_token.get_secret_value().encode() if auth_token else secrets.token_bytes(32)
    _ensure_sqlite_directory(settings.database_url)
    engine = create_engine(settings.database_url)
    stack.push_async_callback(engine.dispose)
    stack.push_async_callback(close_writes, engine)  # first: the writer's own connection
    store = TranscriptStore(engine, privacy=_privacy(settings, secret))
    await schema.prepare(engine)  # a schema that needs migrating stops the server here
    store.schema_ready()
    session_service = CallSessionService(
        internals=checked, db_engine=engine, redact=store.privacy.redact_text
    )
    keeper = StorageKeeper(store, after_each=session_service.flush)
    await keeper.start()
    await stack.enter_async_context(keeper.running())
    live_model, emulator = await _live_model(settings, stack)
    summaries = _summaries(settings, store, emulator, routing)
    if summaries is not None:
        await stack.enter_async_context(summaries.running())
    # Fail at start, not on the first call; and do the first call's one-time work now.
    await warm_up(load_agent(settings.default_agent), live_run_config(), GREETING_CUE)
    audio.warm_up()  # the resampling filters
    services = Services(
        settings=settings,
        signatures=signatures,
        tokens=StreamTokens(secret, ttl_s=settings.stream_token_ttl_s),
        secret=secret,
        store=store,
        session_service=session_service,
        run_config=live_run_config(),
        live_model=live_model,
        internals=checked,
        routing=routing,
        rest=_rest_client(settings),
        metrics=Metrics(backlog=store.backlog),
        emulator=emulator,
        summaries=summaries,
        briefings=BriefingWriter(
            _briefing_client(settings, emulator),
            model=settings.summary_model,
            timeout_s=settings.warm_transfer_briefing_timeout_s,
        ),
    )
    stack.push_async_callback(services.warm_transfers.aclose)

    if summaries is not None:
        summaries.on_delivery = services.metrics.webhook_delivery

    async def erase_session(call: Call) -> None:
        await erase_sessions(session_service, engine, call.call_sid)

    services.erasure.register("the ADK session", erase_session)

    async def erase_recordings(call: Call) -> None:
        await recordings.forget_recordings(services, call.call_sid)

    services.erasure.register("the recordings", erase_recordings)
    if settings.retention_days is not None:
        retention = Retention(
            services.catalog, services.erasure, timedelta(days=settings.retention_days)
        )
        await stack.enter_async_context(retention.running())
    return services


def _privacy(settings: Settings, secret: bytes) -> Privacy:
    return Privacy(
        redaction=Redaction(settings.transcript_redaction),
        numbers=NumberStorage(settings.caller_number_storage),
        key=secret,
    )


def _routing(settings: Settings) -> RoutingTable:
    """The routing table; a bad routing file stops the start with its line and problem, and
    so does a route whose agent package cannot be loaded."""
    if settings.routes_file is None:
        return default_table(settings.default_agent)
    table = load_routes(settings.routes_file, settings.default_agent)
    for route in (*table.routes, table.default):
        for agent in filter(None, (route.agent, route.after_hours_agent)):
            try:
                load_agent(agent)
            except NotConfiguredError as exc:
                raise NotConfiguredError(f"{table.source}: route {route.name!r}: {exc}") from exc
    logger.info("routing: %d routes from %s", len(table.routes), table.source)
    return table


def _rest_client(settings: Settings) -> RestClient | None:
    """Twilio's REST API (call control, outbound calls, Twilio's recordings), or None without
    credentials."""
    token, secret = settings.twilio_auth_token, settings.twilio_api_secret
    client = rest_client_from(
        settings.twilio_account_sid,
        token.get_secret_value() if token else None,
        settings.twilio_api_key,
        secret.get_secret_value() if secret else None,
        settings.twilio_api_base_url,
    )
    if client is None:
        logger.warning(
            "no Twilio REST credentials: agents cannot transfer or end calls, no outbound calls"
        )
    return client


def _signature_checker(settings: Settings) -> SignatureChecker | None:
    if not settings.twilio_validate_signatures:
        logger.warning("Twilio signature validation is OFF: use this only for local experiments")
        return None
    if settings.twilio_auth_token is None:
        raise NotConfiguredError(
            "TWILIO_AUTH_TOKEN is required to validate Twilio's signatures "
            "(set TWILIO_VALIDATE_SIGNATURES=false only for local experiments)"
        )
    if settings.public_url is None:
        raise NotConfiguredError(
            "PUBLIC_URL is required to validate Twilio's signatures, e.g. https://voice.example.com"
        )
    return SignatureChecker(settings.twilio_auth_token.get_secret_value())


async def _live_model(
    settings: Settings, stack: contextlib.AsyncExitStack
) -> tuple[LiveModel, object | None]:
    """How agents reach the Live API: Gemini with our credentials, or the local emulator."""
    override = settings.agent_model
    if settings.offline:
        return await offline.start_emulator(stack, override)
    key = settings.google_api_key

    def gemini(declared: str) -> BaseLlm:
        return gemini_model(
            override or declared,
            api_key=key.get_secret_value() if key is not None else None,
            vertex_project=settings.google_cloud_project,
            vertex_location=settings.google_cloud_location,
        )

    return gemini, None


def _summaries(
    settings: Settings, store: TranscriptStore, emulator: object | None, routing: RoutingTable
) -> Summaries | None:
    """Post-call summaries, by Gemini or (offline) the emulator; delivered where the call's
    route, or else the settings, name a webhook."""
    if not settings.summaries_enabled:
        return None
    client = _text_client(settings, emulator)
    return Summaries(
        store, client, model=settings.summary_model, plans=summary_plans(settings, routing)
    )


def _text_client(settings: Settings, emulator: object | None) -> genai.Client:
    """Text requests (summaries, briefings): the emulator offline, else Gemini."""
    return offline.text_client(emulator) if emulator is not None else gemini_text_client(settings)


def _briefing_client(settings: Settings, emulator: object | None) -> genai.Client | None:
    """The text model of warm-transfer briefings; None (the template) without credentials."""
    try:
        return _text_client(settings, emulator)
    except (GoogleAuthError, ValueError) as exc:
        logger.warning("warm-transfer briefings use the template: no text model (%s)", exc)
        return None


def _ensure_sqlite_directory(database_url: str) -> None:
    url = make_url(database_url)
    if url.get_backend_name() == "sqlite" and url.database not in (None, "", ":memory:"):
        Path(url.database).parent.mkdir(parents=True, exist_ok=True)
