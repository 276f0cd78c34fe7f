"""The analysis of a study and its ``results.json`` (contract in DESIGN.md).

:func:`run_analysis` takes the population loaded by :func:`analysis.selectors.study_data`
and applies the study's conventions (DESIGN.md, "Statistical conventions") with
:mod:`analysis.stats`:

* **One modality per reader table.** ROC, diagnostic accuracy, agreement and Likert use
  the readings (and scores) of one modality: the first (lowest) by default, or the one
  chosen (``AnalysisOptions.modality``, the dashboard's modality selector).
* **MRMC** compares modalities when there is more than one: OR/Hillis on the largest fully
  crossed part of the readings (modalities × readers × cases, see :func:`mrmc_design`);
  whatever is left out, or a design that is not fully crossed, gets a note
  (:class:`MRMCNote`, ``results.json`` ``mrmc_notes``).
* **Repeated runs.** Each reader's runs of a case are combined by the study's consensus
  rule (``majority-median``, ``median`` or ``first-run``) into its final category.
* **ROC rating.** A reader's continuous ``score`` when every one of its readings has one
  (the mean over runs), else its final category.
* **Diagnostic accuracy** at ``category >= positive_threshold``, Clopper–Pearson CIs.
* **Inter-observer agreement**: Cohen's κ of every reader against the study's reference
  reader on its final categories, on the full scale and on the positive call.
* **Intra-observer agreement**: for readers with ≥ 3 runs Fleiss' κ across runs (analytic
  Fleiss–Nee–Landis CI as SPSS, plus a seeded bootstrap CI); with exactly 2 runs Cohen's κ
  between the two runs (``method`` says which).
* **Likert**: mean (t CI) and median per reader × run and over all runs, per reader ×
  domain and domain group; Kruskal–Wallis across readers and Dunn (Bonferroni) per run,
  and over all runs when there are several.
* **Baseline** (Table 3): every case attribute by truth; categorical ones with χ² or
  Fisher's exact test and univariate logistic regression, numeric ones with mean ± SD and
  Welch's t test.

Nothing is rounded; :func:`results_json` turns NaN and infinities into ``null``.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from itertools import combinations
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats as sps

from analysis.selectors import (
    StudyData,
    attribute_is_categorical,
    distinct,
    in_order,
    modality_name,
)
from analysis.stats.agreement import cohen_kappa, cohen_kappa_table, fleiss_kappa
from analysis.stats.consensus import consensus
from analysis.stats.diagnostic import attribute_by_truth, diagnostic_performance
from analysis.stats.likert import dunn_test, kruskal_wallis, likert_by_domain, likert_by_reader
from analysis.stats.mrmc import MRMCResult, mrmc
from analysis.stats.roc import compare_readers, reader_aucs, roc_curve

Progress = Callable[[str], None]
logger = logging.getLogger(__name__)

METRICS: tuple[str, ...] = ("sensitivity", "specificity", "accuracy", "ppv", "npv")
MRMC_ANALYSES: tuple[str, ...] = ("RRRC", "FRRC", "RRFC")


@dataclass(frozen=True)
class AnalysisOptions:
    """What to analyse and how (the filters of the dashboard and of ``manage.py analyze``)."""

    split: str = "test"
    readers: tuple[str, ...] | None = None
    runs: tuple[int, ...] | None = None
    #: bootstrap resamples of the Fleiss κ CI (0: analytic CI only)
    fleiss_boot: int = 2000
    #: seed of every resampling (Fleiss bootstrap)
    seed: int = 1
    mrmc_covariance: str = "jackknife"
    #: modality of the per-reader tables and figures (None: the first one)
    modality: int | None = None

    def as_dict(self) -> dict[str, Any]:
        return {
            "split": self.split,
            "readers": list(self.readers) if self.readers is not None else None,
            "runs": list(self.runs) if self.runs is not None else None,
            "modality": self.modality,
            "fleiss_boot": self.fleiss_boot,
            "seed": self.seed,
            "mrmc_covariance": self.mrmc_covariance,
        }


@dataclass
class Analysis:
    """Every estimate of one analysis, as DataFrames in display order."""

    data: StudyData
    options: AnalysisOptions
    modalities: list[int] = field(default_factory=list)
    #: the modality of the per-reader results (None: no readings)
    modality: int | None = None
    #: reader_id, case_id, truth, category (final), n_runs, n_agree, decided_by, rating
    final: pd.DataFrame = field(default_factory=pd.DataFrame)
    #: reader_id -> "score" or "category" (what the ROC analysis used)
    rating_source: dict[str, str] = field(default_factory=dict)
    aucs: pd.DataFrame = field(default_factory=pd.DataFrame)
    auc_tests: pd.DataFrame = field(default_factory=pd.DataFrame)
    performance: pd.DataFrame = field(default_factory=pd.DataFrame)
    roc: pd.DataFrame = field(default_factory=pd.DataFrame)
    inter: pd.DataFrame = field(default_factory=pd.DataFrame)
    intra: pd.DataFrame = field(default_factory=pd.DataFrame)
    likert_by_reader: pd.DataFrame = field(default_factory=pd.DataFrame)
    likert_by_domain: pd.DataFrame = field(default_factory=pd.DataFrame)
    kruskal: pd.DataFrame = field(default_factory=pd.DataFrame)
    dunn: pd.DataFrame = field(default_factory=pd.DataFrame)
    baseline: pd.DataFrame = field(default_factory=pd.DataFrame)
    mrmc: list[MRMCResult] = field(default_factory=list)
    #: the fully crossed part of the readings that ``mrmc`` analysed
    mrmc_design: MRMCDesign | None = None
    #: what the MRMC analysis left out or could not do (``results.json`` ``mrmc_notes``)
    mrmc_notes: list[MRMCNote] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    @property
    def reader_order(self) -> list[str]:
        present = distinct(self.final["reader_id"]) if len(self.final) else set()
        present |= distinct(self.data.scores["reader_id"]) if len(self.data.scores) else set()
        return [r for r in self.data.reader_order if r in present]

    @property
    def n_cases(self) -> int:
        return int(self.final["case_id"].nunique()) if len(self.final) else 0

    @property
    def n_positive(self) -> int:
        if not len(self.final):
            return 0
        return int(self.final.drop_duplicates("case_id")["truth"].sum())


#: The steps of :func:`run_analysis`, for progress bars.
STEPS: tuple[str, ...] = (
    "consensus of runs",
    "ROC and DeLong",
    "diagnostic accuracy",
    "agreement",
    "Likert",
    "MRMC",
    "baseline",
)


def run_analysis(
    data: StudyData, options: AnalysisOptions | None = None, *, progress: Progress | None = None
) -> Analysis:
    """Compute every estimate of the study's analysis (see the module docstring)."""
    options = options or AnalysisOptions(split=data.split)
    step = progress or (lambda name: None)
    out = Analysis(data=data, options=options)
    readings = data.readings
    out.modalities = sorted(int(m) for m in readings["modality"].unique()) if len(readings) else []
    if options.modality is not None and options.modality not in out.modalities:
        shown = ", ".join(str(m) for m in out.modalities) or "none"
        raise ValueError(
            f"modality: the selection has no readings in modality {options.modality} "
            f"(modalities: {shown})"
        )
    out.modality = (
        options.modality if options.modality is not None else next(iter(out.modalities), None)
    )
    first = readings[readings["modality"] == out.modality] if out.modalities else readings
    if out.modality is not None and len(data.scores):
        # the Likert scores of the same modality's outputs
        data = _with_scores(data, data.scores[data.scores["modality"] == out.modality])
        out.data = data

    step(STEPS[0])
    out.final, out.rating_source = _final_readings(first, data.consensus)
    order = data.reader_order

    step(STEPS[1])
    out.aucs, out.roc = _aucs(out.final, order, out.notes)
    out.auc_tests = _auc_tests(out.final, out.aucs, order, out.notes)

    step(STEPS[2])
    if len(out.final):
        perf = diagnostic_performance(
            out.final,
            truth="truth",
            category="category",
            reader="reader_id",
            case="case_id",
            threshold=data.threshold,
        )
        out.performance = _sort_by_order(perf, "reader", order)

    step(STEPS[3])
    out.inter = _inter_agreement(out.final, data, order, out.notes)
    out.intra = _intra_agreement(first, data, options, order, out.notes)

    step(STEPS[4])
    _likert(out, order)

    step(STEPS[5])
    if len(out.modalities) > 1:
        out.mrmc, out.mrmc_design, out.mrmc_notes = _mrmc(readings, data, options)

    step(STEPS[6])
    out.baseline = _baseline(data, out.notes)
    return out


