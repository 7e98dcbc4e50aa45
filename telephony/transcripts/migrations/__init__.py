"""Alembic's script directory for the transcript tables: ``env.py`` and ``versions/``.

Run through ``telephony.transcripts.schema`` (and ``python -m telephony db``), which hands
``env.py`` a connection; see the README's "Schema migrations" for how to add one.
"""
