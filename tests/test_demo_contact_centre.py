"""The contact-centre demo scenarios, run as people run them (``python -m telephony demo``)."""

import re
from pathlib import Path

from tests.test_processes import run_demo


def test_the_warm_transfer_demo_tells_both_journeys(tmp_path: Path) -> None:
    done = run_demo(tmp_path, tmp_path / "demo", "--scenario", "warm-transfer")

    assert done.returncode == 0, done.stdout + done.stderr
    out = done.stdout
    assert re.search(r"in conference 'warm-CA[0-9a-f]{32}' .*: conference-ended", out), out
    assert re.search(
        r"dialled \+14155550122: answered after \d+\.\d s, briefing \d+\.\d s, joined, talked", out
    ), out
    assert 'heard: "Briefing for support: a dishwasher that still leaks' in out
    assert "system: Warm transfer to support: joined." in out
    assert "ended: transferred" in out