# ---------------------------------------------------------------------------------------
# Steps
# ---------------------------------------------------------------------------------------


def _with_scores(data: StudyData, scores: pd.DataFrame) -> StudyData:
    return replace(data, scores=scores.reset_index(drop=True))


def _sort_by_order(frame: pd.DataFrame, column: str, order: Sequence[str]) -> pd.DataFrame:
    """Rows of ``frame`` sorted by the position of ``column`` in ``order`` (stable)."""
    if frame.empty:
        return frame.reset_index(drop=True)
    rank = {r: i for i, r in enumerate(order)}
    key = frame[column].map(lambda r: rank.get(r, len(rank)))
    return (
        frame.assign(_k=key)
        .sort_values("_k", kind="stable")
        .drop(columns="_k")
        .reset_index(drop=True)
    )


def _final_readings(readings: pd.DataFrame, rule: str) -> tuple[pd.DataFrame, dict[str, str]]:
    """One row per reader × case: the consensus category and the ROC rating."""
    columns = [
        "reader_id",
        "case_id",
        "truth",
        "category",
        "n_runs",
        "n_agree",
        "decided_by",
        "rating",
    ]
    if readings.empty:
        return pd.DataFrame(columns=columns), {}
    if rule == "first-run":
        ordered = readings.sort_values(["reader_id", "case_id", "run"], kind="stable")
        n_runs = ordered.groupby(["reader_id", "case_id"], sort=False)["run"].transform("size")
        final = ordered.assign(n_runs=n_runs).drop_duplicates(["reader_id", "case_id"])
        final = final.assign(n_agree=1, decided_by="first-run")[
            ["reader_id", "case_id", "category", "n_runs", "n_agree", "decided_by"]
        ]
    else:
        final = consensus(
            readings,
            reader="reader_id",
            case="case_id",
            run="run",
            category="category",
            rule=rule,  # type: ignore[arg-type]
        ).rename(columns={"reader": "reader_id", "case": "case_id"})
        final = final[["reader_id", "case_id", "category", "n_runs", "n_agree", "decided_by"]]
    truth = readings.drop_duplicates("case_id").set_index("case_id")["truth"]
    final = final.assign(truth=final["case_id"].map(truth).astype(np.int64))

    missing_score = readings["score"].isna().groupby(readings["reader_id"]).any()
    source = {str(r): ("category" if bool(m) else "score") for r, m in missing_score.items()}
    mean_score = readings.groupby(["reader_id", "case_id"], sort=False)["score"].mean()
    key = pd.MultiIndex.from_frame(final[["reader_id", "case_id"]])
    uses_score = final["reader_id"].map(source).eq("score").to_numpy()
    rating = np.where(
        uses_score,
        mean_score.reindex(key).to_numpy(dtype=float),
        final["category"].to_numpy(dtype=float),
    )
    final = final.assign(rating=rating)[columns].reset_index(drop=True)
    return final, source


def _aucs(
    final: pd.DataFrame, order: Sequence[str], notes: list[str]
) -> tuple[pd.DataFrame, pd.DataFrame]:
    if final.empty:
        return pd.DataFrame(), pd.DataFrame()
    classes = final.groupby("reader_id")["truth"].agg(["min", "max"])
    ok = classes.index[(classes["min"] == 0) & (classes["max"] == 1)].tolist()
    for reader in sorted(set(classes.index) - set(ok)):
        notes.append(f"ROC: reader {reader} has read only one class of cases; no AUC.")
    if not ok:
        return pd.DataFrame(), pd.DataFrame()
    usable = final[final["reader_id"].isin(ok)]
    aucs = reader_aucs(usable, truth="truth", rating="rating", reader="reader_id", case="case_id")
    roc = roc_curve(usable, truth="truth", rating="rating", reader="reader_id", case="case_id")
    return _sort_by_order(aucs, "reader", order), _sort_by_order(roc, "reader", order)


