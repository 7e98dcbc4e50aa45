"""A Twilio simulator: Twilio's side of phone calls, for tests, the demo and benchmarks.

    from telephony.sim.twilio import CallConfig, SimulatedCall, Speak, WaitForGreeting, ...

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

from telephony.sim.twilio.asgi import serve_asgi
from telephony.sim.twilio.call import SimulatedCall
from telephony.sim.twilio.caller import StepRecord
from telephony.sim.twilio.client import twilio_client
from telephony.sim.twilio.clock import AsyncClock, Clock, ManualClock, MonotonicClock
from telephony.sim.twilio.config import CallConfig
from telephony.sim.twilio.endpoints import Endpoints
from telephony.sim.twilio.metrics import BargeIn, CallMetrics, TurnLatency, compute_metrics
from telephony.sim.twilio.outbound import Callee
from telephony.sim.twilio.playout import Playout
from telephony.sim.twilio.protocol import Violation, ViolationKind
from telephony.sim.twilio.rest import TwilioRestSim
from telephony.sim.twilio.rest_calls import RestCall
from telephony.sim.twilio.result import CallResult, EndReason
from telephony.sim.twilio.script import (
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
from telephony.sim.twilio.signing import twilio_signature
from telephony.sim.twilio.timeline import EventKind, Timeline, TimelineEvent
from telephony.sim.twilio.twiml import StreamSpec, Twiml, TwimlError, Verb, parse_twiml

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
