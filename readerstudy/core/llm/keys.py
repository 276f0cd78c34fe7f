"""API keys: which may be used, read when a request is sent, never stored.

A configuration names its key (``api_key_env``, e.g. ``READERSTUDY_KEY_OPENAI``). Only names
that whoever runs the server has allowed can be used (:func:`api_key_names_allowed`): those
listed in the setting ``GENERATION_API_KEYS`` and those starting with
``GENERATION_API_KEY_PREFIX`` (default ``READERSTUDY_KEY_``). Names of the server's own
configuration (:func:`api_key_name_denied`: every variable ``readerstudy/settings.py`` reads,
such as ``SECRET_KEY`` and ``DATABASE_URL``, plus ``PATH``, the proxy and PostgreSQL
variables, ...) are refused even when listed, so a coordinator can never have them sent to
a server as ``Authorization: Bearer …``.

An allowed key is looked up in the process environment first, then in the secrets file
whose path is in the environment variable ``READERSTUDY_SECRETS_FILE``: lines ``NAME=value``
(blank lines and lines starting with ``#`` are ignored; the value may be quoted). Keys are
never written to the database, to exports, to logs or to pages; texts that are stored
(errors, raw responses) pass through :func:`redact` first, because some servers echo the key
in their error messages.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

from django.conf import settings

#: The NAME of an environment variable (the database constraint of configurations uses it too).
API_KEY_ENV_PATTERN = r"^[A-Z_][A-Z0-9_]{0,99}$"

SECRETS_FILE_ENV = "READERSTUDY_SECRETS_FILE"
#: Sent to servers that need no key (the OpenAI client insists on some value).
NO_KEY = "no-key"
REDACTED = "[redacted]"
KEYS_SETTING = "GENERATION_API_KEYS"
PREFIX_SETTING = "GENERATION_API_KEY_PREFIX"
#: The shortest prefix accepted (``GENERATION_API_KEY_PREFIX=""`` or ``"A"`` would allow all).
PREFIX_MIN_LENGTH = 4

#: Variables of the server and its process that are never API keys, whatever the settings say
#: (besides every variable that readerstudy/settings.py reads, see SETTINGS_ENVIRONMENT_VARIABLES).
DENIED_NAMES = frozenset(
    {
        "SECRET_KEY",
        "DATABASE_URL",
        "CELERY_BROKER_URL",
        "CELERY_RESULT_BACKEND",
        "REDIS_URL",
        SECRETS_FILE_ENV,
        "READERSTUDY_DEMO_LLM_URL",
        "DJANGO_SETTINGS_MODULE",
        "BROWSER_PATH",
        "PATH",
        "HOME",
        "USER",
        "LOGNAME",
        "SHELL",
        "PWD",
        "PYTHONPATH",
        "PYTHONHOME",
        "VIRTUAL_ENV",
        "LD_PRELOAD",
        "LD_LIBRARY_PATH",
        "HTTP_PROXY",
        "HTTPS_PROXY",
        "ALL_PROXY",
        "NO_PROXY",
        "SSL_CERT_FILE",
        "SSL_CERT_DIR",
    }
)
#: Families of settings variables (Django, the database, PostgreSQL's libpq, Celery, security).
DENIED_PREFIXES = (
    "DJANGO_",
    "DATABASE_",
    "PG",
    "POSTGRES",
    "CELERY_",
    "REDIS_",
    "SECURE_",
    "SESSION_",
    "CSRF_",
    "GENERATION_",
)

_NAME = re.compile(API_KEY_ENV_PATTERN)


class ConnectionSettingsError(Exception):
    """A configuration's key or server cannot be used here (the message says why and what to do)."""


class ApiKeyMissingError(ConnectionSettingsError):
    """The configuration names a key that is neither in the environment nor the secrets file."""


class ApiKeyNotAllowedError(ConnectionSettingsError):
    """The configuration names a variable that the server's settings do not allow as a key."""


def api_key_name_valid(name: str) -> bool:
    """True for an empty name or the NAME of a variable (upper case, digits, underscores)."""
    return name == "" or bool(_NAME.match(name))


def api_key_name_denied(name: str) -> bool:
    """True for a variable of the server's own configuration: never usable as an API key."""
    upper = name.upper()
    return (
        upper in DENIED_NAMES
        or upper in getattr(settings, "SETTINGS_ENVIRONMENT_VARIABLES", ())
        or upper.startswith(DENIED_PREFIXES)
    )


def api_key_prefix() -> str:
    """The prefix of allowed names, or ``""`` when the setting is unusable (see the checks)."""
    prefix = str(getattr(settings, PREFIX_SETTING, "") or "")
    if len(prefix) < PREFIX_MIN_LENGTH or not _NAME.match(prefix) or api_key_name_denied(prefix):
        return ""
    return prefix


def api_key_names_listed() -> list[str]:
    """The names of ``GENERATION_API_KEYS`` that can be used (denied ones are left out)."""
    names = getattr(settings, KEYS_SETTING, ()) or ()
    return [n for n in names if api_key_name_valid(n) and n and not api_key_name_denied(n)]


