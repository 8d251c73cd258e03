"""The built-in policy in another quality-watch mode, and one workflow's watch: shared by the quality tests."""

from __future__ import annotations

from importlib import resources
from pathlib import Path

from spyagency.policy import Policy, QualityWatch, parse_policy


def policy_in_mode(mode: str = "advisory") -> Policy:
    """The built-in policy with every quality watch in ``mode`` (advisory or gate), believing the first
    configuration read after a stop as the ``policy`` fixture does (these worlds poll once per moment)."""
    text = resources.files("spyagency.policy").joinpath("default.toml").read_text()
    text = text.replace("agreement_minutes = 5", "agreement_minutes = 0")
    return parse_policy(text.replace('mode = "advisory"', f'mode = "{mode}"'), f"default, {mode}")


def watch_of(policy: Policy, workflow: str = "SiPixelAli") -> QualityWatch:
    """The quality watch of ``workflow`` (it must have one)."""
    watch = policy.workflow(workflow).quality
    assert watch is not None
    return watch


def policy_text_believing_first_read() -> str:
    """The shipped policy's text, believing the first configuration read after a stop: the ``policy``
    fixture's, for commands that read a policy file."""
    text = resources.files("spyagency.policy").joinpath("default.toml").read_text()
    return text.replace("agreement_minutes = 5", "agreement_minutes = 0")


def policy_believing_first_read(directory: Path) -> Path:
    """A policy file: the shipped one, believing the first configuration read after a stop. For deployments
    run on the wall clock, which cannot wait five minutes for a second read, and for commands run over a
    store the ``policy`` fixture decided."""
    path = directory / "policy.toml"
    path.write_text(policy_text_believing_first_read())
    return path
