"""The AI-study parts of an analysis (issues 17, 18): AI vs the reader panel, reading time,
inter-reader agreement by modality and the prevalence-robust coefficients beside κ.

Called by :func:`analysis.results.run_analysis` with the final readings of each modality;
every degenerate case (one modality, no times, no model reader, too few readers) gets a
note, never a silent number. Plain Python over :mod:`analysis.stats` (no Django).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from analysis.notes import Note, note
from analysis.stats.agreement import fleiss_kappa
from analysis.stats.agreement_difference import fleiss_kappa_difference
from analysis.stats.ai import ai_vs_readers
from analysis.stats.chance_agreement import agreement_coefficients
from analysis.stats.mrmc import MRMCResult
from analysis.stats.noninferiority import noninferiority_test
from analysis.stats.reading_time import (
    reading_time_model,
    reading_time_summary,
    reading_time_wilcoxon,
)

#: Figures of merit of the AI-vs-panel comparison, in results.json order (per model reader):
#: the AUC of the ratings, sensitivity and specificity of the positive calls.
AI_PANEL_FOMS: tuple[str, ...] = ("auc", "sensitivity", "specificity")

AI_PANEL_COLUMNS: list[str] = [
    "reader", "modality", "fom", "method", "n_readers", "n_cases", "ai_fom", "readers_mean",
    "statistic", "ci_low", "ci_high", "t", "df", "p_value", "margin", "p_noninferiority",
    "noninferior",
]  # fmt: skip


def ai_panel(
    finals: dict[int, pd.DataFrame],
    kinds: dict[str, str],
    order: Sequence[str],
    *,
    margin: float,
    threshold: float,
    notes: list[Note],
) -> pd.DataFrame:
    """Each model reader against the human readers of its modality (1T-RRRC, Hillis), on
    each of :data:`AI_PANEL_FOMS`.

    ``finals``: per modality the final readings (``reader_id, case_id, truth, category,
    rating``). The AUC uses the ratings, sensitivity and specificity the positive calls
    (``category >= threshold``, as the accuracy tables). The comparison uses the cases every
    human reader and the model rated.
    """
    rows: list[dict[str, object]] = []
    for modality, final in sorted(finals.items()):
        final = final.assign(decision=(final["category"] >= threshold).astype(float))
        rated = final[final["rating"].notna()]
        present = [r for r in order if r in set(rated["reader_id"])]
        models = [r for r in present if kinds.get(r) == "model"]
        humans = [r for r in present if kinds.get(r) == "human"]
        if not models:
            continue
        if len(humans) < 2:
            notes.append(
                note(
                    "ai-panel-not-compared",
                    f"AI vs reader panel, modality {modality}: fewer than two human readers, "
                    "so no model reader is compared with the panel.",
                )
            )
            continue
        for model in models:
            sub = rated[rated["reader_id"].isin([*humans, model])]
            counts = sub.groupby("case_id")["reader_id"].nunique()
            cases = counts.index[counts == len(humans) + 1]
            sub = sub[sub["case_id"].isin(cases)]
            if len(cases) < len(counts):
                notes.append(
                    note(
                        "ai-panel-cases-dropped",
                        f"AI vs reader panel, {model} in modality {modality}: "
                        f"{len(counts) - len(cases)} case(s) not rated by {model} and every "
                        "human reader are left out.",
                        reader=model,
                    )
                )
            for fom in AI_PANEL_FOMS:
                column = "rating" if fom == "auc" else "decision"
                try:
                    res = ai_vs_readers(
                        sub[["reader_id", "case_id", "truth", column]],
                        ai=model,
                        rating=column,
                        fom=fom,
                        margin=margin,
                    ).iloc[0]
                except ValueError as exc:
                    notes.append(
                        note(
                            "ai-panel-not-compared",
                            f"AI vs reader panel, {model} in modality {modality}, {fom}: "
                            f"not computed ({exc}).",
                            reader=model,
                        )
                    )
                    continue
                if res["note"]:
                    notes.append(
                        note(
                            "ai-panel-not-compared",
                            f"AI vs reader panel, {model} in modality {modality}, {fom}: "
                            f"{res['note']}.",
                            reader=model,
                        )
                    )
                rows.append({"reader": model, "modality": int(modality), **res.to_dict()})
    return pd.DataFrame(rows).reindex(columns=AI_PANEL_COLUMNS)


def mrmc_noninferiority(result: MRMCResult, *, margin: float) -> pd.DataFrame:
    """Non-inferiority of each later modality against each earlier one (treatment
    ``modality_b`` − reference ``modality_a``, e.g. aided − unaided) from the OR/Hillis
    comparison's difference, SE and df (:func:`analysis.stats.noninferiority.noninferiority_test`,
    checked against MRMCaov). One row per comparison: ``reference, treatment`` and the test."""
    rows = []
    for c in result.comparisons.to_dict("records"):
        test = noninferiority_test(
            difference=-float(c["statistic"]),  # statistic = mean_a - mean_b
            se=float(c["se"]),
            df=float(c["df"]),
            margin=margin,
            confidence=result.confidence,
        ).iloc[0]
        rows.append({"reference": c["modality_a"], "treatment": c["modality_b"], **test})
    return pd.DataFrame(rows)


def reading_times(
    readings: pd.DataFrame, kinds: dict[str, str], notes: list[Note]
) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """(summary, model, Wilcoxon) of the human readers' reading times.

    The summary covers every timed reading; the model and the Wilcoxon tests compare the
    first two timed modalities (the lower one the reference) on each reader's first run
    of a case. Empty frames and a note when there are no times or one modality.
    """
    empty = pd.DataFrame()
    timed = readings[readings["seconds"].notna()] if "seconds" in readings else readings.iloc[:0]
    timed = timed[timed["reader_id"].map(kinds).eq("human")]
    if timed.empty:
        notes.append(
            note(
                "reading-time-missing",
                "Reading time: no human reading has a time, so no summary and no model.",
            )
        )
        return empty, empty, empty
    summary = reading_time_summary(timed[["reader_id", "modality", "seconds"]])
    modalities = sorted(int(m) for m in timed["modality"].unique())
    if len(modalities) < 2:
        notes.append(
            note(
                "reading-time-one-modality",
                f"Reading time: timed readings in one modality ({modalities[0]}) only, so no "
                "model of the effect of the modality on time.",
            )
        )
        return summary, empty, empty
    ref, trt = modalities[:2]
    if len(modalities) > 2:
        notes.append(
            note(
                "reading-time-one-modality",
                f"Reading time: the model compares modality {trt} with {ref}; the other timed "
                "modalities are summarised only.",
            )
        )
    first = (
        timed[timed["modality"].isin([ref, trt])]
        .sort_values("run", kind="stable")
        .drop_duplicates(["reader_id", "case_id", "modality"])
    )
    cols = ["reader_id", "case_id", "modality", "seconds"]
    try:
        model = reading_time_model(first[cols], reference=ref, treatment=trt)
    except ValueError as exc:
        notes.append(note("reading-time-not-modelled", f"Reading time: no mixed model ({exc})."))
        return summary, empty, empty
    model = model.assign(reference=ref, treatment=trt)
    if model.iloc[0]["note"]:
        notes.append(
            note("reading-time-not-modelled", f"Reading time model: {model.iloc[0]['note']}.")
        )
    wilcoxon = reading_time_wilcoxon(first[cols], reference=ref, treatment=trt)
    return summary, model, wilcoxon


def agreement_by_modality(
    finals: dict[int, pd.DataFrame],
    kinds: dict[str, str],
    order: Sequence[str],
    *,
    categories: Sequence[float],
    n_boot: int,
    seed: int,
    notes: list[Note],
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Fleiss κ among the human readers in each of the first two modalities they share,
    on the readers and cases of both, and the case-bootstrap CI and p of the difference."""
    empty = pd.DataFrame()
    humans_by = {
        m: {r for r in f["reader_id"].unique() if kinds.get(r) == "human"}
        for m, f in finals.items()
    }
    pair = next(
        (
            (a, b)
            for i, a in enumerate(sorted(finals))
            for b in sorted(finals)[i + 1 :]
            if len(humans_by[a] & humans_by[b]) >= 2
        ),
        None,
    )
    if pair is None:
        notes.append(
            note(
                "agreement-by-modality-not-compared",
                "Inter-reader agreement by modality: no two modalities read by the same two or "
                "more human readers, so no comparison.",
            )
        )
        return empty, empty
    a, b = pair
    readers = [r for r in order if r in humans_by[a] & humans_by[b]]
    long = pd.concat([finals[m].assign(modality=m) for m in pair], ignore_index=True)
    long = long[long["reader_id"].isin(readers) & long["category"].notna()]
    counts = long.groupby("case_id").size()
    cases = counts.index[counts == 2 * len(readers)]
    if len(cases) < len(counts):
        notes.append(
            note(
                "agreement-by-modality-cases-dropped",
                f"Inter-reader agreement by modality: {len(counts) - len(cases)} case(s) not "
                f"read by every one of {', '.join(readers)} in modalities {a} and {b} are "
                "left out.",
            )
        )
    long = long[long["case_id"].isin(cases)]
    if len(cases) < 2:
        notes.append(
            note(
                "agreement-by-modality-not-compared",
                f"Inter-reader agreement by modality: fewer than two cases read by every one "
                f"of {', '.join(readers)} in modalities {a} and {b}.",
            )
        )
        return empty, empty
    rows = []
    for m in pair:
        k = fleiss_kappa(
            long[long["modality"] == m],
            run="reader_id",
            reader=None,
            case="case_id",
            category="category",
            categories=categories,
            n_boot=0,
        ).iloc[0]
        rows.append(
            {
                "modality": int(m),
                "n_readers": len(readers),
                "n_cases": len(cases),
                "kappa": k["statistic"],
                "ci_low": k["ci_low"],
                "ci_high": k["ci_high"],
            }
        )
    diff = fleiss_kappa_difference(
        long[["reader_id", "case_id", "modality", "category"]],
        modality_a=a,
        modality_b=b,
        categories=categories,
        n_boot=max(n_boot, 1),
        seed=seed,
    )
    return pd.DataFrame(rows), diff


