"""The Cornerstone3D viewer of a DICOM case in Debian's Chromium: it renders the stored
16-bit values, scrolls the stack with the keyboard (all phases in sync), windows on the raw
values, measures a length; and the time to the first image and the scrolling rate.
"""

from __future__ import annotations

import time

import numpy as np
import pytest
from django.core.files.base import ContentFile
from playwright.sync_api import Page

from fixtures.demo_dicom import dicom_bytes
from readerstudy.core.dicom import deidentify
from readerstudy.reading.models import ReadingWork
from readerstudy.studies.models import CaseImage
from tests.browser import PageMaker, sign_in
from tests.reading.conftest import ReadingWorld

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

SERIES, SLICES, SIZE = 3, 12, 64


def stored_values(series: int, slice_: int, size: int = SIZE) -> np.ndarray:
    """Slice ``slice_`` (1-based) of ``series``: a horizontal ramp 0..4095 plus a per-slice,
    per-series offset, so every slice and every series differs."""
    ramp = np.linspace(0, 3000, size, dtype=np.float64)[None, :].repeat(size, axis=0)
    return np.rint(ramp + 50 * slice_ + 300 * series).astype(np.uint16)


def add_dicom_series(
    work: ReadingWork, series: int = SERIES, slices: int = SLICES, size: int = SIZE
) -> None:
    for s in range(series):
        for k in range(1, slices + 1):
            raw = dicom_bytes(
                stored_values(s, k, size), case_id="L999", case_number=999, series=s, slice_=k
            )
            data, _ = deidentify(raw, patient="P-1", key=b"k" * 32, scope="test")
            image = CaseImage(
                case=work.case,
                original_name=f"s{s}_{k:02d}.dcm",
                order=1000 + s * slices + k,
                sha256="0" * 64,
                content_type="application/dicom",
                dicom_series=f"2.25.{s + 1}",
                dicom_series_index=s,
                dicom_slice=k - 1,
            )
            image.file.save("x.dcm", ContentFile(data), save=True)


def open_dicom_case(
    live_server: object, world: ReadingWorld, new_page: PageMaker, **shape: int
) -> Page:
    session = world.session()
    work = ReadingWork.objects.get(
        assignment__session=session, assignment__reader=world.reader1, position=1
    )
    add_dicom_series(work, **shape)
    base = str(live_server)
    page = new_page()
    sign_in(page, base, "reader1")
    page.goto(f"{base}/reading/{work.assignment.token}/1/")
    page.wait_for_selector("#dicom-viewer[data-ready='1']", timeout=20_000)
    return page


def canvas_value(page: Page, viewport: str, column: int, row: int) -> int:
    """The red channel of the viewport's canvas at the centre of image pixel (column, row)."""
    return int(
        page.evaluate(
            """([id, col, row]) => {
                const vp = window.readerstudyViewer.engine().getViewport(id);
                const img = vp.getImageData();
                const w = img.imageData.indexToWorld([col, row, 0]);
                const [x, y] = vp.worldToCanvas(w);
                const canvas = vp.getCanvas();
                const ratio = canvas.width / canvas.clientWidth;
                const ctx = canvas.getContext('2d');
                const px = ctx.getImageData(Math.round(x * ratio), Math.round(y * ratio), 1, 1).data;
                return px[0];
            }""",
            [viewport, column, row],
        )
    )


def displayed(raw: float, lower: float, upper: float) -> float:
    return 255 * min(1.0, max(0.0, (raw - lower) / (upper - lower)))


