"""``manage.py analyze`` and ``manage.py export_data``."""

from __future__ import annotations

import json
from io import StringIO
from pathlib import Path

import pandas as pd
import pytest
from django.core.management import CommandError, call_command
from openpyxl import load_workbook

from analysis.manifest import input_digests
from analysis.selectors import study_data
from readerstudy.audit.models import AuditEvent
from readerstudy.studies.models import Reading, Study
from readerstudy.studies.pseudonyms import pseudonym
from tests.analysis.conftest import SmallStudy

pytestmark = pytest.mark.django_db

TABLES = {
    "diagnostic_performance", "auc_comparisons", "agreement", "likert", "likert_tests",
    "likert_domains", "baseline", "confusion", "case_categories",
}  # fmt: skip


def analyze(*args: str) -> tuple[str, str]:
    out, err = StringIO(), StringIO()
    call_command("analyze", *args, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


def test_analyze_writes_results_tables_workbook_and_manifest(
    small_study: SmallStudy, tmp_path: Path
) -> None:
    study = small_study()
    stdout, stderr = analyze(study.slug, "--out", str(tmp_path), "--formats", "html")
    assert "results.json, manifest.json" in stdout
    results = json.loads((tmp_path / "results.json").read_text())
    assert results["study"] == study.slug and results["n_cases"] == 36
    assert {p.stem for p in (tmp_path / "tables").glob("*.csv")} >= TABLES
    workbook = load_workbook(tmp_path / "tables.xlsx", read_only=True)
    assert workbook.sheetnames[0] == "about" and set(workbook.sheetnames[1:]) >= TABLES
    performance = pd.read_csv(tmp_path / "tables" / "diagnostic_performance.csv")
    assert performance["AUC (95% CI)"].str.match(r"^0\.\d\d \(0\.\d\d–[01]\.\d\d\)$").all()
    assert {p.stem for p in (tmp_path / "tables").glob("*.docx")} >= TABLES
    assert (tmp_path / "tables" / "diagnostic_performance.docx").read_bytes()[:2] == b"PK"
    methods = (tmp_path / "methods.md").read_text()
    assert "Clopper–Pearson" in methods and "## References" in methods
    assert "to be completed" in (tmp_path / "stard_ai.md").read_text()
    assert (tmp_path / "figures" / "roc_curves.html").exists()
    assert not (tmp_path / "figures" / "roc_curves.png").exists()
    assert "analyze small" in stderr  # the progress bar

    manifest = json.loads((tmp_path / "manifest.json").read_text())
    assert {
        "python",
        "django",
        "numpy",
        "pandas",
        "scipy",
        "statsmodels",
        "plotly",
        "kaleido",
    } <= set(manifest["packages"])
    assert 'slug = "small"' in manifest["study"]["study_toml"]
    assert manifest["options"]["split"] == "test" and manifest["options"]["seed"] == 1
    assert manifest["seeds"] == {"analysis": 1, "sessions": []}
    assert manifest["input"]["sha256"] == input_digests(study_data(study))["sha256"]
    assert manifest["input"]["tables"]["readings"]["rows"] == 36 * 7
    written = {o["path"] for o in manifest["outputs"]}
    assert {
        "results.json",
        "tables.xlsx",
        "tables/agreement.csv",
        "tables/agreement.docx",
        "methods.md",
        "stard_ai.md",
        "figures/plotly.min.js",
    } <= written
    assert isinstance(manifest["command"], str) and manifest["generated_at"].endswith("+00:00")
    event = AuditEvent.objects.get(action="export", study=study, target="analyze")
    assert event.details["kind"] == "analyze" and event.details["pseudonymous"] is False


def test_the_input_digest_changes_with_the_data_and_only_with_it(small_study: SmallStudy) -> None:
    study = small_study()
    first = input_digests(study_data(study))
    assert first == input_digests(study_data(study))
    reading = Reading.objects.filter(reader__study=study, case__split="test").first()
    assert reading is not None
    reading.category = 6 if reading.category != 6 else 5
    reading.save()
    second = input_digests(study_data(study))
    assert second["tables"]["readings"]["sha256"] != first["tables"]["readings"]["sha256"]
    assert second["tables"]["cases"] == first["tables"]["cases"]
    assert second["sha256"] != first["sha256"]


def test_analyze_options_are_validated_naming_the_option(
    small_study: SmallStudy, tmp_path: Path
) -> None:
    study = small_study()
    with pytest.raises(CommandError, match="no study with slug"):
        analyze("nope", "--out", str(tmp_path))
    with pytest.raises(CommandError, match="--formats"):
        analyze(study.slug, "--out", str(tmp_path), "--formats", "gif")
    with pytest.raises(CommandError, match="--runs"):
        analyze(study.slug, "--out", str(tmp_path), "--runs", "one")
    with pytest.raises(CommandError, match="--dpi: expected comma-separated resolutions"):
        analyze(study.slug, "--out", str(tmp_path), "--dpi", "high")
    with pytest.raises(CommandError, match="--dpi"):
        analyze(study.slug, "--out", str(tmp_path), "--dpi", "300,0")
    with pytest.raises(CommandError, match="--width"):
        analyze(study.slug, "--out", str(tmp_path), "--width", "triple")
    with pytest.raises(CommandError, match="--likert-range"):
        analyze(study.slug, "--out", str(tmp_path), "--likert-range", "5,3")
    with pytest.raises(CommandError, match="readers: unknown reader"):
        analyze(study.slug, "--out", str(tmp_path), "--readers", "ZZ", "--no-figures")


def test_analyze_can_filter_and_pseudonymise(small_study: SmallStudy, tmp_path: Path) -> None:
    study = small_study()
    analyze(
        study.slug, "--out", str(tmp_path), "--no-figures", "--readers", "M1,M2", "--runs", "1,2",
        "--pseudonymous", "--no-progress",
    )  # fmt: skip
    results = json.loads((tmp_path / "results.json").read_text())
    assert list(results["readers"]) == sorted(
        pseudonym(study.slug, "reader", code) for code in ("M1", "M2")
    )
    assert not (tmp_path / "figures").exists()


def test_export_data_writes_the_dataset_and_audits_it(
    small_study: SmallStudy, tmp_path: Path
) -> None:
    study = small_study()
    out = StringIO()
    call_command(
        "export_data",
        study.slug,
        "--format",
        "likert.csv",
        "--out",
        str(tmp_path / "x.csv"),
        stdout=out,
    )
    frame = pd.read_csv(tmp_path / "x.csv")
    assert len(frame) == 36 * 7 * 4 + 4 * 7 * 4  # every score, train cases included
    event = AuditEvent.objects.get(action="export", study=study)
    assert event.details == {"kind": "likert.csv", "pseudonymous": False, "via": "export_data"}
    with pytest.raises(CommandError):
        call_command("export_data", study.slug, "--format", "nope", "--out", str(tmp_path / "y"))
    with pytest.raises(CommandError, match="is a folder"):
        call_command("export_data", study.slug, "--format", "wide.csv", "--out", str(tmp_path))
    assert Study.objects.filter(slug=study.slug).exists()


def test_analyze_writes_the_mrmc_tables_and_notes_and_takes_a_modality(
    small_study: SmallStudy, tmp_path: Path
) -> None:
    study = small_study(readers={"R1": 1, "R2": 1, "R3": 1, "M1": 3}, modalities=2, likert=False)
    Reading.objects.filter(reader__study=study, reader__code="M1", modality=2).delete()
    stdout, _ = analyze(
        study.slug, "--out", str(tmp_path), "--no-figures", "--no-progress", "--modality", "2"
    )
    results = json.loads((tmp_path / "results.json").read_text())
    assert results["modality"] == 2 and list(results["readers"]) == ["R1", "R2", "R3"]
    assert [e["analysis"] for e in results["mrmc"]] == ["RRRC", "FRRC", "RRFC"]
    assert "note: MRMC: 1 reader without readings in modality 2 is left out: M1." in stdout
    tests = pd.read_csv(tmp_path / "tables" / "mrmc.csv")
    assert tests["analysis"].tolist() == ["RRRC", "FRRC", "RRFC"]
    assert (
        tests["diff"] == -pd.Series([e["comparisons"][0]["diff"] for e in results["mrmc"]])
    ).all()
    assert len(pd.read_csv(tmp_path / "tables" / "mrmc_readers.csv")) == 3
    notes = pd.read_csv(tmp_path / "tables" / "notes.csv")["note"].tolist()
    assert "MRMC: 1 reader without readings in modality 2 is left out: M1." in notes
    manifest = json.loads((tmp_path / "manifest.json").read_text())
    assert manifest["options"]["modality"] == 2
    with pytest.raises(CommandError, match="modality: the selection has no readings in modality 5"):
        analyze(study.slug, "--out", str(tmp_path / "x"), "--no-figures", "--modality", "5")


def test_analyze_offers_the_ci_and_multiplicity_options(
    small_study: SmallStudy, tmp_path: Path
) -> None:
    study = small_study(readers={"R1": 1, "R2": 1, "M1": 3}, modalities=2)
    analyze(
        study.slug, "--out", str(tmp_path), "--no-figures", "--no-progress",
        "--kappa-ci", "spss", "--proportion-ci", "wilson", "--p-adjust", "holm",
        "--p-adjust", "dunn=fdr", "--mrmc-covariance", "delong", "--alpha-boot", "0",
    )  # fmt: skip
    results = json.loads((tmp_path / "results.json").read_text())
    methods = results["methods"]
    assert methods["fleiss_kappa_ci"] == "spss" and methods["proportion_ci"] == "wilson"
    assert methods["p_adjust"] == {"delong": "holm", "mcnemar": "holm", "dunn": "fdr"}
    assert methods["mrmc_covariance"] == "delong" and methods["likert_alpha_boot"] == 0
    assert {m["covariance"] for m in results["mrmc"]} == {"delong"}
    assert {t["p_adjust"] for t in results["auc_tests"]} == {"holm"}
    assert {d["p_adjust"] for d in results["likert"]["dunn"]} == {"fdr"}
    assert {e["ci_method"] for e in results["agreement"]["intra"]} == {"spss"}
    assert all(r["alpha_ci"] == [None, None] for r in results["likert"]["reliability"])
    manifest = json.loads((tmp_path / "manifest.json").read_text())
    assert manifest["options"]["kappa_ci"] == "spss"
    assert manifest["options"]["p_adjust"]["dunn"] == "fdr"
    agreement = pd.read_csv(tmp_path / "tables" / "agreement.csv")
    assert "Fleiss κ (SPSS CI)" in set(agreement["method"])
    footnotes = pd.read_csv(tmp_path / "tables" / "footnotes.csv")
    assert footnotes["footnote"].str.contains("Holm-adjusted").any()


def test_analyze_refuses_bad_statistical_options_naming_them(
    small_study: SmallStudy, tmp_path: Path
) -> None:
    study = small_study()
    with pytest.raises(CommandError, match="--p-adjust: expected one of none, holm"):
        analyze(study.slug, "--out", str(tmp_path), "--p-adjust", "sidak")
    with pytest.raises(CommandError, match="--p-adjust: unknown family 'kruskal'"):
        analyze(study.slug, "--out", str(tmp_path), "--p-adjust", "kruskal=holm")
    with pytest.raises(CommandError, match="--alpha-boot"):
        analyze(study.slug, "--out", str(tmp_path), "--alpha-boot", "-1")
    with pytest.raises(CommandError, match="kappa-ci"):
        analyze(study.slug, "--out", str(tmp_path), "--kappa-ci", "wald")


@pytest.mark.slow
def test_analyze_writes_each_figure_in_each_format_size_and_dpi(
    small_study: SmallStudy, tmp_path: Path
) -> None:
    study = small_study()
    analyze(
        study.slug, "--out", str(tmp_path), "--formats", "png,tiff,pdf,svg", "--dpi", "300,600",
        "--width", "single,double", "--font", "serif", "--greyscale", "--radar", "per-axis",
        "--no-progress",
    )  # fmt: skip
    figures = tmp_path / "figures"
    assert not list(figures.glob("*.html"))
    for name in ("roc_curves", "delong_matrix", "diagnostic_radar"):
        for column in ("single", "double"):
            assert (figures / f"{name}-{column}.pdf").read_bytes()[:5] == b"%PDF-"
            assert (figures / f"{name}-{column}.svg").exists()
            for dpi in (300, 600):
                for fmt in ("png", "tiff"):
                    assert (figures / f"{name}-{column}-{dpi}dpi.{fmt}").exists()
    manifest = json.loads((tmp_path / "manifest.json").read_text())
    options = manifest["options"]
    assert options["figure_dpis"] == [300, 600]
    assert options["figure_columns"] == ["single", "double"]
    assert options["figure_theme"] == {"font": "serif", "greyscale": True}
    assert options["radar_scale"] == "per-axis"
