"""``findings`` of results.json, its tables and ``extract_findings`` (issue 16)."""

from __future__ import annotations

import json
from io import StringIO

import numpy as np
import pandas as pd
import pytest
from django.core.management import CommandError, call_command
from django.test import Client

from analysis.results import results_json, run_analysis
from analysis.results_findings import FINDINGS_BOOT
from analysis.selectors import study_data
from analysis.stats.findings import finding_f1_summary, finding_performance
from analysis.tables import build_tables, display_rows, fmt_ci
from readerstudy.audit.models import AuditEvent
from readerstudy.studies.models import (
    CaseFinding,
    FindingMethod,
    Reader,
    Reading,
    ReadingFinding,
    Study,
)
from readerstudy.studies.pseudonyms import pseudonym
from tests.analysis.conftest import Member, SmallStudy

pytestmark = pytest.mark.django_db

VOCABULARY = [
    {"key": "mass", "label": "mass", "synonyms": ["肿块"]},
    {"key": "washout", "label": "washout", "synonyms": ["廓清"]},
]


def with_findings(study: Study, seed: int = 3) -> pd.DataFrame:
    """Vocabulary, truth on every test case and labels of R1 (run 1) and M1 (runs 1, 2)."""
    study.config = {**study.config, "findings": VOCABULARY}
    study.save(update_fields=["config"])
    rng = np.random.default_rng(seed)
    cases = list(study.cases.filter(split="test").order_by("position"))
    truth = {(c.pk, f["key"]): bool(rng.random() < 0.4) for c in cases for f in VOCABULARY}
    CaseFinding.objects.bulk_create(
        CaseFinding(case_id=c, finding=f, present=p) for (c, f), p in truth.items()
    )
    readers = {r.code: r for r in Reader.objects.filter(study=study)}
    labels = []
    for code, runs, flip in (("R1", [1], 0.1), ("M1", [1, 2], 0.3)):
        for run in runs:
            for (case, finding), present in truth.items():
                wrong = rng.random() < (flip if run == 1 else 0.5)
                labels.append(
                    ReadingFinding(
                        reader=readers[code],
                        case_id=case,
                        run=run,
                        finding=finding,
                        present=present != wrong,
                    )
                )
    ReadingFinding.objects.bulk_create(labels)
    # the same labels through the ORM, for an independent computation of the first runs
    rows = ReadingFinding.objects.filter(case__study=study, run=1).values_list(
        "reader__code", "case__code", "finding", "present", "case_id"
    )
    return pd.DataFrame(
        [(r, c, f, int(truth[(pk, f)]), int(p)) for r, c, f, p, pk in rows],
        columns=["reader_id", "case_id", "finding", "truth", "present"],
    )


def test_results_json_has_per_finding_and_summary_rows_equal_to_the_statistics(
    small_study: SmallStudy,
) -> None:
    study = small_study()
    expected_labels = with_findings(study)
    analysis = run_analysis(study_data(study))
    doc = json.loads(json.dumps(results_json(analysis), allow_nan=False))
    findings = doc["findings"]
    assert list(findings) == ["per_finding", "summary"]
    per = findings["per_finding"]
    assert [(r["reader"], r["finding"]) for r in per] == [
        ("R1", "mass"), ("R1", "washout"), ("M1", "mass"), ("M1", "washout")
    ]  # fmt: skip
    contract = {"reader", "finding", "tp", "fp", "fn", "tn", "sensitivity", "sensitivity_ci"}
    contract |= {"specificity", "specificity_ci", "f1", "f1_ci"}
    assert all(contract <= set(r) for r in per)
    # the first run of M1 only: the run-2 labels (half wrong) are not counted
    ref = finding_performance(expected_labels, n_boot=FINDINGS_BOOT, seed=1)
    ref = ref.set_index(["reader", "finding", "measure"])
    for row in per:
        key = (row["reader"], row["finding"])
        sens = ref.loc[(*key, "sensitivity")]
        assert (row["tp"], row["fp"], row["fn"], row["tn"]) == (
            sens["tp"], sens["fp"], sens["fn"], sens["tn"]
        )  # fmt: skip
        assert row["tp"] + row["fp"] + row["fn"] + row["tn"] == 36
        for measure in ("sensitivity", "specificity", "f1"):
            assert row[measure] == pytest.approx(ref.loc[(*key, measure), "statistic"])
            lo, hi = row[f"{measure}_ci"]
            assert lo <= row[measure] <= hi
        assert row["sensitivity"] == pytest.approx(row["tp"] / (row["tp"] + row["fn"]))
    summary = {r["reader"]: r for r in findings["summary"]}
    assert set(summary) == {"R1", "M1"}
    ref_summary = finding_f1_summary(expected_labels, n_boot=FINDINGS_BOOT, seed=1)
    ref_summary = ref_summary.set_index(["reader", "measure"])
    for reader, entry in summary.items():
        for measure in ("macro_f1", "micro_f1"):
            assert entry[measure] == pytest.approx(ref_summary.loc[(reader, measure), "statistic"])
            assert entry[f"{measure}_ci"][0] <= entry[measure] <= entry[f"{measure}_ci"][1]
    assert summary["R1"]["micro_f1"] > summary["M1"]["micro_f1"]
    assert "findings-none" not in [n["code"] for n in doc["notes"]]

    tables = build_tables(analysis)
    table = tables["findings"]
    assert len(table) == len(per)
    assert table["F1 (95% CI)"].iloc[0] == fmt_ci(per[0]["f1"], *per[0]["f1_ci"], digits=3)
    shown = display_rows("findings_summary", tables["findings_summary"])
    assert shown["columns"] == ["Reader", "n", "Macro F1 (95% CI)", "Micro F1 (95% CI)"]
    assert len(shown["rows"]) == 2


