"""The statistical methods paragraph (``methods.md``) and the STARD-AI checklist
(``stard_ai.md``) of an analysis, written from its options and from what it computed.

Every sentence comes from the :class:`analysis.results.Analysis` at hand: a test that
was not computed (no Likert scores, one modality, no reference reader) is not described,
and the CI methods, p-value adjustments, consensus rule, bootstrap resamples and seeds
are those of :class:`analysis.results.AnalysisOptions`. Each method cites its references
by key (:data:`REFERENCES`); the reference list holds exactly the cited ones, numbered in
order of first citation.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import Path

from analysis.manifest import package_versions
from analysis.results import Analysis
from analysis.stats.multiplicity import P_ADJUST_LABELS

#: key -> the reference as the list prints it.
REFERENCES: dict[str, str] = {
    "delong1988": "DeLong ER, DeLong DM, Clarke-Pearson DL. Comparing the areas under two or "
    "more correlated receiver operating characteristic curves: a nonparametric approach. "
    "Biometrics. 1988;44(3):837–845.",
    "robin2011": "Robin X, Turck N, Hainard A, et al. pROC: an open-source package for R and "
    "S+ to analyze and compare ROC curves. BMC Bioinformatics. 2011;12:77.",
    "clopper1934": "Clopper CJ, Pearson ES. The use of confidence or fiducial limits "
    "illustrated in the case of the binomial. Biometrika. 1934;26(4):404–413.",
    "wilson1927": "Wilson EB. Probable inference, the law of succession, and statistical "
    "inference. J Am Stat Assoc. 1927;22(158):209–212.",
    "mcnemar1947": "McNemar Q. Note on the sampling error of the difference between "
    "correlated proportions or percentages. Psychometrika. 1947;12(2):153–157.",
    "fleiss1971": "Fleiss JL. Measuring nominal scale agreement among many raters. Psychol "
    "Bull. 1971;76(5):378–382.",
    "fleiss1979": "Fleiss JL, Nee JCM, Landis JR. Large sample variance of kappa in the case "
    "of different sets of raters. Psychol Bull. 1979;86(5):974–977.",
    "gwet2014": "Gwet KL. Handbook of Inter-Rater Reliability. 4th ed. Gaithersburg, MD: "
    "Advanced Analytics; 2014.",
    "gwet2008": "Gwet KL. Computing inter-rater reliability and its variance in the presence "
    "of high agreement. Br J Math Stat Psychol. 2008;61(1):29–48.",
    "byrt1993": "Byrt T, Bishop J, Carlin JB. Bias, prevalence and kappa. J Clin Epidemiol. "
    "1993;46(5):423–429.",
    "cohen1960": "Cohen J. A coefficient of agreement for nominal scales. Educ Psychol Meas. "
    "1960;20(1):37–46.",
    "fleiss1969": "Fleiss JL, Cohen J, Everitt BS. Large sample standard errors of kappa and "
    "weighted kappa. Psychol Bull. 1969;72(5):323–327.",
    "landis1977": "Landis JR, Koch GG. The measurement of observer agreement for categorical "
    "data. Biometrics. 1977;33(1):159–174.",
    "kruskal1952": "Kruskal WH, Wallis WA. Use of ranks in one-criterion variance analysis. "
    "J Am Stat Assoc. 1952;47(260):583–621.",
    "dunn1964": "Dunn OJ. Multiple comparisons using rank sums. Technometrics. 1964;6(3):241–252.",
    "krippendorff2004": "Krippendorff K. Content Analysis: An Introduction to Its "
    "Methodology. 2nd ed. Thousand Oaks, CA: Sage; 2004.",
    "shrout1979": "Shrout PE, Fleiss JL. Intraclass correlations: uses in assessing rater "
    "reliability. Psychol Bull. 1979;86(2):420–428.",
    "mcgraw1996": "McGraw KO, Wong SP. Forming inferences about some intraclass correlation "
    "coefficients. Psychol Methods. 1996;1(1):30–46.",
    "obuchowski1995": "Obuchowski NA, Rockette HE. Hypothesis testing of diagnostic accuracy "
    "for multiple readers and multiple tests: an ANOVA approach with dependent observations. "
    "Commun Stat Simul Comput. 1995;24(2):285–308.",
    "hillis2007": "Hillis SL. A comparison of denominator degrees of freedom methods for "
    "multiple observer ROC analysis. Stat Med. 2007;26(3):596–619.",
    "hillis2014": "Hillis SL. A marginal-mean ANOVA approach for analyzing multireader "
    "multicase radiological imaging data. Stat Med. 2014;33(2):330–360.",
    "holm1979": "Holm S. A simple sequentially rejective multiple test procedure. Scand J "
    "Stat. 1979;6(2):65–70.",
    "bonferroni1936": "Bonferroni CE. Teoria statistica delle classi e calcolo delle "
    "probabilità. Pubbl R Ist Super Sci Econ Commer Firenze. 1936;8:3–62.",
    "benjamini1995": "Benjamini Y, Hochberg Y. Controlling the false discovery rate: a "
    "practical and powerful approach to multiple testing. J R Stat Soc B. "
    "1995;57(1):289–300.",
    "efron1993": "Efron B, Tibshirani RJ. An Introduction to the Bootstrap. New York: Chapman "
    "& Hall; 1993.",
    "bates2015": "Bates D, Mächler M, Bolker B, Walker S. Fitting linear mixed-effects models "
    "using lme4. J Stat Softw. 2015;67(1):1–48.",
    "wilcoxon1945": "Wilcoxon F. Individual comparisons by ranking methods. Biometrics Bull. "
    "1945;1(6):80–83.",
    "sounderajah2021": "Sounderajah V, Ashrafian H, Golub RM, et al. Developing a reporting "
    "guideline for artificial intelligence-centred diagnostic test accuracy studies: the "
    "STARD-AI protocol. BMJ Open. 2021;11(6):e047709.",
}

#: The reference of each p-value adjustment.
P_ADJUST_REFERENCES: dict[str, str] = {
    "holm": "holm1979",
    "bonferroni": "bonferroni1936",
    "fdr": "benjamini1995",
}

#: How the paragraph describes each consensus rule of repeated runs.
CONSENSUS_TEXT: dict[str, str] = {
    "majority-median": "the category given in the majority of runs, or the median category "
    "when no category had a majority",
    "median": "the median category of the runs (the lower middle one for an even number of runs)",
    "mode-lowest": "the most frequent category of the runs, the lowest one when tied",
    "first-run": "the category of the first run only",
}


class _Citations:
    """Numbers references in order of first citation."""

    def __init__(self) -> None:
        self.order: list[str] = []

    def __call__(self, *keys: str) -> str:
        numbers = []
        for key in keys:
            if key not in REFERENCES:
                raise ValueError(f"keys: unknown reference {key!r}")
            if key not in self.order:
                self.order.append(key)
            numbers.append(str(self.order.index(key) + 1))
        return "[" + ", ".join(numbers) + "]"


def _adjust_text(method: str, cite: _Citations, family: str) -> str:
    if method == "none":
        return f"P values of {family} were not adjusted for multiple comparisons"
    return (
        f"P values of {family} were {P_ADJUST_LABELS[method]} {cite(P_ADJUST_REFERENCES[method])}"
    )


def methods_sentences(
    analysis: Analysis, *, versions: Mapping[str, str | None] | None = None
) -> tuple[list[str], list[str]]:
    """The methods paragraph's sentences and the keys of the cited references (in order)."""
    options = analysis.options
    data = analysis.data
    cite = _Citations()
    versions = dict(package_versions() if versions is None else versions)
    out: list[str] = []
    out.append(
        f"The analysis included {analysis.n_cases} cases of the {data.split} split "
        f"({analysis.n_positive} positive) read by {len(analysis.reader_order)} readers; "
        f"a case was positive for a reader at {data.scale_name} category "
        f"{data.threshold} or above."
    )
    runs = analysis.final["n_runs"].max() if len(analysis.final) else 1
    if len(analysis.final) and runs > 1:
        out.append(
            "Each reader's final category of a case with repeated runs was "
            f"{CONSENSUS_TEXT.get(data.consensus, data.consensus)} "
            f"(consensus rule {data.consensus!r})."
        )
    if len(analysis.aucs):
        out.append(
            "The area under the ROC curve (AUC) was estimated empirically (Mann–Whitney) with "
            f"95% confidence intervals (CIs) from DeLong's standard error {cite('delong1988')}, "
            f"as R pROC {cite('robin2011')}."
        )
    if len(analysis.performance):
        proportion = (
            f"exact Clopper–Pearson {cite('clopper1934')}"
            if options.proportion_ci == "exact"
            else f"Wilson score {cite('wilson1927')}"
        )
        out.append(
            "Sensitivity, specificity, accuracy, positive and negative predictive values were "
            f"given with {proportion} 95% CIs."
        )
    if len(analysis.auc_tests):
        out.append(
            f"AUCs of every pair of readers were compared with the paired DeLong test "
            f"{cite('delong1988')}; "
            + _adjust_text(options.adjustment("delong"), cite, "these comparisons")
            + "."
        )
    if len(analysis.mcnemar):
        out.append(
            "Sensitivity and specificity of each reader were compared with those of the "
            f"reference reader ({data.reference_reader}) with the exact McNemar test "
            f"{cite('mcnemar1947')}; "
            + _adjust_text(options.adjustment("mcnemar"), cite, "each metric's tests")
            + "."
        )
    if len(analysis.intra):
        fleiss = cite("fleiss1971")
        kappa_ci = (
            f"Gwet's variance with a t interval {cite('gwet2014')}"
            if options.kappa_ci == "gwet"
            else f"the Fleiss–Nee–Landis standard error as SPSS reports it {cite('fleiss1979')}"
        )
        boot = (
            f", and a percentile bootstrap over cases ({options.fleiss_boot} resamples, seed "
            f"{options.seed}) {cite('efron1993')}"
            if options.fleiss_boot
            else ""
        )
        out.append(
            f"Intraobserver agreement across runs was measured with Fleiss' κ "
            f"{fleiss}, 95% CI from {kappa_ci}{boot}."
        )
    if len(analysis.inter):
        out.append(
            f"Interobserver agreement was measured with Cohen's κ {cite('cohen1960')} (95% CI "
            f"from the Fleiss–Cohen–Everitt standard error {cite('fleiss1969')}), together "
            f"with Gwet's AC1 {cite('gwet2008')} and PABAK {cite('byrt1993')}; κ was "
            f"interpreted after Landis and Koch {cite('landis1977')}."
        )
    if len(analysis.kruskal):
        dunn = options.adjustment("dunn")
        out.append(
            "Likert scores of the readers' outputs were summarised as means with t-based 95% "
            f"CIs and compared with the Kruskal–Wallis test {cite('kruskal1952')} followed by "
            f"Dunn's test {cite('dunn1964')}; "
            + _adjust_text(dunn, cite, "Dunn's test")
            + (" within each run" if dunn != "none" else "")
            + "."
        )
    if len(analysis.reliability):
        out.append(
            "Inter-rater reliability of the Likert panel was measured per domain with "
            f"Krippendorff's α (ordinal) {cite('krippendorff2004')}, 95% CI from a percentile "
            f"bootstrap over outputs ({options.alpha_boot} resamples, seed {options.seed}) "
            f"{cite('efron1993')}, and ICC(2,1) {cite('shrout1979')} with an F-based CI "
            f"{cite('mcgraw1996')}."
        )
    if analysis.mrmc:
        names = ", ".join(r.analysis for r in analysis.mrmc)
        design = analysis.mrmc_design
        if design is not None and design.kind == "split-plot":
            out.append(
                f"The readers read in a split-plot design ({len(design.groups)} reader "
                "groups, each reading its own block of cases in every modality); modalities "
                "were compared with the Obuchowski–Rockette multi-reader multi-case analysis "
                f"{cite('obuchowski1995')} for split-plot designs {cite('hillis2014')} with "
                f"Hillis' denominator degrees of freedom {cite('hillis2007')} ({names}; "
                "jackknife covariance within each reader group)."
            )
        else:
            out.append(
                "Modalities were compared with the Obuchowski–Rockette multi-reader multi-case "
                f"analysis {cite('obuchowski1995')} with Hillis' denominator degrees of freedom "
                f"{cite('hillis2007')} ({names}; {options.mrmc_covariance} covariance)."
            )
    if len(analysis.ai_vs_readers):
        out.append(
            "Each model reader was compared with the human readers by the single-treatment "
            f"Obuchowski–Rockette analysis {cite('obuchowski1995', 'hillis2007')}; it was "
            f"called non-inferior when the lower 95% limit of the difference exceeded "
            f"−{options.ai_margin:g}."
        )
    if len(analysis.reading_time_model) or len(analysis.reading_time_wilcoxon):
        out.append(
            "Reading times were compared with the Wilcoxon signed-rank test "
            f"{cite('wilcoxon1945')} and a linear mixed model of log time with random readers "
            f"and cases {cite('bates2015')}."
        )
    out.append("Two-sided P values below 0.05 were considered significant.")
    software = ", ".join(
        f"{name} {version}"
        for name, version in versions.items()
        if version and name not in ("python", "readerstudy")
    )
    out.append(
        f"Analyses were done with readerstudy {versions.get('readerstudy') or 'unknown'} "
        f"(Python {versions.get('python') or 'unknown'}; {software}); every resampling "
        f"used seed {options.seed}."
    )
    return out, cite.order


