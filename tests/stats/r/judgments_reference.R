# Reference values for analysis/stats/judgments.py, computed with base R and irr.
# Run from the repository root:  R_LIBS_USER=/root/R/library Rscript tests/stats/r/judgments_reference.R
# Writes the data sets tests/stats/data/judgments_{preferences,acceptability,errors}.csv and
# tests/stats/r/judgments_reference.json.
suppressMessages(library(jsonlite))
suppressMessages(library(irr))
out_file <- "tests/stats/r/judgments_reference.json"
num <- function(x) if (is.null(x) || length(x) == 0) NA else unname(as.numeric(x))

# ---- pairwise preferences: 6 raters x 40 cases x 3 pairs, rater and case effects
set.seed(14)
raters <- sprintf("r%d", 1:6); cases <- sprintf("c%02d", 1:40)
pairs <- list(c("m1", "reference", 0.3), c("m2", "reference", -0.4), c("m1", "m2", 0.6))
rows <- list()
r_eff <- rnorm(6, 0, 0.7); c_eff <- rnorm(40, 0, 0.7)
for (pp in pairs) for (i in 1:6) for (j in 1:40) {
  eta <- as.numeric(pp[3]) + r_eff[i] + c_eff[j]
  p_a <- plogis(eta - 0.6); p_b <- 1 - plogis(eta + 0.6)
  u <- runif(1)
  ch <- if (u < p_a) "a" else if (u < p_a + p_b) "b" else "tie"
  left <- if (runif(1) < 0.5) "a" else "b"
  # a little position bias: a left-shown loser is sometimes chosen
  if (ch != "tie" && ch != left && runif(1) < 0.1) ch <- left
  rows[[length(rows) + 1]] <- data.frame(rater_id = raters[i], case_id = cases[j],
    reader = pp[1], comparator = pp[2], choice = ch, left = left)
}
pref <- do.call(rbind, rows)
pref$left[seq(5, nrow(pref), by = 37)] <- NA   # side not recorded for some rows
write.csv(pref, "tests/stats/data/judgments_preferences.csv", row.names = FALSE, na = "")

preference <- list()
for (pp in pairs) {
  d <- pref[pref$reader == pp[1] & pref$comparator == pp[2], ]
  w <- sum(d$choice == "a"); t <- sum(d$choice == "tie"); l <- sum(d$choice == "b"); n <- nrow(d)
  nt <- d[d$choice != "tie" & !is.na(d$left), ]
  k_left <- sum(nt$choice == nt$left)
  res <- list(reader = pp[1], comparator = pp[2], n = n, wins = w, ties = t, losses = l)
  for (conf in c(0.95, 0.90)) {
    pt <- prop.test(w + t, n, correct = FALSE, conf.level = conf)
    res[[sprintf("wilson_%s", conf)]] <- num(pt$conf.int)
  }
  res$estimate <- (w + t) / n
  res$sign_test_p <- binom.test(w, w + l)$p.value
  res$left_n <- nrow(nt); res$left_chosen <- k_left / nrow(nt)
  res$left_bias_p <- binom.test(k_left, nrow(nt))$p.value
  preference[[length(preference) + 1]] <- res
}

# published counts: MIRA "at least as good" 1,657 of 2,400 (Wilson CI, prop.test)
mira <- list(k = 1657, n = 2400,
  wilson = num(prop.test(1657, 2400, correct = FALSE)$conf.int))

# ---- Bradley-Terry, ties split half: glm(binomial) on the +1/-1 design matrix
sources <- c("m1", "m2", "reference")
agg <- aggregate(cbind(y = ifelse(pref$choice == "a", 1, ifelse(pref$choice == "tie", 0.5, 0)),
                       n = 1) ~ reader + comparator, data = pref, FUN = sum)
bt <- list()
for (ref in c("reference", "m1")) {
  free <- setdiff(sources, ref)
  X <- sapply(free, function(s) (agg$reader == s) - (agg$comparator == s))
  fit <- suppressWarnings(glm(cbind(agg$y, agg$n - agg$y) ~ X - 1, family = binomial))
  co <- summary(fit)$coefficients
  ci <- cbind(co[, 1] - qnorm(0.975) * co[, 2], co[, 1] + qnorm(0.975) * co[, 2])
  bt[[ref]] <- list(reference = ref, source = free, estimate = num(co[, 1]), se = num(co[, 2]),
                    ci_low = num(ci[, 1]), ci_high = num(ci[, 2]), p_value = num(co[, 4]))
}

