"""The judgment models (pairwise preference, acceptability, error annotation): their database
constraints, the instrument settings and the long frames for the analysis (issue 14)."""

from __future__ import annotations

import math

import pytest
from django.db import IntegrityError, transaction

from evaluation.instruments import (
    DEFAULT_ACCEPTABILITY,
    DEFAULT_TAXONOMY,
    acceptability_scale,
    error_taxonomy,
    parse_acceptability,
    parse_errors,
)
from evaluation.models import AcceptabilityGrade, ErrorAnnotation, PairwisePreference
from evaluation.selectors import (
    ACCEPTABILITY_FRAME_COLUMNS,
    ERROR_FRAME_COLUMNS,
    PREFERENCE_FRAME_COLUMNS,
    acceptability_frame,
    error_frame,
    preference_frame,
)
from tests.factories import (
    AcceptabilityGradeFactory,
    ErrorAnnotationFactory,
    PairwisePreferenceFactory,
    RaterFactory,
    ReadingFactory,
    StudyFactory,
)

pytestmark = pytest.mark.django_db


def refused(**fields: object) -> None:
    """The row ``fields`` describes is refused by the database."""
    model = fields.pop("model")
    with pytest.raises(IntegrityError), transaction.atomic():
        model.objects.create(**fields)  # type: ignore[attr-defined]


# ----------------------------------------------------------------------------- constraints


def test_a_preference_needs_at_least_one_output_and_two_different_ones() -> None:
    pref = PairwisePreferenceFactory()
    base = {"model": PairwisePreference, "rater": pref.rater, "case": pref.case, "choice": "a"}
    refused(**base, reading_a=None, reading_b=None)
    refused(**base, reading_a=pref.reading_a, reading_b=pref.reading_a)


def test_a_preference_choice_side_and_strength_are_checked() -> None:
    pref = PairwisePreferenceFactory()
    other = ReadingFactory(case=pref.case, reader__study=pref.case.study)
    base = {
        "model": PairwisePreference,
        "rater": pref.rater,
        "case": pref.case,
        "reading_a": pref.reading_a,
        "reading_b": other,
    }
    refused(**base, choice="z")
    refused(**base, choice="a", left="c")
    refused(**base, choice="a", strength=6)
    refused(**base, choice="a", strength=0)
    refused(**base, choice="a", seconds=-1.0)
    refused(**base, choice="a", source="guessed")
    assert PairwisePreference.objects.create(**{k: v for k, v in base.items() if k != "model"},
                                             choice="tie", strength=5).pk  # fmt: skip


def test_a_rater_compares_a_pair_once_and_an_output_with_the_reference_once() -> None:
    pref = PairwisePreferenceFactory()
    refused(
        model=PairwisePreference,
        rater=pref.rater,
        case=pref.case,
        reading_a=pref.reading_a,
        reading_b=pref.reading_b,
        choice="b",
    )
    vs_reference = PairwisePreferenceFactory(
        reading_a=pref.reading_a, reading_b=None, rater=pref.rater
    )
    refused(
        model=PairwisePreference,
        rater=pref.rater,
        case=pref.case,
        reading_a=vs_reference.reading_a,
        reading_b=None,
        choice="tie",
    )
    PairwisePreferenceFactory(reading_a=None, reading_b=pref.reading_a, rater=pref.rater)
    refused(
        model=PairwisePreference,
        rater=pref.rater,
        case=pref.case,
        reading_a=None,
        reading_b=pref.reading_a,
        choice="tie",
    )
    # Another rater may compare the same pair.
    PairwisePreferenceFactory(
        reading_a=pref.reading_a,
        reading_b=pref.reading_b,
        rater=RaterFactory(study=pref.case.study),
    )


def test_one_acceptability_grade_per_rater_and_output_or_reference() -> None:
    grade = AcceptabilityGradeFactory()
    refused(model=AcceptabilityGrade, rater=grade.rater, case=grade.case, reading=grade.reading,
            grade=1)  # fmt: skip
    AcceptabilityGradeFactory(reading=None, case=grade.case, rater=grade.rater)
    refused(model=AcceptabilityGrade, rater=grade.rater, case=grade.case, reading=None, grade=2)
    refused(model=AcceptabilityGrade, rater=grade.rater, case=grade.case,
            reading=ReadingFactory(case=grade.case, reader__study=grade.case.study), grade=2,
            seconds=-3.0)  # fmt: skip


def test_an_error_span_starts_before_it_ends_and_comes_whole() -> None:
    error = ErrorAnnotationFactory(start=0, end=4)
    base = {
        "model": ErrorAnnotation,
        "rater": error.rater,
        "case": error.case,
        "reading": error.reading,
        "category": "other",
    }
    refused(**base, start=4, end=4)
    refused(**base, start=5, end=2)
    refused(**base, start=3, end=None)
    refused(**base, start=None, end=3)
    # Two errors of one output (even of one category) are fine.
    ErrorAnnotationFactory(reading=error.reading, rater=error.rater, category="false_finding")


