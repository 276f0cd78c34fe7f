"""Benchmark of the ROC/DeLong and MRMC statistics (prints figures; exits 1 on a missed goal).

Goals
-----
1. All reader AUCs with DeLong CIs plus all paired DeLong tests for 200,000 cases x 8
   readers (``reader_aucs`` + ``compare_readers`` on a long DataFrame) in at most half of
   R pROC's time for the same work (``roc`` + ``ci.auc(method="delong")`` per reader and
   ``roc.test(method="delong", paired=TRUE)`` per pair), timed inside R with
   ``proc.time()`` so that R start-up and CSV reading are excluded (best of 2 runs in
   R, best of 5 in Python, to damp noise from other processes). Skipped (with a
   notice) when ``Rscript`` or pROC is not available. The pROC results are also compared
   with ours (1e-6).
2. Memory linear in cases x readers: tracemalloc peak of goal 1 at 50,000 and 200,000
   cases; the ratio must stay below 4 x 1.25.
3. Obuchowski–Rockette/Hillis MRMC with jackknife covariance for 10 readers x 2
   modalities x 20,000 cases in at most 3 s (``mrmc`` on a long DataFrame).

Run: ``python bench/bench_stats.py`` from the repository root.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import tempfile
import time
import tracemalloc
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from analysis.stats.mrmc import mrmc
from analysis.stats.roc import compare_readers, reader_aucs

N_CASES = 200_000
N_READERS = 8
MRMC_CASES = 20_000
MRMC_READERS = 10
MRMC_LIMIT_S = 3.0
RATIO_GOAL = 0.5

R_SCRIPT = r"""
suppressPackageStartupMessages(library(pROC))
args <- commandArgs(trailingOnly = TRUE)
d <- read.csv(args[1])
readers <- setdiff(names(d), c("case_id", "truth"))
work <- function() {
  rocs <- lapply(readers, function(r) roc(d$truth, d[[r]], levels = c(0, 1),
                                           direction = "<", quiet = TRUE))
  cis <- lapply(rocs, function(x) ci.auc(x, method = "delong"))
  tests <- list()
  for (i in seq_len(length(readers) - 1)) for (j in (i + 1):length(readers)) {
    tests[[length(tests) + 1]] <- roc.test(rocs[[i]], rocs[[j]], method = "delong",
                                           paired = TRUE)
  }
  list(cis = cis, tests = tests)
}
elapsed <- Inf
for (rep in 1:2) {  # best of two, like the Python side's best of five
  t0 <- proc.time()
  out <- work()
  elapsed <- min(elapsed, (proc.time() - t0)[["elapsed"]])
}
cis <- out$cis
tests <- out$tests
cat(sprintf('{"elapsed": %.6f, "auc": [%s], "ci_low": [%s], "z": [%s], "p": [%s]}\n', elapsed,
    paste(sprintf("%.17g", sapply(cis, function(x) x[2])), collapse = ","),
    paste(sprintf("%.17g", sapply(cis, function(x) x[1])), collapse = ","),
    paste(sprintf("%.17g", sapply(tests, function(x) x$statistic)), collapse = ","),
    paste(sprintf("%.17g", sapply(tests, function(x) x$p.value)), collapse = ",")))
