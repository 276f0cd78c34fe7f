"""Text metrics against the libraries computed directly, bootstrap properties, offline METEOR."""

from __future__ import annotations

import socket

import numpy as np
import pandas as pd
import pytest
import sacrebleu
from nltk.translate.meteor_score import meteor_score, single_meteor_score
from rouge_score import rouge_scorer

from analysis.stats import text_metrics as tm
from analysis.stats.text_metrics import compare_text_metrics, text_metrics

EN_REFS = [
    "Irregular mass in the upper outer quadrant of the left breast with washout kinetics.",
    "No suspicious enhancement. Benign appearing lymph node in the right axilla.",
    "Non-mass enhancement with segmental distribution, clumped internal pattern.",
    "Scattered fibroglandular tissue without suspicious findings.",
    "Spiculated mass measuring 12 mm with rapid initial enhancement and washout.",
    "Stable oval circumscribed mass, likely fibroadenoma.",
]
EN_A = [
    "Irregular mass in the upper outer quadrant of the left breast showing washout.",
    "No suspicious enhancement. Benign lymph node in the right axilla.",
    "Segmental non-mass enhancement with a clumped pattern.",
    "Scattered fibroglandular tissue, no suspicious findings.",
    "Spiculated mass of 12 mm, rapid enhancement and washout curve.",
    "Oval circumscribed mass, stable, probably a fibroadenoma.",
]
EN_B = [
    "A mass in the left breast.",
    "Lymph node in the axilla.",
    "Enhancement noted.",
    "Normal study.",
    "Mass with enhancement.",
    "Benign mass.",
]
ZH_REFS = [
    "左乳外上象限不规则肿块,伴廓清型曲线。",
    "未见可疑强化,右腋下淋巴结良性表现。",
    "段样分布非肿块强化,簇状强化。",
    "散在纤维腺体组织,未见可疑病变。",
]
ZH_A = [
    "左乳外上象限肿块,形态不规则,廓清型曲线。",
    "未见异常强化,右腋窝淋巴结考虑良性。",
    "非肿块强化,段样分布。",
    "纤维腺体组织散在分布,未见可疑病变。",
]


def _frame(refs: list[str], **readers: list[str]) -> pd.DataFrame:
    rows = []
    for name, hyps in readers.items():
        for i, (h, r) in enumerate(zip(hyps, refs, strict=True)):
            rows.append(
                {"reader_id": name, "run": 1, "case_id": i, "hypothesis": h, "reference": r}
            )
    return pd.DataFrame(rows)


def _value(res: pd.DataFrame, reader: str, metric: str, run: object = 1) -> float:
    run_ok = res["run"].isna() if run is None else res["run"] == run
    row = res[(res["reader"] == reader) & (res["metric"] == metric) & run_ok]
    assert len(row) == 1
    return float(row["statistic"].iloc[0])


def _meteor_tokens(text: str, zh: bool = False) -> list[str]:
    tok = sacrebleu.tokenizers.tokenizer_zh.TokenizerZh() if zh else None
    if zh:
        return tok(text.strip()).split()
    return sacrebleu.tokenizers.tokenizer_13a.Tokenizer13a()(text.strip()).lower().split()


# --------------------------------------------------------------------------------------
# each metric equals the library computed directly
# --------------------------------------------------------------------------------------


def test_english_scores_equal_the_libraries_computed_directly() -> None:
    res = text_metrics(_frame(EN_REFS, A=EN_A), n_boot=20, seed=1)
    assert _value(res, "A", "bleu4") == pytest.approx(
        sacrebleu.corpus_bleu(EN_A, [EN_REFS]).score, abs=1e-9
    )
    assert _value(res, "A", "chrf") == pytest.approx(
        sacrebleu.corpus_chrf(EN_A, [EN_REFS]).score, abs=1e-9
    )
    scorer = rouge_scorer.RougeScorer(["rougeL"])
    rouge = np.mean(
        [scorer.score(r, h)["rougeL"].fmeasure for h, r in zip(EN_A, EN_REFS, strict=True)]
    )
    assert _value(res, "A", "rouge_l") == pytest.approx(rouge, abs=1e-12)
    meteor = np.mean(
        [
            single_meteor_score(_meteor_tokens(r), _meteor_tokens(h), wordnet=tm._wordnet())
            for h, r in zip(EN_A, EN_REFS, strict=True)
        ]
    )
    assert _value(res, "A", "meteor") == pytest.approx(meteor, abs=1e-12)
    # the pooled row is the same single run
    for metric in tm.METRICS:
        assert _value(res, "A", metric, run=None) == pytest.approx(_value(res, "A", metric))


