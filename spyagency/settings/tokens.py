"""The API tokens setting: ``token=user:role1|role2,...`` (SPYAGENCY_TOKENS)."""

from __future__ import annotations

from spyagency.core.models import Role

ROLES = frozenset(role.value for role in Role)


def parse_token_spec(spec: str) -> dict[str, tuple[str, frozenset[str]]]:
    """Token → (user, roles); a malformed entry raises ``ValueError`` without echoing the secret."""
    tokens: dict[str, tuple[str, frozenset[str]]] = {}
    for number, entry in enumerate(filter(None, (part.strip() for part in spec.split(","))), start=1):
        token, _, rest = entry.partition("=")
        user, _, granted = rest.partition(":")
        roles = frozenset(filter(None, granted.split("|")))
        if not token or not user or not roles or not roles <= ROLES:  # names the entry, never any of its token
            raise ValueError(f"entry {number} is not token=user:role|role, roles from {', '.join(sorted(ROLES))}")
        tokens[token] = (user, roles)
    return tokens
