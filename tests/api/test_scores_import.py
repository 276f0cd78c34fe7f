"""Bulk import of Likert scores through the API: validated like ratings.csv, all or nothing."""

# The fixtures of tests/evaluation/conftest.py are imported, so test arguments "redefine" them.
# ruff: noqa: F811

from __future__ import annotations

import json

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from evaluation.models import LikertScore, Rater
from readerstudy.audit.models import AuditEvent
from tests.evaluation.conftest import SessionMaker, World, make_session, world  # noqa: F401

pytestmark = pytest.mark.django_db

HEADER = "rater_id,reader_id,case_id,run,domain,score\n"


def url(world: World) -> str:
    return f"/api/studies/{world.study.slug}/scores/import/"


def snapshot() -> tuple[object, ...]:
    """What an import may change: scores, raters and the audit log."""
    return (
        sorted(LikertScore.objects.values_list("rater__code", "reading_id", "domain_id", "score")),
        sorted(Rater.objects.values_list("study_id", "code")),
        AuditEvent.objects.filter(action="likert_scores_imported").count(),
    )


def upload(text: str, name: str = "ratings.csv") -> dict[str, object]:
    return {"file": SimpleUploadedFile(name, text.encode(), content_type="text/csv")}


def test_json_rows_are_imported_with_new_raters_and_audited(world: World, api_as) -> None:
    rows = [
        {"rater_id": "rater1", "reader_id": "M1", "case_id": "C1", "run": 2, "domain": "correctness", "score": 4},
        {"rater_id": "panel9", "reader_id": "R1", "case_id": "C2", "run": "1", "domain": "coherence", "score": 5, "modality": 1},
    ]  # fmt: skip
    response = api_as(world.coordinator).post(url(world), {"rows": rows}, format="json")
    assert response.status_code == 201, response.json()
    assert response.json() == {"created": 2, "raters_created": ["panel9"]}
    stored = LikertScore.objects.filter(source="imported").order_by("score")
    assert [(s.rater.code, s.reading.reader.code, s.reading.run, s.domain.key, s.score)
            for s in stored] == [("rater1", "M1", 2, "correctness", 4), ("panel9", "R1", 1, "coherence", 5)]  # fmt: skip
    event = AuditEvent.objects.get(action="likert_scores_imported")
    assert event.actor == world.coordinator and event.study == world.study
    assert event.details["rows"] == 2 and event.details["raters_created"] == ["panel9"]


def test_json_rater_codes_that_look_like_neutralised_formulas_are_stored_exactly(
    world: World, api_as
) -> None:
    """JSON rows go through CSV on the way in (issue 11, finding 7): neutralised first, so the
    import's removal of the quote gives back exactly the code sent."""
    rows = [
        {"rater_id": "'=r1", "reader_id": "M1", "case_id": "C1", "run": 2, "domain": "correctness", "score": 4},
        {"rater_id": "@r2", "reader_id": "R1", "case_id": "C2", "run": 1, "domain": "coherence", "score": 5},
    ]  # fmt: skip
    response = api_as(world.coordinator).post(url(world), {"rows": rows}, format="json")
    assert response.status_code == 201, response.json()
    assert sorted(LikertScore.objects.values_list("rater__code", flat=True)) == ["'=r1", "@r2"]


