"""The product's layout holds at run time: with Gemini credentials, no twin is ever loaded."""

import json
import subprocess
import sys
from pathlib import Path

from tests.test_processes import clean_env

PROBE = """
import asyncio, json, sys
from telephony.app import create_app
from telephony.config import Settings

async def main() -> None:
    settings = Settings(
        _env_file=None,
        google_api_key="a-key-that-is-never-used",
        twilio_validate_signatures=False,
        database_url="sqlite+aiosqlite:///" + sys.argv[1],
    )
    app = create_app(settings)
    async with app.router.lifespan_context(app):  # the whole start-up, warm-up included
        pass
    loaded = sorted(m for m in sys.modules if m == "twins" or m.startswith("twins."))
    print(json.dumps({"twins": loaded, "offline": "OFFLINE" in open(sys.argv[2]).read()}))

asyncio.run(main())
"""


def probe(tmp_path: Path, api_key: str | None) -> dict[str, object]:
    """Start the app in a fresh interpreter; what it loaded and whether it said OFFLINE."""
    code = (
        PROBE.replace("a-key-that-is-never-used", api_key)
        if api_key
        else PROBE.replace('"a-key-that-is-never-used"', "None")
    )
    log = tmp_path / "log.txt"
    with log.open("w") as stderr:
        done = subprocess.run(
            [sys.executable, "-c", code, str(tmp_path / "db.sqlite"), str(log)],
            cwd=tmp_path,
            env=clean_env(),
            stdout=subprocess.PIPE,
            stderr=stderr,
            text=True,
            timeout=120,
            check=False,
        )
    assert done.returncode == 0, log.read_text()
    found: dict[str, object] = json.loads(done.stdout.strip().splitlines()[-1])
    return found


def test_the_app_with_gemini_credentials_loads_no_twin(tmp_path: Path) -> None:
    assert probe(tmp_path, "a-key-that-is-never-used") == {"twins": [], "offline": False}


def test_offline_the_app_starts_the_emulator(tmp_path: Path) -> None:
    """The same probe without credentials does load the twins: the test above can fail."""
    found = probe(tmp_path, None)
    assert found["offline"] is True
    assert isinstance(found["twins"], list)
    assert "twins.gemini_live" in found["twins"]