def test_the_viewer_renders_scrolls_windows_on_raw_values_and_measures(
    live_server: object, world: ReadingWorld, new_page: PageMaker
) -> None:
    page = open_dicom_case(live_server, world, new_page)
    cells = page.locator(".dv-cell")
    assert cells.count() == SERIES
    first = "series-1"

    # rendered, not blank: the ramp goes from dark to bright across the image
    page.evaluate(
        "(id) => window.readerstudyViewer.engine().getViewport(id).setProperties("
        "{voiRange: {lower: 0, upper: 4095}})",
        first,
    )
    page.evaluate("(id) => window.readerstudyViewer.engine().getViewport(id).render()", first)
    page.wait_for_timeout(100)
    left, right = canvas_value(page, first, 2, 32), canvas_value(page, first, 61, 32)
    assert right - left > 100

    # the header's window (demo: C 1400 / W 2800) is the first preset
    options = page.locator("[data-role=presets] option").all_inner_texts()
    assert "C 1400 / W 2800" in options

    # arrow keys scroll the stack, and every phase follows
    page.locator("#dicom-viewer").focus()
    assert cells.nth(0).get_attribute("data-slice") == "1"
    page.keyboard.press("ArrowDown")
    page.keyboard.press("ArrowDown")
    page.wait_for_function(
        "() => [...document.querySelectorAll('.dv-cell')].every(c => c.dataset.slice === '3')"
    )
    assert "slice 3 / 12" in cells.nth(0).inner_text()
    page.keyboard.press("ArrowUp")
    page.wait_for_function("() => document.querySelector('.dv-cell').dataset.slice === '2'")

    # window/level: the displayed grey follows the stored value linearly inside the window
    raw = stored_values(0, 2)
    for lower, upper in ((0.0, 4095.0), (1000.0, 2000.0)):
        page.evaluate(
            "([id, lo, up]) => { const vp = window.readerstudyViewer.engine().getViewport(id);"
            " vp.setProperties({voiRange: {lower: lo, upper: up}}); vp.render(); }",
            [first, lower, upper],
        )
        page.wait_for_timeout(100)
        for column in (5, 20, 32, 45, 60):
            shown = canvas_value(page, first, column, 32)
            assert shown == pytest.approx(displayed(raw[32, column], lower, upper), abs=6)

    # a keyboard window change narrows the window around the same level
    before = page.evaluate(
        "(id) => window.readerstudyViewer.engine().getViewport(id).getProperties().voiRange",
        first,
    )
    page.keyboard.press("Shift+ArrowLeft")
    after = page.evaluate(
        "(id) => window.readerstudyViewer.engine().getViewport(id).getProperties().voiRange",
        first,
    )
    assert after["upper"] - after["lower"] == pytest.approx(before["upper"] - before["lower"] - 40)

    # measure: M, then a drag on the image, adds one length annotation
    assert page.evaluate("() => window.readerstudyViewer.annotations()") == 0
    page.keyboard.press("m")
    box = page.locator(".dv-element").first.bounding_box()
    assert box is not None
    page.mouse.move(box["x"] + box["width"] * 0.3, box["y"] + box["height"] * 0.5)
    page.mouse.down()
    page.mouse.move(box["x"] + box["width"] * 0.5, box["y"] + box["height"] * 0.5, steps=5)
    page.mouse.move(box["x"] + box["width"] * 0.7, box["y"] + box["height"] * 0.5, steps=5)
    page.mouse.up()
    page.wait_for_function("() => window.readerstudyViewer.annotations() === 1")

    # the category keys and the form still work beside the viewer
    page.keyboard.press("3")
    assert page.is_checked("input[name='category'][value='3']")
    assert page.js_errors == []  # type: ignore[attr-defined]
    violations = [m for m in page.console if "Content Security Policy" in m]  # type: ignore[attr-defined]
    assert violations == []


BENCH_SERIES, BENCH_SLICES, BENCH_SIZE = 2, 100, 256


def test_first_image_time_and_scrolling_rate_of_a_100_slice_stack_are_reported(
    live_server: object, world: ReadingWorld, new_page: PageMaker
) -> None:
    page = open_dicom_case(
        live_server, world, new_page, series=BENCH_SERIES, slices=BENCH_SLICES, size=BENCH_SIZE
    )
    first_ms = float(page.get_attribute("#dicom-viewer", "data-first-image-ms") or "nan")
    boot_ms = float(page.get_attribute("#dicom-viewer", "data-boot-ms") or "nan")
    start_ms = float(page.get_attribute("#dicom-viewer", "data-start-ms") or "nan")
    page.wait_for_selector("#dicom-viewer[data-cached='1']", timeout=60_000)
    # in the page: each step draws the next slice of the active stack (and the synced one)
    fps = page.evaluate("() => window.readerstudyViewer.scrollRate(200)")
    # through the keyboard, as a reader scrolls (includes Playwright's round trips)
    page.locator("#dicom-viewer").focus()
    start = time.perf_counter()
    for _ in range(BENCH_SLICES - 1):
        page.keyboard.press("ArrowDown")
    page.wait_for_function(
        f"() => document.querySelector('.dv-cell').dataset.slice === '{BENCH_SLICES}'"
    )
    keys = (BENCH_SLICES - 1) / (time.perf_counter() - start)
    # warm: the case opened again (bundle in the browser cache, server warm)
    page.goto(page.url)
    page.wait_for_selector("#dicom-viewer[data-ready='1']", timeout=20_000)
    warm_ms = float(page.get_attribute("#dicom-viewer", "data-first-image-ms") or "nan")
    print(
        f"\nDICOM viewer ({BENCH_SERIES} synced series x {BENCH_SLICES} slices, "
        f"{BENCH_SIZE}x{BENCH_SIZE} 16-bit): first image {first_ms:.0f} ms after navigation "
        f"start, {warm_ms:.0f} ms when opened again (viewer module started {start_ms:.0f} ms; "
        f"from there to all series shown "
        f"{boot_ms:.0f} ms); scrolling {fps:.1f} "
        f"frames/s in the page, {keys:.1f} slices/s by arrow key"
    )
    assert first_ms > 0 and warm_ms > 0 and fps > 10
    assert page.js_errors == []  # type: ignore[attr-defined]
