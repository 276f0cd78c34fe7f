"""Reading-session pages over HTTP: coordinator set-up, progress and export; the reader's
worklist, case page, submits and images; and who gets 404."""

from __future__ import annotations

import csv
import io
import re
import uuid
from datetime import timedelta

import pytest
from django.core.files.base import ContentFile
from django.test import Client
from django.utils import timezone

from readerstudy.audit.models import AuditEvent
from readerstudy.core.randomisation import permutation
from readerstudy.reading.models import ReadingSession, ReadingSubmission, ReadingWork
from readerstudy.studies.models import CaseImage, Reading
from tests.factories import StudyFactory, UserFactory
from tests.reading.conftest import SECRETS, ReadingWorld, member

pytestmark = pytest.mark.django_db


def client_for(user: object) -> Client:
    client = Client()
    client.force_login(user)  # type: ignore[arg-type]
    return client


def assignment_url(session: ReadingSession, reader: object, tail: str = "") -> str:
    token = session.assignments.get(reader=reader).token
    return f"/reading/{token}/{tail}"


def form_fields(html: str) -> dict[str, str]:
    return {
        "token": re.search(r'name="token" value="([^"]+)"', html).group(1),  # type: ignore[union-attr]
        "version": re.search(r'name="version" value="([^"]+)"', html).group(1),  # type: ignore[union-attr]
    }


def answer(html: str, **kw: object) -> dict[str, object]:
    data: dict[str, object] = {
        **form_fields(html),
        "category": 4,
        "probability": 70,
        "impression": "Regional NME; BI-RADS 4.",
        "active_seconds": "12.5",
    }
    data.update(kw)
    return data


def assert_no_secrets(html: str) -> None:
    for name, secret in SECRETS.items():
        assert secret not in html, f"{name} leaked"


# --- coordinator pages ----------------------------------------------------------------------


def create_form(world: ReadingWorld, **kw: object) -> dict[str, object]:
    data: dict[str, object] = {
        "name": "Round 1",
        "split": "test",
        "readers": [world.reader1.pk, world.reader2.pk],
        "cases": "",
        "order": "random",
        "seed": "",
        "show_images": "on",
        "show_location": "on",
        "require_impression": "on",
        "run": 1,
        "modality": 2,
        "assist_reader": "",
    }
    data.update(kw)
    return data


def test_a_coordinator_creates_a_draft_session_from_the_form(world: ReadingWorld) -> None:
    client = client_for(world.coordinator)
    page = client.get("/studies/nme/reading/new/")
    assert page.status_code == 200
    assert 'value="2"' in page.content.decode()  # first free modality suggested
    response = client.post(
        "/studies/nme/reading/new/",
        create_form(world, cases="CASECODE3, CASECODE1\nCASECODE5", order="fixed", seed="42"),
    )
    session = ReadingSession.objects.get(name="Round 1")
    assert response.status_code == 302 and response["Location"] == (
        f"/studies/nme/reading/{session.pk}/"
    )
    assert (
        session.status == "draft" and session.seed == 42 and session.created_by == world.coordinator
    )
    assert session.show_images and session.show_location and not session.show_findings
    assert list(session.cases.values_list("case__code", flat=True)) == [
        "CASECODE3",
        "CASECODE1",
        "CASECODE5",
    ]
    assert ReadingWork.objects.filter(assignment__session=session).count() == 6


@pytest.mark.parametrize(
    ("change", "field", "message"),
    [
        ({"cases": "CASECODE1 NOPE"}, "cases", "Not case ids of this study: NOPE"),
        ({"cases": "TRAIN1"}, "cases", "Not in the test split: TRAIN1"),
        ({"cases": "CASECODE1 CASECODE1"}, "cases", "Listed more than once: CASECODE1"),
        ({"modality": 1}, "modality", "R2 already has 5 readings"),
        ({"readers": []}, "readers", "This field is required"),
        ({"seed": "-4"}, "seed", "greater than or equal to 0"),
        ({"name": ""}, "name", "This field is required"),
    ],
)
def test_bad_session_settings_are_reported_by_field_and_nothing_is_created(
    world: ReadingWorld, change: dict[str, object], field: str, message: str
) -> None:
    response = client_for(world.coordinator).post(
        "/studies/nme/reading/new/", create_form(world, **change)
    )
    assert response.status_code == 400
    assert message in response.content.decode()
    assert field in response.context["form"].errors
    assert not ReadingSession.objects.exists()


