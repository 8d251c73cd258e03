"""Is a TCP port already taken? Asked by `serve` and `demo` before they bind, to refuse in one line."""

from __future__ import annotations

import socket


def port_in_use(host: str, port: int) -> bool:
    """Whether something already listens on ``host:port`` (then serving there would fail, or worse,
    a browser would show the other service's pages)."""
    with socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.settimeout(0.5)
        return probe.connect_ex(("127.0.0.1" if host in ("0.0.0.0", "") else host, port)) == 0
