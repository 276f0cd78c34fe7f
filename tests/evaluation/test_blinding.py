"""One display format for every output, and the detector of outputs that identify themselves."""

from __future__ import annotations

import re
from pathlib import Path

import pandas as pd
import pytest

from evaluation.blinding import (
    ITEM_STRUCTURE_KINDS,
    MODEL_FAMILIES,
    STRUCTURE_LABELS,
    LeakDetector,
    _family_pattern,
    detect_leaks,
    normalise_output,
    output_structure,
    structure_by_source,
    structure_flags,
)
from fixtures.demo import PLANTED_LEAK, READERS, build_demo_tables
from readerstudy.generation import forms as forms_generation

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

    @pytest.mark.slow
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

    @pytest.mark.slow
    def test_the_planted_demo_leak_is_flagged_and_nothing_else_in_the_demo(
        self, demo_readings: pd.DataFrame
    ) -> None:
        readings = demo_readings
        detector = LeakDetector.for_readers(DEMO_READERS)
        flagged = [
            (row.reader_id, row.case_id, int(row.run))
            for row in readings.itertuples()
            if detector.detect(normalise_output(row.impression), original=row.impression)
        ]
        assert flagged == [PLANTED_LEAK]
        reader, case, run = PLANTED_LEAK
        text = readings[
            (readings.reader_id == reader) & (readings.case_id == case) & (readings.run == run)
        ].impression.item()
        assert text.startswith("As an AI language model")
        assert ("self_identification", "As an AI") in rules(normalise_output(text))


# --------------------------------------------------------------------------------------
# Issue 11, finding 6: identifiers, languages and structure the detector used to miss


def rule_of(text: str, rule: str) -> list[str]:
    """The matches of ``rule`` in the display form of ``text``."""
    return [m for r, m in rules(normalise_output(text)) if r == rule]


#: The identifiers listed in the finding: each was missed, or only partly matched, before.
FINDING_IDENTIFIERS = (
    "gpt-4o-2024-08-06",
    "ChatGPT-4o",
    "ft:gpt-4o-2024-08-06:acme-radiology::9xYzAb12",
    "ft:gpt-3.5-turbo-0125:org:nme:abc123",
    "Llama-3-70B",
    "Mistral-7B",
    "Gemini-1.5-Pro",
    "claude-3-5-sonnet-20240620",
)

#: At least one example per entry of MODEL_FAMILIES (checked by the coverage test below).
FAMILY_EXAMPLES = (
    "ChatGPT", "gpt-4.1-mini", "GPT-3.5-turbo", "o1-preview", "o3-mini", "OpenAI",
    "Azure OpenAI", "text-davinci-003", "Claude 3 Opus", "Anthropic", "Med-Gemini",
    "gemma-2-9b-it", "Bard", "Med-PaLM 2", "PaLM 2", "DeepMind", "CodeLlama-34B",
    "Llama-3.1-8B-Instruct", "Meta AI", "LLaVA-Med", "llava-v1.6-34b", "Mixtral-8x7B",
    "BioMistral-7B", "Qwen2.5-VL-72B", "QwQ-32B", "DeepSeek-V3", "deepseek-r1", "Phi-3-mini",
    "MAIRA-2", "Copilot", "Grok-2", "Command R+", "Cohere", "ERNIE Bot", "ChatGLM3-6B",
    "GLM-4", "Baichuan2-13B", "InternLM2", "Yi-34B", "Falcon-40B", "Vicuna-13B",
    "Hugging Face", "BioGPT", "Meditron-70B", "RadFM", "CheXagent",
)  # fmt: skip