# ---- acceptability: 4 raters x 30 cases x {m1, reference}
scale <- c("acceptable without changes", "acceptable with minor edits", "major edits needed",
           "unacceptable")
set.seed(41)
acc_rows <- list(); q_case <- rnorm(30, 0, 0.8)
for (src in c("m1", "reference")) for (i in 1:4) for (j in 1:30) {
  mu <- (if (src == "m1") 2.3 else 1.9) + q_case[j] + rnorm(1, 0, 0.3 * i)
  g <- min(4, max(1, round(mu + rnorm(1, 0, 0.6))))
  acc_rows[[length(acc_rows) + 1]] <- data.frame(rater_id = sprintf("r%d", i),
    case_id = sprintf("c%02d", j), reader_id = src, grade = scale[g])
}
acc <- do.call(rbind, acc_rows)
acc <- acc[!(acc$reader_id == "m1" & acc$case_id == "c30"), ]   # one unshared case
write.csv(acc, "tests/stats/data/judgments_acceptability.csv", row.names = FALSE)

acc$ok <- match(acc$grade, scale) <= 2
acceptability <- list()
for (src in c("m1", "reference")) {
  d <- acc[acc$reader_id == src, ]
  acceptability[[src]] <- list(reader = src, n = nrow(d), acceptable = sum(d$ok),
    rate = mean(d$ok), exact_0.95 = num(binom.test(sum(d$ok), nrow(d))$conf.int),
    exact_0.9 = num(binom.test(sum(d$ok), nrow(d), conf.level = 0.9)$conf.int))
}

wilson <- function(k, n, conf) {
  z <- qnorm(1 - (1 - conf) / 2); p <- k / n
  c((2 * n * p + z^2 - z * sqrt(z^2 + 4 * n * p * (1 - p))) / (2 * (n + z^2)),
    (2 * n * p + z^2 + z * sqrt(z^2 + 4 * n * p * (1 - p))) / (2 * (n + z^2)))
}
newcombe <- function(a, b, c, d, conf = 0.95) {   # Newcombe (1998) method 10
  n <- a + b + c + d; p1 <- (a + b) / n; p2 <- (a + c) / n
  w1 <- wilson(a + b, n, conf); w2 <- wilson(a + c, n, conf)
  den <- (a + b) * (c + d) * (a + c) * (b + d)
  nm <- a * d - b * c; if (nm > 0) nm <- max(nm - n / 2, 0)
  phi <- if (den == 0) 0 else nm / sqrt(den)
  dd <- (b - c) / n
  dl1 <- p1 - w1[1]; du1 <- w1[2] - p1; dl2 <- p2 - w2[1]; du2 <- w2[2] - p2
  c(dd, dd - sqrt(dl1^2 - 2 * phi * dl1 * du2 + du2^2), dd + sqrt(dl2^2 - 2 * phi * dl2 * du1 + du1^2))
}
shared <- intersect(acc$case_id[acc$reader_id == "m1"], acc$case_id[acc$reader_id == "reference"])
sh <- acc[acc$case_id %in% shared, ]
share <- tapply(sh$ok, list(sh$case_id, sh$reader_id), mean)
tied <- apply(share == 0.5, 1, any)
maj <- share[!tied, ] > 0.5
tab <- table(factor(maj[, "m1"], c(TRUE, FALSE)), factor(maj[, "reference"], c(TRUE, FALSE)))
a <- tab[1, 1]; b <- tab[1, 2]; c <- tab[2, 1]; d <- tab[2, 2]
mc <- mcnemar.test(tab)
paired <- list(n = sum(tab), n_no_majority = sum(tied), a = a, b = b, c = c, d = d,
  rate_m1 = mean(sh$ok[sh$reader_id == "m1"]), rate_reference = mean(sh$ok[sh$reader_id == "reference"]),
  newcombe_0.95 = newcombe(a, b, c, d, 0.95), newcombe_0.9 = newcombe(a, b, c, d, 0.90),
  mcnemar_statistic = num(mc$statistic), mcnemar_p = mc$p.value,
  exact_p = binom.test(b, b + c)$p.value)
newcombe_grid <- lapply(list(c(1, 1, 7, 12), c(36, 12, 2, 0), c(10, 0, 0, 5), c(2, 8, 1, 4),
                             c(0, 3, 0, 0), c(20, 5, 5, 20)),
                        function(t) list(table = t, ci = newcombe(t[1], t[2], t[3], t[4])))

