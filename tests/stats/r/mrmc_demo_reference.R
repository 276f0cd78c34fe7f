# Reference values of the demo study's MRMC analysis, computed with R MRMCaov.
#
# Run from anywhere:  Rscript tests/stats/r/mrmc_demo_reference.R
# Tested with R 4.2 and MRMCaov 0.3.0 (from /work/shared/r-packages, install.sh). Reads,
# next to this script:
#   mrmc_demo.csv              the demo's readings of R3, R4 and R5 in modality 1 (unaided)
#                              and 2 (AI-assisted) on the 114 test cases, as the study's
#                              readings.csv export gives them: reader_id, modality, case_id,
#                              truth, category (one run, so the category is the rating);
#                              tests/analysis/test_results_mrmc.py checks that the export
#                              still equals this file
# and writes:
#   mrmc_demo_reference.json   OR/Hillis (empirical AUC, jackknife covariance) for random
#                              readers and cases (RRRC), fixed readers (FRRC) and fixed
#                              cases (RRFC)

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

out <- list(source = paste0("MRMCaov ", packageVersion("MRMCaov"), ", ", R.version.string))
for (name in names(fits)) {
  s <- summary(fits[[name]])
  eq <- s$test_equality
  diffs <- s$test_diffs
  means <- s$test_means
  entry <- list(
    f = if (name == "FRRC") eq[["X2"]] / eq[["df"]] else eq[["F"]],
    df1 = if (name == "FRRC") eq[["df"]] else eq[["df1"]],
    df2 = if (name == "FRRC") "Inf" else eq[["df2"]],  # FRRC: chi-square reference
    p = eq[["p-value"]],
    diff = diffs$Estimate,
    diff_se = diffs$StdErr,
    diff_ci = as.numeric(diffs$CI),
    diff_p = diffs[["p-value"]],
    aucs = means$Estimate,
    aucs_se = means$StdErr,
    aucs_ci_low = means$CI[, 1],
    aucs_ci_high = means$CI[, 2]
  )
  if (name == "FRRC") {
    rd <- s$reader_test_diffs
    entry$reader_diff <- setNames(as.list(rd$Estimate), rd$Reader)
    entry$reader_diff_se <- setNames(as.list(rd$StdErr), rd$Reader)
    entry$reader_diff_p <- setNames(as.list(rd[["p-value"]]), rd$Reader)
  }
  if (name != "RRFC") {
    vc <- s$vcov_comps
    entry$var_r <- vc[1, "Estimate"]
    entry$var_tr <- vc[2, "Estimate"]
    entry$var_error <- vc[3, "Estimate"]
    entry$cov1 <- vc[4, "Estimate"]
    entry$cov2 <- vc[5, "Estimate"]
    entry$cov3 <- vc[6, "Estimate"]
  }
  out[[name]] <- entry
}
writeLines(toJSON(out, auto_unbox = TRUE, digits = NA, pretty = TRUE),
           file.path(here, "mrmc_demo_reference.json"))