def methods_markdown(
    analysis: Analysis, *, versions: Mapping[str, str | None] | None = None
) -> str:
    """``methods.md``: the statistical methods paragraph and its numbered references."""
    sentences, keys = methods_sentences(analysis, versions=versions)
    lines = ["# Statistical analysis", "", " ".join(sentences), "", "## References", ""]
    lines += [f"{i}. {REFERENCES[key]}" for i, key in enumerate(keys, start=1)]
    return "\n".join(lines) + "\n"


def cited_numbers(text: str) -> set[int]:
    """Every reference number cited in ``text`` ("[1]", "[2, 3]")."""
    out: set[int] = set()
    for group in re.findall(r"\[(\d+(?:, \d+)*)\]", text):
        out |= {int(n) for n in group.split(", ")}
    return out


TO_COMPLETE = "to be completed"


def stard_ai_items(analysis: Analysis) -> list[tuple[str, str, str, str]]:
    """The STARD-AI checklist as (section, item, what it asks, the study's answer)."""
    data = analysis.data
    options = analysis.options
    readers = data.readers
    models = readers[readers["kind"] == "model"]["reader_id"].tolist()
    humans = readers[readers["kind"] == "human"]["reader_id"].tolist()
    details = data.reader_details
    described = (
        "; ".join(
            f"{r['reader_id']}: {r['description']}"
            for r in details.to_dict("records")
            if r["kind"] == "model" and r["description"]
        )
        if len(details)
        else ""
    )
    split_counts = ", ".join(f"{k}: {v}" for k, v in sorted(data.cases_read_by_split.items()))
    sentences, _ = methods_sentences(analysis)
    has_detail = any(data.truth_details.values())
    ans = {
        "title": TO_COMPLETE,
        "abstract": TO_COMPLETE,
        "background": TO_COMPLETE,
        "objectives": TO_COMPLETE,
        "design": f"Retrospective reader study {data.title!r}; the {data.split} split was "
        "analysed.",
        "eligibility": TO_COMPLETE,
        "recruitment": TO_COMPLETE,
        "sampling": TO_COMPLETE,
        "data_collection": TO_COMPLETE,
        "dataset_split": f"Cases read per split: {split_counts}." if split_counts else TO_COMPLETE,
        "index_test": (
            f"Model readers: {', '.join(models)}." + (f" {described}" if described else "")
            if models
            else TO_COMPLETE
        ),
        "ai_training": described or TO_COMPLETE,
        "reference_standard": "Case truth (positive / negative)"
        + (" with its detail (Table 1)." if has_detail else ".")
        + " Source of the reference standard: to be completed.",
        "readers": f"Human readers: {', '.join(humans)}." if humans else "No human readers.",
        "blinding": "Readers were blinded to the truth and to the other readers' results; "
        "Likert raters were blinded to the source of each output.",
        "threshold": f"{data.scale_name} category {data.threshold} or above: positive.",
        "statistics": " ".join(sentences),
        "missing": "Cases a reader did not read were left out of that reader's estimates; "
        "see the notes of the analysis."
        if analysis.notes
        else "No missing readings were reported by the analysis.",
        "participants_flow": f"{analysis.n_cases} cases analysed ({analysis.n_positive} "
        "positive); flow diagram: to be completed.",
        "characteristics": "Table 3 (case attributes by truth)."
        if data.attributes
        else TO_COMPLETE,
        "results_accuracy": "Table S1 (AUC, sensitivity, specificity, accuracy, PPV, NPV with "
        "95% CIs)."
        if len(analysis.performance)
        else TO_COMPLETE,
        "results_agreement": "Table 5 (intra- and inter-observer κ)."
        if len(analysis.intra) or len(analysis.inter)
        else "Not computed.",
        "adverse": TO_COMPLETE,
        "limitations": TO_COMPLETE,
        "implications": TO_COMPLETE,
        "registration": TO_COMPLETE,
        "protocol": TO_COMPLETE,
        "funding": TO_COMPLETE,
        "code": f"Analysis with readerstudy (seed {options.seed}); manifest.json lists the "
        "inputs' SHA-256 and the package versions.",
    }
    items = [
        ("Title or abstract", "1", "Identify as a diagnostic accuracy study of an AI index test", "title"),
        ("Abstract", "2", "Structured summary of design, methods, results and conclusions", "abstract"),
        ("Introduction", "3", "Scientific and clinical background, intended use of the AI", "background"),
        ("Introduction", "4", "Study objectives and hypotheses", "objectives"),
        ("Methods: design", "5", "Prospective or retrospective data collection", "design"),
        ("Methods: participants", "6", "Eligibility criteria", "eligibility"),
        ("Methods: participants", "7", "How potentially eligible participants were identified", "recruitment"),
        ("Methods: participants", "8", "Where and when participants were identified", "sampling"),
        ("Methods: data", "9", "Data sources, acquisition and pre-processing", "data_collection"),
        ("Methods: data", "10", "Partitioning into training, validation and test sets", "dataset_split"),
        ("Methods: test methods", "11", "Index test (AI model) in sufficient detail to allow replication", "index_test"),
        ("Methods: test methods", "12", "AI model development and training data", "ai_training"),
        ("Methods: test methods", "13", "Reference standard and its rationale", "reference_standard"),
        ("Methods: test methods", "14", "Readers' qualification and experience", "readers"),
        ("Methods: test methods", "15", "Blinding of index test and reference standard", "blinding"),
        ("Methods: test methods", "16", "Definition and rationale of positivity thresholds", "threshold"),
        ("Methods: analysis", "17", "Methods for estimating and comparing diagnostic accuracy", "statistics"),
        ("Methods: analysis", "18", "Handling of missing and indeterminate results", "missing"),
        ("Results: participants", "19", "Flow of participants (diagram)", "participants_flow"),
        ("Results: participants", "20", "Baseline characteristics", "characteristics"),
        ("Results: test results", "21", "Estimates of diagnostic accuracy and their precision", "results_accuracy"),
        ("Results: test results", "22", "Agreement and reproducibility", "results_agreement"),
        ("Results: test results", "23", "Adverse events or failure modes of the AI", "adverse"),
        ("Discussion", "24", "Limitations, including bias and generalisability", "limitations"),
        ("Discussion", "25", "Implications for practice and intended use", "implications"),
        ("Other information", "26", "Registration number and registry", "registration"),
        ("Other information", "27", "Where the full study protocol can be accessed", "protocol"),
        ("Other information", "28", "Sources of funding and role of funders", "funding"),
        ("Other information", "29", "Availability of code, model and data", "code"),
    ]  # fmt: skip
    return [(section, number, asks, ans[key]) for section, number, asks, key in items]


def stard_ai_markdown(analysis: Analysis) -> str:
    """``stard_ai.md``: the STARD-AI checklist, pre-filled where the study's data allows."""
    lines = [
        "# STARD-AI checklist",
        "",
        f"Study: {analysis.data.title} ({analysis.data.slug}). Items the data cannot answer "
        f'are marked "{TO_COMPLETE}". Checklist after Sounderajah et al. (2021, BMJ Open '
        "11:e047709).",
        "",
        "| Section | Item | Checklist item | Reported / pre-filled |",
        "|---|---|---|---|",
    ]
    for section, number, asks, answer in stard_ai_items(analysis):
        cell = answer.replace("|", "\\|").replace("\n", " ")
        lines.append(f"| {section} | {number} | {asks} | {cell} |")
    return "\n".join(lines) + "\n"


def write_methods(analysis: Analysis, out: Path) -> list[Path]:
    """Write ``methods.md`` and ``stard_ai.md`` into ``out``."""
    out.mkdir(parents=True, exist_ok=True)
    methods = out / "methods.md"
    methods.write_text(methods_markdown(analysis), encoding="utf-8")
    stard = out / "stard_ai.md"
    stard.write_text(stard_ai_markdown(analysis), encoding="utf-8")
    return [methods, stard]
