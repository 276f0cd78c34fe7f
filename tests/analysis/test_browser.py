"""The dashboard in Chromium: every figure draws, offline (no request leaves the server)."""

from __future__ import annotations

from pathlib import Path

import pytest
from django.contrib.auth.models import Group
from playwright.sync_api import Route, sync_playwright

from readerstudy.bundles.services import study_import
from readerstudy.studies.models import StudyMember
from tests.browser import CHROMIUM_ARGS
from tests.factories import UserFactory

FIGURES = [
    "delong_matrix", "diagnostic_radar", "case_heatmap", "likert_radars", "confusion_matrices",
    "roc_curves", "likert_distribution", "mrmc_modalities", "subgroup_forest",
    "ai_assistance", "case_gallery", "case_flow",
]  # fmt: skip


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_the_dashboard_draws_every_figure_without_the_network(
    live_server: object, demo_bundle: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Playwright's sync API runs an event loop in this thread; only for this test (a
    # module-level setting would leak into other tests, e.g. ``check --deploy``).
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    study = study_import(path=demo_bundle, replace=True).study
    user = UserFactory(username="stat", password="pw-not-secret-123")
    user.groups.add(Group.objects.get(name="statistician"))
    StudyMember.objects.create(study=study, user=user, role="statistician")
    base = str(live_server.url)  # type: ignore[attr-defined]
    outside: list[str] = []

    def guard(route: Route) -> None:
        if route.request.url.startswith(base) or route.request.url.startswith("data:"):
            route.continue_()
        else:
            outside.append(route.request.url)
            route.abort()

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 1400, "height": 900})
        # each new filter set is a first (cold) computation: slow on a busy machine
        page.set_default_timeout(180_000)
        page.route("**/*", guard)
        errors: list[str] = []
        page.on("pageerror", lambda exc: errors.append(str(exc)))
        page.goto(f"{base}/accounts/login/")
        page.fill("input[name=username]", "stat")
        page.fill("input[name=password]", "pw-not-secret-123")
        page.click("button[type=submit]")
        page.goto(f"{base}/studies/{study.slug}/analysis/", timeout=180_000)
        assert page.locator("h1").inner_text() == "Analysis"
        assert page.get_by_role(
            "heading", name="Diagnostic performance per reader (Table S1)"
        ).is_visible()
        for name in FIGURES:
            plot = page.locator(f'[data-figure="fig-{name}"]')
            plot.scroll_into_view_if_needed()
            plot.locator("svg.main-svg").first.wait_for(timeout=20_000)
            assert plot.get_attribute("data-drawn") == "true", name
        assert page.get_by_role("heading", name="MRMC: comparison of modalities").is_visible()
        # The modality selector switches the per-reader tables.
        page.select_option("select[name=modality]", "2")
        page.get_by_role("button", name="Apply").click()
        page.wait_for_url("**modality=2**")
        assert "modality 2 (AI-assisted)" in page.locator("#summary-title + p").inner_text()
        page.goto(f"{base}/studies/{study.slug}/analysis/")
        # Filters round-trip through the query string.
        page.select_option("select[name=split]", "all")
        page.get_by_role("button", name="Apply").click()
        page.wait_for_url("**split=all**")
        summary = page.locator("#summary-title + p").inner_text()
        assert not summary.startswith("233 cases")  # only read cases (pseudonyms may hold 233)
        browser.close()
    assert errors == []
    assert outside == []


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_the_dashboard_prints_to_pdf_with_every_figure_drawn_without_scrolling(
    live_server: object, demo_bundle: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    study = study_import(path=demo_bundle, replace=True).study
    user = UserFactory(username="stat", password="pw-not-secret-123")
    user.groups.add(Group.objects.get(name="statistician"))
    StudyMember.objects.create(study=study, user=user, role="statistician")
    base = str(live_server.url)  # type: ignore[attr-defined]
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 1400, "height": 900})
        errors: list[str] = []
        page.on("pageerror", lambda exc: errors.append(str(exc)))
        page.goto(f"{base}/accounts/login/")
        page.fill("input[name=username]", "stat")
        page.fill("input[name=password]", "pw-not-secret-123")
        page.click("button[type=submit]")
        # the first dashboard computes the analysis (slow on a busy machine)
        page.goto(f"{base}/studies/{study.slug}/analysis/", timeout=180_000)
        n_figures = page.locator("[data-figure]").count()
        assert n_figures == len(FIGURES)
        # no scrolling: the figures below the fold are drawn while the page is idle
        page.wait_for_function(
            "n => document.querySelectorAll('[data-figure][data-drawn]').length === n",
            arg=n_figures,
            timeout=60_000,
        )
        page.emulate_media(media="print")
        pdf = page.pdf(format="A4", print_background=True)
        drawn = page.evaluate(
            "() => Array.from(document.querySelectorAll('[data-figure]'))"
            ".map(el => el.querySelectorAll('svg.main-svg').length)"
        )
        hidden = page.evaluate("() => getComputedStyle(document.querySelector('.filters')).display")
        browser.close()
    assert pdf.startswith(b"%PDF") and len(pdf) > 50_000
    assert len(drawn) == n_figures and all(n >= 1 for n in drawn), drawn
    assert hidden == "none"  # the filter form is not printed
    assert errors == []
