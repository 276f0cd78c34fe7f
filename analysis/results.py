"""The analysis of a study and its ``results.json`` (contract in docs/architecture.md).

:func:`run_analysis` takes the population loaded by :func:`analysis.selectors.study_data`
and applies the study's conventions (docs/statistics.md, docs/analysis.md "Conventions") with
:mod:`analysis.stats`:

* **One modality per reader table.** ROC, diagnostic accuracy, agreement and Likert use
  the readings (and scores) of one modality: the first (lowest) by default, or the one
  chosen (``AnalysisOptions.modality``, the dashboard's modality selector).
* **MRMC** compares modalities when there is more than one: OR/Hillis on the largest fully
  crossed part of the readings (modalities × readers × cases, see :func:`mrmc_design`);
  whatever is left out, or a design that is not fully crossed, gets a note (``mrmc-*``
  codes of :mod:`analysis.notes`).
* **Repeated runs.** Each reader's runs of a case are combined by the study's consensus
  rule (``readerstudy.core.choices.CONSENSUS_RULES``: ``majority-median``, ``median``,
  ``mode-lowest`` or ``first-run``) into its final category.
* **ROC rating.** A reader's continuous ``score`` when any of its readings has one (the
  mean over the runs that have one), on the cases that have a score; a reader without any
  score uses its final category. A missing score never switches a reader to its category:
  its cases without a score are left out of its ROC analysis, with a note.
* **Diagnostic accuracy** at ``category >= positive_threshold``, Clopper–Pearson CIs
  (Wilson with ``proportion_ci="wilson"``). AUC CIs are DeLong's, truncated to [0, 1].
* **Inter-observer agreement**: Cohen's κ of every reader against the study's reference
  reader on its final categories, on the full scale and on the positive call; McNemar
  tests of each reader's sensitivity and specificity against the reference reader's.
* **Intra-observer agreement**: for readers with ≥ 3 runs Fleiss' κ across runs (CI from
  Gwet's variance with a t(n−1) interval, or SPSS's Fleiss–Nee–Landis interval with
  ``kappa_ci="spss"``, plus a seeded bootstrap CI); with exactly 2 runs Cohen's κ
  between the two runs (``method`` says which).
* **Likert**: mean (t CI) and median per reader × run and over all runs, per reader ×
  domain and domain group; Kruskal–Wallis across readers and Dunn (Bonferroni) per run,
  and over all runs when there are several; the panel's reliability per domain
  (Krippendorff's α, ordinal, with a bootstrap CI, and ICC(2,1)).
* **Multiplicity**: p values are adjusted within each family (every DeLong pair; the
  McNemar tests of one metric; the Dunn pairs of one run) by ``p_adjust`` (default: none
  for DeLong and McNemar, Bonferroni for Dunn, as the worked example).
* **Notes** (:mod:`analysis.notes`): degenerate data gets a note naming the reader, never
  a silent number.
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

from analysis.notes import Note, note
from analysis.results_accuracy import (
    CLUSTERED_SETTINGS,
    accuracy_measures,
    accuracy_tests,
    accuracy_tests_json,
    clustered_proportions,
    clustered_rocs,
    omnibus_json,
    omnibus_tests,
    partial_auc_json,
    reader_accuracy_json,
    reader_cluster_json,
    roc_summaries,
    subgroups,
    subgroups_json,
    youden_json,
)
from analysis.results_design import (
    agreement_by_modality,
    ai_panel,
    draft_edits,
    inter_chance,
    intra_chance,
    mrmc_noninferiority,
    reader_case_layout,
    reading_times,
)
from analysis.results_findings import findings_analysis, findings_json
from analysis.results_judges import judge_instruments, judges, judges_json
from analysis.results_judgments import Judgments, judgments, judgments_json
from analysis.results_likert import likert_paired, likert_paired_json
from analysis.results_localisation import Localisation, localisation, localisation_json
from analysis.selectors import (
    StudyData,
    attribute_is_categorical,
    distinct,
    in_order,
    modality_name,
)
from analysis.stats.agreement import (
    cohen_kappa,
    cohen_kappa_table,
    fleiss_kappa,
    icc,
    krippendorff_alpha,
)
from analysis.stats.choices import (
    KAPPA_CI_METHODS,
    MRMC_COVARIANCES,
    P_ADJUST_DEFAULTS,
    PROPORTION_CI_METHODS,
)
from analysis.stats.consensus import consensus
from analysis.stats.diagnostic import (
    attribute_by_truth,
    diagnostic_performance,
    mcnemar_counts,
)
from analysis.stats.likert import dunn_test, kruskal_wallis, likert_by_domain, likert_by_reader
from analysis.stats.mrmc import MRMCResult, mrmc
from analysis.stats.mrmc_split_plot import mrmc_split_plot
from analysis.stats.multiplicity import adjust_p, check_p_adjust
from analysis.stats.roc import compare_readers, reader_aucs, roc_curve
from analysis.stats.text_metrics import text_metrics_with_tests

Progress = Callable[[str], None]
logger = logging.getLogger(__name__)

METRICS: tuple[str, ...] = ("sensitivity", "specificity", "accuracy", "ppv", "npv")
MRMC_ANALYSES: tuple[str, ...] = ("RRRC", "FRRC", "RRFC")
#: The reading designs of ``mrmc[*].design``.
MRMC_DESIGNS: tuple[str, ...] = ("crossed", "split-plot")
#: The figures of merit of ``mrmc_binary`` (decisions ``category >= positive_threshold``).
MRMC_BINARY_FOMS: tuple[str, ...] = ("sensitivity", "specificity")

P_ADJUST_FAMILIES: tuple[str, ...] = tuple(P_ADJUST_DEFAULTS)
#: Fewer cases than this in a truth class get a note (large-sample CIs are unreliable).
SMALL_CLASS = 10
#: Bootstrap resamples of Krippendorff's α of the Likert panel.
ALPHA_BOOT = 1000


def runs_final_category(categories: Sequence[int], rule: str) -> int:
    """The final category of one reader's runs on one case (in run order) by ``rule``: the
    same implementation as :func:`_final_readings` (:func:`analysis.stats.consensus`).
    Registered as ``readerstudy.studies.consensus.final_category`` (the reading pages)."""
    frame = pd.DataFrame(
        {"reader_id": 0, "case_id": 0, "run": range(1, len(categories) + 1), "category": categories}
    )
    return int(consensus(frame, rule=rule)["category"].iloc[0])  # type: ignore[arg-type]


def p_adjust_setting(value: str | dict[str, str] | None = None) -> tuple[tuple[str, str], ...]:
    """The per-family adjustments of ``value`` (one method for every family, or a mapping
    of some families), the others at their defaults; ``ValueError`` naming a bad value."""
    methods = dict(P_ADJUST_DEFAULTS)
    if isinstance(value, str):
        methods = dict.fromkeys(P_ADJUST_FAMILIES, check_p_adjust(value))
    elif value:
        for family, method in value.items():
            if family not in P_ADJUST_DEFAULTS:
                raise ValueError(
                    f"p_adjust: unknown family {family!r} (expected {', '.join(P_ADJUST_FAMILIES)})"
                )
            methods[family] = check_p_adjust(method)
    return tuple(methods.items())


#: Most cases in the case gallery (Fig. 8) when they are chosen (``gallery_cases``).
GALLERY_CASES_MAX = 6


@dataclass(frozen=True)
class AnalysisOptions:
    """What to analyse and how (the filters of the dashboard and of ``manage.py analyze``)."""

    split: str = "test"
    readers: tuple[str, ...] | None = None
    runs: tuple[int, ...] | None = None
    #: bootstrap resamples of the Fleiss κ CI (0: analytic CI only)
    fleiss_boot: int = 2000
    #: seed of every resampling (Fleiss and Krippendorff bootstraps)
    seed: int = 1
    mrmc_covariance: str = "jackknife"
    #: modality of the per-reader tables and figures (None: the first one)
    modality: int | None = None
    #: analytic CI of Fleiss' κ: "gwet" (Gwet's variance, t interval) or "spss"
    kappa_ci: str = "gwet"
    #: CI of sensitivity, specificity, accuracy, PPV, NPV: "exact" (Clopper–Pearson) or "wilson"
    proportion_ci: str = "exact"
    #: (family, method) for every family of :data:`P_ADJUST_FAMILIES` (a method name or a
    #: {family: method} mapping is accepted and completed with the defaults)
    p_adjust: Any = field(default_factory=p_adjust_setting)
    #: bootstrap resamples of Krippendorff's α (0: no CI)
    alpha_boot: int = ALPHA_BOOT
    #: non-inferiority margin of a model reader against the human panel (AUC scale)
    ai_margin: float = 0.05
    #: clustered ROC (Obuchowski) when patients repeat: "auto", "on" or "off"
    clustered: str = "auto"
    #: subgroup definitions (attribute names, "split", "site"); None: the split, then every
    #: attribute with 2 to 6 levels or numeric (analysis.results_accuracy)
    subgroups: tuple[str, ...] | None = None
    #: quantile bins of a numeric attribute's subgroups
    subgroup_bins: int = 4
    #: (attribute, bin edges) of numeric attributes binned at given edges, not quantiles
    subgroup_edges: tuple[tuple[str, tuple[float, ...]], ...] = ()
    #: lower end of the specificity band of the partial AUC (upper end 1)
    partial_auc_low: float = 0.8
    #: bootstrap resamples of the partial AUC and the Youden threshold CIs (1 or more)
    roc_boot: int = 1000
    #: the cases of the case gallery (Fig. 8), as shown (pseudonyms when pseudonymous);
    #: empty: the first positive and the first negative case with every reader's impression
    gallery_cases: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if self.clustered not in CLUSTERED_SETTINGS:
            raise ValueError(
                f"clustered: expected one of {', '.join(CLUSTERED_SETTINGS)}, "
                f"got {self.clustered!r}"
            )
        if len(self.gallery_cases) > GALLERY_CASES_MAX:
            raise ValueError(
                f"gallery_cases: at most {GALLERY_CASES_MAX} cases, got {len(self.gallery_cases)}"
            )
        if int(self.roc_boot) < 1:
            raise ValueError(f"roc_boot: must be 1 or more, got {self.roc_boot!r}")
        if int(self.subgroup_bins) < 2:
            raise ValueError(f"subgroup_bins: must be 2 or more, got {self.subgroup_bins!r}")
        if not (0.0 <= float(self.partial_auc_low) < 1.0):
            raise ValueError(
                f"partial_auc_low: must be at least 0 and below 1, got {self.partial_auc_low!r}"
            )
        if self.kappa_ci not in KAPPA_CI_METHODS:
            raise ValueError(
                f"kappa_ci: expected one of {', '.join(KAPPA_CI_METHODS)}, got {self.kappa_ci!r}"
            )
        if self.proportion_ci not in PROPORTION_CI_METHODS:
            raise ValueError(
                f"proportion_ci: expected one of {', '.join(PROPORTION_CI_METHODS)}, "
                f"got {self.proportion_ci!r}"
            )
        if self.mrmc_covariance not in MRMC_COVARIANCES:
            raise ValueError(
                f"mrmc_covariance: expected one of {', '.join(MRMC_COVARIANCES)}, "
                f"got {self.mrmc_covariance!r}"
            )
        if not (0.0 <= float(self.ai_margin) < 1.0):
            raise ValueError(f"ai_margin: must be at least 0 and below 1, got {self.ai_margin!r}")
        value = self.p_adjust
        setting = value if isinstance(value, str | dict) else dict(value)
        object.__setattr__(self, "p_adjust", p_adjust_setting(setting))

    def adjustment(self, family: str) -> str:
        """The p-value adjustment of ``family`` ("delong", "mcnemar" or "dunn")."""
        return dict(self.p_adjust)[family]

    def as_dict(self) -> dict[str, Any]:
        return {
            "split": self.split,
            "readers": list(self.readers) if self.readers is not None else None,
            "runs": list(self.runs) if self.runs is not None else None,
            "modality": self.modality,
            "fleiss_boot": self.fleiss_boot,
            "seed": self.seed,
            "mrmc_covariance": self.mrmc_covariance,
            "kappa_ci": self.kappa_ci,
            "proportion_ci": self.proportion_ci,
            "p_adjust": dict(self.p_adjust),
            "alpha_boot": self.alpha_boot,
            "ai_margin": self.ai_margin,
            "clustered": self.clustered,
            "subgroups": list(self.subgroups) if self.subgroups is not None else None,
            "subgroup_bins": self.subgroup_bins,
            "subgroup_edges": {a: list(e) for a, e in self.subgroup_edges},
            "partial_auc_low": self.partial_auc_low,
            "roc_boot": self.roc_boot,
            "gallery_cases": list(self.gallery_cases),
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
    #: McNemar tests of each reader against the reference reader (sensitivity, specificity)
    mcnemar: pd.DataFrame = field(default_factory=pd.DataFrame)
    likert_by_reader: pd.DataFrame = field(default_factory=pd.DataFrame)
    likert_by_domain: pd.DataFrame = field(default_factory=pd.DataFrame)
    kruskal: pd.DataFrame = field(default_factory=pd.DataFrame)
    dunn: pd.DataFrame = field(default_factory=pd.DataFrame)
    #: per domain x pair of rated readers: Friedman, Wilcoxon, two-way bootstrap CI
    likert_paired: pd.DataFrame = field(default_factory=pd.DataFrame)
    #: per domain: Krippendorff's α (ordinal, bootstrap CI) and ICC(2,1) of the raters
    reliability: pd.DataFrame = field(default_factory=pd.DataFrame)
    baseline: pd.DataFrame = field(default_factory=pd.DataFrame)
    mrmc: list[MRMCResult] = field(default_factory=list)
    #: the fully crossed part of the readings that ``mrmc`` analysed
    mrmc_design: MRMCDesign | None = None
    #: "crossed", "split-plot" or "incomplete": the reader x case layout of the readings
    mrmc_layout: str | None = None
    #: OR/Hillis with sensitivity and specificity as the figures of merit, on the design
    #: of ``mrmc`` (decisions at the study's positive threshold)
    mrmc_binary: list[MRMCResult] = field(default_factory=list)
    #: each model reader against the human panel per modality (analysis.results_design)
    ai_vs_readers: pd.DataFrame = field(default_factory=pd.DataFrame)
    #: human readers' reading time: summary, mixed model (one row), Wilcoxon per reader
    reading_time_summary: pd.DataFrame = field(default_factory=pd.DataFrame)
    reading_time_model: pd.DataFrame = field(default_factory=pd.DataFrame)
    reading_time_wilcoxon: pd.DataFrame = field(default_factory=pd.DataFrame)
    #: Fleiss κ among the human readers per compared modality, and their difference
    agreement_by_modality: pd.DataFrame = field(default_factory=pd.DataFrame)
    agreement_difference: pd.DataFrame = field(default_factory=pd.DataFrame)
    #: edits of the AI drafts per reader and modality (analysis.results_design.draft_edits)
    edits: pd.DataFrame = field(default_factory=pd.DataFrame)
    #: BLEU-4, ROUGE-L, METEOR, chrF per reader x run (and runs pooled) against the cases'
    #: reference impressions, and their paired differences between readers
    text_metrics: pd.DataFrame = field(default_factory=pd.DataFrame)
    text_metrics_tests: pd.DataFrame = field(default_factory=pd.DataFrame)
    #: per reader x finding x measure and per reader macro / micro F1 (issue 16)
    findings: pd.DataFrame = field(default_factory=pd.DataFrame)
    findings_summary: pd.DataFrame = field(default_factory=pd.DataFrame)
    #: pairwise preference, acceptability, errors and their agreement (analysis.results_judgments)
    judgments: Judgments = field(default_factory=Judgments)
    #: the AUCs and AUC tests use Obuchowski's clustered variance (analysis.results_accuracy)
    clustered: bool = False
    #: LR+, LR-, DOR, Youden's J per reader (reader, measure, statistic, ci_low, ci_high)
    accuracy: pd.DataFrame = field(default_factory=pd.DataFrame)
    #: when clustered: Se/Sp per reader with patient-clustered SE and CIs (Obuchowski 1998)
    clustered_accuracy: pd.DataFrame = field(default_factory=pd.DataFrame)
    #: paired sensitivity and specificity differences of every pair of readers (Newcombe)
    accuracy_tests: pd.DataFrame = field(default_factory=pd.DataFrame)
    #: McClish partial AUC and the Youden-optimal threshold per reader
    partial_auc: pd.DataFrame = field(default_factory=pd.DataFrame)
    youden: pd.DataFrame = field(default_factory=pd.DataFrame)
    #: the k-AUC chi-square test per modality
    omnibus_auc: pd.DataFrame = field(default_factory=pd.DataFrame)
    #: per-subgroup accuracy of each reader and Cochran's Q of the subgroup AUCs
    subgroups: pd.DataFrame = field(default_factory=pd.DataFrame)
    subgroup_heterogeneity: pd.DataFrame = field(default_factory=pd.DataFrame)
    #: each LLM judge against the human panel, one row per estimate (analysis.results_judges)
    judges: pd.DataFrame = field(default_factory=pd.DataFrame)
    #: wAFROC / AFROC of the readers' lesion marks (analysis.results_localisation)
    localisation: Localisation = field(default_factory=Localisation)
    notes: list[Note] = field(default_factory=list)

    @property
    def note_messages(self) -> list[str]:
        return [n.message for n in self.notes]

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
    "text metrics",
)

SPLIT_NAMES: dict[str, str] = {"test": "test", "train": "training", "all": "whole"}


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
    if readings.empty:
        out.notes.append(_empty_split_note(data))

    step(STEPS[0])
    out.final, out.rating_source = _final_readings(first, data.consensus)
    order = data.reader_order
    _score_notes(first, out.final, out.rating_source, out.notes)
    _small_class_notes(out.final, order, out.notes)

    step(STEPS[1])
    out.aucs, out.roc = _aucs(out.final, order, out.notes)
    out.auc_tests = _auc_tests(out.final, out.aucs, order, out.notes)
    out.aucs, out.auc_tests, out.clustered = clustered_rocs(
        out.final, data.cases, out.aucs, out.auc_tests, setting=options.clustered, notes=out.notes
    )
    out.auc_tests = _adjusted(out.auc_tests, "p_value", options.adjustment("delong"))

    step(STEPS[2])
    if len(out.final):
        perf = diagnostic_performance(
            out.final,
            truth="truth",
            category="category",
            reader="reader_id",
            case="case_id",
            threshold=data.threshold,
            method=options.proportion_ci,  # type: ignore[arg-type]
        )
        out.performance = _sort_by_order(perf, "reader", order)
    _accuracy(out, order)

    step(STEPS[3])
    out.inter = _inter_agreement(out.final, data, order, out.notes)
    out.intra = _intra_agreement(first, data, options, order, out.notes)
    out.mcnemar = _mcnemar(out.final, data, options, order, out.notes)
    _kappa_notes(out.inter, out.intra, out.notes)
    out.inter = inter_chance(
        out.inter, out.final, categories=data.categories, threshold=data.threshold
    )
    out.intra = intra_chance(out.intra, first, categories=data.categories, threshold=data.threshold)

    step(STEPS[4])
    _likert(out, order)

    step(STEPS[5])
    if len(out.modalities) > 1:
        out.mrmc, out.mrmc_design = _mrmc(readings, data, options, out.notes)
        out.mrmc_binary = _mrmc_binary(readings, data, out.mrmc_design, out.notes)

    kinds = dict(zip(data.readers["reader_id"], data.readers["kind"], strict=True))
    finals = {
        int(m): _final_readings(sub, data.consensus)[0]
        for m, sub in readings.groupby("modality", sort=True)
    }
    out.omnibus_auc = omnibus_tests(
        finals, data.cases, order, clustered=out.clustered, notes=out.notes
    )
    out.ai_vs_readers = ai_panel(
        finals,
        kinds,
        order,
        margin=options.ai_margin,
        threshold=data.threshold,
        notes=out.notes,
    )
    if out.mrmc_design is not None:
        out.mrmc_layout = reader_case_layout(
            readings[readings["modality"].isin(out.mrmc_design.modalities)]
        )
    (
        out.reading_time_summary,
        out.reading_time_model,
        out.reading_time_wilcoxon,
    ) = reading_times(readings, kinds, out.notes)
    out.agreement_by_modality, out.agreement_difference = agreement_by_modality(
        finals,
        kinds,
        order,
        categories=data.categories,
        n_boot=options.fleiss_boot,
        seed=options.seed,
        notes=out.notes,
    )
    out.edits = draft_edits(data.edits, order)
    out.judgments = judgments(
        data.preferences,
        data.acceptability,
        data.errors,
        order=order,
        kinds=kinds,
        scale=data.acceptability_values,
        cutoff=data.acceptability_cutoff,
        seed=options.seed,
        notes=out.notes,
    )

    likert_judges = judges(
        data.scores,
        _judge_scores(data, out.modality),
        low=data.likert_min,
        high=data.likert_max,
        p_adjust=options.adjustment("dunn"),
        seed=options.seed,
        notes=out.notes,
    )
    other_judges = judge_instruments(
        answers=data.judge_answers,
        preferences=data.preferences,
        judge_preferences=data.judge_preferences,
        acceptability=data.acceptability,
        judge_acceptability=data.judge_acceptability,
        grades=data.acceptability_values,
        likert=(data.likert_min, data.likert_max),
        seed=options.seed,
        notes=out.notes,
    )
    out.judges = pd.concat(
        [f for f in (likert_judges, other_judges) if len(f)] or [likert_judges],
        ignore_index=True,
    )

    out.localisation = localisation(
        readings,
        data.marks,
        data.truth_marks,
        radius=data.localisation_radius,
        slice_tolerance=data.localisation_slice_tolerance,
        order=order,
        notes=out.notes,
    )

    step(STEPS[6])
    out.baseline = _baseline(data, out.notes)

    step(STEPS[7])
    out.text_metrics, out.text_metrics_tests = _text_metrics(data, out.modality, options, out.notes)
    out.findings, out.findings_summary = findings_analysis(
        data.findings, data.reader_order, seed=options.seed, notes=out.notes
    )
    return out


# ---------------------------------------------------------------------------------------
# Steps
# ---------------------------------------------------------------------------------------


#: bootstrap replicates of the text metrics' CIs and paired differences
TEXT_METRICS_BOOT = 1000


def _text_language(references: pd.Series) -> str:
    """``"zh"`` when most reference impressions contain CJK characters, else ``"en"``."""
    cjk = references.str.contains(r"[\u4e00-\u9fff]", regex=True)
    return "zh" if float(cjk.mean()) >= 0.5 else "en"


def _text_metrics(
    data: StudyData, modality: int | None, options: AnalysisOptions, notes: list[Note]
) -> tuple[pd.DataFrame, pd.DataFrame]:
    texts = data.texts
    if len(texts) and modality is not None:
        texts = texts[texts["modality"] == modality]
    if not len(texts):
        notes.append(
            note(
                "text-metrics-none",
                "No reading has an impression on a case with a reference impression: "
                "no text metrics (BLEU-4, ROUGE-L, METEOR, chrF).",
            )
        )
        return pd.DataFrame(), pd.DataFrame()
    scores, tests = text_metrics_with_tests(
        texts.reset_index(drop=True),
        language=_text_language(texts["reference"]),  # type: ignore[arg-type]
        n_boot=TEXT_METRICS_BOOT,
        seed=options.seed,
    )
    order = {r: i for i, r in enumerate(data.reader_order)}
    # readers in display order, each reader's runs, then its runs pooled
    keys = scores.assign(_reader=scores["reader"].map(order), _pooled=scores["run"].isna())
    scores = scores.loc[keys.sort_values(["_reader", "_pooled"], kind="stable").index]
    return scores.reset_index(drop=True), tests.reset_index(drop=True)


def _accuracy(out: Analysis, order: Sequence[str]) -> None:
    """LR/DOR/J, paired accuracy differences, ROC summaries and subgroups (issue 18)."""
    options, data = out.options, out.data
    if out.final.empty:
        return
    out.accuracy = accuracy_measures(
        out.final, order, threshold=data.threshold, method=options.proportion_ci
    )
    out.accuracy_tests = accuracy_tests(out.final, order, threshold=data.threshold, notes=out.notes)
    out.clustered_accuracy = clustered_proportions(
        out.final,
        data.cases,
        threshold=data.threshold,
        clustered=out.clustered,
        seed=options.seed,
        notes=out.notes,
    )
    out.partial_auc, out.youden = roc_summaries(
        out.final, out.aucs, low=options.partial_auc_low, n_boot=options.roc_boot, seed=options.seed
    )
    out.subgroups, out.subgroup_heterogeneity = subgroups(
        out.final,
        data.cases,
        order,
        requested=options.subgroups,
        bins=options.subgroup_bins,
        edges=dict(options.subgroup_edges),
        threshold=data.threshold,
        method=options.proportion_ci,
        clustered=out.clustered,
        notes=out.notes,
    )


def _judge_scores(data: StudyData, modality: int | None) -> pd.DataFrame:
    """The judges' scores of the analysed modality's outputs (as ``data.scores``)."""
    scores = data.judge_scores
    if modality is None or scores.empty:
        return scores
    return scores[scores["modality"] == modality]


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


def _adjusted(frame: pd.DataFrame, column: str, method: str, by: str | None = None) -> pd.DataFrame:
    """``frame`` with ``p_adjusted`` (``column`` adjusted by ``method`` within each family:
    the whole frame, or each value of ``by``) and ``p_adjust`` (the method)."""
    if frame.empty:
        return frame.assign(p_adjusted=pd.Series(dtype=float), p_adjust=pd.Series(dtype=object))
    p = frame[column].to_numpy(dtype=float)
    adjusted = np.full(len(frame), np.nan)
    groups = (
        [np.arange(len(frame))] if by is None else frame.groupby(by, sort=False).indices.values()
    )
    for rows in groups:
        adjusted[rows] = adjust_p(p[rows], method)
    return frame.assign(p_adjusted=adjusted, p_adjust=method)


def _empty_split_note(data: StudyData) -> Note:
    """Why nothing was computed, and which split has readings."""
    here = SPLIT_NAMES.get(data.split, data.split)
    read = data.cases_read_by_split
    if sum(read.values()) == 0:
        return note("empty-split", "The study has no readings yet: nothing to analyse.")
    if data.split != "all" and read.get(data.split, 0) > 0:
        return note(
            "empty-split",
            f"No readings of the selected readers and runs in the {here} set: widen the "
            "reader or run filters.",
        )
    others = [
        f"the {SPLIT_NAMES[s]} set has {n} case{'s' if n != 1 else ''} with readings "
        f"(Cases: {SPLIT_NAMES[s]} set, or --split {s})"
        for s, n in sorted(read.items())
        if s != data.split and n > 0 and s in SPLIT_NAMES
    ]
    return note(
        "empty-split",
        f"The {here} set has no readings; " + "; ".join(others) + ".",
    )


def _final_readings(readings: pd.DataFrame, rule: str) -> tuple[pd.DataFrame, dict[str, str]]:
    """One row per reader × case: the consensus category and the ROC rating.

    A reader with at least one score is rated by its score: the mean over the runs of a
    case that have one; a case without any score gets a NaN rating (left out of the ROC
    analysis). A reader without scores is rated by its final category.
    """
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

    has_score = readings["score"].notna().groupby(readings["reader_id"]).any()
    source = {str(r): ("score" if bool(h) else "category") for r, h in has_score.items()}
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


def _score_notes(
    readings: pd.DataFrame, final: pd.DataFrame, source: dict[str, str], notes: list[Note]
) -> None:
    """A note for every reader rated by its score that has readings without one."""
    if final.empty:
        return
    missing = readings["score"].isna().groupby(readings["reader_id"]).sum()
    unrated = final["rating"].isna().groupby(final["reader_id"]).sum()
    for reader, kind in source.items():
        n_missing = int(missing.get(reader, 0))
        if kind != "score" or n_missing == 0:
            continue
        n_cases = int(unrated.get(reader, 0))
        n_total = int((final["reader_id"] == reader).sum())
        notes.append(
            note(
                "score-missing",
                f"Reader {reader}: {n_missing} reading(s) have no score; its ROC analysis "
                f"uses the score on the {n_total - n_cases} of its {n_total} cases that have "
                f"one ({n_cases} case(s) left out), never its category.",
                reader=reader,
            )
        )


def _small_class_notes(final: pd.DataFrame, order: Sequence[str], notes: list[Note]) -> None:
    if final.empty:
        return
    counts = final.groupby("reader_id")["truth"].agg(positive="sum", total="size")
    for reader in in_order(order, final["reader_id"]):
        positive = int(counts.loc[reader, "positive"])
        negative = int(counts.loc[reader, "total"]) - positive
        if 0 < positive < SMALL_CLASS or 0 < negative < SMALL_CLASS:
            notes.append(
                note(
                    "small-class",
                    f"Reader {reader} read {positive} positive and {negative} negative "
                    f"case(s): with fewer than {SMALL_CLASS} in a class the large-sample "
                    "CIs (DeLong AUC, κ) are unreliable.",
                    reader=reader,
                )
            )


def _aucs(
    final: pd.DataFrame, order: Sequence[str], notes: list[Note]
) -> tuple[pd.DataFrame, pd.DataFrame]:
    if final.empty:
        return pd.DataFrame(), pd.DataFrame()
    rated = final[final["rating"].notna()]
    classes = rated.groupby("reader_id")["truth"].agg(["min", "max"])
    ok = classes.index[(classes["min"] == 0) & (classes["max"] == 1)].tolist()
    for reader in in_order(order, final["reader_id"]):
        if reader not in ok:
            notes.append(
                note(
                    "one-class",
                    f"ROC: reader {reader} has read only one class of cases; no AUC.",
                    reader=reader,
                )
            )
    if not ok:
        return pd.DataFrame(), pd.DataFrame()
    usable = rated[rated["reader_id"].isin(ok)]
    aucs = reader_aucs(
        usable, truth="truth", rating="rating", reader="reader_id", case="case_id"
    ).rename(columns={"statistic": "auc"})
    roc = roc_curve(usable, truth="truth", rating="rating", reader="reader_id", case="case_id")
    aucs = _sort_by_order(aucs, "reader", order)
    spread = usable.groupby("reader_id")["rating"].agg(lambda r: float(np.ptp(r)))
    for a in aucs.to_dict("records"):
        if a["se"] == 0:
            reader = a["reader"]
            what = (
                "gives every case the same rating (AUC 0.5)"
                if spread.get(reader, 1.0) == 0
                else f"separates the classes perfectly (AUC {a['auc']:.0f})"
            )
            notes.append(
                note(
                    "zero-variance",
                    f"ROC: reader {reader} {what}: the DeLong SE is 0 and its AUC CI a single "
                    "point; DeLong tests against it rest on the other reader's variance alone.",
                    reader=reader,
                )
            )
    return aucs, _sort_by_order(roc, "reader", order)


def _auc_tests(
    final: pd.DataFrame, aucs: pd.DataFrame, order: Sequence[str], notes: list[Note]
) -> pd.DataFrame:
    columns = [
        "reader_a", "reader_b", "n_cases", "auc_a", "auc_b", "diff", "se", "z", "p_value",
        "ci_low", "ci_high",
    ]  # fmt: skip
    if aucs.empty or len(aucs) < 2:
        return pd.DataFrame(columns=columns)
    readers = in_order(order, aucs["reader"])
    usable = final[final["reader_id"].isin(readers) & final["rating"].notna()]
    wide = usable.pivot(index="case_id", columns="reader_id", values="rating")
    truth = usable.drop_duplicates("case_id").set_index("case_id")["truth"]
    rows = []
    if not wide.isna().to_numpy().any():
        tests = compare_readers(
            usable, truth="truth", rating="rating", reader="reader_id", case="case_id"
        ).rename(columns={"statistic": "diff"})
        tests["n_cases"] = len(wide)
        rows = tests.to_dict("records")
    else:
        notes.append(
            note(
                "different-cases",
                "DeLong tests: readers have rated different cases (cases not read, or without "
                "a score); each pair is compared on the cases both have rated.",
            )
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
                ).rename(columns={"statistic": "diff"})
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
    final: pd.DataFrame, data: StudyData, order: Sequence[str], notes: list[Note]
) -> pd.DataFrame:
    ref = data.reference_reader
    if final.empty:
        return pd.DataFrame()
    if ref is None:
        notes.append(
            note(
                "no-reference-reader",
                "Inter-observer agreement and McNemar tests: the study has no reference reader.",
            )
        )
        return pd.DataFrame()
    if ref not in distinct(final["reader_id"]):
        notes.append(
            note(
                "reference-not-selected",
                f"Inter-observer agreement and McNemar tests: the reference reader {ref} is "
                "not in the selection.",
                reader=ref,
            )
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
        ).rename(columns={"statistic": "kappa"})
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
    notes: list[Note],
) -> pd.DataFrame:
    columns = [
        "reader", "scale", "method", "ci_method", "n_runs", "n_cases", "n_omitted", "kappa",
        "se", "ci_low", "ci_high", "boot_ci_low", "boot_ci_high", "interpretation",
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
                se_method=KAPPA_CI_METHODS[options.kappa_ci],  # type: ignore[arg-type]
                n_boot=options.fleiss_boot,
                seed=options.seed,
                nan_policy="omit",
                **scale_kw,
            ).rename(columns={"statistic": "kappa", "p_value": "p"})
            for rec in table.to_dict("records"):
                rows.append(
                    {
                        **rec,
                        "method": "fleiss",
                        "ci_method": options.kappa_ci,
                        "n_runs": int(n_runs[rec["reader"]]),
                        "n_cases": int(rec["n_cases"]),
                        "n_omitted": int(rec["n_omitted"]),
                    }
                )
        dropped = {r["reader"]: r["n_omitted"] for r in rows if r["n_omitted"]}
        for reader in in_order(order, pd.Series(list(dropped), dtype=object)):
            n = dropped[reader]
            notes.append(
                note(
                    "kappa-cases-dropped",
                    f"Intra-observer agreement of {reader}: {n} case(s) without all "
                    f"{int(n_runs[reader])} runs are left out of Fleiss' κ (listwise).",
                    reader=reader,
                )
            )
    for reader in cohen_readers:
        sub = readings[readings["reader_id"] == reader]
        run_a, run_b = sorted(sub["run"].unique())
        notes.append(
            note(
                "intra-two-runs",
                f"Intra-observer agreement of {reader}: two runs, so Cohen's κ between run "
                f"{run_a} and run {run_b} (Fleiss' κ needs at least three).",
                reader=reader,
            )
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
                    "ci_method": "fleiss-cohen-everitt",
                    "n_runs": 2,
                    "n_cases": int(res["n"]),
                    "n_omitted": int(sub["case_id"].nunique()) - int(res["n"]),
                    "kappa": res["statistic"],
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


def _kappa_notes(inter: pd.DataFrame, intra: pd.DataFrame, notes: list[Note]) -> None:
    """Notes for κ that is undefined or has a zero standard error, naming the reader."""
    seen: set[tuple[str, str]] = set()
    for label, frame, key in (
        ("Inter-observer agreement", inter, "reader_a"),
        ("Intra-observer agreement", intra, "reader"),
    ):
        for rec in frame.to_dict("records") if len(frame) else []:
            reader, scale = str(rec[key]), rec["scale"]
            what = "positive call" if scale == "binary" else "full scale"
            if (label, reader) in seen:
                continue
            if pd.isna(rec["kappa"]):
                seen.add((label, reader))
                notes.append(
                    note(
                        "kappa-undefined",
                        f"{label} of {reader} ({what}): every rating is in one category, so "
                        "κ is undefined.",
                        reader=reader,
                    )
                )
            elif rec["se"] == 0:
                seen.add((label, reader))
                notes.append(
                    note(
                        "zero-variance",
                        f"{label} of {reader} ({what}): κ = {rec['kappa']:.2f} with a "
                        "standard error of 0 (a constant reader, or identical ratings), so "
                        "its CI is a single point.",
                        reader=reader,
                    )
                )


def _mcnemar(
    final: pd.DataFrame,
    data: StudyData,
    options: AnalysisOptions,
    order: Sequence[str],
    notes: list[Note],
) -> pd.DataFrame:
    """McNemar tests of each reader's sensitivity and specificity against the reference's.

    On the cases both read, at the study's positive threshold, exactly as
    :func:`analysis.stats.diagnostic.mcnemar_test` (vectorised over the readers with
    :func:`~analysis.stats.diagnostic.mcnemar_counts`); ``p`` is the exact (binomial)
    test, ``p_chisq`` R's continuity-corrected ``mcnemar.test``. The tests of one metric
    are one family for the p-value adjustment.
    """
    columns = [
        "reader_a", "reader_b", "metric", "n", "estimate_a", "estimate_b", "difference",
        "b", "c", "statistic", "p_chisq", "p_exact", "p",
    ]  # fmt: skip
    ref = data.reference_reader
    empty = pd.DataFrame(columns=[*columns, "p_adjusted", "p_adjust"])
    if final.empty or ref is None or ref not in distinct(final["reader_id"]):
        return empty
    # one row per reader x case, with the reference reader's call on the same case
    call = final.assign(_call=final["category"].to_numpy() >= data.threshold)
    reference = call.loc[call["reader_id"] == ref, ["case_id", "_call"]]
    pairs = call[call["reader_id"] != ref].merge(
        reference.rename(columns={"_call": "_ref_call"}), on="case_id"
    )
    rows = []
    for reader in in_order(order, final["reader_id"]):
        if reader == ref:
            continue
        mine = pairs[pairs["reader_id"] == reader]
        if mine["truth"].nunique() < 2:
            notes.append(
                note(
                    "mcnemar-no-reference",
                    f"McNemar: reader {reader} and the reference reader {ref} share no cases "
                    "of both classes; not tested.",
                    reader=reader,
                )
            )
            continue
        truth = mine["truth"].to_numpy() == 1
        a, b = mine["_call"].to_numpy(), mine["_ref_call"].to_numpy()
        for metric, subset, right_a, right_b in (
            ("sensitivity", truth, a, b),
            ("specificity", ~truth, ~a, ~b),
        ):
            ra, rb = right_a[subset], right_b[subset]
            rows.append(
                {
                    "reader_a": reader,
                    "reader_b": ref,
                    "metric": metric,
                    "n": int(subset.sum()),
                    "estimate_a": float(ra.mean()) if subset.any() else np.nan,
                    "estimate_b": float(rb.mean()) if subset.any() else np.nan,
                    "b": int((ra & ~rb).sum()),
                    "c": int((~ra & rb).sum()),
                }
            )
    if not rows:
        return empty
    out = pd.DataFrame(rows)
    out["difference"] = out["estimate_a"] - out["estimate_b"]
    tests = mcnemar_counts(out["b"].to_numpy(), out["c"].to_numpy())
    out["statistic"] = tests["statistic_corrected"].to_numpy()
    out["p_chisq"] = tests["p_corrected"].to_numpy()
    out["p_exact"] = tests["p_exact"].to_numpy()
    out["p"] = out["p_exact"]
    out = out[columns]
    out["_m"] = out["metric"].map({"sensitivity": 0, "specificity": 1})
    out = out.sort_values("_m", kind="stable").drop(columns="_m").reset_index(drop=True)
    return _adjusted(out, "p", options.adjustment("mcnemar"), by="metric")


def _likert(out: Analysis, order: Sequence[str]) -> None:
    data = out.data
    scores = data.scores
    if scores.empty:
        return
    low, high = data.likert_min, data.likert_max
    by_reader = likert_by_reader(
        scores, reader="reader_id", run="run", score="score", low=low, high=high
    ).rename(columns={"statistic": "mean"})
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
    ).rename(columns={"statistic": "mean"})
    domain_rank = {d: i for i, d in enumerate(data.domains["domain"])}
    group_rank = {g: i for i, g in enumerate(dict.fromkeys(data.domains["group"]))}
    by_domain = by_domain.assign(
        _g=by_domain["group"].map(group_rank),
        _d=by_domain["domain"].map(lambda d: domain_rank.get(d, -1) if d is not None else 10**6),
    ).sort_values(["_g", "_d"], kind="stable")
    out.likert_by_domain = _sort_by_order(by_domain.drop(columns=["_g", "_d"]), "reader", order)

    dunn_method = out.options.adjustment("dunn")
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
                note(
                    "likert-one-reader",
                    f"Likert{'' if run is None else f' run {run}'}: fewer than two readers "
                    "were rated; no Kruskal–Wallis or Dunn test.",
                )
            )
            continue
        kw = kruskal_wallis(
            sub, reader="reader_id", run=None, score="score", low=low, high=high
        ).rename(columns={"statistic": "h", "p_value": "p"})
        dn = dunn_test(
            sub,
            reader="reader_id",
            run=None,
            score="score",
            low=low,
            high=high,
            p_adjust=dunn_method,  # type: ignore[arg-type]
        ).rename(columns={"statistic": "z", "p_value": "p"})
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
        out.dunn = (
            dunn.drop(columns=["_r", "_a", "_b"])
            .reset_index(drop=True)
            .assign(p_adjust=dunn_method)
        )
    out.likert_paired = likert_paired(
        scores,
        order=order,
        domains=list(data.domains["domain"]),
        low=low,
        high=high,
        seed=out.options.seed,
        notes=out.notes,
    )
    out.reliability = _reliability(out, groups)


#: The columns that identify one rated output (a unit of the raters' reliability).
OUTPUT_UNIT: tuple[str, ...] = ("reader_id", "case_id", "run", "modality")


def _reliability(out: Analysis, groups: dict[str, str]) -> pd.DataFrame:
    """Inter-rater reliability of the Likert panel per domain.

    Units are the rated outputs (reader × case × run × modality), raters the panel.
    Krippendorff's α (ordinal) uses every pairable score, with a unit-bootstrap CI;
    ICC(2,1) (two-way random, absolute agreement, single rater) the outputs every rater
    scored.
    """
    data, options = out.data, out.options
    columns = [
        "domain", "group", "level", "n_units", "n_raters", "n_values", "alpha", "alpha_ci_low",
        "alpha_ci_high", "icc_type", "icc_units", "icc", "icc_ci_low", "icc_ci_high",
    ]  # fmt: skip
    scores = data.scores
    if scores.empty:
        return pd.DataFrame(columns=columns)
    # integer codes of the rated output (the unit of α and the target of the ICC) and of
    # the rater, computed once: the per-domain calls then group small integer columns
    scores = pd.DataFrame(
        {
            "rater": pd.factorize(scores["rater_id"])[0],
            "output": scores.groupby(list(OUTPUT_UNIT), sort=False).ngroup().to_numpy(),
            "score": scores["score"].to_numpy(),
            "domain": pd.factorize(scores["domain"])[0],
        }
    )
    domain_codes = {d: i for i, d in enumerate(pd.unique(data.scores["domain"]))}
    rows = []
    for domain in data.domains["domain"]:
        sub = scores[scores["domain"] == domain_codes.get(domain, -1)]
        if sub.empty:
            continue
        row: dict[str, Any] = {"domain": domain, "group": groups.get(domain), "level": "ordinal"}
        n_raters = int(sub["rater"].nunique())
        if n_raters < 2:
            out.notes.append(
                note(
                    "reliability-undefined",
                    f"Likert reliability of {domain}: scored by {n_raters} rater; α and the "
                    "ICC need at least two.",
                )
            )
            rows.append(row | {"n_raters": n_raters, "icc_type": "ICC2"})
            continue
        alpha = krippendorff_alpha(
            sub,
            rater="rater",
            unit="output",
            score="score",
            level="ordinal",
            low=data.likert_min,
            high=data.likert_max,
            n_boot=options.alpha_boot,
            seed=options.seed,
        ).iloc[0]
        row |= {
            "n_units": int(alpha["n_units"]),
            "n_raters": n_raters,
            "n_values": int(alpha["n_values"]),
            "alpha": alpha["statistic"],
            "alpha_ci_low": alpha["ci_low"],
            "alpha_ci_high": alpha["ci_high"],
            "icc_type": "ICC2",
        }
        try:
            table = icc(
                sub,
                rater="rater",
                target="output",
                score="score",
                nan_policy="omit",
            ).set_index("type")
        except ValueError as exc:
            out.notes.append(
                note("reliability-undefined", f"Likert reliability of {domain}: no ICC ({exc}).")
            )
        else:
            icc2 = table.loc["ICC2"]
            n_units = int(sub["output"].nunique())
            row |= {
                "icc_units": int(icc2["n_targets"]),
                "icc": icc2["statistic"],
                "icc_ci_low": icc2["ci_low"],
                "icc_ci_high": icc2["ci_high"],
            }
            if int(icc2["n_targets"]) < n_units:
                out.notes.append(
                    note(
                        "reliability-incomplete",
                        f"Likert reliability of {domain}: {n_units - int(icc2['n_targets'])} "
                        f"of {n_units} outputs not scored by all {n_raters} raters are left "
                        "out of the ICC (α uses them).",
                    )
                )
        rows.append(row)
    return pd.DataFrame(rows).reindex(columns=columns)


# ---------------------------------------------------------------------------------------
# MRMC
# ---------------------------------------------------------------------------------------

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
class MRMCDesign:
    """The fully crossed part of the readings that the MRMC analysis uses."""

    modalities: list[int]
    readers: list[str]
    cases: list[str]
    n_positive: int
    #: "crossed" or "split-plot" (:data:`MRMC_DESIGNS`)
    kind: str = "crossed"
    #: the reader groups of a split-plot design (one group, every reader, when crossed)
    groups: list[list[str]] = field(default_factory=list)


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
) -> tuple[MRMCDesign | None, list[Note]]:
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
    MRMCDesign or None, list of Note
        The design maximises the number of modality × reader × case cells over every
        subset of at least two modalities (for each, readers are dropped greedily while
        that adds cells), with at least two readers and :data:`MRMC_MIN_CLASS` positive
        and negative cases; ties go to more modalities, then to lower modality numbers.
        ``None`` (with a ``mrmc-not-crossed`` note) when there is no such design.
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
            note(
                "mrmc-not-crossed",
                "MRMC: not computed, because the design is not fully crossed. The OR/Hillis "
                "analysis needs at least two modalities read by the same two or more readers "
                f"on the same cases (at least {MRMC_MIN_CLASS} positive and "
                f"{MRMC_MIN_CLASS} negative)."
                + (f" Read so far: {'; '.join(per_modality)}." if per_modality else ""),
            )
        ]

    _, subset, kept, crossed = best
    chosen = [mods[i] for i in subset]
    notes: list[Note] = []
    for i, m in enumerate(mods):
        if i in subset:
            continue
        who = [readers[j] for j in np.flatnonzero(present[i].any(axis=1))]
        n_c = int(present[i].any(axis=0).sum())
        notes.append(
            note(
                "mrmc-modality-dropped",
                f"MRMC: {modality_name(m, labels)} is left out because it is not fully "
                f"crossed with the others: {len(who)} reader{'s' * (len(who) != 1)} "
                f"({_listing(who)}) read {n_c} case{'s' * (n_c != 1)} in it, and every reader "
                f"must read every case. The analysis compares {_names(chosen, labels)}.",
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
            note(
                "mrmc-readers-dropped",
                f"MRMC: {len(who)} reader{'s' * (len(who) != 1)} without readings in "
                f"{_names(absent, labels)} {'are' if len(who) != 1 else 'is'} left out: "
                f"{_listing(who)}.",
                reader=who[0] if len(who) == 1 else None,
            )
        )
    if sparse:
        notes.append(
            note(
                "mrmc-readers-dropped",
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
            note(
                "mrmc-cases-dropped",
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
    readings: pd.DataFrame, data: StudyData, options: AnalysisOptions, notes: list[Note]
) -> tuple[list[MRMCResult], MRMCDesign | None]:
    frames = []
    for modality, sub in readings.groupby("modality", sort=True):
        final, _ = _final_readings(sub, data.consensus)
        frames.append(final.assign(modality=int(modality)))
    long = pd.concat(frames, ignore_index=True)
    # A reader uses its scores only if every reading in every modality has one (the same
    # rating in every modality); a reader with some scores missing is said to use its
    # category instead.
    missing = readings["score"].isna().groupby(readings["reader_id"]).any()
    partial = readings["score"].notna().groupby(readings["reader_id"]).any() & missing
    for reader in sorted(str(r) for r in partial.index[partial]):
        notes.append(
            note(
                "score-missing",
                f"MRMC: reader {reader} has readings without a score, so its MRMC figure of "
                "merit uses its category in every modality.",
                reader=reader,
            )
        )
    uses_category = long["reader_id"].map(missing).astype(bool)
    long.loc[uses_category, "rating"] = long.loc[uses_category, "category"].astype(float)
    long = long[long["rating"].notna()]
    labels = data.modality_labels
    if reader_case_layout(long) == "split-plot":
        split = _mrmc_split_plot(long, data, options, notes)
        if split is not None:
            return split
    design, design_notes = mrmc_design(long, order=data.reader_order, labels=labels)
    notes += design_notes
    if design is None:
        return [], None
    long = long[
        long["modality"].isin(design.modalities)
        & long["reader_id"].isin(design.readers)
        & long["case_id"].isin(design.cases)
    ]

    def fit(analysis: str) -> MRMCResult:
        return mrmc(
            long,
            truth="truth",
            rating="rating",
            reader="reader_id",
            modality="modality",
            case="case_id",
            analysis=analysis,  # type: ignore[arg-type]
            covariance=options.mrmc_covariance,  # type: ignore[arg-type]
        )

    return _mrmc_runs(fit, notes), design


def _mrmc_split_plot(
    long: pd.DataFrame, data: StudyData, options: AnalysisOptions, notes: list[Note]
) -> tuple[list[MRMCResult], MRMCDesign] | None:
    """The split-plot OR/Hillis analysis of readings in reader groups with their own cases.

    ``None`` (with an ``mrmc-split-plot`` note) when a group cannot be analysed, for
    example a block with fewer than two positive or negative cases; the crossed analysis
    (:func:`mrmc_design`) is then tried instead.
    """

    def fit(analysis: str) -> MRMCResult:
        return mrmc_split_plot(
            long,
            truth="truth",
            rating="rating",
            reader="reader_id",
            modality="modality",
            case="case_id",
            analysis=analysis,  # type: ignore[arg-type]
        )

    cells = long[["reader_id", "case_id"]].drop_duplicates()
    blocks = cells.groupby("reader_id")["case_id"].agg(frozenset)
    groups = [
        [r for r in in_order(data.reader_order, blocks.index) if blocks[r] == block]
        for block in dict.fromkeys(blocks[r] for r in in_order(data.reader_order, blocks.index))
    ]
    sizes = "; ".join(f"{', '.join(g)}: {len(blocks[g[0]])} cases" for g in groups)
    try:
        fit(MRMC_ANALYSES[0])
    except ValueError:
        notes.append(
            note(
                "mrmc-split-plot",
                f"MRMC: the readings are split-plot ({len(groups)} reader groups, each "
                f"reading its own cases: {sizes}), but the split-plot analysis needs at least "
                f"{MRMC_MIN_CLASS} positive and {MRMC_MIN_CLASS} negative cases in every "
                "group's block, so it is not computed (the crossed analysis is tried instead: "
                "see the other MRMC notes).",
            )
        )
        return None
    covariance = (
        ""
        if options.mrmc_covariance == "jackknife"
        else f" (jackknife covariance within each group, not {options.mrmc_covariance})"
    )
    notes.append(
        note(
            "mrmc-split-plot",
            f"MRMC: split-plot design: {len(groups)} reader groups, each reading its own "
            f"block of cases in every modality ({sizes}). The OR/Hillis analysis uses the "
            f"jackknife within each group and no covariance between groups{covariance}.",
        )
    )
    design = MRMCDesign(
        modalities=sorted(int(m) for m in long["modality"].unique()),
        readers=[r for g in groups for r in g],
        cases=cells["case_id"].drop_duplicates().tolist(),
        n_positive=int(long.drop_duplicates("case_id")["truth"].sum()),
        kind="split-plot",
        groups=groups,
    )
    return _mrmc_runs(fit, notes), design


def _mrmc_runs(fit: Callable[[str], MRMCResult], notes: list[Note]) -> list[MRMCResult]:
    """``fit`` of every analysis of :data:`MRMC_ANALYSES`, with the notes of each."""
    results = []
    for analysis in MRMC_ANALYSES:
        try:
            res = fit(analysis)
        except ValueError:
            logger.exception("MRMC %s failed on a fully crossed design", analysis)
            notes.append(
                note(
                    "mrmc-not-computed",
                    f"MRMC {analysis}: could not be computed on this design.",
                )
            )
            continue
        if _no_error_term(res):
            notes.append(
                note(
                    "mrmc-no-test",
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
                    note(
                        "mrmc-no-test",
                        f"MRMC: reader {reader}'s change of AUC between the modalities has no "
                        "variance (its ratings order the cases the same way in every "
                        "modality), so it has no per-reader test or CI.",
                        reader=reader,
                    )
                )
        results.append(res)
    return results


def _mrmc_binary(
    readings: pd.DataFrame, data: StudyData, design: MRMCDesign | None, notes: list[Note]
) -> list[MRMCResult]:
    """OR/Hillis of sensitivity and specificity on the design of the AUC analysis.

    The decisions are the final categories at the study's positive threshold; the design
    (crossed or split-plot, its modalities, readers and cases) is the one ``mrmc`` used.
    Without a design nothing is computed (the ``mrmc-not-crossed`` note says why).
    """
    if design is None:
        return []
    frames = []
    for modality, sub in readings.groupby("modality", sort=True):
        if int(modality) in design.modalities:
            final, _ = _final_readings(sub, data.consensus)
            frames.append(final.assign(modality=int(modality)))
    long = pd.concat(frames, ignore_index=True)
    long = long[
        long["reader_id"].isin(design.readers)
        & long["case_id"].isin(design.cases)
        & long["category"].notna()
    ]
    split = design.kind == "split-plot"
    fit = mrmc_split_plot if split else mrmc
    results: list[MRMCResult] = []
    for fom in MRMC_BINARY_FOMS:
        cls = "positive" if fom == "sensitivity" else "negative"
        for analysis in MRMC_ANALYSES:
            try:
                res = fit(
                    long,
                    truth="truth",
                    rating="category",
                    reader="reader_id",
                    modality="modality",
                    case="case_id",
                    analysis=analysis,  # type: ignore[arg-type]
                    fom=fom,  # type: ignore[arg-type]
                    threshold=float(data.threshold),
                )
            except ValueError:
                notes.append(
                    note(
                        "mrmc-binary-not-computed",
                        f"MRMC of {fom}: not computed, because it needs at least "
                        f"{MRMC_MIN_CLASS} {cls} cases"
                        + (" in every reader group's block." if split else "."),
                    )
                )
                break
            if _no_error_term(res):
                if analysis == MRMC_ANALYSES[0]:
                    notes.append(
                        note(
                            "mrmc-binary-not-computed",
                            f"MRMC of {fom}: no test, because its error term is zero (for "
                            f"example, every reader's {fom} is the same in every modality); "
                            "the values are shown, F, p and the CIs of the differences are "
                            "left empty.",
                        )
                    )
                res = _without_test(res)
            results.append(res)
    return results


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
    comparisons = res.comparisons.assign(t=np.nan, p_value=np.nan, ci_low=np.nan, ci_high=np.nan)
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
    the negated ``statistic`` of the engine), e.g. "Modality 2 (AI-assisted) raised the average
    AUC over modality 1 (unaided) by 0.078 (95% CI 0.014 to 0.142), p = 0.033, from 0.712
    to 0.790; readers and cases treated as random (...)".
    """
    level = f"{round(result.confidence * 100):d}%"
    alpha = f"{round((1 - result.confidence) * 100):d}%"
    means = dict(zip(result.modalities["modality"], result.modalities["statistic"], strict=True))
    out = []
    for c in result.comparisons.itertuples(index=False):
        a, b = int(c.modality_a), int(c.modality_b)
        change, low, high = -float(c.statistic), -float(c.ci_high), -float(c.ci_low)
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
            f"{r.reader} {'+' if -r.statistic >= 0 else '−'}{abs(float(r.statistic)):.3f} "
            + (
                f"({level} CI {_fmt3(-float(r.ci_high))} to {_fmt3(-float(r.ci_low))})"
                if math.isfinite(float(r.ci_low)) and math.isfinite(float(r.ci_high))
                else "(no test)"
            )
            for r in part.itertuples(index=False)
        ]
        largest = part.loc[(-part["statistic"]).abs().idxmax(), "reader"]
        out.append(
            f"Change of AUC from {modality_name(int(a), labels)} to "
            f"{modality_name(int(b), labels)} per reader (cases random): "
            + "; ".join(shown)
            + f". The largest change is {largest}'s."
        )
    return out


