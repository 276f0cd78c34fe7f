"""methods.md and stard_ai.md: written from the options and from what was computed."""

from __future__ import annotations

import io
import re
from pathlib import Path

import pytest
from docx import Document

from analysis.methods_text import (
    REFERENCES,
    TO_COMPLETE,
    cited_numbers,
    methods_markdown,
    methods_sentences,
    stard_ai_items,
    stard_ai_markdown,
    write_methods,
)
from analysis.results import Analysis, AnalysisOptions, run_analysis
from analysis.selectors import study_data
from analysis.tables import build_tables, display_rows, table_docx, table_footnotes
from readerstudy.studies.models import Study

pytestmark = pytest.mark.django_db

VERSIONS = {"python": "3.12.0", "readerstudy": "0.1", "numpy": "2.0.0", "scipy": "1.14.0"}


@pytest.fixture(scope="module")
def demo_analysis(demo_study: Study, django_db_blocker: pytest.FixtureRequest) -> Analysis:
    with django_db_blocker.unblock():  # type: ignore[attr-defined]
        return run_analysis(study_data(demo_study), AnalysisOptions(fleiss_boot=50, alpha_boot=50))


def _paragraph(demo_study: Study, **options: object) -> str:
    opts = AnalysisOptions(fleiss_boot=20, alpha_boot=20, **options)  # type: ignore[arg-type]
    analysis = run_analysis(study_data(demo_study), opts)
    return " ".join(methods_sentences(analysis, versions=VERSIONS)[0])


def test_the_proportion_ci_method_changes_the_paragraph(demo_study: Study) -> None:
    exact = _paragraph(demo_study, proportion_ci="exact")
    wilson = _paragraph(demo_study, proportion_ci="wilson")
    assert "Clopper–Pearson" in exact and "Wilson" not in exact
    assert "Wilson score" in wilson and "Clopper–Pearson" not in wilson


def test_the_kappa_ci_method_changes_the_paragraph(demo_study: Study) -> None:
    gwet = _paragraph(demo_study, kappa_ci="gwet")
    spss = _paragraph(demo_study, kappa_ci="spss")
    assert "Gwet's variance with a t interval" in gwet and "SPSS" not in gwet
    assert "as SPSS reports it" in spss


def test_the_multiplicity_option_changes_the_paragraph(demo_study: Study) -> None:
    none = _paragraph(demo_study, p_adjust="none")
    holm = _paragraph(demo_study, p_adjust="holm")
    fdr = _paragraph(demo_study, p_adjust={"delong": "bonferroni"})
    assert "P values of Dunn's test were not adjusted" in none
    assert "P values of these comparisons were Holm-adjusted" in holm
    assert "P values of these comparisons were Bonferroni-adjusted" in fdr
    assert "Holm" not in none and "Bonferroni" not in none


def test_the_consensus_rule_and_seed_change_the_paragraph(demo_study: Study) -> None:
    before = _paragraph(demo_study, seed=7)
    assert "majority of runs" in before and "seed 7" in before
    demo_study.consensus = "first-run"
    demo_study.save(update_fields=["consensus"])
    try:
        after = _paragraph(demo_study, seed=7)
    finally:
        demo_study.consensus = "majority-median"
        demo_study.save(update_fields=["consensus"])
    assert "the category of the first run only" in after and "majority of runs" not in after


def test_bootstrap_off_removes_the_bootstrap_sentence(demo_study: Study) -> None:
    analysis = run_analysis(study_data(demo_study), AnalysisOptions(fleiss_boot=0, alpha_boot=20))
    text = " ".join(methods_sentences(analysis, versions=VERSIONS)[0])
    assert "bootstrap over cases" not in text
    assert "bootstrap over outputs (20 resamples" in text


def test_every_cited_reference_is_in_the_list_and_every_listed_one_is_cited(
    demo_analysis: Analysis,
) -> None:
    text = methods_markdown(demo_analysis, versions=VERSIONS)
    body, refs = text.split("## References")
    listed = [line for line in refs.strip().splitlines() if line]
    assert cited_numbers(body) == set(range(1, len(listed) + 1))
    assert all(line.split(". ", 1)[1] in REFERENCES.values() for line in listed)
    assert "numpy 2.0.0" in body and "Python 3.12.0" in body
    first: list[int] = []
    for group in re.findall(r"\[(\d+(?:, \d+)*)\]", body):
        first += [int(n) for n in group.split(", ") if int(n) not in first]
    assert first == list(range(1, len(listed) + 1))  # numbered in order of first citation


