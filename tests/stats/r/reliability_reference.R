# Reference values for the inter-rater reliability of a Likert panel
# (analysis/stats/agreement.py: krippendorff_alpha with its bootstrap CI, icc).
# Run from the repository root:
#   R_LIBS_USER=~/R/library Rscript tests/stats/r/reliability_reference.R
# Writes tests/stats/r/reliability_reference.json (with the data sets).
#
# Packages: irr 0.84.1 (kripp.alpha, icc, the anxiety and video data), irrCAC 1.0
# (krippen.alpha.raw), psych (ICC), from Debian and /work/shared/r-packages.
#
# irr::kripp.alpha is wrong on complete data with more than two raters (anxiety: nominal
# -0.0324 where Krippendorff's definition, irrCAC and the Python krippendorff package
# give -0.0237; it is right with two raters or with a missing value). So irr's value is
# taken with one extra unit that only one rater scored: such a unit is not pairable and,
# by Krippendorff's definition, changes nothing, but it sends irr down its (correct)
# missing-data path. Both values are written (`irr_alpha_complete` is irr's own answer).
#
# Bootstrap: percentile interval of alpha over resamples of the units with replacement
# (Zapf et al. 2016), 20,000 resamples with set.seed(12) and the same irr computation;
# the Python interval must agree within Monte Carlo error.
suppressMessages({library(jsonlite); library(irr); library(irrCAC); library(psych)})
out_file <- "tests/stats/r/reliability_reference.json"
num <- function(x) unname(as.numeric(x))

alpha_irr <- function(wide, level) {
  # wide: units x raters. Adds a one-rating unit (not pairable) before calling irr.
  pad <- rbind(as.matrix(wide), c(1, rep(NA, ncol(wide) - 1)))
  kripp.alpha(t(pad), method = level)$value
}

boot_alpha <- function(wide, level, n_boot = 20000, seed = 12) {
  set.seed(seed)
  n <- nrow(wide)
  vals <- replicate(n_boot, alpha_irr(wide[sample.int(n, n, replace = TRUE), , drop = FALSE],
                                      level))
  num(quantile(vals[is.finite(vals)], c(0.025, 0.975)))
}

reliability_ref <- function(name, wide, boot_levels = c("ordinal")) {
  wide <- as.matrix(wide)
  long <- data.frame(unit = rep(seq_len(nrow(wide)), ncol(wide)),
                     rater_id = rep(colnames(wide), each = nrow(wide)),
                     score = as.vector(wide))
  long <- long[!is.na(long$score), ]
  alpha <- list()
  for (level in c("nominal", "ordinal", "interval", "ratio")) {
    alpha[[level]] <- list(value = alpha_irr(wide, level),
                           irr_complete = kripp.alpha(t(wide), method = level)$value)
  }
  weights <- list(nominal = "unweighted", interval = "quadratic", ratio = "ratio")
  for (level in names(weights)) {
    alpha[[level]]$irrcac <- num(krippen.alpha.raw(wide, weights = weights[[level]])$est$coeff.val)
  }
  for (level in boot_levels) alpha[[level]]$boot_ci <- boot_alpha(wide, level)
  complete <- wide[stats::complete.cases(wide), , drop = FALSE]
  p <- ICC(complete, lmer = FALSE)$results
  i2 <- icc(complete, model = "twoway", type = "agreement", unit = "single")
  list(name = name, data = long, n_units = nrow(wide), n_complete = nrow(complete),
       n_raters = ncol(wide), alpha = alpha,
       icc = list(type = p$type, icc = num(p$ICC), ci_low = num(p[["lower bound"]]),
                  ci_high = num(p[["upper bound"]]), f = num(p$F), p = num(p$p)),
       irr_icc_a1 = list(value = num(i2$value), ci = num(c(i2$lbound, i2$ubound)),
                         f = num(i2$Fvalue), p = num(i2$p.value)))
}

data(anxiety); data(video)
sets <- list(reliability_ref("anxiety", anxiety), reliability_ref("video", video))
# anxiety with three missing scores: alpha uses every pairable value, the ICC drops the
# incomplete units listwise
gaps <- as.matrix(anxiety); gaps[2, 1] <- NA; gaps[7, 3] <- NA; gaps[15, 2] <- NA
sets[[3]] <- reliability_ref("anxiety_missing", gaps)

write_json(list(sets = sets, r_version = R.version.string,
                packages = list(irr = as.character(packageVersion("irr")),
                                irrCAC = as.character(packageVersion("irrCAC")),
                                psych = as.character(packageVersion("psych")))),
           out_file, auto_unbox = TRUE, digits = NA, na = "null", dataframe = "columns")
cat("wrote", out_file, "\n")
