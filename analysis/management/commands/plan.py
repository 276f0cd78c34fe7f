"""``manage.py plan KIND [options]``: sample-size planning (issue 18 item 6).

Each subcommand prints the answer of one function of :mod:`analysis.stats.sample_size`
and the reference of its formula, worded as on the planning page
(:func:`analysis.planning.plan_answer`, :func:`analysis.planning.plan_power_grid`).
"""

from __future__ import annotations

import argparse
from typing import Any

import pandas as pd
from django.core.management.base import BaseCommand, CommandError, CommandParser

from analysis.planning import PLAN_REFERENCES, plan_answer, plan_power_grid


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
        p.add_argument(
            "--method",
            dest="auc_method",
            choices=["hanley_mcneil", "obuchowski"],
            default="hanley_mcneil",
        )
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
        p.add_argument("--method", dest="ni_method", choices=["exact", "normal"], default="exact")
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
            if kind == "mrmc":
                grid = plan_power_grid(o, readers=o["readers"], cases=o["cases"])
                wide = grid.pivot(index="cases", columns="readers", values="power")
                answer = "power (rows: cases, columns: readers)\n" + _table(wide)
                ref = PLAN_REFERENCES["mrmc"]
            else:
                answer, ref = plan_answer(kind, o)
        except ValueError as exc:
            raise CommandError(str(exc)) from exc
        self.stdout.write(answer)
        self.stdout.write(f"Reference: {ref}")


def _table(wide: pd.DataFrame) -> str:
    return wide.round(3).to_string()
