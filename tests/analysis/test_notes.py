"""Degenerate data gets a note naming the reader, in results.json and on the dashboard."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from django.test import Client

from analysis.notes import NOTE_CODES, note
from analysis.results import results_json, run_analysis
from analysis.selectors import study_data
from readerstudy.studies.models import Study
from tests.analysis.conftest import CustomStudy, Member

pytestmark = pytest.mark.django_db


def tables(
    truth: list[int],
    categories: dict[str, list[list[int]]],
    *,
    split: str = "test",
    scores: dict[str, list[float | None]] | None = None,
) -> dict[str, pd.DataFrame]:
    """Cases, readers and readings: ``categories[reader][run][case]`` (None: no reading)."""
    n = len(truth)
    cases = pd.DataFrame(
        {"case_id": [f"C{i:03d}" for i in range(n)], "truth": truth, "split": split}
    )
    readers = pd.DataFrame(
        {
            "reader_id": list(categories),
            "kind": ["human" if r.startswith("R") else "model" for r in categories],
        }
    )
    rows = []
    for reader, runs in categories.items():
        for run, values in enumerate(runs, start=1):
            for i, category in enumerate(values):
                if category is None:
                    continue
                score = (scores or {}).get(reader)
                rows.append(
                    {
                        "reader_id": reader,
                        "case_id": f"C{i:03d}",
                        "run": run,
                        "category": category,
                        "score": "" if score is None or score[i] is None else score[i],
                    }
                )
    return {"cases": cases, "readers": readers, "readings": pd.DataFrame(rows)}


def noisy(truth: list[int], seed: int) -> list[int]:
    rng = np.random.default_rng(seed)
    latent = np.array(truth) * 1.5 + rng.normal(0, 1, len(truth))
    return np.clip(np.round(2.5 + latent), 1, 5).astype(int).tolist()


TRUTH = [1, 0] * 20


def notes_of(study: Study) -> list[dict]:
    return results_json(run_analysis(study_data(study)))["notes"]


def codes(notes: list[dict]) -> set[tuple[str, str | None]]:
    return {(n["code"], n["reader"]) for n in notes}


def test_every_note_has_a_known_code_a_reader_and_a_message(custom_study: CustomStudy) -> None:
    perfect = [5 if t else 2 for t in TRUTH]
    study = custom_study(**tables(TRUTH, {"R1": [noisy(TRUTH, 1)], "P": [perfect]}), reference="R1")
    notes = notes_of(study)
    assert notes
    for entry in notes:
        assert list(entry) == ["code", "reader", "message"]
        assert entry["code"] in NOTE_CODES and entry["message"]
    with pytest.raises(ValueError, match="code: unknown note code 'nope'"):
        note("nope", "x")


def test_a_perfect_and_a_constant_reader_get_zero_variance_notes_naming_them(
    custom_study: CustomStudy,
) -> None:
    perfect = [5 if t else 2 for t in TRUTH]
    constant = [3] * len(TRUTH)
    study = custom_study(
        **tables(TRUTH, {"R1": [noisy(TRUTH, 1)], "P": [perfect], "K": [constant]}),
        reference="R1",
    )
    analysis = run_analysis(study_data(study))
    notes = results_json(analysis)["notes"]
    assert ("zero-variance", "P") in codes(notes)
    assert ("zero-variance", "K") in codes(notes)
    by_reader = {(n["reader"], n["message"]) for n in notes if n["code"] == "zero-variance"}
    assert any(r == "P" and "perfectly (AUC 1)" in m for r, m in by_reader)
    assert any(r == "K" and "same rating (AUC 0.5)" in m for r, m in by_reader)
    # the constant reader's Cohen κ against R1 is 0 with SE 0: said so too
    assert any(r == "K" and "Inter-observer agreement of K" in m for r, m in by_reader)
    aucs = analysis.aucs.set_index("reader")
    assert aucs.loc["P", "se"] == 0 and aucs.loc["K", "se"] == 0


def test_fewer_than_ten_cases_in_a_class_gets_a_note_naming_the_reader(
    custom_study: CustomStudy,
) -> None:
    truth = [1] * 8 + [0] * 30
    study = custom_study(
        **tables(truth, {"R1": [noisy(truth, 2)], "M1": [noisy(truth, 3)]}), reference="R1"
    )
    notes = notes_of(study)
    assert {("small-class", "R1"), ("small-class", "M1")} <= codes(notes)
    message = next(n["message"] for n in notes if n == n | {"code": "small-class", "reader": "M1"})
    assert "8 positive and 30 negative" in message


def test_cases_dropped_listwise_from_the_intra_observer_kappa_get_a_note_with_the_count(
    custom_study: CustomStudy,
) -> None:
    runs = [noisy(TRUTH, s) for s in (4, 5, 6)]
    runs[2] = [None, None, *runs[2][2:]]  # run 3 misses the first two cases
    study = custom_study(**tables(TRUTH, {"R1": [noisy(TRUTH, 1)], "M1": runs}), reference="R1")
    doc = results_json(run_analysis(study_data(study)))
    intra = [e for e in doc["agreement"]["intra"] if e["reader"] == "M1"]
    assert {(e["n"], e["n_omitted"]) for e in intra} == {(38, 2)}
    dropped = [n for n in doc["notes"] if n["code"] == "kappa-cases-dropped"]
    assert [n["reader"] for n in dropped] == ["M1"]
    assert "2 case(s) without all 3 runs" in dropped[0]["message"]


def test_an_empty_split_says_so_and_suggests_the_split_that_has_readings(
    custom_study: CustomStudy,
) -> None:
    study = custom_study(
        **tables(TRUTH, {"R1": [noisy(TRUTH, 1)], "M1": [noisy(TRUTH, 2)]}, split="train"),
        reference="R1",
    )
    doc = results_json(run_analysis(study_data(study)))  # default: the test split
    assert doc["n_cases"] == 0
    (empty,) = [n for n in doc["notes"] if n["code"] == "empty-split"]
    assert "The test set has no readings" in empty["message"]
    assert "training set has 40 cases with readings" in empty["message"]
    assert "--split train" in empty["message"]
    other = results_json(run_analysis(study_data(study, split="train")))
    assert other["n_cases"] == 40 and not [n for n in other["notes"] if n["code"] == "empty-split"]


def test_the_dashboard_shows_each_note_with_its_code(
    client: Client, custom_study: CustomStudy, member: Member
) -> None:
    perfect = [5 if t else 2 for t in TRUTH]
    study = custom_study(**tables(TRUTH, {"R1": [noisy(TRUTH, 1)], "P": [perfect]}), reference="R1")
    client.force_login(member(study, "coordinator"))
    html = client.get(f"/studies/{study.slug}/analysis/").content.decode()
    assert 'data-note="zero-variance"' in html
    assert "ROC: reader P separates the classes perfectly (AUC 1)" in html
    notes_csv = client.get(f"/studies/{study.slug}/analysis/tables/notes.csv").content.decode()
    assert notes_csv.splitlines()[0] == "code,reader,note"
    empty = custom_study(**tables(TRUTH, {"R1": [noisy(TRUTH, 1)]}, split="train"), reference="R1")
    client.force_login(member(empty, "coordinator"))
    response = client.get(f"/studies/{empty.slug}/analysis/")
    assert response.status_code == 200
    page = response.content.decode()
    assert 'data-note="empty-split"' in page and "--split train" in page


def test_a_missing_score_keeps_the_reader_on_its_score_with_a_note(
    custom_study: CustomStudy,
) -> None:
    rng = np.random.default_rng(8)
    score: list[float | None] = [
        round(float(v), 3) for v in np.array(TRUTH) * 0.8 + rng.normal(0, 0.6, len(TRUTH))
    ]
    score[3] = None
    study = custom_study(
        **tables(TRUTH, {"R1": [noisy(TRUTH, 1)], "M1": [noisy(TRUTH, 2)]}, scores={"M1": score}),
        reference="R1",
    )
    analysis = run_analysis(study_data(study))
    doc = results_json(analysis)
    m1 = doc["readers"]["M1"]
    assert m1["rating"] == "score" and m1["auc_n"] == 39 and m1["n"] == 40
    (missing,) = [n for n in doc["notes"] if n["code"] == "score-missing"]
    assert missing["reader"] == "M1" and "1 reading(s) have no score" in missing["message"]
    assert "39 of its 40 cases" in missing["message"]
    # the pair with R1 (rated by its category) is compared on the 39 cases
    test = next(t for t in doc["auc_tests"] if {t["reader_a"], t["reader_b"]} == {"R1", "M1"})
    assert test["n_cases"] == 39


def test_mrmc_says_when_a_missing_score_puts_a_reader_on_its_category(
    custom_study: CustomStudy,
) -> None:
    parts = []
    for modality in (1, 2):
        t = tables(
            TRUTH,
            {r: [noisy(TRUTH, 10 * modality + i)] for i, r in enumerate(["R1", "R2", "R3"])},
            scores={r: [round(0.1 * (i % 7), 1) for i in range(40)] for r in ("R1", "R2", "R3")},
        )
        parts.append(t["readings"].assign(modality=modality))
    readings = pd.concat(parts, ignore_index=True).astype({"score": object})
    readings.loc[(readings["reader_id"] == "R2") & (readings["case_id"] == "C005"), "score"] = ""
    study = custom_study(cases=t["cases"], readers=t["readers"], readings=readings, reference="R1")
    notes = notes_of(study)
    mrmc = [n for n in notes if n["code"] == "score-missing" and n["message"].startswith("MRMC")]
    assert [n["reader"] for n in mrmc] == ["R2"]
    assert "uses its category in every modality" in mrmc[0]["message"]
