"""``python -m telephony serve``: the production server."""

import uvicorn

from telephony.config import Settings
from telephony.server import configure_logging, uvicorn_config


def run(host: str, port: int) -> int:
    configure_logging(Settings().log_level)
    config = uvicorn_config("telephony.app:create_app", host=host, port=port, factory=True)
    uvicorn.Server(config).run()
    return 0