def _auc_tests(
    final: pd.DataFrame, aucs: pd.DataFrame, order: Sequence[str], notes: list[str]
) -> pd.DataFrame:
    columns = [
        "reader_a", "reader_b", "n_cases", "auc_a", "auc_b", "diff", "se", "z", "p_value",
        "ci_low", "ci_high",
    ]  # fmt: skip
    if aucs.empty or len(aucs) < 2:
        return pd.DataFrame(columns=columns)
    readers = in_order(order, aucs["reader"])
    usable = final[final["reader_id"].isin(readers)]
    wide = usable.pivot(index="case_id", columns="reader_id", values="rating")
    truth = usable.drop_duplicates("case_id").set_index("case_id")["truth"]
    rows = []
    if not wide.isna().to_numpy().any():
        tests = compare_readers(
            usable, truth="truth", rating="rating", reader="reader_id", case="case_id"
        )
        tests["n_cases"] = len(wide)
        rows = tests.to_dict("records")
    else:
        notes.append(
            "DeLong tests: readers have read different cases; each pair is compared on the "
            "cases both have read."
        )
        for a, b in combinations(sorted(readers), 2):
            both = wide[[a, b]].dropna()
            t = truth.reindex(both.index)
            row: dict[str, Any] = {"reader_a": a, "reader_b": b, "n_cases": len(both)}
            if t.nunique() == 2 and min((t == 1).sum(), (t == 0).sum()) >= 1:
                long = both.stack().rename("rating").reset_index()
                long.columns = ["case_id", "reader_id", "rating"]
                long["truth"] = long["case_id"].map(t).astype(np.int64)
                res = compare_readers(
                    long, truth="truth", rating="rating", reader="reader_id", case="case_id"
                )
                row.update(res.iloc[0].to_dict())
            rows.append(row)
    out = pd.DataFrame(rows).reindex(columns=columns)
    # Display order: pairs follow the readers' order, reader_a before reader_b.
    rank = {r: i for i, r in enumerate(order)}
    swap = out["reader_a"].map(rank) > out["reader_b"].map(rank)
    if swap.any():
        flipped = out.loc[swap].copy()
        flipped[["reader_a", "reader_b"]] = out.loc[swap, ["reader_b", "reader_a"]].to_numpy()
        flipped[["auc_a", "auc_b"]] = out.loc[swap, ["auc_b", "auc_a"]].to_numpy()
        flipped["diff"] = -out.loc[swap, "diff"]
        flipped["z"] = -out.loc[swap, "z"]
        flipped["ci_low"] = -out.loc[swap, "ci_high"]
        flipped["ci_high"] = -out.loc[swap, "ci_low"]
        out.loc[swap] = flipped
    out = out.assign(_a=out["reader_a"].map(rank), _b=out["reader_b"].map(rank)).sort_values(
        ["_a", "_b"], kind="stable"
    )
    return out.drop(columns=["_a", "_b"]).reset_index(drop=True)


def _inter_agreement(
    final: pd.DataFrame, data: StudyData, order: Sequence[str], notes: list[str]
) -> pd.DataFrame:
    ref = data.reference_reader
    if final.empty:
        return pd.DataFrame()
    if ref is None:
        notes.append("Inter-observer agreement: the study has no reference reader.")
        return pd.DataFrame()
    if ref not in distinct(final["reader_id"]):
        notes.append(
            f"Inter-observer agreement: the reference reader {ref} is not in the selection."
        )
        return pd.DataFrame()
    if final["reader_id"].nunique() < 2:
        return pd.DataFrame()
    frames = []
    for scale_kw in ({"categories": data.categories}, {"threshold": data.threshold}):
        table = cohen_kappa_table(
            final,
            reference=ref,
            reader="reader_id",
            case="case_id",
            category="category",
            nan_policy="omit",
            **scale_kw,  # type: ignore[arg-type]
        )
        frames.append(table)
    out = pd.concat(frames, ignore_index=True)
    out["_scale"] = out["scale"].map({"category": 0, "binary": 1})
    out = _sort_by_order(out.sort_values("_scale", kind="stable"), "reader_a", order)
    return out.sort_values("_scale", kind="stable").drop(columns="_scale").reset_index(drop=True)


def _intra_agreement(
    readings: pd.DataFrame,
    data: StudyData,
    options: AnalysisOptions,
    order: Sequence[str],
    notes: list[str],
) -> pd.DataFrame:
    columns = [
        "reader", "scale", "method", "n_runs", "n_cases", "kappa", "se", "ci_low", "ci_high",
        "boot_ci_low", "boot_ci_high", "interpretation",
    ]  # fmt: skip
    if readings.empty:
        return pd.DataFrame(columns=columns)
    n_runs = readings.groupby("reader_id")["run"].nunique()
    fleiss_readers = n_runs.index[n_runs >= 3].tolist()
    cohen_readers = n_runs.index[n_runs == 2].tolist()
    rows: list[dict[str, Any]] = []
    scales: tuple[dict[str, Any], ...] = (
        {"categories": data.categories},
        {"threshold": data.threshold},
    )
    if fleiss_readers:
        sub = readings[readings["reader_id"].isin(fleiss_readers)]
        for scale_kw in scales:
            table = fleiss_kappa(
                sub,
                reader="reader_id",
                run="run",
                case="case_id",
                category="category",
                n_boot=options.fleiss_boot,
                seed=options.seed,
                nan_policy="omit",
                **scale_kw,
            )
            for rec in table.to_dict("records"):
                rows.append(
                    {
                        **rec,
                        "method": "fleiss",
                        "n_runs": int(n_runs[rec["reader"]]),
                        "n_cases": int(rec["n_cases"]),
                    }
                )
    for reader in cohen_readers:
        sub = readings[readings["reader_id"] == reader]
        run_a, run_b = sorted(sub["run"].unique())
        notes.append(
            f"Intra-observer agreement of {reader}: two runs, so Cohen's κ between run "
            f"{run_a} and run {run_b} (Fleiss' κ needs at least three)."
        )
        for scale_kw in scales:
            res = cohen_kappa(
                sub,
                reader_a=run_a,
                reader_b=run_b,
                reader="run",
                case="case_id",
                category="category",
                nan_policy="omit",
                **scale_kw,
            ).iloc[0]
            rows.append(
                {
                    "reader": reader,
                    "scale": res["scale"],
                    "method": "cohen",
                    "n_runs": 2,
                    "n_cases": int(res["n"]),
                    "kappa": res["kappa"],
                    "se": res["se"],
                    "ci_low": res["ci_low"],
                    "ci_high": res["ci_high"],
                    "boot_ci_low": np.nan,
                    "boot_ci_high": np.nan,
                    "interpretation": res["interpretation"],
                }
            )
    out = pd.DataFrame(rows).reindex(columns=columns)
    if out.empty:
        return out
    out["_scale"] = out["scale"].map({"category": 0, "binary": 1})
    out = _sort_by_order(out, "reader", order)
    return out.sort_values("_scale", kind="stable").drop(columns="_scale").reset_index(drop=True)


