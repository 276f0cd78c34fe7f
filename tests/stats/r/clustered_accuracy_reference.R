# Reference values for analysis/stats/clustered_accuracy.py.
# Run from the repository root:  Rscript tests/stats/r/clustered_accuracy_reference.R
# Writes tests/stats/r/clustered_accuracy_reference.json.
#
# Sensitivity / specificity with several lesions per patient (120 lesions in 60 patients,
# three readers, clustered_accuracy.csv; positive call: category >= 4). Written here from the
# papers, independently of the Python code:
#  - Obuchowski (1998, Stat Med 17:1495) ratio estimator: p = sum(x_i)/sum(m_i) over the
#    K patients with m_i > 0, Var = sum((x_i - p m_i)^2) / (K (K - 1) mbar^2), mbar = mean m_i
#    (written in her form; the Python code uses the equivalent K/(K-1) sum(.)/(sum m_i)^2);
#  - the same variance from the cluster-robust (sandwich, HC0 scaled by K/(K-1)) SE of the
#    intercept-only linear model of the correct calls, a different route to the same number;
#  - a patient-level cluster bootstrap (20000 resamples, R's own RNG): percentile interval.
suppressMessages(library(jsonlite))
out_file <- "tests/stats/r/clustered_accuracy_reference.json"
d <- read.csv("tests/stats/r/clustered_accuracy.csv", stringsAsFactors = FALSE)
d$correct <- as.numeric((d$category >= 4) == (d$truth == 1))

one <- function(sub, B = 20000) {
  x <- tapply(sub$correct, sub$patient_id, sum); m <- tapply(sub$correct, sub$patient_id, length)
  K <- length(m); p <- sum(x) / sum(m); mbar <- mean(m)
  v <- sum((x - p * m)^2) / (K * (K - 1) * mbar^2)
  # sandwich: y = p + e, score of patient i = sum_j (y_ij - p) = x_i - p m_i, bread = 1/sum(m)
  s <- x - p * m
  v_sandwich <- K / (K - 1) * sum(s^2) / sum(m)^2
  z <- qnorm(0.975)
  boot <- replicate(B, { i <- sample.int(K, K, replace = TRUE); sum(x[i]) / sum(m[i]) })
  list(n = sum(m), n_clusters = K, correct = sum(x), statistic = p, se = sqrt(v),
       se_sandwich = sqrt(v_sandwich),
       ci = c(max(0, p - z * sqrt(v)), min(1, p + z * sqrt(v))),
       boot_ci = unname(quantile(boot, c(0.025, 0.975), type = 7)),
       design_effect = v / (p * (1 - p) / sum(m)))
}

set.seed(1998)
out <- list()
for (r in sort(unique(d$reader_id))) {
  sub <- d[d$reader_id == r, ]
  out[[r]] <- list(sensitivity = one(sub[sub$truth == 1, ]),
                   specificity = one(sub[sub$truth == 0, ]))
}
writeLines(toJSON(list(readers = out, boot_replicates = 20000, R = R.version.string),
                  auto_unbox = TRUE, digits = NA, pretty = TRUE), out_file)
cat("wrote", out_file, "\n")
