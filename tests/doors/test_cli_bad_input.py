"""Every command of `spyagency`, fed bad input: one line that names the argument or setting and what would
be valid, a non-zero exit, never a traceback. Each case printed a traceback on the main it was found on."""

from __future__ import annotations

import socket

import pytest

from spyagency.cli import build_parser, main


@pytest.fixture(autouse=True)
def store(tmp_path, monkeypatch) -> None:
    monkeypatch.setenv("SPYAGENCY_DB_URL", f"sqlite:///{tmp_path / 'store.db'}")


def _run(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str]:
    try:
        code = main(argv)
    except SystemExit as exc:  # argparse's own exit: usage and one error line
        code = exc.code if isinstance(exc.code, int) else 1
    err = capsys.readouterr().err
    return code, err


BAD_INPUT = [
    (["status", "abc"], "argument run: 'abc' is not a run number (1 to 9,999,999)"),
    (["status", "0"], "0 is not a run number"),
    (["status", "--limit", "-3"], "argument --limit: -3 is not above 0"),
    (["override", "99999999", "--comment", "x"], "99999999 is not a run number"),
    (["override", "386925", "--comment", "x"], "override: run 386925 is not tracked by SpyAgency"),
    (["explain", "386925", "--at", "yesterday"], "argument --at: 'yesterday' is not an ISO time"),
    (["explain", "386925", "--at", "0001-01-01T00:00:00+14:00"], "is outside the times UTC can hold"),
    (["explain"], "name a run, or ask --switch"),
    (["replay", "--policy", "p.toml", "--from", "yesterday", "--to", "2026-01-02"], "argument --from"),
    (["replay", "--policy", "p.toml", "--from", "2026-02-01", "--to", "2026-01-01"], "must come after --from"),
    (["replay", "--policy", "missing.toml", "--from", "2026-01-01", "--to", "2026-01-02"], "cannot read policy"),
    (["serve", "--port", "99999"], "argument --port: 99999 is not a port (1 to 65535, or 0 for any free one)"),
    (["serve-release", "--port", "http"], "argument --port: 'http' is not a port"),
    (["simulate", "--speed", "0"], "argument --speed: 0 is not a finite number above 0"),
    (["simulate", "--runs", "-1"], "argument --runs: -1 is below 0"),
    (["demo", "--duration", "nan"], "argument --duration: nan is not a finite number above 0"),
    (["demo", "--port", "70000"], "argument --port: 70000 is not a port"),
    (["poll", "--limit", "3"], "unrecognized arguments: --limit 3"),
    (["steering", "--bogus"], "unrecognized arguments: --bogus"),
    (["check", "--bogus"], "unrecognized arguments: --bogus"),
    (["migrate", "extra"], "unrecognized arguments: extra"),
]


@pytest.mark.parametrize(("argv", "says"), BAD_INPUT, ids=[" ".join(a) for a, _ in BAD_INPUT])
def test_a_bad_argument_is_one_line_naming_it_never_a_traceback(argv, says, capsys):
    code, err = _run(argv, capsys)
    assert code != 0
    assert "Traceback" not in err
    assert says in err.strip().splitlines()[-1], err


def test_every_command_is_walked_with_bad_input():
    commands = set(build_parser()._subparsers._group_actions[0].choices)  # type: ignore[union-attr]
    assert commands == {argv[0] for argv, _ in BAD_INPUT}


def test_a_bad_setting_is_one_line_naming_the_variable_for_every_command(capsys, monkeypatch):
    monkeypatch.setenv("SPYAGENCY_HTTP_TIMEOUT_S", "soon")
    for argv in (["poll", "--once"], ["status"], ["steering"], ["check"], ["migrate"]):
        code, err = _run(argv, capsys)
        assert code == 2 and "Traceback" not in err
        assert err.strip().splitlines()[-1].startswith("configuration error: SPYAGENCY_HTTP_TIMEOUT_S:"), err


def test_simulate_on_a_port_in_use_is_one_line(capsys, tmp_path):
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        code, err = _run(["simulate", "--tier0-port", str(port), "--workdir", str(tmp_path / "sim")], capsys)
    assert code == 2 and "Traceback" not in err
    assert err.strip() == f"simulate: --tier0-port {port} is in use (another simulator or service); pick another"


def test_every_option_has_help():
    parser = build_parser()
    for name, sub in parser._subparsers._group_actions[0].choices.items():  # type: ignore[union-attr]
        for action in sub._actions:
            if action.dest != "help":
                assert action.help, f"spyagency {name} {'/'.join(action.option_strings) or action.dest} has no help"
