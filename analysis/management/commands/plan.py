"""``manage.py plan KIND [options]``: sample-size planning (issue 18 item 6).

Each subcommand prints the answer of one function of :mod:`analysis.stats.sample_size`
and the reference of its formula.
"""

from __future__ import annotations

import argparse
from typing import Any

import pandas as pd
from django.core.management.base import BaseCommand, CommandError, CommandParser

from analysis.planning import PLAN_REFERENCES
from analysis.stats.sample_size import (
    auc_precision_sample_size,
    kappa_sample_size,
    mrmc_power_grid,
    noninferiority_proportion_sample_size,
    sens_spec_sample_size,
    two_auc_sample_size,
)

REFERENCES = PLAN_REFERENCES


def _ints(text: str) -> list[int]:
    try:
        return [int(x) for x in text.split(",") if x.strip()]
    except ValueError as exc:
        raise argparse.ArgumentTypeError(
            f"expected comma-separated integers, got {text!r}"
        ) from exc


class Command(BaseCommand):
    help = "Sample-size planning: auc, sens-spec, two-auc, kappa, noninferiority, mrmc."

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="kind", required=True)
        p = sub.add_parser("auc", help="cases for a CI half-width around one AUC")
        p.add_argument("--auc", type=float, required=True)
        p.add_argument("--half-width", type=float, required=True)
        p.add_argument("--ratio", type=float, default=1.0, help="negatives per positive")
        p.add_argument("--confidence", type=float, default=0.95)
        p.add_argument("--method", choices=["hanley_mcneil", "obuchowski"], default="hanley_mcneil")
        p = sub.add_parser("sens-spec", help="cases for a CI around sensitivity/specificity")
        p.add_argument("--expected", type=float, required=True)
        p.add_argument("--half-width", type=float, required=True)
        p.add_argument("--prevalence", type=float, required=True)
        p.add_argument("--measure", choices=["sensitivity", "specificity"], default="sensitivity")
        p.add_argument("--confidence", type=float, default=0.95)
        p = sub.add_parser("two-auc", help="cases to detect a difference of two paired AUCs")
        p.add_argument("--auc1", type=float, required=True)
        p.add_argument("--auc2", type=float, required=True)
        p.add_argument("--r-positive", type=float, required=True)
        p.add_argument("--r-negative", type=float, required=True)
        p.add_argument("--ratio", type=float, default=1.0)
        p.add_argument("--alpha", type=float, default=0.05)
        p.add_argument("--power", type=float, default=0.8)
        p = sub.add_parser("kappa", help="subjects to test kappa1 against kappa0")
        p.add_argument("--rate1", type=float, required=True)
        p.add_argument("--rate2", type=float, required=True)
        p.add_argument("--kappa1", type=float, required=True)
        p.add_argument("--kappa0", type=float, required=True)
        p.add_argument("--alpha", type=float, default=0.05)
        p.add_argument("--power", type=float, default=0.8)
        p.add_argument("--alternative", choices=["one-sided", "two-sided"], default="one-sided")
        p = sub.add_parser("noninferiority", help="cases to show p >= reference - margin")
        p.add_argument("--expected", type=float, required=True)
        p.add_argument("--reference", type=float, required=True)
        p.add_argument("--margin", type=float, required=True)
        p.add_argument("--alpha", type=float, default=0.025)
        p.add_argument("--power", type=float, default=0.8)
        p.add_argument("--method", choices=["exact", "normal"], default="exact")
        p = sub.add_parser("mrmc", help="OR-MRMC power over a readers x cases grid")
        for name in ("var-tr", "var-error", "cov1", "cov2", "cov3"):
            p.add_argument(f"--{name}", type=float, required=True)
        p.add_argument("--pilot-cases", type=int, required=True)
        p.add_argument("--effect-size", type=float, required=True)
        p.add_argument("--readers", type=_ints, required=True, help="e.g. 4,6,10")
        p.add_argument("--cases", type=_ints, required=True, help="e.g. 50,100,200")
        p.add_argument("--analysis", choices=["RRRC", "FRRC", "RRFC"], default="RRRC")
        p.add_argument("--alpha", type=float, default=0.05)

    def handle(self, *args: Any, **o: Any) -> None:
        kind = o["kind"]
        try:
            if kind == "auc":
                res = auc_precision_sample_size(
                    auc=o["auc"],
                    half_width=o["half_width"],
                    ratio=o["ratio"],
                    confidence=o["confidence"],
                    method=o["method"],
                )
                row = res.iloc[0]
                answer = (
                    f"{int(row['n_positive'])} positive + {int(row['n_negative'])} negative cases "
                    f"(total {int(row['n_total'])}); SE {row['se']:.4f}"
                )
                ref = REFERENCES[f"auc-{o['method']}"]
            elif kind == "sens-spec":
                res = sens_spec_sample_size(
                    expected=o["expected"],
                    half_width=o["half_width"],
                    prevalence=o["prevalence"],
                    measure=o["measure"],
                    confidence=o["confidence"],
                )
                row = res.iloc[0]
                cls = "positive" if o["measure"] == "sensitivity" else "negative"
                answer = f"{int(row['n_total'])} cases in total ({int(row['n_diseased'])} {cls})"
                ref = REFERENCES["sens-spec"]
            elif kind == "two-auc":
                res = two_auc_sample_size(
                    auc1=o["auc1"],
                    auc2=o["auc2"],
                    r_positive=o["r_positive"],
                    r_negative=o["r_negative"],
                    ratio=o["ratio"],
                    alpha=o["alpha"],
                    power=o["power"],
                )
                row = res.iloc[0]
                answer = (
                    f"{int(row['n_positive'])} positive + {int(row['n_negative'])} negative cases "
                    f"(total {int(row['n_total'])})"
                )
                ref = REFERENCES["two-auc"]
            elif kind == "kappa":
                res = kappa_sample_size(
                    rate1=o["rate1"],
                    rate2=o["rate2"],
                    kappa1=o["kappa1"],
                    kappa0=o["kappa0"],
                    alpha=o["alpha"],
                    power=o["power"],
                    alternative=o["alternative"],
                )
                answer = f"{int(res['n'].iloc[0])} subjects"
                ref = REFERENCES["kappa"]
            elif kind == "noninferiority":
                res = noninferiority_proportion_sample_size(
                    expected=o["expected"],
                    reference=o["reference"],
                    margin=o["margin"],
                    alpha=o["alpha"],
                    power=o["power"],
                    method=o["method"],
                )
                row = res.iloc[0]
                answer = f"{int(row['n'])} cases (power {row['achieved_power']:.3f})"
                if o["method"] == "exact":
                    answer += (
                        f"; claim non-inferiority if at least {int(row['critical_count'])} succeed"
                    )
                ref = REFERENCES["noninferiority"]
            else:
                pilot = {
                    "var_tr": o["var_tr"],
                    "var_error": o["var_error"],
                    "cov1": o["cov1"],
                    "cov2": o["cov2"],
                    "cov3": o["cov3"],
                    "n_cases": o["pilot_cases"],
                }
                grid = mrmc_power_grid(
                    pilot,
                    effect_size=o["effect_size"],
                    readers=o["readers"],
                    cases=o["cases"],
                    analysis=o["analysis"],
                    alpha=o["alpha"],
                )
                wide = grid.pivot(index="cases", columns="readers", values="power")
                answer = "power (rows: cases, columns: readers)\n" + _table(wide)
                ref = REFERENCES["mrmc"]
        except ValueError as exc:
            raise CommandError(str(exc)) from exc
        self.stdout.write(answer)
        self.stdout.write(f"Reference: {ref}")


def _table(wide: pd.DataFrame) -> str:
    return wide.round(3).to_string()
