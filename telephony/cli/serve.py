"""``python -m telephony serve``: the production server."""

import uvicorn
from uvicorn.supervisors import Multiprocess

from telephony.config import Settings
from telephony.server import configure_logging, uvicorn_config

STARTUP_FAILURE = 3


def run(host: str, port: int, workers: int = 1) -> int:
    """Serve until stopped.

    Calls are independent, so ``workers`` processes carry about ``workers`` times the calls of
    one (a process saturates one core): any worker checks any stream token, and they share the
    database. Twilio keeps each call on one WebSocket, so a call never moves between workers.
    """
    configure_logging(Settings().log_level)
    config = uvicorn_config(
        "telephony.app:create_app", host=host, port=port, factory=True, workers=workers
    )
    if workers > 1:
        Multiprocess(config, sockets=[config.bind_socket()]).run()
        return 0
    server = uvicorn.Server(config)
    server.run()
    return 0 if server.started else STARTUP_FAILURE
