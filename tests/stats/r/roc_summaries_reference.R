# Reference values for analysis/stats/roc_summaries.py, computed with pROC 1.18.
# Run from the repository root:
#   R_LIBS_USER=/root/R/library Rscript tests/stats/r/roc_summaries_reference.R
# Writes tests/stats/r/roc_summaries_reference.json: McClish-standardised partial AUCs
# (auc(partial.auc, partial.auc.focus, partial.auc.correct = TRUE)) and the Youden-best
# thresholds (coords(roc, "best", best.method = "youden"), all ties) on the data sets
# roc_continuous.csv and roc_discrete.csv (written by roc_reference.R) and pROC's aSAH.
suppressMessages({library(jsonlite); library(pROC)})
out_file <- "tests/stats/r/roc_summaries_reference.json"
data(aSAH)
sets <- list(
  continuous = read.csv("tests/stats/r/roc_continuous.csv"),
  discrete = read.csv("tests/stats/r/roc_discrete.csv"),
  asah = data.frame(reader_id = rep(c("s100b", "wfns"), each = nrow(aSAH)),
                    case_id = rep(seq_len(nrow(aSAH)), 2),
                    truth = rep(as.integer(aSAH$outcome == "Poor"), 2),
                    rating = c(aSAH$s100b, as.numeric(aSAH$wfns))))
bands <- list(list(focus = "specificity", low = 0.8, high = 1),
              list(focus = "specificity", low = 0.5, high = 0.9),
              list(focus = "sensitivity", low = 0.9, high = 1),
              list(focus = "sensitivity", low = 0.6, high = 0.85))
out <- list()
for (name in names(sets)) {
  d <- sets[[name]]
  res <- list()
  for (r in sort(unique(d$reader_id))) {
    x <- d[d$reader_id == r, ]
    if (length(unique(x$truth)) < 2) next
    ro <- roc(x$truth, x$rating, levels = c(0, 1), direction = "<", quiet = TRUE)
    p <- lapply(bands, function(b) {
      raw <- as.numeric(auc(ro, partial.auc = c(b$high, b$low), partial.auc.focus = b$focus))
      std <- suppressWarnings(as.numeric(auc(ro, partial.auc = c(b$high, b$low),
        partial.auc.focus = b$focus, partial.auc.correct = TRUE)))
      list(focus = b$focus, low = b$low, high = b$high, partial_auc = raw, statistic = std)
    })
    best <- coords(ro, "best", best.method = "youden",
                   ret = c("threshold", "sensitivity", "specificity", "youden"), transpose = FALSE)
    res[[r]] <- list(partial = p, best = list(threshold = best$threshold,
      sensitivity = best$sensitivity, specificity = best$specificity,
      youden_j = best$youden - 1))
  }
  out[[name]] <- list(data = if (name == "asah") d else NULL, readers = res)
}
write_json(out, out_file, digits = NA, auto_unbox = TRUE, pretty = FALSE, na = "null")
cat("wrote", out_file, "\n")
