"""Fig. 8 (the case gallery): the cases a statistician chooses and the exact prompts sent."""

from __future__ import annotations

from io import StringIO
from pathlib import Path
from types import SimpleNamespace

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from analysis.charts import case_flow, case_gallery, gallery_cases
from analysis.results import AnalysisOptions
from analysis.selectors import study_data
from readerstudy.generation.models import GenerationItem, GenerationRun
from readerstudy.studies.models import Case, Reading, Study
from tests.conftest import BundleFactory
from tests.factories import ReaderFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def study(make_bundle: BundleFactory) -> Study:
    call_command("import_study", str(make_bundle()), stdout=StringIO())
    study = Study.objects.get(slug="tiny")
    Case.objects.filter(study=study).update(reference_impression="NME, BI-RADS 4")
    return study


def _generated(study: Study) -> None:
    """Reader M9 generated C1 (run 1): the request stored with the prompt as sent."""
    from readerstudy.generation.models import GenerationConfig

    reader = ReaderFactory(study=study, code="M9", kind="model", label="Generated")
    config = GenerationConfig.objects.create(
        reader=reader, base_url="http://127.0.0.1:9/v1", model="gpt-4o"
    )
    run = GenerationRun.objects.create(config=config, status="finished", n_runs=1)
    case = Case.objects.get(study=study, code="C1")
    reading = Reading.objects.create(
        reader=reader, case=case, run=1, category=4, impression="Generated: BI-RADS 4"
    )
    GenerationItem.objects.create(
        run=run,
        case=case,
        run_number=1,
        status="done",
        reading=reading,
        request_summary={
            "system": "You are a radiologist.",
            "user": "Findings: NME-9",
            "images": 0,
        },
    )


def test_the_gallery_shows_the_exact_prompt_a_generated_reader_was_sent(study: Study) -> None:
    _generated(study)
    data = study_data(study)
    assert data.prompts.to_dict("records") == [
        {"reader_id": "M9", "case_id": "C1", "prompt": "You are a radiologist.\n\nFindings: NME-9"}
    ]
    analysis = SimpleNamespace(data=data, modality=None, options=AnalysisOptions())
    table = case_gallery(analysis).data[0]  # type: ignore[arg-type]
    _, sources, texts = table.cells.values
    assert "Prompt (M9)" in sources
    assert "Findings: NME-9" in texts[sources.index("Prompt (M9)")]
    # imported readers have no stored prompt: only the case's inputs
    assert sources.count("Input") == len([c for c in table.cells.values[0] if c])


def test_the_statistician_chooses_the_gallery_cases_in_their_order(study: Study) -> None:
    data = study_data(study)
    chosen = SimpleNamespace(
        data=data, modality=None, options=AnalysisOptions(gallery_cases=("C2", "C1"))
    )
    assert gallery_cases(chosen) == ["C2", "C1"]  # type: ignore[arg-type]
    # a case without a reference impression or any reader's impression is left out
    Case.objects.filter(study=study, code="C2").update(reference_impression="")
    later = SimpleNamespace(data=study_data(study), modality=None, options=chosen.options)
    assert gallery_cases(later) == ["C1"]  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="gallery_cases: at most 6"):
        AnalysisOptions(gallery_cases=tuple(f"C{i}" for i in range(7)))


def test_analyze_refuses_an_unknown_gallery_case(study: Study, tmp_path: Path) -> None:
    with pytest.raises(CommandError, match="--gallery-case: unknown case"):
        call_command(
            "analyze", "tiny", "--out", str(tmp_path), "--gallery-case", "C99", stdout=StringIO()
        )


def test_fig_1_draws_the_exclusions_after_allocation_below_their_split() -> None:
    flow = {
        "unit": "patients",
        "assessed": 30,
        "included": 24,
        "excluded": [{"reason": "No histology", "n": 6}],
        "split_excluded": {"test": [{"reason": "Lost to follow-up", "n": 3}]},
        "cases": 24,
        "splits": {"test": {"n": 14, "positive": 5}, "train": {"n": 10, "positive": 4}},
    }
    fig = case_flow(SimpleNamespace(data=SimpleNamespace(flow=flow)))  # type: ignore[arg-type]
    texts = [a.text for a in fig.layout.annotations if a.text]
    assert "Excluded: 6 patients<br>• No histology (n = 6)" in texts
    assert "Excluded: 3 patients<br>• Lost to follow-up (n = 3)" in texts
    # the split's exclusion box lies below the test set's box
    test_box = next(a for a in fig.layout.annotations if a.text.startswith("Test set: 14 cases"))
    lost = next(a for a in fig.layout.annotations if a.text.startswith("Excluded: 3 patients"))
    assert lost.y < test_box.y