def _likert(out: Analysis, order: Sequence[str]) -> None:
    data = out.data
    scores = data.scores
    if scores.empty:
        return
    low, high = data.likert_min, data.likert_max
    by_reader = likert_by_reader(
        scores, reader="reader_id", run="run", score="score", low=low, high=high
    )
    out.likert_by_reader = _sort_by_order(by_reader, "reader", order)
    groups = dict(zip(data.domains["domain"], data.domains["group"], strict=True))
    by_domain = likert_by_domain(
        scores,
        reader="reader_id",
        domain="domain",
        groups=groups,
        score="score",
        low=low,
        high=high,
    )
    domain_rank = {d: i for i, d in enumerate(data.domains["domain"])}
    group_rank = {g: i for i, g in enumerate(dict.fromkeys(data.domains["group"]))}
    by_domain = by_domain.assign(
        _g=by_domain["group"].map(group_rank),
        _d=by_domain["domain"].map(lambda d: domain_rank.get(d, -1) if d is not None else 10**6),
    ).sort_values(["_g", "_d"], kind="stable")
    out.likert_by_domain = _sort_by_order(by_domain.drop(columns=["_g", "_d"]), "reader", order)

    runs = sorted(int(r) for r in scores["run"].unique())
    families: list[tuple[int | None, pd.DataFrame]] = [
        (r, scores[scores["run"] == r]) for r in runs
    ]
    if len(runs) > 1:
        families.append((None, scores))
    kw_rows, dunn_rows = [], []
    for run, sub in families:
        if sub["reader_id"].nunique() < 2:
            out.notes.append(
                f"Likert{'' if run is None else f' run {run}'}: fewer than two readers were "
                "rated; no Kruskal–Wallis or Dunn test."
            )
            continue
        kw = kruskal_wallis(sub, reader="reader_id", run=None, score="score", low=low, high=high)
        dn = dunn_test(sub, reader="reader_id", run=None, score="score", low=low, high=high)
        kw_rows.append(kw.assign(run=run))
        dunn_rows.append(dn.assign(run=run))
    if kw_rows:
        out.kruskal = pd.concat(kw_rows, ignore_index=True)
        dunn = pd.concat(dunn_rows, ignore_index=True)
        rank = {r: i for i, r in enumerate(order)}
        swap = dunn["reader_a"].map(rank) > dunn["reader_b"].map(rank)
        if swap.any():
            cols = ["reader_a", "reader_b", "n_a", "n_b", "mean_rank_a", "mean_rank_b"]
            swapped = ["reader_b", "reader_a", "n_b", "n_a", "mean_rank_b", "mean_rank_a"]
            dunn.loc[swap, cols] = dunn.loc[swap, swapped].to_numpy()
            dunn.loc[swap, "z"] = -dunn.loc[swap, "z"]
        run_key = dunn["run"].map(lambda r: 10**9 if r is None or pd.isna(r) else r)
        dunn = dunn.assign(
            _r=run_key, _a=dunn["reader_a"].map(rank), _b=dunn["reader_b"].map(rank)
        ).sort_values(["_r", "_a", "_b"], kind="stable")
        out.dunn = dunn.drop(columns=["_r", "_a", "_b"]).reset_index(drop=True)


# ---------------------------------------------------------------------------------------
# MRMC
# ---------------------------------------------------------------------------------------

#: The codes of the MRMC notes (``results.json`` ``mrmc_notes[*].code``), each defined once
#: here with what it means.
MRMC_NOTE_CODES: dict[str, str] = {
    "mrmc_not_crossed": "no fully crossed design of two modalities, two readers and cases of "
    "both classes: MRMC not computed",
    "mrmc_modality_left_out": "a modality that is not fully crossed with the others is left out",
    "mrmc_readers_left_out": "readers without readings of the compared cases in every compared "
    "modality are left out",
    "mrmc_cases_left_out": "cases not read by every compared reader in every compared modality "
    "are left out",
    "mrmc_no_test": "an OR/Hillis analysis has no test: its error term is zero or undefined",
}
#: Fewest positive and negative cases of an MRMC design (the jackknife needs two of each).
MRMC_MIN_CLASS = 2
#: Up to this many modalities every subset is tried as the MRMC design (else only all of
#: them and each pair).
MRMC_MAX_SUBSETS = 8
#: What each analysis treats as random, in the words of the notes.
MRMC_RANDOM: dict[str, str] = {
    "RRRC": "readers and cases treated as random (the result generalises to other readers "
    "and cases)",
    "FRRC": "readers fixed, cases random (the result holds for these readers only)",
    "RRFC": "readers random, cases fixed (the result holds for these cases only)",
}


@dataclass(frozen=True)
class MRMCNote:
    """A note of the MRMC analysis: ``code`` from :data:`MRMC_NOTE_CODES`, a plain-language
    ``message``, and the reader or modality it is about (if one)."""

    code: str
    message: str
    reader: str | None = None
    modality: int | None = None

    def __post_init__(self) -> None:
        if self.code not in MRMC_NOTE_CODES:
            raise ValueError(f"code: unknown MRMC note code {self.code!r}")

    def as_dict(self) -> dict[str, Any]:
        return {
            "code": self.code,
            "reader": self.reader,
            "modality": self.modality,
            "message": self.message,
        }


@dataclass(frozen=True)
class MRMCDesign:
    """The fully crossed part of the readings that the MRMC analysis uses."""

    modalities: list[int]
    readers: list[str]
    cases: list[str]
    n_positive: int


def _listing(items: Sequence[str], limit: int = 8) -> str:
    shown = ", ".join(items[:limit])
    return shown + (f" and {len(items) - limit} more" if len(items) > limit else "")


def _names(modalities: Sequence[int], labels: dict[int, str]) -> str:
    names = [modality_name(m, labels) for m in modalities]
    return names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]


def _modality_subsets(n: int) -> list[tuple[int, ...]]:
    """Index subsets of ``n`` modalities tried as the design, larger first."""
    if n <= MRMC_MAX_SUBSETS:
        return [c for k in range(n, 1, -1) for c in combinations(range(n), k)]
    return [tuple(range(n)), *combinations(range(n), 2)]


