"""Ray token authentication for ``--executor ray --address HEAD:PORT``.

Since Ray 2.59, ``ray start --head`` turns token authentication on when the head machine holds a
token (``~/.ray/auth_token``, which any local ``ray.init()`` writes), and every process joining
that cluster must then run with ``RAY_AUTH_MODE=token`` and the same token. ``ray.init(address=
...)`` never turns it on by itself, so a client without ``RAY_AUTH_MODE`` is refused
("Authentication token is missing or incorrect"). :func:`enable_if_token_available` applies the
rule ``ray start`` uses to the client too: token mode when a token is there. A client in token
mode also joins a head without authentication (checked with Ray 2.60).

See https://docs.ray.io/en/latest/ray-security/token-auth.html
"""

from __future__ import annotations

import os
from pathlib import Path

TOKEN_AUTH_DOCS = "https://docs.ray.io/en/latest/ray-security/token-auth.html"
MODE = "RAY_AUTH_MODE"


def token_source() -> str | None:
    """Where Ray would read this machine's token from, or None when there is none."""
    if os.environ.get("RAY_AUTH_TOKEN"):
        return "RAY_AUTH_TOKEN"
    if os.environ.get("RAY_AUTH_TOKEN_PATH"):
        return os.environ["RAY_AUTH_TOKEN_PATH"]
    default = Path.home() / ".ray" / "auth_token"
    return str(default) if default.is_file() else None


def enable_if_token_available() -> bool:
    """Set token mode for this process when ``RAY_AUTH_MODE`` is unset and a token exists (as
    ``ray start`` does). Returns whether token mode is on."""
    try:
        from ray._private.authentication.authentication_token_setup import (
            maybe_enable_token_auth_if_token_available,
        )
    except ImportError:  # a Ray without token authentication (before 2.52)
        return False
    return bool(maybe_enable_token_auth_if_token_available(warn_if_disabled=False))


def join_failure_hint() -> str:
    """The likely cause and the fix, for a head that answers but refuses this process."""
    source = token_source()
    mine = (f"this machine's token ({source}) must equal the head's ~/.ray/auth_token"
            if source else "this machine has no Ray token (no ~/.ray/auth_token, "
            "RAY_AUTH_TOKEN unset): copy the head's ~/.ray/auth_token to ~/.ray/auth_token here")
    return (f"if the head uses token authentication (`ray start --head` turns it on where "
            f"~/.ray/auth_token exists), {mine}; see {TOKEN_AUTH_DOCS}")
