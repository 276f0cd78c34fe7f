"""System checks of model generation (ids ``readerstudy.W…``, as before the relayout):
registered when the generation app is ready."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from django.apps import AppConfig
from django.conf import settings
from django.core import checks

from readerstudy.core.llm.client import Connection
from readerstudy.core.llm.egress import (
    BASE_URLS_SETTING,
    LINK_LOCAL_SETTING,
    destination_problems,
    link_local_allowed,
)
from readerstudy.core.llm.keys import (
    KEYS_SETTING,
    PREFIX_SETTING,
    api_key_name_denied,
    api_key_name_valid,
    api_key_prefix,
)


@checks.register(checks.Tags.security)
def check_generation_settings(
    app_configs: Sequence[AppConfig] | None, **kwargs: Any
) -> list[checks.CheckMessage]:
    """The allow-lists of model generation: usable, and not wider than meant."""

    found: list[checks.CheckMessage] = []
    for problem in destination_problems():
        found.append(
            checks.Error(
                f"{BASE_URLS_SETTING}: {problem}.",
                hint="Give comma-separated http(s) base URLs such as http://gpu01:8000/v1.",
                id="readerstudy.E021",
            )
        )
    ignored = [
        n
        for n in getattr(settings, KEYS_SETTING, ()) or ()
        if not n or not api_key_name_valid(n) or api_key_name_denied(n)
    ]
    if ignored:
        found.append(
            checks.Warning(
                f"{KEYS_SETTING} lists {', '.join(ignored)}, which can never be an API key "
                "(a variable of the server's own configuration, or not a variable name); "
                "ignored.",
                hint="List only the variables that hold model-server keys, e.g. "
                "READERSTUDY_KEY_OPENAI.",
                id="readerstudy.W021",
            )
        )
    prefix = str(getattr(settings, PREFIX_SETTING, "") or "")
    if prefix and not api_key_prefix():
        found.append(
            checks.Warning(
                f"{PREFIX_SETTING}={prefix!r} is too short, not a variable name, or the prefix "
                "of the server's own variables: no variable is allowed by prefix.",
                hint="Use a specific prefix of at least 4 characters such as READERSTUDY_KEY_.",
                id="readerstudy.W022",
            )
        )
    if link_local_allowed():
        found.append(
            checks.Warning(
                f"{LINK_LOCAL_SETTING} is on: model servers on link-local addresses, where "
                "cloud metadata services answer (169.254.169.254), can be contacted.",
                hint="Turn it off unless a model server really is on a link-local address.",
                id="readerstudy.W023",
            )
        )
    return found


@checks.register(checks.Tags.database)
def check_generation_configs(
    app_configs: Sequence[AppConfig] | None, databases: Sequence[str] | None = None, **kwargs: Any
) -> list[checks.CheckMessage]:
    """Stored configurations and fine-tuning jobs whose key or server the settings forbid
    (they stop with this message when run). Runs with ``check --database default`` and
    ``migrate``."""
    if not databases:
        return []
    from django.db import DatabaseError

    from readerstudy.generation.models import FineTuneJob, GenerationConfig

    found: list[checks.CheckMessage] = []
    try:
        configs = list(GenerationConfig.objects.select_related("reader__study"))
        jobs = list(FineTuneJob.objects.select_related("study"))
    except DatabaseError:  # not migrated yet
        return []
    for what, obj in [
        *((f"the configuration of {c.reader.study.slug}/{c.reader.code}", c) for c in configs),
        *((f"fine-tuning job {j.job_id} of {j.study.slug}", j) for j in jobs),
    ]:
        for problem in Connection.of(obj).problems():
            found.append(
                checks.Warning(
                    f"{what} cannot be used: {problem}.",
                    hint="Edit it on the generation page, or change the settings "
                    "(docs/configuration.md).",
                    obj=obj,
                    id="readerstudy.W024",
                )
            )
    return found