def test_no_errors_is_plain_and_once_per_rater_and_output() -> None:
    error = ErrorAnnotationFactory(category="none", significant=False)
    base = {"model": ErrorAnnotation, "rater": error.rater, "case": error.case}
    refused(**base, reading=error.reading, category="none", significant=False)
    other = ReadingFactory(case=error.case, reader__study=error.case.study)
    refused(**base, reading=other, category="none", significant=True)
    refused(**base, reading=other, category="none", start=0, end=2)
    ErrorAnnotationFactory(reading=None, case=error.case, rater=error.rater, category="none",
                           significant=False)  # fmt: skip
    refused(**base, reading=None, category="none", significant=False)


# ----------------------------------------------------------------------------- settings


def test_the_default_instruments_are_the_issues() -> None:
    assert DEFAULT_ACCEPTABILITY.values == [4, 3, 2, 1]
    assert [DEFAULT_ACCEPTABILITY.labels[v] for v in DEFAULT_ACCEPTABILITY.values] == [
        "acceptable without changes",
        "acceptable with minor edits",
        "major edits needed",
        "unacceptable",
    ]
    assert DEFAULT_ACCEPTABILITY.labels[DEFAULT_ACCEPTABILITY.cutoff] == (
        "acceptable with minor edits"
    )
    assert [DEFAULT_ACCEPTABILITY.acceptable(v) for v in (4, 3, 2, 1)] == [True, True, False, False]
    assert list(DEFAULT_TAXONOMY.categories.values()) == [
        "false finding",
        "missed finding",
        "wrong location",
        "wrong severity or category",
        "wrong comparison",
        "other",
    ]
    assert DEFAULT_TAXONOMY.keys[-1] == "none"


def test_settings_are_read_from_the_study_config_with_defaults() -> None:
    study = StudyFactory(
        config={
            "acceptability": {"values": [1, 0], "cutoff": 1, "labels": {"1": "ok", "0": "not"}},
            "errors": {"categories": {"omission": "omission"}},
        }
    )
    assert acceptability_scale(study).labels == {1: "ok", 0: "not"}
    assert error_taxonomy(study).keys == ["omission", "none"]
    assert acceptability_scale(StudyFactory()) == DEFAULT_ACCEPTABILITY
    assert error_taxonomy(StudyFactory()) == DEFAULT_TAXONOMY


def test_every_problem_of_the_settings_is_returned_with_its_key() -> None:
    scale, problems = parse_acceptability(
        {"values": [3, 2, 1], "labels": {"x": "bad", "2": 5}, "cutoff": 7, "colour": 1}
    )
    assert scale == DEFAULT_ACCEPTABILITY
    assert [key for key, _ in problems] == [
        "acceptability.colour",
        "acceptability.labels",
        "acceptability.labels",
        "acceptability.cutoff",
    ]
    assert parse_acceptability("x") == (
        DEFAULT_ACCEPTABILITY,
        [("acceptability", "must be a table")],
    )
    taxonomy, problems = parse_errors({"categories": {"none": "x", "ok": "", "a-b": "y"}})
    assert taxonomy == DEFAULT_TAXONOMY
    assert len(problems) == 3
    assert parse_errors([]) == (DEFAULT_TAXONOMY, [("errors", "must be a table")])


def test_labels_default_only_for_the_default_values() -> None:
    scale, problems = parse_acceptability({"values": [5, 4, 3], "cutoff": 4})
    assert problems == [] and scale.labels == {5: "", 4: "", 3: ""}
    scale, problems = parse_acceptability({"values": [1, 2, 3, 4]})
    assert problems == [] and scale == DEFAULT_ACCEPTABILITY


# ----------------------------------------------------------------------------- frames


def test_preference_frame_has_one_row_per_comparison_with_real_codes() -> None:
    pref = PairwisePreferenceFactory(strength=4, seconds=2.5)
    PairwisePreferenceFactory(
        reading_a=pref.reading_a, reading_b=None, rater=pref.rater, choice="tie", left="b"
    )
    frame = preference_frame(pref.case.study)
    assert tuple(frame.columns) == PREFERENCE_FRAME_COLUMNS
    assert len(frame) == 2
    first, second = frame.iloc[0], frame.iloc[1]
    assert (first["rater"], first["case"]) == (pref.rater.code, pref.case.code)
    assert (first["reader_a"], first["reader_b"]) == (
        pref.reading_a.reader.code,
        pref.reading_b.reader.code,
    )
    assert (first["run_a"], first["kind_b"], first["strength"], first["seconds"]) == (
        1,
        "human",
        4.0,
        2.5,
    )
    assert (second["reader_b"], second["kind_b"], second["run_b"], second["modality_b"]) == (
        "reference",
        "reference",
        0,
        0,
    )
    assert second["choice"] == "tie" and math.isnan(second["strength"])