def test_a_reader_account_without_the_reader_role_cannot_be_assigned(world: ReadingWorld) -> None:
    world.user2.groups.clear()
    response = client_for(world.coordinator).post("/studies/nme/reading/new/", create_form(world))
    assert response.status_code == 400
    assert "Not a reader member of this study" in response.content.decode()


def test_the_coordinator_opens_and_closes_a_session_and_closing_deletes_nothing(
    world: ReadingWorld,
) -> None:
    session = world.session(open=False)
    client = client_for(world.coordinator)
    base = f"/studies/nme/reading/{session.pk}/"
    assert client.post(base + "open/").status_code == 302
    session.refresh_from_db()
    assert session.status == "open"
    # the service takes no request: the address comes from the request being handled
    opened = AuditEvent.objects.get(action="reading_session_opened")
    assert (opened.actor, opened.ip) == (world.coordinator, "127.0.0.1")
    works = ReadingWork.objects.count()
    assert client.post(base + "close/").status_code == 302
    session.refresh_from_db()
    assert session.status == "closed" and ReadingWork.objects.count() == works
    page = client.get(base).content.decode()
    assert "Re-open the session" in page
    assert client.post(base + "delete/").status_code == 302  # refused: not a draft
    assert ReadingSession.objects.filter(pk=session.pk).exists()
    assert client.get(base + "open/").status_code == 405
    assert client.post(base + "explode/").status_code == 404


def test_a_draft_can_be_deleted(world: ReadingWorld) -> None:
    session = world.session(open=False)
    response = client_for(world.coordinator).post(f"/studies/nme/reading/{session.pk}/delete/")
    assert response.status_code == 302 and response["Location"] == "/studies/nme/"
    assert not ReadingSession.objects.exists()


def test_the_session_page_shows_progress_per_reader(world: ReadingWorld) -> None:
    session = world.session()
    reader = client_for(world.user1)
    for position in (1, 2):
        url = assignment_url(session, world.reader1, f"{position}/")
        page = reader.get(url).content.decode()
        ReadingWork.objects.filter(assignment__reader=world.reader1, position=position).update(
            opened_at=timezone.now() - timedelta(seconds=60)
        )
        reader.post(url, answer(page))
    html = client_for(world.coordinator).get(f"/studies/nme/reading/{session.pk}/").content.decode()
    assert re.search(r"R1</td>\s*<td>reader1</td>\s*<td[^>]*>.*?2 / 5", html, re.S)
    assert re.search(r"R2</td>\s*<td>reader2</td>\s*<td[^>]*>.*?0 / 5", html, re.S)
    assert "1 min 0 s" in html  # median server time, opened -> submitted
    assert "12 s" in html  # median active time reported by the browser
    assert str(session.seed) in html


def test_the_randomisation_export_lists_every_order_with_the_seed(world: ReadingWorld) -> None:
    session = world.session(seed=2024)
    response = client_for(world.coordinator).get(
        f"/studies/nme/reading/{session.pk}/randomisation.csv"
    )
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    assert "attachment" in response["Content-Disposition"]
    rows = list(csv.DictReader(io.StringIO(response.content.decode())))
    assert len(rows) == 10
    codes = [c.code for c in world.cases]
    for reader in ("R1", "R2"):
        mine = [r for r in rows if r["reader"] == reader]
        assert [int(r["position"]) for r in mine] == [1, 2, 3, 4, 5]
        assert [r["case_id"] for r in mine] == [codes[i] for i in permutation(2024, reader, 5)]
        assert {r["seed"] for r in mine} == {"2024"} and {r["session"] for r in mine} == {"Session"}
    assert AuditEvent.objects.filter(action="reading_randomisation_exported").exists()


def test_the_study_hub_lists_sessions_with_a_create_link_for_coordinators(
    world: ReadingWorld,
) -> None:
    session = world.session()
    html = client_for(world.coordinator).get("/studies/nme/").content.decode()
    assert f'href="/studies/nme/reading/{session.pk}/"' in html
    assert 'href="/studies/nme/reading/new/"' in html
    stats_html = client_for(world.statistician).get("/studies/nme/").content.decode()
    assert "Session" in stats_html and "/reading/new/" not in stats_html


@pytest.mark.parametrize("who", ["reader", "rater", "statistician", "outsider"])
def test_coordinator_pages_are_404_for_everyone_else(world: ReadingWorld, who: str) -> None:
    session = world.session()
    outsider = UserFactory(username="outsider")
    member(outsider, StudyFactory(), "coordinator")
    user = {
        "reader": world.user1,
        "rater": world.rater,
        "statistician": world.statistician,
        "outsider": outsider,
    }[who]
    client = client_for(user)
    base = f"/studies/nme/reading/{session.pk}/"
    for url in ("/studies/nme/reading/new/", base, base + "randomisation.csv"):
        assert client.get(url).status_code == 404, url
    assert client.post(base + "close/").status_code == 404
    session.refresh_from_db()
    assert session.status == "open"