def test_a_ratings_csv_upload_is_imported(world: World, api_as) -> None:
    text = HEADER + "rater2,M2,C3,1,harmlessness,1\nrater2,M2,C3,1,coherence,2\n"
    response = api_as(world.coordinator).post(url(world), upload(text), format="multipart")
    assert response.status_code == 201
    assert response.json()["created"] == 2
    assert LikertScore.objects.filter(rater__code="rater2").count() == 2


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        ("rater1,M1,C1,1,correctness,6", "ratings.csv:2: score: '6' is outside the Likert range 1-5"),
        ("rater1,M1,C1,1,correctness,x", "ratings.csv:2: score: must be an integer score, got 'x'"),
        ("rater1,M1,C1,1,style,3", "ratings.csv:2: domain: unknown domain 'style'"),
        ("rater1,M9,C1,1,correctness,3", "ratings.csv:2: reader_id: no reading in this study for reader 'M9'"),
        ("rater1,M1,C9,1,correctness,3", "ratings.csv:2: reader_id: no reading in this study for reader 'M1', case 'C9'"),
        ("rater1,R1,C1,2,correctness,3", "ratings.csv:2: reader_id: no reading in this study for reader 'R1', case 'C1', run 2"),
        ("rater1,M1,C1,0,correctness,3", "ratings.csv:2: run: must be at least 1, got '0'"),
        (",M1,C1,1,correctness,3", "ratings.csv:2: rater_id: must not be empty"),
    ],
)  # fmt: skip
def test_a_bad_row_is_reported_by_line_and_column_and_nothing_changes(
    world: World, api_as, line: str, expected: str
) -> None:
    good = "rater1,M1,C2,1,correctness,3\n"
    before = snapshot()
    response = api_as(world.coordinator).post(
        url(world), upload(HEADER + line + "\n" + good), format="multipart"
    )
    assert response.status_code == 400
    body = response.json()
    assert body["messages"][0].startswith(expected), body["messages"]
    assert body["errors"][0]["line"] == 2
    assert body["errors"][0]["field"] == expected.split(": ")[1]
    assert body["n_errors"] == 1 and "nothing was imported" in body["detail"]
    assert snapshot() == before


def test_duplicates_within_the_upload_and_against_stored_scores_are_refused(
    world: World, api_as
) -> None:
    client = api_as(world.coordinator)
    client.post(url(world), upload(HEADER + "rater1,M1,C1,1,correctness,3\n"), format="multipart")
    before = snapshot()
    text = HEADER + (
        "rater1,M1,C1,1,correctness,4\n"  # stored already
        "rater2,M1,C1,1,correctness,4\n"
        "rater2,M1,C1,1,correctness,5\n"  # twice in the upload
    )
    body = client.post(url(world), upload(text), format="multipart").json()
    assert body["messages"] == [
        "ratings.csv:4: rater_id: duplicate score (rater_id='rater2', reader_id='M1', "
        "case_id='C1', run=1, modality=1, domain='correctness'); first on line 3",
    ]
    # Once the upload itself is clean, stored scores are checked: nothing is overwritten.
    body = client.post(
        url(world), upload(HEADER + "rater1,M1,C1,1,correctness,4\n"), format="multipart"
    ).json()
    assert body["messages"] == [
        "ratings.csv:2: rater_id: a score is already stored for rater 'rater1', reader 'M1', "
        "case 'C1', run 1, modality 1, domain 'correctness'; nothing is overwritten"
    ]
    assert snapshot() == before


def test_an_output_pending_for_the_rater_in_an_open_session_is_refused(
    world: World, make_session: SessionMaker, api_as
) -> None:
    make_session(domains=world.domains[:1])
    before = snapshot()
    body = (
        api_as(world.coordinator)
        .post(url(world), upload(HEADER + "rater1,M1,C1,1,correctness,4\n"), format="multipart")
        .json()
    )
    assert "pending for the rater in the open rating session 'Session 0'" in body["messages"][0]
    assert snapshot() == before
    # Another domain of the same output is not pending.
    ok = api_as(world.coordinator).post(
        url(world), upload(HEADER + "rater1,M1,C1,1,coherence,4\n"), format="multipart"
    )
    assert ok.status_code == 201


