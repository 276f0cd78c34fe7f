"""Who may reach what: one row per route (× variant × method), one expected status per role.

Every URL pattern of the app must have at least one row (``test_every_url_pattern_has_a_row``),
so a new page cannot be added without deciding who may see it. Rows with ids of the other
study, or of another reader's / rater's items, must answer 404 (or 302 to the sign-in / the
admin index), never data; and no response to someone outside the other study may contain any
of its text (``MARK``).

Adding rows: append ``Route(...)`` to ``ROUTES`` (API routes: ``auth="token"`` sends the role's
API token instead of a session). ``expect(ok_roles, status)`` gives ``status`` to ``ok_roles``,
404 to every other signed-in role and 302 (to the sign-in page) to anonymous visitors;
override single roles with keywords.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from django.contrib import admin
from django.db import transaction
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver, reverse

from evaluation.models import LikertDomain, LikertScore, Rater
from readerstudy.audit.models import AuditEvent
from readerstudy.bundles.models import BundleUpload
from readerstudy.reading.models import ReadingAmendment, ReadingSession, ReadingSubmission
from readerstudy.studies.models import Case, Reader, Reading, Study
from readerstudy.studies.pseudonyms import pseudonym
from tests.security.conftest import (
    ANON,
    COORD,
    MARK,
    OUTSIDER,
    RATER,
    READER,
    ROLES,
    STATS,
    SUPER,
    StudyObjects,
    World,
)

SIGNED_IN = tuple(r for r in ROLES if r != ANON)
MAIN_MEMBERS = (COORD, READER, RATER, STATS, SUPER)
ANALYSTS = (COORD, STATS, SUPER)


def expect(
    ok: Iterable[str] = (),
    status: int = 200,
    *,
    denied: int = 404,
    anon: int = 302,
    **overrides: int,
) -> dict[str, int]:
    """``status`` for ``ok``, ``denied`` for the other signed-in roles, ``anon`` for visitors."""
    table = {role: (status if role in ok else denied) for role in SIGNED_IN}
    table[ANON] = anon
    table.update(overrides)
    return table


def everyone(status: int = 200, *, anon: int | None = None) -> dict[str, int]:
    return expect(SIGNED_IN, status, anon=status if anon is None else anon)


Kwargs = Callable[[World], dict[str, Any]]


@dataclass(frozen=True)
class Route:
    """One request (route, URL kwargs, method, data) and its expected status for each role."""

    name: str
    kwargs: Kwargs
    expect: dict[str, int]
    method: str = "GET"
    label: str = ""
    query: str = ""
    data: Callable[[World], dict[str, Any]] | None = None
    auth: str = "session"  # "session" (force_login) or "token" (Authorization: Token …)
    as_json: bool = False  # send ``data`` as a JSON body (API rows) instead of a form
    #: For patterns without a name: the resolver key it covers and the path to request.
    pattern: str = ""
    path: Callable[[World], str] | None = None

    @property
    def id(self) -> str:
        return f"{self.method} {self.key}" + (f" [{self.label}]" if self.label else "")

    @property
    def key(self) -> str:
        """The resolver entry this row covers (see :func:`url_pattern_keys`)."""
        return self.pattern or self.name

    def url(self, world: World) -> str:
        base = self.path(world) if self.path else reverse(self.name, kwargs=self.kwargs(world))
        return base + (f"?{self.query}" if self.query else "")


def _upload(world: World, kind: str) -> BundleUpload:
    """A refused upload of the ``kind`` study (its problems name truth values), made once."""
    study = getattr(world, kind).study
    upload, _ = BundleUpload.objects.get_or_create(
        study=study,
        original_name=f"{kind}.zip",
        defaults={"status": "failed", "problems": [f"cases.csv:2: truth: {MARK[kind]} truth"]},
    )
    return upload


def none(world: World) -> dict[str, Any]:
    return {}


def main(world: World) -> dict[str, Any]:
    return {"slug": world.main.study.slug}


def other(world: World) -> dict[str, Any]:
    return {"slug": world.other.study.slug}


def in_main(attr: str, key: str, *, of: str = "main") -> Kwargs:
    """URL kwargs of the main study's slug and an object id of the ``of`` study."""

    def kwargs(world: World) -> dict[str, Any]:
        source: StudyObjects = getattr(world, of)
        value = getattr(source, attr)
        return {"slug": world.main.study.slug, key: getattr(value, "pk", value)}

    return kwargs


def in_other(attr: str, key: str) -> Kwargs:
    def kwargs(world: World) -> dict[str, Any]:
        value = getattr(world.other, attr)
        return {"slug": world.other.study.slug, key: getattr(value, "pk", value)}

    return kwargs


def plus(base: Kwargs, **extra: Any) -> Kwargs:
    def kwargs(world: World) -> dict[str, Any]:
        return {**base(world), **{k: (v(world) if callable(v) else v) for k, v in extra.items()}}

    return kwargs


def token(which: str, *, of: str = "main", **extra: Any) -> Kwargs:
    def kwargs(world: World) -> dict[str, Any]:
        return {"token": getattr(getattr(world, of), which), **extra}

    return kwargs


def item(which: str, *, of: str = "main", **extra: Any) -> Kwargs:
    def kwargs(world: World) -> dict[str, Any]:
        return {"public_id": getattr(getattr(world, of), which), **extra}

    return kwargs


def rating_session_id(of: str) -> Kwargs:
    return lambda world: {"session_id": getattr(world, of).rating_session.pk}


COORDINATORS = (COORD, SUPER)
OTHER_COORDINATORS = (OUTSIDER, SUPER)

