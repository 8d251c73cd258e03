"""The API tokens setting: ``token=user:role1|role2,...`` (SPYAGENCY_TOKENS)."""

from __future__ import annotations

from spyagency.models import Role

ROLES = frozenset(role.value for role in Role)


def parse_token_spec(spec: str) -> dict[str, tuple[str, frozenset[str]]]:
    """Token → (user, roles); a malformed entry raises ``ValueError`` without echoing the secret."""
    tokens: dict[str, tuple[str, frozenset[str]]] = {}
    for entry in filter(None, (part.strip() for part in spec.split(","))):
        token, _, rest = entry.partition("=")
        user, _, granted = rest.partition(":")
        roles = frozenset(filter(None, granted.split("|")))
        if not token or not user or not roles or not roles <= ROLES:
            raise ValueError(f"an entry (token {token[:2]!r}…) is not token=user:role|role, "
                             f"roles from {', '.join(sorted(ROLES))}")
        tokens[token] = (user, roles)
    return tokens