def _baseline(data: StudyData, notes: list[Note]) -> pd.DataFrame:
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
                ).rename(columns={"p_value": "p"})
            except ValueError as exc:
                notes.append(
                    note("baseline-not-compared", f"Baseline: {name} not compared ({exc}).")
                )
                continue
            rows.append(table.assign(kind="categorical"))
        else:
            pos = values[cases["truth"] == 1].dropna().to_numpy(dtype=float)
            neg = values[cases["truth"] == 0].dropna().to_numpy(dtype=float)
            if len(pos) < 2 or len(neg) < 2:
                notes.append(
                    note(
                        "baseline-not-compared",
                        f"Baseline: {name} has fewer than two values in a class.",
                    )
                )
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
    """The ``results.json`` document (contract in docs/architecture.md) of ``analysis``.

    Besides the contract keys some entries carry documented extras (docs/analysis.md):
    ``readers[*]``: ``label, n, rating, auc_n``; ``agreement`` rows: ``method, n,
    interpretation`` (and ``n_runs, n_omitted, boot_ci, ci_method`` for intra);
    ``auc_tests``: ``n_cases, se, p_adjusted, p_adjust``; ``dunn``: ``n_a, n_b,
    p_adjust``; ``kruskal``: ``n, k``; ``likert.by_reader`` / ``by_domain``: ``sd``;
    ``likert.reliability``; ``mrmc[*]``: ``labels, aucs_ci, readers, n_cases, n_positive,
    reader_aucs, reader_comparisons, summary``. New top-level keys: ``modality`` (of the
    per-reader results, after ``n_positive``) and, after the contract's, ``mcnemar``,
    ``methods`` (how the CIs and p values were computed) and ``notes`` (MRMC notes too).
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
                auc=_f(a["auc"]),
                auc_se=_f(a["se"]),
                auc_ci=[_f(a["ci_low"]), _f(a["ci_high"])],
                auc_n=_i(a["n_positive"] + a["n_negative"]),
                method=a.get("method", "delong"),
                clustered=analysis.clustered,
            )
        else:
            entry.update(auc=None, auc_se=None, auc_ci=[None, None], auc_n=0)
        p = perf.loc[reader]
        entry.update(n=_i(p["n"]), tp=_i(p["tp"]), fp=_i(p["fp"]), tn=_i(p["tn"]), fn=_i(p["fn"]))
        for m in METRICS:
            entry[m] = _f(p[m])
            entry[f"{m}_ci"] = [_f(p[f"{m}_ci_low"]), _f(p[f"{m}_ci_high"])]
        entry.update(reader_accuracy_json(analysis.accuracy, reader))
        entry.update(reader_cluster_json(analysis.clustered_accuracy, reader))
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
            "p_adjusted": _f(r["p_adjusted"]),
            "p_adjust": r["p_adjust"],
            "method": r.get("method", "delong"),
        }
        for r in analysis.auc_tests.to_dict("records")
    ]
    mcnemar = [
        {
            "reader_a": r["reader_a"],
            "reader_b": r["reader_b"],
            "metric": r["metric"],
            "n": _i(r["n"]),
            "estimate_a": _f(r["estimate_a"]),
            "estimate_b": _f(r["estimate_b"]),
            "diff": _f(r["difference"]),
            "b": _i(r["b"]),
            "c": _i(r["c"]),
            "statistic": _f(r["statistic"]),
            "p_chisq": _f(r["p_chisq"]),
            "p_exact": _f(r["p_exact"]),
            "p": _f(r["p"]),
            "p_adjusted": _f(r["p_adjusted"]),
            "p_adjust": r["p_adjust"],
        }
        for r in analysis.mcnemar.to_dict("records")
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
            **_chance_json(r),
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
            "ci_method": r["ci_method"],
            "n": _i(r["n_cases"]),
            "n_omitted": _i(r["n_omitted"]),
            "n_runs": _i(r["n_runs"]),
            "boot_ci": [_f(r["boot_ci_low"]), _f(r["boot_ci_high"])],
            "interpretation": r["interpretation"],
            **_chance_json(r),
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
            "p_adjust": r["p_adjust"],
            "n_a": _i(r["n_a"]),
            "n_b": _i(r["n_b"]),
        }
        for r in analysis.dunn.to_dict("records")
    ]
    reliability = [
        {
            "domain": r["domain"],
            "group": r["group"],
            "n_units": _i(r["n_units"]),
            "n_raters": _i(r["n_raters"]),
            "alpha_level": r["level"],
            "alpha": _f(r["alpha"]),
            "alpha_ci": [_f(r["alpha_ci_low"]), _f(r["alpha_ci_high"])],
            "icc_type": r["icc_type"],
            "icc_n_units": _i(r["icc_units"]),
            "icc": _f(r["icc"]),
            "icc_ci": [_f(r["icc_ci_low"]), _f(r["icc_ci_high"])],
        }
        for r in analysis.reliability.to_dict("records")
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
            "reliability": reliability,
        },
        "likert_paired": likert_paired_json(analysis.likert_paired),
        "mrmc": [_mrmc_entry(m, analysis) for m in analysis.mrmc],
        "mcnemar": mcnemar,
        "ai_vs_readers": _ai_vs_readers_json(analysis),
        "reading_time": _reading_time_json(analysis),
        "agreement_by_modality": _agreement_by_modality_json(analysis),
        "edits": _edits_json(analysis),
        "mrmc_binary": [_mrmc_binary_entry(m, analysis) for m in analysis.mrmc_binary],
        "text_metrics": [
            {
                "reader": r["reader"],
                "run": _run(r["run"]),
                "metric": r["metric"],
                "value": _f(r["statistic"]),
                "ci": [_f(r["ci_low"]), _f(r["ci_high"])],
                "n": _i(r["n"]),
            }
            for r in analysis.text_metrics.to_dict("records")
        ],
        "text_metrics_tests": [
            {
                "reader_a": r["reader_a"],
                "reader_b": r["reader_b"],
                "metric": r["metric"],
                "diff": _f(r["statistic"]),
                "ci": [_f(r["ci_low"]), _f(r["ci_high"])],
                "p": _f(r["p_value"]),
                "n": _i(r["n"]),
            }
            for r in analysis.text_metrics_tests.to_dict("records")
        ],
        **judgments_json(analysis.judgments),
        "clustered": analysis.clustered,
        "accuracy_tests": accuracy_tests_json(analysis.accuracy_tests),
        "partial_auc": partial_auc_json(analysis.partial_auc),
        "youden_threshold": youden_json(analysis.youden),
        "omnibus_auc": omnibus_json(analysis.omnibus_auc),
        "subgroups": subgroups_json(analysis.subgroups, analysis.subgroup_heterogeneity),
        "judges": judges_json(analysis.judges),
        "findings": findings_json(analysis.findings, analysis.findings_summary),
        "localisation": localisation_json(analysis.localisation),
        "methods": analysis_methods(analysis.options),
        "notes": [n.as_dict() for n in analysis.notes],
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
            {
                "reader": r.reader,
                "modality": int(r.modality),
                "auc": _f(r.statistic),
                "se": _f(r.se),
            }
            for r in result.reader_aucs.itertuples(index=False)
        ],
        reader_comparisons=[
            {
                "reader": r.reader,
                "modality_a": int(r.modality_a),
                "modality_b": int(r.modality_b),
                "diff": _f(r.statistic),
                "se": _f(r.se),
                "ci": [_f(r.ci_low), _f(r.ci_high)],
                "p": _f(r.p_value),
            }
            for r in result.reader_comparisons.itertuples(index=False)
        ],
        summary=mrmc_summary(result, labels),
        design=design.kind if design else MRMC_DESIGNS[0],
        reader_groups=(design.groups or [list(design.readers)]) if design else [],
        layout=analysis.mrmc_layout,
        noninferiority=_noninferiority_json(result, analysis.options.ai_margin),
    )
    return entry


def _noninferiority_json(result: MRMCResult, margin: float) -> list[dict[str, Any]]:
    """``mrmc[*].noninferiority``: each later modality against each earlier one."""
    return [
        {
            "reference": _i(r["reference"]),
            "treatment": _i(r["treatment"]),
            "margin": _f(r["margin"]),
            "difference": _f(r["statistic"]),
            "ci": [_f(r["ci_low"]), _f(r["ci_high"])],
            "t": _f(r["t"]),
            "df": _f(r["df"]),
            "p": _f(r["p_value"]),
            "noninferior": None if pd.isna(r["noninferior"]) else bool(r["noninferior"]),
            "note": r["note"],
        }
        for r in mrmc_noninferiority(result, margin=margin).to_dict("records")
    ]


def _mrmc_binary_entry(result: MRMCResult, analysis: Analysis) -> dict[str, Any]:
    """An ``mrmc_binary`` entry: :meth:`MRMCResult.to_dict` with the figure of merit."""
    labels = analysis.data.modality_labels
    design = analysis.mrmc_design
    m = result.modalities
    entry = result.to_dict()
    values = entry.pop("aucs")
    return {
        "fom": result.fom,
        "threshold": int(analysis.data.threshold),
        "design": design.kind if design else MRMC_DESIGNS[0],
        **entry,
        "labels": [labels.get(int(v)) for v in m["modality"]],
        "values": values,
        "values_ci": [[_f(lo), _f(hi)] for lo, hi in zip(m["ci_low"], m["ci_high"], strict=True)],
        "reader_values": [
            {
                "reader": r.reader,
                "modality": int(r.modality),
                "value": _f(r.statistic),
                "se": _f(r.se),
            }
            for r in result.reader_aucs.itertuples(index=False)
        ],
    }


def _chance_json(r: dict[str, Any]) -> dict[str, Any]:
    """Gwet's AC1 and PABAK (with CIs) of an agreement row, beside its κ."""
    return {
        "ac1": _f(r.get("ac1")),
        "ac1_ci": [_f(r.get("ac1_ci_low")), _f(r.get("ac1_ci_high"))],
        "pabak": _f(r.get("pabak")),
        "pabak_ci": [_f(r.get("pabak_ci_low")), _f(r.get("pabak_ci_high"))],
    }