# Study-scoped coordinator pages: the same four rows for each (main study; other study;
# main slug with the other study's object; POST-only views also answer GET with 405).
ROUTES: list[Route] = [
    # ---------------------------------------------------------------- core pages
    Route("home", none, everyone(200, anon=302)),
    Route("favicon", none, everyone(302)),
    Route("study-detail", main, expect(MAIN_MEMBERS)),
    Route("study-detail", other, expect(OTHER_COORDINATORS), label="other study"),
    Route("study-detail", lambda w: {"slug": "no-such-study"}, expect(), label="unknown slug"),
    Route("study-audit", main, expect(COORDINATORS)),
    Route("study-audit", main, expect(COORDINATORS), query="format=csv", label="csv"),
    Route("study-audit", other, expect(OTHER_COORDINATORS), label="other study"),
    # study setup on the web (issue 15): creating needs staff or readerstudy.add_study
    Route("study-new", none, expect([COORD, OUTSIDER, SUPER], denied=403)),
    Route("study-new", none, expect([COORD, OUTSIDER, SUPER], denied=403), method="POST"),
    Route("study-edit", main, expect(COORDINATORS)),
    Route("study-edit", main, expect(COORDINATORS), method="POST", label="invalid"),
    Route("study-edit", other, expect(OTHER_COORDINATORS), label="other study"),
    Route("study-members", main, expect(COORDINATORS)),
    Route(
        "study-members",
        main,
        expect(COORDINATORS),
        method="POST",
        data=lambda w: {"action": "add", "user": "nobody-at-all", "role": "rater"},
        label="add: unknown user",
    ),
    Route("study-members", other, expect(OTHER_COORDINATORS), label="other study"),
    Route("study-cases", main, expect(COORDINATORS)),
    Route("study-cases", main, expect(COORDINATORS), query="truth=1", label="truth filter"),
    Route("study-cases", other, expect(OTHER_COORDINATORS), label="other study"),
    # bundle upload on the web (issue 15): coordinators; a new study's upload like study-new
    Route("bundle-upload-new", none, expect([COORD, OUTSIDER, SUPER], denied=403)),
    Route("bundle-upload-new", none, expect([COORD, OUTSIDER, SUPER], denied=403), method="POST"),
    Route("bundle-upload", main, expect(COORDINATORS)),
    Route("bundle-upload", main, expect(COORDINATORS), method="POST", label="no file"),
    Route("bundle-upload", other, expect(OTHER_COORDINATORS), label="other study"),
    Route("bundle-upload-detail", lambda w: {"pk": _upload(w, "main").pk}, expect(COORDINATORS)),
    Route(
        "bundle-upload-detail",
        lambda w: {"pk": _upload(w, "other").pk},
        expect(OTHER_COORDINATORS),
        label="other study",
    ),
    Route("bundle-upload-progress", lambda w: {"pk": _upload(w, "main").pk}, expect(COORDINATORS)),
    Route(
        "bundle-upload-progress",
        lambda w: {"pk": _upload(w, "other").pk},
        expect(OTHER_COORDINATORS),
        label="other study",
    ),
    Route("invitation-accept", lambda w: {"token": "no-such-token"}, everyone(404)),
    Route("audit-all", none, expect([SUPER])),
    Route("audit-all", none, expect([SUPER]), query="format=csv", label="csv"),
    Route("api-token-page", none, everyone(200, anon=302)),
    Route("api-token-page", none, everyone(200, anon=302), method="POST", label="create"),
    Route(
        "api-token-page",
        none,
        everyone(302, anon=302),
        method="POST",
        data=lambda w: {"action": "revoke"},
        label="revoke",
    ),
    Route(
        "api-token-page",
        none,
        everyone(200, anon=302),
        query="confirm=revoke",
        label="revoke: confirmation page",
    ),
    # ---------------------------------------------------------------- sign-in pages
    Route("login", none, everyone(200)),
    Route(
        "login",
        none,
        everyone(200),
        method="POST",
        data=lambda w: {"username": "nobody", "password": "wrong"},
    ),
    Route("logout", none, everyone(405)),
    Route("logout", none, everyone(302), method="POST"),
    Route("password_change", none, everyone(200, anon=302)),
    Route("password_change_done", none, everyone(200, anon=302)),
    Route("password_reset", none, everyone(200)),
    Route(
        "password_reset",
        none,
        everyone(302),
        method="POST",
        data=lambda w: {"email": "nobody@example.org"},
    ),
    Route("password_reset_done", none, everyone(200)),
    Route(
        "password_reset_confirm",
        lambda w: {"uidb64": "MQ", "token": "bad-token"},
        everyone(200),
    ),
    Route("password_reset_complete", none, everyone(200)),
    # ---------------------------------------------------------------- reading: coordinators
    Route("reading-session-create", main, expect(COORDINATORS)),
    Route("reading-session-create", other, expect(OTHER_COORDINATORS), label="other study"),
    Route("reading-session-create", main, expect(COORDINATORS, 400), method="POST"),
    Route("reading-design-create", main, expect(COORDINATORS)),
    Route("reading-design-create", other, expect(OTHER_COORDINATORS), label="other study"),
    Route("reading-design-create", main, expect(COORDINATORS, 400), method="POST"),
    Route("reading-session", in_main("reading_session", "pk"), expect(COORDINATORS)),
    Route(
        "reading-session",
        in_other("reading_session", "pk"),
        expect(OTHER_COORDINATORS),
        label="other study",
    ),
    Route(
        "reading-session",
        in_main("reading_session", "pk", of="other"),
        expect(),
        label="other study's session under this slug",
    ),
    # editing and cloning sessions (issue 15)
    Route("reading-session-edit", in_main("reading_session", "pk"), expect(COORDINATORS)),
    Route(
        "reading-session-edit",
        in_main("reading_session", "pk"),
        expect(COORDINATORS, 400),
        method="POST",
        label="no readers",
    ),
    Route(
        "reading-session-edit",
        in_main("reading_session", "pk", of="other"),
        expect(),
        label="other study's session under this slug",
    ),
    Route("reading-session-clone", in_main("reading_session", "pk"), expect(COORDINATORS)),
    Route(
        "reading-session-clone",
        in_main("reading_session", "pk"),
        expect(COORDINATORS, 400),
        method="POST",
        label="no name",
    ),
    Route(
        "reading-session-clone",
        in_other("reading_session", "pk"),
        expect(OTHER_COORDINATORS),
        label="other study",
    ),
    Route("reading-session-export", in_main("reading_session", "pk"), expect(COORDINATORS)),
    Route(
        "reading-session-export",
        in_main("reading_session", "pk", of="other"),
        expect(),
        label="other study's session under this slug",
    ),
    Route(
        "reading-session-action",
        plus(in_main("reading_session", "pk"), action="close"),
        expect(COORDINATORS, 302),
        method="POST",
    ),
    Route(
        "reading-session-action",
        plus(in_main("reading_session", "pk"), action="close"),
        expect(COORDINATORS),
        label="GET: confirmation page",
    ),
    Route(
        "reading-session-action",
        plus(in_main("reading_session", "pk"), action="open"),
        expect(COORDINATORS, 405),
        label="GET open",
    ),
    Route(
        "reading-session-action",
        plus(in_main("reading_session", "pk", of="other"), action="close"),
        expect(),
        label="GET: other study's session under this slug",
    ),
    Route(
        "reading-session-action",
        plus(in_main("reading_session", "pk", of="other"), action="close"),
        expect(),
        method="POST",
        label="other study's session under this slug",
    ),
    Route(
        "reading-session-action",
        plus(in_other("reading_session", "pk"), action="close"),
        expect(OTHER_COORDINATORS, 302),
        method="POST",
        label="other study",
    ),
    # ---------------------------------------------------------------- reading: readers
    Route("reading-worklist", none, everyone(200, anon=302)),
    Route("reading-resume", token("own_token"), expect([READER], 302)),
    Route("reading-resume", token("other_token"), expect(), label="another reader's"),
    Route(
        "reading-resume",
        token("own_token", of="other"),
        expect([OUTSIDER], 302),
        label="other study",
    ),
    Route("reading-case", token("own_token", position=1), expect([READER])),
    Route("reading-case", token("own_token", position=1), expect([READER], 400), method="POST"),
    Route("reading-case", token("other_token", position=1), expect(), label="another reader's"),
    Route(
        "reading-case",
        token("other_token", position=1),
        expect(),
        method="POST",
        data=lambda w: {"category": "4", "impression": "x"},
        label="another reader's",
    ),
    Route(
        "reading-case",
        token("own_token", of="other", position=1),
        expect([OUTSIDER]),
        label="other study",
    ),
    Route(
        "reading-draft",
        token("own_token", position=1),
        expect([READER], anon=403),
        method="POST",
        as_json=True,
        data=lambda w: {"version": 0, "impression": "typed"},
    ),
    Route(
        "reading-draft",
        token("other_token", position=1),
        expect(anon=403),
        method="POST",
        as_json=True,
        data=lambda w: {"version": 0, "impression": "typed"},
        label="another reader's",
    ),
    Route(
        "reading-draft",
        token("own_token", of="other", position=1),
        expect([OUTSIDER], anon=403),
        method="POST",
        as_json=True,
        data=lambda w: {"version": 0, "impression": "typed"},
        label="other study",
    ),
    Route("reading-draft", token("own_token", position=1), everyone(405), label="GET"),
    Route("reading-image", token("own_token", position=1, index=1), expect([READER])),
    Route(
        "reading-image",
        token("other_token", position=1, index=1),
        expect(),
        label="another reader's",
    ),
    Route("reading-dicom-index", token("own_token", position=1), expect([READER])),
    Route(
        "reading-dicom-index",
        token("other_token", position=1),
        expect(),
        label="another reader's",
    ),
    Route("reading-dicom", token("own_token", position=1, series=1, number=1), expect([READER])),
    Route(
        "reading-dicom",
        token("other_token", position=1, series=1, number=1),
        expect(),
        label="another reader's",
    ),
    # ---------------------------------------------------------------- rating: raters
    Route("rating-worklist", none, everyone(200, anon=302)),
    Route("rating-session", rating_session_id("main"), expect([RATER])),
    Route("rating-session", rating_session_id("other"), expect([OUTSIDER]), label="other study"),
    Route("rating-resume", rating_session_id("main"), expect([RATER], 302)),
    Route("rating-resume", rating_session_id("other"), expect([OUTSIDER], 302), label="other"),
    Route("rating-item", item("own_item"), expect([RATER])),
    Route("rating-item", item("other_item"), expect(), label="another rater's"),
    Route("rating-item", item("own_item", of="other"), expect([OUTSIDER]), label="other study"),
    Route("rating-item", item("own_item"), expect([RATER], 302), method="POST"),
    Route("rating-item", item("other_item"), expect(), method="POST", label="another rater's"),
    Route("rating-review", item("own_item"), expect([RATER])),
    Route("rating-review", item("other_item"), expect(), label="another rater's"),
    Route("rating-submit", item("own_item"), expect([RATER], 302), method="POST"),
    Route("rating-submit", item("other_item"), expect(), method="POST", label="another rater's"),
    Route("rating-submit", item("own_item"), expect(SIGNED_IN, 405), label="GET"),
    Route("rating-draft-json", item("own_item"), expect([RATER], anon=403)),
    Route("rating-draft-json", item("other_item"), expect(anon=403), label="another rater's"),
    Route(
        "rating-draft-json",
        item("other_item"),
        expect(anon=403),
        method="POST",
        label="another rater's",
    ),
    Route(
        "rating-submit-json",
        item("other_item"),
        expect(anon=403),
        method="POST",
        label="another rater's",
    ),
    Route("rating-submit-json", item("own_item"), expect([RATER], 400, anon=403), method="POST"),
    Route("rating-item-image", item("own_item", number=1), expect([RATER])),
    Route("rating-item-image", item("other_item", number=1), expect(), label="another rater's"),
    # ---------------------------------------------------------------- rating: coordinators
    Route("rating-manage", main, expect(COORDINATORS)),
    Route("rating-manage", other, expect(OTHER_COORDINATORS), label="other study"),
    Route("rating-leaks", main, expect(COORDINATORS)),
    Route("rating-unblind", main, expect(COORDINATORS)),
    Route("rating-unblind", main, expect(COORDINATORS), method="POST"),
    Route("rating-unblind", other, expect(OTHER_COORDINATORS), method="POST", label="other"),
    Route("rating-session-new", main, expect(COORDINATORS)),
    Route("rating-session-new", main, expect(COORDINATORS), method="POST"),
    Route("rating-session-detail", in_main("rating_session", "pk"), expect(COORDINATORS)),
    Route("rating-session-raters", in_main("rating_session", "pk"), expect(COORDINATORS)),
    Route(
        "rating-session-raters",
        in_main("rating_session", "pk"),
        expect(COORDINATORS, 400),
        method="POST",
        label="no raters",
    ),
    Route(
        "rating-session-raters",
        in_main("rating_session", "pk", of="other"),
        expect(),
        label="other study's session under this slug",
    ),
    Route(
        "rating-session-detail",
        in_main("rating_session", "pk", of="other"),
        expect(),
        label="other study's session under this slug",
    ),
    Route(
        "rating-session-start",
        in_main("rating_session", "pk"),
        expect(COORDINATORS, 302),
        method="POST",
    ),
    Route(
        "rating-session-start",
        in_main("rating_session", "pk", of="other"),
        expect(),
        method="POST",
        label="other study's session under this slug",
    ),
    Route(
        "rating-session-close",
        in_main("rating_session", "pk"),
        expect(COORDINATORS, 302),
        method="POST",
    ),
    Route(
        "rating-session-close",
        in_main("rating_session", "pk"),
        expect(COORDINATORS),
        label="GET: confirmation page",
    ),
    Route(
        "rating-session-close",
        in_main("rating_session", "pk", of="other"),
        expect(),
        label="GET: other study's session under this slug",
    ),
    Route(
        "rating-session-close",
        in_main("rating_session", "pk", of="other"),
        expect(),
        method="POST",
        label="other study's session under this slug",
    ),
    Route(
        "rating-item-redact",
        plus(in_main("rating_session", "pk"), public_id=lambda w: w.main.own_item),
        expect(COORDINATORS),
    ),
    Route(
        "rating-item-redact",
        plus(in_main("rating_session", "pk"), public_id=lambda w: w.main.own_item),
        expect(COORDINATORS, 200),
        method="POST",
    ),
    Route(
        "rating-item-redact",
        plus(in_main("rating_session", "pk"), public_id=lambda w: w.other.own_item),
        expect(),
        label="other study's item",
    ),
    Route("rating-session-key", in_main("rating_session", "pk"), expect(COORDINATORS)),
    Route(
        "rating-session-key",
        in_other("rating_session", "pk"),
        expect(OTHER_COORDINATORS),
        label="other study",
    ),
    Route(
        "rating-session-key",
        in_main("rating_session", "pk", of="other"),
        expect(),
        label="other study's session under this slug",
    ),
    Route("rating-session-key-csv", in_main("rating_session", "pk"), expect(COORDINATORS)),
    Route(
        "rating-session-key-csv",
        in_main("rating_session", "pk", of="other"),
        expect(),
        label="other study's session under this slug",
    ),
    Route(
        "rating-session-randomisation-csv",
        in_main("rating_session", "pk"),
        expect(COORDINATORS),
    ),
    Route(
        "rating-session-randomisation-csv",
        in_main("rating_session", "pk", of="other"),
        expect(),
        label="other study's session under this slug",
    ),
    # ---------------------------------------------------------------- model generation
    Route("generation-home", main, expect(COORDINATORS)),
    Route("generation-home", other, expect(OTHER_COORDINATORS), label="other study"),
    Route("generation-config-create", main, expect(COORDINATORS)),
    Route("generation-config-create", main, expect(COORDINATORS), method="POST"),
    Route("generation-config-edit", in_main("config_id", "config_id"), expect(COORDINATORS)),
    Route(
        "generation-config-edit",
        in_main("config_id", "config_id"),
        expect(COORDINATORS),
        method="POST",
    ),
    Route(
        "generation-config-edit",
        in_main("config_id", "config_id", of="other"),
        expect(),
        label="other study's config under this slug",
    ),
    Route(
        "generation-config-edit",
        in_main("config_id", "config_id", of="other"),
        expect(),
        method="POST",
        label="other study's config under this slug",
    ),
    Route("generation-run-start", in_main("config_id", "config_id"), expect(COORDINATORS)),
    Route(
        "generation-run-start",
        in_main("config_id", "config_id"),
        expect(COORDINATORS),
        method="POST",
    ),
    Route(
        "generation-run-start",
        in_main("config_id", "config_id", of="other"),
        expect(),
        method="POST",
        label="other study's config under this slug",
    ),
    Route("generation-run", in_main("run_id", "run_id"), expect(COORDINATORS)),
    Route(
        "generation-run",
        in_main("run_id", "run_id", of="other"),
        expect(),
        label="other study's run under this slug",
    ),
    Route(
        "generation-run", in_other("run_id", "run_id"), expect(OTHER_COORDINATORS), label="other"
    ),
    Route("generation-run-progress", in_main("run_id", "run_id"), expect(COORDINATORS)),
    Route(
        "generation-run-progress",
        in_main("run_id", "run_id", of="other"),
        expect(),
        label="other study's run under this slug",
    ),
    Route(
        "generation-run-stop",
        in_main("run_id", "run_id"),
        expect(COORDINATORS, 302),
        method="POST",
    ),
    Route(
        "generation-run-stop",
        in_main("run_id", "run_id"),
        expect(COORDINATORS, 302),  # a finished run: nothing to confirm, back to the run
        label="GET",
    ),
    Route(
        "generation-run-stop",
        in_main("run_id", "run_id", of="other"),
        expect(),
        label="GET: other study's run under this slug",
    ),
    Route(
        "generation-run-stop",
        in_main("run_id", "run_id", of="other"),
        expect(),
        method="POST",
        label="other study's run under this slug",
    ),
    Route(
        "generation-run-resume",
        in_main("run_id", "run_id"),
        expect(COORDINATORS, 302),
        method="POST",
    ),
    Route(
        "generation-run-resume",
        in_main("run_id", "run_id", of="other"),
        expect(),
        method="POST",
        label="other study's run under this slug",
    ),
    Route(
        "generation-run-poll",
        in_main("run_id", "run_id"),
        expect(COORDINATORS, 302),
        method="POST",
    ),
    Route(
        "generation-run-poll",
        in_main("run_id", "run_id", of="other"),
        expect(),
        method="POST",
        label="other study's run under this slug",
    ),
    Route("generation-item", in_main("item_id", "item_id"), expect(COORDINATORS)),
    Route(
        "generation-item",
        in_main("item_id", "item_id", of="other"),
        expect(),
        label="other study's item under this slug",
    ),
    Route(
        "generation-finetune-refresh",
        in_main("job_id", "job_id"),
        expect(COORDINATORS, 302),
        method="POST",
    ),
    Route(
        "generation-finetune-refresh",
        in_main("job_id", "job_id", of="other"),
        expect(),
        method="POST",
        label="other study's job under this slug",
    ),
    # ---------------------------------------------------------------- analysis
    Route("analysis-dashboard", main, expect(ANALYSTS)),
    # sample-size planning uses no study data: any signed-in user
    Route("analysis-planning", none, everyone(200, anon=302)),
    Route("analysis-dashboard", other, expect(OTHER_COORDINATORS), label="other study"),
    Route("analysis-results", main, expect(ANALYSTS)),
    Route("analysis-results", other, expect(OTHER_COORDINATORS), label="other study"),
    Route("analysis-table", plus(main, name="diagnostic_performance", fmt="csv"), expect(ANALYSTS)),
    Route("analysis-table", plus(main, name="tables", fmt="xlsx"), expect(ANALYSTS), label="xlsx"),
    Route(
        "analysis-table",
        plus(other, name="diagnostic_performance", fmt="csv"),
        expect(OTHER_COORDINATORS),
        label="other study",
    ),
    Route("analysis-figure", plus(main, name="roc_curves", fmt="html"), expect(ANALYSTS)),
    Route(
        "analysis-figure",
        plus(other, name="roc_curves", fmt="html"),
        expect(OTHER_COORDINATORS),
        label="other study",
    ),
    Route("analysis-export", plus(main, kind="readings.csv"), expect(ANALYSTS)),
    Route("analysis-export", plus(main, kind="likert.csv"), expect(ANALYSTS), label="likert"),
    Route(
        "analysis-export",
        plus(other, kind="readings.csv"),
        expect(OTHER_COORDINATORS),
        label="other study",
    ),
    # ---------------------------------------------------------------- API (JSON)
    # The schema and its viewer describe endpoints, not data: public.
    Route("api-root", none, everyone(200)),
    Route("api-schema", none, everyone(200)),
    Route("api-docs", none, everyone(200)),
    Route("api-me", none, expect(SIGNED_IN, anon=401)),
    Route("api-me", none, expect(SIGNED_IN, anon=401), auth="token", label="token"),
    Route(
        "api-token",
        none,
        everyone(401),
        method="POST",
        data=lambda w: {"username": "nobody", "password": "wrong"},
    ),
    Route("api-study-list", none, expect(SIGNED_IN, anon=401)),
    Route("api-study-detail", main, expect(MAIN_MEMBERS, anon=401)),
    Route("api-study-detail", main, expect(MAIN_MEMBERS, anon=401), auth="token", label="token"),
    Route("api-study-detail", other, expect(OTHER_COORDINATORS, anon=401), label="other study"),
    Route(
        "api-not-found",
        none,
        everyone(404),
        path=lambda w: "/api/no-such-endpoint/",
    ),
]