def test_stard_ai_prefills_what_the_data_allows_and_marks_the_rest(
    demo_analysis: Analysis,
) -> None:
    items = {number: answer for _, number, _, answer in stard_ai_items(demo_analysis)}
    assert items["1"] == TO_COMPLETE
    assert "DeLong" in items["17"]
    assert f"{demo_analysis.n_cases} cases analysed" in items["19"]
    assert "A1" in items["11"]
    text = stard_ai_markdown(demo_analysis)
    assert text.count("\n| ") == len(items) + 1


def test_table_1_counts_truth_details_by_class(demo_analysis: Analysis) -> None:
    table = build_tables(demo_analysis)["truth_detail"]
    for truth in (0, 1):
        sub = table[table["truth"] == truth]
        head, rest = sub.iloc[0], sub.iloc[1:]
        assert head["n"] == int((demo_analysis.data.cases["truth"] == truth).sum())
        assert rest["n"].sum() == head["n"]
        assert rest["percent"].sum() == pytest.approx(100.0)


def test_table_2_gives_each_models_training_and_test_input(demo_analysis: Analysis) -> None:
    table = build_tables(demo_analysis)["reader_design"].set_index("Reader")
    assert table.loc["A2", "Test input"] == "radiology report text and DCE-MRI images"
    assert table.loc["B", "Training input"] == "Supervised fine-tuning on breast MRI images"
    assert table.loc["R3", "Experience"] == "15 years, 1,000 interpretations"
    assert table.index.tolist() == demo_analysis.reader_order


def test_table_4_matrix_is_a_lower_triangle_with_explained_marks(demo_analysis: Analysis) -> None:
    tables = build_tables(demo_analysis)
    matrix = tables["likert_matrix"]
    shown = display_rows("likert_matrix", matrix)
    readers = matrix["reader"].tolist()
    assert shown["columns"] == ["Reader", *readers[:-1]]
    dunn = demo_analysis.dunn[demo_analysis.dunn["run"].isna()]
    first = dunn.iloc[0]
    row = matrix.set_index("reader")
    a, b = first["reader_a"], first["reader_b"]
    low, high = (a, b) if readers.index(a) > readers.index(b) else (b, a)
    mark = row.loc[low, high]
    p = float(first["p_adjusted"])
    assert mark == ("***" if p < 0.001 else "**" if p < 0.01 else "*" if p < 0.05 else "ns")
    assert row.loc[high, low] == "" if high != readers[-1] else True
    assert any("*** P < 0.001" in n for n in table_footnotes(demo_analysis)["likert_matrix"])
    assert max(len(c) for r in shown["rows"] for c in r) <= 3


def test_display_headers_are_formatted_and_docx_has_them_with_footnotes(
    demo_analysis: Analysis,
) -> None:
    tables = build_tables(demo_analysis)
    agreement = display_rows("agreement", tables["agreement"])
    assert "category_interpretation" not in agreement["columns"]
    assert "Interpretation (category scale)" in agreement["columns"]
    assert "reader_a" not in display_rows("auc_comparisons", tables["auc_comparisons"])["columns"]
    notes = table_footnotes(demo_analysis)["auc_comparisons"]
    document = Document(
        io.BytesIO(table_docx("auc_comparisons", tables["auc_comparisons"], footnotes=notes))
    )
    grid = document.tables[0]
    assert [c.text for c in grid.rows[0].cells][:2] == ["Reader A", "Reader B"]
    assert len(grid.rows) == len(tables["auc_comparisons"]) + 1
    text = [p.text for p in document.paragraphs]
    assert any(t.startswith("Abbreviations: AUC") for t in text)


def test_write_methods_writes_both_files(demo_analysis: Analysis, tmp_path: Path) -> None:
    paths = write_methods(demo_analysis, tmp_path)
    assert [p.name for p in paths] == ["methods.md", "stard_ai.md"]
    assert paths[0].read_text().startswith("# Statistical analysis")
