"""API keys: read from the environment or a secrets file when a request is sent, never stored.

A configuration names its key (``api_key_env``, e.g. ``OPENAI_API_KEY``). The key is looked up
in the process environment first, then in the secrets file whose path is in the environment
variable ``READERSTUDY_SECRETS_FILE``: lines ``NAME=value`` (blank lines and lines starting
with ``#`` are ignored; the value may be quoted). Keys are never written to the database, to
exports, to logs or to pages; texts that are stored (errors, raw responses) pass through
:func:`redact` first, because some servers echo the key in their error messages.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

from readerstudy.models_generation import API_KEY_ENV_PATTERN

SECRETS_FILE_ENV = "READERSTUDY_SECRETS_FILE"
#: Sent to servers that need no key (the OpenAI client insists on some value).
NO_KEY = "no-key"
REDACTED = "[redacted]"

_NAME = re.compile(API_KEY_ENV_PATTERN)


class ApiKeyMissingError(Exception):
    """The configuration names a key that is neither in the environment nor the secrets file."""


def api_key_name_valid(name: str) -> bool:
    """True for an empty name or the NAME of a variable (upper case, digits, underscores)."""
    return name == "" or bool(_NAME.match(name))


def _secrets_file_values() -> dict[str, str]:
    path = os.environ.get(SECRETS_FILE_ENV, "")
    if not path:
        return {}
    values: dict[str, str] = {}
    for line in Path(path).read_text(encoding="utf-8").splitlines():
        line = line.strip()
        if not line or line.startswith("#") or "=" not in line:
            continue
        name, value = line.split("=", 1)
        name = name.strip()
        if name.startswith("export "):
            name = name[len("export ") :].strip()
        value = value.strip()
        if len(value) >= 2 and value[0] == value[-1] and value[0] in "'\"":
            value = value[1:-1]
        values[name] = value
    return values


def api_key_resolve(name: str) -> str:
    """The key named ``name`` (``NO_KEY`` when ``name`` is empty).

    Raises ``ApiKeyMissingError`` (whose message names the variable, not a value) when the
    name is set but found nowhere, and ``ValueError`` for something that is not a name.
    """
    if not name:
        return NO_KEY
    if not api_key_name_valid(name):
        raise ValueError("api_key_env must be the NAME of an environment variable")
    value = os.environ.get(name)
    if value:
        return value
    value = _secrets_file_values().get(name)
    if value:
        return value
    where = (
        f" or in the secrets file ${SECRETS_FILE_ENV}" if os.environ.get(SECRETS_FILE_ENV) else ""
    )
    raise ApiKeyMissingError(f"the API key variable {name} is not set in the environment{where}")


def redact(text: str, secrets: list[str] | tuple[str, ...]) -> str:
    """``text`` with every secret (and its first 8+ characters, as echoed in masks) replaced."""
    for secret in secrets:
        if not secret or secret == NO_KEY or len(secret) < 6:
            continue
        text = text.replace(secret, REDACTED)
        # Servers echo keys partially ("sk-abc123**********wxyz"): drop long prefixes too.
        if len(secret) >= 12:
            text = text.replace(secret[:8], REDACTED)
            text = text.replace(secret[-6:], REDACTED)
    return text