# -------------------------------------------------------------------- API rows, generated
# The API's convention (docs/api.md): visitors 401; a study the caller holds no role in 404;
# a role of the study that may not use the endpoint 403; an object of another study (under the
# caller's own slug) or another person's assignment or item 404. Every main-study row is sent
# with a token and with a session; the cross-study and other-person variants with a token.
StudyData = Callable[[StudyObjects], Any]
Ids = Callable[[StudyObjects], dict[str, Any]]


def api_expect(allowed: Iterable[str], status: int = 200, **overrides: int) -> dict[str, int]:
    """An endpoint of the main study: ``status`` for the ``allowed`` roles and superusers (who
    hold every role), 403 for the study's other members, 404 for the other study's member."""
    table = {role: (status if role in allowed else 403) for role in (COORD, READER, RATER, STATS)}
    table.update({ANON: 401, OUTSIDER: 404, SUPER: status})
    table.update(overrides)
    return table


def personal(owner: str = "", status: int = 200) -> dict[str, int]:
    """A reader's or rater's own object: only its owner (superusers and coordinators get 404)."""
    return expect([owner] if owner else [], status, anon=401)


def api_rows(
    name: str,
    kwargs: Kwargs,
    table: dict[str, int],
    *,
    method: str = "GET",
    data: Callable[[World], Any] | None = None,
    label: str = "",
    session: bool = True,
) -> list[Route]:
    """The request by token, and (``session``) the same request with a session cookie."""
    rows = []
    for auth in ("token", "session") if session else ("token",):
        rows.append(
            Route(
                name,
                kwargs,
                table,
                method=method,
                data=data,
                auth=auth,
                as_json=True,
                label=", ".join(filter(None, [auth, label])),
            )
        )
    return rows


