"""Study data for the analysis, read straight from the database as long DataFrames.

Nothing here builds model instances per row: readings and Likert scores come from raw SQL
(``values_list`` for the small tables) in chunks, and codes are attached by vectorised
look-ups of primary keys. Two uses:

* :func:`study_data` loads the analysis population (default: the test split) once, as
  :class:`StudyData`, for :mod:`analysis.results`;
* :func:`reading_chunks` and :func:`score_chunks` stream every reading or score of a study
  in bounded chunks, with the columns of the exports (:mod:`analysis.exports`).

Identifiers can be *pseudonymous* (:class:`readerstudy.studies.pseudonyms.Pseudonyms`, the one
pseudonymisation layer every channel uses): reader, case, patient and rater codes are
replaced by a keyed hash that is stable for a study, so that a statistician can work blinded
until the study is unblinded (docs/analysis.md, "Pseudonymisation"). Pseudonymous rows are
never in import order: readers in pseudonym order, cases in their keyed order
(:func:`readerstudy.studies.pseudonyms.order_key`).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from django.db import connection
from django.db.models import Count, ExpressionWrapper, F, FloatField, Max, Sum, Value
from django.db.models.functions import Coalesce, Mod

from evaluation.instruments import acceptability_scale
from evaluation.models import (
    AcceptabilityGrade,
    ErrorAnnotation,
    LikertDomain,
    LikertScore,
    PairwisePreference,
    Rater,
    ScoreSource,
)
from evaluation.selectors import (
    REFERENCE_READER,
    acceptability_frame,
    error_frame,
    judge_answer_frame,
    preference_frame,
)
from readerstudy.bundles.flow import flow_summary
from readerstudy.bundles.marks import localisation_settings
from readerstudy.core.findings import study_vocabulary
from readerstudy.generation.models import GenerationConfig, GenerationItem
from readerstudy.reading.models import ReadingWork
from readerstudy.studies.models import (
    SPLIT_SELECTIONS,
    Case,
    CaseFinding,
    LesionMark,
    Reader,
    Reading,
    ReadingFinding,
    Study,
    TruthMark,
)
from readerstudy.studies.pseudonyms import Pseudonyms, order_key_sql, order_keys, rank_sql

SPLITS: tuple[str, ...] = SPLIT_SELECTIONS
CHUNK_ROWS = 50_000

#: A numeric case attribute with at most this many distinct values is treated as categorical.
MAX_NUMERIC_LEVELS = 6


def distinct(values: pd.Series) -> set[Any]:
    """The distinct values of a column as a Python set (fast also for Arrow strings)."""
    return set(values.unique().tolist())


def in_order(order: Sequence[str], values: pd.Series) -> list[str]:
    """The items of ``order`` that occur in ``values``, in the order of ``order``."""
    present = distinct(values)
    return [r for r in order if r in present]


# ---------------------------------------------------------------------------------------
# Small tables
# ---------------------------------------------------------------------------------------


def study_readers(study: Study, ids: Pseudonyms) -> pd.DataFrame:
    """Readers of the study: ``pk, reader_id, kind, label, group, position`` in display order.

    Display order is the order of readers.csv; with pseudonyms it is the pseudonym order
    and labels are blank, so that neither reveals who is who.
    """
    rows = list(
        Reader.objects.filter(study=study)
        .order_by("position", "code")
        .values_list("pk", "code", "kind", "label", "group", "position")
    )
    frame = pd.DataFrame(rows, columns=["pk", "code", "kind", "label", "group", "position"])
    mapping = ids.mapping("reader", frame["code"].tolist())
    frame["reader_id"] = frame["code"].map(mapping)
    if ids.enabled:
        frame["label"] = ""
        frame["group"] = ""
        frame = frame.sort_values("reader_id", kind="stable").reset_index(drop=True)
        frame["position"] = np.arange(len(frame))
    return frame[["pk", "reader_id", "kind", "label", "group", "position"]]


def study_cases(study: Study, ids: Pseudonyms) -> pd.DataFrame:
    """Every case of the study: ``pk, case_id, patient_id, split, truth, position`` + attributes.

    Display order is the order of cases.csv; with pseudonyms it is the cases' keyed order
    (:func:`readerstudy.studies.pseudonyms.order_key`), the order of the API's case list.
    Attribute columns (the extra columns of cases.csv) are numeric when every non-empty
    value is a number, else text; empty values are missing (NaN / None).
    """
    rows = list(
        Case.objects.filter(study=study)
        .order_by("position", "code")
        .values_list("pk", "code", "patient_id", "split", "truth", "position", "attributes")
    )
    frame = pd.DataFrame(
        [r[:6] for r in rows], columns=["pk", "code", "patient_id", "split", "truth", "position"]
    )
    frame["case_id"] = frame["code"].map(ids.mapping("case", frame["code"].tolist()))
    # a blank patient_id is missing (each such case its own patient), never one shared id
    given = frame["patient_id"].where(frame["patient_id"].astype(str).str.strip() != "")
    frame["patient_id"] = given.map(ids.mapping("patient", given.dropna().tolist()))
    frame["truth"] = frame["truth"].astype(np.int64)
    for name in study.case_attributes:
        values = pd.Series([r[6].get(name, "") for r in rows], dtype=object)
        values = values.where(values.astype(str).str.strip() != "", None)
        numeric = pd.to_numeric(values, errors="coerce")
        if values.notna().any() and (numeric.notna() == values.notna()).all():
            finite = numeric.dropna()
            whole = bool((finite == finite.round()).all()) and finite.abs().max() < 2**53
            frame[f"attr:{name}"] = numeric.astype("Int64" if whole else float)
        else:
            frame[f"attr:{name}"] = values
    if ids.enabled:
        keys = np.array(order_keys(study.slug, "case", frame["code"].astype(str)), dtype=object)
        frame = frame.iloc[np.argsort(keys, kind="stable")]
        frame = frame.reset_index(drop=True)
    attr_cols = [f"attr:{a}" for a in study.case_attributes]
    return frame[["pk", "case_id", "patient_id", "split", "truth", "position", *attr_cols]]


def study_raters(study: Study, ids: Pseudonyms) -> pd.DataFrame:
    """The human raters of the study: ``pk, rater_id`` (LLM judges are raters of kind model,
    analysed apart from the panel)."""
    rows = list(
        Rater.objects.filter(study=study, kind=Rater.Kind.HUMAN)
        .order_by("code")
        .values_list("pk", "code")
    )
    frame = pd.DataFrame(rows, columns=["pk", "code"])
    frame["rater_id"] = frame["code"].map(ids.mapping("rater", frame["code"].tolist()))
    return frame[["pk", "rater_id"]]


def study_judges(study: Study, ids: Pseudonyms) -> pd.DataFrame:
    """The study's LLM judges (raters of kind model): ``pk, rater_id``, codes pseudonymised
    like every rater code."""
    rows = list(
        Rater.objects.filter(study=study, kind=Rater.Kind.MODEL)
        .order_by("code")
        .values_list("pk", "code")
    )
    frame = pd.DataFrame(rows, columns=["pk", "code"])
    frame["rater_id"] = frame["code"].map(ids.mapping("rater", frame["code"].tolist()))
    return frame[["pk", "rater_id"]]


def study_domains(study: Study) -> pd.DataFrame:
    """Likert domains in study order: ``pk, domain, label, group, position``.

    A domain without a group is its own group (named by its label).
    """
    rows = list(
        LikertDomain.objects.filter(study=study)
        .order_by("position", "key")
        .values_list("pk", "key", "label", "group", "position")
    )
    frame = pd.DataFrame(rows, columns=["pk", "domain", "label", "group", "position"])
    frame["group"] = frame["group"].where(frame["group"] != "", frame["label"])
    return frame


def study_modality_labels(study: Study) -> dict[int, str]:
    """The labels of the study's modalities (study.toml ``[modalities]``, validated on import)."""
    raw = study.config.get("modalities") if isinstance(study.config, dict) else None
    if not isinstance(raw, dict):
        return {}
    return {
        int(k): str(v).strip()
        for k, v in raw.items()
        if str(k).isascii() and str(k).isdigit() and isinstance(v, str) and v.strip()
    }


