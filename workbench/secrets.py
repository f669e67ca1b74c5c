"""Secrets (passwords, API keys) by reference: an environment variable or a system keyring entry.

URLs and the practices file only ever name where a secret lives; the value is looked up when a
connection is made, kept in memory, and masked (``scrub``) in anything shown to a user.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable

from workbench.errors import SourceError

__all__ = ["holds_password", "lookup_secret", "scrub"]

# PWD= / Password= as ODBC drivers and URL queries accept it: any case, spaces or braces around the key
_PASSWORD_KEY = re.compile(r"(?i)(?:^|[;?&:/])\s*\{?\s*(?:pwd|password)\s*\}?\s*=")


def holds_password(text: str) -> bool:
    """Whether a connection string or URL sets a password itself (``PWD=``, ``{Pwd}=``, ``password =``...)."""
    return _PASSWORD_KEY.search(text) is not None


def lookup_secret(what: str, env: str | None, keyring_service: str | None, user: str) -> str | None:
    """The secret ``what`` from the environment variable ``env`` or the keyring entry (service, user).

    None when neither is named; a named place that holds nothing is a SourceError saying where we looked.
    """
    if env:
        value = os.environ.get(env)
        if value is None:
            raise SourceError(f"the environment variable {env} ({what}) is not set")
        return value
    if keyring_service:
        try:
            import keyring
        except ImportError:
            raise SourceError(f"{what} from the keyring needs the keyring package (pip install keyring)") from None
        value = keyring.get_password(keyring_service, user)
        if value is None:
            raise SourceError(f"no {what} in the keyring for service {keyring_service!r}, user {user!r}")
        return str(value)
    return None


def scrub(message: str, secrets: Iterable[str | None]) -> str:
    """``message`` on one line with every secret replaced by ``***``."""
    text = " ".join(str(message).split())
    for secret in secrets:
        if secret and len(secret) >= 3:
            text = text.replace(secret, "***")
    return text