def test_chinese_scores_use_the_zh_tokenizer() -> None:
    res = text_metrics(_frame(ZH_REFS, A=ZH_A), language="zh", n_boot=20, seed=1)
    zh = sacrebleu.corpus_bleu(ZH_A, [ZH_REFS], tokenize="zh").score
    assert _value(res, "A", "bleu4") == pytest.approx(zh, abs=1e-9)
    assert zh != pytest.approx(sacrebleu.corpus_bleu(ZH_A, [ZH_REFS]).score)
    assert _value(res, "A", "chrf") == pytest.approx(
        sacrebleu.corpus_chrf(ZH_A, [ZH_REFS]).score, abs=1e-9
    )

    # ROUGE-L on characters: rouge-score's own tokeniser would drop every Chinese character
    class Chars:
        def tokenize(self, text: str) -> list[str]:
            return _meteor_tokens(text, zh=True)

    scorer = rouge_scorer.RougeScorer(["rougeL"], tokenizer=Chars())
    rouge = np.mean(
        [scorer.score(r, h)["rougeL"].fmeasure for h, r in zip(ZH_A, ZH_REFS, strict=True)]
    )
    assert 0.3 < _value(res, "A", "rouge_l") == pytest.approx(rouge, abs=1e-12)
    meteor = np.mean(
        [
            single_meteor_score(
                _meteor_tokens(r, zh=True), _meteor_tokens(h, zh=True), wordnet=tm._wordnet()
            )
            for h, r in zip(ZH_A, ZH_REFS, strict=True)
        ]
    )
    assert 0.3 < _value(res, "A", "meteor") == pytest.approx(meteor, abs=1e-12)


def test_packaged_wordnet_reproduces_nltks_documented_meteor() -> None:
    # nltk's own doctest value (0.6944) was computed with the downloaded WordNet 3.0
    hyp = [
        "It",
        "is",
        "a",
        "guide",
        "to",
        "action",
        "which",
        "ensures",
        "that",
        "the",
        "military",
        "always",
        "obeys",
        "the",
        "commands",
        "of",
        "the",
        "party",
    ]
    ref = [
        "It",
        "is",
        "a",
        "guide",
        "to",
        "action",
        "that",
        "ensures",
        "that",
        "the",
        "military",
        "will",
        "forever",
        "heed",
        "Party",
        "commands",
    ]
    assert round(meteor_score([ref], hyp, wordnet=tm._wordnet()), 4) == 0.6944
    # the synonym stage works: 'hound' matches 'dog' only through WordNet
    with_syn = single_meteor_score(["the", "dog"], ["the", "hound"], wordnet=tm._wordnet())
    assert with_syn > single_meteor_score(["the", "dog"], ["the", "cat"], wordnet=tm._wordnet())


def test_meteor_runs_with_the_network_blocked(monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(*args: object, **kwargs: object) -> None:
        raise OSError("network blocked in this test")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket.socket, "connect_ex", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)
    tm._wordnet.cache_clear()
    tm._cached_statistics.cache_clear()
    res = text_metrics(_frame(EN_REFS, A=EN_A), metrics=["meteor"], n_boot=10, seed=1)
    assert 0.3 < _value(res, "A", "meteor") < 1.0
    assert tm._wordnet().synsets("hound")


