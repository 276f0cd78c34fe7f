"""``manage.py analyze SLUG --out DIR``: results.json, tables, figures and manifest.json."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from tqdm import tqdm

from analysis.charts import FIGURE_FORMATS, IMAGE_FORMATS
from analysis.render import prepare_static_export
from analysis.services import OutputOptions
from analysis.stats.choices import (
    KAPPA_CI_METHODS,
    MRMC_COVARIANCES,
    P_ADJUST_DEFAULTS,
    P_ADJUST_METHODS,
    PROPORTION_CI_METHODS,
)
from readerstudy.audit.services import audit_record
from readerstudy.studies.models import SPLIT_SELECTIONS, Case, Reader, Study

if TYPE_CHECKING:
    from analysis.charts import LikertRange

#: The figure formats and the static ones among them (defined in analysis.charts).
FORMATS = FIGURE_FORMATS
DEFAULT_FORMATS = "html,png,pdf,svg"
COLUMNS = ("default", "single", "double")
FONTS = ("sans", "serif")
RADAR_SCALES = ("shared", "per-axis", "dots")
#: The case selections (defined once, with the case splits); importing them loads no pandas.
SPLITS = SPLIT_SELECTIONS


def parse_int_list(value: str, *, option: str, what: str = "run number") -> tuple[int, ...]:
    try:
        items = tuple(int(v) for v in value.split(",") if v.strip())
    except ValueError as exc:
        raise CommandError(f"{option}: expected comma-separated {what}s, got {value!r}") from exc
    if not items:
        raise CommandError(f"{option}: give at least one {what}")
    return items


def parse_p_adjust(values: list[str]) -> dict[str, str]:
    """``METHOD`` for every family of tests, or ``FAMILY=METHOD`` for one (repeatable)."""
    out: dict[str, str] = {}
    for value in values:
        family, _, method = value.rpartition("=")
        method = method.strip()
        if method not in P_ADJUST_METHODS:
            raise CommandError(
                f"--p-adjust: expected one of {', '.join(P_ADJUST_METHODS)} (or FAMILY=METHOD), "
                f"got {value!r}"
            )
        if not family:
            out.update(dict.fromkeys(P_ADJUST_DEFAULTS, method))
        elif family.strip() in P_ADJUST_DEFAULTS:
            out[family.strip()] = method
        else:
            raise CommandError(
                f"--p-adjust: unknown family {family!r} (expected {', '.join(P_ADJUST_DEFAULTS)})"
            )
    return out


def parse_likert_ranges(values: list[str]) -> LikertRange:
    """``LO,HI`` for every reader, or ``R1,R2=LO,HI`` for some (repeatable)."""
    if not values:
        return None
    default: tuple[float, float] | None = None
    per_reader: dict[str, tuple[float, float]] = {}
    for value in values:
        readers, _, bounds = value.rpartition("=")
        try:
            low, high = (float(v) for v in bounds.split(","))
        except ValueError as exc:
            raise CommandError(
                f"--likert-range: expected LO,HI or READER,READER=LO,HI, got {value!r}"
            ) from exc
        if not low < high:
            raise CommandError(f"--likert-range: LO must be below HI, got {value!r}")
        if readers:
            for reader in readers.split(","):
                per_reader[reader.strip()] = (low, high)
        else:
            default = (low, high)
    if not per_reader:
        return default
    if default is not None:
        per_reader["*"] = default
    return per_reader


class Command(BaseCommand):
    # The system checks import every URL module (pandas, scipy, plotly, openai: ~3 s); this
    # command needs none of them before Chromium has been started. `manage.py check` runs them.
    requires_system_checks: list[str] = []
    help = (
        "Analyse a study: write results.json, the tables (CSV, DOCX and tables.xlsx), methods.md, "
        "stard_ai.md, the figures "
        "(HTML, PNG, SVG) and manifest.json into --out."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("slug", help="the study's slug")
        parser.add_argument("--out", type=Path, required=True, help="output folder (created)")
        parser.add_argument(
            "--split", choices=SPLITS, default="test", help="cases analysed (default: test)"
        )
        parser.add_argument(
            "--readers", help="comma-separated reader ids, as imported (default: all)"
        )
        parser.add_argument("--runs", help="comma-separated run numbers (default: all)")
        parser.add_argument(
            "--modality",
            type=int,
            help="modality of the per-reader results (default: the first); MRMC compares all",
        )
        parser.add_argument("--no-figures", action="store_true", help="skip the figures")
        parser.add_argument(
            "--formats",
            default=DEFAULT_FORMATS,
            help=f"figure formats, comma-separated from {', '.join(FORMATS)} "
            f"(default: {DEFAULT_FORMATS})",
        )
        parser.add_argument(
            "--dpi",
            default="300",
            help="resolutions of PNG / TIFF, comma-separated dots per inch (default: 300; "
            "e.g. 300,600)",
        )
        parser.add_argument(
            "--width",
            default="default",
            help="print widths, comma-separated from single (89 mm), double (183 mm), default "
            "(each figure's own column; the default)",
        )
        parser.add_argument(
            "--font", choices=FONTS, default="sans", help="font family of the figures"
        )
        parser.add_argument(
            "--greyscale",
            action="store_true",
            help="greyscale-safe figures: grey levels, a dash pattern and a marker per reader",
        )
        parser.add_argument(
            "--radar",
            choices=RADAR_SCALES,
            default="shared",
            help="Fig. 4: the radar on one shared scale (default), with per-axis scales as "
            "the worked example, or a dot plot of each estimate with its CI (dots)",
        )
        parser.add_argument(
            "--likert-range",
            action="append",
            default=[],
            metavar="[READERS=]LO,HI",
            help="radial range of the Likert radars (Fig. 6): LO,HI for all readers or "
            "R1,R2=LO,HI for some; repeatable (default: from the data)",
        )
        parser.add_argument(
            "--fleiss-boot",
            type=int,
            default=2000,
            help="bootstrap resamples of the Fleiss kappa CI (0: analytic CI only)",
        )
        parser.add_argument(
            "--kappa-ci",
            choices=list(KAPPA_CI_METHODS),
            default="gwet",
            help="CI of the intra-observer Fleiss kappa: gwet (Gwet's variance, t interval, "
            "as R irrCAC; default) or spss (the Fleiss-Nee-Landis null SE SPSS reports)",
        )
        parser.add_argument(
            "--proportion-ci",
            choices=PROPORTION_CI_METHODS,
            default="exact",
            help="CIs of sensitivity, specificity, accuracy, PPV, NPV: exact "
            "(Clopper-Pearson, default) or wilson",
        )
        parser.add_argument(
            "--p-adjust",
            action="append",
            default=[],
            metavar="[FAMILY=]METHOD",
            help=f"adjust p values within each family of tests ({', '.join(P_ADJUST_DEFAULTS)})"
            f" by {', '.join(P_ADJUST_METHODS)}; METHOD for every family or FAMILY=METHOD for "
            "one, repeatable (default: "
            + ", ".join(f"{k}={v}" for k, v in P_ADJUST_DEFAULTS.items())
            + ", as the worked example)",
        )
        parser.add_argument(
            "--mrmc-covariance",
            choices=MRMC_COVARIANCES,
            default="jackknife",
            help="covariance of the MRMC figures of merit (default: jackknife, as Iowa)",
        )
        parser.add_argument(
            "--alpha-boot",
            type=int,
            default=1000,
            help="bootstrap resamples of the Likert panel's Krippendorff alpha (0: no CI)",
        )
        parser.add_argument(
            "--ai-margin",
            type=float,
            default=0.05,
            help="non-inferiority margin (AUC) of each model reader against the human "
            "reader panel (default: 0.05)",
        )
        parser.add_argument(
            "--gallery-case",
            action="append",
            default=[],
            metavar="CASE_ID",
            help="a case of the case gallery (Fig. 8; repeatable, in this order, at most 6); "
            "default: the first positive and the first negative case read by every reader",
        )
        parser.add_argument(
            "--clustered",
            choices=("auto", "on", "off"),
            default="auto",
            help="Obuchowski's clustered AUC variance: auto (when a patient_id has several "
            "cases), on or off (default: auto)",
        )
        parser.add_argument(
            "--subgroups",
            help="comma-separated subgroup definitions: case attributes, split, site "
            "(default: the split when several, then every attribute)",
        )
        parser.add_argument(
            "--subgroup-bins",
            type=int,
            default=4,
            help="quantile bins of a numeric attribute's subgroups (default: 4)",
        )
        parser.add_argument("--seed", type=int, default=1, help="seed of every resampling")
        parser.add_argument(
            "--pseudonymous",
            action="store_true",
            help="replace reader, case, patient and rater ids by their pseudonyms",
        )
        parser.add_argument("--no-progress", action="store_true", help="no progress bar")

    def handle(self, *args: Any, **options: Any) -> None:
        study = Study.objects.filter(slug=options["slug"]).first()
        if study is None:
            raise CommandError(f"no study with slug {options['slug']!r}")
        formats = tuple(f.strip() for f in options["formats"].split(",") if f.strip())
        unknown = sorted(set(formats) - set(FORMATS))
        if unknown or not formats:
            raise CommandError(
                f"--formats: expected some of {', '.join(FORMATS)}, got {options['formats']!r}"
            )
        dpis = parse_int_list(options["dpi"], option="--dpi", what="resolution")
        if any(d < 50 or d > 2400 for d in dpis):
            raise CommandError(
                f"--dpi: expected resolutions from 50 to 2400, got {options['dpi']!r}"
            )
        columns = tuple(c.strip() for c in options["width"].split(",") if c.strip())
        if not columns or set(columns) - set(COLUMNS):
            raise CommandError(
                f"--width: expected some of {', '.join(COLUMNS)}, got {options['width']!r}"
            )
        if not options["no_figures"] and set(IMAGE_FORMATS) & set(formats):
            # Chromium starts now, while pandas, scipy and plotly load and the statistics run.
            prepare_static_export()
        from analysis.figure_theme import FigureTheme
        from analysis.results import GALLERY_CASES_MAX, AnalysisOptions
        from analysis.selectors import Pseudonyms
        from analysis.services import analysis_write_outputs, output_steps

        if options["fleiss_boot"] < 0:
            raise CommandError("--fleiss-boot: must be 0 or more")
        if options["alpha_boot"] < 0:
            raise CommandError("--alpha-boot: must be 0 or more")
        if not 0 <= options["ai_margin"] < 1:
            raise CommandError("--ai-margin: must be at least 0 and below 1")
        if options["subgroup_bins"] < 2:
            raise CommandError("--subgroup-bins: must be 2 or more")
        subgroups = (
            tuple(s.strip() for s in options["subgroups"].split(",") if s.strip())
            if options["subgroups"]
            else None
        )
        p_adjust = parse_p_adjust(options["p_adjust"])
        readers = (
            tuple(r.strip() for r in options["readers"].split(",") if r.strip())
            if options["readers"]
            else None
        )
        if readers and options["pseudonymous"]:
            # --readers names real ids; the analysis sees pseudonyms.
            codes = list(Reader.objects.filter(study=study).values_list("code", flat=True))
            unknown = sorted(set(readers) - set(codes))
            if unknown:
                raise CommandError(f"readers: unknown reader(s) {', '.join(unknown)}")
            mapping = Pseudonyms(study.slug, True).mapping("reader", codes)
            readers = tuple(mapping[r] for r in readers)
        runs = parse_int_list(options["runs"], option="--runs") if options["runs"] else None
        gallery = tuple(dict.fromkeys(c.strip() for c in options["gallery_case"] if c.strip()))
        if gallery:
            codes = set(Case.objects.filter(study=study).values_list("code", flat=True))
            unknown = [c for c in gallery if c not in codes]
            if unknown:
                raise CommandError(f"--gallery-case: unknown case(s) {', '.join(unknown)}")
            if len(gallery) > GALLERY_CASES_MAX:
                raise CommandError(f"--gallery-case: at most {GALLERY_CASES_MAX} cases")
            if options["pseudonymous"]:  # real ids given; the analysis sees pseudonyms
                mapping = Pseudonyms(study.slug, True).mapping("case", sorted(codes))
                gallery = tuple(mapping[c] for c in gallery)
        analysis_options = AnalysisOptions(
            split=options["split"],
            readers=readers,
            runs=runs,
            fleiss_boot=options["fleiss_boot"],
            seed=options["seed"],
            modality=options["modality"],
            kappa_ci=options["kappa_ci"],
            proportion_ci=options["proportion_ci"],
            p_adjust=p_adjust,
            mrmc_covariance=options["mrmc_covariance"],
            alpha_boot=options["alpha_boot"],
            ai_margin=options["ai_margin"],
            clustered=options["clustered"],
            subgroups=subgroups,
            subgroup_bins=options["subgroup_bins"],
            gallery_cases=gallery,
        )
        likert_range = parse_likert_ranges(options["likert_range"])
        figures = not options["no_figures"]
        bar = tqdm(
            total=output_steps(figures=figures, formats=formats),
            desc=f"analyze {study.slug}",
            unit="step",
            file=getattr(self.stderr, "_out", sys.stderr),
            disable=options["no_progress"],
            bar_format="{desc}: {percentage:3.0f}%|{bar:30}| {n_fmt}/{total_fmt} {postfix} [{elapsed}]",
        )

        def progress(name: str) -> None:
            bar.set_postfix_str(name, refresh=False)
            bar.update(1)

        try:
            summary = analysis_write_outputs(
                study=study,
                out=options["out"],
                options=analysis_options,
                output=OutputOptions(
                    pseudonymous=options["pseudonymous"],
                    figures=figures,
                    formats=formats,
                    likert_range=likert_range,
                    dpis=dpis,
                    columns=columns,
                    theme=FigureTheme(font=options["font"], greyscale=options["greyscale"]),
                    radar_scale=options["radar"],
                ),
                progress=progress,
            )
        except ValueError as exc:
            bar.close()
            raise CommandError(str(exc)) from exc
        audit_record(
            action="export",
            study=study,
            target="analyze",
            details={
                "kind": "analyze",
                "pseudonymous": options["pseudonymous"],
                "via": "analyze",
                "out": str(options["out"]),
            },
        )
        bar.set_postfix_str("done", refresh=False)
        bar.update(max(0, bar.total - bar.n))
        bar.close()
        for warning in summary.warnings:
            self.stderr.write(f"warning: {warning}")
        for note in summary.notes:
            self.stdout.write(f"note: {note}")
        results = summary.results
        self.stdout.write(
            f"{summary.out}: results.json, manifest.json, {len(summary.files)} files "
            f"({results['n_cases']} cases, {results['n_positive']} positive, "
            f"{len(results['readers'])} readers)"
        )
