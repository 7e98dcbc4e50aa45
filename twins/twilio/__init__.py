"""A Twilio simulator: Twilio's side of phone calls, for tests, the demo and benchmarks.

    from twins.twilio import CallConfig, SimulatedCall, Speak, WaitForGreeting, ...

- :class:`SimulatedCall` plays one call against a server: the signed voice webhook, the TwiML,
  the signed media stream with paced caller audio, Twilio's playback buffer (marks, ``clear``),
  ``stop``; it returns a :class:`CallResult` with the timeline, metrics and what the caller heard.
- The caller's script is a list of steps: :class:`Speak`, :class:`SpeakWav`, :class:`Silence`,
  :class:`WaitForGreeting`, :class:`WaitForReply`, :class:`Interrupt`, :class:`Dtmf`,
  :class:`Hangup`.
- When the stream ends with the caller still there, Twilio runs the TwiML after ``</Connect>``
  (or the ``<Connect action>``'s): say, play, pause, redirect, dial (numbers, SIP, clients,
  conferences), enqueue, hang up. :class:`Callees` decide who answers; the result's ``journey``
  records it and ``final_status`` is the call's status at the end.
- Call progress and ``<Stream statusCallback>`` events are sent, signed, to the application.
- :class:`Network` adds delay and jitter to the stream, :class:`Echo` line echo.
- :class:`TwilioRestSim` serves the REST call control subset (calls, conferences and
  participants, recordings, answering machine detection); :func:`twilio_client` points the real
  ``twilio`` SDK at it.

Module map: ``signing`` (signatures), ``twiml`` (TwiML), ``protocol`` (stream messages and the
strict check), ``playout`` (playback buffer), ``script`` / ``caller`` (the caller), ``stream`` /
``wire`` / ``network`` / ``echo`` (the WebSocket and the line), ``call`` / ``setup`` / ``phase`` /
``ending`` (one call), ``interpreter`` / ``dial`` / ``queues`` / ``waiting`` / ``control`` /
``context`` / ``durations`` (TwiML after the stream), ``callees`` (who answers), ``journey``,
``switchboard`` / ``conference`` (shared rooms and queues), ``callbacks`` (status callbacks),
``timeline`` / ``metrics`` (what happened), ``rest`` / ``rest_state`` / ``rest_http`` /
``rest_calls`` / ``api_calls`` / ``api_conferences`` / ``api_recordings`` / ``recording`` /
``outbound`` / ``people`` / ``amd`` / ``client`` (REST), ``appstub`` (a stand-in application
for tests), ``endpoints``, ``webhook``, ``asgi``, ``wavfile``, ``clock``, ``ids``.
"""

from twins.twilio.amd import Pickup
from twins.twilio.asgi import serve_asgi
from twins.twilio.call import SimulatedCall
from twins.twilio.callees import Callees, ConferencePlan, Joiner, Party, QueuePlan
from twins.twilio.caller import StepRecord
from twins.twilio.client import twilio_client
from twins.twilio.clock import AsyncClock, Clock, ManualClock, MonotonicClock
from twins.twilio.config import CallConfig
from twins.twilio.durations import AfterStream
from twins.twilio.echo import Echo
from twins.twilio.endpoints import Endpoints
from twins.twilio.journey import (
    Conferenced,
    Dialled,
    Enqueued,
    Entry,
    HungUp,
    Paused,
    Played,
    Redirected,
    Requested,
    Said,
    Skipped,
)
from twins.twilio.metrics import BargeIn, CallMetrics, TurnLatency, compute_metrics
from twins.twilio.network import Network
from twins.twilio.outbound import Callee
from twins.twilio.people import People, PersonCall
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
from twins.twilio.switchboard import Switchboard
from twins.twilio.timeline import EventKind, Timeline, TimelineEvent
from twins.twilio.twiml import StreamSpec, Twiml, TwimlError, Verb, parse_twiml

__all__ = [
    "AfterStream",
    "AsyncClock",
    "BargeIn",
    "CallConfig",
    "CallMetrics",
    "CallResult",
    "Callee",
    "Callees",
    "Clock",
    "ConferencePlan",
    "Conferenced",
    "Dialled",
    "Dtmf",
    "Echo",
    "EndReason",
    "Endpoints",
    "Enqueued",
    "Entry",
    "EventKind",
    "Hangup",
    "HungUp",
    "Interrupt",
    "Joiner",
    "ManualClock",
    "MonotonicClock",
    "Network",
    "Party",
    "Paused",
    "People",
    "PersonCall",
    "Pickup",
    "Played",
    "Playout",
    "QueuePlan",
    "Redirected",
    "Requested",
    "RestCall",
    "Said",
    "Silence",
    "SimulatedCall",
    "Skipped",
    "Speak",
    "SpeakWav",
    "Step",
    "StepRecord",
    "StreamSpec",
    "Switchboard",
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
