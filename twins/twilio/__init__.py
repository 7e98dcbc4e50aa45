"""A Twilio simulator: Twilio's side of phone calls, for tests, the demo and benchmarks.

    from twins.twilio import CallConfig, SimulatedCall, Speak, WaitForGreeting, ...

- :class:`SimulatedCall` plays one call against a server: the signed voice webhook, the TwiML,
  the signed media stream with paced caller audio, Twilio's playback buffer (marks, ``clear``),
  ``stop``; it returns a :class:`CallResult` with the timeline, metrics and what the caller heard.
- The caller's script is a list of steps: :class:`Speak`, :class:`SpeakWav`, :class:`Silence`,
  :class:`WaitForGreeting`, :class:`WaitForReply`, :class:`Interrupt`, :class:`Dtmf`,
  :class:`Hangup`.
- :class:`TwilioRestSim` serves the REST call control subset; :func:`twilio_client` points the
  real ``twilio`` SDK at it.

Module map: ``signing`` (signatures), ``twiml`` (TwiML), ``protocol`` (stream messages and the
strict check), ``playout`` (playback buffer), ``script`` / ``caller`` (the caller), ``stream``
(the WebSocket), ``call`` (one call), ``timeline`` / ``metrics`` (what happened), ``rest`` /
``outbound`` / ``client`` (REST), ``endpoints``, ``webhook``, ``asgi``, ``wavfile``, ``clock``.
"""

from twins.twilio.asgi import serve_asgi
from twins.twilio.call import SimulatedCall
from twins.twilio.caller import StepRecord
from twins.twilio.client import twilio_client
from twins.twilio.clock import AsyncClock, Clock, ManualClock, MonotonicClock
from twins.twilio.config import CallConfig
from twins.twilio.endpoints import Endpoints
from twins.twilio.metrics import BargeIn, CallMetrics, TurnLatency, compute_metrics
from twins.twilio.outbound import Callee
from twins.twilio.playout import Playout
from twins.twilio.protocol import Violation, ViolationKind
from twins.twilio.rest import TwilioRestSim
from twins.twilio.rest_calls import RestCall
from twins.twilio.result import CallResult, EndReason
from twins.twilio.script import (
    Dtmf,
    Hangup,
    Interrupt,
    Silence,
    Speak,
    SpeakWav,
    Step,
    WaitForGreeting,
    WaitForReply,
)
from twins.twilio.signing import twilio_signature
from twins.twilio.timeline import EventKind, Timeline, TimelineEvent
from twins.twilio.twiml import StreamSpec, Twiml, TwimlError, Verb, parse_twiml

__all__ = [
    "AsyncClock",
    "BargeIn",
    "CallConfig",
    "CallMetrics",
    "CallResult",
    "Callee",
    "Clock",
    "Dtmf",
    "EndReason",
    "Endpoints",
    "EventKind",
    "Hangup",
    "Interrupt",
    "ManualClock",
    "MonotonicClock",
    "Playout",
    "RestCall",
    "Silence",
    "SimulatedCall",
    "Speak",
    "SpeakWav",
    "Step",
    "StepRecord",
    "StreamSpec",
    "Timeline",
    "TimelineEvent",
    "TurnLatency",
    "TwilioRestSim",
    "Twiml",
    "TwimlError",
    "Verb",
    "Violation",
    "ViolationKind",
    "WaitForGreeting",
    "WaitForReply",
    "compute_metrics",
    "parse_twiml",
    "serve_asgi",
    "twilio_client",
    "twilio_signature",
]