def study_flow(study: Study) -> dict[str, Any] | None:
    """study.toml ``[flow]`` (validated on import, defaults filled in) and the study's cases
    by split: ``{unit, assessed, included, excluded: [{reason, n}], cases, splits: {split:
    {n, positive}}}``; None when the study has no ``[flow]``."""
    raw = study.config.get("flow") if isinstance(study.config, dict) else None
    summary = flow_summary(raw)
    if summary is None:
        return None
    rows = (
        Case.objects.filter(study=study)
        .values_list("split")
        .annotate(n=Count("id"), positive=Sum("truth"))
        .order_by("split")
    )
    splits = {str(split): {"n": int(n), "positive": int(pos or 0)} for split, n, pos in rows}
    return {**summary, "cases": sum(v["n"] for v in splits.values()), "splits": splits}


def study_modalities(study: Study) -> list[int]:
    """Every modality number that the study's readings use, in order."""
    return sorted(
        int(m)
        for m in Reading.objects.filter(case__study=study)
        .order_by()
        .values_list("modality", flat=True)
        .distinct()
    )


def modality_name(modality: int, labels: dict[int, str]) -> str:
    """ "modality 2 (AI-assisted)", or "modality 2" without a label."""
    label = labels.get(int(modality))
    return f"modality {modality} ({label})" if label else f"modality {modality}"


def attribute_is_categorical(values: pd.Series) -> bool:
    """Whether a case attribute is summarised by level (Table 3) rather than by mean ± SD."""
    if values.dtype == object or isinstance(values.dtype, pd.StringDtype | pd.CategoricalDtype):
        return True
    return values.dropna().nunique() <= MAX_NUMERIC_LEVELS


# ---------------------------------------------------------------------------------------
# Large tables in chunks
# ---------------------------------------------------------------------------------------


def _chunks(
    sql: str, params: Sequence[Any], columns: list[str], chunk_rows: int
) -> Iterator[pd.DataFrame]:
    """Rows of ``sql`` as DataFrames of at most ``chunk_rows`` rows.

    Uses the backend's chunked cursor: a server-side cursor on PostgreSQL, so memory stays
    bounded whatever the result size; SQLite steps through the result lazily anyway.
    """
    if connection.vendor == "postgresql":
        # A cursor is planned for its first 10% of rows by default (nested loops); these
        # queries read every row, so plan them for all of them (hash joins).
        with connection.cursor() as setting:
            setting.execute("SET cursor_tuple_fraction = 1.0")
    cursor = connection.chunked_cursor()
    try:
        cursor.execute(sql, list(params))
        while rows := cursor.fetchmany(chunk_rows):
            yield pd.DataFrame.from_records(rows, columns=columns, coerce_float=True)
    finally:
        cursor.close()


def _in_clause(column: str, values: Sequence[int]) -> tuple[str, list[int]]:
    return f" AND {column} IN ({', '.join(['%s'] * len(values))})", [int(v) for v in values]


def _take(index: pd.Index, pks: np.ndarray, values: np.ndarray) -> np.ndarray:
    """``values[i]`` for the position ``i`` of each primary key of ``pks`` in ``index``."""
    return values[index.get_indexer(pks)]


def _population_filters(
    sql: str,
    study: Study,
    *,
    split: str,
    reader_pks: Sequence[int] | None,
    runs: Sequence[int] | None,
) -> tuple[str, list[Any]]:
    """``sql`` (joined to cases as ``c`` and readings as ``r``) restricted to the study, its
    ``split`` (``all``: every case), the readers ``reader_pks`` and the ``runs``."""
    params: list[Any] = [study.pk]
    if split != "all":
        sql += " AND c.split = %s"
        params.append(split)
    if reader_pks is not None:
        clause, values = _in_clause("r.reader_id", reader_pks)
        sql, params = sql + clause, params + values
    if runs is not None:
        clause, values = _in_clause("r.run", runs)
        sql, params = sql + clause, params + values
    return sql, params


def _reading_sql(
    study: Study,
    *,
    split: str,
    reader_pks: Sequence[int] | None,
    runs: Sequence[int] | None,
    columns: str,
) -> tuple[str, list[Any]]:
    if split not in SPLITS:
        raise ValueError(f"split: expected one of {', '.join(SPLITS)}, got {split!r}")
    reading = connection.ops.quote_name(Reading._meta.db_table)
    case = connection.ops.quote_name(Case._meta.db_table)
    sql = (
        f"SELECT {columns} FROM {reading} r JOIN {case} c ON c.id = r.case_id WHERE c.study_id = %s"
    )
    return _population_filters(sql, study, split=split, reader_pks=reader_pks, runs=runs)


def _score_sql(
    study: Study,
    *,
    split: str,
    reader_pks: Sequence[int] | None,
    runs: Sequence[int] | None,
    columns: str,
    judged: bool = False,
) -> tuple[str, list[Any]]:
    if split not in SPLITS:
        raise ValueError(f"split: expected one of {', '.join(SPLITS)}, got {split!r}")
    score = connection.ops.quote_name(LikertScore._meta.db_table)
    reading = connection.ops.quote_name(Reading._meta.db_table)
    case = connection.ops.quote_name(Case._meta.db_table)
    sql = (
        f"SELECT {columns} FROM {score} s JOIN {reading} r ON r.id = s.reading_id "
        f"JOIN {case} c ON c.id = r.case_id WHERE c.study_id = %s"
    )
    sql, params = _population_filters(sql, study, split=split, reader_pks=reader_pks, runs=runs)
    # The panel's scores only: an LLM judge's (source judged) are not a human rater's;
    # ``judged`` selects the judges' scores instead (run 1 of each judge, issue 21).
    return sql + f" AND s.source {'=' if judged else '<>'} %s", [
        *params,
        LikertScore.Source.JUDGED.value,
    ]