def _coefficients(frame: pd.DataFrame, *, rater: str, scale_kw: dict[str, object]) -> dict:
    """AC1 and PABAK (with CIs) of ``frame``'s ratings, NaN when they are undefined."""
    try:
        res = agreement_coefficients(
            frame,
            rater=rater,
            case="case_id",
            category="category",
            coefficients=("gwet", "brennan-prediger"),
            **scale_kw,  # type: ignore[arg-type]
        ).set_index("method")
    except ValueError:
        return dict.fromkeys(CHANCE_COLUMNS, np.nan)
    out = {}
    for method, name in (("gwet-ac1", "ac1"), ("pabak", "pabak")):
        out[name] = res.loc[method, "statistic"]
        out[f"{name}_ci_low"] = res.loc[method, "ci_low"]
        out[f"{name}_ci_high"] = res.loc[method, "ci_high"]
    return out


#: The columns :func:`with_chance_coefficients` adds beside κ.
CHANCE_COLUMNS: tuple[str, ...] = (
    "ac1", "ac1_ci_low", "ac1_ci_high", "pabak", "pabak_ci_low", "pabak_ci_high",
)  # fmt: skip


def _scale_kw(scale: str, categories: Sequence[float], threshold: float) -> dict[str, object]:
    return {"categories": categories} if scale == "category" else {"threshold": threshold}


