"""The study data API as a blinded statistician gets it: pseudonyms, hidden details, no
import order; real ids after unblinding and for coordinators (who may ask for pseudonyms)."""

from __future__ import annotations

import pytest
from django.utils import timezone

from readerstudy.core import roles
from readerstudy.studies.pseudonyms import (
    BLINDED_READER_FIELDS,
    HIDDEN_CASE_FIELDS,
    HIDDEN_READING_FIELDS,
    pseudonym,
)
from tests.api.world_core import World

pytestmark = pytest.mark.django_db

S = "/api/studies/api-study/"


def ps(kind: str, code: str) -> str:
    return pseudonym("api-study", kind, code)


def test_a_blinded_statistician_gets_pseudonyms_and_no_details_of_readers(
    world: World, api_as
) -> None:
    client = api_as(world.people[roles.STATISTICIAN])
    rows = client.get(S + "readers/").json()["results"]
    assert rows == sorted(
        [
            {"code": ps("reader", c), "kind": k}
            for c, k in (("R1", "human"), ("R2", "human"), ("M1", "model"))
        ],
        key=lambda r: r["code"],
    )
    assert client.get(S + f"readers/{ps('reader', 'M1')}/").json() == {
        "code": ps("reader", "M1"),
        "kind": "model",
    }
    assert client.get(S + "readers/", {"kind": "model"}).json()["count"] == 1
    # groups are hidden: filtering by one would tell who is who
    assert client.get(S + "readers/", {"group": "seniors"}).status_code == 403


def test_a_blinded_statistician_gets_cases_by_pseudonym_in_a_keyed_order(
    world: World, api_as
) -> None:
    client = api_as(world.people[roles.STATISTICIAN])
    rows = client.get(S + "cases/").json()["results"]
    assert {r["code"] for r in rows} == {ps("case", f"C{i}") for i in range(1, 5)}
    assert {r["patient_id"] for r in rows} == {ps("patient", f"P{i}") for i in range(1, 5)}
    assert not set(HIDDEN_CASE_FIELDS) & set(rows[0])
    assert "truth" not in rows[0]  # and no truth before unblinding, as before
    detail = client.get(S + f"cases/{ps('case', 'C1')}/").json()
    assert detail["code"] == ps("case", "C1") and detail["n_images"] == 2
    assert client.get(S + "cases/C1/").status_code == 404
    found = client.get(S + "cases/", {"patient_id": ps("patient", "P2")}).json()["results"]
    assert [r["code"] for r in found] == [ps("case", "C2")]
    assert client.get(S + "cases/", {"patient_id": "P2"}).json()["count"] == 0


def test_a_blinded_statistician_gets_readings_without_storage_ids_or_times(
    world: World, api_as
) -> None:
    client = api_as(world.people[roles.STATISTICIAN])
    body = client.get(S + "readings/").json()
    assert body["count"] == 12
    row = body["results"][0]
    assert not set(HIDDEN_READING_FIELDS) & set(row)
    assert {r["reader"] for r in body["results"]} == {ps("reader", "M1"), ps("reader", "R2")}
    keys = [(r["reader"], r["case"], r["run"]) for r in body["results"]]
    assert [k[0] for k in keys] == sorted(k[0] for k in keys)  # grouped in pseudonym order
    assert client.get(S + "readings/", {"reader": ps("reader", "M1")}).json()["count"] == 8
    assert client.get(S + "readings/", {"reader": "M1"}).json()["count"] == 0
    assert client.get(S + "readings/", {"case": ps("case", "C1")}).json()["count"] == 3
    paged, url = [], S + "readings/?page_size=5"
    while url:
        page = client.get(url).json()
        paged += [(r["reader"], r["case"], r["run"]) for r in page["results"]]
        url = page["next"]
    assert paged == keys  # the order is stable across pages


def test_asking_for_real_ids_does_not_help_a_blinded_statistician(world: World, api_as) -> None:
    client = api_as(world.people[roles.STATISTICIAN])
    text = client.get(S + "readers/", {"ids": "real"}).content.decode()
    assert '"R1"' not in text and ps("reader", "R1") in text
    assert client.get(S + "readers/", {"ids": "bogus"}).status_code == 400


def test_after_unblinding_the_statistician_gets_real_ids_and_details(world: World, api_as) -> None:
    world.study.unblinded_at = timezone.now()
    world.study.save()
    client = api_as(world.people[roles.STATISTICIAN])
    rows = client.get(S + "readers/").json()["results"]
    assert [r["code"] for r in rows] == ["R1", "R2", "M1"]
    assert {"label", "group", "years_experience", "has_account"} <= set(rows[0])
    assert set(rows[0]) > set(BLINDED_READER_FIELDS)
    assert client.get(S + "cases/C1/").json()["code"] == "C1"
    ids = [r["id"] for r in client.get(S + "readings/").json()["results"]]
    assert ids == sorted(ids)
    # anyone may still ask for pseudonyms, e.g. to share a blinded extract
    blinded = client.get(S + "readers/", {"ids": "pseudonymous"}).json()["results"]
    assert {r["code"] for r in blinded} == {ps("reader", c) for c in ("R1", "R2", "M1")}


def test_coordinators_get_real_ids_before_unblinding(world: World, api_as) -> None:
    client = api_as(world.people[roles.COORDINATOR])
    assert [r["code"] for r in client.get(S + "readers/").json()["results"]] == ["R1", "R2", "M1"]
    assert client.get(S + "readings/", {"reader": "M1"}).json()["count"] == 8
    assert client.get(S + f"cases/{ps('case', 'C1')}/").status_code == 404
