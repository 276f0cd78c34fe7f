# Reference values for analysis/stats/multiplicity.py (adjust_p), computed with base R.
# Run from the repository root:  Rscript tests/stats/r/multiplicity_reference.R
# Writes tests/stats/r/multiplicity_reference.json.
suppressMessages(library(jsonlite))
out_file <- "tests/stats/r/multiplicity_reference.json"
set.seed(17)
vectors <- list(
  dunn_15 = c(runif(10, 0, 0.05), runif(5)),
  ties = c(0.01, 0.01, 0.04, 0.04, 0.2, 0.5, 1),
  with_na = c(0.03, NA, 0.002, 0.8, NA, 0.04),
  one = 0.02,
  tiny = c(1e-12, 3e-9, 0.049, 0.051)
)
sets <- lapply(names(vectors), function(name) {
  p <- vectors[[name]]
  list(name = name, p = p, none = p.adjust(p, "none"), holm = p.adjust(p, "holm"),
       bonferroni = p.adjust(p, "bonferroni"), fdr = p.adjust(p, "fdr"))
})
write_json(list(sets = sets, r_version = R.version.string), out_file, auto_unbox = FALSE,
           digits = NA, na = "null")
cat("wrote", out_file, "\n")