def personal_api(
    name: str,
    owner: str,
    status: int = 200,
    *,
    method: str = "GET",
    data: Callable[[World], Any] | None = None,
    other_study: bool = False,
    **extra: Any,
) -> list[Route]:
    """Rows of a reader's (assignment token) or rater's (item id) own object: the owner's
    (token and session), another reader's or rater's of the same session (404 for everyone),
    and (``other_study``) the other study's member's own."""
    ref, person = (token, "reader") if owner == READER else (item, "rater")
    own, theirs = f"own_{ref.__name__}", f"other_{ref.__name__}"
    rows = api_rows(name, ref(own, **extra), personal(owner, status), method=method, data=data)
    rows += api_rows(
        name,
        ref(theirs, **extra),
        personal(),
        method=method,
        data=data,
        label=f"another {person}'s",
        session=False,
    )
    if other_study:
        rows += api_rows(
            name,
            ref(own, of="other", **extra),
            personal(OUTSIDER, status),
            method=method,
            data=data,
            label="other study",
            session=False,
        )
    return rows


def no_ids(objects: StudyObjects) -> dict[str, Any]:
    return {}


def study_api(
    name: str,
    allowed: Iterable[str],
    status: int = 200,
    *,
    ids: Ids = no_ids,
    method: str = "GET",
    data: StudyData | None = None,
    other_study: bool = True,
    foreign: bool = False,
    label: str = "",
    overrides: dict[str, int] | None = None,
) -> list[Route]:
    """Rows of an endpoint under ``/api/studies/<slug>/``: the main study (token and session);
    the other study's slug with its own ids (``other_study``); and (``foreign``) the other
    study's object under the main study's slug. ``overrides``: statuses of single roles in
    the main study."""

    def under(slug_of: str, ids_of: str) -> Kwargs:
        def kwargs(world: World) -> dict[str, Any]:
            return {"slug": getattr(world, slug_of).study.slug, **ids(getattr(world, ids_of))}

        return kwargs

    def body(of: str) -> Callable[[World], Any] | None:
        return None if data is None else (lambda world: data(getattr(world, of)))

    allowed = tuple(allowed)
    rows = api_rows(
        name,
        under("main", "main"),
        api_expect(allowed, status, **(overrides or {})),
        method=method,
        data=body("main"),
        label=label,
    )
    if other_study:
        rows += api_rows(
            name,
            under("other", "other"),
            expect(OTHER_COORDINATORS, status, anon=401),
            method=method,
            data=body("other"),
            label=", ".join(filter(None, ["other study", label])),
            session=False,
        )
    if foreign:
        rows += api_rows(
            name,
            under("main", "other"),
            api_expect(allowed, 404),
            method=method,
            data=body("main"),
            label=", ".join(filter(None, ["other study's object under this slug", label])),
            session=False,
        )
    return rows