def test_json_rows_are_reported_by_row_number(world: World, api_as) -> None:
    rows = [
        {"rater_id": "rater1", "reader_id": "M1", "case_id": "C1", "run": 1, "domain": "correctness", "score": 3},
        {"rater_id": "rater1", "reader_id": "M1", "case_id": "C1", "run": 1, "domain": "coherence", "score": 0},
    ]  # fmt: skip
    before = snapshot()
    body = api_as(world.coordinator).post(url(world), {"rows": rows}, format="json").json()
    assert body["messages"] == ["rows:2: score: '0' is outside the Likert range 1-5"]
    assert body["errors"] == [
        {
            "file": "rows",
            "line": 2,
            "field": "score",
            "message": "'0' is outside the Likert range 1-5",
        }
    ]
    shapes = [
        "not a row",
        {"rater_id": "r", "reader_id": "M1", "case_id": "C1", "run": 1, "domain": "correctness", "score": True, "colour": 1},
        {"rater_id": "a\nb", "reader_id": "M1", "case_id": "C1", "run": [1], "domain": "correctness", "score": 3},
    ]  # fmt: skip
    body = api_as(world.coordinator).post(url(world), {"rows": shapes}, format="json").json()
    assert body["messages"] == [
        "rows:1: -: expected an object with rater_id, reader_id, case_id, run, modality, domain, score",
        "rows:2: colour: unknown column (expected: rater_id, reader_id, case_id, run, modality, domain, score)",
        "rows:2: score: must be text or a number",
        "rows:3: rater_id: must be on one line",
        "rows:3: run: must be text or a number",
    ]  # fmt: skip
    assert snapshot() == before


@pytest.mark.parametrize(
    ("body", "content_type", "status", "needle"),
    [
        (b'{"rows": [', "application/json", 400, "JSON parse error"),
        (b'{"scores": []}', "application/json", 400, "rows"),
        (b'{"rows": {}}', "application/json", 400, "expected a list of objects"),
        (b"[]", "application/json", 400, "no rows to import"),
        (b"rater_id,case_id\n", "text/csv", 415, "Unsupported media type"),
    ],
)
def test_malformed_bodies_are_400_json_and_change_nothing(
    world: World, api_as, body: bytes, content_type: str, status: int, needle: str
) -> None:
    before = snapshot()
    response = api_as(world.coordinator).generic(
        "POST", url(world), body, content_type=content_type
    )
    assert response.status_code == status
    assert needle in json.dumps(response.json())
    assert snapshot() == before


def test_malformed_csv_names_the_file_line_and_column(world: World, api_as) -> None:
    before = snapshot()
    client = api_as(world.coordinator)
    body = client.post(url(world), upload("rater_id,reader_id\nx,y\n"), format="multipart").json()
    assert "ratings.csv:1: case_id: required column is missing" in body["messages"]
    body = client.post(url(world), upload(HEADER + '"rater1,M1\n'), format="multipart").json()
    assert body["messages"][0].startswith("ratings.csv:")
    body = client.post(url(world), upload(""), format="multipart").json()
    assert body["messages"] == ["ratings.csv:1: -: file is empty (a header row is required)"]
    assert client.post(url(world), {"other": "x"}, format="multipart").status_code == 400
    assert snapshot() == before


def test_bodies_over_the_limit_are_413_and_change_nothing(world: World, api_as, settings) -> None:
    settings.API_IMPORT_MAX_BYTES = 200
    before = snapshot()
    client = api_as(world.coordinator)
    rows = [
        {"rater_id": "rater1", "reader_id": "M1", "case_id": "C1", "run": 1, "domain": "correctness", "score": 3}
    ] * 5  # fmt: skip
    response = client.post(url(world), {"rows": rows}, format="json")
    assert response.status_code == 413
    assert "larger than 200 bytes" in response.json()["detail"]
    big = HEADER + "rater1,M1,C1,1,correctness,3\n" * 10
    assert client.post(url(world), upload(big), format="multipart").status_code == 413
    assert snapshot() == before


def test_only_the_studys_coordinators_may_import(world: World, api_as) -> None:
    text = HEADER + "rater1,M1,C1,1,correctness,3\n"
    before = snapshot()
    for user in (world.statistician, world.raters[0], world.reader_user):
        assert api_as(user).post(url(world), upload(text), format="multipart").status_code == 403
    assert (
        api_as(world.outsider).post(url(world), upload(text), format="multipart").status_code == 404
    )
    assert api_as(None).post(url(world), upload(text), format="multipart").status_code == 401
    assert api_as(world.coordinator).get(url(world)).status_code == 405
    assert snapshot() == before
