# Reference values for analysis/stats/accuracy.py.
# Run from the repository root:
#   R_LIBS_USER=/root/R/library Rscript tests/stats/r/accuracy_reference.R
# Writes tests/stats/r/accuracy_reference.json.
#  - LR+, LR-, diagnostic odds ratio, Youden's J: epiR::epi.tests (epiR 2.0.57).
#  - Paired difference of two proportions: Newcombe (1998) method 10, written here from the
#    paper (corrected phi as in Altman et al. 2000 and Fagerland et al. 2017), with McNemar's
#    p from mcnemar.test(correct = FALSE).
#  - Tango (1998) score interval: the constrained maximum likelihood estimate found here
#    numerically (optimize on the multinomial log-likelihood, not Tango's closed form) and
#    the limits by uniroot.
suppressMessages({library(jsonlite); library(epiR)})
out_file <- "tests/stats/r/accuracy_reference.json"
num <- function(x) unname(as.numeric(x))

# ---- epi.tests on a grid of 2 x 2 tables (tp, fp, fn, tn)
tables <- list(c(670, 202, 74, 640), c(4, 1, 1, 4), c(25, 10, 5, 60), c(12, 3, 8, 40),
               c(50, 5, 2, 43), c(9, 7, 6, 8), c(30, 1, 3, 20), c(100, 40, 20, 240))
epi <- list()
for (method in c("exact", "wilson")) for (conf in c(0.95, 0.90)) for (t in tables) {
  dat <- as.table(matrix(t, nrow = 2, byrow = TRUE))
  res <- suppressWarnings(epi.tests(dat, method = method, conf.level = conf, digits = 4))
  det <- res$detail
  row <- function(s) { r <- det[det$statistic == s, ]; c(r$est, r$lower, r$upper) }
  epi[[length(epi) + 1]] <- list(tp = t[1], fp = t[2], fn = t[3], tn = t[4],
    method = method, confidence = conf,
    lr_positive = num(row("lr.pos")), lr_negative = num(row("lr.neg")),
    diagnostic_odds_ratio = num(row("diag.or")), youden_j = num(row("youden")))
}

# ---- Newcombe paired interval (method 10), independent implementation
wilson <- function(k, n, z) {
  p <- k / n
  c((2 * k + z^2 - z * sqrt(z^2 + 4 * k * (1 - p))) / (2 * (n + z^2)),
    (2 * k + z^2 + z * sqrt(z^2 + 4 * k * (1 - p))) / (2 * (n + z^2)))
}
newcombe10 <- function(e, f, g, h, conf) {
  z <- qnorm(1 - (1 - conf) / 2); n <- e + f + g + h
  p1 <- (e + f) / n; p2 <- (e + g) / n
  w1 <- wilson(e + f, n, z); w2 <- wilson(e + g, n, z)
  m <- (e + f) * (g + h) * (e + g) * (f + h)
  A <- e * h - f * g
  phi <- if (m == 0) 0 else if (A > n / 2) (A - n / 2) / sqrt(m) else if (A >= 0) 0 else A / sqrt(m)
  d1 <- p1 - w1[1]; u2 <- w2[2] - p2; u1 <- w1[2] - p1; d2 <- p2 - w2[1]
  D <- p1 - p2
  c(D, max(-1, D - sqrt(d1^2 - 2 * phi * d1 * u2 + u2^2)),
    min(1, D + sqrt(u1^2 - 2 * phi * u1 * d2 + d2^2)))
}
xlogy <- function(x, p) ifelse(x == 0, 0, x * log(p))
tango <- function(e, f, g, h, conf) {
  z <- qnorm(1 - (1 - conf) / 2); n <- e + f + g + h; D <- (f - g) / n
  score <- function(delta) {
    # cells only_a = q + delta, only_b = q, concordant = 1 - 2q - delta
    lo <- max(0, -delta); hi <- (1 - delta) / 2
    if (hi - lo < 1e-15) q <- lo else {
      ll <- function(q) xlogy(f, q + delta) + xlogy(g, q) + xlogy(e + h, 1 - 2 * q - delta)
      q <- optimize(ll, c(lo, hi), maximum = TRUE, tol = 1e-14)$maximum
    }
    num <- f - g - n * delta
    v <- n * (2 * q + delta * (1 - delta))
    if (num == 0) 0 else if (v <= 0) sign(num) * Inf else num / sqrt(v)
  }
  eps <- 1e-12
  L <- if (D > -1 && score(-1 + eps) > z) uniroot(function(d) score(d) - z, c(-1 + eps, D), tol = 1e-13)$root else -1
  U <- if (D < 1 && score(1 - eps) < -z) uniroot(function(d) score(d) + z, c(D, 1 - eps), tol = 1e-13)$root else 1
  c(D, L, U)
}
paired_tables <- list(c(1, 1, 7, 12), c(59, 6, 16, 80), c(12, 9, 2, 21), c(10, 0, 0, 5),
                      c(0, 3, 0, 7), c(30, 2, 9, 4), c(5, 5, 5, 5), c(40, 0, 4, 0))