def _reading(objects: StudyObjects) -> list[dict[str, Any]]:
    code = objects.case.code
    return [{"reader_id": "R1", "case_id": code, "category": 3, "run": 5, "modality": 9}]


def _reading_session(objects: StudyObjects) -> dict[str, Any]:
    return {"name": "New session", "readers": [objects.reader.code], "seed": 1}


def _design(objects: StudyObjects) -> dict[str, Any]:
    return {"name": "New design", "readers": [objects.reader.code], "assist_reader": "M1"}


def _rating_session(objects: StudyObjects) -> dict[str, Any]:
    # The human reader's outputs: no rater has them pending in the world's open session.
    rater = objects.rater.user.get_username()  # type: ignore[union-attr]
    return {"name": "New rating", "readers": ["R1"], "runs": [1], "raters": [rater], "seed": 1}


def _scores(objects: StudyObjects) -> dict[str, Any]:
    row = {"reader_id": "M1", "case_id": objects.case.code, "run": 1, "domain": "correctness"}
    return {"rows": [{**row, "rater_id": "panel1", "score": 3}]}


def _answer(world: World) -> dict[str, Any]:
    return {"category": 4, "impression": "Mass.", "token": str(uuid.uuid4()), "version": 0}


def _rating(world: World) -> dict[str, Any]:
    return {"token": str(uuid.uuid4()), "version": 0, "scores": {"correctness": 4}}