"""


def make_roc_data(n_cases: int, n_readers: int, seed: int = 1) -> pd.DataFrame:
    """Long data: correlated continuous ratings rounded to 3 decimals (so with ties)."""
    rng = np.random.default_rng(seed)
    truth = rng.random(n_cases) < 0.3
    case_effect = rng.normal(size=n_cases)
    shifts = np.linspace(0.6, 1.6, n_readers)
    ratings = (
        0.6 * case_effect[None, :]
        + rng.normal(size=(n_readers, n_cases))
        + shifts[:, None] * truth[None, :]
    )
    return pd.DataFrame(
        {
            "reader_id": np.repeat([f"R{i + 1}" for i in range(n_readers)], n_cases),
            "case_id": np.tile(np.arange(n_cases), n_readers),
            "truth": np.tile(truth.astype(int), n_readers),
            "rating": np.round(ratings, 3).ravel(),
        }
    )


def make_mrmc_data(n_cases: int, n_readers: int, seed: int = 2) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    truth = rng.random(n_cases) < 0.4
    case_effect = rng.normal(size=n_cases)
    frames = []
    for mod in (1, 2):
        latent = (
            0.7 * case_effect[None, :]
            + rng.normal(size=(n_readers, n_cases))
            + (1.0 + 0.15 * mod) * truth[None, :]
        )
        ratings = np.digitize(latent, [-0.5, 0.3, 1.0, 1.8]) + 1  # 1-5 ordinal
        frames.append(
            pd.DataFrame(
                {
                    "modality": mod,
                    "reader_id": np.repeat(np.arange(1, n_readers + 1), n_cases),
                    "case_id": np.tile(np.arange(n_cases), n_readers),
                    "truth": np.tile(truth.astype(int), n_readers),
                    "rating": ratings.ravel(),
                }
            )
        )
    return pd.concat(frames, ignore_index=True)


def roc_work(df: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    return reader_aucs(df), compare_readers(df)


def best_time(fn: Callable[[], Any], repeat: int = 3) -> tuple[float, Any]:
    best, out = float("inf"), None
    for _ in range(repeat):
        t0 = time.perf_counter()
        out = fn()
        best = min(best, time.perf_counter() - t0)
    return best, out


def peak_memory(fn: Callable[[], Any]) -> int:
    tracemalloc.start()
    tracemalloc.reset_peak()
    fn()
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return peak


def run_proc(df: pd.DataFrame) -> dict[str, Any] | None:
    rscript = shutil.which("Rscript")
    if rscript is None:
        print("pROC: Rscript not found, ratio goal not checked")
        return None
    probe = subprocess.run(
        [rscript, "-e", "cat(requireNamespace('pROC', quietly=TRUE))"],
        capture_output=True,
        text=True,
        check=False,
    )
    if probe.stdout.strip() != "TRUE":
        print("pROC: R package pROC not installed, ratio goal not checked")
        return None
    wide = df.pivot(index="case_id", columns="reader_id", values="rating")
    truth = df.groupby("case_id")["truth"].first()
    wide.insert(0, "truth", truth)
    with tempfile.TemporaryDirectory() as tmp:
        csv = Path(tmp) / "bench.csv"
        script = Path(tmp) / "bench.R"
        wide.reset_index().to_csv(csv, index=False)
        script.write_text(R_SCRIPT, encoding="utf-8")
        done = subprocess.run(
            [rscript, str(script), str(csv)], capture_output=True, text=True, check=False
        )
    if done.returncode != 0:
        print("pROC run failed:\n" + done.stderr)
        return None
    return json.loads(done.stdout.strip().splitlines()[-1])


def main() -> int:
    failures: list[str] = []
    print(f"== ROC/DeLong: {N_CASES:,} cases x {N_READERS} readers ==")
    df = make_roc_data(N_CASES, N_READERS)
    roc_work(df)  # warm-up (imports, first-call overhead)
    ours, (aucs, tests) = best_time(lambda: roc_work(df), repeat=5)
    print(f"readerstudy reader_aucs + compare_readers ({len(tests)} pairs): {ours:.3f} s")

    small = make_roc_data(N_CASES // 4, N_READERS)
    peak_small = peak_memory(lambda: roc_work(small))
    peak_full = peak_memory(lambda: roc_work(df))
    data_mb = N_CASES * N_READERS * 8 / 2**20
    print(
        f"peak traced memory: {peak_full / 2**20:.1f} MiB at {N_CASES:,} cases "
        f"({peak_full / 2**20 / data_mb:.1f} x the {data_mb:.1f} MiB of ratings), "
        f"{peak_small / 2**20:.1f} MiB at {N_CASES // 4:,} cases; "
        f"ratio {peak_full / peak_small:.2f} (linear = 4)"
    )
    if peak_full / peak_small > 4 * 1.25:
        failures.append("memory grows faster than linearly in the number of cases")

    proc = run_proc(df)
    if proc is not None:
        ratio = ours / proc["elapsed"]
        print(f"pROC 1.18 (timed inside R): {proc['elapsed']:.3f} s")
        print(f"ratio readerstudy / pROC: {ratio:.3f} (goal <= {RATIO_GOAL})")
        if ratio > RATIO_GOAL:
            failures.append(f"ROC/DeLong took {ratio:.2f} of pROC's time (goal {RATIO_GOAL})")
        agree = (
            np.allclose(aucs["auc"], proc["auc"], atol=1e-6, rtol=0)
            and np.allclose(aucs["ci_low"], proc["ci_low"], atol=1e-6, rtol=0)
            and np.allclose(tests["z"], proc["z"], atol=1e-6, rtol=0)
            and np.allclose(tests["p_value"], proc["p"], atol=1e-6, rtol=0)
        )
        print(f"results agree with pROC to 1e-6: {agree}")
        if not agree:
            failures.append("results differ from pROC")

    print(
        f"\n== OR/Hillis MRMC, jackknife: {MRMC_READERS} readers x 2 modalities x "
        f"{MRMC_CASES:,} cases =="
    )
    mdf = make_mrmc_data(MRMC_CASES, MRMC_READERS)
    mrmc(mdf)  # warm-up
    t_mrmc, res = best_time(lambda: mrmc(mdf))
    row = res.test.iloc[0]
    print(
        f"mrmc(analysis='RRRC', covariance='jackknife'): {t_mrmc:.3f} s "
        f"(goal <= {MRMC_LIMIT_S} s); F = {row['f']:.3f}, df = (1, {row['df2']:.2f}), "
        f"p = {row['p_value']:.3g}"
    )
    if t_mrmc > MRMC_LIMIT_S:
        failures.append(f"MRMC took {t_mrmc:.2f} s (goal {MRMC_LIMIT_S} s)")

    if failures:
        print("\nFAILED: " + "; ".join(failures))
        return 1
    print("\nall goals met")
    return 0


if __name__ == "__main__":
    sys.exit(main())
