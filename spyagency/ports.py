"""Is a TCP port already taken? Asked by `serve` and `demo` before they bind, to refuse in one line;
and a port held for a server that starts later."""

from __future__ import annotations

import socket


def port_in_use(host: str, port: int) -> bool:
    """Whether something already listens on ``host:port`` (then serving there would fail, or worse,
    a browser would show the other service's pages)."""
    with socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.settimeout(0.5)
        return probe.connect_ex(("127.0.0.1" if host in ("0.0.0.0", "") else host, port)) == 0


def reserve(host: str, port: int) -> socket.socket:
    """A socket bound to ``host:port``, for a server to listen on later: nothing started meanwhile (a
    simulator's servers on port 0, say) can be given the same port by the kernel."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((host, port))
    except OSError:
        sock.close()
        raise
    return sock