def _ai_vs_readers_json(analysis: Analysis) -> list[dict[str, Any]]:
    return [
        {
            "reader": r["reader"],
            "modality": _i(r["modality"]),
            "fom": r["fom"],
            "ai": _f(r["ai_fom"]),
            "readers_mean": _f(r["readers_mean"]),
            "diff": _f(r["statistic"]),
            "ci": [_f(r["ci_low"]), _f(r["ci_high"])],
            "t": _f(r["t"]),
            "df": _f(r["df"]),
            "p": _f(r["p_value"]),
            "margin": _f(r["margin"]),
            "noninferior": None if pd.isna(r["noninferior"]) else bool(r["noninferior"]),
            "p_noninferiority": _f(r["p_noninferiority"]),
            "method": r["method"],
            "n_readers": _i(r["n_readers"]),
            "n_cases": _i(r["n_cases"]),
        }
        for r in analysis.ai_vs_readers.to_dict("records")
    ]


def _reading_time_json(analysis: Analysis) -> dict[str, Any]:
    summary = [
        {
            "reader": r["reader"],
            "modality": _i(r["modality"]),
            "n": _i(r["n"]),
            "median": _f(r["median"]),
            "iqr": [_f(r["q1"]), _f(r["q3"])],
        }
        for r in analysis.reading_time_summary.to_dict("records")
    ]
    model = None
    if len(analysis.reading_time_model):
        m = analysis.reading_time_model.iloc[0]
        model = {
            "reference": _i(m["reference"]),
            "treatment": _i(m["treatment"]),
            "ratio": _f(m["statistic"]),
            "ci": [_f(m["ci_low"]), _f(m["ci_high"])],
            "p": _f(m["p_value"]),
            "n": _i(m["n"]),
            "note": m["note"] or None,
        }
    wilcoxon = [
        {
            "reader": r["reader"],
            "n": _i(r["n"]),
            "v": _f(r["statistic"]),
            "p": _f(r["p_value"]),
            "median_diff": _f(r["median_diff"]),
        }
        for r in analysis.reading_time_wilcoxon.to_dict("records")
    ]
    return {"summary": summary, "model": model, "wilcoxon": wilcoxon}