def api_key_name_allowed(name: str) -> bool:
    """True for no key, a listed name or a name with the prefix, unless it is denied."""
    if name == "":
        return True
    if not api_key_name_valid(name) or api_key_name_denied(name):
        return False
    prefix = api_key_prefix()
    return name in api_key_names_listed() or bool(prefix and name.startswith(prefix))


def api_key_names_allowed() -> list[str]:
    """The names a configuration can choose from: the listed ones and the variables with the
    prefix found in the environment or the secrets file (names only, never values)."""
    names = set(api_key_names_listed())
    prefix = api_key_prefix()
    if prefix:
        found = set(os.environ) | set(_secrets_file_values_or_none())
        names |= {n for n in found if n.startswith(prefix) and api_key_name_allowed(n)}
    return sorted(names)


def api_key_is_set(name: str) -> bool:
    return bool(os.environ.get(name)) or bool(_secrets_file_values_or_none().get(name))


def _secrets_file_values_or_none() -> dict[str, str]:
    """The secrets file's entries, or none when it cannot be read (using a key says why)."""
    try:
        return _secrets_file_values()
    except ApiKeyMissingError:
        return {}


def api_key_not_allowed_message(name: str) -> str:
    """Why ``name`` cannot be used, naming the variable and the setting (never a value)."""
    if api_key_name_denied(name):
        return (
            f"the API key variable {name} is not allowed: it belongs to the server's own "
            f"configuration and is never sent to a model server (not even when listed in "
            f"{KEYS_SETTING}); choose an allowed key variable in the configuration"
        )
    prefix = api_key_prefix()
    rule = f"listed in {KEYS_SETTING}" + (
        f" or starting with {PREFIX_SETTING} ({prefix})" if prefix else ""
    )
    return (
        f"the API key variable {name} is not allowed on this server: keys must be {rule}; "
        "choose an allowed key variable in the configuration, or ask the administrator"
    )


def _secrets_file_values() -> dict[str, str]:
    path = os.environ.get(SECRETS_FILE_ENV, "")
    if not path:
        return {}
    try:
        text = Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeError) as exc:
        raise ApiKeyMissingError(
            f"the secrets file named by ${SECRETS_FILE_ENV} cannot be read ({exc})"
        ) from None
    values: dict[str, str] = {}
    for line in text.splitlines():
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

    Raises ``ValueError`` for something that is not a name, ``ApiKeyNotAllowedError`` for a
    name the settings do not allow, and ``ApiKeyMissingError`` when an allowed name is found
    nowhere; the messages name the variable, never a value.
    """
    if not name:
        return NO_KEY
    if not api_key_name_valid(name):
        raise ValueError("api_key_env must be the NAME of an environment variable")
    if not api_key_name_allowed(name):
        raise ApiKeyNotAllowedError(api_key_not_allowed_message(name))
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


def server_secrets() -> tuple[str, ...]:
    """Secrets of the server itself, removed from every server answer that is stored."""
    found = [str(getattr(settings, "SECRET_KEY", "") or "")]
    for db in getattr(settings, "DATABASES", {}).values():
        found.append(str(db.get("PASSWORD") or ""))
    broker = str(getattr(settings, "CELERY_BROKER_URL", "") or "")
    match = re.match(r"^[a-z0-9+.-]+://[^:/@]*:([^@/]+)@", broker)
    if match:
        found.append(match.group(1))
    return tuple(s for s in found if s)


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


#: How much of a server's error or unparsed body is stored and shown.
SERVER_TEXT_MAX_CHARS = 2000
_CREDENTIAL_PATTERNS = (
    # Authorization headers and bearer tokens echoed back.
    (re.compile(r"(?i)\b(bearer|basic)\s+[A-Za-z0-9._~+/=-]{6,}"), r"\1 " + REDACTED),
    # API keys of the usual shapes (OpenAI sk-…, AWS access key ids).
    (re.compile(r"\bsk-[A-Za-z0-9_-]{16,}"), REDACTED),
    (re.compile(r"\bAKIA[0-9A-Z]{16}\b"), REDACTED),
    # Credentials in URLs: scheme://user:password@host.
    (re.compile(r"(?i)\b([a-z][a-z0-9+.-]*://)[^\s/:@]+:[^\s/@]+@"), r"\1" + REDACTED + "@"),
    # password=…, "secret": "…", token: …, api_key=… (JSON, query strings, config files).
    (
        re.compile(
            r"(?i)(\"?\b(?:password|passwd|pwd|secret|secret_key|token|access_token|api[_-]?key)"
            r"\b\"?\s*[:=]\s*\"?)[^\"\s,&;}]+"
        ),
        r"\1" + REDACTED,
    ),
)


def server_text(
    text: str, secrets: tuple[str, ...] = (), limit: int = SERVER_TEXT_MAX_CHARS
) -> str:
    """A server's error or unparsed body as it may be stored and shown: the configuration's
    key, the server's own secrets and anything shaped like a credential redacted, then
    truncated to ``limit`` characters (an internal page must not be relayed to the page)."""
    text = text[: limit * 4]
    text = redact(text, (*secrets, *server_secrets()))
    for pattern, replacement in _CREDENTIAL_PATTERNS:
        text = pattern.sub(replacement, text)
    if len(text) > limit:
        text = text[:limit] + f" … [truncated to {limit} characters]"
    return text
