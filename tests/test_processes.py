"""The commands people run, run as processes: the demo, ``serve`` and the Procfile's web process."""

import os
import shlex
import signal
import subprocess
import sys
import time
import wave
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from telephony.server import WS_MAX_SIZE, bind

ROOT = Path(__file__).resolve().parent.parent
_OUR_SETTINGS = ("GOOGLE_", "TWILIO_", "PUBLIC_URL", "DATABASE_URL", "API_TOKEN", "AGENT_MODEL")


def clean_env(**extra: str) -> dict[str, str]:
    """The environment without any of our settings, the project importable, the venv on PATH."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(_OUR_SETTINGS)}
    env["PYTHONPATH"] = str(ROOT)
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
    env.update(extra)
    return env


def free_port() -> int:
    with bind() as sock:
        port: int = sock.getsockname()[1]
        return port


@pytest.fixture
def server_process(tmp_path: Path) -> Iterator[tuple[str, list[subprocess.Popen[str]]]]:
    """Yields a base URL and a list to put the started process in; stops it afterwards."""
    port = free_port()
    started: list[subprocess.Popen[str]] = []
    yield f"http://127.0.0.1:{port}", started
    for process in started:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
            process.wait(timeout=30)


def wait_healthy(base_url: str, process: subprocess.Popen[str]) -> dict[str, object]:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        assert process.poll() is None, "the server exited while starting"
        try:
            response = httpx.get(base_url + "/healthz", timeout=1)
        except httpx.TransportError:
            time.sleep(0.2)
            continue
        health: dict[str, object] = response.json()
        return health
    pytest.fail("the server did not become healthy in time")


def test_demo_places_a_call_and_exits_zero(tmp_path: Path) -> None:
    out = tmp_path / "demo"
    done = subprocess.run(
        [sys.executable, "-m", "telephony", "demo", "--out", str(out)],
        cwd=tmp_path,
        env=clean_env(),
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "Transcript" in done.stdout
    assert "interrupted; the caller heard" in done.stdout
    assert "PROBLEM" not in done.stdout
    with wave.open(str(out / "heard.wav")) as heard:
        assert heard.getframerate() == 8000
        assert heard.getnframes() > 5 * 8000


def test_procfile_web_process_serves_with_signatures_on(
    tmp_path: Path, server_process: tuple[str, list[subprocess.Popen[str]]]
) -> None:
    base_url, started = server_process
    command = (ROOT / "Procfile").read_text().strip().removeprefix("web:").strip()
    assert f"--ws-max-size {WS_MAX_SIZE}" in command, "the Procfile must use the server's limit"
    port = base_url.rsplit(":", 1)[1]
    env = clean_env(
        PORT=port,
        PUBLIC_URL="https://voice.example.com",
        TWILIO_AUTH_TOKEN="0" * 32,
        DATABASE_URL=f"sqlite+aiosqlite:///{tmp_path / 'web.db'}",
    )
    process = subprocess.Popen(
        shlex.split(command.replace("$PORT", port)),
        cwd=tmp_path,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    started.append(process)
    assert wait_healthy(base_url, process) == {"status": "ok", "calls": 0}
    unsigned = httpx.post(base_url + "/twilio/voice", data={"CallSid": "CA" + "1" * 32})
    assert unsigned.status_code == 403
    process.send_signal(signal.SIGTERM)
    output, _ = process.communicate(timeout=30)
    # uvicorn shuts down gracefully, then re-raises the signal it caught.
    assert process.returncode in (0, -signal.SIGTERM)
    assert "Application shutdown complete" in output
    assert "OFFLINE" in output, "running without Gemini credentials must be said loudly"


def test_serve_refuses_to_start_without_a_public_url(tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "telephony", "serve", "--port", str(free_port())],
        cwd=tmp_path,
        env=clean_env(TWILIO_AUTH_TOKEN="0" * 32),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode != 0
    assert "PUBLIC_URL is required" in done.stderr


def test_serve_with_two_workers_answers_calls(
    tmp_path: Path, server_process: tuple[str, list[subprocess.Popen[str]]]
) -> None:
    """Two worker processes share the port (the kernel spreads connections between them)."""
    base_url, started = server_process
    port = base_url.rsplit(":", 1)[1]
    token = "1" * 32
    env = clean_env(
        PUBLIC_URL=base_url,
        TWILIO_AUTH_TOKEN=token,
        DATABASE_URL=f"sqlite+aiosqlite:///{tmp_path / 'workers.db'}",
        LOG_LEVEL="INFO",
    )
    command = [sys.executable, "-m", "telephony", "serve", "--host", "127.0.0.1"]
    process = subprocess.Popen(
        [*command, "--port", port, "--workers", "2"],
        cwd=tmp_path,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    started.append(process)
    wait_healthy(base_url, process)
    calls = [
        subprocess.run(
            [sys.executable, "-m", "telephony", "call", base_url, "--auth-token", token],
            cwd=tmp_path,
            env=clean_env(),
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        for _ in range(3)
    ]
    process.send_signal(signal.SIGTERM)
    output, _ = process.communicate(timeout=60)
    for call in calls:
        assert call.returncode == 0, call.stdout + call.stderr
        assert "protocol violations 0" in call.stdout
    workers = {
        line.split("[")[1].split("]")[0]
        for line in output.splitlines()
        if "Started server process [" in line
    }
    assert len(workers) == 2, output
    assert output.count("stream started") == 3