# ---------------------------------------------------------------------------------------
# The analysis population
# ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class StudyData:
    """One study's analysis population as long DataFrames (see :func:`study_data`)."""

    slug: str
    title: str
    split: str
    pseudonymous: bool
    scale_name: str
    threshold: int
    categories: list[int]
    category_labels: dict[int, str]
    consensus: str
    reference_reader: str | None
    likert_min: int
    likert_max: int
    attributes: list[str]
    #: readers of the selection in display order: reader_id, kind, label, group, position
    readers: pd.DataFrame
    #: cases of the population: case_id, patient_id, split, truth, position, attr:<name>...
    cases: pd.DataFrame
    #: one row per reading: reader_id, kind, case_id, truth, split, run, modality, category, score,
    #: seconds (reading time, NaN when not timed)
    readings: pd.DataFrame
    #: one row per score: rater_id, reader_id, kind, case_id, run, modality, domain, group, score
    scores: pd.DataFrame
    #: domain, label, group, position
    domains: pd.DataFrame
    #: every run number present in the study's readings of this split (for filter choices)
    available_runs: list[int] = field(default_factory=list)
    #: labels of the modalities from study.toml ``[modalities]`` (modality -> label)
    modality_labels: dict[int, str] = field(default_factory=dict)
    #: split -> number of the study's cases with at least one reading (any reader or run)
    cases_read_by_split: dict[str, int] = field(default_factory=dict)
    #: readings with an impression on a case with a reference impression:
    #: reader_id, case_id, run, modality, hypothesis (the impression), reference
    texts: pd.DataFrame = field(default_factory=pd.DataFrame)
    #: reader labels of findings with the case's finding truth (issue 16):
    #: reader_id, case_id, run, finding, truth, present, method (FINDING_COLUMNS)
    findings: pd.DataFrame = field(default_factory=pd.DataFrame)
    #: what a model reader was given of each case that has a reference impression (Fig. 8):
    #: case_id, clinical_history, location, findings
    case_inputs: pd.DataFrame = field(default_factory=pd.DataFrame)
    #: the prompt a generated model reader was sent for a case (first run, as stored with the
    #: request; Fig. 8): reader_id, case_id, prompt
    prompts: pd.DataFrame = field(default_factory=pd.DataFrame)
    #: the selection of the cases (Fig. 1): study.toml ``[flow]`` with its defaults and the
    #: study's cases by split (:func:`study_flow`); None without a ``[flow]`` table
    flow: dict[str, Any] | None = None
    #: judgments (issue 14, :func:`study_judgments`): pairwise preferences, acceptability
    #: grades and error annotations of the population's cases, with shown identifiers
    preferences: pd.DataFrame = field(default_factory=pd.DataFrame)
    acceptability: pd.DataFrame = field(default_factory=pd.DataFrame)
    errors: pd.DataFrame = field(default_factory=pd.DataFrame)
    #: the acceptability scale's grades, best first, and its cut-off
    acceptability_values: list[int] = field(default_factory=list)
    acceptability_cutoff: int | None = None
    #: case_id -> truth detail (e.g. the pathology subtype) of the population's cases
    truth_details: dict[str, str] = field(default_factory=dict)
    #: one row per selected reader (:func:`reader_details`): description, experience and
    #: the generation configuration of model readers (blank with pseudonyms)
    reader_details: pd.DataFrame = field(default_factory=pd.DataFrame)
    #: the LLM judges' Likert scores (source judged, run 1 of each judge; issue 21), columns
    #: as ``scores`` with ``rater_id`` the judge (pseudonymised like the raters)
    judge_scores: pd.DataFrame = field(default_factory=pd.DataFrame)
    #: the LLM judges' pairwise preferences and acceptability grades (source judged: run 1,
    #: pairwise in the order the raters see the item), columns as ``preferences`` and
    #: ``acceptability``; left out of those, which are the human panel's
    judge_preferences: pd.DataFrame = field(default_factory=pd.DataFrame)
    judge_acceptability: pd.DataFrame = field(default_factory=pd.DataFrame)
    #: every scored answer of the judges, all runs and both pairwise orders
    #: (:func:`evaluation.selectors.judge_answer_frame`, identifiers shown as the others):
    #: rater_id, instrument, judge_run, order, case_id, reader, run_a, comparator, run_b,
    #: key, value
    judge_answers: pd.DataFrame = field(default_factory=pd.DataFrame)
    #: submitted work items of AI-draft sessions that showed a draft (:func:`study_edits`):
    #: reader_id, case_id, run, modality, edit_chars, edit_words, active_seconds, seconds
    edits: pd.DataFrame = field(default_factory=pd.DataFrame)
    #: readers' lesion marks of the population (:func:`study_marks`, :data:`MARK_COLUMNS`)
    #: and the truth lesions of its cases (:data:`TRUTH_MARK_COLUMNS`)
    marks: pd.DataFrame = field(default_factory=pd.DataFrame)
    truth_marks: pd.DataFrame = field(default_factory=pd.DataFrame)
    #: study.toml ``[localisation]``: acceptance radius (pixels) and slice tolerance
    localisation_radius: float = 10.0
    localisation_slice_tolerance: int = 0

    @property
    def reader_order(self) -> list[str]:
        return self.readers["reader_id"].tolist()


def study_data(
    study: Study,
    *,
    split: str = "test",
    readers: Sequence[str] | None = None,
    runs: Sequence[int] | None = None,
    pseudonymous: bool = False,
    with_scores: bool = True,
    with_texts: bool = True,
) -> StudyData:
    """Load the analysis population of ``study``.

    Parameters
    ----------
    split : {"test", "train", "all"}
        Cases analysed (default: the test split).
    readers : list of str, optional
        Reader ids to keep (as shown: pseudonyms when ``pseudonymous``); default all.
    runs : list of int, optional
        Runs to keep; default all.
    pseudonymous : bool
        Replace reader, case, patient and rater codes by their pseudonyms.
    with_scores : bool
        Load the Likert scores too (default); without, ``scores`` is empty.
    with_texts : bool
        Load the impressions of readings on cases with a reference impression (default);
        without, ``texts`` is empty.

    Raises
    ------
    ValueError
        ``split``, ``readers`` or ``runs`` name something the study does not have.
    """
    ids = Pseudonyms(study.slug, pseudonymous)
    all_readers = study_readers(study, ids)
    if readers is not None:
        unknown = sorted(set(readers) - distinct(all_readers["reader_id"]))
        if unknown:
            raise ValueError(f"readers: unknown reader(s) {', '.join(unknown)}")
        chosen = all_readers[all_readers["reader_id"].isin(list(readers))]
    else:
        chosen = all_readers
    if runs is not None:
        runs = sorted({int(r) for r in runs})
        if not runs or runs[0] < 1:
            raise ValueError("runs: run numbers start at 1")
    cases = study_cases(study, ids)
    if split not in SPLITS:
        raise ValueError(f"split: expected one of {', '.join(SPLITS)}, got {split!r}")
    population = cases if split == "all" else cases[cases["split"] == split]
    population = population.reset_index(drop=True)

    reader_pks = chosen["pk"].tolist() if readers is not None else None
    sql, params = _reading_sql(
        study,
        split=split,
        reader_pks=reader_pks,
        runs=runs,
        columns="r.reader_id, r.case_id, r.run, r.modality, r.category, r.score, r.seconds",
    )
    reading_cols = ["reader_pk", "case_pk", "run", "modality", "category", "score", "seconds"]
    raw = pd.concat(
        list(_chunks(sql, params, reading_cols, 200_000)) or [pd.DataFrame(columns=reading_cols)],
        ignore_index=True,
    )
    readings = _attach_reading_codes(raw, all_readers, cases)

    texts = _study_texts(study, split, reader_pks, runs, all_readers, cases) if with_texts else None
    findings = _study_findings(study, split, reader_pks, runs, all_readers, cases)

    domains = study_domains(study)
    raters = study_raters(study, ids)
    sql, params = _score_sql(
        study,
        split=split,
        reader_pks=reader_pks,
        runs=runs,
        columns="s.rater_id, r.reader_id, r.case_id, r.run, r.modality, s.domain_id, s.score",
    )
    score_cols = ["rater_pk", "reader_pk", "case_pk", "run", "modality", "domain_pk", "score"]
    raw_scores = pd.concat(
        (list(_chunks(sql, params, score_cols, 200_000)) if with_scores else [])
        or [pd.DataFrame(columns=score_cols)],
        ignore_index=True,
    )
    scores = _attach_score_codes(raw_scores, all_readers, cases, raters, domains)
    judge_scores = (
        _judge_scores(study, ids, split, reader_pks, runs, all_readers, cases, domains)
        if with_scores
        else scores.iloc[:0]
    )

    # Run numbers offered as filters: those of the split, whatever the current filters.
    run_sql, run_params = _reading_sql(
        study, split=split, reader_pks=None, runs=None, columns="DISTINCT r.run"
    )
    with connection.cursor() as cursor:
        cursor.execute(run_sql, run_params)
        available_runs = sorted(int(r[0]) for r in cursor.fetchall())

    reference = None
    if study.reference_reader_id is not None:
        match = all_readers.loc[all_readers["pk"] == study.reference_reader_id, "reader_id"]
        reference = str(match.iloc[0]) if len(match) else None
    scale = list(study.scale_categories.order_by("value").values_list("value", "label"))
    return StudyData(
        modality_labels=study_modality_labels(study),
        flow=study_flow(study),
        slug=study.slug,
        title=study.title,
        split=split,
        pseudonymous=pseudonymous,
        scale_name=study.scale_name,
        threshold=int(study.positive_threshold),
        categories=[int(v) for v, _ in scale],
        category_labels={int(v): label for v, label in scale},
        consensus=study.consensus,
        reference_reader=reference,
        likert_min=int(study.likert_min),
        likert_max=int(study.likert_max),
        attributes=list(study.case_attributes),
        readers=chosen.drop(columns="pk").reset_index(drop=True),
        cases=population.drop(columns=["pk"]),
        readings=readings,
        scores=scores,
        domains=domains.drop(columns="pk"),
        available_runs=available_runs,
        cases_read_by_split=cases_read_by_split(study),
        texts=texts if texts is not None else pd.DataFrame(columns=TEXT_COLUMNS),
        findings=findings,
        case_inputs=(
            _case_inputs(study, population)
            if with_texts
            else pd.DataFrame(columns=CASE_INPUT_COLUMNS)
        ),
        prompts=(
            _case_prompts(study, all_readers, population)
            if with_texts
            else pd.DataFrame(columns=PROMPT_COLUMNS)
        ),
        **(
            study_judgments(
                study,
                ids,
                cases=population["case_id"],
                readers=chosen["reader_id"] if readers is not None else None,
            )
            if with_scores
            else {}
        ),
        truth_details=case_truth_details(study, population, ids),
        reader_details=reader_details(study, chosen, ids),
        judge_scores=judge_scores,
        edits=study_edits(study, chosen, population, runs=runs),
        **study_marks(study, chosen, population, runs=runs),
    )


