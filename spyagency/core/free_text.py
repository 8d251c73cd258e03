"""Checks on free text people type (comments of acknowledgements and overrides).

Text is stored and shown verbatim, so it must be text: no control characters (they break logs,
terminals and PostgreSQL, which refuses NUL), no invisible format characters (zero-width spaces and
joiners, bidirectional marks: they make a comment read differently from what it says) and no lone
surrogates (not encodable as UTF-8).
"""

from __future__ import annotations

import unicodedata

ALLOWED_CONTROLS = frozenset("\t\n\r")
#: bidirectional embeddings, overrides and isolates (U+202A-U+202E, U+2066-U+2069): they make a comment
#: display differently from what it says
BIDI_CONTROLS = frozenset(chr(c) for c in (*range(0x202A, 0x202F), *range(0x2066, 0x206A)))


def free_text_problem(text: str) -> str | None:
    """Why ``text`` cannot be stored as a comment, or None if it can. Never quotes the text."""
    for position, char in enumerate(text):
        if char in ALLOWED_CONTROLS:
            continue
        category = unicodedata.category(char)
        if category == "Cc" or char in BIDI_CONTROLS:
            return f"contains a control character (U+{ord(char):04X}) at position {position}"
        if category == "Cf":
            return f"contains an invisible format character (U+{ord(char):04X}) at position {position}"
        if category == "Cs":
            return f"contains an unpaired surrogate (U+{ord(char):04X}) at position {position}: not valid Unicode"
    return None


#: The longest comment a person may leave (acknowledgements, overrides, sign-offs).
MAX_COMMENT = 2000


def words_problem(author: str, comment: str, *, comment_required: bool, what: str) -> str | None:
    """Why an author and comment cannot be recorded for ``what`` (an acknowledgement, an override), or None."""
    if not author.strip():
        return f"{what} needs an author"
    if len(comment) > MAX_COMMENT:
        return f"comment is longer than {MAX_COMMENT} characters"
    for text, name in ((comment, "comment"), (author, "author")):
        problem = free_text_problem(text)
        if problem:
            return f"{name} {problem}"
    if comment_required and not comment.strip():
        return f"{what} needs a comment saying why"
    return None