def test_a_session_of_another_study_is_404_for_its_coordinator(world: ReadingWorld) -> None:
    session = world.session()
    other = StudyFactory(slug="other")
    coordinator = UserFactory()
    member(coordinator, other, "coordinator")
    assert client_for(coordinator).get(f"/studies/other/reading/{session.pk}/").status_code == 404


# --- reader pages ---------------------------------------------------------------------------


def test_the_worklist_shows_open_sessions_with_progress_and_hides_drafts(
    world: ReadingWorld,
) -> None:
    session = world.session()
    world.session(name="Hidden draft", modality=3, open=False)
    client = client_for(world.user1)
    html = client.get("/reading/").content.decode()
    assert "Session" in html and "Hidden draft" not in html
    assert "0 of 5 cases done" in html
    assert assignment_url(session, world.reader1) in html
    assert_no_secrets(html)


def test_resume_goes_to_the_first_unfinished_case_in_the_readers_order(
    world: ReadingWorld,
) -> None:
    session = world.session()
    client = client_for(world.user1)
    start = client.get(assignment_url(session, world.reader1))
    assert start["Location"] == assignment_url(session, world.reader1, "1/")
    page = client.get(start["Location"]).content.decode()
    response = client.post(start["Location"], answer(page))
    assert response["Location"] == assignment_url(session, world.reader1, "2/")
    resume = client.get(assignment_url(session, world.reader1))
    assert resume["Location"] == assignment_url(session, world.reader1, "2/")


def test_the_case_page_shows_what_the_session_allows_and_no_secrets(world: ReadingWorld) -> None:
    session = world.session(show_findings=False, show_clinical_history=True)
    work = ReadingWork.objects.get(assignment__reader=world.reader1, position=1)
    client = client_for(world.user1)
    html = client.get(assignment_url(session, world.reader1, "1/")).content.decode()
    number = work.case.code.removeprefix(SECRETS["case_code"])
    assert f"left breast, quadrant {number}" in html
    assert f"History of case {number}" in html
    assert "Findings of case" not in html
    assert "4 – Suspicious" in html
    assert html.count('name="category"') == 7
    assert html.count("/images/") == 2 * 4  # src + data-src of four images
    assert_no_secrets(html)


def test_the_first_view_starts_the_server_clock_and_reloads_keep_it(world: ReadingWorld) -> None:
    session = world.session()
    client = client_for(world.user1)
    url = assignment_url(session, world.reader1, "3/")
    client.get(url)
    work = ReadingWork.objects.get(assignment__reader=world.reader1, position=3)
    first = work.opened_at
    assert first is not None
    client.get(url)
    work.refresh_from_db()
    assert work.opened_at == first


def test_submitting_saves_the_reading_and_moves_to_the_next_case(world: ReadingWorld) -> None:
    session = world.session()
    client = client_for(world.user1)
    url = assignment_url(session, world.reader1, "1/")
    response = client.post(url, answer(client.get(url).content.decode()))
    assert response.status_code == 302
    work = ReadingWork.objects.get(assignment__reader=world.reader1, position=1)
    reading = Reading.objects.get(reader=world.reader1, case=work.case, modality=2)
    assert (reading.category, reading.score, reading.source) == (4, 0.7, "entered")
    assert work.active_seconds is not None and work.active_seconds <= reading.seconds
    done_page = client.get(url).content.decode()  # answered, no amendments: read-only
    assert "Your answer" in done_page and 'name="impression"' not in done_page
    assert_no_secrets(done_page)


def test_a_double_submit_of_the_same_form_saves_once(world: ReadingWorld) -> None:
    session = world.session()
    client = client_for(world.user1)
    url = assignment_url(session, world.reader1, "1/")
    data = answer(client.get(url).content.decode())
    first = client.post(url, data)
    second = client.post(url, data)
    assert first.status_code == second.status_code == 302
    assert first["Location"] == second["Location"]
    assert Reading.objects.filter(reader=world.reader1, modality=2).count() == 1
    assert ReadingSubmission.objects.count() == 1