#: Columns of :func:`study_marks`: a reader's marks, and the truth lesions.
MARK_COLUMNS = [
    "reader_id", "case_id", "run", "modality", "series", "slice", "x", "y", "rating",
]  # fmt: skip
TRUTH_MARK_COLUMNS = ["case_id", "lesion", "series", "slice", "x", "y", "radius"]


def study_marks(
    study: Study,
    readers: pd.DataFrame,
    cases: pd.DataFrame,
    *,
    runs: Sequence[int] | None = None,
) -> dict[str, Any]:
    """The lesion marks of the selection's readings on the population's cases (``marks``:
    :data:`MARK_COLUMNS`, ``rating`` the mark's confidence; ``slice`` NaN when none), the
    truth lesions of the population (``truth_marks``) and study.toml's localisation
    settings, as :class:`StudyData` fields."""
    reader_ids = dict(zip(readers["pk"], readers["reader_id"], strict=True))
    case_ids = dict(zip(cases["pk"], cases["case_id"], strict=True))
    query = LesionMark.objects.filter(reading__case__study=study)
    if runs is not None:
        query = query.filter(reading__run__in=list(runs))
    marks = pd.DataFrame(
        list(
            query.order_by("reading_id", "position").values_list(
                "reading__reader_id", "reading__case_id", "reading__run", "reading__modality",
                "series", "slice", "x", "y", "confidence",
            )
        ),
        columns=MARK_COLUMNS,
    )  # fmt: skip
    marks["reader_id"] = marks["reader_id"].map(reader_ids)
    marks["case_id"] = marks["case_id"].map(case_ids)
    marks = marks[marks["reader_id"].notna() & marks["case_id"].notna()]
    truth = pd.DataFrame(
        list(
            TruthMark.objects.filter(case__study=study)
            .order_by("case_id", "lesion")
            .values_list("case_id", "lesion", "series", "slice", "x", "y", "radius")
        ),
        columns=TRUTH_MARK_COLUMNS,
    )
    truth["case_id"] = truth["case_id"].map(case_ids)
    truth = truth[truth["case_id"].notna()]
    for frame in (marks, truth):
        for col in ("slice", "x", "y"):
            frame[col] = pd.to_numeric(frame[col], errors="coerce").astype(float)
    truth["radius"] = pd.to_numeric(truth["radius"], errors="coerce").astype(float)
    radius, tolerance = localisation_settings(study.config)
    return {
        "marks": marks.reset_index(drop=True),
        "truth_marks": truth.reset_index(drop=True),
        "localisation_radius": radius,
        "localisation_slice_tolerance": tolerance,
    }


#: Columns of :func:`study_edits`.
EDIT_COLUMNS = [
    "reader_id", "case_id", "run", "modality", "edit_chars", "edit_words", "active_seconds",
    "seconds",
]  # fmt: skip


def study_edits(
    study: Study,
    readers: pd.DataFrame,
    cases: pd.DataFrame,
    *,
    runs: Sequence[int] | None = None,
) -> pd.DataFrame:
    """The submitted work items of ``study``'s AI-draft reading sessions that showed a draft.

    ``readers`` and ``cases`` (with ``pk`` and the shown ``reader_id`` / ``case_id``) are
    the selection and the population: work of other readers or cases is left out, as are
    runs not in ``runs``. One row per work item, columns :data:`EDIT_COLUMNS`
    (``edit_chars`` / ``edit_words``: Levenshtein distance draft → final text;
    ``active_seconds``: the browser's active time; ``seconds``: server time).
    """
    query = ReadingWork.objects.filter(
        assignment__session__study=study,
        assignment__session__ai_draft=True,
        reading__isnull=False,
    ).exclude(draft_shown="")
    if runs is not None:
        query = query.filter(assignment__session__run__in=list(runs))
    rows = list(
        query.values_list(
            "assignment__reader_id",
            "case_id",
            "assignment__session__run",
            "assignment__session__modality",
            "edit_chars",
            "edit_words",
            "active_seconds",
            "seconds",
        )
    )
    raw = pd.DataFrame(rows, columns=["reader_pk", "case_pk", *EDIT_COLUMNS[2:]])
    raw["reader_id"] = raw["reader_pk"].map(
        dict(zip(readers["pk"], readers["reader_id"], strict=True))
    )
    raw["case_id"] = raw["case_pk"].map(dict(zip(cases["pk"], cases["case_id"], strict=True)))
    raw = raw[raw["reader_id"].notna() & raw["case_id"].notna()]
    for col in ("edit_chars", "edit_words", "active_seconds", "seconds"):
        raw[col] = pd.to_numeric(raw[col], errors="coerce").astype(float)
    return (
        raw[EDIT_COLUMNS]
        .sort_values(["reader_id", "modality", "case_id"], kind="stable")
        .reset_index(drop=True)
    )


def _judge_scores(
    study: Study,
    ids: Pseudonyms,
    split: str,
    reader_pks: Sequence[int] | None,
    runs: Sequence[int] | None,
    readers: pd.DataFrame,
    cases: pd.DataFrame,
    domains: pd.DataFrame,
) -> pd.DataFrame:
    """The judges' scores (source judged) of the population, as :func:`_attach_score_codes`."""
    sql, params = _score_sql(
        study,
        split=split,
        reader_pks=reader_pks,
        runs=runs,
        columns="s.rater_id, r.reader_id, r.case_id, r.run, r.modality, s.domain_id, s.score",
        judged=True,
    )
    cols = ["rater_pk", "reader_pk", "case_pk", "run", "modality", "domain_pk", "score"]
    raw = pd.concat(
        list(_chunks(sql, params, cols, 200_000)) or [pd.DataFrame(columns=cols)],
        ignore_index=True,
    )
    return _attach_score_codes(raw, readers, cases, study_judges(study, ids), domains)