# --------------------------------------------------------------------------------------
# the vectorised bootstrap replicate equals the library on the resampled corpus
# --------------------------------------------------------------------------------------


def test_a_bootstrap_replicate_equals_the_corpus_score_of_the_resampled_cases() -> None:
    rng = np.random.default_rng(5)
    idx = rng.integers(0, len(EN_A), len(EN_A))
    counts = np.bincount(idx, minlength=len(EN_A)).astype(float)
    stats = tm._output_statistics(EN_A, EN_REFS, metrics=tm.METRICS, language="en")
    hyps = [EN_A[i] for i in idx]
    refs = [EN_REFS[i] for i in idx]
    expected = {
        "bleu4": sacrebleu.corpus_bleu(hyps, [refs]).score,
        "chrf": sacrebleu.corpus_chrf(hyps, [refs]).score,
    }
    for metric, value in expected.items():
        got = tm._score(metric, (counts @ stats[metric])[None, :], "en")[0]
        assert got == pytest.approx(value, abs=1e-9)
    rouge = tm._score("rouge_l", (counts @ stats["rouge_l"])[None, :], "en")[0]
    assert rouge == pytest.approx(stats["rouge_l"][idx, 0].mean())


# --------------------------------------------------------------------------------------
# intervals, seeds, paired differences
# --------------------------------------------------------------------------------------


def test_intervals_contain_the_estimate_and_a_seed_reproduces_them() -> None:
    df = _frame(EN_REFS, A=EN_A, B=EN_B)
    one = text_metrics(df, n_boot=200, seed=3)
    two = text_metrics(df, n_boot=200, seed=3)
    other = text_metrics(df, n_boot=200, seed=4)
    pd.testing.assert_frame_equal(one, two)
    assert not np.allclose(one["ci_low"], other["ci_low"])
    assert (one["ci_low"] <= one["statistic"] + 1e-9).all()
    assert (one["statistic"] <= one["ci_high"] + 1e-9).all()
    assert (one["ci_high"] > one["ci_low"]).all()
    narrow = text_metrics(df, n_boot=200, seed=3, confidence=0.5)
    assert (
        (narrow["ci_high"] - narrow["ci_low"]) <= (one["ci_high"] - one["ci_low"]) + 1e-12
    ).all()
    assert set(one["n"]) == {6}


def test_runs_are_scored_separately_and_pooled() -> None:
    df = pd.concat([_frame(EN_REFS, A=EN_A), _frame(EN_REFS, A=EN_B).assign(run=2)])
    res = text_metrics(df, metrics=["bleu4", "rouge_l"], n_boot=20, seed=1)
    assert res["run"].tolist() == [1, 1, 2, 2, None, None]
    pooled = sacrebleu.corpus_bleu(EN_A + EN_B, [EN_REFS + EN_REFS]).score
    assert _value(res, "A", "bleu4", run=None) == pytest.approx(pooled, abs=1e-9)
    assert _value(res, "A", "bleu4", run=2) == pytest.approx(
        sacrebleu.corpus_bleu(EN_B, [EN_REFS]).score, abs=1e-9
    )
    assert res.loc[res["run"].isna(), "n"].tolist() == [12, 12]


def test_paired_difference_is_the_difference_of_the_scores_and_detects_a_worse_reader() -> None:
    df = _frame(EN_REFS * 3, A=EN_A * 3, B=EN_B * 3)
    res = compare_text_metrics(df, n_boot=500, seed=2)
    single = text_metrics(df, n_boot=10, seed=2)
    assert res["metric"].tolist() == list(tm.METRICS)
    for _, row in res.iterrows():
        expected = _value(single, "A", row["metric"], None) - _value(
            single, "B", row["metric"], None
        )
        assert row["statistic"] == pytest.approx(expected, abs=1e-9)
        assert row["ci_low"] > 0 and row["p_value"] < 0.01
    same = compare_text_metrics(
        pd.concat([df[df["reader_id"] == "A"], df[df["reader_id"] == "A"].assign(reader_id="C")]),
        metrics=["rouge_l"],
        n_boot=100,
        seed=1,
    )
    assert same["statistic"].iloc[0] == 0.0 and same["p_value"].iloc[0] == 1.0


