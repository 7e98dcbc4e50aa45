"""What the routes share: built once by the app's lifespan and kept on ``app.state``."""

from collections.abc import Callable
from dataclasses import dataclass, field

from google.adk.agents import RunConfig
from google.adk.models import BaseLlm
from google.adk.runners import Runner
from google.adk.sessions import BaseSessionService
from starlette.requests import HTTPConnection

from telephony.agents import load_agent
from telephony.call import Call
from telephony.config import Settings
from telephony.metrics import Metrics
from telephony.sim.gemini_live import LiveEmulator
from telephony.transcripts import TranscriptStore
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
    live_model: Callable[[str], BaseLlm]
    """Turns the model name an agent declares into the live model it runs on."""
    metrics: Metrics = field(default_factory=Metrics)
    emulator: LiveEmulator | None = None
    """The local Live API emulator, when running offline."""
    calls: dict[str, Call] = field(default_factory=dict)
    """Calls in progress in this process, by CallSid."""
    _runners: dict[str, Runner] = field(default_factory=dict)

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
