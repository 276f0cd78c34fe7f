"""One display format for every output, and the detector of outputs that identify themselves."""

from __future__ import annotations

import pandas as pd
import pytest

from evaluation.blinding import LeakDetector, detect_leaks, normalise_output
from fixtures.demo import PLANTED_LEAK, READERS, build_demo_tables

DEMO_READERS = [(code, label) for code, _kind, label, *_ in READERS]


@pytest.fixture(scope="module")
def demo_readings() -> pd.DataFrame:
    return build_demo_tables()["readings"]


def rules(text: str, readers: list[tuple[str, str]] | None = None) -> list[tuple[str, str]]:
    return [(f.rule, f.match) for f in detect_leaks(text, readers or DEMO_READERS)]


class TestNormalise:
    def test_markdown_emphasis_headers_links_and_code_are_removed(self) -> None:
        text = "## Impression\n\n**Segmental** NME in the *left* breast, see [note](http://x) and `code`."
        assert normalise_output(text) == (
            "Impression\n\nSegmental NME in the left breast, see note and code."
        )

    def test_bullets_of_any_kind_become_one_style_and_numbers_one_format(self) -> None:
        text = "Findings:\n• first\n* second\n– third\n\n1) one\n(2) two\n3. three"
        assert normalise_output(text) == (
            "Findings:\n\n- first\n- second\n- third\n\n1. one\n2. two\n3. three"
        )

    def test_hard_wrapped_lines_are_joined_and_blank_lines_collapsed(self) -> None:
        text = "Non-mass enhancement\n   in the left breast.\n\n\n\nBI-RADS 4.   "
        assert normalise_output(text) == "Non-mass enhancement in the left breast.\n\nBI-RADS 4."

    def test_quotes_dashes_spaces_and_ellipses_are_ascii(self) -> None:
        text = "“Suspicious” — see ‘prior’\u00a0exam… 3–5 mm\u200b"
        assert normalise_output(text) == "\"Suspicious\" - see 'prior' exam... 3-5 mm"

    @pytest.mark.parametrize(
        ("raw", "expected"),
        [
            ("bi-rads 4a", "BI-RADS 4A"),
            ("BIRADS 5", "BI-RADS 5"),
            ("Bi Rads: 3", "BI-RADS 3"),
            ("BI-RADS category 4b (suspicious)", "BI-RADS category 4B (suspicious)"),
            ("bi-rads lexicon", "BI-RADS lexicon"),
        ],
    )
    def test_birads_is_written_one_way(self, raw: str, expected: str) -> None:
        assert normalise_output(raw) == expected

    def test_a_trailing_signature_is_dropped_but_not_the_text(self) -> None:
        text = "BI-RADS 4. Biopsy is recommended.\n\nBest regards,\nGPT-4o assistant"
        assert normalise_output(text) == "BI-RADS 4. Biopsy is recommended."
        assert normalise_output("BI-RADS 2.\n--\nDr. Jane Smith") == "BI-RADS 2."
        assert (
            normalise_output(
                "BI-RADS 2.\nDr. Smith recommends biopsy of both lesions now, today and urgently."
            )
            != "BI-RADS 2."
        )

    def test_a_single_line_is_never_dropped_as_a_signature(self) -> None:
        assert normalise_output("Thank you.") == "Thank you."

    def test_numbered_points_inside_one_paragraph_stay_one_paragraph(self) -> None:
        text = "1) Non-mass enhancement. 2) Suspicious. 3) Assessment: BI-RADS 4 – Suspicious."
        assert normalise_output(text) == (
            "1) Non-mass enhancement. 2) Suspicious. 3) Assessment: BI-RADS 4 - Suspicious."
        )

    def test_it_is_idempotent_on_every_demo_output(self, demo_readings: pd.DataFrame) -> None:
        for text in demo_readings["impression"].tolist():
            once = normalise_output(text)
            assert normalise_output(once) == once

    def test_two_formattings_of_the_same_words_look_the_same(self) -> None:
        markdown = "**Impression:**\n\n* Segmental NME,  left breast\n* BI-RADS 4a — biopsy"
        plain = "Impression:\n\n- Segmental NME, left breast\n- bi-rads 4A - biopsy"
        assert normalise_output(markdown) == normalise_output(plain)


class TestDetector:
    def test_self_identification_phrases_are_flagged(self) -> None:
        for text in (
            "As an AI language model, I cannot examine images.",
            "I'm an AI assistant and cannot be sure.",
            "I cannot provide medical advice; consult a doctor.",
            "This is not a substitute for professional medical advice.",
            "Based on my training data, this is adenosis.",
        ):
            assert any(rule == "self_identification" for rule, _ in rules(text)), text

    @pytest.mark.parametrize(
        "name", ["GPT-4o", "ChatGPT", "OpenAI", "Claude 3.5", "Anthropic", "Gemini", "Llama-3",
                 "Mistral", "Qwen2-VL", "gpt-4o-mini", "DeepSeek-R1"],
    )  # fmt: skip
    def test_model_and_vendor_names_are_flagged(self, name: str) -> None:
        assert ("model_name", name) in rules(f"Report written with {name} today.")

    def test_reader_codes_and_labels_of_the_study_are_flagged(self) -> None:
        found = rules(
            "Model E agrees with R3; reader B did not. Same as GPT-4o zero-shot, text-only."
        )
        assert ("reader_code", "Model E") in found
        assert ("reader_code", "R3") in found
        assert ("reader_code", "reader B") in found
        assert ("reader_label", "GPT-4o zero-shot, text-only") in found

    def test_letters_and_birads_subcategories_are_not_taken_for_codes(self) -> None:
        text = "BI-RADS 4A, 4B or 4C; vitamin E; type C curve; segment A2b; E. coli; D-dimer."
        assert rules(text) == []

    def test_run_numbers_file_names_and_signatures_are_flagged(self) -> None:
        found = rules("Output of run 2 (see out_C1.json).\nGenerated by the pipeline")
        assert ("run_number", "run 2") in found
        assert ("file_name", "out_C1.json") in found
        assert any(rule == "signature" for rule, _ in found)

    def test_positions_point_at_the_match(self) -> None:
        text = "Fine. As an AI, I think BI-RADS 4."
        flag = detect_leaks(text)[0]
        assert text[flag.start : flag.end] == flag.match == "As an AI"

    def test_a_detector_without_readers_still_applies_the_generic_rules(self) -> None:
        assert LeakDetector.for_readers([]).detect("ChatGPT says BI-RADS 2")[0].rule == "model_name"

    def test_the_planted_demo_leak_is_flagged_and_nothing_else_in_the_demo(
        self, demo_readings: pd.DataFrame
    ) -> None:
        readings = demo_readings
        detector = LeakDetector.for_readers(DEMO_READERS)
        flagged = [
            (row.reader_id, row.case_id, int(row.run))
            for row in readings.itertuples()
            if detector.detect(normalise_output(row.impression))
        ]
        assert flagged == [PLANTED_LEAK]
        reader, case, run = PLANTED_LEAK
        text = readings[
            (readings.reader_id == reader) & (readings.case_id == case) & (readings.run == run)
        ].impression.item()
        assert text.startswith("As an AI language model")
        assert ("self_identification", "As an AI") in rules(normalise_output(text))