def test_a_submit_from_a_stale_tab_gets_409_and_both_answers_are_shown(
    world: ReadingWorld,
) -> None:
    session = world.session(allow_amend=True)
    client = client_for(world.user1)
    url = assignment_url(session, world.reader1, "1/")
    tab1 = client.get(url).content.decode()
    tab2 = client.get(url).content.decode()
    client.post(url, answer(tab1, impression="Saved from tab one"))
    response = client.post(url, answer(tab2, category=2, impression="Typed in tab two"))
    assert response.status_code == 409
    html = response.content.decode()
    assert "Not saved" in html and "Nothing was overwritten" in html
    assert "Saved from tab one" in html and "Typed in tab two" in html
    assert Reading.objects.get(reader=world.reader1, modality=2).impression == "Saved from tab one"
    # the re-shown form is based on the current version: submitting it amends
    again = client.post(url, answer(html, category=2, impression="Typed in tab two"))
    assert again.status_code == 302
    assert Reading.objects.get(reader=world.reader1, modality=2).impression == "Typed in tab two"


def test_invalid_answers_are_400_with_the_field_named_and_nothing_saved(
    world: ReadingWorld,
) -> None:
    session = world.session()
    client = client_for(world.user1)
    url = assignment_url(session, world.reader1, "1/")
    page = client.get(url).content.decode()
    for bad, message in (
        ({"category": 9}, "Select a valid choice"),
        ({"probability": 101}, "less than or equal to 100"),
        ({"impression": "  "}, "This field is required"),
    ):
        response = client.post(url, answer(page, **bad))
        assert response.status_code == 400
        assert message in response.content.decode()
    assert not Reading.objects.filter(modality=2).exists()
    assert not ReadingSubmission.objects.exists()


def test_a_form_token_of_another_case_is_refused(world: ReadingWorld) -> None:
    session = world.session()
    client = client_for(world.user1)
    url1 = assignment_url(session, world.reader1, "1/")
    url2 = assignment_url(session, world.reader1, "2/")
    data = answer(client.get(url1).content.decode())
    client.post(url1, data)
    response = client.post(url2, data)
    assert response.status_code == 400
    assert "belongs to another case" in response.content.decode()


def test_a_closed_session_is_read_only_for_its_readers(world: ReadingWorld) -> None:
    from readerstudy.reading.services import reading_session_close

    session = world.session()
    client = client_for(world.user1)
    url = assignment_url(session, world.reader1, "1/")
    page = client.get(url).content.decode()
    reading_session_close(session=session)
    html = client.get(url).content.decode()
    assert 'name="impression"' not in html and "closed" in html
    response = client.post(url, answer(page))
    assert response.status_code == 409
    assert "this session is closed" in response.content.decode()
    assert not Reading.objects.filter(modality=2).exists()
    assert "Closed sessions" in client.get("/reading/").content.decode()


def test_an_ai_assisted_session_shows_the_model_consensus(world: ReadingWorld) -> None:
    session = world.session(assist_reader=world.model)
    html = client_for(world.user1).get(assignment_url(session, world.reader1, "1/")).content
    text = html.decode()
    assert "AI suggestion" in text and "BI-RADS 4" in text
    assert SECRETS["model"] in text  # shown on purpose in an AI-assisted session


# --- access ---------------------------------------------------------------------------------


def test_a_reader_cannot_open_another_readers_assignment(world: ReadingWorld) -> None:
    session = world.session()
    client = client_for(world.user1)
    for tail in ("", "1/", "1/images/1"):
        assert client.get(assignment_url(session, world.reader2, tail)).status_code == 404
    other_form = client_for(world.user2).get(assignment_url(session, world.reader2, "1/"))
    response = client.post(
        assignment_url(session, world.reader2, "1/"), answer(other_form.content.decode())
    )
    assert response.status_code == 404
    assert not Reading.objects.filter(modality=2).exists()


@pytest.mark.parametrize("who", ["coordinator", "rater", "statistician", "anonymous"])
def test_reader_urls_are_404_for_everyone_but_the_reader(world: ReadingWorld, who: str) -> None:
    session = world.session()
    client = Client() if who == "anonymous" else client_for(getattr(world, who))
    for tail in ("", "1/", "1/images/1"):
        response = client.get(assignment_url(session, world.reader1, tail))
        if who == "anonymous":
            assert response.status_code == 302 and "/accounts/login/" in response["Location"]
        else:
            assert response.status_code == 404


def test_a_reader_who_lost_the_reader_role_is_locked_out(world: ReadingWorld) -> None:
    session = world.session()
    world.user1.groups.clear()
    assert (
        client_for(world.user1).get(assignment_url(session, world.reader1, "1/")).status_code == 404
    )


def test_a_draft_sessions_pages_do_not_exist_for_readers(world: ReadingWorld) -> None:
    session = world.session(open=False)
    assert (
        client_for(world.user1).get(assignment_url(session, world.reader1, "1/")).status_code == 404
    )


