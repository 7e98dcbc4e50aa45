"""What the routes share: built once by the app's lifespan and kept on ``app.state``."""

from dataclasses import dataclass, field

from google.adk.agents import RunConfig
from google.adk.runners import Runner
from google.adk.sessions import BaseSessionService
from starlette.requests import HTTPConnection

from telephony.admission import Admission
from telephony.call import Call
from telephony.config import Settings
from telephony.drain import Drain
from telephony.live.agents import LiveModel, load_agent
from telephony.live.internals import Internals
from telephony.metrics import Metrics
from telephony.transcripts import StreamLedger, TranscriptStore
from telephony.twilio.security import SignatureChecker, StreamTokens


@dataclass(slots=True)
class Services:
    settings: Settings
    signatures: SignatureChecker | None
    """None only when signature validation is switched off for local use."""
    tokens: StreamTokens
    secret: bytes
    """Keys pseudonyms of callers (ADK user ids)."""
    store: TranscriptStore
    session_service: BaseSessionService
    run_config: RunConfig
    live_model: LiveModel
    """Turns the model name an agent declares into the live model it runs on."""
    internals: Internals
    """Which private paths into ADK and google-genai the installed versions allow."""
    metrics: Metrics = field(default_factory=Metrics)
    emulator: object | None = None
    """The local Live API emulator (``twins.gemini_live.LiveEmulator``), when offline."""
    calls: dict[str, Call] = field(default_factory=dict)
    """Calls in progress in this process, by CallSid: at most one each, since the ledger admits
    one stream per call in the whole deployment."""
    streams: StreamLedger = field(init=False)
    """Which calls were given a stream token and which used it, in the shared database."""
    admission: Admission = field(init=False)
    """Whether this process takes a new call (capacity, event-loop lag, draining)."""
    drain: Drain = field(init=False)
    """The shutdown that lets live calls finish (begun by ``serve`` on SIGTERM)."""
    _runners: dict[str, Runner] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.streams = StreamLedger(self.store.engine)
        settings = self.settings
        self.admission = Admission(
            max_calls=settings.max_calls,
            max_loop_lag_ms=settings.max_loop_lag_ms,
            loop_lag_ms=self.metrics.median_lag_ms,
            stream_wait_s=settings.stream_token_ttl_s,
        )
        self.drain = Drain(self.admission, self.calls, settings.drain_budget_s)

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