def test_acceptability_frame_applies_the_study_cutoff() -> None:
    grade = AcceptabilityGradeFactory(grade=3, seconds=4.0)
    AcceptabilityGradeFactory(reading=None, case=grade.case, rater=grade.rater, grade=2)
    frame = acceptability_frame(grade.case.study)
    assert tuple(frame.columns) == ACCEPTABILITY_FRAME_COLUMNS
    assert frame[["reader", "grade", "acceptable"]].values.tolist() == [
        [grade.reading.reader.code, 3, True],
        ["reference", 2, False],
    ]
    study = grade.case.study
    study.config = {"acceptability": {"cutoff": 4}}
    study.save()
    assert acceptability_frame(study)["acceptable"].tolist() == [False, False]


def test_error_frame_marks_no_errors_and_keeps_spans() -> None:
    error = ErrorAnnotationFactory(start=2, end=9)
    ErrorAnnotationFactory(
        reading=None, case=error.case, rater=error.rater, category="none", significant=False
    )
    frame = error_frame(error.case.study)
    assert tuple(frame.columns) == ERROR_FRAME_COLUMNS
    assert frame[["reader", "category", "no_errors", "significant"]].values.tolist() == [
        [error.reading.reader.code, "false_finding", False, True],
        ["reference", "none", True, False],
    ]
    assert frame["start"].iloc[0] == 2.0 and math.isnan(frame["end"].iloc[1])


def test_frames_of_a_study_without_judgments_are_empty_with_their_columns() -> None:
    study = StudyFactory()
    assert tuple(preference_frame(study).columns) == PREFERENCE_FRAME_COLUMNS
    assert acceptability_frame(study).empty and error_frame(study).empty


def test_frames_hold_only_the_studys_judgments() -> None:
    PairwisePreferenceFactory()
    assert preference_frame(StudyFactory()).empty


# ----------------------------------------------------------------------------- triggers


def test_a_judgments_output_must_be_a_reading_of_its_case() -> None:
    pref = PairwisePreferenceFactory()
    elsewhere = ReadingFactory(reader=pref.reading_a.reader)  # another case of the study
    base = {"model": PairwisePreference, "rater": pref.rater, "case": pref.case, "choice": "a"}
    refused(**base, reading_a=elsewhere, reading_b=None)
    refused(**base, reading_a=pref.reading_a, reading_b=elsewhere)
    grade = AcceptabilityGradeFactory()
    refused(model=AcceptabilityGrade, rater=grade.rater, case=grade.case, reading=elsewhere,
            grade=3)  # fmt: skip
    error = ErrorAnnotationFactory()
    refused(model=ErrorAnnotation, rater=error.rater, case=error.case, reading=elsewhere,
            category="other")  # fmt: skip
    # An update that moves an output to another case is refused too.
    with pytest.raises(IntegrityError), transaction.atomic():
        AcceptabilityGrade.objects.filter(pk=grade.pk).update(reading=elsewhere)


def test_a_judgments_rater_must_belong_to_the_study_of_its_case() -> None:
    stranger = RaterFactory()  # of another study
    pref = PairwisePreferenceFactory()
    refused(model=PairwisePreference, rater=stranger, case=pref.case, reading_a=pref.reading_a,
            reading_b=None, choice="a")  # fmt: skip
    grade = AcceptabilityGradeFactory()
    refused(model=AcceptabilityGrade, rater=stranger, case=grade.case, reading=None, grade=3)
    error = ErrorAnnotationFactory()
    refused(model=ErrorAnnotation, rater=stranger, case=error.case, reading=None,
            category="none")  # fmt: skip


def test_a_taxonomy_may_be_an_array_of_tables_and_keeps_its_order() -> None:
    raw = {"categories": [{"key": "zeta", "label": "z"}, {"key": "alpha", "label": "a"}]}
    taxonomy, problems = parse_errors(raw)
    assert problems == [] and taxonomy.keys == ["zeta", "alpha", "none"]
    _, problems = parse_errors(
        {"categories": [{"key": "a", "label": "x"}, {"key": "a", "label": "y"}, {"label": "z"}]}
    )
    assert problems == [
        ("errors.categories", "each [[errors.categories]] has a key and a label only"),
        ("errors.categories", "category 'a' appears twice"),
    ]
    # Stored in that form, the order survives PostgreSQL's jsonb.
    study = StudyFactory(config={"errors": {"categories": {"zeta": "z", "alpha": "a"}}})
    assert error_taxonomy(study).keys[0] in {"zeta", "alpha"}
    stored = StudyFactory(config={"errors": raw})
    stored.refresh_from_db()
    assert error_taxonomy(stored).keys == ["zeta", "alpha", "none"]