def _best_readers(
    ok: np.ndarray, active: np.ndarray, truth: np.ndarray, n_mod: int
) -> tuple[int, np.ndarray, np.ndarray]:
    """Greedy: drop readers while that raises the number of crossed cells.

    ``ok[r, c]``: reader r read case c in every modality of the subset. Returns the score
    (modalities × readers × crossed cases; −1 when there are fewer than two readers or
    fewer than :data:`MRMC_MIN_CLASS` cases of a class), the readers kept and the cases.
    """

    def score(act: np.ndarray) -> tuple[int, np.ndarray]:
        k = int(act.sum())
        crossed = ok[act].all(axis=0) if k else np.zeros(ok.shape[1], dtype=bool)
        pos = int(truth[crossed].sum())
        neg = int(crossed.sum()) - pos
        if k < 2 or pos < MRMC_MIN_CLASS or neg < MRMC_MIN_CLASS:
            return -1, crossed
        return n_mod * k * int(crossed.sum()), crossed

    active = active.copy()
    current, crossed = score(active)
    while int(active.sum()) > 1:
        k = int(active.sum())
        idx = np.flatnonzero(active)
        counts = ok[active].sum(axis=0)  # readers of the active set who read each case
        # without reader j, a case is crossed when the other k - 1 readers all read it
        without = (counts[None, :] - ok[idx]) == (k - 1)
        n_cases = without.sum(axis=1)
        pos = without.astype(np.int64) @ truth.astype(np.int64)
        valid = (k - 1 >= 2) & (pos >= MRMC_MIN_CLASS) & (n_cases - pos >= MRMC_MIN_CLASS)
        scores = np.where(valid, n_mod * (k - 1) * n_cases, -1)
        # the best removal; while the design is not valid yet, the one keeping most cases;
        # ties: the reader latest in order
        keys = [
            (int(v), int(n) if current < 0 else 0) for v, n in zip(scores, n_cases, strict=True)
        ]
        best = max(range(len(idx)), key=lambda i: (keys[i], i))
        if current >= 0 and scores[best] <= current:
            break
        active[idx[best]] = False
        current, crossed = score(active)
    return current, active, crossed


def mrmc_design(
    long: pd.DataFrame, *, order: Sequence[str], labels: dict[int, str]
) -> tuple[MRMCDesign | None, list[MRMCNote]]:
    """The largest fully crossed part of the final readings, and notes on what is left out.

    Parameters
    ----------
    long : DataFrame
        One row per modality × reader × case read: ``modality, reader_id, case_id, truth``.
    order : list of str
        Reader display order.
    labels : dict of int to str
        Modality labels for the notes.

    Returns
    -------
    MRMCDesign or None, list of MRMCNote
        The design maximises the number of modality × reader × case cells over every
        subset of at least two modalities (for each, readers are dropped greedily while
        that adds cells), with at least two readers and :data:`MRMC_MIN_CLASS` positive
        and negative cases; ties go to more modalities, then to lower modality numbers.
        ``None`` (with a ``mrmc_not_crossed`` note) when there is no such design.
    """
    mods = sorted(int(m) for m in long["modality"].unique())
    readers = in_order(order, long["reader_id"])
    readers += sorted(distinct(long["reader_id"]) - set(readers))
    cases = pd.Index(long["case_id"].drop_duplicates())
    m_i = pd.Index(mods).get_indexer(long["modality"].astype(int))
    r_i = pd.Index(readers).get_indexer(long["reader_id"])
    c_i = cases.get_indexer(long["case_id"])
    present = np.zeros((len(mods), len(readers), len(cases)), dtype=bool)
    present[m_i, r_i, c_i] = True
    truth = np.zeros(len(cases), dtype=np.int64)
    truth[c_i] = long["truth"].to_numpy(dtype=np.int64)

    best: tuple[tuple[Any, ...], tuple[int, ...], np.ndarray, np.ndarray] | None = None
    for subset in _modality_subsets(len(mods)):
        p = present[list(subset)]
        ok = p.all(axis=0)
        active = p.any(axis=2).all(axis=0)
        value, kept, crossed = _best_readers(ok, active, truth, len(subset))
        if value < 0:
            continue
        key = (value, len(subset), tuple(-mods[i] for i in subset))
        if best is None or key > best[0]:
            best = (key, subset, kept, crossed)

    if best is None:
        per_modality = []
        for i, m in enumerate(mods):
            n_r = int(present[i].any(axis=1).sum())
            n_c = int(present[i].any(axis=0).sum())
            per_modality.append(
                f"{modality_name(m, labels)}: {n_r} reader{'s' * (n_r != 1)}, "
                f"{n_c} case{'s' * (n_c != 1)}"
            )
        return None, [
            MRMCNote(
                "mrmc_not_crossed",
                "MRMC: not computed, because the design is not fully crossed. The OR/Hillis "
                "analysis needs at least two modalities read by the same two or more readers "
                f"on the same cases (at least {MRMC_MIN_CLASS} positive and "
                f"{MRMC_MIN_CLASS} negative)."
                + (f" Read so far: {'; '.join(per_modality)}." if per_modality else ""),
            )
        ]

    _, subset, kept, crossed = best
    chosen = [mods[i] for i in subset]
    notes: list[MRMCNote] = []
    for i, m in enumerate(mods):
        if i in subset:
            continue
        who = [readers[j] for j in np.flatnonzero(present[i].any(axis=1))]
        n_c = int(present[i].any(axis=0).sum())
        notes.append(
            MRMCNote(
                "mrmc_modality_left_out",
                f"MRMC: {modality_name(m, labels)} is left out because it is not fully "
                f"crossed with the others: {len(who)} reader{'s' * (len(who) != 1)} "
                f"({_listing(who)}) read {n_c} case{'s' * (n_c != 1)} in it, and every reader "
                f"must read every case. The analysis compares {_names(chosen, labels)}.",
                modality=m,
            )
        )
    p = present[list(subset)]
    missing: dict[tuple[int, ...], list[str]] = {}
    sparse: list[str] = []
    for j, reader in enumerate(readers):
        if kept[j]:
            continue
        absent = tuple(chosen[k] for k in range(len(subset)) if not p[k, j].any())
        if absent:
            missing.setdefault(absent, []).append(reader)
        else:
            sparse.append(reader)
    for absent, who in missing.items():
        notes.append(
            MRMCNote(
                "mrmc_readers_left_out",
                f"MRMC: {len(who)} reader{'s' * (len(who) != 1)} without readings in "
                f"{_names(absent, labels)} {'are' if len(who) != 1 else 'is'} left out: "
                f"{_listing(who)}.",
                reader=who[0] if len(who) == 1 else None,
            )
        )
    if sparse:
        notes.append(
            MRMCNote(
                "mrmc_readers_left_out",
                f"MRMC: {len(sparse)} reader{'s' * (len(sparse) != 1)} left out because "
                f"{'they' if len(sparse) != 1 else 'it'} did not read enough of the same cases "
                f"in every compared modality: {_listing(sparse)}.",
                reader=sparse[0] if len(sparse) == 1 else None,
            )
        )
    kept_readers = [readers[j] for j in np.flatnonzero(kept)]
    touched = p[:, kept].any(axis=(0, 1))
    n_left = int((touched & ~crossed).sum())
    if n_left:
        notes.append(
            MRMCNote(
                "mrmc_cases_left_out",
                f"MRMC: {n_left} of {int(touched.sum())} cases are left out because not every "
                f"compared reader ({_listing(kept_readers)}) read them in every compared "
                "modality (the analysis needs a fully crossed design).",
            )
        )
    design = MRMCDesign(
        modalities=chosen,
        readers=kept_readers,
        cases=cases[crossed].tolist(),
        n_positive=int(truth[crossed].sum()),
    )
    return design, notes


