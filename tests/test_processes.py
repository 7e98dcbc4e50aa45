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
from prometheus_client.parser import text_string_to_metric_families

from telephony.server import bind

ROOT = Path(__file__).resolve().parent.parent
_OUR_SETTINGS = ("GOOGLE_", "TWILIO_", "PUBLIC_URL", "DATABASE_URL", "API_TOKEN", "AGENT_MODEL")


def clean_env(**extra: str) -> dict[str, str]:
    """The environment without any of our settings, the project importable, the venv on PATH."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(_OUR_SETTINGS)}
    env["PYTHONPATH"] = str(ROOT)
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
    # A loaded test machine's lag is not what these tests are about (tests/test_admission.py is).
    env["MAX_LOOP_LAG_MS"] = "1e9"
    env.update(extra)
    return env


def free_port() -> int:
    with bind() as sock:
        port: int = sock.getsockname()[1]
        return port


class ServerProcesses:
    """Starts server processes on a free port in a clean environment, and stops them."""

    def __init__(self, workdir: Path) -> None:
        self.workdir = workdir
        self.port = str(free_port())
        self.base_url = f"http://127.0.0.1:{self.port}"
        self.started: list[subprocess.Popen[str]] = []

    def start(self, argv: list[str], **env: str) -> tuple[subprocess.Popen[str], dict[str, object]]:
        """Start ``argv`` and wait until it answers ``/healthz``; return it and its health."""
        process = subprocess.Popen(
            argv,
            cwd=self.workdir,
            env=clean_env(**env),
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        self.started.append(process)
        return process, wait_healthy(self.base_url, process)

    def stop_all(self) -> None:
        """SIGTERM whatever still runs, wait for it, and close every output pipe (a pipe nobody
        reads would also block a server that logs more than it holds)."""
        for process in self.started:
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
            if process.stdout is not None and not process.stdout.closed:
                process.communicate(timeout=30)
            process.wait(timeout=30)


@pytest.fixture
def servers(tmp_path: Path) -> Iterator[ServerProcesses]:
    processes = ServerProcesses(tmp_path)
    yield processes
    processes.stop_all()


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


def run_demo(tmp_path: Path, out: Path, *options: str) -> subprocess.CompletedProcess[str]:
    """``python -m telephony demo`` in a clean environment, as a newcomer runs it."""
    return subprocess.run(
        [sys.executable, "-m", "telephony", "demo", *options, "--out", str(out)],
        cwd=tmp_path,
        env=clean_env(),
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )


def test_demo_places_a_call_and_exits_zero(tmp_path: Path) -> None:
    out = tmp_path / "demo"
    done = run_demo(tmp_path, out)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "Transcript" in done.stdout
    assert "interrupted; the caller heard" in done.stdout
    assert "PROBLEM" not in done.stdout
    with wave.open(str(out / "heard.wav")) as heard:
        assert heard.getframerate() == 8000
        assert heard.getnframes() > 5 * 8000


def test_procfile_web_process_serves_with_signatures_on(
    tmp_path: Path, servers: ServerProcesses
) -> None:
    command = shlex.split((ROOT / "Procfile").read_text().strip().removeprefix("web:").strip())
    # The server's flags live in one place: the Procfile runs `serve`, which reads $PORT.
    assert command == ["python", "-m", "telephony", "serve"]
    process, health = servers.start(
        [sys.executable, *command[1:]],
        PORT=servers.port,
        PUBLIC_URL="https://voice.example.com",
        TWILIO_AUTH_TOKEN="0" * 32,
        DATABASE_URL=f"sqlite+aiosqlite:///{tmp_path / 'web.db'}",
    )
    assert health == {"status": "ok", "calls": 0}
    unsigned = httpx.post(servers.base_url + "/twilio/voice", data={"CallSid": "CA" + "1" * 32})
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


def test_serve_with_two_workers_answers_calls(tmp_path: Path, servers: ServerProcesses) -> None:
    """Two worker processes share the port (the kernel spreads connections between them); the
    supervisor serves their metrics, added up, on the metrics port."""
    token = "1" * 32
    metrics_port = free_port()
    command = [sys.executable, "-m", "telephony", "serve", "--host", "127.0.0.1"]
    process, _ = servers.start(
        [*command, "--port", servers.port, "--workers", "2"],
        PUBLIC_URL=servers.base_url,
        TWILIO_AUTH_TOKEN=token,
        DATABASE_URL=f"sqlite+aiosqlite:///{tmp_path / 'workers.db'}",
        LOG_LEVEL="INFO",
        METRICS_PORT=str(metrics_port),
        METRICS_HOST="127.0.0.1",
    )
    base_url = servers.base_url
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
    scrape = httpx.get(f"http://127.0.0.1:{metrics_port}/metrics", timeout=10)
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
    samples = {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(scrape.text)
        for sample in family.samples
    }
    assert samples[("telephony_calls_total", (("reason", "caller_hung_up"),))] == 3
    assert samples[("telephony_calls_active", ())] == 0
