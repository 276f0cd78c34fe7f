"""Services follow the house conventions (docs/architecture.md): they are keyword-only, name
the acting user ``actor`` and never take the request (a view hands the audit log where an
action comes from as ``origin=audit_origin(request)``; receivers read the request context the
middleware sets)."""

from __future__ import annotations

import importlib
import inspect
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parent.parent
# Services that live outside a services module (the part's module name says what they do).
EXTRA = {
    "readerstudy.bundles.scores": ["likert_scores_import"],
    "readerstudy.generation.finetune": ["finetune_job_create"],
    "readerstudy.audit.tokens": ["token_create", "token_revoke"],
}
#: The audit log's services module also holds its signal receivers and their helpers (plain
#: functions of model instances): only ``audit_record`` follows the service conventions there,
#: but no function of it takes the request.
AUDIT = "readerstudy.audit.services"


def service_modules() -> list[str]:
    files = [*ROOT.glob("readerstudy/*/services*.py"), *ROOT.glob("*/services*.py")]
    return sorted(".".join(f.relative_to(ROOT).with_suffix("").parts) for f in files)


def module_functions(name: str) -> Iterator[tuple[str, Callable[..., Any]]]:
    module = importlib.import_module(name)
    for attr, obj in vars(module).items():
        if inspect.isfunction(obj) and obj.__module__ == name:
            yield f"{name}.{attr}", obj


#: Every function defined in a services module (private ones and receivers too).
FUNCTIONS = {
    key: obj
    for name in service_modules()
    for key, obj in module_functions(name)
    if not key.rsplit(".", 1)[1].startswith("_") or name == AUDIT
}


def services() -> Iterator[tuple[str, Callable[..., Any]]]:
    yield f"{AUDIT}.audit_record", FUNCTIONS[f"{AUDIT}.audit_record"]
    for name in service_modules():
        if name == AUDIT:
            continue
        module = importlib.import_module(name)
        for attr, obj in vars(module).items():
            if inspect.isfunction(obj) and obj.__module__ == name and not attr.startswith("_"):
                yield f"{name}.{attr}", obj
    for name, attrs in EXTRA.items():
        module = importlib.import_module(name)
        for attr in attrs:
            yield f"{name}.{attr}", getattr(module, attr)


SERVICES = dict(services())


def test_the_services_are_found() -> None:
    assert {"readerstudy.reading.services.reading_session_create"} <= set(SERVICES)
    assert "evaluation.services.rating_submit" in SERVICES
    assert "readerstudy.generation.finetune.finetune_job_create" in SERVICES
    assert "readerstudy.audit.services.audit_record" in SERVICES
    assert "readerstudy.audit.tokens.token_create" in SERVICES
    assert "readerstudy.audit.services._token_event" in FUNCTIONS


@pytest.mark.parametrize("name", sorted(FUNCTIONS))
def test_no_function_of_a_services_module_takes_the_request(name: str) -> None:
    assert "request" not in inspect.signature(FUNCTIONS[name]).parameters


@pytest.mark.parametrize("name", sorted(SERVICES))
def test_a_service_never_takes_the_request_and_names_the_acting_user_actor(name: str) -> None:
    parameters = inspect.signature(SERVICES[name]).parameters
    assert "request" not in parameters
    assert "created_by" not in parameters


@pytest.mark.parametrize("name", sorted(SERVICES))
def test_a_service_is_keyword_only(name: str) -> None:
    parameters = inspect.signature(SERVICES[name]).parameters.values()
    positional = [p.name for p in parameters if p.kind not in (p.KEYWORD_ONLY, p.VAR_KEYWORD)]
    assert positional == []


MAX_INPUTS = 6


@pytest.mark.parametrize("name", sorted(SERVICES))
def test_a_service_with_many_inputs_takes_an_options_object(name: str) -> None:
    assert len(inspect.signature(SERVICES[name]).parameters) <= MAX_INPUTS