def _mrmc(
    readings: pd.DataFrame, data: StudyData, options: AnalysisOptions
) -> tuple[list[MRMCResult], MRMCDesign | None, list[MRMCNote]]:
    frames = []
    for modality, sub in readings.groupby("modality", sort=True):
        final, _ = _final_readings(sub, data.consensus)
        frames.append(final.assign(modality=int(modality)))
    long = pd.concat(frames, ignore_index=True)
    # A reader uses its scores only if every reading in every modality has one.
    missing = readings["score"].isna().groupby(readings["reader_id"]).any()
    uses_category = long["reader_id"].map(missing).astype(bool)
    long.loc[uses_category, "rating"] = long.loc[uses_category, "category"].astype(float)
    long = long[long["rating"].notna()]
    labels = data.modality_labels
    design, notes = mrmc_design(long, order=data.reader_order, labels=labels)
    if design is None:
        return [], None, notes
    long = long[
        long["modality"].isin(design.modalities)
        & long["reader_id"].isin(design.readers)
        & long["case_id"].isin(design.cases)
    ]
    results = []
    for analysis in MRMC_ANALYSES:
        try:
            res = mrmc(
                long,
                truth="truth",
                rating="rating",
                reader="reader_id",
                modality="modality",
                case="case_id",
                analysis=analysis,  # type: ignore[arg-type]
                covariance=options.mrmc_covariance,  # type: ignore[arg-type]
            )
        except ValueError:
            logger.exception("MRMC %s failed on a fully crossed design", analysis)
            notes.append(
                MRMCNote(
                    "mrmc_no_test",
                    f"MRMC {analysis}: could not be computed on this design.",
                )
            )
            continue
        if _no_error_term(res):
            notes.append(
                MRMCNote(
                    "mrmc_no_test",
                    f"MRMC {analysis}: no test, because its error term is zero (for example, "
                    "every reader's AUC differs between the modalities by exactly the same "
                    "amount, or not at all); the AUCs are shown, F, p and the CIs of the "
                    "differences are left empty.",
                )
            )
            res = _without_test(res)
        res, flat = _without_flat_reader_tests(res)
        if analysis == MRMC_ANALYSES[0]:
            for reader in flat:
                notes.append(
                    MRMCNote(
                        "mrmc_no_test",
                        f"MRMC: reader {reader}'s change of AUC between the modalities has no "
                        "variance (its ratings order the cases the same way in every modality), so it "
                        "has no per-reader test or CI.",
                        reader=reader,
                    )
                )
        results.append(res)
    return results, design, notes


#: An error term at most this share of the largest variance in the analysis is zero (what
#: is left is rounding noise, about 1e-30 for AUC variances of 1e-3).
MRMC_ZERO_ERROR = 1e-10


def _no_error_term(res: MRMCResult) -> bool:
    """Whether the F test of ``res`` has a zero (or undefined) error term."""
    error = float(res.test["error_term"].iloc[0])
    scale = max(
        float(res.components.var_error),
        *(float(v) for v in res.anova["ms"]),
        float(np.max(np.abs(np.diag(res.covariance_matrix)), initial=0.0)),
    )
    return not math.isfinite(error) or error <= MRMC_ZERO_ERROR * scale


def _without_test(res: MRMCResult) -> MRMCResult:
    """``res`` with F, p and the difference CIs as NaN (their error term is zero)."""
    test = res.test.assign(f=np.nan, p_value=np.nan)
    comparisons = res.comparisons.assign(
        statistic=np.nan, p_value=np.nan, ci_low=np.nan, ci_high=np.nan
    )
    return replace(res, test=test, comparisons=comparisons)


def _without_flat_reader_tests(res: MRMCResult) -> tuple[MRMCResult, list[str]]:
    """``res`` without the per-reader tests whose difference has a zero standard error."""
    rc = res.reader_comparisons
    scale = float(np.max(np.abs(np.diag(res.covariance_matrix)), initial=0.0))
    flat = ~(rc["se"] ** 2 > MRMC_ZERO_ERROR * scale)
    if not flat.any():
        return res, []
    rc = rc.copy()
    rc.loc[flat, ["z", "p_value", "ci_low", "ci_high"]] = np.nan
    readers = list(dict.fromkeys(rc.loc[flat, "reader"].tolist()))
    return replace(res, reader_comparisons=rc), readers


def _fmt3(value: float) -> str:
    return f"{value:.3f}".replace("-", "−")


def _fmt_p(p: float) -> str:
    return "p < 0.001" if p < 0.001 else f"p = {p:.3f}"


