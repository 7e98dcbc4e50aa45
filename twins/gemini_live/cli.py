"""``python -m telephony emulator``: run the Live emulator until Ctrl-C or SIGTERM."""

import asyncio
import contextlib
import logging
import shlex
import signal
import sys

from twins.gemini_live.config import EmulatorConfig
from twins.gemini_live.server import LiveEmulator


def run_emulator(host: str, port: int, config: EmulatorConfig | None = None) -> int:
    """Serve on ``host``:``port`` (0: any free port) and print the client environment.

    ``config``: e.g. ``EmulatorConfig.realistic()``; by default ``EmulatorConfig()``."""
    if not logging.getLogger().handlers:
        logging.basicConfig(
            level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s"
        )
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(_serve(host, port, config))
    return 0


async def _serve(host: str, port: int, config: EmulatorConfig | None) -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError):  # not on Windows
            loop.add_signal_handler(signum, stop.set)
    emulator = LiveEmulator(config)
    await emulator.start(host, port)
    try:
        lines = [
            f"export {name}={shlex.quote(value)}" for name, value in emulator.client_env().items()
        ]
        sys.stdout.write(
            f"Gemini Live emulator on {emulator.base_url}; point a client at it with:\n"
            + "\n".join(lines)
            + "\nPress Ctrl-C to stop.\n"
        )
        sys.stdout.flush()
        await stop.wait()
    finally:
        await emulator.stop()
