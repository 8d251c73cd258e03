"""Both listeners under a clumsy or hostile client, over real sockets: a request dripped a byte at a time is
cut at its deadline, a huge head is refused without being read whole, and half-sent requests cannot take
Tier0's listener from Tier0. Each case failed on the main it was found on (plain uvicorn)."""

from __future__ import annotations

import logging
import socket
import time
from collections.abc import Iterator

import httpx
import pytest

from api import listener
from api.server import start_in_thread

RELEASE = "/api/v1/runs/386925/release"  # no such run here: a quick 404, answered all the same


@pytest.fixture(scope="module")
def world(tmp_path_factory, policy):
    from ..conftest import make_world
    made = make_world(tmp_path_factory.mktemp("listener"), policy, [])
    yield made
    made.agency.close()
    made.sim.stop()
    made.store.dispose()


@pytest.fixture(params=["release", "main"])
def served(request, world) -> Iterator[int]:
    settings = world.agency.settings.model_copy(update={"api_request_deadline_s": 1.0, "api_max_concurrency": 64})
    server = start_in_thread(settings, world.clock, 0, release=request.param == "release")
    try:
        yield server.servers[0].sockets[0].getsockname()[1]
    finally:
        server.should_exit = True


def _closed_within(sock: socket.socket, seconds: float) -> bool:
    """Whether the server closes ``sock`` within ``seconds`` (it sends nothing, or an error, then EOF)."""
    sock.settimeout(seconds)
    try:
        while sock.recv(65536):
            pass
    except TimeoutError:
        return False
    except OSError:
        return True  # reset: closed too
    return True


def test_a_request_head_dripped_a_byte_at_a_time_is_cut_at_its_deadline(served):
    sock = socket.create_connection(("127.0.0.1", served), timeout=5)
    started = time.monotonic()
    try:
        sock.sendall(b"GET " + RELEASE.encode() + b" HTTP/1.1\r\nHost: 127.0.0.1\r\n")
        for byte in b"X-Slow: 1":
            try:
                sock.sendall(bytes([byte]))
            except OSError:
                break
            time.sleep(0.2)
        assert _closed_within(sock, 3.0)
    finally:
        sock.close()
    assert time.monotonic() - started < 4.0  # the 1 s deadline, not the client's pace, ended it


def test_a_kept_alive_connection_is_held_to_the_deadline_for_its_next_request_too(served):
    sock = socket.create_connection(("127.0.0.1", served), timeout=5)
    try:
        sock.sendall(b"GET " + RELEASE.encode() + b" HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
        assert sock.recv(65536).startswith(b"HTTP/1.1 404")
        sock.sendall(b"GET " + RELEASE.encode() + b" HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow")
        assert _closed_within(sock, 3.0)
    finally:
        sock.close()


def test_a_huge_request_head_is_refused_without_being_read_whole(served):
    sock = socket.create_connection(("127.0.0.1", served), timeout=5)
    try:
        sock.sendall(b"GET " + RELEASE.encode() + b" HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Big: ")
        sent = 0
        try:
            while sent < 4 * 1024 * 1024:
                sock.sendall(b"a" * 65536)
                sent += 65536
        except OSError:
            pass  # the server closed the connection under us: what is wanted
        reply = b""
        try:
            reply = sock.recv(65536)
        except OSError:
            pass
        assert reply == b"" or reply.startswith(b"HTTP/1.1 400")
    finally:
        sock.close()
    assert sent < 4 * 1024 * 1024 or reply.startswith(b"HTTP/1.1 400")


def test_half_sent_requests_cannot_take_tier0s_listener_from_tier0(served):
    crowd = []
    try:
        for _ in range(listener.MAX_WAITING + 150):  # more than ever wait, fewer than the socket bound allows...
            sock = socket.create_connection(("127.0.0.1", served), timeout=5)
            sock.sendall(b"GET /api/v1/runs HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: ")
            crowd.append(sock)
        # ...and beyond api_max_concurrency (64): plain uvicorn answered 503 to everyone from here on
        with httpx.Client(base_url=f"http://127.0.0.1:{served}", timeout=5) as tier0:
            answers = [tier0.get(RELEASE).status_code for _ in range(20)]
        assert answers == [404] * 20  # answered (the run is unknown here), never 503
    finally:
        for sock in crowd:
            sock.close()


def test_a_flood_of_malformed_requests_is_not_a_flood_of_log_lines(served, caplog):
    caplog.set_level(logging.WARNING, logger="uvicorn.error.requests")
    for _ in range(30):
        with socket.create_connection(("127.0.0.1", served), timeout=5) as sock:
            sock.sendall(b"NOT HTTP AT ALL\r\n\r\n")
            assert sock.recv(65536).startswith(b"HTTP/1.1 400")
    lines = [r for r in caplog.records if "Invalid HTTP request" in r.getMessage()]
    assert len(lines) <= 2  # one a minute, whichever listener: 30 would have filled a pipe or a disk
