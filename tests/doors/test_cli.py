"""The `spyagency` command as an operator runs it, configured by environment variables."""

from __future__ import annotations

import os
import subprocess
import sys
import time

import httpx
import pytest

from simulator.scenario import demo_runs
from simulator.simulator import Simulator
from spyagency.clock import utcnow

from ..support.net import refused_port
from ..support.watches import policy_believing_first_read


def run_cli(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "spyagency.cli", *args], env={**os.environ, **env},
                          capture_output=True, text=True, timeout=120)


def test_poll_once_then_status_shows_why_each_run_is_or_is_not_ready(tmp_path, policy):
    now = utcnow()
    with Simulator(policy, demo_runs(policy, now), tmp_path / "sim", now) as sim:
        sim.advance(now)
        env = {"SPYAGENCY_DB_URL": f"sqlite:///{tmp_path / 'store.db'}", "SPYAGENCY_TIER0_URL": sim.tier0_url,
               "SPYAGENCY_CONDDB_URL": sim.conddb_url, "SPYAGENCY_DQM_URL": sim.dqm_url,
               # one poll on the wall clock: the first configuration read after a stop is believed
               "SPYAGENCY_POLICY": str(policy_believing_first_read(tmp_path))}
        poll = run_cli("poll", "--once", env=env)
        assert poll.returncode == 0, poll.stderr
        assert "decided 7 runs" in poll.stdout
        table = run_cli("status", env=env)
        assert table.returncode == 0
        lines = {line.split()[0]: line for line in table.stdout.splitlines()[1:]}
        assert "READY" in lines["386925"]
        assert "vetoed" in lines["386926"]
        assert "still taking data" in lines["386931"]
        detail = run_cli("status", "386926", env=env)
        assert "SiPixelAli" in detail.stdout and "vetoed" in detail.stdout
        assert run_cli("status", "1234", env=env).returncode == 1
        override = run_cli("override", "386926", "--comment", "release without alignment", "--author", "t0op",
                           env=env)
        assert override.returncode == 0, override.stderr
        assert "recorded resume for run 386926 by t0op" in override.stdout
        assert run_cli("override", "1234", "--comment", "x", env=env).returncode == 1
        steering = run_cli("steering", env=env)
        assert steering.returncode == 0 and "SpyAgency wants: resume" in steering.stdout


def test_poll_reports_an_unreachable_tier0_and_exits_non_zero(tmp_path):
    with refused_port() as port:
        env = {"SPYAGENCY_DB_URL": f"sqlite:///{tmp_path / 'store.db'}",
               "SPYAGENCY_TIER0_URL": f"http://127.0.0.1:{port}/t0wmadatasvc/prod/",
               "SPYAGENCY_CONDDB_URL": f"sqlite:///{tmp_path / 'none.sqlite'}",
               "SPYAGENCY_DQM_URL": f"http://127.0.0.1:{port}/", "SPYAGENCY_HTTP_RETRIES": "0"}
        poll = run_cli("poll", "--once", env=env)
    assert poll.returncode == 3
    assert "tier0" in poll.stdout and "FAILED" in poll.stdout


def test_a_broken_policy_file_is_reported_with_the_bad_key(tmp_path):
    bad = tmp_path / "policy.toml"
    bad.write_text('version = 1\nname = "x"\n[[workflow]]\nname = "a"\n')
    result = run_cli("poll", "--once", env={"SPYAGENCY_POLICY": str(bad),
                                            "SPYAGENCY_DB_URL": f"sqlite:///{tmp_path / 's.db'}"})
    assert result.returncode == 2
    assert "workflow.0.producer" in result.stderr


def test_a_bad_setting_names_its_variable_and_the_allowed_values(tmp_path):
    result = run_cli("steering", env={"SPYAGENCY_DB_URL": f"sqlite:///{tmp_path / 's.db'}",
                                      "SPYAGENCY_STEER_MODE": "pause-everything"})
    assert result.returncode == 2
    assert "configuration error: SPYAGENCY_STEER_MODE: Input should be 'sql' or 'dry-run'" in result.stderr
    assert "Traceback" not in result.stderr


def _one_line_error(result: subprocess.CompletedProcess[str]) -> str:
    """The CLI's answer to a bad setting: exit 2, one line on stderr, no traceback."""
    assert result.returncode == 2, (result.returncode, result.stderr)
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in result.stderr, result.stderr
    return lines[0]


@pytest.mark.parametrize(("variable", "value", "says"), [
    ("SPYAGENCY_DB_URL", "spyagency.db", "is not a database URL; expected e.g. sqlite:///"),
    ("SPYAGENCY_DB_URL", "mongodb://db.cern.ch/store", "no installed driver for mongodb://db.cern.ch/store"),
    ("SPYAGENCY_CONDDB_URL", "oracle:/cms_orcon_adg", "is not a database URL"),
    ("SPYAGENCY_AUTH_MODE", "kerberos", "Input should be 'token' or 'proxy'"),
    ("SPYAGENCY_STEER_MODE", "fast", "Input should be 'sql' or 'dry-run'"),
    ("SPYAGENCY_TOKENS", "s3cr3t-token=alice", "is not token=user:role|role, roles from alca-expert, operator, tier0"),
    ("SPYAGENCY_TOKENS", "s3cr3t-token=alice:admin", "roles from alca-expert, operator, tier0"),
    ("SPYAGENCY_POLL_INTERVAL_S", "a minute", "Input should be a valid number"),
    ("SPYAGENCY_HTTP_RETRIES", "three", "Input should be a valid integer"),
])
def test_each_bad_setting_is_one_line_naming_the_variable(tmp_path, variable, value, says):
    env = {"SPYAGENCY_DB_URL": f"sqlite:///{tmp_path / 's.db'}", variable: value}
    line = _one_line_error(run_cli("poll", "--once", env=env))
    assert line.startswith(f"configuration error: {variable}: ") and says in line
    assert "s3cr3t-token" not in line  # a token is a secret: never echoed