def _draft(world: World) -> dict[str, Any]:
    return {"version": 0, "scores": {"correctness": 2}}


STUDY_DATA = (COORD, STATS)  # cases, readers, readings; truth for coordinators only
ONLY_COORD = (COORD,)
MEMBERS = (COORD, READER, RATER, STATS)


def case_code(objects: StudyObjects) -> dict[str, Any]:
    return {"code": objects.case.code}


def pseudonym_of(kind: str, attr: str) -> Ids:
    """The ``code`` URL kwarg as a blinded statistician names the object: its pseudonym."""

    def ids(objects: StudyObjects) -> dict[str, Any]:
        return {"code": pseudonym(objects.study.slug, kind, getattr(objects, attr).code)}

    return ids


#: A blinded statistician names cases and readers by pseudonym: a real code is not found
#: (probing real codes reveals nothing), a pseudonym is; for everyone else the reverse.
BLINDED_LOOKUP = {STATS: 404}
PSEUDONYM_LOOKUP = {COORD: 404, SUPER: 404}


def reading_session_pk(objects: StudyObjects) -> dict[str, Any]:
    return {"pk": objects.reading_session.pk}


def rating_session_pk(objects: StudyObjects) -> dict[str, Any]:
    return {"pk": objects.rating_session.pk}


def run_id(objects: StudyObjects) -> dict[str, Any]:
    return {"run_id": objects.run_id}


def api_routes() -> list[Route]:
    signed_in = expect(SIGNED_IN, anon=401)
    rows = [
        *api_rows("api-study-list", none, signed_in, session=False),
        *api_rows("api-token", none, expect(SIGNED_IN, 204, anon=401), method="DELETE"),
        # ------------------------------------------------------------ cases, readers, readings
        *study_api("api-case-list", STUDY_DATA),
        *study_api(
            "api-case-list",
            ONLY_COORD,
            201,
            method="POST",
            data=lambda s: {"code": "NEWCASE", "truth": 1},
        ),
        *study_api(
            "api-case-detail", STUDY_DATA, ids=case_code, foreign=True, overrides=BLINDED_LOOKUP
        ),
        *study_api(
            "api-case-detail",
            STUDY_DATA,
            ids=pseudonym_of("case", "case"),
            other_study=False,
            label="by pseudonym",
            overrides=PSEUDONYM_LOOKUP,
        ),
        *study_api(
            "api-case-detail",
            ONLY_COORD,
            ids=case_code,
            method="PATCH",
            data=lambda s: {"location": "right breast"},
            foreign=True,
        ),
        # A method the endpoint lacks: 405 for every member, 404 for everyone else.
        *study_api("api-case-detail", MEMBERS, 405, ids=case_code, method="DELETE"),
        *study_api("api-reader-list", STUDY_DATA),
        # Both studies have readers R1, R2, M1: a code is only looked up within the study.
        *study_api(
            "api-reader-detail",
            STUDY_DATA,
            ids=lambda s: {"code": s.reader.code},
            overrides=BLINDED_LOOKUP,
        ),
        *study_api(
            "api-reader-detail",
            STUDY_DATA,
            ids=pseudonym_of("reader", "reader"),
            other_study=False,
            label="by pseudonym",
            overrides=PSEUDONYM_LOOKUP,
        ),
        *study_api("api-reading-list", STUDY_DATA),
        *study_api("api-reading-import", ONLY_COORD, 201, method="POST", data=_reading),
        *study_api("api-reading-import", MEMBERS, 405, other_study=False),
        # ------------------------------------------------------------ reading sessions, runs
        *study_api("api-reading-design-list", ONLY_COORD),
        *study_api("api-reading-design-list", ONLY_COORD, 201, method="POST", data=_design),
        *study_api("api-reading-session-list", ONLY_COORD),
        *study_api("api-reading-session-detail", ONLY_COORD, ids=reading_session_pk, foreign=True),
        *study_api(
            "api-reading-session-list", ONLY_COORD, 201, method="POST", data=_reading_session
        ),
        # The world's reading session is open: opening it again is a 409, closing it works.
        *study_api(
            "api-reading-session-open",
            ONLY_COORD,
            409,
            ids=reading_session_pk,
            method="POST",
            foreign=True,
        ),
        *study_api("api-reading-session-close", ONLY_COORD, ids=reading_session_pk, method="POST"),
        # editing and cloning (issue 15): no readers is a 400, a clone a new draft
        *study_api(
            "api-reading-session-readers",
            ONLY_COORD,
            400,
            ids=reading_session_pk,
            method="POST",
            foreign=True,
        ),
        *study_api(
            "api-reading-session-clone",
            ONLY_COORD,
            201,
            ids=reading_session_pk,
            method="POST",
            data=lambda objs: {"name": f"Clone {uuid.uuid4().hex[:8]}"},
        ),
        *study_api(
            "api-reading-session-close",
            MEMBERS,
            405,
            ids=reading_session_pk,
            other_study=False,
        ),
        *study_api("api-generation-config-list", ONLY_COORD),
        # M1 has no configuration yet: the page's starting values make a valid one.
        *study_api(
            "api-generation-config-list",
            ONLY_COORD,
            201,
            method="POST",
            data=lambda s: {"reader": "M1"},
        ),
        *study_api("api-generation-run-list", ONLY_COORD),
        # M1 has no configuration: refused before anything starts.
        *study_api(
            "api-generation-run-list",
            ONLY_COORD,
            400,
            method="POST",
            data=lambda s: {"reader": "M1"},
        ),
        *study_api("api-generation-run-detail", ONLY_COORD, ids=run_id, foreign=True),
        *study_api(
            "api-generation-run-stop", ONLY_COORD, 409, ids=run_id, method="POST", foreign=True
        ),
        *study_api(
            "api-generation-run-resume", ONLY_COORD, 409, ids=run_id, method="POST", foreign=True
        ),
        *study_api("api-generation-run-resume", MEMBERS, 405, ids=run_id, other_study=False),
        # ------------------------------------------------------------ a reader's own work
        *api_rows("api-assignment-list", none, signed_in),
        *personal_api("api-assignment-detail", READER, other_study=True),
        *personal_api("api-reading-next", READER),
        *personal_api("api-reading-case", READER, position=1),
        *personal_api(
            "api-reading-case",
            READER,
            201,
            method="POST",
            data=_answer,
            other_study=True,
            position=1,
        ),
        *personal_api("api-reading-image", READER, position=1, index=1),
        # ------------------------------------------------------------ a rater's own items
        *api_rows("api-rating-sessions", none, signed_in),
        *api_rows("api-rating-items", none, signed_in),
        *personal_api("api-rating-item", RATER, other_study=True),
        *personal_api("api-rating-item-draft", RATER),
        *personal_api("api-rating-item-draft", RATER, method="PUT", data=_draft),
        *personal_api("api-rating-item-draft", RATER, method="POST", data=_draft),
        *personal_api(
            "api-rating-item-submit", RATER, method="POST", data=_rating, other_study=True
        ),
        *personal_api("api-rating-item-image", RATER, number=1),
        # ------------------------------------------------------------ rating: coordinators
        *study_api("api-rating-session-list", ONLY_COORD),
        *study_api("api-rating-session-detail", ONLY_COORD, ids=rating_session_pk, foreign=True),
        *study_api("api-rating-session-key", ONLY_COORD, ids=rating_session_pk, foreign=True),
        *study_api("api-rating-session-list", ONLY_COORD, 201, method="POST", data=_rating_session),
        # The world's rating session is open: opening it again is a 409, closing it works.
        *study_api(
            "api-rating-session-open",
            ONLY_COORD,
            409,
            ids=rating_session_pk,
            method="POST",
            data=lambda s: {"confirm_unresolved_leaks": True},
            foreign=True,
        ),
        *study_api("api-rating-session-close", ONLY_COORD, ids=rating_session_pk, method="POST"),
        *study_api(
            "api-rating-session-close", MEMBERS, 405, ids=rating_session_pk, other_study=False
        ),
        *study_api("api-scores-import", ONLY_COORD, 201, method="POST", data=_scores),
        *study_api("api-scores-import", MEMBERS, 405, other_study=False),
        # ------------------------------------------------------------ analysis, audit log
        *study_api("api-analysis-results", ANALYSTS),
        *study_api("api-export", STUDY_DATA, ids=lambda s: {"name": "readings.csv"}),
        *study_api(
            "api-export",
            STUDY_DATA,
            ids=lambda s: {"name": "likert.csv"},
            other_study=False,
            label="likert.csv",
        ),
        *study_api("api-study-audit", ONLY_COORD),
    ]
    return rows


