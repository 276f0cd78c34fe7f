"""study.toml ``[flow]`` (Fig. 1): validated with file, line and field; kept on export."""

from __future__ import annotations

from io import StringIO
from pathlib import Path

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from analysis.selectors import study_flow
from readerstudy.bundles.flow import flow_problems, flow_summary
from readerstudy.studies.models import Study
from tests.conftest import STUDY_TOML, BundleFactory

pytestmark = pytest.mark.django_db

FLOW = """
[flow]
unit = "patients"
assessed = 60
included = 40

[[flow.excluded]]
reason = "Poor image quality"
n = 15

[[flow.excluded]]
reason = "No histology"
n = 5
"""


def test_a_valid_flow_travels_with_the_bundle_and_counts_the_cases_by_split(
    make_bundle: BundleFactory, tmp_path: Path
) -> None:
    call_command("import_study", str(make_bundle(study_toml=STUDY_TOML + FLOW)), stdout=StringIO())
    study = Study.objects.get(slug="tiny")
    flow = study_flow(study)
    assert flow is not None
    assert flow["assessed"] == 60 and flow["included"] == 40 and flow["unit"] == "patients"
    assert [e["n"] for e in flow["excluded"]] == [15, 5]
    # the tiny bundle: C1 (positive) and C2 (negative) in test, C3 (positive) in train
    assert flow["splits"] == {"test": {"n": 2, "positive": 1}, "train": {"n": 1, "positive": 1}}
    assert flow["cases"] == 3
    call_command("export_study", "tiny", str(tmp_path / "out"), stdout=StringIO())
    text = (tmp_path / "out" / "study.toml").read_text(encoding="utf-8")
    assert 'reason = "No histology"' in text and "assessed = 60" in text


def test_without_flow_there_is_no_flow(make_bundle: BundleFactory) -> None:
    call_command("import_study", str(make_bundle()), stdout=StringIO())
    assert study_flow(Study.objects.get(slug="tiny")) is None


def test_every_problem_of_a_flow_is_named_with_its_line_and_nothing_is_imported(
    make_bundle: BundleFactory,
) -> None:
    bad = FLOW.replace("included = 40", "included = 41").replace("n = 5", 'n = "five"')
    bad = bad.replace('unit = "patients"', 'unit = "patients"\ncolour = "red"')
    with pytest.raises(CommandError) as info:
        call_command(
            "import_study", str(make_bundle(study_toml=STUDY_TOML + bad)), stdout=StringIO()
        )
    message = str(info.value)
    lines = (STUDY_TOML + bad).splitlines()
    n_line = next(i for i, ln in enumerate(lines, 1) if ln == 'n = "five"')
    colour_line = next(i for i, ln in enumerate(lines, 1) if ln.startswith("colour"))
    assert f"study.toml:{n_line}: flow.excluded[2].n: must be a whole number" in message
    assert f"study.toml:{colour_line}: flow.colour: unknown key" in message
    assert Study.objects.count() == 0


def test_assessed_must_be_the_included_plus_the_excluded() -> None:
    raw = {"assessed": 61, "included": 40, "excluded": [{"reason": "x", "n": 20}]}
    assert flow_problems(raw) == [
        ("flow.assessed", "61 assessed is not 40 included + 20 excluded (= 60)")
    ]
    assert flow_problems({"assessed": 5, "excluded": [{"reason": "x", "n": 6}]}) == [
        ("flow.assessed", "5 assessed is fewer than the 6 excluded")
    ]
    assert flow_problems([1]) == [("flow", "must be a table: [flow] with assessed, excluded, unit")]
    summary = flow_summary({"assessed": 30, "excluded": [{"reason": " x ", "n": 6}]})
    assert summary == {
        "unit": "cases", "assessed": 30, "included": 24, "excluded": [{"reason": "x", "n": 6}],
        "split_excluded": {},
    }  # fmt: skip
    assert flow_summary({"assessed": -1}) is None


def test_exclusions_after_allocation_belong_to_their_split_and_not_to_the_assessed_sum() -> None:
    raw = {
        "assessed": 30,
        "included": 24,
        "excluded": [
            {"reason": "x", "n": 6},
            {"reason": "Lost to follow-up", "n": 3, "split": "test"},
        ],
    }
    assert flow_problems(raw) == []
    summary = flow_summary(raw)
    assert summary is not None
    assert summary["excluded"] == [{"reason": "x", "n": 6}]
    assert summary["split_excluded"] == {"test": [{"reason": "Lost to follow-up", "n": 3}]}


def test_an_exclusion_of_an_unknown_split_is_named_with_its_line(
    make_bundle: BundleFactory,
) -> None:
    bad = FLOW + '\n[[flow.excluded]]\nreason = "Withdrew"\nn = 2\nsplit = "validation"\n'
    with pytest.raises(CommandError) as info:
        call_command(
            "import_study", str(make_bundle(study_toml=STUDY_TOML + bad)), stdout=StringIO()
        )
    lines = (STUDY_TOML + bad).splitlines()
    split_line = next(i for i, ln in enumerate(lines, 1) if ln.startswith("split ="))
    assert (
        f"study.toml:{split_line}: flow.excluded[3].split: must be one of train, test, "
        "got 'validation'" in str(info.value)
    )
    assert Study.objects.count() == 0