def inter_chance(
    inter: pd.DataFrame, final: pd.DataFrame, *, categories: Sequence[float], threshold: float
) -> pd.DataFrame:
    """``inter`` (Cohen's κ of each reader against the reference) with Gwet's AC1 and PABAK
    of the same pair on the same cases (both rated) beside κ."""
    if inter.empty:
        return inter.assign(**dict.fromkeys(CHANCE_COLUMNS, np.nan))
    rated = final[final["category"].notna()]
    extra = []
    for r in inter.to_dict("records"):
        pair = rated[rated["reader_id"].isin([r["reader_a"], r["reader_b"]])]
        both = pair.groupby("case_id")["reader_id"].nunique()
        pair = pair[pair["case_id"].isin(both.index[both == 2])]
        extra.append(
            _coefficients(
                pair, rater="reader_id", scale_kw=_scale_kw(r["scale"], categories, threshold)
            )
        )
    return pd.concat([inter, pd.DataFrame(extra, index=inter.index)], axis=1)


def intra_chance(
    intra: pd.DataFrame, readings: pd.DataFrame, *, categories: Sequence[float], threshold: float
) -> pd.DataFrame:
    """``intra`` (κ across each reader's runs) with AC1 and PABAK across the same runs, on
    the cases with every run (the cases of κ)."""
    if intra.empty:
        return intra.assign(**dict.fromkeys(CHANCE_COLUMNS, np.nan))
    extra = []
    for r in intra.to_dict("records"):
        sub = readings[(readings["reader_id"] == r["reader"]) & readings["category"].notna()]
        runs = sub.groupby("case_id")["run"].nunique()
        sub = sub[sub["case_id"].isin(runs.index[runs == sub["run"].nunique()])]
        extra.append(
            _coefficients(sub, rater="run", scale_kw=_scale_kw(r["scale"], categories, threshold))
        )
    return pd.concat([intra, pd.DataFrame(extra, index=intra.index)], axis=1)