ROUTES.extend(api_routes())


# -------------------------------------------------------------------- admin rows, generated
#: An object of each study-scoped admin model, per study.
ADMIN_OBJECTS: dict[type, Callable[[StudyObjects], Any]] = {
    Study: lambda s: s.study,
    Case: lambda s: s.case,
    Reader: lambda s: s.reader,
    Reading: lambda s: s.reading,
    AuditEvent: lambda s: AuditEvent.objects.get(pk=s.audit_id),
    ReadingSession: lambda s: s.reading_session,
    ReadingSubmission: lambda s: ReadingSubmission.objects.filter(
        work__assignment__session=s.reading_session
    ).first(),
    ReadingAmendment: lambda s: ReadingAmendment.objects.filter(
        work__assignment__session=s.reading_session
    ).first(),
    LikertDomain: lambda s: s.domain,
    Rater: lambda s: s.rater,
    LikertScore: lambda s: LikertScore.objects.filter(domain__study=s.study).first(),
}
#: Admin models nobody adds, changes or deletes (history kept by the app itself).
READ_ONLY_ADMIN = {AuditEvent, ReadingSession, ReadingSubmission, ReadingAmendment}
#: Staff coordinators get the admin of these apps only (auth and tokens answer 403).
STUDY_APPS = {"readerstudy", "evaluation"}
#: Non-staff accounts and visitors are sent to the admin's sign-in page.
TO_ADMIN_LOGIN = 302
#: The admin answers an object it does not show with a redirect to its index.
NOT_SHOWN = 302


def admin_expect(coordinator: int, outsider: int, superuser: int) -> dict[str, int]:
    return {
        ANON: TO_ADMIN_LOGIN,
        READER: TO_ADMIN_LOGIN,
        RATER: TO_ADMIN_LOGIN,
        STATS: TO_ADMIN_LOGIN,
        COORD: coordinator,
        OUTSIDER: outsider,
        SUPER: superuser,
    }


def staff(status: int, superuser: int | None = None) -> dict[str, int]:
    return admin_expect(status, status, status if superuser is None else superuser)


def _object_id(get: Callable[[World], Any]) -> Kwargs:
    return lambda world: {"object_id": get(world).pk}


def _model_rows(model: type) -> Iterator[Route]:
    meta = model._meta  # type: ignore[attr-defined]
    info = f"admin:{meta.app_label}_{meta.model_name}"
    scoped = meta.app_label in STUDY_APPS
    coord = 200 if scoped else 403
    yield Route(f"{info}_changelist", none, staff(coord, 200))
    add = 403 if model in READ_ONLY_ADMIN else 200
    yield Route(f"{info}_add", none, staff(add if scoped else 403, add))
    bare = f"admin:admin/{meta.app_label}/{meta.model_name}/<path:object_id>/"
    if model not in ADMIN_OBJECTS:  # users, groups, API tokens: superusers only

        def first(world: World, m: type = model) -> Any:
            return m.objects.order_by("pk").first()  # type: ignore[attr-defined]

        for view in ("change", "delete", "history"):
            yield Route(f"{info}_{view}", _object_id(first), staff(403, 200))
        yield Route(
            bare,
            none,
            staff(302),
            pattern=bare,
            path=lambda w, f=first: reverse(f"{info}_changelist") + f"{f(w).pk}/",
        )
        return
    own = {"change": 200, "delete": 403 if model in READ_ONLY_ADMIN else 200, "history": 200}
    for of in ("main", "other"):

        def get(world: World, g: Callable[..., Any] = ADMIN_OBJECTS[model], o: str = of) -> Any:
            return g(getattr(world, o))

        for view, status in own.items():
            # a view refused to the model as a whole is refused before any object lookup
            hidden = 403 if status == 403 else NOT_SHOWN
            mine, theirs = (status, hidden) if of == "main" else (hidden, status)
            yield Route(
                f"{info}_{view}",
                _object_id(get),
                admin_expect(mine, theirs, status),
                label=f"{of} study's object",
            )
        yield Route(
            bare,
            none,
            staff(302),
            pattern=bare,
            label=f"{of} study's object",
            path=lambda w, g=get: reverse(f"{info}_changelist") + f"{g(w).pk}/",
        )


