"""Readings through the API: the paginated list and the all-or-nothing import."""

from __future__ import annotations

import json

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test.utils import CaptureQueriesContext

from readerstudy.audit.models import AuditEvent
from readerstudy.core import roles
from readerstudy.studies.models import Reading
from tests.api.world_core import World
from tests.factories import CaseFactory, ReadingFactory

pytestmark = pytest.mark.django_db

READINGS = "/api/studies/api-study/readings/"
IMPORT = READINGS + "import/"


@pytest.fixture
def coordinator(world: World, api_as):
    return api_as(world.people[roles.COORDINATOR])


def test_readings_list_only_this_study_with_codes(world: World, api_as) -> None:
    body = api_as(world.people[roles.COORDINATOR]).get(READINGS).json()
    assert body["count"] == 12  # M1 x 2 runs x 4 cases + R2 x 4 cases
    row = body["results"][0]
    assert {"reader", "reader_kind", "case", "split", "run", "modality", "category"} <= set(row)
    assert "OC1" not in json.dumps(body) and "OR1" not in json.dumps(body)
    ids = [r["id"] for r in body["results"]]
    assert ids == sorted(ids)


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({"reader": "M1"}, 8),
        ({"reader": "M1", "run": 2}, 4),
        ({"case": "C1"}, 3),
        ({"split": "train"}, 3),
        ({"modality": 2}, 0),
        ({"source": "imported"}, 12),
        ({"reader_kind": "human"}, 4),
        ({"reader": "OR1"}, 0),
    ],
)
def test_readings_filters(world: World, coordinator, params, expected) -> None:
    assert coordinator.get(READINGS, params).json()["count"] == expected


def test_readings_pages_are_stable_and_complete(world: World, coordinator) -> None:
    seen: list[int] = []
    url = READINGS + "?page_size=5"
    while url:
        body = coordinator.get(url).json()
        seen += [r["id"] for r in body["results"]]
        url = body["next"]
    assert len(seen) == len(set(seen)) == 12


def _queries(client, page_size: int) -> int:
    with CaptureQueriesContext(connection) as ctx:
        response = client.get(READINGS, {"page_size": page_size})
    assert response.status_code == 200
    assert len(response.json()["results"]) == page_size
    return len(ctx.captured_queries)


def test_the_number_of_queries_does_not_grow_with_the_page_size(world: World, coordinator) -> None:
    for i in range(60):
        case = CaseFactory(study=world.study, code=f"X{i}", position=100 + i)
        ReadingFactory(reader=world.model, case=case)
    assert _queries(coordinator, 2) == _queries(coordinator, 60)


# --------------------------------------------------------------------------- import


def _stored() -> list[tuple]:
    return list(Reading.objects.order_by("id").values_list("id", "category", "updated_at"))


def test_json_rows_are_imported_and_audited(world: World, coordinator) -> None:
    rows = [
        {"reader_id": "R1", "case_id": "C1", "category": 4, "score": 0.8, "impression": "x"},
        {"reader_id": "R1", "case_id": "C2", "category": "2", "run": 1, "seconds": 12.5},
        {"reader_id": "M1", "case_id": "C1", "category": 6, "run": 3, "modality": 1},
    ]
    response = coordinator.post(IMPORT, rows, format="json")
    assert response.status_code == 201, response.content
    assert response.json() == {"imported": 3}
    r1 = Reading.objects.get(reader=world.reader, case=world.cases[0])
    assert (r1.category, r1.score, r1.impression, r1.source) == (4, 0.8, "x", "imported")
    assert Reading.objects.get(reader=world.reader, case=world.cases[1]).seconds == 12.5
    event = AuditEvent.objects.get(action="readings_imported")
    assert event.details["readings"] == 3 and event.details["format"] == "json"


def test_a_csv_upload_is_imported(world: World, coordinator) -> None:
    text = 'reader_id,case_id,category,impression\nR1,C1,5,"two\nlines"\nR1,C3,1,\n'
    upload = SimpleUploadedFile("readings.csv", text.encode(), content_type="text/csv")
    response = coordinator.post(IMPORT, {"file": upload}, format="multipart")
    assert response.status_code == 201, response.content
    assert Reading.objects.get(reader=world.reader, case=world.cases[0]).impression == "two\nlines"


def _problems(response) -> list[str]:
    assert response.status_code == 400, response.content
    body = response.json()
    assert "nothing was imported" in body["detail"]
    assert len(body["messages"]) == len(body["errors"])
    return body["messages"]


def test_csv_problems_name_the_line_and_column_as_import_study_does(
    world: World, coordinator
) -> None:
    before = _stored()
    text = (
        "reader_id,case_id,category,run\n"
        "R1,C1,7,1\n"  # line 2: off the scale
        "R9,C1,3,1\n"  # line 3: unknown reader
        "R1,C9,3,1\n"  # line 4: unknown case
        "R1,C2,3,0\n"  # line 5: run below 1
    )
    upload = SimpleUploadedFile("mine.csv", text.encode(), content_type="text/csv")
    messages = _problems(coordinator.post(IMPORT, {"file": upload}, format="multipart"))
    assert messages == [
        "readings.csv:2: category: '7' is not on the scale [0, 1, 2, 3, 4, 5, 6]",
        "readings.csv:3: reader_id: unknown reader 'R9' (not in readers.csv)",
        "readings.csv:4: case_id: unknown case 'C9' (not in cases.csv)",
        "readings.csv:5: run: must be at least 1, got '0'",
    ]
    assert _stored() == before
    assert not AuditEvent.objects.filter(action="readings_imported").exists()


