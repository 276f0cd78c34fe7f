"""The sample-size planning page's calculation (analysis/stats/sample_size.py behind a form)."""

from __future__ import annotations

from dataclasses import dataclass

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


@dataclass(frozen=True)
class PlanResult:
    answer: str
    reference: str
    figure: go.Figure | None = None


def plan_calculate(*, form: PlanningForm) -> PlanResult:
    """Run the calculation chosen in a valid ``form``; ``ValueError`` names a bad field."""
    v = form.value
    kind = v("kind")
    if kind == "auc":
        row = auc_precision_sample_size(
            auc=v("auc"),
            half_width=v("half_width"),
            ratio=v("ratio"),
            confidence=v("confidence"),
            method=v("auc_method"),
        ).iloc[0]
        return PlanResult(
            f"{int(row['n_positive'])} positive + {int(row['n_negative'])} negative cases "
            f"(total {int(row['n_total'])}); SE {row['se']:.4f}",
            PLAN_REFERENCES[f"auc-{v('auc_method')}"],
        )
    if kind == "sens-spec":
        row = sens_spec_sample_size(
            expected=v("expected"),
            half_width=v("half_width"),
            prevalence=v("prevalence"),
            measure=v("measure"),
            confidence=v("confidence"),
        ).iloc[0]
        cls = "positive" if v("measure") == "sensitivity" else "negative"
        return PlanResult(
            f"{int(row['n_total'])} cases in total ({int(row['n_diseased'])} {cls})",
            PLAN_REFERENCES["sens-spec"],
        )
    if kind == "two-auc":
        row = two_auc_sample_size(
            auc1=v("auc1"),
            auc2=v("auc2"),
            r_positive=v("r_positive"),
            r_negative=v("r_negative"),
            ratio=v("ratio"),
            alpha=v("alpha"),
            power=v("power"),
        ).iloc[0]
        return PlanResult(
            f"{int(row['n_positive'])} positive + {int(row['n_negative'])} negative cases "
            f"(total {int(row['n_total'])})",
            PLAN_REFERENCES["two-auc"],
        )
    if kind == "kappa":
        res = kappa_sample_size(
            rate1=v("rate1"),
            rate2=v("rate2"),
            kappa1=v("kappa1"),
            kappa0=v("kappa0"),
            alpha=v("alpha"),
            power=v("power"),
        )
        return PlanResult(f"{int(res['n'].iloc[0])} subjects", PLAN_REFERENCES["kappa"])
    if kind == "noninferiority":
        row = noninferiority_proportion_sample_size(
            expected=v("expected"),
            reference=v("reference"),
            margin=v("margin"),
            alpha=v("alpha"),
            power=v("power"),
        ).iloc[0]
        return PlanResult(
            f"{int(row['n'])} cases (exact binomial, power {row['achieved_power']:.3f}); "
            f"claim non-inferiority if at least {int(row['critical_count'])} succeed",
            PLAN_REFERENCES["noninferiority"],
        )
    pilot = {
        "var_tr": v("var_tr"),
        "var_error": v("var_error"),
        "cov1": v("cov1"),
        "cov2": v("cov2"),
        "cov3": v("cov3"),
        "n_cases": v("pilot_cases"),
    }
    grid = mrmc_power_grid(
        pilot,
        effect_size=v("effect_size"),
        readers=form.int_list("readers"),
        cases=form.int_list("cases"),
        alpha=v("alpha"),
    )
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
