"""Answers are bounded: a server that drips its body a byte at a time cannot hold a request past its deadline,
and a huge or decompression-bomb body is cut off at the size limit instead of filling memory."""

from __future__ import annotations

import gzip
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from spyagency.sources.errors import Tier0ProtocolError, Tier0Unavailable
from spyagency.sources.tier0 import Tier0Client

BOMB = gzip.compress(b"[" + b" " * (64 * 2**20) + b"]", compresslevel=9)  # 64 MiB of JSON in about 64 KiB


class _Hostile(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    mode = "drip"

    def log_message(self, *args: Any) -> None:
        pass

    def do_GET(self) -> None:
        if type(self).mode == "drip":  # headers at once, then the body a byte every 0.2 s, for a minute
            body = b'{"result": [386925]}' + b" " * 300
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            try:
                for byte in body:
                    self.wfile.write(bytes([byte]))
                    self.wfile.flush()
                    time.sleep(0.2)
            except (BrokenPipeError, ConnectionResetError):
                pass
            return
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Encoding", "gzip")
        self.send_header("Content-Length", str(len(BOMB)))
        self.end_headers()
        try:
            self.wfile.write(BOMB)
        except (BrokenPipeError, ConnectionResetError):
            pass


@pytest.fixture
def hostile() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Hostile)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}/t0wmadatasvc/prod/"
    server.shutdown()
    server.server_close()


def test_a_dripping_body_is_cut_at_the_deadline_not_read_for_a_minute(hostile, monkeypatch):
    monkeypatch.setattr(_Hostile, "mode", "drip")
    client = Tier0Client(hostile, timeout=1.0, retries=0, deadline_s=2.0)
    started = time.monotonic()
    with pytest.raises(Tier0Unavailable, match="longer than 2 s|timed out"):
        client.first_conditions_safe_run()
    assert time.monotonic() - started < 4.0  # each byte came within the read timeout: only the deadline stops it
    client.close()


def test_a_decompression_bomb_is_cut_off_at_the_size_limit(hostile, monkeypatch):
    monkeypatch.setattr(_Hostile, "mode", "bomb")
    client = Tier0Client(hostile, timeout=5.0, retries=3)
    with pytest.raises(Tier0ProtocolError, match=r"larger than 32 MiB \(decompressed\): cut off"):
        client.first_conditions_safe_run()
    client.close()
