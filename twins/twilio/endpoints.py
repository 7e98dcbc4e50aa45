"""Where the server is, and where it believes it is.

Twilio signs every request over the public URL the server is configured with (a tunnel, a load
balancer), while the simulator's requests have to reach the actual process, usually on loopback.
``Endpoints`` turns a public URL (``https://`` webhooks, ``wss://`` streams) into the address to
connect to, keeping path and query; URLs on other hosts are left alone.
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import SplitResult, urlsplit, urlunsplit

_WS_SCHEME = {"http": "ws", "https": "wss"}


@dataclass(frozen=True)
class Endpoints:
    server_url: str
    """Where the server actually listens, e.g. ``http://127.0.0.1:8000``."""
    public_url: str | None = None
    """Where the server believes it is public (it validates signatures over this); default:
    ``server_url``."""

    def __post_init__(self) -> None:
        for url in (self.server_url, self.public):
            if urlsplit(url).scheme not in _WS_SCHEME:
                raise ValueError(f"expected an http:// or https:// URL, got {url!r}")

    @property
    def public(self) -> str:
        return (self.public_url or self.server_url).rstrip("/")

    def public_for(self, path: str) -> str:
        """The public URL of ``path`` (what Twilio is configured with, and signs)."""
        return self.public + "/" + path.lstrip("/")

    def serves(self, url: str) -> bool:
        """Whether ``url`` is the application's (its public origin, or where it listens).

        The simulator requests only such URLs: anything else (Twilio's own hold music on
        twimlets.com, another company's server) would leave loopback.
        """
        parts = urlsplit(url)
        return self._prefix(parts, self.public) is not None or (
            self._prefix(parts, self.server_url) is not None
        )

    def actual(self, url: str) -> str:
        """The address to send a request for public ``url`` to (``ws``/``wss`` kept as such)."""
        parts = urlsplit(url)
        prefix = self._prefix(parts, self.public)
        if prefix is None:
            return url
        server = urlsplit(self.server_url.rstrip("/"))
        scheme = server.scheme
        if parts.scheme in ("ws", "wss"):
            scheme = _WS_SCHEME[server.scheme]
        path = server.path + parts.path[len(prefix) :]
        return urlunsplit((scheme, server.netloc, path, parts.query, ""))

    @staticmethod
    def _prefix(parts: SplitResult, origin: str) -> str | None:
        """The path prefix of ``origin`` if ``parts`` is under it, else None."""
        base = urlsplit(origin.rstrip("/"))
        if (parts.hostname or "").lower() != (base.hostname or "").lower():
            return None
        if parts.port is not None and base.port is not None and parts.port != base.port:
            return None
        prefix = base.path.rstrip("/")
        if prefix and not (parts.path == prefix or parts.path.startswith(prefix + "/")):
            return None
        return prefix