class TestModelIdentifiers:
    @pytest.mark.parametrize("name", FINDING_IDENTIFIERS)
    def test_each_identifier_of_the_finding_is_flagged_whole(self, name: str) -> None:
        assert ("model_name", name) in rules(f"Report written with {name} today.")

    def test_the_default_model_id_of_a_generation_config_is_flagged(self) -> None:
        source = Path(forms_generation.__file__).read_text(encoding="utf-8")
        model = re.search(r'"model": "([^"]+)"', source).group(1)  # type: ignore[union-attr]
        assert model == "gpt-4o-2024-08-06"
        assert ("model_name", model) in rules(f"Output of {model}: BI-RADS 4.")

    @pytest.mark.parametrize("name", FAMILY_EXAMPLES)
    def test_each_family_of_the_maintained_list_is_flagged(self, name: str) -> None:
        assert ("model_name", name) in rules(f"Report written with {name} today.")

    def test_every_family_of_the_list_has_an_example_here(self) -> None:
        for family in MODEL_FAMILIES:
            pattern = re.compile(r"(?<!\w)" + _family_pattern(family), re.I)
            assert any(pattern.fullmatch(name) for name in FAMILY_EXAMPLES), family

    @pytest.mark.parametrize(
        ("written", "expected"),
        [
            ("GPT 4o", "GPT 4o"), ("gpt_4o", "gpt_4o"), ("gpt.4o", "gpt.4o"), ("GPT4o", "GPT4o"),
            ("gpt-4o", "gpt-4o"), ("CHATGPT 4O", "CHATGPT 4O"), ("Chat-GPT", "Chat-GPT"),
            ("Llama 3 70B", "Llama 3 70B"), ("llama_3_70b", "llama_3_70b"),
            ("Claude 3.5 Sonnet", "Claude 3.5 Sonnet"), ("Gemini 1.5 Pro", "Gemini 1.5 Pro"),
            ("meta-llama/Llama-3-70B", "llama/Llama-3-70B"),
        ],
    )  # fmt: skip
    def test_separators_and_case_do_not_matter(self, written: str, expected: str) -> None:
        assert ("model_name", expected) in rules(f"Report written with {written} today.")

    @pytest.mark.parametrize(
        "text",
        [
            "Examination of the palm 2 cm below the wrist; PaLMar aspect normal.",
            "No PHI is included. Phi angle normal.",
            "O2 saturation 98 %. T1-weighted and T2-weighted images.",
            "Ki-67 index 30 % on the prior core biopsy; KI-67 high.",
            "The falcine region is normal; yin-yang flow in the aneurysm.",
            "Command of the nerve is preserved; the ernie sign is absent.",
        ],
    )
    def test_ordinary_words_close_to_model_names_are_not_flagged(self, text: str) -> None:
        assert rules(normalise_output(text)) == []


SELF_IDENTIFYING = (
    ("en", "As an AI language model, I cannot examine the images."),
    ("en", "I'm an AI, so please interpret this with care."),
    ("en", "I cannot provide medical advice, but the findings suggest DCIS."),
    ("en", "I don't have access to the images; based on the text, BI-RADS 4."),
    ("en", "As of my last knowledge update, this is managed with biopsy."),
    ("zh", "作为一个AI语言模型，我无法查看图像。BI-RADS 4类。"),
    ("zh", "作为人工智能，我建议活检。"),
    ("zh", "作為一個AI語言模型，我無法查看圖像。"),
    ("zh", "我是一个人工智能助手。"),
    ("zh", "我无法提供医疗建议。"),
    ("ja", "AI言語モデルとして、画像は確認できません。"),
    ("de", "Als KI-Sprachmodell kann ich die Bilder nicht beurteilen."),
    ("de", "Ich bin eine KI und kann keine medizinische Beratung geben."),
    ("fr", "En tant qu'IA, je ne peux pas voir les images."),
    ("fr", "En tant que modèle de langage, je ne peux pas fournir de conseils médicaux."),
    ("es", "Como modelo de lenguaje, no puedo ver las imágenes."),
    ("es", "Soy una IA y no puedo proporcionar consejos médicos."),
    ("pt", "Como um modelo de linguagem, não posso ver as imagens."),
    ("it", "Come modello di linguaggio, non posso vedere le immagini."),
)

ASSISTANT_LIKE = (
    ("en", "Certainly! Here is the structured report: BI-RADS 4."),
    ("en", "Sure, here's the impression you asked for. BI-RADS 4."),
    ("en", "BI-RADS 4. I hope this helps."),
    ("en", "BI-RADS 4. Let me know if you need anything else."),
    ("en", "BI-RADS 4. Please consult a qualified healthcare professional."),
    ("zh", "BI-RADS 4类。希望这对您有所帮助！"),
    ("ja", "BI-RADS 4。お役に立てれば幸いです。"),
    ("de", "BI-RADS 4. Ich hoffe, das hilft."),
    ("fr", "BI-RADS 4. J'espère que cela vous aide."),
    ("es", "BI-RADS 4. Espero que esto te ayude."),
)


