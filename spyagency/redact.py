"""Credentials never leave SpyAgency in text: a URL's user and password are masked wherever it is shown or stored.

Source, webhook and database URLs may carry ``user:password@``. Error messages quote URLs (the
HTTP client names what it asked for), and those messages become verdict reasons served to anyone
by the release API and the console, so every such text passes through :func:`mask_credentials`.
"""

from __future__ import annotations

import re

#: scheme://user[:password]@ — the userinfo part of any URL in a text
_USERINFO = re.compile(r"(?P<scheme>\b[A-Za-z][A-Za-z0-9+.\-]*://)[^/@\s]+@")


def mask_credentials(text: str) -> str:
    """``text`` with the user and password of every URL in it replaced by ``***``."""
    return _USERINFO.sub(r"\g<scheme>***@", text)
