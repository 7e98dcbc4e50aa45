"""The call benchmark's parts (``python bench/calls.py`` runs it).

``records`` (what crosses process boundaries), ``latency`` (matching sends with arrivals),
``conversation`` (what callers say), ``direct`` (the baseline client), ``emulator_worker`` and
``caller_worker`` (the peers' processes), ``server`` (the server under test), ``procstat``
(CPU and memory from ``/proc``), ``step`` (one step of the ramp), ``report`` (table and JSON).
"""
