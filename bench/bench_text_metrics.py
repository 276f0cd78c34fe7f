"""Benchmark of the text metrics (prints figures; exits 1 on a missed goal).

Goal: BLEU-4, ROUGE-L, METEOR and chrF with 95% case-bootstrap CIs (per reader and run,
runs pooled) and the paired differences of the three reader pairs, for 20,000 reports x
3 readers, in at most 60 s (issue 16; without the embedding model). The texts are
synthetic: radiology-like sentences of 15-45 words drawn from a 400-word vocabulary
(fixed seed), each reader's output a perturbed copy of the reference (words dropped,
swapped or replaced at a reader-specific rate).

Each metric is timed alone (``text_metrics_with_tests`` with that one metric: scores per
reader and run, runs pooled, and the paired tests); the total is their sum.

Run: ``python bench/bench_text_metrics.py [n_cases] [n_boot]`` from the repository root
(defaults 20,000 and 1,000). It prints wall and CPU seconds (CPU: this process and the
scoring worker processes, one per CPU from 20,000 outputs): on a busy machine the CPU time
divided by the CPUs bounds what an idle machine's wall time would be; the goal is checked on
the wall time.
"""

from __future__ import annotations

import resource
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from analysis.stats.text_metrics import METRICS, text_metrics_with_tests

GOAL_SECONDS = 60.0
READERS = {"model_a": 0.1, "model_b": 0.25, "radiologist": 0.4}

WORDS = [
    "mass",
    "enhancement",
    "breast",
    "left",
    "right",
    "upper",
    "outer",
    "inner",
    "lower",
    "quadrant",
    "irregular",
    "oval",
    "round",
    "spiculated",
    "circumscribed",
    "washout",
    "plateau",
    "persistent",
    "kinetics",
    "segmental",
    "linear",
    "focal",
    "regional",
    "diffuse",
    "clumped",
    "homogeneous",
    "heterogeneous",
    "no",
    "suspicious",
    "benign",
    "malignant",
    "node",
    "axilla",
    "lymph",
    "tissue",
    "fibroglandular",
    "scattered",
    "dense",
    "cyst",
    "fibroadenoma",
    "biopsy",
    "recommended",
    "follow-up",
    "stable",
    "measuring",
    "mm",
    "with",
    "without",
    "and",
    "the",
    "of",
    "in",
    "a",
    "is",
    "are",
    "seen",
    "noted",
    "likely",
]


def _texts(n_cases: int, seed: int = 7) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    vocab = WORDS + [f"term{i}" for i in range(400 - len(WORDS))]
    refs = [
        " ".join(rng.choice(vocab, size=int(rng.integers(15, 46)))) + "." for _ in range(n_cases)
    ]
    rows = []
    for reader, rate in READERS.items():
        for case, ref in enumerate(refs):
            words = ref[:-1].split()
            out = [
                w if u > rate else (str(rng.choice(vocab)) if u > rate / 2 else "")
                for w, u in zip(words, rng.random(len(words)), strict=True)
            ]
            if rng.random() < rate:
                i = int(rng.integers(0, max(1, len(out) - 1)))
                out[i : i + 2] = out[i : i + 2][::-1]
            rows.append((reader, 1, case, ref, " ".join(w for w in out if w) + "."))
    return pd.DataFrame(rows, columns=["reader_id", "run", "case_id", "reference", "hypothesis"])


def _cpu() -> float:
    """CPU seconds of this process and of its finished children (the scoring workers)."""
    own = resource.getrusage(resource.RUSAGE_SELF)
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def main() -> int:
    n_cases = int(sys.argv[1]) if len(sys.argv) > 1 else 20_000
    n_boot = int(sys.argv[2]) if len(sys.argv) > 2 else 1_000
    df = _texts(n_cases)
    print(f"{n_cases} reports x {len(READERS)} readers, {n_boot} bootstrap replicates")
    times, cpu = {}, {}
    for metric in METRICS:
        t0, c0 = time.perf_counter(), _cpu()
        scores, tests = text_metrics_with_tests(df, metrics=[metric], n_boot=n_boot, seed=1)
        times[metric], cpu[metric] = time.perf_counter() - t0, _cpu() - c0
        print(f"  {metric:8s} {times[metric]:7.1f} s wall {cpu[metric]:7.1f} s CPU")
        print(scores[scores["run"].isna()].round(3).to_string(index=False, header=False))
        print(tests.round(3).to_string(index=False, header=False))
    total = sum(times.values())
    print(f"CPU time (this process and its scoring workers): {sum(cpu.values()):.1f} s")
    print(
        f"total (four metrics, scores and paired tests): {total:.1f} s (goal <= {GOAL_SECONDS:.0f} s)"
    )
    if total > GOAL_SECONDS:
        print("FAIL: over the goal")
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
