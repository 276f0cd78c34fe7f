"""The sample-size planning page's calculation (analysis/stats/sample_size.py behind a form)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import pandas as pd
import plotly.graph_objects as go

from analysis.charts import mrmc_power_plot
from analysis.forms import PlanningForm
from analysis.stats.sample_size import (
    auc_precision_sample_size,
    kappa_sample_size,
    mrmc_power_grid,
    noninferiority_proportion_sample_size,
    sens_spec_sample_size,
    two_auc_sample_size,
)

PLAN_REFERENCES = {
    "auc-hanley_mcneil": "Hanley JA, McNeil BJ (1982). Radiology 143(1):29-36.",
    "auc-obuchowski": "Obuchowski NA (1998). Stat Methods Med Res 7(4):371-392.",
    "sens-spec": "Buderer NM (1996). Acad Emerg Med 3(9):895-900.",
    "two-auc": "Obuchowski NA, McClish DK (1997). Stat Med 16(13):1529-1542.",
    "kappa": "Cantor AB (1996). Psychological Methods 1(2):150-153.",
    "noninferiority": "Chow SC, Shao J, Wang H (2008). Sample Size Calculations in "
    "Clinical Research, ch. 4 (exact: binomial test).",
    "mrmc": "Hillis SL, Obuchowski NA, Berbaum KS (2011). Acad Radiol 18(2):129-142 "
    "(RJafroc SsPowerGivenJK).",
}


#: how the non-inferiority answer names its method
NI_METHOD_LABELS = {"exact": "exact binomial", "normal": "normal approximation"}


@dataclass(frozen=True)
class PlanResult:
    answer: str
    reference: str
    figure: go.Figure | None = None


def plan_answer(kind: str, params: Mapping[str, Any]) -> tuple[str, str]:
    """(answer, reference) of one planning calculation other than ``mrmc``.

    ``params`` holds the :class:`analysis.forms.PlanningForm` field names (the page's
    cleaned form, or ``manage.py plan``'s options); ``alternative`` (kappa, default
    one-sided) and ``ni_method`` (non-inferiority, default exact) are optional. The one
    place both the page and the command turn a calculation into its sentence.
    """
    p = params
    if kind == "auc":
        row = auc_precision_sample_size(
            auc=p["auc"],
            half_width=p["half_width"],
            ratio=p["ratio"],
            confidence=p["confidence"],
            method=p["auc_method"],
        ).iloc[0]
        return (
            f"{int(row['n_positive'])} positive + {int(row['n_negative'])} negative cases "
            f"(total {int(row['n_total'])}); SE {row['se']:.4f}",
            PLAN_REFERENCES[f"auc-{p['auc_method']}"],
        )
    if kind == "sens-spec":
        row = sens_spec_sample_size(
            expected=p["expected"],
            half_width=p["half_width"],
            prevalence=p["prevalence"],
            measure=p["measure"],
            confidence=p["confidence"],
        ).iloc[0]
        cls = "positive" if p["measure"] == "sensitivity" else "negative"
        return (
            f"{int(row['n_total'])} cases in total ({int(row['n_diseased'])} {cls})",
            PLAN_REFERENCES["sens-spec"],
        )
    if kind == "two-auc":
        row = two_auc_sample_size(
            auc1=p["auc1"],
            auc2=p["auc2"],
            r_positive=p["r_positive"],
            r_negative=p["r_negative"],
            ratio=p["ratio"],
            alpha=p["alpha"],
            power=p["power"],
        ).iloc[0]
        return (
            f"{int(row['n_positive'])} positive + {int(row['n_negative'])} negative cases "
            f"(total {int(row['n_total'])})",
            PLAN_REFERENCES["two-auc"],
        )
    if kind == "kappa":
        res = kappa_sample_size(
            rate1=p["rate1"],
            rate2=p["rate2"],
            kappa1=p["kappa1"],
            kappa0=p["kappa0"],
            alpha=p["alpha"],
            power=p["power"],
            alternative=p.get("alternative") or "one-sided",
        )
        return f"{int(res['n'].iloc[0])} subjects", PLAN_REFERENCES["kappa"]
    if kind == "noninferiority":
        method = p.get("ni_method") or "exact"
        row = noninferiority_proportion_sample_size(
            expected=p["expected"],
            reference=p["reference"],
            margin=p["margin"],
            alpha=p["alpha"],
            power=p["power"],
            method=method,
        ).iloc[0]
        answer = (
            f"{int(row['n'])} cases ({NI_METHOD_LABELS[method]}, power {row['achieved_power']:.3f})"
        )
        if method == "exact":
            answer += f"; claim non-inferiority if at least {int(row['critical_count'])} succeed"
        return answer, PLAN_REFERENCES["noninferiority"]
    raise ValueError(
        f"kind: expected one of auc, sens-spec, two-auc, kappa, noninferiority, got {kind!r}"
    )


def plan_power_grid(
    params: Mapping[str, Any], *, readers: list[int], cases: list[int]
) -> pd.DataFrame:
    """The OR-MRMC power grid of a pilot's variance components (``mrmc``), as
    :func:`analysis.stats.sample_size.mrmc_power_grid`; ``analysis`` defaults to RRRC."""
    pilot = {name: params[name] for name in ("var_tr", "var_error", "cov1", "cov2", "cov3")}
    pilot["n_cases"] = params["pilot_cases"]
    return mrmc_power_grid(
        pilot,
        effect_size=params["effect_size"],
        readers=readers,
        cases=cases,
        analysis=params.get("analysis") or "RRRC",
        alpha=params["alpha"],
    )


def plan_calculate(*, form: PlanningForm) -> PlanResult:
    """Run the calculation chosen in a valid ``form``; ``ValueError`` names a bad field."""
    params = {name: form.value(name) for name in form.fields}
    kind = params["kind"]
    if kind != "mrmc":
        return PlanResult(*plan_answer(kind, params))
    grid = plan_power_grid(params, readers=form.int_list("readers"), cases=form.int_list("cases"))
    best = grid[grid["power"] >= 0.8].sort_values(["readers", "cases"])
    first = (
        f"; 80% first reached with {int(best.iloc[0]['readers'])} readers and "
        f"{int(best.iloc[0]['cases'])} cases"
        if len(best)
        else "; 80% is not reached on this grid"
    )
    return PlanResult(
        f"power from {grid['power'].min():.3f} to {grid['power'].max():.3f}{first}",
        PLAN_REFERENCES["mrmc"],
        mrmc_power_plot(grid),
    )
