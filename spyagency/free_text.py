"""Checks on free text people type (comments of acknowledgements and overrides).

Text is stored and shown verbatim, so it must be text: no control characters (they break logs,
terminals and PostgreSQL, which refuses NUL) and no lone surrogates (not encodable as UTF-8).
"""

from __future__ import annotations

import unicodedata

ALLOWED_CONTROLS = frozenset("\t\n\r")


def free_text_problem(text: str) -> str | None:
    """Why ``text`` cannot be stored as a comment, or None if it can. Never quotes the text."""
    for position, char in enumerate(text):
        if char in ALLOWED_CONTROLS:
            continue
        category = unicodedata.category(char)
        if category == "Cc":
            return f"contains a control character (U+{ord(char):04X}) at position {position}"
        if category == "Cs":
            return f"contains an unpaired surrogate (U+{ord(char):04X}) at position {position}: not valid Unicode"
    return None
