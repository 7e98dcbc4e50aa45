"""Which agent answers a call, how it sounds, and where the call may go: routes from a file.

Pure: values (``routes``), the file reader (``loader``) and the session state an agent gets
(``context``). ``ROUTES_FILE`` names the file; without one, every number reaches the default
agent (``default_table``).
"""

from telephony.routing.context import CallerContext, session_state
from telephony.routing.loader import RoutingFileError, load_routes, parse_routes
from telephony.routing.options import AmdRule, OutboundOptions, RecordingOptions, SummaryOptions
from telephony.routing.routes import (
    Decision,
    Hours,
    Keypad,
    Route,
    RoutingTable,
    SilencePolicy,
    default_table,
)

__all__ = [
    "AmdRule",
    "CallerContext",
    "Decision",
    "Hours",
    "Keypad",
    "OutboundOptions",
    "RecordingOptions",
    "Route",
    "RoutingFileError",
    "RoutingTable",
    "SilencePolicy",
    "SummaryOptions",
    "default_table",
    "load_routes",
    "parse_routes",
    "session_state",
]
