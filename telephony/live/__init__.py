"""Everything that speaks the Gemini Live API through ADK.

- ``wire``: the Live API messages the call reads and writes itself (pure translation).
- ``events``: ADK's events as the same ``ModelMessage`` values.
- ``link``: a call's direct line to its live connection's socket.
- ``internals``: the one module that touches private parts of ADK and google-genai, checked at
  start-up, with a fallback to the public API.
- ``models``: the live model (``LiveGemini``) and the RunConfig of every call.
- ``agents``: loading an agent tree with the live model under every agent.
- ``sessions``: ADK sessions that persist only what outlives a call.
- ``warmup``: one silent run of an agent at start-up.
"""
