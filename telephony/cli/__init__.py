"""The command line's subcommands, one module each."""

CONTACT_CENTRE_SCENARIOS = ("transfer", "transfer-unanswered", "keypad", "silence", "warm-transfer")
"""The scenarios ``demo --scenario`` runs through ``scenarios.py`` (named here, where the
command line can read them without importing the simulators)."""
