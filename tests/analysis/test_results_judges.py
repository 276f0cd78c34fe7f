"""LLM judges against the human panel in the analysis (issue 21, item 2): a biased judge's
+1 is recovered, a faithful judge falls within the panel, and every row equals a direct call
of analysis.stats.judge on the same long frame."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from analysis.results import results_json, run_analysis
from analysis.results_judges import JUDGE_BOOT, judge_input
from analysis.selectors import study_data
from analysis.stats.judge import judge_agreement, judge_conclusions, judge_within_panel
from analysis.tables import build_tables
from evaluation.models import LikertDomain, LikertScore, Rater
from readerstudy.studies.models import Reader, Reading, Study
from tests.factories import CaseFactory, StudyFactory

pytestmark = pytest.mark.django_db

N_CASES = 20


def _study(*, with_judges: bool = True) -> Study:
    """3 human raters scoring 3 readers' outputs on 20 cases (one domain); judge ``biased``
    gives the panel's median + 1, judge ``faithful`` scores like one more human."""
    rng = np.random.default_rng(7)
    study = StudyFactory(slug="judged")
    cases = [CaseFactory(study=study, code=f"C{i:02d}", truth=i % 2) for i in range(N_CASES)]
    readers = [
        Reader.objects.create(study=study, code=code, kind="model", label=code, position=i)
        for i, code in enumerate(["A", "B", "C"])
    ]
    domain = LikertDomain.objects.create(study=study, key="correctness", label="Correctness")
    humans = [Rater.objects.create(study=study, code=f"h{i}") for i in (1, 2, 3)]
    biased = Rater.objects.create(study=study, code="biased", kind=Rater.Kind.MODEL)
    faithful = Rater.objects.create(study=study, code="faithful", kind=Rater.Kind.MODEL)
    rows = []
    for case in cases:
        for shift, reader in zip((0.0, 0.6, 1.2), readers, strict=True):
            reading = Reading.objects.create(reader=reader, case=case, run=1, category=3)
            quality = rng.uniform(1, 3.4) + shift
            panel = [int(np.clip(round(quality + rng.normal(0, 0.5)), 1, 4)) for _ in humans]
            rows += [
                LikertScore(rater=h, reading=reading, domain=domain, score=s)
                for h, s in zip(humans, panel, strict=True)
            ]
            if with_judges:
                own = int(np.clip(round(quality + rng.normal(0, 0.5)), 1, 4))
                judged = LikertScore.Source.JUDGED
                rows += [
                    LikertScore(
                        rater=biased,
                        reading=reading,
                        domain=domain,
                        score=int(np.median(panel)) + 1,
                        source=judged,
                    ),
                    LikertScore(
                        rater=faithful, reading=reading, domain=domain, score=own, source=judged
                    ),
                ]
    LikertScore.objects.bulk_create(rows)
    return study


def _row(frame: pd.DataFrame, **match: str) -> pd.Series:
    sel = frame
    for key, value in match.items():
        sel = sel[sel[key] == value]
    assert len(sel) == 1, match
    return sel.iloc[0]


def test_the_biased_judge_is_one_point_above_the_panel_and_the_faithful_one_is_not() -> None:
    out = run_analysis(study_data(_study(), split="all"))
    diff = _row(out.judges, judge="biased", analysis="agreement", against="panel",
                measure="mean_difference")  # fmt: skip
    assert diff["statistic"] == pytest.approx(1.0)
    # every difference is exactly +1: the CI is [1, 1] (no variance, so no p value)
    assert diff["ci_low"] == pytest.approx(1.0) and diff["ci_high"] == pytest.approx(1.0)
    fair = _row(out.judges, judge="faithful", analysis="agreement", against="panel",
                measure="mean_difference")  # fmt: skip
    assert fair["ci_low"] < 0 < fair["ci_high"]
    within = _row(out.judges, judge="faithful", analysis="within_panel", against="mean")
    assert bool(within["within"]) and within["ci_low"] < 0 < within["ci_high"]
    biased = _row(out.judges, judge="biased", analysis="within_panel", against="mean")
    assert not bool(biased["within"]) and biased["ci_high"] < 0


def test_every_judge_row_equals_a_direct_call_of_the_stats_functions() -> None:
    data = study_data(_study(), split="all")
    out = run_analysis(data)
    frame = judge_input(data.scores, data.judge_scores)
    for judge in ("biased", "faithful"):
        own = frame[(frame["kind"] == "human") | (frame["rater_id"] == judge)]
        kw = {"judge": judge, "low": 1, "high": 5, "n_boot": JUDGE_BOOT, "seed": out.options.seed}
        direct = [
            judge_agreement(own, **kw),  # type: ignore[arg-type]
            judge_within_panel(own, **kw),  # type: ignore[arg-type]
            judge_conclusions(own, p_adjust=out.options.adjustment("dunn"), **kw),  # type: ignore[arg-type]
        ]
        mine = out.judges[out.judges["judge"] == judge]
        for name, expected in zip(
            ("agreement", "within_panel", "conclusions"), direct, strict=True
        ):
            got = mine[mine["analysis"] == name]
            assert len(got) == len(expected) > 0
            for col in ("statistic", "ci_low", "ci_high"):
                np.testing.assert_allclose(
                    got[col].to_numpy(float),
                    expected[col].to_numpy(float),
                    equal_nan=True,
                    err_msg=f"{judge} {name} {col}",
                )
    doc = results_json(out)
    assert {r["analysis"] for r in doc["judges"]} == {"agreement", "within_panel", "conclusions"}
    assert len(doc["judges"]) == len(out.judges)
    table = build_tables(out)["judges"]
    assert set(table["judge"]) == {"biased", "faithful"}
    assert "Mean difference judge − panel" in set(table["measure"])


def test_judge_codes_are_pseudonymised_for_a_blinded_statistician() -> None:
    data = study_data(_study(), split="all", pseudonymous=True)
    judges = set(data.judge_scores["rater_id"])
    assert len(judges) == 2 and not judges & {"biased", "faithful"}
    out = run_analysis(data)
    assert set(out.judges["judge"]) == judges


def test_no_judge_gives_an_empty_judges_key_and_no_note() -> None:
    out = run_analysis(study_data(_study(with_judges=False), split="all"))
    doc = results_json(out)
    assert doc["judges"] == []
    assert not [n for n in out.notes if n.code == "judge-not-compared"]
    assert "judges" not in build_tables(out)