def test_a_study_without_findings_gets_empty_lists_and_a_note(small_study: SmallStudy) -> None:
    analysis = run_analysis(study_data(small_study()))
    doc = results_json(analysis)
    assert doc["findings"] == {"per_finding": [], "summary": []}
    assert "findings-none" in [n["code"] for n in doc["notes"]]
    tables = build_tables(analysis)
    assert tables.get("findings", pd.DataFrame()).empty


def test_extract_findings_labels_the_impressions_and_keeps_other_methods(
    small_study: SmallStudy,
) -> None:
    study = small_study()
    study.config = {**study.config, "findings": VOCABULARY}
    study.save(update_fields=["config"])
    Reading.objects.filter(case__study=study).update(impression="")
    readings = list(
        Reading.objects.filter(case__study=study, reader__code="R1", modality=1).order_by("pk")
    )
    texts = ["Irregular mass without washout.", "未见肿块，可见廓清。", "Possible mass.", ""]
    for reading, text in zip(readings, texts * len(readings), strict=False):
        reading.impression = text
        reading.save(update_fields=["impression"])
    first = readings[0]
    ReadingFinding.objects.create(
        reader=first.reader,
        case=first.case,
        run=first.run,
        finding="mass",
        present=False,
        method=FindingMethod.REVIEWED,
    )
    out = StringIO()
    call_command("extract_findings", study.slug, stdout=out)
    with_text = sum(1 for r in readings if r.impression)
    assert f"{with_text} impressions" in out.getvalue()
    labels = {
        (r.case_id, r.finding): (r.present, r.method)
        for r in ReadingFinding.objects.filter(reader=first.reader)
    }
    # a coordinator's correction is kept; everything else is extracted
    assert labels[(first.case_id, "mass")] == (False, "reviewed")
    assert labels[(first.case_id, "washout")] == (False, "extracted_rules")
    second, third = readings[1], readings[2]
    assert labels[(second.case_id, "mass")] == (False, "extracted_rules")
    assert labels[(second.case_id, "washout")] == (True, "extracted_rules")
    assert labels[(third.case_id, "mass")] == (True, "extracted_rules")
    assert (readings[3].case_id, "mass") not in labels  # no impression, no label
    assert AuditEvent.objects.filter(study=study, action="findings_extracted").count() == 1
    # again, with uncertain mentions as absent: the extracted labels are updated in place
    n = ReadingFinding.objects.count()
    call_command("extract_findings", study.slug, "--uncertain", "absent", stdout=StringIO())
    assert ReadingFinding.objects.count() == n
    assert not ReadingFinding.objects.get(
        reader=first.reader, case=third.case, finding="mass"
    ).present


def test_extract_findings_needs_a_vocabulary(small_study: SmallStudy) -> None:
    study = small_study()
    with pytest.raises(CommandError, match=r"has no \[\[findings\]\] vocabulary"):
        call_command("extract_findings", study.slug, stdout=StringIO())
    with pytest.raises(CommandError, match="no study"):
        call_command("extract_findings", "nope", stdout=StringIO())


def test_a_statistician_before_unblinding_sees_pseudonyms_in_the_findings(
    small_study: SmallStudy,
) -> None:
    study = small_study()
    with_findings(study)
    real = set(Reader.objects.filter(study=study).values_list("code", flat=True))
    cases = set(study.cases.values_list("code", flat=True))
    data = study_data(study, pseudonymous=True)
    assert len(data.findings) and not set(data.findings["reader_id"]) & real
    assert not set(data.findings["case_id"]) & cases
    doc = results_json(run_analysis(data))
    assert {r["reader"] for r in doc["findings"]["per_finding"]} == set(data.reader_order) - {
        r for r in data.reader_order if r not in set(data.findings["reader_id"])
    }
    assert not {r["reader"] for r in doc["findings"]["summary"]} & real


def test_the_dashboard_shows_both_finding_tables_with_pseudonyms(
    client: Client, small_study: SmallStudy, member: Member
) -> None:
    study = small_study()
    with_findings(study)
    client.force_login(member(study, "statistician"))
    html = client.get(f"/studies/{study.slug}/analysis/").content.decode()
    assert "Per-finding accuracy of the readers" in html
    assert "Finding labels: macro- and micro-averaged F1 per reader" in html
    assert "Macro F1 (95% CI)" in html and "Sensitivity (95% CI)" in html
    assert pseudonym(study.slug, "reader", "M1") in html and 'value="M1"' not in html
    results = json.loads(client.get(f"/studies/{study.slug}/analysis/results.json").content)
    readers = {r["reader"] for r in results["findings"]["summary"]}
    assert readers == {pseudonym(study.slug, "reader", c) for c in ("R1", "M1")}
