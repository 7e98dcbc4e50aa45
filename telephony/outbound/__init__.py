"""Outbound calls: the request, the pace they are placed at, and who answered.

- ``requests``: what ``POST /calls`` and ``telephony dial`` ask for, checked (pure).
- ``pacing``: calls per second and calls live at once, with a queue.
- ``dialer``: ``Dialer`` places the calls over Twilio's REST API and follows their status.
- ``answering``: what to do with the answering machine detection result (pure rules) and the
  cues the agent gets: greet a person, leave a voicemail message.
- ``listener``: one outbound call's "listen first" until detection decides.
"""
