"""The analysis of a study and its ``results.json`` (contract in DESIGN.md).

:func:`run_analysis` takes the population loaded by :func:`analysis.selectors.study_data`
and applies the study's conventions (DESIGN.md, "Statistical conventions") with
:mod:`analysis.stats`:

* **First modality.** ROC, diagnostic accuracy and agreement use the readings of the
  first (lowest) modality; MRMC compares modalities when there is more than one.
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

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from itertools import combinations
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats as sps

from analysis.selectors import StudyData, attribute_is_categorical, distinct, in_order
from analysis.stats.agreement import cohen_kappa, cohen_kappa_table, fleiss_kappa
from analysis.stats.consensus import consensus
from analysis.stats.diagnostic import attribute_by_truth, diagnostic_performance
from analysis.stats.likert import dunn_test, kruskal_wallis, likert_by_domain, likert_by_reader
from analysis.stats.mrmc import MRMCResult, mrmc
from analysis.stats.roc import compare_readers, reader_aucs, roc_curve

Progress = Callable[[str], None]

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

    def as_dict(self) -> dict[str, Any]:
        return {
            "split": self.split,
            "readers": list(self.readers) if self.readers is not None else None,
            "runs": list(self.runs) if self.runs is not None else None,
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
    first = readings[readings["modality"] == out.modalities[0]] if out.modalities else readings

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
        out.mrmc = _mrmc(readings, data, options, out.notes)

    step(STEPS[6])
    out.baseline = _baseline(data, out.notes)
    return out


# ---------------------------------------------------------------------------------------
# Steps
# ---------------------------------------------------------------------------------------


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


def _mrmc(
    readings: pd.DataFrame, data: StudyData, options: AnalysisOptions, notes: list[str]
) -> list[MRMCResult]:
    frames = []
    for modality, sub in readings.groupby("modality", sort=True):
        final, _ = _final_readings(sub, data.consensus)
        frames.append(final.assign(modality=int(modality)))
    long = pd.concat(frames, ignore_index=True)
    # A reader uses its scores only if every reading in every modality has one.
    missing = readings["score"].isna().groupby(readings["reader_id"]).any()
    uses_category = long["reader_id"].map(missing).astype(bool)
    long.loc[uses_category, "rating"] = long.loc[uses_category, "category"].astype(float)
    modalities = sorted(long["modality"].unique())
    per_reader = long.groupby("reader_id")["modality"].nunique()
    readers = per_reader.index[per_reader == len(modalities)].tolist()
    dropped = sorted(set(per_reader.index) - set(readers))
    if dropped:
        notes.append(f"MRMC: readers without every modality are left out: {', '.join(dropped)}.")
    long = long[long["reader_id"].isin(readers)]
    cells = len(readers) * len(modalities)
    per_case = long.groupby("case_id").size()
    complete = per_case.index[per_case == cells]
    if len(complete) < len(per_case):
        notes.append(
            f"MRMC: {len(per_case) - len(complete)} case(s) not read by every reader in every "
            "modality are left out."
        )
    long = long[long["case_id"].isin(complete)]
    results = []
    for analysis in MRMC_ANALYSES:
        try:
            results.append(
                mrmc(
                    long,
                    truth="truth",
                    rating="rating",
                    reader="reader_id",
                    modality="modality",
                    case="case_id",
                    analysis=analysis,  # type: ignore[arg-type]
                    covariance=options.mrmc_covariance,  # type: ignore[arg-type]
                )
            )
        except ValueError as exc:
            notes.append(f"MRMC {analysis}: not computed ({exc}).")
    return results


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
    n_b``; ``kruskal``: ``n, k``; ``likert.by_reader`` / ``by_domain``: ``sd``.
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
        "readers": readers,
        "auc_tests": auc_tests,
        "agreement": {"inter": inter, "intra": intra},
        "likert": {
            "by_reader": by_reader,
            "by_domain": by_domain,
            "kruskal": kruskal,
            "dunn": dunn,
        },
        "mrmc": [m.to_dict() for m in analysis.mrmc],
    }
    return clean_json(doc)