FINDING_COLUMNS = ["reader_id", "case_id", "run", "finding", "truth", "present", "method"]


def _study_findings(
    study: Study,
    split: str,
    reader_pks: Sequence[int] | None,
    runs: Sequence[int] | None,
    readers: pd.DataFrame,
    cases: pd.DataFrame,
) -> pd.DataFrame:
    """Each reader label of a finding of the vocabulary on a case with that finding's truth."""
    order = {t.key: i for i, t in enumerate(study_vocabulary(study.config))}
    labels = ReadingFinding.objects.filter(case__study=study, finding__in=list(order))
    if split != "all":
        labels = labels.filter(case__split=split)
    if reader_pks is not None:
        labels = labels.filter(reader_id__in=list(reader_pks))
    if runs is not None:
        labels = labels.filter(run__in=list(runs))
    truth = {
        (c, f): p
        for c, f, p in CaseFinding.objects.filter(case__study=study).values_list(
            "case_id", "finding", "present"
        )
    }
    rows = [
        (r, c, run, f, truth[(c, f)], p, m)
        for r, c, run, f, p, m in labels.values_list(
            "reader_id", "case_id", "run", "finding", "present", "method"
        ).iterator(chunk_size=20_000)
        if (c, f) in truth
    ]
    raw = pd.DataFrame(rows, columns=["reader_pk", "case_pk", *FINDING_COLUMNS[2:]])
    out = pd.DataFrame(
        {
            "reader_id": _take(
                pd.Index(readers["pk"].to_numpy()),
                raw["reader_pk"].to_numpy(dtype=np.int64),
                readers["reader_id"].to_numpy(dtype=object),
            ),
            "case_id": _take(
                pd.Index(cases["pk"].to_numpy()),
                raw["case_pk"].to_numpy(dtype=np.int64),
                cases["case_id"].to_numpy(dtype=object),
            ),
            "run": raw["run"].to_numpy(dtype=np.int64),
            "finding": raw["finding"].to_numpy(dtype=object),
            "truth": raw["truth"].to_numpy(dtype=np.int64),
            "present": raw["present"].to_numpy(dtype=np.int64),
            "method": raw["method"].to_numpy(dtype=object),
        },
        columns=FINDING_COLUMNS,
    )
    out["_order"] = out["finding"].map(order)
    out = out.sort_values(["reader_id", "case_id", "run", "_order"], kind="stable")
    return out.drop(columns="_order").reset_index(drop=True)


TEXT_COLUMNS = ["reader_id", "case_id", "run", "modality", "hypothesis", "reference"]
CASE_INPUT_COLUMNS = ["case_id", "clinical_history", "location", "findings"]


def _case_inputs(study: Study, cases: pd.DataFrame) -> pd.DataFrame:
    """The clinical history, location and findings of the population's cases that have a
    reference impression, by shown case id (the case gallery, Fig. 8)."""
    rows = list(
        Case.objects.filter(study=study, pk__in=cases["pk"].tolist())
        .exclude(reference_impression="")
        .order_by("position", "pk")
        .values_list("pk", "clinical_history", "location", "findings")
    )
    raw = pd.DataFrame(rows, columns=["pk", *CASE_INPUT_COLUMNS[1:]])
    shown = _take(
        pd.Index(cases["pk"].to_numpy()),
        raw["pk"].to_numpy(dtype=np.int64),
        cases["case_id"].to_numpy(dtype=object),
    )
    return raw.drop(columns="pk").assign(case_id=shown)[CASE_INPUT_COLUMNS]


PROMPT_COLUMNS = ["reader_id", "case_id", "prompt"]


def _case_prompts(study: Study, readers: pd.DataFrame, cases: pd.DataFrame) -> pd.DataFrame:
    """The prompt (system and user text, as sent and stored with the request) of each
    generated reading of run 1 of a case with a reference impression, by shown reader and
    case id (the case gallery, Fig. 8). Imported readers have none."""
    rows = list(
        GenerationItem.objects.filter(
            run__config__reader__study=study,
            run_number=1,
            reading__isnull=False,
            case__pk__in=cases["pk"].tolist(),
        )
        .exclude(case__reference_impression="")
        .order_by("pk")
        .values_list("run__config__reader_id", "case_id", "request_summary")
    )
    known = set(readers["pk"].tolist())
    out = [
        (reader, case, "\n\n".join(t for t in (summary.get("system"), summary.get("user")) if t))
        for reader, case, summary in rows
        if reader in known and isinstance(summary, dict)
    ]
    out = [row for row in out if row[2]]
    if not out:
        return pd.DataFrame(columns=PROMPT_COLUMNS)
    raw = pd.DataFrame(out, columns=["reader_pk", "case_pk", "prompt"])
    raw = raw.drop_duplicates(["reader_pk", "case_pk"], keep="last")
    return pd.DataFrame(
        {
            "reader_id": _take(
                pd.Index(readers["pk"].to_numpy()),
                raw["reader_pk"].to_numpy(dtype=np.int64),
                readers["reader_id"].to_numpy(dtype=object),
            ),
            "case_id": _take(
                pd.Index(cases["pk"].to_numpy()),
                raw["case_pk"].to_numpy(dtype=np.int64),
                cases["case_id"].to_numpy(dtype=object),
            ),
            "prompt": raw["prompt"].to_numpy(dtype=object),
        }
    )[PROMPT_COLUMNS]


def _study_texts(
    study: Study,
    split: str,
    reader_pks: Sequence[int] | None,
    runs: Sequence[int] | None,
    readers: pd.DataFrame,
    cases: pd.DataFrame,
) -> pd.DataFrame:
    """Impression and reference impression of each reading that has both (text metrics)."""
    sql, params = _reading_sql(
        study,
        split=split,
        reader_pks=reader_pks,
        runs=runs,
        columns="r.reader_id, r.case_id, r.run, r.modality, r.impression, c.reference_impression",
    )
    sql += " AND c.reference_impression <> '' AND r.impression <> ''"
    cols = ["reader_pk", "case_pk", "run", "modality", "hypothesis", "reference"]
    raw = pd.concat(
        list(_chunks(sql, params, cols, 200_000)) or [pd.DataFrame(columns=cols)],
        ignore_index=True,
    )
    reader_index = pd.Index(readers["pk"].to_numpy())
    case_index = pd.Index(cases["pk"].to_numpy())
    out = pd.DataFrame(
        {
            "reader_id": _take(
                reader_index,
                raw["reader_pk"].to_numpy(dtype=np.int64),
                readers["reader_id"].to_numpy(dtype=object),
            ),
            "case_id": _take(
                case_index,
                raw["case_pk"].to_numpy(dtype=np.int64),
                cases["case_id"].to_numpy(dtype=object),
            ),
            "run": raw["run"].to_numpy(dtype=np.int64),
            "modality": raw["modality"].to_numpy(dtype=np.int64),
            "hypothesis": raw["hypothesis"].astype(str).to_numpy(dtype=object),
            "reference": raw["reference"].astype(str).to_numpy(dtype=object),
        },
        columns=TEXT_COLUMNS,
    )
    return out.sort_values(["reader_id", "case_id", "run", "modality"], kind="stable").reset_index(
        drop=True
    )


def _shown(frame: pd.DataFrame, column: str, mapping: dict[str, str]) -> pd.Series:
    """``column`` through ``mapping``, the reference impression's reader kept as is."""
    values = frame[column].astype(str)
    return values.map(mapping).where(values != REFERENCE_READER, REFERENCE_READER)


