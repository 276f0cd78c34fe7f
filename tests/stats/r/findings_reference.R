# Reference values for analysis/stats/findings.py (per-finding accuracy and F1).
# Run from the repository root:  Rscript tests/stats/r/findings_reference.R
# Reads tests/stats/r/findings_labels.csv (2 readers x 60 cases x 3 findings), writes
# tests/stats/r/findings_reference.json.
# Proportions: binom.test (Clopper-Pearson) and epiR::epi.tests (method = "exact").
# F1 and macro/micro F1: point values from the counts; their case-bootstrap percentile
# intervals from boot::boot (strata-free case resampling, B = 20000) so that the Python
# intervals (another RNG) must agree within Monte Carlo error.
suppressMessages({ library(jsonlite); library(epiR); library(boot) })
out_file <- "tests/stats/r/findings_reference.json"
d <- read.csv("tests/stats/r/findings_labels.csv", stringsAsFactors = FALSE)
B <- 20000
set.seed(16)

f1 <- function(tp, fp, fn) if (2 * tp + fp + fn == 0) NA else 2 * tp / (2 * tp + fp + fn)
counts <- function(s) c(tp = sum(s$truth == 1 & s$present == 1), fp = sum(s$truth == 0 & s$present == 1),
                        fn = sum(s$truth == 1 & s$present == 0), tn = sum(s$truth == 0 & s$present == 0))
ci <- function(k, n) if (n == 0) c(NA, NA) else unname(binom.test(k, n)$conf.int[1:2])

per_finding <- list(); summary <- list()
for (r in unique(d$reader_id)) {
  mine <- d[d$reader_id == r, ]
  cases <- unique(mine$case_id); fnds <- unique(mine$finding)
  for (f in fnds) {
    s <- mine[mine$finding == f, ]
    k <- counts(s)
    # epiR: table with rows test +/-, columns disease +/-
    tab <- as.table(matrix(c(k[["tp"]], k[["fn"]], k[["fp"]], k[["tn"]]), nrow = 2))
    ep <- epi.tests(tab, method = "exact", conf.level = 0.95)$detail
    row <- function(stat) unlist(ep[ep$statistic == stat, c("est", "lower", "upper")])
    fb <- boot(cases, function(x, i) {
      ss <- s[match(x[i], s$case_id), ]; kk <- counts(ss); f1(kk[["tp"]], kk[["fp"]], kk[["fn"]])
    }, R = B)
    per_finding[[length(per_finding) + 1]] <- list(
      reader = r, finding = f, tp = k[["tp"]], fp = k[["fp"]], fn = k[["fn"]], tn = k[["tn"]],
      sensitivity = k[["tp"]] / (k[["tp"]] + k[["fn"]]), sensitivity_ci = ci(k[["tp"]], k[["tp"]] + k[["fn"]]),
      specificity = k[["tn"]] / (k[["tn"]] + k[["fp"]]), specificity_ci = ci(k[["tn"]], k[["tn"]] + k[["fp"]]),
      ppv = k[["tp"]] / (k[["tp"]] + k[["fp"]]), ppv_ci = ci(k[["tp"]], k[["tp"]] + k[["fp"]]),
      epir_se = unname(row("se")), epir_sp = unname(row("sp")), epir_pv_pos = unname(row("pv.pos")),
      f1 = f1(k[["tp"]], k[["fp"]], k[["fn"]]),
      f1_ci = unname(quantile(fb$t[is.finite(fb$t)], c(0.025, 0.975), type = 7)))
  }
  avg <- function(x, i) {
    ss <- do.call(rbind, lapply(x[i], function(cc) mine[mine$case_id == cc, ]))
    per <- sapply(fnds, function(f) { kk <- counts(ss[ss$finding == f, ]); f1(kk[["tp"]], kk[["fp"]], kk[["fn"]]) })
    kk <- counts(ss)
    c(mean(per, na.rm = TRUE), f1(kk[["tp"]], kk[["fp"]], kk[["fn"]]))
  }
  ab <- boot(cases, avg, R = 4000)
  summary[[length(summary) + 1]] <- list(reader = r, macro_f1 = ab$t0[1], micro_f1 = ab$t0[2],
    macro_f1_ci = unname(quantile(ab$t[, 1], c(0.025, 0.975))),
    micro_f1_ci = unname(quantile(ab$t[, 2], c(0.025, 0.975))))
}

# paired bootstrap of the difference R1 - R2 (macro and micro F1) on the common cases
cases <- unique(d$case_id)
pair <- function(x, i) {
  sel <- x[i]
  a <- avg_of(d[d$reader_id == "R1", ], sel); b <- avg_of(d[d$reader_id == "R2", ], sel)
  a - b
}
avg_of <- function(mine, sel) {
  ss <- do.call(rbind, lapply(sel, function(cc) mine[mine$case_id == cc, ]))
  per <- sapply(unique(mine$finding), function(f) { kk <- counts(ss[ss$finding == f, ]); f1(kk[["tp"]], kk[["fp"]], kk[["fn"]]) })
  kk <- counts(ss)
  c(mean(per, na.rm = TRUE), f1(kk[["tp"]], kk[["fp"]], kk[["fn"]]))
}
pb <- boot(cases, pair, R = 4000)
compare <- list(reader_a = "R1", reader_b = "R2", macro_f1 = pb$t0[1], micro_f1 = pb$t0[2],
  macro_f1_ci = unname(quantile(pb$t[, 1], c(0.025, 0.975))),
  micro_f1_ci = unname(quantile(pb$t[, 2], c(0.025, 0.975))))

write(toJSON(list(per_finding = per_finding, summary = summary, compare = compare,
                  r_version = R.version.string, epiR = as.character(packageVersion("epiR"))),
             auto_unbox = TRUE, digits = 12, pretty = TRUE), out_file)
cat("wrote", out_file, "\n")