class TestLanguages:
    @pytest.mark.parametrize(("language", "text"), SELF_IDENTIFYING)
    def test_self_identification_is_flagged_in_each_language(
        self, language: str, text: str
    ) -> None:
        assert rule_of(text, "self_identification"), (language, text)

    @pytest.mark.parametrize(("language", "text"), ASSISTANT_LIKE)
    def test_a_chatbots_phrasing_is_flagged_in_each_language(
        self, language: str, text: str
    ) -> None:
        assert rule_of(text, "assistant_phrasing"), (language, text)

    def test_the_chinese_phrase_of_the_finding_is_matched_whole(self) -> None:
        assert rule_of("作为一个AI语言模型，我无法查看图像。", "self_identification") == [
            "作为一个AI语言模型"
        ]

    @pytest.mark.parametrize(
        "text",
        [
            "Non-mass enhancement in the left breast, segmental distribution, clumped internal "
            "enhancement. BI-RADS 4B. MRI-guided biopsy is recommended.",
            "This is certainly benign. Here is a 5 mm focus in the upper outer quadrant.",
            "Correlation with ultrasound is recommended; the referring physician was informed.",
            "Comparison with the prior study of 2023-08-06 shows no change in size.",
            "Lesion < 5 mm, margin > 2 mm from the nipple; ADC 1.1 × 10⁻³ mm²/s.",
            "1. Non-mass enhancement, left breast. 2. No axillary adenopathy.",
            "左乳外上象限非肿块样强化，BI-RADS 4类，建议活检。",
            "Segmentale Kontrastmittelanreicherung links, BI-RADS 4, Ki-67 im Vorbefund 20 %.",
            "Rehaussement non masse segmentaire du sein gauche; IA modérée connue. BI-RADS 4.",
            "Realce no nodular segmentario en la mama izquierda, como en el estudio previo.",
        ],
    )
    def test_realistic_report_sentences_are_not_flagged(self, text: str) -> None:
        assert detect_leaks(normalise_output(text), DEMO_READERS, original=text) == []


#: One original output per kind of structure, and what raters see of it.
STRUCTURED = {
    "markdown_table": (
        "| Finding | Size |\n|---|:--:|\n| **Mass** | 12 mm |\n| NME | 3 cm |\n\nBI-RADS 4.",
        "- Finding; Size\n- Mass; 12 mm\n- NME; 3 cm\n\nBI-RADS 4.",
    ),
    "code_fence": (
        "Impression:\n```text\nNon-mass enhancement, left breast.\n```\nBI-RADS 4.",
        "Impression:\n\nNon-mass enhancement, left breast.\n\nBI-RADS 4.",
    ),
    "html": (
        "<p>NME in the <b>left</b> breast.</p><p>BI-RADS&nbsp;4 &amp; biopsy.</p>"
        "<ul><li>one</li><li>two</li></ul>",
        "NME in the left breast.\n\nBI-RADS 4 & biopsy.\n\n- one\n- two",
    ),
    "json": (
        '```json\n{"impression": "NME, left breast", "birads": 4, '
        '"findings": ["segmental", "clumped"], "note": null}\n```',
        "impression: NME, left breast\n\nBI-RADS 4\n\nfindings:\n\n- segmental\n- clumped",
    ),
}