def study_judgments(
    study: Study,
    ids: Pseudonyms,
    *,
    cases: pd.Series,
    readers: pd.Series | None = None,
) -> dict[str, Any]:
    """The study's judgments (issue 14) on ``cases`` (shown ids) as the analysis sees them.

    ``preferences``: ``rater_id, case_id, reader, comparator, kind_a, kind_b, run_a, run_b,
    choice, left``; ``acceptability``: ``rater_id, case_id, reader_id, kind, run, grade,
    acceptable``; ``errors``: ``rater_id, case_id, reader_id, kind, run, category,
    significant``. Reader, case and rater codes are shown as ``ids`` shows them (pseudonyms
    for a statistician before unblinding); the reference impression is reader
    ``reference``. With ``readers`` (shown ids), only judgments of those readers' outputs
    (and the reference) are kept.
    """
    scale = acceptability_scale(study)
    frames = {
        "preferences": preference_frame(study),
        "acceptability": acceptability_frame(study),
        "errors": error_frame(study),
    }
    raw_readers = set()
    for name, frame in frames.items():
        cols = ["reader_a", "reader_b"] if name == "preferences" else ["reader"]
        for col in cols:
            raw_readers |= set(frame[col].astype(str))
    reader_map = ids.mapping("reader", sorted(raw_readers - {REFERENCE_READER}))
    keep_cases = set(cases.astype(str))
    keep_readers = None if readers is None else {*readers.astype(str), REFERENCE_READER}
    out: dict[str, Any] = {
        "acceptability_values": scale.values,
        "acceptability_cutoff": scale.cutoff,
    }
    for name, frame in frames.items():
        if frame.empty:
            out[name] = pd.DataFrame()
            continue
        shown = pd.DataFrame(
            {
                "rater_id": frame["rater"].map(
                    ids.mapping("rater", sorted(set(frame["rater"].astype(str))))
                ),
                "case_id": frame["case"].map(
                    ids.mapping("case", sorted(set(frame["case"].astype(str))))
                ),
            }
        )
        if name == "preferences":
            shown["reader"] = _shown(frame, "reader_a", reader_map)
            shown["comparator"] = _shown(frame, "reader_b", reader_map)
            for col in ("kind_a", "kind_b", "run_a", "run_b", "choice", "left"):
                shown[col] = frame[col].to_numpy()
            mask = shown["case_id"].isin(keep_cases)
            if keep_readers is not None:
                mask &= shown["reader"].isin(keep_readers) & shown["comparator"].isin(keep_readers)
        else:
            shown["reader_id"] = _shown(frame, "reader", reader_map)
            extra = (
                ("grade", "acceptable") if name == "acceptability" else ("category", "significant")
            )
            for col in ("kind", "run", *extra):
                shown[col] = frame[col].to_numpy()
            mask = shown["case_id"].isin(keep_cases)
            if keep_readers is not None:
                mask &= shown["reader_id"].isin(keep_readers)
        judged = frame["source"].to_numpy() == ScoreSource.JUDGED
        out[name] = shown[mask & ~judged].reset_index(drop=True)
        if name != "errors":
            out[f"judge_{name}"] = shown[mask & judged].reset_index(drop=True)
    out["judge_answers"] = _judge_answers(study, ids, reader_map, keep_cases, keep_readers)
    return out


def _judge_answers(
    study: Study,
    ids: Pseudonyms,
    reader_map: dict[str, str],
    keep_cases: set[str],
    keep_readers: set[str] | None,
) -> pd.DataFrame:
    """:func:`evaluation.selectors.judge_answer_frame` with shown identifiers, on the cases
    (and readers) of the analysis."""
    columns = ["rater_id", "instrument", "judge_run", "order", "case_id", "reader", "run_a",
               "comparator", "run_b", "key", "value"]  # fmt: skip
    frame = judge_answer_frame(study)
    if frame.empty:
        return pd.DataFrame(columns=columns)
    codes = sorted({*reader_map, *frame["reader_a"].astype(str)} - {REFERENCE_READER, ""})
    readers = ids.mapping("reader", codes)
    out = pd.DataFrame(
        {
            "rater_id": frame["rater"].map(
                ids.mapping("rater", sorted(set(frame["rater"].astype(str))))
            ),
            "instrument": frame["instrument"],
            "judge_run": frame["judge_run"].astype("int64"),
            "order": frame["order"],
            "case_id": frame["case"].map(
                ids.mapping("case", sorted(set(frame["case"].astype(str))))
            ),
            "reader": _shown(frame, "reader_a", readers),
            "run_a": frame["run_a"],
            "comparator": _shown(frame, "reader_b", readers).where(frame["reader_b"] != "", ""),
            "run_b": frame["run_b"],
            "key": frame["key"],
            "value": frame["value"],
        }
    )
    mask = out["case_id"].isin(keep_cases)
    if keep_readers is not None:
        mask &= out["reader"].isin(keep_readers) & (
            out["comparator"].isin(keep_readers) | (out["comparator"] == "")
        )
    return out[mask].reset_index(drop=True)


def case_truth_details(study: Study, population: pd.DataFrame, ids: Pseudonyms) -> dict[str, str]:
    """case_id -> ``Case.truth_detail`` (e.g. the pathology subtype) of ``population``."""
    rows = Case.objects.filter(study=study).values_list("code", "truth_detail")
    codes = dict(rows)
    mapping = ids.mapping("case", list(codes))
    wanted = set(population["case_id"])
    return {
        mapping[code]: str(detail or "")
        for code, detail in codes.items()
        if mapping[code] in wanted
    }


#: Columns of :func:`reader_details`.
READER_DETAIL_COLUMNS: tuple[str, ...] = (
    "reader_id", "kind", "label", "group", "description", "years_experience",
    "interpretations", "model", "inputs", "temperature", "seed", "n_runs",
)  # fmt: skip


def reader_details(study: Study, chosen: pd.DataFrame, ids: Pseudonyms) -> pd.DataFrame:
    """Each reader of ``chosen`` (:func:`study_readers`' frame) with its description,
    experience and, for model readers, the generation configuration (model id, inputs,
    temperature, seed, runs). With pseudonyms everything that could name a reader (label,
    group, description, years of experience, interpretations, model id, seed) is blank."""
    readers = {r.pk: r for r in Reader.objects.filter(pk__in=chosen["pk"].tolist())}
    configs = {c.reader_id: c for c in GenerationConfig.objects.filter(reader_id__in=list(readers))}
    rows = []
    for rec in chosen.to_dict("records"):
        reader = readers[rec["pk"]]
        config = configs.get(rec["pk"])
        rows.append(
            {
                "reader_id": rec["reader_id"],
                "kind": rec["kind"],
                "label": "" if ids.enabled else reader.label,
                "group": "" if ids.enabled else reader.group,
                "description": "" if ids.enabled else reader.description,
                "years_experience": None if ids.enabled else reader.years_experience,
                "interpretations": None if ids.enabled else reader.interpretations,
                "model": "" if config is None or ids.enabled else config.model,
                "inputs": "" if config is None else config.get_inputs_display(),
                "temperature": None if config is None else config.temperature,
                "seed": None if config is None or ids.enabled else config.seed,
                "n_runs": None if config is None else config.n_runs,
            }
        )
    return pd.DataFrame(rows, columns=list(READER_DETAIL_COLUMNS))


def cases_read_by_split(study: Study) -> dict[str, int]:
    """Split -> how many of the study's cases have at least one reading (one query)."""
    rows = (
        Reading.objects.filter(case__study=study)
        .values_list("case__split")
        .annotate(n=Count("case", distinct=True))
        .order_by()
    )
    return {str(split): int(n) for split, n in rows}


