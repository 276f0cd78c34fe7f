# Reference values of aided vs unaided non-inferiority in the MRMC output, from R MRMCaov.
#
# Run from anywhere:  R_LIBS_USER=/root/R/library Rscript tests/stats/r/mrmc_noninferiority_reference.R
# Reads mrmc_demo.csv (next to this script: the demo's R3, R4, R5 in modality 1, unaided,
# and 2, AI-assisted, on the 114 test cases; see mrmc_demo_reference.R) and writes
# mrmc_noninferiority_reference.json: for RRRC, FRRC and RRFC (empirical AUC, jackknife
# covariance) the difference aided - unaided with MRMCaov's standard error, df and CI, and
# for each margin delta the non-inferiority test H0: d <= -delta computed from them:
#   t = (d + delta) / SE,  p = P(T_df > t) (pnorm for FRRC, whose MRMCaov test is a z test),
#   non-inferior when the lower limit of MRMCaov's 95% CI exceeds -delta;
# and the same for the reverse question (unaided against aided, d = unaided - aided) in
# "reverse", so that both verdicts occur.

suppressPackageStartupMessages(library(MRMCaov))
library(jsonlite)

args <- commandArgs(trailingOnly = FALSE)
script <- sub("^--file=", "", args[grep("^--file=", args)])
here <- if (length(script)) dirname(normalizePath(script)) else getwd()

d <- read.csv(file.path(here, "mrmc_demo.csv"))
d$modality <- factor(d$modality)
d$reader_id <- factor(d$reader_id)
d$case_id <- factor(d$case_id)

fits <- list(
  RRRC = mrmc(empirical_auc(truth, category), modality, reader_id, case_id,
              data = d, cov = jackknife),
  FRRC = mrmc(empirical_auc(truth, category), modality, fixed(reader_id), case_id,
              data = d, cov = jackknife),
  RRFC = mrmc(empirical_auc(truth, category), modality, reader_id, fixed(case_id),
              data = d, cov = jackknife)
)
margins <- c(0, 0.05, 0.1, 0.15)

out <- list(source = paste0("MRMCaov ", packageVersion("MRMCaov"), ", ", R.version.string),
            margins = margins)
for (name in names(fits)) {
  diffs <- summary(fits[[name]])$test_diffs
  est <- -diffs$Estimate           # MRMCaov: modality 1 - 2; here aided (2) - unaided (1)
  se <- diffs$StdErr
  df <- if ("df" %in% names(diffs)) diffs$df else Inf
  ci <- -rev(as.numeric(diffs$CI))
  ni <- function(est, ci) lapply(margins, function(delta) {
    t <- (est + delta) / se
    list(margin = delta, t = t, p = pt(t, df, lower.tail = FALSE),
         noninferior = ci[1] > -delta)
  })
  out[[name]] <- list(difference = est, se = se, df = if (is.finite(df)) df else "Inf",
                      ci = ci, tests = ni(est, ci), reverse = ni(-est, -rev(ci)))
}
writeLines(toJSON(out, auto_unbox = TRUE, digits = NA, pretty = TRUE),
           file.path(here, "mrmc_noninferiority_reference.json"))
