"""Argument types of the command line: a bad value is one line naming what would be valid (argparse prints
it with the option's name and exits 2), never a traceback from deep inside a command."""

from __future__ import annotations

import argparse
from datetime import UTC, datetime

from spyagency.core.plausibility import MAX_RUN


def run_number(text: str) -> int:
    """A CMS run number: 1 to 9,999,999."""
    try:
        run = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a run number (1 to {MAX_RUN:,})") from None
    if not 1 <= run <= MAX_RUN:
        raise argparse.ArgumentTypeError(f"{run} is not a run number (1 to {MAX_RUN:,})")
    return run


def port(text: str) -> int:
    """A TCP port: 1 to 65535, or 0 for any free one."""
    try:
        number = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a port (1 to 65535, or 0 for any free one)") from None
    if not 0 <= number <= 65535:
        raise argparse.ArgumentTypeError(f"{number} is not a port (1 to 65535, or 0 for any free one)")
    return number


def moment(text: str) -> datetime:
    """An ISO 8601 time, UTC unless it says otherwise: 2026-11-20, 2026-11-20T14:00, 2026-11-20T14:00+01:00."""
    try:
        parsed = datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"{text!r} is not an ISO time (say 2026-11-20T14:00, UTC unless it gives an offset)") from None
    try:
        return (parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)).astimezone(UTC)
    except OverflowError:
        raise argparse.ArgumentTypeError(f"{text!r} is outside the times UTC can hold") from None


def positive_int(text: str) -> int:
    """A whole number above 0."""
    try:
        number = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if number < 1:
        raise argparse.ArgumentTypeError(f"{number} is not above 0")
    return number


def non_negative_int(text: str) -> int:
    """A whole number, 0 or more."""
    try:
        number = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if number < 0:
        raise argparse.ArgumentTypeError(f"{number} is below 0")
    return number


def positive_float(text: str) -> float:
    """A finite number above 0."""
    try:
        number = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
    if not 0 < number < float("inf"):
        raise argparse.ArgumentTypeError(f"{text} is not a finite number above 0")
    return number