def _attach_reading_codes(
    raw: pd.DataFrame, readers: pd.DataFrame, cases: pd.DataFrame
) -> pd.DataFrame:
    reader_index = pd.Index(readers["pk"].to_numpy())
    case_index = pd.Index(cases["pk"].to_numpy())
    reader_pk = raw["reader_pk"].to_numpy(dtype=np.int64)
    case_pk = raw["case_pk"].to_numpy(dtype=np.int64)
    out = pd.DataFrame(
        {
            "reader_id": _take(
                reader_index, reader_pk, readers["reader_id"].to_numpy(dtype=object)
            ),
            "kind": _take(reader_index, reader_pk, readers["kind"].to_numpy(dtype=object)),
            "case_id": _take(case_index, case_pk, cases["case_id"].to_numpy(dtype=object)),
            "truth": _take(case_index, case_pk, cases["truth"].to_numpy(dtype=np.int64)),
            "split": _take(case_index, case_pk, cases["split"].to_numpy(dtype=object)),
            "run": raw["run"].to_numpy(dtype=np.int64),
            "modality": raw["modality"].to_numpy(dtype=np.int64),
            "category": raw["category"].to_numpy(dtype=np.int64),
            "score": pd.to_numeric(raw["score"], errors="coerce").to_numpy(dtype=float),
            "seconds": pd.to_numeric(raw["seconds"], errors="coerce").to_numpy(dtype=float),
        }
    )
    return out.sort_values(["reader_id", "case_id", "run", "modality"], kind="stable").reset_index(
        drop=True
    )


def _attach_score_codes(
    raw: pd.DataFrame,
    readers: pd.DataFrame,
    cases: pd.DataFrame,
    raters: pd.DataFrame,
    domains: pd.DataFrame,
) -> pd.DataFrame:
    reader_index = pd.Index(readers["pk"].to_numpy())
    case_index = pd.Index(cases["pk"].to_numpy())
    rater_index = pd.Index(raters["pk"].to_numpy())
    domain_index = pd.Index(domains["pk"].to_numpy())
    reader_pk = raw["reader_pk"].to_numpy(dtype=np.int64)
    domain_pk = raw["domain_pk"].to_numpy(dtype=np.int64)
    out = pd.DataFrame(
        {
            "rater_id": _take(
                rater_index,
                raw["rater_pk"].to_numpy(dtype=np.int64),
                raters["rater_id"].to_numpy(dtype=object),
            ),
            "reader_id": _take(
                reader_index, reader_pk, readers["reader_id"].to_numpy(dtype=object)
            ),
            "kind": _take(reader_index, reader_pk, readers["kind"].to_numpy(dtype=object)),
            "case_id": _take(
                case_index,
                raw["case_pk"].to_numpy(dtype=np.int64),
                cases["case_id"].to_numpy(dtype=object),
            ),
            "run": raw["run"].to_numpy(dtype=np.int64),
            "modality": raw["modality"].to_numpy(dtype=np.int64),
            "domain": _take(domain_index, domain_pk, domains["domain"].to_numpy(dtype=object)),
            "group": _take(domain_index, domain_pk, domains["group"].to_numpy(dtype=object)),
            "score": raw["score"].to_numpy(dtype=np.int64),
        }
    )
    return out.sort_values(
        ["reader_id", "case_id", "run", "modality", "domain", "rater_id"], kind="stable"
    ).reset_index(drop=True)


# ---------------------------------------------------------------------------------------
# Streams for the exports
# ---------------------------------------------------------------------------------------

READING_EXPORT_COLUMNS: tuple[str, ...] = (
    "study", "reader_id", "reader_kind", "case_id", "patient_id", "split", "truth", "run",
    "modality", "category", "positive", "score", "seconds", "source", "impression",
)  # fmt: skip
SCORE_EXPORT_COLUMNS: tuple[str, ...] = (
    "study", "rater_id", "reader_id", "reader_kind", "case_id", "split", "truth", "run",
    "modality", "domain", "domain_group", "score",
)  # fmt: skip


def _export_order(
    study: Study, ids: Pseudonyms, readers: pd.DataFrame, then: str, *, plain: str = "r.id"
) -> tuple[str, list[Any]]:
    """``ORDER BY`` of an export: storage order (``plain``), or for pseudonyms readers in
    pseudonym order (``readers`` is :func:`study_readers`' frame), cases in keyed order,
    then ``then``."""
    if not ids.enabled:
        return f" ORDER BY {plain}", []
    ranks = {int(pk): i for i, pk in enumerate(readers["pk"])}
    case_key, params = order_key_sql(study.slug, "case", "c.code")
    return f" ORDER BY {rank_sql('r.reader_id', ranks)}, {case_key}, {then}", params


def reading_chunks(
    study: Study, ids: Pseudonyms, *, split: str = "all", chunk_rows: int = CHUNK_ROWS
) -> Iterator[pd.DataFrame]:
    """Every reading of ``study`` (of ``split``) in chunks with :data:`READING_EXPORT_COLUMNS`.

    Rows are in primary-key order (the order they were stored in); pseudonymous rows are
    sorted by reader (pseudonym order), case (keyed order), run and modality instead, so
    that the order of import cannot map them back. Memory is bounded by the chunk size plus
    the case and reader look-ups.
    """
    readers = study_readers(study, ids)
    cases = study_cases(study, ids)
    reader_index = pd.Index(readers["pk"].to_numpy())
    case_index = pd.Index(cases["pk"].to_numpy())
    sql, params = _reading_sql(
        study,
        split=split,
        reader_pks=None,
        runs=None,
        columns="r.reader_id, r.case_id, r.run, r.modality, r.category, r.score, r.seconds, "
        "r.source, r.impression",
    )
    order, order_params = _export_order(study, ids, readers, "r.run, r.modality, r.id")
    sql, params = sql + order, params + order_params
    cols = [
        "reader_pk",
        "case_pk",
        "run",
        "modality",
        "category",
        "score",
        "seconds",
        "source",
        "impression",
    ]
    reader_code = readers["reader_id"].to_numpy(dtype=object)
    reader_kind = readers["kind"].to_numpy(dtype=object)
    case_code = cases["case_id"].to_numpy(dtype=object)
    patient = cases["patient_id"].to_numpy(dtype=object)
    case_split = cases["split"].to_numpy(dtype=object)
    truth = cases["truth"].to_numpy(dtype=np.int64)
    threshold = int(study.positive_threshold)
    for raw in _chunks(sql, params, cols, chunk_rows):
        r_pk = raw["reader_pk"].to_numpy(dtype=np.int64)
        c_pk = raw["case_pk"].to_numpy(dtype=np.int64)
        category = raw["category"].to_numpy(dtype=np.int64)
        yield pd.DataFrame(
            {
                "study": study.slug,
                "reader_id": _take(reader_index, r_pk, reader_code),
                "reader_kind": _take(reader_index, r_pk, reader_kind),
                "case_id": _take(case_index, c_pk, case_code),
                "patient_id": _take(case_index, c_pk, patient),
                "split": _take(case_index, c_pk, case_split),
                "truth": _take(case_index, c_pk, truth),
                "run": raw["run"].to_numpy(dtype=np.int64),
                "modality": raw["modality"].to_numpy(dtype=np.int64),
                "category": category,
                "positive": (category >= threshold).astype(np.int64),
                "score": pd.to_numeric(raw["score"], errors="coerce").to_numpy(dtype=float),
                "seconds": pd.to_numeric(raw["seconds"], errors="coerce").to_numpy(dtype=float),
                "source": raw["source"].to_numpy(dtype=object),
                "impression": raw["impression"].to_numpy(dtype=object),
            }
        )