def reader_case_layout(readings: pd.DataFrame) -> str:
    """The reader x case layout of ``readings`` over their modalities.

    ``"crossed"``: every reader read every case in every modality; ``"split-plot"``: the
    readers fall into two or more groups, each reading its own block of cases (disjoint
    blocks) in every modality, fully crossed within the group; ``"incomplete"``: neither.
    """
    cells = readings[["reader_id", "case_id", "modality"]].drop_duplicates()
    if cells.empty:
        return "incomplete"
    n_mod = cells["modality"].nunique()
    per_reader_case = cells.groupby(["reader_id", "case_id"]).size()
    if (per_reader_case < n_mod).any():
        return "incomplete"
    case_sets = per_reader_case.reset_index().groupby("reader_id")["case_id"].agg(frozenset)
    blocks = set(case_sets)
    if len(blocks) == 1:
        n_cases = cells["case_id"].nunique()
        return "crossed" if len(next(iter(blocks))) == n_cases else "incomplete"
    union = [c for b in blocks for c in b]
    return "split-plot" if len(union) == len(set(union)) else "incomplete"


#: Columns of :func:`draft_edits`.
EDIT_SUMMARY_COLUMNS: list[str] = [
    "reader", "modality", "n", "edit_distance_median", "edit_distance_q1", "edit_distance_q3",
    "edit_words_median", "edit_words_q1", "edit_words_q3", "drafting_seconds_median",
]  # fmt: skip


def _quartiles(values: pd.Series) -> tuple[float, float, float]:
    """(median, Q1, Q3) of the non-missing ``values`` (numpy's linear quantiles), NaN if none."""
    v = values.dropna().to_numpy(dtype=float)
    if not len(v):
        return np.nan, np.nan, np.nan
    q1, med, q3 = np.quantile(v, [0.25, 0.5, 0.75])
    return float(med), float(q1), float(q3)


def draft_edits(edits: pd.DataFrame, order: Sequence[str]) -> pd.DataFrame:
    """How much each reader edited the AI drafts, per reader and modality.

    ``edits``: one row per submitted work item of an AI-draft session that showed a draft
    (:func:`analysis.selectors.study_edits`). Per reader and modality: ``n`` work items,
    median and quartiles (Q1, Q3; linear interpolation) of the character and word
    Levenshtein distance from draft to final text, and the median drafting time — the
    browser's active seconds of the item, its server seconds where no active time was
    reported. No drafts: an empty frame (and no note: a study without drafts has none).
    """
    if edits.empty:
        return pd.DataFrame(columns=EDIT_SUMMARY_COLUMNS)
    drafting = edits["active_seconds"].where(edits["active_seconds"].notna(), edits["seconds"])
    frame = edits.assign(drafting=drafting)
    rows = []
    for reader in [r for r in order if r in set(frame["reader_id"])]:
        mine = frame[frame["reader_id"] == reader]
        for modality, sub in mine.groupby("modality", sort=True):
            chars = _quartiles(sub["edit_chars"])
            words = _quartiles(sub["edit_words"])
            rows.append(
                {
                    "reader": reader,
                    "modality": int(modality),
                    "n": len(sub),
                    "edit_distance_median": chars[0],
                    "edit_distance_q1": chars[1],
                    "edit_distance_q3": chars[2],
                    "edit_words_median": words[0],
                    "edit_words_q1": words[1],
                    "edit_words_q3": words[2],
                    "drafting_seconds_median": _quartiles(sub["drafting"])[0],
                }
            )
    return pd.DataFrame(rows).reindex(columns=EDIT_SUMMARY_COLUMNS)
