"""The notes of an analysis: what it decided, left out or could not estimate well.

Every note has a ``code`` from :data:`NOTE_CODES` (the one list of them), the ``reader``
it is about (``None`` when it is about the study, a pair or a domain) and a plain-language
``message``. They go into ``results.json`` as ``notes: [{code, reader, message}]``, onto
the dashboard, into the ``notes`` table and into ``manifest.json``.

To add a kind of note, add its code here with what it means, then create it with
:func:`note` where the analysis finds the situation. Plain Python: no Django.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

#: Every note code with what it means (docs/analysis.md lists them too).
NOTE_CODES: dict[str, str] = {
    "empty-split": "the selected cases have no readings (another split may have some)",
    "no-reference-reader": "the study has no reference reader: no inter-observer agreement",
    "reference-not-selected": "the reference reader is not in the selection",
    "one-class": "a reader read cases of one truth class only: no AUC",
    "score-missing": "some readings of a reader that has scores have none: the AUC uses the "
    "cases with a score",
    "different-cases": "readers were compared pairwise on the cases both read",
    "zero-variance": "a perfect or constant reader: the standard error is 0 and the CI a "
    "single point",
    "kappa-undefined": "every rating in one category: kappa is undefined",
    "small-class": "fewer than 10 cases in a truth class: large-sample CIs are unreliable",
    "intra-two-runs": "a reader with two runs gets Cohen's kappa between them",
    "kappa-cases-dropped": "cases without every run were left out of the intra-observer kappa",
    "mcnemar-no-reference": "no McNemar test against the reference reader",
    "likert-one-reader": "fewer than two readers were rated: no Kruskal-Wallis or Dunn test",
    "likert-paired-degenerate": "a paired Likert comparison (Friedman, Wilcoxon or the two-way "
    "bootstrap CI) could not be computed",
    "likert-paired-blocks-dropped": "rater x case blocks without a score of every rated reader "
    "were left out of the paired Likert comparisons",
    "reliability-undefined": "the Likert panel's reliability could not be estimated",
    "reliability-incomplete": "outputs not scored by every rater were left out of the ICC",
    "mrmc-not-crossed": "no fully crossed design of two modalities, two readers and cases of "
    "both classes: no MRMC analysis",
    "mrmc-modality-dropped": "a modality not fully crossed with the others was left out of the "
    "MRMC analysis",
    "mrmc-readers-dropped": "readers without readings in a compared modality, or with too few "
    "common cases, were left out of the MRMC analysis",
    "mrmc-cases-dropped": "cases not read by every compared reader in every compared modality "
    "were left out of the MRMC analysis",
    "mrmc-no-test": "an MRMC analysis (or a reader's comparison) has a zero error term: no F, "
    "p or CI of the difference",
    "mrmc-not-computed": "an MRMC analysis could not be computed",
    "mrmc-split-plot": "the readings are split-plot (reader groups, each reading its own cases): "
    "the split-plot OR/Hillis analysis, or why it could not be computed",
    "mrmc-binary-not-computed": "MRMC with sensitivity or specificity as the figure of merit "
    "could not be computed",
    "baseline-not-compared": "a case attribute could not be compared between the classes",
    "ai-panel-not-compared": "a model reader could not be compared with the human reader panel",
    "judge-not-compared": "an LLM judge could not be compared with the human rater panel",
    "ai-panel-cases-dropped": "cases not rated by the model and every human reader were left "
    "out of the AI-vs-panel comparison",
    "reading-time-missing": "no human reading has a time: no reading-time summary or model",
    "reading-time-one-modality": "timed readings in one modality only (or more than two): no "
    "model of the effect of the modality, or only of the first two",
    "reading-time-not-modelled": "the reading-time mixed model could not be fitted, or its fit "
    "is doubtful",
    "agreement-by-modality-not-compared": "no two modalities read by the same human readers: "
    "no inter-reader agreement by modality",
    "agreement-by-modality-cases-dropped": "cases not read by every compared human reader in "
    "both modalities were left out of the agreement by modality",
    "findings-none": "no reader label of a finding with its truth: no per-finding F1",
    "text-metrics-none": "no reading with an impression on a case with a reference impression: "
    "no text metrics",
    "judgment-degenerate": "a preference, acceptability or error statistic (or the agreement of "
    "an instrument) is missing a test or interval, or could not be computed",
    "clustered-roc": "patients have more than one case: the AUC CIs and AUC tests use "
    "Obuchowski's clustered variance",
    "clustered-accuracy-degenerate": "a reader's clustered sensitivity or specificity is 0 or 1 "
    "(SE 0) or rests on one patient (no SE)",
    "clustered-off": "patients have more than one case but clustering is off: DeLong CIs",
    "accuracy-test-one-class": "two readers share no cases of both classes: no paired "
    "sensitivity/specificity difference",
    "omnibus-cases-dropped": "cases not rated by every reader were left out of the omnibus "
    "AUC test",
    "subgroup-unknown": "a requested subgroup attribute is not a case attribute",
    "subgroup-unusable": "a requested subgroup attribute has fewer than two levels or too many",
    "subgroup-one-class": "a subgroup has one class of cases only: no AUC there",
    "localisation-cases-dropped": "cases not read by every reader with lesion marks, or "
    "positive cases without a truth lesion, were left out of the localisation analysis",
    "localisation-not-computed": "a localisation figure of merit could not be computed (no "
    "negative case, no positive case with a lesion)",
}


@dataclass(frozen=True)
class Note:
    """One note of an analysis (see the module docstring)."""

    code: str
    message: str
    reader: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return {"code": self.code, "reader": self.reader, "message": self.message}


#: The codes of the MRMC analysis's notes (shown in the dashboard's MRMC section).
MRMC_NOTE_CODES: tuple[str, ...] = tuple(c for c in NOTE_CODES if c.startswith("mrmc-"))


def note(code: str, message: str, *, reader: str | None = None) -> Note:
    """A :class:`Note`; ``ValueError`` for a code that is not in :data:`NOTE_CODES`."""
    if code not in NOTE_CODES:
        raise ValueError(f"code: unknown note code {code!r} (see analysis.notes.NOTE_CODES)")
    return Note(code=code, message=message, reader=None if reader is None else str(reader))
