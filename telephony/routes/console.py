"""The operator console: ``GET /console`` and its static assets (``telephony/console/static``).

The page itself holds no data and needs no token; everything it shows comes from the API with
the token the operator signs in with. It is served with a strict Content-Security-Policy: only
its own scripts and styles, and connections to this origin.
"""

from pathlib import Path

from fastapi import APIRouter, FastAPI
from fastapi.responses import FileResponse, RedirectResponse
from fastapi.staticfiles import StaticFiles

import telephony.console

STATIC = Path(telephony.console.__file__).parent / "static"
_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; "
        "img-src 'self'; media-src 'self' blob:; base-uri 'none'; form-action 'self'; "
        "frame-ancestors 'none'"
    ),
    "Referrer-Policy": "no-referrer",
    "X-Content-Type-Options": "nosniff",
    "Cache-Control": "no-cache",
}

router = APIRouter(include_in_schema=False)


@router.get("/console")
async def console() -> FileResponse:
    return FileResponse(STATIC / "index.html", headers=_HEADERS)


@router.get("/console/")
async def console_slash() -> RedirectResponse:
    return RedirectResponse("/console")


def mount(app: FastAPI) -> None:
    """Serve the console's page and assets on ``app``."""
    app.include_router(router)
    app.mount("/console/static", StaticFiles(directory=STATIC), name="console-static")
