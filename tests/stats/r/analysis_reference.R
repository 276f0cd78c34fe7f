# Reference values for a whole analysis (analysis/results.py) of a study built from pROC's
# aSAH data (113 patients with aneurysmal subarachnoid haemorrhage, outcome Good/Poor).
# Run from the repository root:
#   R_LIBS_USER=~/R/library Rscript tests/stats/r/analysis_reference.R
# Writes tests/stats/r/asah.csv (the study) and tests/stats/r/analysis_reference.json.
#
# Packages: pROC 1.18 (roc, ci.auc, roc.test), binom 1.1 (binom.confint "wilson"), base
# stats (mcnemar.test, binom.test, p.adjust, prop.test).
#
# The study: truth = outcome Poor; three "readers" of every patient:
#   WFNS   the WFNS grade 1-5 as its category, no score (ROC on the category); the
#          study's reference reader
#   S100B  category = quintile of s100b (1-5), score = s100b, except that patient
#          MISSING has no score: its AUC must be the AUC of s100b on the other 112
#   NDKA   category = quintile of ndka (1-5), score = ndka
# Positive call: category >= 4.
suppressMessages({library(jsonlite); library(pROC); library(binom)})
out_file <- "tests/stats/r/analysis_reference.json"
num <- function(x) unname(as.numeric(x))

data(aSAH)
d <- data.frame(case_id = sprintf("SAH%03d", seq_len(nrow(aSAH))),
                truth = as.integer(aSAH$outcome == "Poor"),
                wfns = as.integer(as.character(aSAH$wfns)),
                s100b = aSAH$s100b, ndka = aSAH$ndka)
quint <- function(x) findInterval(x, quantile(x, c(.2, .4, .6, .8)), left.open = TRUE) + 1L
d$wfns_category <- d$wfns
d$s100b_category <- quint(d$s100b)
d$ndka_category <- quint(d$ndka)
missing_case <- d$case_id[which(d$truth == 1)[1]]
d$s100b_score <- ifelse(d$case_id == missing_case, NA, d$s100b)
write.csv(d[, c("case_id", "truth", "wfns_category", "s100b_category", "s100b_score",
                "ndka_category", "ndka")], "tests/stats/r/asah.csv", row.names = FALSE, na = "")

ratings <- list(WFNS = d$wfns, S100B = d$s100b_score, NDKA = d$ndka)
categories <- list(WFNS = d$wfns_category, S100B = d$s100b_category, NDKA = d$ndka_category)

auc_of <- function(x) {
  keep <- !is.na(x)
  r <- roc(d$truth[keep], x[keep], levels = c(0, 1), direction = "<", quiet = TRUE)
  ci <- ci.auc(r, method = "delong")   # pROC truncates the CI to [0, 1]
  list(n = sum(keep), n_positive = sum(d$truth[keep]), auc = num(auc(r)),
       se = sqrt(num(var(r))), ci = num(ci[c(1, 3)]))
}
aucs <- lapply(ratings, auc_of)
# what main did: the whole S100B reader on its category because one score is blank
auc_category_s100b <- num(auc(roc(d$truth, d$s100b_category, levels = c(0, 1),
                                  direction = "<", quiet = TRUE)))
auc_full_s100b <- num(auc(roc(d$truth, d$s100b, levels = c(0, 1), direction = "<",
                              quiet = TRUE)))

pairs <- list(c("WFNS", "S100B"), c("WFNS", "NDKA"), c("S100B", "NDKA"))
delong <- lapply(pairs, function(p) {
  keep <- !is.na(ratings[[p[1]]]) & !is.na(ratings[[p[2]]])
  ra <- roc(d$truth[keep], ratings[[p[1]]][keep], levels = c(0, 1), direction = "<",
            quiet = TRUE)
  rb <- roc(d$truth[keep], ratings[[p[2]]][keep], levels = c(0, 1), direction = "<",
            quiet = TRUE)
  t <- roc.test(ra, rb, method = "delong", paired = TRUE)
  list(reader_a = p[1], reader_b = p[2], n_cases = sum(keep), z = num(t$statistic),
       p = num(t$p.value), diff_ci = num(t$conf.int))
})
p_delong <- sapply(delong, function(x) x$p)
for (i in seq_along(delong)) {
  delong[[i]]$p_adjusted <- list(holm = p.adjust(p_delong, "holm")[i],
                                 bonferroni = p.adjust(p_delong, "bonferroni")[i],
                                 fdr = p.adjust(p_delong, "fdr")[i])
}

# McNemar of each reader against the reference reader WFNS on the positive call
mcnemar <- list()
for (metric in c("sensitivity", "specificity")) {
  rows <- list()
  for (r in c("S100B", "NDKA")) {
    keep <- if (metric == "sensitivity") d$truth == 1 else d$truth == 0
    right <- function(cat) if (metric == "sensitivity") cat >= 4 else cat < 4
    a <- right(categories[[r]])[keep]; b <- right(categories$WFNS)[keep]
    tab <- table(factor(a, c(TRUE, FALSE)), factor(b, c(TRUE, FALSE)))
    bb <- tab[1, 2]; cc <- tab[2, 1]
    chi <- mcnemar.test(tab)                         # continuity-corrected, R's default
    exact <- binom.test(bb, bb + cc)$p.value         # exact2x2::mcnemar.exact's p
    rows[[length(rows) + 1]] <- list(reader_a = r, reader_b = "WFNS", metric = metric,
      n = sum(keep), estimate_a = mean(a), estimate_b = mean(b), b = bb, c = cc,
      statistic = num(chi$statistic), p_chisq = num(chi$p.value), p_exact = exact)
  }
  p <- sapply(rows, function(x) x$p_exact)
  for (i in seq_along(rows)) {
    rows[[i]]$p_adjusted <- list(holm = p.adjust(p, "holm")[i],
                                 bonferroni = p.adjust(p, "bonferroni")[i],
                                 fdr = p.adjust(p, "fdr")[i])
  }
  mcnemar <- c(mcnemar, rows)
}

# Wilson intervals of the diagnostic metrics (binom::binom.confint and prop.test agree)
wilson <- list()
for (r in names(categories)) {
  call <- categories[[r]] >= 4
  tp <- sum(call & d$truth == 1); fp <- sum(call & d$truth == 0)
  tn <- sum(!call & d$truth == 0); fn <- sum(!call & d$truth == 1)
  parts <- list(sensitivity = c(tp, tp + fn), specificity = c(tn, tn + fp),
                accuracy = c(tp + tn, nrow(d)), ppv = c(tp, tp + fp), npv = c(tn, tn + fn))
  wilson[[r]] <- lapply(parts, function(kn) {
    w <- binom.confint(kn[1], kn[2], methods = "wilson")
    pt <- suppressWarnings(prop.test(kn[1], kn[2], correct = FALSE))$conf.int
    stopifnot(abs(w$lower - pt[1]) < 1e-12, abs(w$upper - pt[2]) < 1e-12)
    list(k = kn[1], n = kn[2], estimate = kn[1] / kn[2], ci = num(c(w$lower, w$upper)))
  })
}

write_json(list(missing_case = missing_case, aucs = aucs,
                auc_category_s100b = auc_category_s100b, auc_full_s100b = auc_full_s100b,
                delong = delong, mcnemar = mcnemar, wilson = wilson,
                r_version = R.version.string,
                packages = list(pROC = as.character(packageVersion("pROC")),
                                binom = as.character(packageVersion("binom")))),
           out_file, auto_unbox = TRUE, digits = NA, na = "null")
cat("wrote", out_file, "\n")