class TestStructure:
    @pytest.mark.parametrize("kind", list(STRUCTURED))
    def test_normalisation_removes_the_markup_of_each_kind(self, kind: str) -> None:
        original, shown = STRUCTURED[kind]
        assert normalise_output(original) == shown
        assert normalise_output(shown) == shown
        assert re.search(r"[|`<>{\"]|&nbsp;", shown) is None

    @pytest.mark.parametrize("kind", list(STRUCTURED))
    def test_each_kind_is_flagged_on_the_item_from_its_original(self, kind: str) -> None:
        original, shown = STRUCTURED[kind]
        flags = detect_leaks(shown, original=original)
        assert kind in [f.rule for f in flags]
        flag = next(f for f in flags if f.rule == kind)
        assert original[flag.start : flag.end].strip().startswith(flag.match[:10])
        assert detect_leaks(shown) == [f for f in flags if f.rule not in ITEM_STRUCTURE_KINDS]

    def test_a_whole_json_output_and_a_json_array_are_rendered_and_flagged(self) -> None:
        original = '{"impression": "NME left breast", "birads_category": "4"}'
        assert normalise_output(original) == "impression: NME left breast\n\nBI-RADS category 4"
        assert [f.rule for f in structure_flags(original)] == ["json"]
        assert normalise_output('["NME left", "BI-RADS 4"]') == "- NME left\n- BI-RADS 4"
        assert output_structure('["NME left", "BI-RADS 4"]') == {"json"}

    def test_html_entities_cannot_smuggle_tags_and_comparisons_stay(self) -> None:
        assert normalise_output("&lt;b&gt;NME&lt;/b&gt; &amp;lt;p&amp;gt;") == "NME"
        assert normalise_output("Size < 5 mm, <a few mm> from the skin; a<b") == (
            "Size < 5 mm, <a few mm> from the skin; a<b"
        )
        assert structure_flags("Size < 5 mm, > 2 mm; <a few mm>") == []

    def test_deep_json_is_left_as_written(self) -> None:
        deep = "[" * 25 + "1" + "]" * 25
        assert normalise_output(deep) == deep

    @pytest.mark.parametrize(
        ("text", "kinds"),
        [
            ("- mass\n- NME", {"bullet_list"}),
            ("• mass\n• NME", {"bullet_list"}),
            ("1. mass\n2. NME", {"numbered_list"}),
            ("1) Mass. 2) NME. 3) BI-RADS 4.", set()),
            ("1. Mass in the left breast.", set()),
            ("## Impression\nNME", {"markdown_heading"}),
            ("**NME** left", {"markdown_emphasis"}),
            ("Plain report. BI-RADS 4 | 5 mm.", set()),
        ],
    )
    def test_output_structure_names_each_kind(self, text: str, kinds: set[str]) -> None:
        assert output_structure(text) == kinds

    def test_lists_headings_and_emphasis_are_not_flagged_on_an_item(self) -> None:
        text = "## Impression\n- **NME** left\n- BI-RADS 4"
        assert structure_flags(text) == []

    def test_structure_that_differs_by_source_is_reported_with_counts(self) -> None:
        outputs = [
            ("model", "| a | b |\n|---|---|\n| 1 | 2 |"),
            ("model", "- NME\n- BI-RADS 4"),
            ("model", "- NME\n- BI-RADS 3"),
            ("model", "Plain. BI-RADS 2."),
            ("human", "- NME\n- BI-RADS 4"),
            ("human", "Plain. BI-RADS 4."),
            ("human", "Plain. BI-RADS 3."),
            ("human", "Plain. BI-RADS 2."),
        ]
        warnings = structure_by_source(outputs)
        assert [(w.kind, w.counts) for w in warnings] == [
            ("markdown_table", {"human": (0, 4), "model": (1, 4)}),
            ("bullet_list", {"human": (1, 4), "model": (2, 4)}),
        ]
        assert warnings[0].message == "Markdown table: human 0 of 4, model 1 of 4"
        assert warnings[0].label == STRUCTURE_LABELS["markdown_table"]

    def test_structure_used_alike_or_by_one_source_only_is_not_reported(self) -> None:
        alike = [("model", "- a\n- b"), ("model", "x"), ("human", "- c\n- d"), ("human", "y")]
        assert structure_by_source(alike) == []
        assert structure_by_source([("model", "- a\n- b"), ("model", "x")]) == []
        close = [("model", "- a\n- b")] * 10 + [("model", "x")] * 10
        close += [("human", "- a\n- b")] * 9 + [("human", "x")] * 11
        assert structure_by_source(close) == []  # 50 % against 45 %

    def test_the_demo_has_no_structure_that_differs_by_source(
        self, demo_readings: pd.DataFrame
    ) -> None:
        kinds = {code: kind for code, kind, *_ in READERS}
        outputs = [(kinds[r.reader_id], r.impression) for r in demo_readings.itertuples()]
        assert structure_by_source(outputs) == []
