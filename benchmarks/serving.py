"""Start `spyagency serve` as its own process on a free loopback port, and measure it from outside."""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

from spyagency.settings import Settings
from tests.support.pgserver import free_port  # the tests' loopback helpers serve the benchmarks too


class ApiProcess:
    """The API as production runs it: one uvicorn process, configured by environment.

    ``command_name`` is ``serve`` (the whole service) or ``serve-release`` (Tier0's own listener).
    """

    def __init__(self, settings: Settings, extra_env: dict[str, str] | None = None,
                 command_name: str = "serve") -> None:
        self.port = free_port()
        env = {**os.environ, "SPYAGENCY_DB_URL": settings.db_url, "SPYAGENCY_TOKENS": "bench=bench:tier0",
               **(extra_env or {})}
        command = [str(Path(sys.executable).parent / "spyagency"), command_name, "--host", "127.0.0.1",
                   "--port", str(self.port)]
        # its log goes to a file: a pipe nobody reads fills up and stalls the server at its next log line
        self.log = tempfile.TemporaryFile()  # noqa: SIM115 (lives as long as the process; closed in stop)
        self.process = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=self.log)
        self.url = f"http://127.0.0.1:{self.port}"
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                if httpx.get(self.url + "/healthz", timeout=1).status_code == 200:
                    return
            except httpx.TransportError:
                time.sleep(0.1)
        self.stop()
        raise RuntimeError("spyagency serve did not start within 60 s")

    def peak_rss_mib(self) -> float:
        """VmHWM: the highest resident set size of the process so far."""
        for line in Path(f"/proc/{self.process.pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
        raise RuntimeError("no VmHWM in /proc status")

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        self.log.close()