paired <- list()
for (conf in c(0.95, 0.90)) for (t in paired_tables) {
  tab <- matrix(t, 2, byrow = TRUE)
  mc <- if (t[2] + t[3] > 0) mcnemar.test(tab, correct = FALSE) else NULL
  paired[[length(paired) + 1]] <- list(both = t[1], only_a = t[2], only_b = t[3],
    neither = t[4], confidence = conf, newcombe = newcombe10(t[1], t[2], t[3], t[4], conf),
    tango = tango(t[1], t[2], t[3], t[4], conf),
    mcnemar_statistic = if (is.null(mc)) 0 else num(mc$statistic),
    p_value = if (is.null(mc)) 1 else num(mc$p.value))
}

# ---- two readers on the same cases: the four counts per metric from the readings
set.seed(18)
n_cases <- 80
truth <- rbinom(n_cases, 1, 0.4)
ra <- ifelse(truth == 1, sample(2:5, n_cases, TRUE, prob = c(.1, .2, .3, .4)),
             sample(1:5, n_cases, TRUE, prob = c(.3, .3, .2, .15, .05)))
rb <- ifelse(runif(n_cases) < 0.7, ra, sample(1:5, n_cases, TRUE))
long <- rbind(data.frame(reader_id = "A", case_id = seq_len(n_cases), truth = truth, category = ra),
              data.frame(reader_id = "B", case_id = seq_len(n_cases), truth = truth, category = rb))
threshold <- 4
readers <- list()
for (metric in c("sensitivity", "specificity")) {
  pos <- if (metric == "sensitivity") 1 else 0
  ok_a <- (ra >= threshold) == (pos == 1); ok_b <- (rb >= threshold) == (pos == 1)
  s <- truth == pos
  e <- sum(ok_a[s] & ok_b[s]); f <- sum(ok_a[s] & !ok_b[s])
  g <- sum(!ok_a[s] & ok_b[s]); h <- sum(!ok_a[s] & !ok_b[s])
  mc <- mcnemar.test(matrix(c(e, f, g, h), 2, byrow = TRUE), correct = FALSE)
  readers[[metric]] <- list(both = e, only_a = f, only_b = g, neither = h,
    newcombe = newcombe10(e, f, g, h, 0.95), tango = tango(e, f, g, h, 0.95),
    p_value = num(mc$p.value))
}
acc_a <- epi.tests(as.table(matrix(c(sum(ra >= 4 & truth == 1), sum(ra >= 4 & truth == 0),
  sum(ra < 4 & truth == 1), sum(ra < 4 & truth == 0)), nrow = 2, byrow = TRUE)))$detail

write_json(list(epi_tests = epi, paired = paired, readings = long, threshold = threshold,
                readers = readers,
                reader_a_epi = lapply(c(lr_positive = "lr.pos", lr_negative = "lr.neg",
                  diagnostic_odds_ratio = "diag.or", youden_j = "youden"), function(s) {
                    r <- acc_a[acc_a$statistic == s, ]; num(c(r$est, r$lower, r$upper)) })),
           out_file, digits = NA, auto_unbox = TRUE, pretty = FALSE, na = "null")
cat("wrote", out_file, "\n")