def mrmc_summary(result: MRMCResult, labels: dict[int, str]) -> list[str]:
    """Plain-language sentences of an MRMC result: one per modality pair.

    The change is the later modality minus the earlier one (``modality_b − modality_a``,
    the negated ``diff`` of the engine), e.g. "Modality 2 (AI-assisted) raised the average
    AUC over modality 1 (unaided) by 0.078 (95% CI 0.014 to 0.142), p = 0.033, from 0.712
    to 0.790; readers and cases treated as random (...)".
    """
    level = f"{round(result.confidence * 100):d}%"
    alpha = f"{round((1 - result.confidence) * 100):d}%"
    means = dict(zip(result.modalities["modality"], result.modalities["auc"], strict=True))
    out = []
    for c in result.comparisons.itertuples(index=False):
        a, b = int(c.modality_a), int(c.modality_b)
        change, low, high = -float(c.diff), -float(c.ci_high), -float(c.ci_low)
        p = float(c.p_value)
        name_b = modality_name(b, labels)
        name_b = name_b[0].upper() + name_b[1:]
        if not all(math.isfinite(v) for v in (change, low, high, p)):
            out.append(
                f"{name_b} vs {modality_name(a, labels)}: average AUC {_fmt3(means[b])} vs "
                f"{_fmt3(means[a])}; no test ({result.analysis}: the error term is zero or "
                "undefined)."
            )
            continue
        verb = "raised" if change >= 0 else "lowered"
        size, lo, hi = (change, low, high) if change >= 0 else (-change, -high, -low)
        verdict = (
            f"significant at the {alpha} level"
            if p < 1 - result.confidence
            else f"not significant at the {alpha} level (the CI includes 0)"
        )
        out.append(
            f"{name_b} {verb} the average AUC over {modality_name(a, labels)} by "
            f"{_fmt3(size)} ({level} CI {_fmt3(lo)} to {_fmt3(hi)}), {_fmt_p(p)}, from "
            f"{_fmt3(means[a])} to {_fmt3(means[b])}: {verdict}; {MRMC_RANDOM[result.analysis]}."
        )
    return out


def mrmc_reader_summary(result: MRMCResult, labels: dict[int, str]) -> list[str]:
    """One sentence per modality pair: each reader's change of AUC (cases random)."""
    out = []
    level = f"{round(result.confidence * 100):d}%"
    rc = result.reader_comparisons
    for (a, b), part in rc.groupby(["modality_a", "modality_b"], sort=False):
        shown = [
            f"{r.reader} {'+' if -r.diff >= 0 else '−'}{abs(float(r.diff)):.3f} "
            + (
                f"({level} CI {_fmt3(-float(r.ci_high))} to {_fmt3(-float(r.ci_low))})"
                if math.isfinite(float(r.ci_low)) and math.isfinite(float(r.ci_high))
                else "(no test)"
            )
            for r in part.itertuples(index=False)
        ]
        largest = part.loc[(-part["diff"]).abs().idxmax(), "reader"]
        out.append(
            f"Change of AUC from {modality_name(int(a), labels)} to "
            f"{modality_name(int(b), labels)} per reader (cases random): "
            + "; ".join(shown)
            + f". The largest change is {largest}'s."
        )
    return out


def note_messages(analysis: Analysis) -> list[str]:
    """Every note of ``analysis`` as text: the general notes, then the MRMC notes."""
    return [*analysis.notes, *(n.message for n in analysis.mrmc_notes)]


def _baseline(data: StudyData, notes: list[str]) -> pd.DataFrame:
    cases = data.cases
    rows: list[pd.DataFrame] = []
    if cases.empty or cases["truth"].nunique() < 2:
        return pd.DataFrame()
    for name in data.attributes:
        col = f"attr:{name}"
        values = cases[col]
        if values.notna().sum() == 0:
            continue
        if attribute_is_categorical(values):
            frame = pd.DataFrame(
                {"case_id": cases["case_id"], "truth": cases["truth"], name: values}
            )
            if values.dtype != object:
                frame[name] = frame[name].astype(float)
            try:
                table = attribute_by_truth(
                    frame, attribute=name, truth="truth", case="case_id", nan_policy="omit"
                )
            except ValueError as exc:
                notes.append(f"Baseline: {name} not compared ({exc}).")
                continue
            rows.append(table.assign(kind="categorical"))
        else:
            pos = values[cases["truth"] == 1].dropna().to_numpy(dtype=float)
            neg = values[cases["truth"] == 0].dropna().to_numpy(dtype=float)
            if len(pos) < 2 or len(neg) < 2:
                notes.append(f"Baseline: {name} has fewer than two values in a class.")
                continue
            t = sps.ttest_ind(pos, neg, equal_var=False)
            rows.append(
                pd.DataFrame(
                    [
                        {
                            "attribute": name,
                            "level": None,
                            "kind": "numeric",
                            "n_positive": len(pos),
                            "n_negative": len(neg),
                            "mean_positive": float(pos.mean()),
                            "sd_positive": float(pos.std(ddof=1)),
                            "mean_negative": float(neg.mean()),
                            "sd_negative": float(neg.std(ddof=1)),
                            "test": "welch-t",
                            "statistic": float(t.statistic),
                            "df": float(t.df),
                            "p": float(t.pvalue),
                        }
                    ]
                )
            )
    if not rows:
        return pd.DataFrame()
    return pd.concat(rows, ignore_index=True)


# ---------------------------------------------------------------------------------------
# results.json
# ---------------------------------------------------------------------------------------


