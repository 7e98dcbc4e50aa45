"""The call benchmark's parts (``python bench/calls.py`` runs it).

``records`` (what crosses process boundaries), ``workers`` (processes driven over a pipe),
``emulator_worker`` and ``caller_worker`` (the peers), ``conversation`` (what callers say),
``direct`` (the baseline client), ``server`` (the server under test), ``shared_metrics``
(each worker's metrics under ``serve --workers N``), ``procstat`` (CPU and memory from
``/proc``), ``latency`` (matching sends with arrivals), ``analysis`` (delays per path in a
window), ``step`` (one step of the ramp), ``report`` (the table and the JSON), ``compare``
(the same steps against several numbers of workers).
"""
