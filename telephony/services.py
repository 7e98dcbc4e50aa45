"""What the routes share: built once by the app's lifespan and kept on ``app.state``."""

import logging
from dataclasses import dataclass, field
from pathlib import Path

from google.adk.agents import RunConfig
from google.adk.runners import Runner
from starlette.requests import HTTPConnection

from telephony.admission import Admission
from telephony.briefing import BriefingWriter
from telephony.call import Call
from telephony.config import Settings
from telephony.drain import Drain
from telephony.erasure import Erasure
from telephony.errors import StorageError
from telephony.feed import Feed
from telephony.live.agents import LiveModel, load_agent
from telephony.live.internals import Internals
from telephony.live.sessions import CallSessionService
from telephony.metrics import Metrics
from telephony.outbound.dialer import Dialer, OutboundCall
from telephony.outbound.listener import OutboundListener
from telephony.outbound.pacing import Pacer
from telephony.policy import RoutePolicy, policy_for
from telephony.routing import Route, RoutingTable
from telephony.summaries import Summaries
from telephony.transcripts import CallCatalog, StreamLedger, TranscriptStore
from telephony.transcripts.events import EventLog
from telephony.transcripts.outbound import OutboundStore
from telephony.transcripts.recordings import RecordingStore
from telephony.twilio.rest import RestClient
from telephony.twilio.security import SignatureChecker, StreamTokens
from telephony.warm_transfer import WarmTransfers

logger = logging.getLogger(__name__)


@dataclass(slots=True)
class Services:
    settings: Settings
    signatures: SignatureChecker | None
    """None only when signature validation is switched off for local use."""
    tokens: StreamTokens
    secret: bytes
    """Keys pseudonyms of callers (ADK user ids)."""
    store: TranscriptStore
    session_service: CallSessionService
    run_config: RunConfig
    live_model: LiveModel
    """Turns the model name an agent declares into the live model it runs on."""
    internals: Internals
    """Which private paths into ADK and google-genai the installed versions allow."""
    routing: RoutingTable
    """Numbers -> routes (the routing file, or the default route alone)."""
    rest: RestClient | None = None
    """Twilio's REST API (call control, outbound calls, Twilio's recordings); None without
    REST credentials."""
    metrics: Metrics = field(default_factory=Metrics)
    emulator: object | None = None
    """The local Live API emulator (``twins.gemini_live.LiveEmulator``), when offline."""
    summaries: Summaries | None = None
    """Post-call summaries; None when switched off."""
    briefings: BriefingWriter | None = None
    """Who writes a warm transfer's briefing (None: the template alone)."""
    calls: dict[str, Call] = field(default_factory=dict)
    """Calls in progress in this process, by CallSid: at most one each, since the ledger admits
    one stream per call in the whole deployment."""
    streams: StreamLedger = field(init=False)
    """Which calls were given a stream token and which used it, in the shared database."""
    catalog: CallCatalog = field(init=False)
    """Stored calls: listing, search, erasure of their rows."""
    erasure: Erasure = field(init=False)
    """What erasing a call means: parts that keep something about calls register here."""
    feed: Feed = field(init=False)
    """The calls' live events (``telephony.feed``)."""
    recordings: RecordingStore = field(init=False)
    """Recordings listed on their calls, in the shared database."""
    recordings_dir: Path = field(init=False)
    """Where recordings of what callers heard go: absolute, so that a listed path means the
    same whatever the working directory of whoever reads it."""
    outbound_calls: OutboundStore = field(init=False)
    """Outbound calls as stored: why, who answered, what the agent did."""
    outbound: Dialer = field(init=False)
    """Outbound calls: queued, paced, placed and followed."""
    listeners: dict[str, OutboundListener] = field(default_factory=dict)
    """Outbound calls in progress that listen for who answered, by CallSid."""
    admission: Admission = field(init=False)
    """Whether this process takes a new call (capacity, event-loop lag, draining)."""
    drain: Drain = field(init=False)
    """The shutdown that lets live calls finish (begun by ``serve`` on SIGTERM)."""
    warm_transfers: WarmTransfers = field(init=False)
    """Warm transfers in progress in this process."""
    _runners: dict[str, Runner] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.streams = StreamLedger(self.store.engine)
        engine = self.store.engine
        self.catalog = CallCatalog(engine)
        self.erasure = Erasure(self.catalog)
        listen = engine.url if engine.dialect.name == "postgresql" else None
        self.feed = Feed(EventLog(engine), listen)
        self.recordings = RecordingStore(engine)
        self.outbound_calls = OutboundStore(self.store.engine)
        self.recordings_dir = Path(self.settings.recordings_dir).absolute()
        settings = self.settings
        self.outbound = Dialer(
            self.rest,
            Pacer(settings.outbound_calls_per_second, settings.outbound_max_concurrent),
            public_url=settings.public_url,
            queue_limit=settings.outbound_queue_limit,
            twilio_amd=settings.outbound_amd == "twilio",
            on_change=self.remember_outbound,
        )
        self.admission = Admission(
            max_calls=settings.max_calls,
            max_loop_lag_ms=settings.max_loop_lag_ms,
            loop_lag_ms=self.metrics.median_lag_ms,
            stream_wait_s=settings.stream_token_ttl_s,
        )
        self.drain = Drain(self.admission, self.calls, settings.drain_budget_s)
        self.warm_transfers = WarmTransfers(
            self.rest,
            self.store,
            self.briefings or BriefingWriter(None, model=settings.summary_model),
            on_outcome=self.metrics.transfer,
        )

    async def remember_outbound(self, call: OutboundCall) -> None:
        """Store an outbound call as it is now (a failure is logged: the call goes on)."""
        request = call.request
        try:
            await self.outbound_calls.save(
                call.id,
                call_sid=call.call_sid,
                agent=call.agent,
                purpose=request.purpose,
                variables=dict(request.variables),
                status=call.status,
                answered_by=call.answered_by,
                outcome=call.outcome,
                error=call.error,
                created_at=call.created_at,
            )
        except StorageError:
            logger.exception("outbound %s: could not store it", call.id)

    def policy(self, route: Route) -> RoutePolicy:
        """What ``route`` asks of its calls: the settings' defaults, with the route's own
        ``[route.recording]`` and ``[route.outbound]`` options."""
        return policy_for(route, self.settings)

    def runner(self, agent_name: str) -> Runner:
        """The ADK runner of an agent, built on first use."""
        runner = self._runners.get(agent_name)
        if runner is None:
            agent = load_agent(agent_name, self.live_model)
            runner = Runner(
                app_name=agent_name,
                agent=agent,
                session_service=self.session_service,
                auto_create_session=True,  # the session id is the CallSid
            )
            self._runners[agent_name] = runner
        return runner


def services(connection: HTTPConnection) -> Services:
    """The app's services, from a request or a WebSocket."""
    found: Services = connection.app.state.services
    return found