def test_duplicates_within_the_upload_and_against_the_study_are_refused(
    world: World, coordinator
) -> None:
    before = _stored()
    rows = [
        {"reader_id": "R1", "case_id": "C1", "category": 3},
        {"reader_id": "R1", "case_id": "C1", "category": 4},  # same as row 1
        {"reader_id": "M1", "case_id": "C2", "category": 4, "run": 2},  # already stored
        {"reader_id": "R1", "case_id": "C2", "category": 4, "modality": 2},  # fine alone
    ]
    response = coordinator.post(IMPORT, rows, format="json")
    assert response.status_code == 400
    errors = response.json()["errors"]
    assert [(e["line"], e["field"]) for e in errors] == [(2, "reader_id")]
    assert "first on line" in errors[0]["message"]
    assert _stored() == before

    response = coordinator.post(IMPORT, [rows[0], rows[2]], format="json")
    [error] = response.json()["errors"]
    assert error["line"] == 2 and "already holds this reading" in error["message"]
    assert response.json()["messages"][0].startswith("row 2: reader_id: ")
    assert _stored() == before


def test_a_readings_row_of_another_study_is_unknown_here(world: World, coordinator) -> None:
    response = coordinator.post(
        IMPORT, [{"reader_id": "OR1", "case_id": "OC1", "category": 3}], format="json"
    )
    fields = {e["field"] for e in response.json()["errors"]}
    assert response.status_code == 400 and fields == {"reader_id", "case_id"}


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"reader_id": "R1"}, "-"),  # not an array
        ([{"reader_id": "R1", "case_id": "C1", "category": True}], "category"),
        ([{"reader_id": "R1", "case_id": "C1", "category": [3]}], "category"),
        ([{"reader_id": "R1", "case_id": "C1", "category": 3, "mood": "x"}], "mood"),
        ([{"reader_id": "R1", "case_id": "C1"}], "category"),
        (["R1,C1,3"], "-"),
        ([], "-"),
    ],
)
def test_json_shapes_csv_cannot_hold_are_400(world: World, coordinator, body, field) -> None:
    before = _stored()
    response = coordinator.post(IMPORT, body, format="json")
    assert response.status_code == 400, response.content
    assert field in {e["field"] for e in response.json()["errors"]}
    assert _stored() == before


@pytest.mark.parametrize(
    ("raw", "content_type"),
    [
        (b'[{"reader_id": "R1", "case_id": "C1", "category": 3}', "application/json"),
        (b'[{"reader_id": "R1", "case_id": "C1", "category": NaN}]', "application/json"),
        (b'[{"reader_id": "R\xff1", "case_id": "C1", "category": 3}]', "application/json"),
    ],
)
def test_malformed_json_or_utf8_is_400_json(world: World, coordinator, raw, content_type) -> None:
    before = _stored()
    response = coordinator.generic("POST", IMPORT, raw, content_type=content_type)
    assert response.status_code == 400
    assert response["Content-Type"].startswith("application/json")
    assert response.json()["errors"][0]["line"] == 1
    assert _stored() == before


@pytest.mark.parametrize(
    "data",
    [
        b"reader_id,case_id,category\nR1,C1,3\nR1,\xff,3\n",  # not UTF-8
        b'reader_id,case_id,category\nR1,"C1,3\n',  # unterminated quote
        b"reader_id,case_id,category\nR1,C1\n",  # short row
        b"",  # empty
    ],
)
def test_malformed_csv_is_400_naming_the_line(world: World, coordinator, data) -> None:
    before = _stored()
    upload = SimpleUploadedFile("readings.csv", data, content_type="text/csv")
    response = coordinator.post(IMPORT, {"file": upload}, format="multipart")
    messages = _problems(response)
    assert messages[0].startswith("readings.csv:")
    assert _stored() == before


def test_oversized_uploads_are_413_and_change_nothing(world: World, coordinator, settings) -> None:
    settings.API_IMPORT_MAX_BYTES = 200
    before = _stored()
    rows = [{"reader_id": "R1", "case_id": "C1", "category": 3, "impression": "x" * 300}]
    response = coordinator.post(IMPORT, rows, format="json")
    assert response.status_code == 413
    assert "200 bytes" in response.json()["detail"]
    text = "reader_id,case_id,category,impression\nR1,C1,3," + "x" * 300 + "\n"
    upload = SimpleUploadedFile("readings.csv", text.encode(), content_type="text/csv")
    assert coordinator.post(IMPORT, {"file": upload}, format="multipart").status_code == 413
    assert _stored() == before


def test_a_multipart_request_without_a_file_is_400(world: World, coordinator) -> None:
    response = coordinator.post(IMPORT, {"other": "x"}, format="multipart")
    assert response.status_code == 400
    assert response.json()["errors"][0]["field"] == "file"


def test_json_text_that_looks_like_a_neutralised_formula_is_stored_exactly(
    world: World, coordinator
) -> None:
    """JSON rows go through CSV on the way in (issue 11, finding 7): the import removes the
    quote that neutralises a formula, so the rows are neutralised first and arrive as sent."""
    rows = [
        {"reader_id": "R1", "case_id": "C1", "category": 4, "impression": "'=x", "score": -0.5},
        {"reader_id": "R1", "case_id": "C2", "category": 2, "impression": "=HYPERLINK(1)"},
    ]
    response = coordinator.post(IMPORT, rows, format="json")
    assert response.status_code == 201, response.content
    stored = dict(
        Reading.objects.filter(reader=world.reader).values_list("case__code", "impression")
    )
    assert stored == {"C1": "'=x", "C2": "=HYPERLINK(1)"}
    assert Reading.objects.get(reader=world.reader, case=world.cases[0]).score == -0.5