def clean_json(value: Any) -> Any:
    """``value`` with numpy scalars as Python numbers and NaN / ±inf as ``None``."""
    if isinstance(value, dict):
        return {str(k): clean_json(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [clean_json(v) for v in value]
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if value is pd.NA or value is pd.NaT:
        return None
    return value


def _f(value: Any) -> float | None:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return None
    try:
        v = float(value)
    except (TypeError, ValueError):
        return None
    return v if math.isfinite(v) else None


def _i(value: Any) -> int | None:
    f = _f(value)
    return None if f is None else int(f)


def _run(value: Any) -> int | None:
    return None if value is None or (isinstance(value, float) and math.isnan(value)) else int(value)


def results_json(analysis: Analysis) -> dict[str, Any]:
    """The ``results.json`` document (DESIGN.md contract) of ``analysis``.

    Besides the contract keys some entries carry documented extras (docs/analysis.md):
    ``readers[*]``: ``label, n, rating``; ``agreement`` rows: ``method, n, interpretation``
    (and ``n_runs, boot_ci`` for intra); ``auc_tests``: ``n_cases, se``; ``dunn``: ``n_a,
    n_b``; ``kruskal``: ``n, k``; ``likert.by_reader`` / ``by_domain``: ``sd``; ``modality``
    (of the per-reader results); ``mrmc[*]``: ``labels, aucs_ci, readers, n_cases,
    n_positive, reader_aucs, reader_comparisons, summary``; ``mrmc_notes``.
    """
    data = analysis.data
    readers: dict[str, Any] = {}
    aucs = analysis.aucs.set_index("reader") if len(analysis.aucs) else pd.DataFrame()
    perf = analysis.performance.set_index("reader") if len(analysis.performance) else pd.DataFrame()
    labels = dict(zip(data.readers["reader_id"], data.readers["label"], strict=True))
    kinds = dict(zip(data.readers["reader_id"], data.readers["kind"], strict=True))
    for reader in analysis.reader_order:
        if reader not in perf.index:
            continue
        entry: dict[str, Any] = {
            "kind": kinds.get(reader),
            "label": labels.get(reader, ""),
            "rating": analysis.rating_source.get(reader),
        }
        if reader in aucs.index:
            a = aucs.loc[reader]
            entry.update(
                auc=_f(a["auc"]), auc_se=_f(a["se"]), auc_ci=[_f(a["ci_low"]), _f(a["ci_high"])]
            )
        else:
            entry.update(auc=None, auc_se=None, auc_ci=[None, None])
        p = perf.loc[reader]
        entry.update(n=_i(p["n"]), tp=_i(p["tp"]), fp=_i(p["fp"]), tn=_i(p["tn"]), fn=_i(p["fn"]))
        for m in METRICS:
            entry[m] = _f(p[m])
            entry[f"{m}_ci"] = [_f(p[f"{m}_ci_low"]), _f(p[f"{m}_ci_high"])]
        readers[reader] = entry

    auc_tests = [
        {
            "reader_a": r["reader_a"],
            "reader_b": r["reader_b"],
            "auc_a": _f(r["auc_a"]),
            "auc_b": _f(r["auc_b"]),
            "diff": _f(r["diff"]),
            "diff_ci": [_f(r["ci_low"]), _f(r["ci_high"])],
            "z": _f(r["z"]),
            "p": _f(r["p_value"]),
            "se": _f(r["se"]),
            "n_cases": _i(r["n_cases"]),
        }
        for r in analysis.auc_tests.to_dict("records")
    ]
    inter = [
        {
            "reader_a": r["reader_a"],
            "reader_b": r["reader_b"],
            "scale": r["scale"],
            "kappa": _f(r["kappa"]),
            "ci": [_f(r["ci_low"]), _f(r["ci_high"])],
            "method": "cohen",
            "n": _i(r["n"]),
            "interpretation": r["interpretation"],
        }
        for r in analysis.inter.to_dict("records")
    ]
    intra = [
        {
            "reader": r["reader"],
            "scale": r["scale"],
            "kappa": _f(r["kappa"]),
            "ci": [_f(r["ci_low"]), _f(r["ci_high"])],
            "method": r["method"],
            "n": _i(r["n_cases"]),
            "n_runs": _i(r["n_runs"]),
            "boot_ci": [_f(r["boot_ci_low"]), _f(r["boot_ci_high"])],
            "interpretation": r["interpretation"],
        }
        for r in analysis.intra.to_dict("records")
    ]
    by_reader = [
        {
            "reader": r["reader"],
            "run": _run(r["run"]),
            "n": _i(r["n"]),
            "mean": _f(r["mean"]),
            "ci": [_f(r["ci_low"]), _f(r["ci_high"])],
            "median": _f(r["median"]),
            "sd": _f(r["sd"]),
        }
        for r in analysis.likert_by_reader.to_dict("records")
    ]
    by_domain = [
        {
            "reader": r["reader"],
            "domain": r["domain"],
            "group": r["group"],
            "n": _i(r["n"]),
            "mean": _f(r["mean"]),
            "ci": [_f(r["ci_low"]), _f(r["ci_high"])],
            "sd": _f(r["sd"]),
        }
        for r in analysis.likert_by_domain.to_dict("records")
    ]
    kruskal = [
        {
            "run": _run(r["run"]),
            "h": _f(r["h"]),
            "df": _f(r["df"]),
            "p": _f(r["p"]),
            "n": _i(r["n"]),
            "k": _i(r["k"]),
        }
        for r in analysis.kruskal.to_dict("records")
    ]
    dunn = [
        {
            "run": _run(r["run"]),
            "reader_a": r["reader_a"],
            "reader_b": r["reader_b"],
            "z": _f(r["z"]),
            "p": _f(r["p"]),
            "p_adjusted": _f(r["p_adjusted"]),
            "n_a": _i(r["n_a"]),
            "n_b": _i(r["n_b"]),
        }
        for r in analysis.dunn.to_dict("records")
    ]
    doc = {
        "study": data.slug,
        "n_cases": analysis.n_cases,
        "n_positive": analysis.n_positive,
        "modality": analysis.modality,
        "readers": readers,
        "auc_tests": auc_tests,
        "agreement": {"inter": inter, "intra": intra},
        "likert": {
            "by_reader": by_reader,
            "by_domain": by_domain,
            "kruskal": kruskal,
            "dunn": dunn,
        },
        "mrmc": [_mrmc_entry(m, analysis) for m in analysis.mrmc],
        "mrmc_notes": [n.as_dict() for n in analysis.mrmc_notes],
    }
    return clean_json(doc)


def _mrmc_entry(result: MRMCResult, analysis: Analysis) -> dict[str, Any]:
    """The contract entry of :meth:`MRMCResult.to_dict` plus the documented extras."""
    labels = analysis.data.modality_labels
    design = analysis.mrmc_design
    m = result.modalities
    entry = result.to_dict()
    entry.update(
        labels=[labels.get(int(v)) for v in m["modality"]],
        aucs_ci=[[_f(lo), _f(hi)] for lo, hi in zip(m["ci_low"], m["ci_high"], strict=True)],
        readers=list(design.readers) if design else [],
        n_cases=len(design.cases) if design else None,
        n_positive=design.n_positive if design else None,
        reader_aucs=[
            {"reader": r.reader, "modality": int(r.modality), "auc": _f(r.auc), "se": _f(r.se)}
            for r in result.reader_aucs.itertuples(index=False)
        ],
        reader_comparisons=[
            {
                "reader": r.reader,
                "modality_a": int(r.modality_a),
                "modality_b": int(r.modality_b),
                "diff": _f(r.diff),
                "se": _f(r.se),
                "ci": [_f(r.ci_low), _f(r.ci_high)],
                "p": _f(r.p_value),
            }
            for r in result.reader_comparisons.itertuples(index=False)
        ],
        summary=mrmc_summary(result, labels),
    )
    return entry
