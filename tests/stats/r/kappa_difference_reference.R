# Fleiss' kappa among the same readers in two modalities and the case-bootstrap CI and p of
# the difference (kappa_b - kappa_a): irr::kappam.fleiss for the kappas; the bootstrap
# (cases resampled with replacement, both modalities together, percentile CI, two-sided
# p = min(1, 2 min(#{d* <= 0}, #{d* >= 0}) / B)) written out in base R with R's own RNG, so
# the Python percentiles agree up to Monte-Carlo error (B = 20000).
# Data: seeded, 4 readers x 60 cases x 2 modalities on categories 1-5; modality 2 readers
# follow a latent truth more closely.
# Run from the repository root (R 4.2.2, irr, jsonlite):
#   R_LIBS_USER=/root/R/library Rscript tests/stats/r/kappa_difference_reference.R
# Writes tests/stats/r/kappa_difference.csv and tests/stats/r/kappa_difference_reference.json.
suppressMessages({library(jsonlite); library(irr)})
RNGkind("Mersenne-Twister", "Inversion", "Rejection")
set.seed(170018)
n <- 60; readers <- paste0("R", 1:4)
latent <- rnorm(n)
cut5 <- function(x) as.integer(cut(x, c(-Inf, -1, -0.3, 0.3, 1, Inf)))
rows <- list()
for (m in 1:2) for (r in readers) {
  noise <- if (m == 1) 0.8 else 0.45
  rows[[length(rows) + 1]] <- data.frame(reader_id = r, case_id = 1:n, modality = m,
                                         category = cut5(latent + rnorm(n, sd = noise)))
}
d <- do.call(rbind, rows)
write.csv(d, "tests/stats/r/kappa_difference.csv", row.names = FALSE)
wide <- function(m) sapply(readers, function(r) d$category[d$modality == m & d$reader_id == r])
wa <- wide(1); wb <- wide(2)
ka <- kappam.fleiss(wa)$value; kb <- kappam.fleiss(wb)$value
B <- 20000
boot <- replicate(B, { i <- sample.int(n, n, replace = TRUE)
  kappam.fleiss(wb[i, ])$value - kappam.fleiss(wa[i, ])$value })
boot <- boot[is.finite(boot)]
ci <- unname(quantile(boot, c(0.025, 0.975), type = 7))
p <- min(1, 2 * min(sum(boot <= 0), sum(boot >= 0)) / length(boot))
write_json(list(kappa_a = ka, kappa_b = kb, diff = kb - ka, ci_low = ci[1], ci_high = ci[2],
                p_value = p, n_boot = B, n_cases = n, n_readers = length(readers)),
           "tests/stats/r/kappa_difference_reference.json", digits = NA, auto_unbox = TRUE,
           pretty = TRUE)
