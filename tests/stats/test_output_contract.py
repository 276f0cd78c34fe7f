"""The output contract of analysis.stats (docs/statistics.md, "Output contract").

Every public estimator returns a DataFrame, one row per estimate, with the estimate in
``statistic`` and its interval in ``ci_low``/``ci_high``, takes the level as
``confidence=`` (default 0.95) and, when it also tests, gives ``p_value``. A test without
an interval has ``statistic`` (the test statistic) and ``p_value``. Every other public
function is in the allow-list below, with the reason its docstring and docs/statistics.md
give; a new public function must be classified here.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd
import pytest

from analysis.stats import (
    accuracy,
    agreement,
    agreement_difference,
    ai,
    chance_agreement,
    clustered_accuracy,
    clustered_roc,
    diagnostic,
    findings,
    heterogeneity,
    judge,
    judgments,
    likert,
    likert_paired,
    localisation,
    noninferiority,
    reading_time,
    roc,
    roc_summaries,
    text_metrics,
)
from tests.stats.test_docstring_examples import MODULES, public_functions

ROC = pd.DataFrame(
    {
        "reader_id": ["A"] * 6 + ["B"] * 6,
        "case_id": list(range(6)) * 2,
        "truth": [1, 1, 1, 0, 0, 0] * 2,
        "rating": [5, 4, 2, 3, 1, 1, 4, 4, 3, 2, 2, 1],
    }
)
KAPPA = pd.DataFrame(
    {
        "reader_id": ["a"] * 8 + ["b"] * 8,
        "case_id": list(range(8)) * 2,
        "category": [1, 2, 2, 3, 3, 4, 4, 5, 1, 2, 3, 3, 3, 4, 5, 5],
    }
)
RUNS = pd.DataFrame(
    {
        "reader_id": "a",
        "run": [1, 2, 3] * 6,
        "case_id": [c for c in range(6) for _ in range(3)],
        "category": [1, 1, 1, 2, 2, 3, 3, 3, 3, 4, 4, 4, 2, 2, 2, 5, 4, 5],
    }
)
SCORES = pd.DataFrame(
    {
        "rater_id": ["r1"] * 5 + ["r2"] * 5 + ["r3"] * 5,
        "case_id": list(range(5)) * 3,
        "score": [1, 2, 3, 4, 5, 1, 3, 3, 4, 5, 2, 2, 3, 5, 5],
    }
)
FINDINGS = pd.DataFrame(
    {
        "reader_id": ["A"] * 12 + ["B"] * 12,
        "case_id": list(range(6)) * 4,
        "finding": (["mass"] * 6 + ["nme"] * 6) * 2,
        "truth": [1, 1, 1, 0, 0, 0, 1, 1, 0, 0, 0, 0] * 2,
        "present": [1, 1, 0, 0, 1, 0, 1, 0, 0, 1, 0, 0, 1, 0, 1, 1, 0, 0, 1, 1, 0, 0, 0, 1],
    }
)
DIAG = pd.DataFrame(
    {
        "reader_id": ["A"] * 8 + ["B"] * 8,
        "case_id": list(range(8)) * 2,
        "truth": [1, 1, 1, 1, 0, 0, 0, 0] * 2,
        "category": [5, 4, 4, 2, 3, 2, 1, 4, 5, 5, 3, 2, 2, 2, 1, 1],
    }
)
LIKERT = pd.DataFrame(
    {
        "reader_id": ["A"] * 6 + ["B"] * 6 + ["C"] * 6,
        "run": 1,
        "domain": ["clarity", "accuracy"] * 9,
        "score": [4, 5, 3, 4, 5, 4, 2, 3, 2, 2, 3, 1, 4, 4, 5, 5, 4, 3],
    }
)
#: three sources scored by two raters on three cases, paired by rater x case
PAIRED_LIKERT = pd.DataFrame(
    {
        "rater_id": ["r1"] * 9 + ["r2"] * 9,
        "case_id": ["c1", "c1", "c1", "c2", "c2", "c2", "c3", "c3", "c3"] * 2,
        "reader_id": ["A", "B", "C"] * 6,
        "domain": "clarity",
        "score": [5, 3, 4, 4, 2, 4, 5, 3, 3, 4, 2, 3, 5, 3, 4, 4, 4, 2],
    }
)
ATTRIBUTE = pd.DataFrame(
    {
        "case_id": range(12),
        "truth": [1] * 5 + [0] * 7,
        "density": ["a", "b", "b", "c", "c", "a", "a", "a", "b", "b", "c", "a"],
    }
)

DIAG_AI = pd.concat(
    [DIAG, DIAG[DIAG["reader_id"] == "B"].assign(reader_id="C", category=[5, 3, 4, 4, 1, 2, 3, 1])]
).rename(columns={"category": "rating"})

TIMES = pd.DataFrame(
    {
        "reader_id": [r for r in "ABC" for _ in range(8)],
        "case_id": list(range(4)) * 6,
        "modality": ([1] * 4 + [2] * 4) * 3,
        "seconds": [
            *(40, 52, 61, 33, 31, 45, 49, 35, 60, 42, 70, 48),
            *(50, 30, 64, 41, 35, 39, 55, 30, 30, 33, 41, 26),
        ],
    }
)

PREFS = pd.DataFrame(
    {
        "rater_id": [r for r in ("r1", "r2", "r3") for _ in range(12)],
        "case_id": list(range(12)) * 3,
        "reader": (["m1"] * 4 + ["m1"] * 4 + ["m2"] * 4) * 3,
        "comparator": (["m2"] * 4 + ["reference"] * 4 + ["reference"] * 4) * 3,
        "choice": list("aabtabbtabtbatabbbatabtaaabttbababtt")[:36],
        "left": list("ababbabaaabb") * 3,
    }
).replace({"choice": {"t": "tie"}})
GRADES = pd.DataFrame(
    {
        "rater_id": [r for r in ("r1", "r2", "r3") for _ in range(12)],
        "case_id": list(range(6)) * 6,
        "reader_id": (["model"] * 6 + ["reference"] * 6) * 3,
        "grade": [
            judgments.DEFAULT_SCALE[i]
            for i in [
                *(0, 1, 2, 3, 1, 0, 0, 0, 1, 2, 0, 1),
                *(1, 1, 3, 3, 0, 0, 0, 1, 1, 3, 0, 0),
                *(0, 2, 2, 2, 1, 1, 0, 0, 2, 2, 1, 1),
            ]
        ],
    }
)
ERRORS = pd.DataFrame(
    {
        "rater_id": ["r1", "r1", "r1", "r2", "r2", "r2"],
        "case_id": [1, 1, 2, 1, 2, 3],
        "reader_id": "model",
        "category": ["other", "missed finding", "none", "none", "other", "none"],
        "significant": [1, 0, None, None, 1, None],
    }
)
CLUSTERED = pd.DataFrame(
    {
        "reader_id": ["A"] * 8 + ["B"] * 8,
        "case_id": list(range(8)) * 2,
        "patient_id": [1, 1, 2, 2, 3, 3, 4, 4] * 2,
        "truth": [1, 1, 1, 0, 0, 0, 1, 0] * 2,
        "rating": [5, 4, 2, 3, 1, 1, 4, 2, 4, 4, 3, 2, 2, 1, 5, 3],
    }
)

_RNG = np.random.default_rng(18)
_TRUTH = np.repeat([1, 0], 30)
CONTINUOUS = pd.DataFrame(
    {
        "reader_id": "A",
        "case_id": range(60),
        "truth": _TRUTH,
        "rating": np.round(_RNG.normal(size=60) + 1.2 * _TRUTH, 2),
    }
)

JUDGE_SCORES = pd.DataFrame(
    {
        "rater_id": [r for r in ("h1", "h2", "h3", "j") for _ in range(12)],
        "kind": ["human"] * 36 + ["model"] * 12,
        "case_id": [i // 3 for i in range(12)] * 4,
        "reader_id": list("ABC") * 16,
        "domain": "accuracy",
        "score": [
            *(5, 3, 1, 4, 3, 2, 5, 4, 2, 4, 2, 1),
            *(4, 3, 2, 5, 2, 1, 4, 4, 1, 5, 3, 1),
            *(5, 2, 1, 4, 3, 1, 5, 3, 2, 4, 2, 2),
            *(4, 4, 2, 5, 3, 2, 5, 3, 1, 4, 3, 2),
        ],
    }
)
JUDGE_PAIRS = pd.DataFrame(
    {
        "rater_id": "j",
        "case_id": [c for c in range(8) for _ in range(2)],
        "reader": "m1",
        "comparator": "m2",
        "order": ["ab", "ba"] * 8,
        "choice": list("abaaabbbtbabaatt"),
    }
).replace({"choice": {"t": "tie"}})
JUDGE_RUNS = RUNS.rename(columns={"reader_id": "rater_id", "category": "score"}).assign(
    reader_id="A", domain="accuracy"
)
TEXTS = pd.DataFrame(
    {
        "reader_id": ["A"] * 6 + ["B"] * 6,
        "run": 1,
        "case_id": list(range(6)) * 2,
        "reference": [
            "irregular mass with washout",
            "no suspicious enhancement",
            "segmental non-mass enhancement",
            "benign lymph node",
            "spiculated mass of 12 mm",
            "stable oval mass",
        ]
        * 2,
        "hypothesis": [
            "irregular mass showing washout",
            "no suspicious enhancement",
            "non-mass enhancement, segmental",
            "lymph node, benign",
            "spiculated mass 12 mm",
            "oval mass, stable",
            "mass",
            "enhancement",
            "no enhancement",
            "node",
            "spiculated mass",
            "mass",
        ],
    }
)

LOC_CASES = pd.DataFrame({"case_id": range(8), "truth": [0, 0, 0, 0, 1, 1, 1, 1]})
LOC_LESIONS = pd.DataFrame({"case_id": [4, 5, 5, 6, 7], "lesion": [1, 1, 2, 1, 1]})
LOC_MARKS = pd.DataFrame(
    {
        "reader_id": ["A"] * 7 + ["B"] * 6,
        "modality": 1,
        "case_id": [0, 2, 4, 5, 6, 7, 3, 1, 4, 5, 6, 7, 0],
        "lesion": [None, None, 1, 2, None, 1, None, None, 1, 1, 1, None, None],
        "rating": [2, 3, 4, 5, 1, 2, 1, 2, 5, 3, 4, 3, 1],
    }
)

Call = Callable[..., pd.DataFrame]


def accuracy_summaries_call(**kw: Any) -> pd.DataFrame:
    return accuracy.accuracy_summaries([25, 12], [10, 3], [5, 8], [60, 40], **kw)


#: Estimators: statistic, ci_low, ci_high and ``confidence=``; True = also a test (p_value).
ESTIMATORS: dict[str, tuple[Call, bool]] = {
    "accuracy.accuracy_summaries": (
        lambda **kw: accuracy_summaries_call(**kw),
        False,
    ),
    "accuracy.accuracy_summary": (lambda **kw: accuracy.accuracy_summary(DIAG, **kw), False),
    "accuracy.newcombe_paired_ci": (
        lambda **kw: accuracy.newcombe_paired_ci([12, 1], [9, 1], [2, 7], [21, 12], **kw),
        True,
    ),
    "accuracy.tango_paired_ci": (
        lambda **kw: accuracy.tango_paired_ci([12, 1], [9, 1], [2, 7], [21, 12], **kw),
        True,
    ),
    "accuracy.paired_accuracy_difference": (
        lambda **kw: accuracy.paired_accuracy_difference(DIAG, reader_a="A", reader_b="B", **kw),
        True,
    ),
    "ai.ai_vs_readers": (
        lambda **kw: ai.ai_vs_readers(DIAG_AI, ai="A", **kw),
        True,
    ),
    "noninferiority.noninferiority_test": (
        lambda **kw: noninferiority.noninferiority_test(
            difference=0.02, se=0.01, df=5.0, margin=0.05, **kw
        ),
        True,
    ),
    "agreement.cohen_kappa": (
        lambda **kw: agreement.cohen_kappa(KAPPA, reader_a="a", reader_b="b", **kw),
        False,
    ),
    "agreement.cohen_kappa_table": (lambda **kw: agreement.cohen_kappa_table(KAPPA, **kw), False),
    "agreement.fleiss_kappa": (lambda **kw: agreement.fleiss_kappa(RUNS, n_boot=50, **kw), True),
    "agreement.krippendorff_alpha": (
        lambda **kw: agreement.krippendorff_alpha(SCORES, n_boot=50, **kw),
        False,
    ),
    "agreement.icc": (lambda **kw: agreement.icc(SCORES, **kw), True),
    "agreement_difference.fleiss_kappa_difference": (
        lambda **kw: agreement_difference.fleiss_kappa_difference(
            pd.concat(
                [
                    RUNS.assign(modality=1),
                    RUNS.assign(modality=2, category=RUNS["category"].to_numpy()[::-1]),
                ]
            ),
            modality_a=1,
            modality_b=2,
            reader="run",
            n_boot=50,
            **kw,
        ),
        True,
    ),
    "chance_agreement.agreement_coefficients": (
        lambda **kw: chance_agreement.agreement_coefficients(RUNS, rater="run", **kw),
        True,
    ),
    "chance_agreement.category_kappa": (
        lambda **kw: chance_agreement.category_kappa(RUNS, rater="run", **kw),
        True,
    ),
    "diagnostic.proportion_ci": (
        lambda **kw: diagnostic.proportion_ci([8, 3], [10, 5], **kw),
        False,
    ),
    "judgments.preference_summary": (
        lambda **kw: judgments.preference_summary(PREFS, n_boot=50, **kw),
        True,
    ),
    "judgments.bradley_terry": (lambda **kw: judgments.bradley_terry(PREFS, **kw), True),
    "judgments.acceptability_summary": (
        lambda **kw: judgments.acceptability_summary(GRADES, n_boot=50, **kw),
        False,
    ),
    "judgments.acceptability_paired": (
        lambda **kw: judgments.acceptability_paired(GRADES, reader="model", **kw),
        True,
    ),
    "judgments.error_summary": (lambda **kw: judgments.error_summary(ERRORS, **kw), False),
    "judgments.judgment_agreement": (
        lambda **kw: judgments.judgment_agreement(
            GRADES, instrument="acceptability", n_boot=50, **kw
        ),
        False,
    ),
    "judge.judge_agreement": (
        lambda **kw: judge.judge_agreement(JUDGE_SCORES, judge="j", n_boot=50, **kw),
        True,
    ),
    "judge.judge_within_panel": (
        lambda **kw: judge.judge_within_panel(JUDGE_SCORES, judge="j", n_boot=50, **kw),
        False,
    ),
    "judge.judge_position_bias": (lambda **kw: judge.judge_position_bias(JUDGE_PAIRS, **kw), True),
    "judge.judge_self_consistency": (
        lambda **kw: judge.judge_self_consistency(JUDGE_RUNS, n_boot=50, **kw),
        False,
    ),
    "judge.judge_conclusions": (
        lambda **kw: judge.judge_conclusions(JUDGE_SCORES, judge="j", n_boot=50, **kw),
        True,
    ),
    "likert.likert_summary": (lambda **kw: likert.likert_summary(LIKERT, by="domain", **kw), False),
    "likert.likert_by_reader": (lambda **kw: likert.likert_by_reader(LIKERT, **kw), False),
    "likert.likert_by_domain": (lambda **kw: likert.likert_by_domain(LIKERT, **kw), False),
    "localisation.afroc_fom": (
        lambda **kw: localisation.afroc_fom(LOC_MARKS, LOC_CASES, LOC_LESIONS, **kw),
        False,
    ),
    "localisation.afroc_reader_average": (
        lambda **kw: localisation.afroc_reader_average(LOC_MARKS, LOC_CASES, LOC_LESIONS, **kw),
        False,
    ),
    "likert_paired.paired_comparisons": (
        lambda **kw: likert_paired.paired_comparisons(PAIRED_LIKERT, n_boot=500, **kw),
        True,
    ),
    "reading_time.reading_time_model": (
        lambda **kw: reading_time.reading_time_model(TIMES, reference=1, treatment=2, **kw),
        True,
    ),
    "clustered_accuracy.clustered_accuracy": (
        lambda **kw: clustered_accuracy.clustered_accuracy(
            CLUSTERED.rename(columns={"rating": "category"}), n_boot=200, **kw
        ),
        False,
    ),
    "clustered_roc.clustered_aucs": (
        lambda **kw: clustered_roc.clustered_aucs(CLUSTERED, **kw),
        False,
    ),
    "clustered_roc.compare_clustered": (
        lambda **kw: clustered_roc.compare_clustered(CLUSTERED, **kw),
        True,
    ),
    "roc_summaries.partial_auc": (
        lambda **kw: roc_summaries.partial_auc(CONTINUOUS, low=0.5, n_boot=100, **kw),
        False,
    ),
    "roc_summaries.youden_threshold": (
        lambda **kw: roc_summaries.youden_threshold(CONTINUOUS, n_boot=100, **kw),
        False,
    ),
    "roc.reader_aucs": (lambda **kw: roc.reader_aucs(ROC, **kw), False),
    "text_metrics.text_metrics": (
        lambda **kw: text_metrics.text_metrics(TEXTS, n_boot=100, seed=1, **kw),
        False,
    ),
    "text_metrics.compare_text_metrics": (
        lambda **kw: text_metrics.compare_text_metrics(TEXTS, n_boot=100, seed=1, **kw),
        True,
    ),
    "findings.finding_performance": (
        lambda **kw: findings.finding_performance(FINDINGS, n_boot=100, seed=1, **kw),
        False,
    ),
    "findings.finding_f1_summary": (
        lambda **kw: findings.finding_f1_summary(FINDINGS, n_boot=100, seed=1, **kw),
        False,
    ),
    "findings.compare_finding_f1": (
        lambda **kw: findings.compare_finding_f1(FINDINGS, n_boot=100, seed=1, **kw),
        True,
    ),
    "roc.compare_readers": (lambda **kw: roc.compare_readers(ROC, **kw), True),
    "roc.compare_unpaired": (lambda **kw: roc.compare_unpaired(ROC, **kw), True),
    "roc.bootstrap_auc_ci": (
        lambda **kw: roc.bootstrap_auc_ci(ROC, n_boot=50, seed=1, **kw),
        False,
    ),
}

#: Tests without an interval of their statistic: statistic (the test statistic), p_value.
TESTS: dict[str, Call] = {
    "diagnostic.mcnemar_counts": lambda: diagnostic.mcnemar_counts(np.array([6]), np.array([1])),
    "diagnostic.mcnemar_test": lambda: diagnostic.mcnemar_test(
        DIAG, reader_a="A", reader_b="B", threshold=4
    ),
    # also an odds ratio per level, with odds_ratio_ci_low/high at ``confidence=``
    "diagnostic.attribute_by_truth": lambda: diagnostic.attribute_by_truth(
        ATTRIBUTE, attribute="density"
    ),
    "reading_time.reading_time_wilcoxon": lambda: reading_time.reading_time_wilcoxon(
        TIMES, reference=1, treatment=2
    ),
    "likert.kruskal_wallis": lambda: likert.kruskal_wallis(LIKERT),
    "clustered_roc.omnibus_auc_test": lambda: clustered_roc.omnibus_auc_test(
        DIAG_AI.rename(columns={"category": "rating"})
    ),
    "likert.dunn_test": lambda: likert.dunn_test(LIKERT),
    "likert_paired.friedman_test": lambda: likert_paired.friedman_test(PAIRED_LIKERT),
    # also the pooled estimate, with pooled_ci_low/high at ``confidence=``
    "heterogeneity.cochran_q": lambda: heterogeneity.cochran_q([0.8, 0.7], [0.05, 0.06]),
}

#: The documented exceptions (each docstring says why; so does docs/statistics.md).
EXCEPTIONS: dict[str, str] = {
    # not an estimate
    "agreement.interpret_kappa": "verbal bands of given coefficients (array of names)",
    "consensus.consensus": "the final category of each reader x case, no estimate",
    "diagnostic.confusion_counts": "counts tp, fp, tn, fn, no estimate",
    "multiplicity.check_p_adjust": "validates an option name",
    "multiplicity.adjust_p": "adjusted p values, same shape as its input (as R p.adjust)",
    # wide by design: one row per reader, five proportions each in <metric>, <metric>_ci_*
    "diagnostic.diagnostic_performance": "one row per reader, a column triple per metric",
    # array building blocks of the DataFrame functions
    "judgments.newcombe_paired_ci": "(difference, low, high) of one paired 2 x 2 table",
    "diagnostic.fisher_exact_2xc": "(p value, method) of a 2 x c table; used by attribute_by_truth",
    "roc.placements": "AUC and placement arrays; used by reader_aucs and compare_readers",
    "roc.delong_cov": "a covariance matrix",
    "clustered_roc.clustered_auc_cov": "(AUCs, clustered covariance matrix) arrays",
    "roc.paired_delong": "arrays of every pair; compare_readers is its DataFrame form",
    "roc.roc_curve": "curve points (threshold, fpr, tpr), no estimate",
    "text_metrics.text_metrics_with_tests": "(scores, tests) pair of contract DataFrames",
    "localisation.lesion_localisation": "marks classified as lesion or non-lesion localisations",
    "reading_time.reading_time_summary": "median and quartiles per reader x modality",
    "mrmc.fom_covariance": "(figures of merit, covariance matrix) arrays",
    "mrmc.or_analysis": "dict of the OR quantities; mrmc is its DataFrame form",
    # a bundle of DataFrames (test, comparisons, modalities, ...) with the confidence= keyword
    "mrmc.mrmc": "MRMCResult dataclass of DataFrames",
    "mrmc_split_plot.mrmc_split_plot": "MRMCResult dataclass of DataFrames (split-plot)",
    "mrmc_split_plot.reader_groups": "(readers, cases) index arrays of each reader group",
    # planning: power / sample size of a test at significance level alpha, not an estimate
    "power.or_power": "power at alpha=, no estimate",
    "power.or_sample_size": "number of cases at alpha=, no estimate",
    "sample_size.auc_precision_sample_size": "number of cases for a CI at confidence=",
    "sample_size.sens_spec_sample_size": "number of cases for a CI at confidence=",
    "sample_size.two_auc_sample_size": "number of cases at alpha=, no estimate",
    "sample_size.kappa_sample_size": "number of subjects at alpha=, no estimate",
    "sample_size.noninferiority_proportion_sample_size": "number of cases at alpha=",
    "sample_size.mrmc_power_grid": "power at alpha=, no estimate",
}


def _all_public() -> set[str]:
    return {
        f"{m.__name__.rsplit('.', 1)[1]}.{name}" for m in MODULES for name in public_functions(m)
    }


def test_every_public_function_is_classified_once() -> None:
    groups = [set(ESTIMATORS), set(TESTS), set(EXCEPTIONS)]
    assert not (groups[0] & groups[1]) and not (groups[0] & groups[2])
    assert not (groups[1] & groups[2])
    assert set().union(*groups) == _all_public()


def _function(qualname: str) -> Any:
    module, name = qualname.split(".")
    return getattr(next(m for m in MODULES if m.__name__.endswith(f".{module}")), name)


@pytest.mark.parametrize("qualname", sorted(ESTIMATORS))
def test_estimators_take_confidence_095_by_default(qualname: str) -> None:
    param = inspect.signature(_function(qualname)).parameters.get("confidence")
    assert param is not None and param.kind is inspect.Parameter.KEYWORD_ONLY
    assert param.default == 0.95
    for wrong in ("alpha", "level_ci", "conf_level", "conf", "ci_level"):
        assert wrong not in inspect.signature(_function(qualname)).parameters


@pytest.mark.parametrize("qualname", sorted(ESTIMATORS))
def test_estimators_return_statistic_and_its_interval(qualname: str) -> None:
    call, is_test = ESTIMATORS[qualname]
    out = call()
    assert isinstance(out, pd.DataFrame) and len(out) >= 1
    expected = {"statistic", "ci_low", "ci_high"} | ({"p_value"} if is_test else set())
    assert expected <= set(out.columns)
    for banned in ("estimate", "lower", "upper", "ci_lower", "ci_upper", "p", "pvalue"):
        assert banned not in out.columns
    finite = out.dropna(subset=["statistic", "ci_low", "ci_high"])
    assert len(finite) >= 1
    assert (finite["ci_low"] <= finite["statistic"] + 1e-12).all()
    assert (finite["statistic"] <= finite["ci_high"] + 1e-12).all()


@pytest.mark.parametrize("qualname", sorted(ESTIMATORS))
def test_a_lower_confidence_gives_a_narrower_interval(qualname: str) -> None:
    call, _ = ESTIMATORS[qualname]
    wide, narrow = call(confidence=0.95), call(confidence=0.5)
    width_wide = (wide["ci_high"] - wide["ci_low"]).to_numpy()
    width_narrow = (narrow["ci_high"] - narrow["ci_low"]).to_numpy()
    ok = np.isfinite(width_wide) & np.isfinite(width_narrow)
    assert (width_narrow[ok] <= width_wide[ok] + 1e-12).all()
    assert (width_narrow[ok] < width_wide[ok]).any()
    np.testing.assert_array_equal(wide["statistic"], narrow["statistic"])


@pytest.mark.parametrize("qualname", sorted(TESTS))
def test_tests_return_statistic_and_p_value(qualname: str) -> None:
    out = TESTS[qualname]()
    assert isinstance(out, pd.DataFrame) and len(out) >= 1
    assert {"statistic", "p_value"} <= set(out.columns)
    assert "p" not in out.columns and "pvalue" not in out.columns
    p = out["p_value"].dropna()
    assert len(p) >= 1 and ((p >= 0) & (p <= 1)).all()


@pytest.mark.parametrize("qualname", sorted(EXCEPTIONS))
def test_exceptions_say_why_in_their_docstring(qualname: str) -> None:
    doc = inspect.getdoc(_function(qualname)) or ""
    assert "Output contract" in doc, f"{qualname}: the docstring must say why it is an exception"
