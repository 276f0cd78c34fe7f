# Reference values for analysis/stats/heterogeneity.py.
# Run from the repository root:
#   R_LIBS_USER=/root/R/library Rscript tests/stats/r/heterogeneity_reference.R
# Writes tests/stats/r/heterogeneity_reference.json.
#  - Cochran's Q, I^2 and the fixed-effect (inverse-variance) pooled estimate, in base R
#    from Cochran (1954) and Higgins & Thompson (2002) (metafor is not installed; the
#    formulas are those of metafor::rma(method = "FE")).
#  - The AUCs and SEs of the subgroups are pROC's DeLong AUCs of one reader in each of
#    three disjoint subgroups of simulated cases, so the test also fixes the inputs.
suppressMessages({library(jsonlite); library(pROC)})
out_file <- "tests/stats/r/heterogeneity_reference.json"

cochran <- function(y, se, level = 0.95) {
  w <- 1 / se^2
  pooled <- sum(w * y) / sum(w)
  pooled_se <- 1 / sqrt(sum(w))
  q <- sum(w * (y - pooled)^2)
  df <- length(y) - 1
  z <- qnorm(0.5 + level / 2)
  list(n_groups = length(y), statistic = q, df = df,
       p_value = pchisq(q, df, lower.tail = FALSE),
       i_squared = if (q > 0) max(0, (q - df) / q) else 0,
       pooled = pooled, pooled_se = pooled_se,
       pooled_ci_low = pooled - z * pooled_se, pooled_ci_high = pooled + z * pooled_se)
}

set.seed(18)
n <- 150
truth <- rbinom(n, 1, 0.45)
group <- sample(c("a", "b", "c"), n, replace = TRUE)
shift <- c(a = 1.6, b = 0.8, c = 1.2)[group]
rating <- round(rnorm(n) + truth * shift, 2)

aucs <- c(); ses <- c()
for (g in c("a", "b", "c")) {
  u <- group == g
  r <- roc(truth[u], rating[u], levels = c(0, 1), direction = "<", quiet = TRUE)
  aucs[g] <- as.numeric(auc(r)); ses[g] <- sqrt(var(r, method = "delong"))
}

small <- list(y = c(0.82, 0.74, 0.91), se = c(0.04, 0.05, 0.06))
equal <- list(y = c(0.8, 0.8), se = c(0.05, 0.1))

out <- list(
  small = c(small, cochran(small$y, small$se), list(level90 = cochran(small$y, small$se, 0.9))),
  equal = c(equal, cochran(equal$y, equal$se)),
  subgroups = list(
    data = data.frame(case_id = seq_len(n), truth = truth, subgroup = group, rating = rating),
    auc = unname(aucs), se = unname(ses), test = cochran(aucs, ses)
  )
)
write_json(out, out_file, auto_unbox = TRUE, digits = NA, pretty = TRUE)
cat("wrote", out_file, "\n")