# ---- error annotation: 3 raters x 20 cases x {m1, m2}
set.seed(7)
cats <- c("false finding", "missed finding", "wrong location", "wrong severity or category",
          "wrong comparison", "other")
err_rows <- list()
for (src in c("m1", "m2")) for (i in 1:3) for (j in 1:20) {
  k <- rpois(1, if (src == "m1") 0.5 else 1.1)
  if (k == 0) {
    err_rows[[length(err_rows) + 1]] <- data.frame(rater_id = sprintf("r%d", i),
      case_id = sprintf("c%02d", j), reader_id = src, category = "none", significant = NA)
  } else {
    err_rows[[length(err_rows) + 1]] <- data.frame(rater_id = sprintf("r%d", i),
      case_id = sprintf("c%02d", j), reader_id = src, category = sample(cats, k, TRUE),
      significant = rbinom(k, 1, 0.4))
  }
}
err <- do.call(rbind, err_rows)
write.csv(err, "tests/stats/data/judgments_errors.csv", row.names = FALSE, na = "")
errors <- list()
for (src in c("m1", "m2")) {
  d <- err[err$reader_id == src, ]
  rep_err <- tapply(d$category != "none", paste(d$rater_id, d$case_id), any)
  e <- d[d$category != "none", ]
  bc <- table(e$category)
  errors[[src]] <- list(reader = src, n_reports = length(rep_err), reports_with_error = sum(rep_err),
    exact = num(binom.test(sum(rep_err), length(rep_err))$conf.int),
    errors_per_report = nrow(e) / length(rep_err),
    significant_per_report = sum(e$significant) / length(rep_err),
    by_category = as.list(setNames(as.integer(bc), names(bc))))
}

# ---- Krippendorff's alpha of each instrument (irr::kripp.alpha, raters x units)
pref$unit <- paste(pref$case_id, pref$reader, pref$comparator)
pref$v <- c(b = 0, tie = 1, a = 2)[pref$choice]
m_pref <- tapply(pref$v, list(pref$rater_id, pref$unit), function(x) x[1])
acc$unit <- paste(acc$case_id, acc$reader_id)
m_acc <- tapply(match(acc$grade, scale) - 1, list(acc$rater_id, acc$unit), function(x) x[1])
err$unit <- paste(err$case_id, err$reader_id)
m_err <- tapply(as.numeric(err$category != "none"), list(err$rater_id, err$unit), max)
# irr divides the coincidences by m_u - 1 only when the matrix has a missing value (else by
# 1, which is wrong for more than two raters); an all-missing unit forces the general path
# and is not pairable, so it changes nothing else.
na_unit <- function(m) cbind(m, NA)
agreement <- list(
  preference = kripp.alpha(na_unit(m_pref), "ordinal")$value,
  acceptability = kripp.alpha(na_unit(m_acc), "ordinal")$value,
  errors = kripp.alpha(na_unit(m_err), "nominal")$value,
  irr_complete_matrix = list(preference = kripp.alpha(m_pref, "ordinal")$value))

# ---- two-way (pigeonhole) cluster bootstrap of "at least as good", m1 vs reference: an
# independent implementation of the same resampling scheme (Owen 2007). R's random numbers
# differ from numpy's, so the test compares quantiles of many resamples within Monte Carlo
# error, not digit for digit.
set.seed(2007)
d <- pref[pref$reader == "m1" & pref$comparator == "reference", ]
ok <- as.numeric(d$choice != "b")
ri <- match(d$rater_id, unique(d$rater_id)); ci_ <- match(d$case_id, unique(d$case_id))
nr <- max(ri); nc_ <- max(ci_)
B <- 20000
boot <- replicate(B, {
  rm <- tabulate(sample.int(nr, nr, TRUE), nr); cm <- tabulate(sample.int(nc_, nc_, TRUE), nc_)
  w <- rm[ri] * cm[ci_]
  sum(w * ok) / sum(w)
})
pigeonhole <- list(reader = "m1", comparator = "reference", n_boot = B, sd = sd(boot),
  q_0.95 = num(quantile(boot, c(0.025, 0.975), type = 7)),
  q_0.9 = num(quantile(boot, c(0.05, 0.95), type = 7)))

writeLines(toJSON(list(mira = mira, pigeonhole = pigeonhole, preference = preference, bradley_terry = bt, acceptability = acceptability,
                       paired = paired, newcombe_grid = newcombe_grid, errors = errors,
                       agreement = agreement),
                  auto_unbox = TRUE, digits = NA, pretty = TRUE, na = "null"), out_file)
cat("wrote", out_file, "\n")