def admin_routes() -> list[Route]:
    rows = [
        Route("admin:index", none, staff(200)),
        Route("admin:login", none, everyone(200) | {COORD: 302, OUTSIDER: 302, SUPER: 302}),
        Route("admin:logout", none, everyone(302), method="POST"),
        Route("admin:password_change", none, staff(200)),
        Route("admin:password_change_done", none, staff(200)),
        Route("admin:autocomplete", none, staff(403)),
        Route("admin:jsi18n", none, staff(200)),
        Route("admin:app_list", lambda w: {"app_label": "readerstudy"}, staff(200)),
        Route("admin:app_list", lambda w: {"app_label": "auth"}, staff(404, 200), label="auth"),
        Route(
            "admin:view_on_site",
            lambda w: {"content_type_id": "0", "object_id": "0"},
            staff(404),
        ),
        Route(
            "admin:admin/(?P<url>.*)$",
            none,
            staff(404),
            pattern="admin:admin/(?P<url>.*)$",
            path=lambda w: "/admin/no-such-page/",
        ),
    ]
    rows.append(
        Route(
            "admin:auth_user_password_change",
            lambda w: {"id": w.user(READER).pk},
            staff(403, 200),
        )
    )
    for model in admin.site._registry:
        rows.extend(_model_rows(model))
    rows += [
        # A POST cannot put an object into a study the user does not coordinate: the form
        # refuses the choice (200 with the error), while the other study's coordinator can.
        Route(
            "admin:readerstudy_case_add",
            none,
            admin_expect(200, 302, 302),
            method="POST",
            data=lambda w: {
                "study": w.other.study.pk,
                "code": "NEWCASE",
                "split": "test",
                "truth": "1",
                "position": "0",
                "attributes": "{}",
                "images-TOTAL_FORMS": "0",
                "images-INITIAL_FORMS": "0",
            },
            label="into the other study",
        ),
        # Changing another study's object: not found, nothing changed.
        Route(
            "admin:readerstudy_case_change",
            lambda w: {"object_id": w.other.case.pk},
            admin_expect(NOT_SHOWN, 200, 200),
            method="POST",
            data=lambda w: {"study": w.other.study.pk, "code": "CHANGED", "truth": "9"},
            label="other study's object",
        ),
    ]
    return rows


ROUTES.extend(admin_routes())


# -------------------------------------------------------------------- the tests
def url_pattern_keys() -> set[str]:
    """Every URL pattern of the app: its (namespaced) name, or for an unnamed pattern
    ``namespace:full-pattern``."""
    keys: set[str] = set()

    def walk(resolver: URLResolver, prefix: str, namespace: str) -> None:
        for entry in resolver.url_patterns:
            if isinstance(entry, URLResolver):
                ns = f"{namespace}{entry.namespace}:" if entry.namespace else namespace
                walk(entry, prefix + str(entry.pattern), ns)
            elif isinstance(entry, URLPattern):
                full = prefix + str(entry.pattern)
                keys.add(f"{namespace}{entry.name}" if entry.name else f"{namespace}{full}")

    walk(get_resolver(), "", "")
    return keys


def test_every_url_pattern_has_a_row() -> None:
    missing = url_pattern_keys() - {row.key for row in ROUTES}
    assert not missing, "URL patterns without a row in the permissions matrix: " + ", ".join(
        sorted(missing)
    )


def test_every_row_names_an_existing_url_pattern() -> None:
    unknown = {row.key for row in ROUTES} - url_pattern_keys()
    assert not unknown, f"rows for URL patterns that do not exist: {sorted(unknown)}"


def test_every_row_has_an_expectation_for_every_role() -> None:
    incomplete = [row.id for row in ROUTES if set(row.expect) != set(ROLES)]
    assert not incomplete


def _request(client: Client, route: Route, world: World, role: str) -> tuple[int, bytes]:
    url = route.url(world)
    headers: dict[str, str] = {}
    if route.auth == "token" and role != ANON:
        headers["HTTP_AUTHORIZATION"] = f"Token {world.tokens[role]}"
    elif role != ANON:
        client.force_login(world.user(role))
    data = route.data(world) if route.data else {}
    if route.method == "GET":
        response = client.get(url, **headers)
    else:
        response = client.generic(
            route.method,
            url,
            data=json.dumps(data) if route.as_json else _encode(data),
            content_type="application/json"
            if route.as_json
            else "application/x-www-form-urlencoded",
            **headers,
        )
    body = (
        b"".join(response.streaming_content)  # type: ignore[attr-defined]
        if response.streaming
        else response.content
    )
    return response.status_code, body


def _encode(data: dict[str, Any]) -> str:
    from urllib.parse import urlencode

    return urlencode(data, doseq=True)


def _leaks(role: str, body: bytes) -> str | None:
    """The other study's mark in a response to someone outside it."""
    if role == SUPER:
        return None
    foreign = MARK["main"] if role == OUTSIDER else MARK["other"]
    return foreign if foreign.encode() in body else None


@pytest.mark.django_db
@pytest.mark.parametrize("route", ROUTES, ids=[row.id for row in ROUTES])
def test_each_role_gets_the_expected_status(route: Route, world: World) -> None:
    problems = []
    for role in ROLES:
        with transaction.atomic():
            status, body = _request(Client(), route, world, role)
            transaction.set_rollback(True)
        if status != route.expect[role]:
            problems.append(f"{role}: expected {route.expect[role]}, got {status}")
        leak = _leaks(role, body)
        if leak:
            problems.append(f"{role}: the response contains {leak} (another study's data)")
    assert not problems, f"{route.id} {route.url(world)}\n  " + "\n  ".join(problems)