def test_cases_and_images_of_another_study_are_unreachable(world: ReadingWorld) -> None:
    session = world.session()
    other_world_study = StudyFactory(slug="elsewhere")
    stranger = UserFactory(username="stranger")
    member(stranger, other_world_study, "reader")
    client = client_for(stranger)
    assert client.get(assignment_url(session, world.reader1, "1/")).status_code == 404
    assert client.get(assignment_url(session, world.reader1, "1/images/1")).status_code == 404
    assert client.get(assignment_url(session, world.reader1, "99/")).status_code == 404


def test_images_are_served_privately_without_names(world: ReadingWorld) -> None:
    session = world.session()
    client = client_for(world.user1)
    response = client.get(assignment_url(session, world.reader1, "1/images/1"))
    assert response.status_code == 200
    assert response["Content-Type"] == "image/png"
    assert response["Cache-Control"] == "private, max-age=3600"
    assert response["Content-Disposition"] == "inline"
    body = b"".join(response.streaming_content)  # type: ignore[attr-defined]
    assert body.startswith(b"\x89PNG")
    assert client.get(assignment_url(session, world.reader1, "1/images/5")).status_code == 404
    assert client.get(assignment_url(session, world.reader1, "1/images/0")).status_code == 404


def test_images_of_a_session_without_images_are_404(world: ReadingWorld) -> None:
    session = world.session(show_images=False)
    client = client_for(world.user1)
    assert client.get(assignment_url(session, world.reader1, "1/images/1")).status_code == 404
    html = client.get(assignment_url(session, world.reader1, "1/")).content.decode()
    assert "/images/" not in html and "shows no images" in html


def test_dicom_images_are_sent_as_png_without_their_attributes(world: ReadingWorld) -> None:
    import numpy as np
    from pydicom.dataset import Dataset, FileMetaDataset
    from pydicom.uid import ExplicitVRLittleEndian, generate_uid

    meta = FileMetaDataset()
    meta.TransferSyntaxUID = ExplicitVRLittleEndian
    meta.MediaStorageSOPClassUID = "1.2.840.10008.5.1.4.1.1.4"
    meta.MediaStorageSOPInstanceUID = generate_uid()
    ds = Dataset()
    ds.file_meta = meta
    ds.PatientName = "Doe^Jane"
    ds.Rows, ds.Columns = 4, 4
    ds.SamplesPerPixel, ds.PhotometricInterpretation = 1, "MONOCHROME2"
    ds.BitsAllocated, ds.BitsStored, ds.HighBit, ds.PixelRepresentation = 16, 12, 11, 0
    ds.PixelData = np.arange(16, dtype=np.uint16).reshape(4, 4).tobytes()
    buffer = io.BytesIO()
    ds.save_as(buffer, enforce_file_format=True)
    session = world.session()
    case = ReadingWork.objects.get(assignment__reader=world.reader1, position=1).case
    image = CaseImage(
        case=case,
        original_name="dicom.dcm",
        order=99,
        sha256="1" * 64,
        content_type="application/dicom",
    )
    image.file.save("x.dcm", ContentFile(buffer.getvalue()), save=True)
    response = client_for(world.user1).get(assignment_url(session, world.reader1, "1/images/5"))
    assert response.status_code == 200 and response["Content-Type"] == "image/png"
    content = b"".join(response.streaming_content)
    assert content.startswith(b"\x89PNG") and b"Doe" not in content
    from PIL import Image

    pixels = np.asarray(Image.open(io.BytesIO(content)))
    assert pixels.min() == 0 and pixels.max() == 255  # full range mapped to 8 bits


def test_every_reader_page_is_free_of_truth_and_other_answers(world: ReadingWorld) -> None:
    """Worklist, every case page (fresh, answered, conflict) and the resume redirect."""
    session = world.session(allow_amend=True, show_findings=True)
    client = client_for(world.user1)
    pages = [client.get("/reading/").content.decode()]
    for position in range(1, 6):
        url = assignment_url(session, world.reader1, f"{position}/")
        page = client.get(url).content.decode()
        pages.append(page)
        client.post(url, answer(page))
        pages.append(client.get(url).content.decode())
    stale = client.post(
        assignment_url(session, world.reader1, "1/"),
        answer(pages[1], impression="stale", token=str(uuid.uuid4())),
    )
    assert stale.status_code == 409
    pages.append(stale.content.decode())
    pages.append(client.get("/reading/", follow=True).content.decode())
    for html in pages:
        assert_no_secrets(html)
    assert "Regional NME; BI-RADS 4." in pages[2]  # the reader's own answer is shown to them