def test_paired_difference_uses_only_the_common_cases() -> None:
    df = _frame(EN_REFS, A=EN_A, B=EN_B)
    df = df[~((df["reader_id"] == "B") & (df["case_id"] == 0))]
    res = compare_text_metrics(df, metrics=["rouge_l"], n_boot=50, seed=1)
    assert res["n"].iloc[0] == 5


@pytest.mark.parametrize(
    ("kwargs", "name"),
    [
        ({"language": "de"}, "language"),
        ({"metrics": ["bleu"]}, "metrics"),
        ({"n_boot": 0}, "n_boot"),
        ({"confidence": 1.5}, "confidence"),
        ({"hypothesis": "nope"}, "hypothesis"),
    ],
)
def test_bad_arguments_name_the_argument(kwargs: dict[str, object], name: str) -> None:
    with pytest.raises(ValueError, match=name):
        text_metrics(_frame(EN_REFS, A=EN_A), **kwargs)  # type: ignore[arg-type]


def test_a_missing_text_is_refused_with_the_column_named() -> None:
    df = _frame(EN_REFS, A=EN_A)
    df.loc[2, "hypothesis"] = None
    with pytest.raises(ValueError, match=r"hypothesis.*1 row"):
        text_metrics(df)


def test_an_empty_output_scores_zero() -> None:
    df = _frame(EN_REFS[:2], A=["", EN_REFS[1]])
    res = text_metrics(df, metrics=["meteor", "rouge_l"], n_boot=10, seed=1)
    assert _value(res, "A", "meteor") == pytest.approx(
        single_meteor_score(
            _meteor_tokens(EN_REFS[1]), _meteor_tokens(EN_REFS[1]), wordnet=tm._wordnet()
        )
        / 2
    )
    assert _value(res, "A", "rouge_l") == pytest.approx(0.5)


def test_one_pass_equals_the_two_functions_with_one_generator() -> None:
    df = _frame(EN_REFS, A=EN_A, B=EN_B)
    scores, tests = tm.text_metrics_with_tests(df, n_boot=100, seed=9)
    rng = np.random.default_rng(9)
    pd.testing.assert_frame_equal(scores, text_metrics(df, n_boot=100, seed=rng))
    pd.testing.assert_frame_equal(tests, compare_text_metrics(df, n_boot=100, seed=rng))


def test_the_bit_parallel_lcs_gives_rouge_scores_value_on_random_texts() -> None:
    rng = np.random.default_rng(0)
    vocab = [f"w{i}" for i in range(12)]
    scorer = rouge_scorer.RougeScorer(["rougeL"])
    for _ in range(300):
        ref = " ".join(rng.choice(vocab, size=int(rng.integers(0, 30))))
        hyp = " ".join(rng.choice(vocab, size=int(rng.integers(0, 30))))
        stats = tm._output_statistics([hyp], [ref], metrics=["rouge_l"], language="en")
        expected = scorer.score(ref, hyp)["rougeL"].fmeasure
        assert stats["rouge_l"][0, 0] == pytest.approx(expected, abs=1e-15)


def test_scoring_in_worker_processes_gives_the_rows_of_one_pass(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    hyps, refs = tuple(EN_A + EN_B + ZH_A), tuple(EN_REFS + EN_REFS + ZH_REFS)
    one = tm._compute_statistics(hyps, refs, metrics=tm.METRICS, language="en")
    monkeypatch.setattr(tm, "PARALLEL_MIN_OUTPUTS", 2)
    assert tm._workers(len(hyps)) > 1 or (tm.os.cpu_count() or 1) == 1
    parallel = tm._parallel_statistics(hyps, refs, tm.METRICS, "en")
    assert set(parallel) == set(one)
    for metric, array in one.items():
        np.testing.assert_array_equal(parallel[metric], array)
