"""The outbound demo scenarios, run as people run them: a person answers, a machine answers."""

import re
import wave
from pathlib import Path

import pytest

from tests.test_processes import run_demo


@pytest.mark.parametrize("scenario", ["outbound", "voicemail"])
def test_the_outbound_demos_run_and_say_what_happened(tmp_path: Path, scenario: str) -> None:
    out = tmp_path / "demo"
    done = run_demo(tmp_path, out, "--scenario", scenario)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "PROBLEM" not in done.stdout
    if scenario == "voicemail":
        assert "answered by: machine_end_beep; the agent: voicemail_left" in done.stdout
        assert re.search(r"beep -> message: \d+ ms", done.stdout)
    else:
        assert "answered by: human; the agent: greeted" in done.stdout
    [path] = re.findall(r"recording \(heard, completed\): (\S+\.wav)", done.stdout)
    with wave.open(path) as recording:
        assert (recording.getnchannels(), recording.getframerate()) == (2, 8000)
        assert recording.getnframes() > 2 * 8000
