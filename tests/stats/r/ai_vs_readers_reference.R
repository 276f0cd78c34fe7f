# Standalone AI (CAD) against a panel of readers treated as random: RJafroc 2.1.2
# StSignificanceTestingCadVsRad, methods "1T-RRRC" (Hillis's single-treatment OR analysis)
# and "1T-RRFC" (readers random, cases fixed: a one-sample t test of reader - CAD),
# figure of merit "Wilcoxon" (the empirical AUC).
#   * dataset09 (bundled with RJafroc: CAD as reader 1, 9 radiologists, 200 cases),
#   * a small seeded data set of ours (AI + 5 readers, 40 cases, 1-5 ratings with ties).
# RJafroc accepts only the Wilcoxon figure of merit for ROC data, so sensitivity and
# specificity are obtained by an exact reduction: with binary decisions d (1 = positive),
# rating a diseased case d and every non-diseased case 0.5 gives an empirical AUC equal to
# the sensitivity (no ties), and its case-jackknife values are the sensitivity's; rating a
# non-diseased case d and every diseased case 0.5 gives 1 - FPF = the specificity.
# Run from the repository root (R 4.2.2, RJafroc 2.1.2, jsonlite):
#   R_LIBS_USER=/root/R/library Rscript tests/stats/r/ai_vs_readers_reference.R
# Writes tests/stats/r/ai_dataset09.csv, ai_small.csv and ai_vs_readers_reference.json.
suppressMessages({library(jsonlite); library(RJafroc)})
RNGkind("Mersenne-Twister", "Inversion", "Rejection")
num <- function(x) unname(as.numeric(x))

long_of <- function(ds) {
  K2 <- dim(ds$ratings$LL)[3]; K <- dim(ds$ratings$NL)[3]; K1 <- K - K2
  J <- dim(ds$ratings$NL)[2]; ids <- ds$descriptions$readerID
  rows <- list()
  for (j in 1:J) {
    rows[[j]] <- data.frame(reader_id = ids[j], case_id = 1:K,
                            truth = c(rep(0, K1), rep(1, K2)),
                            rating = c(ds$ratings$NL[1, j, 1:K1, 1], ds$ratings$LL[1, j, 1:K2, 1]))
  }
  do.call(rbind, rows)
}
dataset_of <- function(long) {
  ids <- unique(long$reader_id); J <- length(ids)
  cases <- sort(unique(long$case_id)); tr <- long$truth[match(cases, long$case_id)]
  neg <- cases[tr == 0]; pos <- cases[tr == 1]
  NL <- array(dim = c(1, J, length(neg))); LL <- array(dim = c(1, J, length(pos)))
  for (j in 1:J) {
    s <- long[long$reader_id == ids[j], ]
    NL[1, j, ] <- s$rating[match(neg, s$case_id)]
    LL[1, j, ] <- s$rating[match(pos, s$case_id)]
  }
  ds <- Df2RJafrocDataset(NL, LL)
  # the truth table UtilPseudoValues reads (as in dataset09: slot 1 non-diseased, 2 diseased)
  tt <- array(NA_real_, dim = c(1, J, length(cases), 2))
  tt[1, , seq_along(neg), 1] <- 1; tt[1, , length(neg) + seq_along(pos), 2] <- 1
  ds$descriptions$truthTableStr <- tt
  ds
}
run <- function(ds, method) {
  r <- StSignificanceTestingCadVsRad(ds, FOM = "Wilcoxon", method = method)
  ci_rad <- if (!is.null(r$CIAvgRad)) r$CIAvgRad else r$CIAvgRadFom
  out <- list(method = method, fom_cad = num(r$fomCAD), fom_rad = num(r$fomRAD),
       avg_rad = num(r$avgRadFom), ci_avg_rad = num(ci_rad), avg_diff = num(r$avgDiffFom),
       ci_avg_diff = num(r$CIAvgDiffFom), var_r = num(r$varR), t = num(r$Tstat),
       df = num(r$df), p = num(r$pval))
  if (!is.null(r$varError)) { out$var_error <- num(r$varError); out$cov2 <- num(r$cov2) }
  out
}
decisions <- function(long, fom, cut) {
  d <- as.numeric(long$rating >= cut)
  other <- if (fom == "sensitivity") long$truth == 0 else long$truth == 1
  long$rating <- ifelse(other, 0.5, d)
  long
}

d09 <- long_of(dataset09)
write.csv(d09, "tests/stats/r/ai_dataset09.csv", row.names = FALSE)

set.seed(20261202)
K <- 40; truth <- rep(c(0, 1), each = 20)
latent <- rnorm(K, mean = 1.2 * truth)
readers <- c("AI", paste0("R", 1:5)); small <- list()
for (j in seq_along(readers)) {
  noise <- if (j == 1) 0.6 else 0.9
  x <- latent + rnorm(K, sd = noise) + rnorm(1, sd = 0.3)
  small[[j]] <- data.frame(reader_id = readers[j], case_id = 1:K, truth = truth,
                           rating = as.numeric(cut(x, c(-Inf, -0.5, 0.2, 0.8, 1.5, Inf), labels = FALSE)))
}
small <- do.call(rbind, small)
write.csv(small, "tests/stats/r/ai_small.csv", row.names = FALSE)

res <- list(versions = list(R = R.version.string, RJafroc = as.character(packageVersion("RJafroc"))))
for (nm in c("dataset09", "small")) {
  long <- if (nm == "dataset09") d09 else small
  ds <- if (nm == "dataset09") dataset09 else dataset_of(long)
  ai <- as.character(long$reader_id[1])
  cut <- if (nm == "dataset09") 25 else 3
  entry <- list(ai = ai, cut = cut,
                auc = list(rrrc = run(ds, "1T-RRRC"), rrfc = run(ds, "1T-RRFC")))
  for (fom in c("sensitivity", "specificity")) {
    dl <- decisions(long, fom, cut)
    dd <- dataset_of(dl)
    entry[[fom]] <- list(rrrc = run(dd, "1T-RRRC"), rrfc = run(dd, "1T-RRFC"))
  }
  res[[nm]] <- entry
}
write(toJSON(res, auto_unbox = TRUE, digits = NA, pretty = TRUE),
      "tests/stats/r/ai_vs_readers_reference.json")