def test_an_unreachable_store_is_one_line_without_its_password(tmp_path):
    with refused_port() as port:
        url = f"postgresql://spy:hunter2@127.0.0.1:{port}/spyagency"
        line = _one_line_error(run_cli("status", env={"SPYAGENCY_DB_URL": url}))
    assert line.startswith("configuration error: SPYAGENCY_DB_URL: cannot reach the store at postgresql://spy:***@")
    assert "hunter2" not in line


def test_postgresql_urls_work_as_users_write_them(postgres):
    plain = postgres.create_database("spyagency_cli_plain").replace("postgresql+psycopg2://", "postgresql://")
    for url in (plain, postgres.create_database("spyagency_cli_psycopg2")):
        result = run_cli("migrate", env={"SPYAGENCY_DB_URL": url})
        assert result.returncode == 0, result.stderr
        assert "is at the newest schema" in result.stdout


def test_serve_and_demo_refuse_a_busy_port(tmp_path):
    import socket

    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        env = {"SPYAGENCY_DB_URL": f"sqlite:///{tmp_path / 's.db'}"}
        serve = _one_line_error(run_cli("serve", "--port", str(port), env=env))
        assert f"cannot serve on 127.0.0.1:{port}: the port is in use" in serve
        demo = _one_line_error(run_cli("demo", "--port", str(port), "--duration", "1", env=env))
        assert f"port {port} is in use" in demo


def test_serve_release_is_a_process_of_its_own_that_answers_tier0(tmp_path):
    from ..support.pgserver import free_port

    port = free_port()
    env = {**os.environ, "SPYAGENCY_DB_URL": f"sqlite:///{tmp_path / 's.db'}"}
    listener = subprocess.Popen([sys.executable, "-m", "spyagency.cli", "serve-release", "--port", str(port)],
                                env=env, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                reply = httpx.get(f"http://127.0.0.1:{port}/api/v1/runs/386925/release", timeout=2)
                break
            except httpx.TransportError:
                assert time.monotonic() < deadline and listener.poll() is None, "serve-release did not start"
                time.sleep(0.2)
        assert reply.status_code == 404 and "unknown to SpyAgency" in reply.json()["detail"]  # an empty store
        assert httpx.get(f"http://127.0.0.1:{port}/metrics", timeout=2).status_code == 404
    finally:
        listener.terminate()
        listener.wait(timeout=30)


def test_serve_without_tokens_says_that_nobody_can_write(tmp_path):
    env = {**os.environ, "SPYAGENCY_DB_URL": f"sqlite:///{tmp_path / 's.db'}", "SPYAGENCY_TOKENS": ""}
    serve = subprocess.Popen([sys.executable, "-m", "spyagency.cli", "serve", "--port", "0"], env=env,
                             stderr=subprocess.PIPE, text=True)
    try:
        assert serve.stderr is not None
        first = serve.stderr.readline()
    finally:
        serve.terminate()
        serve.wait(timeout=30)
    assert first.startswith("note: SPYAGENCY_TOKENS is empty, so nobody can write")


def test_the_demo_tells_the_whole_story_and_cleans_up(tmp_path):
    """Pause near a lock, the scripted expert's acknowledgement through the API, releases resuming."""
    from ..support.pgserver import free_port

    env = {"TMPDIR": str(tmp_path), "SPYAGENCY_DB_URL": f"sqlite:///{tmp_path / 'unused.db'}"}
    result = subprocess.run([sys.executable, "-m", "spyagency.cli", "demo", "--speed", "7200", "--duration", "14",
                             "--table-every", "100", "--port", str(free_port())],
                            env={**os.environ, **env}, capture_output=True, text=True, timeout=180)
    assert result.returncode == 0, result.stderr[-2000:]
    out = result.stdout
    paused = out.index("Tier0 prompt reco PAUSED by SpyAgency: run 386926 is not ready")
    accepted = out.index("AlCa expert accepts SiPixelAli of run 386926 without payload "
                         "(POST /api/v1/runs/386926/workflows/SiPixelAli/acknowledgements with the printed token)")
    resumed = out.index("Tier0 prompt reco RESUMED by SpyAgency: run 386926 is ready")
    assert paused < accepted < resumed
    assert "sim] warning to AlCa experts: run 386926 locks at" in out  # on the simulated clock
    assert out.rstrip().splitlines()[-1].startswith("Tier0 prompt-reco releases at the end: ")
    assert not list(tmp_path.glob("spyagency-demo-*"))  # its temporary folder is gone


def test_status_loads_neither_an_http_client_nor_alembic(tmp_path):
    """What a person types to look is quick: on a migrated store, `status` reads it and nothing more."""
    url = f"sqlite:///{tmp_path}/store.sqlite"
    env = {**os.environ, "SPYAGENCY_DB_URL": url}
    subprocess.run([sys.executable, "-m", "spyagency.cli", "migrate"], env=env, check=True, capture_output=True)
    probe = ("import sys\nfrom spyagency.cli import main\nmain(['status'])\n"
             "print(sorted(m for m in ('httpx', 'alembic', 'fastapi', 'airflow') if m in sys.modules))")
    done = subprocess.run([sys.executable, "-c", probe], env=env, check=True, capture_output=True, text=True)
    assert done.stdout.strip().splitlines()[-1] == "[]", done.stdout
