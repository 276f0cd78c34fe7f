"""Nothing but pixels reaches a reader or rater (issue 11, finding 5), and DICOM is decoded
once, at import, within limits (finding 10).

A bundle holds images crafted the way an attacker hides text (tests/bundles/crafted_images.py);
it is imported, a reading and a rating session are opened on it, and every image response a
reader or rater can get (pages and API) is fetched and searched for the marker.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from django.contrib.auth.models import Group
from django.core.files.storage import default_storage
from django.test import Client
from PIL import Image

from evaluation.models import LikertDomain, Rater, RatingTask
from evaluation.services import RatingSessionOptions, rating_session_create, rating_session_open
from readerstudy.bundles.services import study_import
from readerstudy.core.images import PNG_SIGNATURE, strip_metadata
from readerstudy.reading.models import ReadingSession, ReadingWork
from readerstudy.reading.services import (
    ReadingSessionOptions,
    reading_session_create,
    reading_session_open,
)
from readerstudy.studies.models import Case, CaseImage, Reader, StudyMember
from tests.bundles.crafted_images import (
    CRAFTED_JPEGS,
    CRAFTED_PNGS,
    MARKER,
    dicom_bytes,
)
from tests.conftest import BundleFactory
from tests.evaluation.blinding_checks import png_chunks
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

#: The only PNG chunks a display rendering may hold.
DISPLAY_CHUNKS = {b"IHDR", b"PLTE", b"tRNS", b"IDAT", b"IEND"}


def png_chunk_types(data: bytes) -> list[bytes]:
    kinds = png_chunks(data)
    assert data.endswith(b"IEND\xaeB`\x82"), "bytes after the IEND chunk"
    return kinds


def pixels(data: bytes) -> np.ndarray:
    with Image.open(io.BytesIO(data)) as im:
        return np.asarray(im.convert("RGB"))


def body(response: Any) -> bytes:
    if response.streaming:
        return b"".join(response.streaming_content)
    return response.content


@dataclass
class Served:
    url: str
    content_type: str
    data: bytes
    image: CaseImage


CRAFTED = {
    **{name: make() for name, make in CRAFTED_JPEGS.items()},
    **{name: make() for name, make in CRAFTED_PNGS.items()},
}


@pytest.fixture
def crafted_study(make_bundle: BundleFactory) -> Any:
    files: dict[str, bytes | str | None] = {
        f"images__C1__{name}": data for name, data in CRAFTED.items()
    }
    files["images__C2__scan.dcm"] = dicom_bytes(rows=8, columns=8)
    files["images__C1__phase1.png"] = None
    files["images__C1__phase2.png"] = None
    return study_import(path=make_bundle(**files)).study


def member(user: Any, study: Any, role: str) -> None:
    user.groups.add(Group.objects.get_or_create(name=role)[0])
    StudyMember.objects.get_or_create(study=study, user=user, role=role)


def reader_responses(study: Any) -> list[Served]:
    user = UserFactory(username="reader-x")
    member(user, study, "reader")
    reader = Reader.objects.get(study=study, code="R1")
    reader.user = user
    reader.save()
    session = reading_session_create(
        study=study,
        options=ReadingSessionOptions(
            name="Images", readers=[reader], modality=2, seed=7, show_images=True
        ),
    )
    reading_session_open(session=session)
    token = ReadingSession.objects.get(pk=session.pk).assignments.get().token
    client = Client()
    client.force_login(user)
    served = []
    for work in ReadingWork.objects.filter(assignment__token=token).order_by("position"):
        images = list(CaseImage.objects.filter(case=work.case).order_by("order", "id"))
        for k, image in enumerate(images, start=1):
            for url in (
                f"/reading/{token}/{work.position}/images/{k}",
                f"/api/reading/assignments/{token}/cases/{work.position}/images/{k}/",
            ):
                response = client.get(url)
                assert response.status_code == 200, url
                served.append(Served(url, response["Content-Type"], body(response), image))
    return served


def rater_responses(study: Any) -> list[Served]:
    user = UserFactory(username="rater-x")
    member(user, study, "rater")
    rater = Rater.objects.create(study=study, code="rX", user=user)
    session = rating_session_create(
        study=study,
        options=RatingSessionOptions(
            name="Images",
            readers=[Reader.objects.get(study=study, code="M1")],
            runs=[1, 2],
            domains=list(LikertDomain.objects.filter(study=study)),
            raters_per_item=1,
            seed=7,
            show_images=True,
        ),
        raters=[rater],
    )
    rating_session_open(session=session, actor=None, confirm_unresolved_leaks=True)
    client = Client()
    client.force_login(user)
    served = []
    for task in RatingTask.objects.filter(assignment__rater=rater).select_related("item"):
        case = Case.objects.get(pk=task.item.reading.case_id)
        images = list(
            CaseImage.objects.filter(
                case=case, content_type__in=["image/png", "image/jpeg"]
            ).order_by("order", "id")
        )
        for n, image in enumerate(images, start=1):
            for url in (
                f"/rating/items/{task.item.public_id}/images/{n}/",
                f"/api/rating/items/{task.item.public_id}/images/{n}/",
            ):
                response = client.get(url)
                assert response.status_code == 200, url
                served.append(Served(url, response["Content-Type"], body(response), image))
    return served


def test_no_image_response_to_a_reader_or_rater_carries_hidden_bytes(crafted_study: Any) -> None:
    served = reader_responses(crafted_study) + rater_responses(crafted_study)
    names = {s.image.original_name for s in served}
    assert names == {*CRAFTED, "scan.dcm"}, "every crafted image was fetched"
    assert sum(s.url.startswith("/rating/") for s in served) >= len(CRAFTED)
    for s in served:
        assert s.content_type == "image/png", s.url
        assert MARKER not in s.data, f"{s.image.original_name} via {s.url}"
        assert b"Doe" not in s.data and b"Jane" not in s.data, s.url
        assert set(png_chunk_types(s.data)) <= DISPLAY_CHUNKS, s.url


def test_the_display_rendering_keeps_every_pixel(crafted_study: Any) -> None:
    for image in CaseImage.objects.filter(case__study=crafted_study).exclude(
        content_type="application/dicom"
    ):
        with default_storage.open(image.display.name, "rb") as fh:
            display = fh.read()
        assert np.array_equal(pixels(display), pixels(CRAFTED[image.original_name])), (
            image.original_name
        )


def test_the_stored_jpeg_keeps_no_segment_outside_the_decoding_ones(crafted_study: Any) -> None:
    """The stored copy (exported, sent to models) loses the hidden segments too."""
    for image in CaseImage.objects.filter(case__study=crafted_study, content_type="image/jpeg"):
        stored = image.file.read()
        assert MARKER not in stored, image.original_name
        assert stored.endswith(b"\xff\xd9"), image.original_name
        assert np.array_equal(pixels(stored), pixels(CRAFTED[image.original_name]))
        assert strip_metadata(stored, "image/jpeg") == stored  # nothing left to strip


def test_dicom_is_decoded_at_import_not_when_a_reader_views_it(
    crafted_study: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    import pydicom

    dicom = CaseImage.objects.get(case__study=crafted_study, content_type="application/dicom")
    assert dicom.display.name.endswith(".png")

    def refuse(*args: object, **kwargs: object) -> None:
        raise AssertionError("a DICOM file was decoded while serving a page")

    monkeypatch.setattr(pydicom, "dcmread", refuse)
    served = [s for s in reader_responses(crafted_study) if s.image.pk == dicom.pk]
    assert len(served) == 2  # page and API
    assert all(s.data.startswith(PNG_SIGNATURE) for s in served)


def test_an_image_stored_before_display_renderings_gets_one_on_first_view(
    crafted_study: Any,
) -> None:
    """Defence for images already in the database: rendered once, with the same limits."""
    CaseImage.objects.filter(case__study=crafted_study).update(display="")
    served = reader_responses(crafted_study)
    assert served and all(MARKER not in s.data for s in served)
    assert not CaseImage.objects.filter(case__study=crafted_study, display="").exists()


def test_the_import_refuses_a_dicom_file_over_the_limits(
    make_bundle: BundleFactory, settings: Any
) -> None:
    from django.core.management import CommandError, call_command

    settings.IMAGE_MAX_PIXELS = 10_000
    settings.DICOM_MAX_FRAMES = 5
    bundle = make_bundle(
        **{
            "images__C1__big.dcm": dicom_bytes(rows=200, columns=100, pixel_data=b"\x00\x00"),
            "images__C2__stack.dcm": dicom_bytes(frames=6),
        },
    )
    with pytest.raises(CommandError) as info:
        call_command("import_study", str(bundle), stdout=io.StringIO())
    message = str(info.value)
    assert (
        "images/C1/big.dcm:1: -: too large: 100 x 200 = 20,000 pixels; the limit is 10,000 "
        "pixels per image (READERSTUDY_IMAGE_MAX_PIXELS)" in message
    )
    assert (
        "images/C2/stack.dcm:1: -: too large: 6 frames; the limit is 5 "
        "(READERSTUDY_DICOM_MAX_FRAMES)" in message
    )
    assert not CaseImage.objects.exists()
    assert not any(Path(settings.MEDIA_ROOT).rglob("*.*"))  # no file left behind


def test_a_dicom_file_with_damaged_pixel_data_is_refused_at_import(
    make_bundle: BundleFactory,
) -> None:
    from django.core.management import CommandError, call_command

    bundle = make_bundle(
        **{"images__C1__short.dcm": dicom_bytes(rows=64, columns=64, pixel_data=b"\x00" * 10)}
    )
    with pytest.raises(
        CommandError, match=r"images/C1/short.dcm:1: -: damaged image: cannot decode"
    ):
        call_command("import_study", str(bundle), stdout=io.StringIO())