def score_chunks(
    study: Study, ids: Pseudonyms, *, split: str = "all", chunk_rows: int = CHUNK_ROWS
) -> Iterator[pd.DataFrame]:
    """Every Likert score of ``study`` in chunks with :data:`SCORE_EXPORT_COLUMNS`.

    Rows are in primary-key order; pseudonymous rows by reader, case, run, modality, domain
    and rater (see :func:`reading_chunks`).
    """
    readers = study_readers(study, ids)
    cases = study_cases(study, ids)
    raters = study_raters(study, ids)
    domains = study_domains(study)
    reader_index = pd.Index(readers["pk"].to_numpy())
    case_index = pd.Index(cases["pk"].to_numpy())
    rater_index = pd.Index(raters["pk"].to_numpy())
    domain_index = pd.Index(domains["pk"].to_numpy())
    sql, params = _score_sql(
        study,
        split=split,
        reader_pks=None,
        runs=None,
        columns="s.rater_id, r.reader_id, r.case_id, r.run, r.modality, s.domain_id, s.score",
    )
    domain_rank = {int(pk): i for i, pk in enumerate(domains["pk"])}
    rater_rank = {int(pk): i for i, pk in enumerate(raters.sort_values("rater_id")["pk"])}
    order, order_params = _export_order(
        study,
        ids,
        readers,
        f"r.run, r.modality, {rank_sql('s.domain_id', domain_rank)}, "
        f"{rank_sql('s.rater_id', rater_rank)}, s.id",
        plain="s.id",
    )
    sql, params = sql + order, params + order_params
    cols = ["rater_pk", "reader_pk", "case_pk", "run", "modality", "domain_pk", "score"]
    reader_code = readers["reader_id"].to_numpy(dtype=object)
    reader_kind = readers["kind"].to_numpy(dtype=object)
    case_code = cases["case_id"].to_numpy(dtype=object)
    case_split = cases["split"].to_numpy(dtype=object)
    truth = cases["truth"].to_numpy(dtype=np.int64)
    rater_code = raters["rater_id"].to_numpy(dtype=object)
    domain_key = domains["domain"].to_numpy(dtype=object)
    domain_group = domains["group"].to_numpy(dtype=object)
    for raw in _chunks(sql, params, cols, chunk_rows):
        r_pk = raw["reader_pk"].to_numpy(dtype=np.int64)
        c_pk = raw["case_pk"].to_numpy(dtype=np.int64)
        d_pk = raw["domain_pk"].to_numpy(dtype=np.int64)
        yield pd.DataFrame(
            {
                "study": study.slug,
                "rater_id": _take(
                    rater_index, raw["rater_pk"].to_numpy(dtype=np.int64), rater_code
                ),
                "reader_id": _take(reader_index, r_pk, reader_code),
                "reader_kind": _take(reader_index, r_pk, reader_kind),
                "case_id": _take(case_index, c_pk, case_code),
                "split": _take(case_index, c_pk, case_split),
                "truth": _take(case_index, c_pk, truth),
                "run": raw["run"].to_numpy(dtype=np.int64),
                "modality": raw["modality"].to_numpy(dtype=np.int64),
                "domain": _take(domain_index, d_pk, domain_key),
                "domain_group": _take(domain_index, d_pk, domain_group),
                "score": raw["score"].to_numpy(dtype=np.int64),
            }
        )


def study_seed_records(study: Study) -> list[dict[str, Any]]:
    """Randomisation seeds stored for ``study`` by any installed app.

    Finds every model with a field named ``seed`` that belongs to the study directly (a
    foreign key to :class:`Study`) or through one foreign key to a model that does (e.g. a
    session's assignment). Returns ``{model, pk, name, seed}`` records sorted by model
    and primary key; empty when no app stores seeds.
    """
    from django.apps import apps
    from django.db.models import ForeignKey

    records: list[dict[str, Any]] = []
    for model in apps.get_models():
        names = {f.name for f in model._meta.get_fields()}
        if "seed" not in names:
            continue
        lookup = None
        for f in model._meta.get_fields():
            if isinstance(f, ForeignKey) and f.related_model is Study:
                lookup = f.name
                break
        if lookup is None:
            for f in model._meta.get_fields():
                if not isinstance(f, ForeignKey) or f.related_model is None:
                    continue
                for g in f.related_model._meta.get_fields():
                    if isinstance(g, ForeignKey) and g.related_model is Study:
                        lookup = f"{f.name}__{g.name}"
                        break
                if lookup:
                    break
        if lookup is None:
            continue
        for obj in model._default_manager.filter(**{lookup: study}).order_by("pk"):
            records.append(
                {
                    "model": model._meta.label,
                    "pk": obj.pk,
                    "name": str(obj),
                    "seed": obj.serializable_value("seed"),
                }
            )
    return records


def _weighted(field: str, prime: int) -> Sum:
    """``SUM(field * (id % prime + 1))``: moves when a value changes, even in place."""
    return Sum(
        ExpressionWrapper(
            Coalesce(F(field), Value(0.0)) * (Mod(F("id"), Value(prime)) + Value(1)),
            output_field=FloatField(),
        )
    )


def study_data_version(study: Study) -> str:
    """A fingerprint of everything :func:`study_data` reads for ``study``, from the database.

    Readings and Likert scores (the large tables): count, largest id, latest ``updated_at``
    and id-weighted sums of every analysed value, so inserts, deletes, saves and in-place
    ``QuerySet.update`` calls all move it; one aggregate query each. Cases, readers, raters,
    domains and scale categories (small) are hashed row by row; the study by its own fields;
    the judgments (preferences, acceptability grades, error annotations) by count, largest id
    and latest ``updated_at``.
    The dashboard's results cache is keyed by it (docs/analysis.md, "Results cache").
    """
    readings = Reading.objects.filter(reader__study=study).aggregate(
        n=Count("id"),
        last=Max("id"),
        at=Max("updated_at"),
        category=_weighted("category", 997),
        score=_weighted("score", 991),
        seconds=_weighted("seconds", 983),
        run=_weighted("run", 977),
        modality=_weighted("modality", 971),
        reader=_weighted("reader_id", 967),
        case=_weighted("case_id", 953),
    )
    scores = LikertScore.objects.filter(reading__reader__study=study).aggregate(
        n=Count("id"),
        last=Max("id"),
        at=Max("updated_at"),
        score=_weighted("score", 997),
        domain=_weighted("domain_id", 991),
        rater=_weighted("rater_id", 983),
        reading=_weighted("reading_id", 977),
    )
    # the judgments (issue 14): count, largest id and latest change of each table
    judgments = [
        model.objects.filter(rater__study=study).aggregate(
            n=Count("id"), last=Max("id"), at=Max("updated_at")
        )
        for model in (PairwisePreference, AcceptabilityGrade, ErrorAnnotation)
    ]
    small = [
        list(Case.objects.filter(study=study).order_by("pk").values_list()),
        list(Reader.objects.filter(study=study).order_by("pk").values_list()),
        list(Rater.objects.filter(study=study).order_by("pk").values_list()),
        list(LikertDomain.objects.filter(study=study).order_by("pk").values_list()),
        list(study.scale_categories.order_by("pk").values_list()),
        [getattr(study, f.attname) for f in Study._meta.concrete_fields],
        # lesion marks (issue 20): no updated_at, so every row (marks are few per reading)
        list(LesionMark.objects.filter(reading__reader__study=study).order_by("pk").values_list()),
        list(TruthMark.objects.filter(case__study=study).order_by("pk").values_list()),
    ]
    text = json.dumps([readings, scores, judgments, small], default=str, sort_keys=True)
    return hashlib.sha256(text.encode()).hexdigest()