def _edits_json(analysis: Analysis) -> list[dict[str, Any]]:
    return [
        {
            "reader": r["reader"],
            "modality": _i(r["modality"]),
            "n": _i(r["n"]),
            "edit_distance_median": _f(r["edit_distance_median"]),
            "edit_distance_iqr": [_f(r["edit_distance_q1"]), _f(r["edit_distance_q3"])],
            "edit_words_median": _f(r["edit_words_median"]),
            "edit_words_iqr": [_f(r["edit_words_q1"]), _f(r["edit_words_q3"])],
            "drafting_seconds_median": _f(r["drafting_seconds_median"]),
        }
        for r in analysis.edits.to_dict("records")
    ]


def _agreement_by_modality_json(analysis: Analysis) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = [
        {
            "modality": _i(r["modality"]),
            "kappa": _f(r["kappa"]),
            "ci": [_f(r["ci_low"]), _f(r["ci_high"])],
            "n_readers": _i(r["n_readers"]),
            "n_cases": _i(r["n_cases"]),
        }
        for r in analysis.agreement_by_modality.to_dict("records")
    ]
    for r in analysis.agreement_difference.to_dict("records"):
        out.append(
            {
                "modality_a": _i(r["modality_a"]),
                "modality_b": _i(r["modality_b"]),
                "diff": _f(r["statistic"]),
                "ci": [_f(r["ci_low"]), _f(r["ci_high"])],
                "p": _f(r["p_value"]),
                "n_boot": _i(r["n_boot"]),
            }
        )
    return out


def analysis_methods(options: AnalysisOptions) -> dict[str, Any]:
    """How the intervals and p values of an analysis were computed (``results.json``
    ``methods``): one code per estimate, explained in docs/analysis.md."""
    return {
        "auc_ci": "delong-truncated",
        "auc_test": "delong-paired",
        "proportion_ci": options.proportion_ci,
        "cohen_kappa_ci": "fleiss-cohen-everitt",
        "fleiss_kappa_ci": options.kappa_ci,
        "fleiss_kappa_boot": options.fleiss_boot,
        "mcnemar_p": "exact",
        "likert_alpha": "krippendorff-ordinal",
        "likert_alpha_boot": options.alpha_boot,
        "likert_icc": "ICC2",
        "mrmc_covariance": options.mrmc_covariance,
        "ai_vs_readers": "1T-RRRC",
        "ai_margin": options.ai_margin,
        "reading_time_model": "lmm-log-time-reader-case",
        "kappa_difference_boot": options.fleiss_boot,
        "p_adjust": dict(options.p_adjust),
        "confidence": 0.95,
    }
