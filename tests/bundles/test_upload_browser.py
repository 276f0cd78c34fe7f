"""In Debian's Chromium: a coordinator uploads a bundle with errors (sees them all, nothing is
written), then a larger valid one, and watches the progress bar (the page's script polling
the JSON endpoint, the job in a background thread) until the page shows what was imported."""

from __future__ import annotations

import zipfile
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from playwright.sync_api import Page

from readerstudy.bundles.models import BundleUpload
from readerstudy.studies.models import Case, Reading
from readerstudy.studies.services import StudySpec, study_create
from tests.browser import PageMaker, sign_in
from tests.conftest import READERS_CSV, STUDY_TOML, BundleFactory
from tests.factories import UserFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

N_CASES = 20_000


def zip_folder(folder: Path, target: Path) -> Path:
    with zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED) as archive:
        for path in sorted(folder.rglob("*")):
            if path.is_file():
                archive.write(path, path.relative_to(folder).as_posix())
    return target


def large_files() -> dict[str, str | None]:
    """A valid bundle of ``N_CASES`` cases read by R1 and M1 (a few seconds to import)."""
    rng = np.random.default_rng(3)
    truth = rng.integers(0, 2, N_CASES)
    cases = "case_id,truth\n" + "".join(f"C{i},{t}\n" for i, t in enumerate(truth))
    readings = "reader_id,case_id,category\n" + "".join(
        f"{r},C{i},{int(2 + 2 * t)}\n" for r in ("R1", "M1") for i, t in enumerate(truth)
    )
    return {
        "cases_csv": cases,
        "readers_csv": READERS_CSV,
        "readings_csv": readings,
        "ratings_csv": None,
        "images__C1__phase1_png": None,
        "images__C1__phase2_png": None,
    }


def test_errors_then_a_valid_bundle_with_the_progress_bar(
    live_server: Any, new_page: PageMaker, make_bundle: BundleFactory, tmp_path: Path, settings: Any
) -> None:
    settings.GENERATION_DISPATCH = "thread"
    base = str(live_server)
    coordinator = UserFactory(username="coord")
    spec = StudySpec(
        slug="tiny", title="Web study", positive_threshold=1, categories={0: "", 1: ""}
    )
    study = study_create(actor=coordinator, spec=spec)
    page: Page = new_page()
    sign_in(page, base, "coord")
    page.goto(f"{base}/studies/tiny/")
    page.get_by_role("link", name="Upload a bundle (.zip) of cases, readers and readings").click()

    bad = make_bundle(
        study_toml=STUDY_TOML.replace("positive_threshold = 4", "positive_threshold = 9"),
        readings_csv="reader_id,case_id,category\nR1,C9,4\n",
    )
    page.set_input_files("#id_bundle", str(zip_folder(bad, tmp_path / "bad.zip")))
    page.get_by_role("button", name="Upload").click()
    page.locator("#upload-problems").wait_for(timeout=60_000)
    shown = page.locator("#upload-problems li").all_inner_texts()
    refused = BundleUpload.objects.get()
    assert shown == refused.problems and len(shown) >= 2
    assert any(p.startswith("study.toml:") for p in shown)
    assert any(p.startswith("readings.csv:2: case_id:") for p in shown)
    assert not Case.objects.filter(study=study).exists()

    page.get_by_role("link", name="upload again").click()
    polled: list[str] = []
    page.on("request", lambda r: polled.append(r.url) if r.url.endswith("/progress/") else None)
    good = make_bundle(**large_files())
    page.set_input_files("#id_bundle", str(zip_folder(good, tmp_path / "good.zip")))
    page.get_by_role("button", name="Upload").click()
    page.wait_for_url(f"{base}/uploads/*/")
    # The page's script moves the bar and reloads the page once the job is done.
    page.locator("#upload-summary").wait_for(timeout=120_000)
    assert page.locator("#upload-progress").get_attribute("value") == "100"
    assert f"{N_CASES} cases, 2 readers, {2 * N_CASES} readings" in page.inner_text(
        "#upload-summary"
    )
    assert Reading.objects.filter(reader__study=study).count() == 2 * N_CASES
    assert polled, "the page never polled the progress"
    assert not page.js_errors  # type: ignore[attr-defined]
