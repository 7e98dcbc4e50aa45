"""Live events of calls, to browsers and other clients, across every server process.

- `bus`: `Feed`, which publishes a call's events (stored first, in ``transcripts.events``) and
  wakes the readers of this process; on PostgreSQL it also listens for the other processes'.
- `stream`: one Server-Sent Events stream: replay after ``Last-Event-ID``, then live.
- `tickets`: short-lived signed tickets that let a browser's ``EventSource`` (which cannot send
  an ``Authorization`` header) open a stream without the API token in its URL.
"""

from telephony.feed.bus import Feed
from telephony.feed.tickets import EventTickets

__all__ = ["EventTickets", "Feed"]
