# Reference values for analysis/stats/agreement.py.
# Run from the repository root:  Rscript tests/stats/r/agreement_reference.R
# Writes tests/stats/r/agreement_reference.json (with the data sets).
#
# Packages: psych 2.2.9 (cohen.kappa, ICC) and vcd 1.4-11 (Kappa; Debian r-cran-vcd).
# irr, DescTools, irrCAC and raters are not packaged for Debian 12 and CRAN is not
# reachable here, so Fleiss' kappa and its standard errors are computed below directly
# from the published formulas:
#   - kappa: Fleiss (1971);
#   - null SE: Fleiss, Nee & Landis (1979), transcribed from the MATRIX code of IBM's
#     STATS FLEISS KAPPA extension for SPSS (what SPSS reports);
#   - non-null SE: Gwet (2008), with the CI of irrCAC::fleiss.kappa.raw (t quantile,
#     N - 1 df, upper limit capped at 1).
suppressMessages({library(jsonlite); library(psych); library(vcd)})
out_file <- "tests/stats/r/agreement_reference.json"
num <- function(x) unname(as.numeric(x))

# ------------------------------------------------------------------ Cohen's kappa
cohen_ref <- function(a, b, levels) {
  tab <- table(factor(a, levels = levels), factor(b, levels = levels))
  k <- length(levels)
  lin <- 1 - abs(outer(1:k, 1:k, "-")) / (k - 1)
  ck_q <- suppressWarnings(cohen.kappa(cbind(a, b), levels = levels))
  ck_l <- suppressWarnings(cohen.kappa(cbind(a, b), w = lin, levels = levels))
  v_l <- Kappa(tab, weights = "Equal-Spacing")
  v_q <- Kappa(tab, weights = "Fleiss-Cohen")
  ci_l <- confint(v_l); ci_q <- confint(v_q)
  list(
    psych = list(kappa = num(ck_q$kappa), var_kappa = num(ck_q$var.kappa),
                 ci = num(ck_q$confid[1, c(1, 3)]),
                 weighted_quadratic = num(ck_q$weighted.kappa),
                 var_weighted_quadratic = num(ck_q$var.weighted),
                 weighted_linear = num(ck_l$weighted.kappa),
                 var_weighted_linear = num(ck_l$var.weighted)),
    vcd = list(kappa = num(v_l$Unweighted[1]), ase = num(v_l$Unweighted[2]),
               ci = num(ci_l[1, ]),
               linear = num(v_l$Weighted[1]), linear_ase = num(v_l$Weighted[2]),
               linear_ci = num(ci_l[2, ]),
               quadratic = num(v_q$Weighted[1]), quadratic_ase = num(v_q$Weighted[2]),
               quadratic_ci = num(ci_q[2, ])))
}

cohen_sets <- list()
add_cohen <- function(name, long, levels, pairs, threshold) {
  res <- list()
  for (p in pairs) {
    a <- long$category[long$reader_id == p[1]]
    b <- long$category[long$reader_id == p[2]]
    ca <- long$case_id[long$reader_id == p[1]]; cb <- long$case_id[long$reader_id == p[2]]
    b <- b[match(ca, cb)]
    res[[length(res) + 1]] <- list(reader_a = p[1], reader_b = p[2], scale = "category",
                                   ref = cohen_ref(a, b, levels))
    res[[length(res) + 1]] <- list(reader_a = p[1], reader_b = p[2], scale = "binary",
                                   ref = cohen_ref(as.integer(a >= threshold),
                                                   as.integer(b >= threshold), 0:1))
  }
  cohen_sets[[length(cohen_sets) + 1]] <<- list(name = name, levels = levels,
    threshold = threshold, data = long, pairs = res)
}

# (1) BI-RADS-like, 114 cases, categories 0-6 of which 0 and 6 are never used
set.seed(5)
n <- 114
ref <- sample(2:5, n, TRUE, prob = c(.25, .2, .3, .25))
near <- ifelse(runif(n) < .6, ref, pmin(5, pmax(1, ref + sample(c(-1, 1), n, TRUE))))
noisy <- ifelse(runif(n) < .3, ref, sample(1:5, n, TRUE))
const <- rep(4, n)
long1 <- rbind(data.frame(reader_id = "R3", case_id = 1:n, category = ref),
               data.frame(reader_id = "A", case_id = 1:n, category = near),
               data.frame(reader_id = "B", case_id = 1:n, category = noisy),
               data.frame(reader_id = "C", case_id = 1:n, category = const))
add_cohen("birads_114", long1, 0:6, list(c("A", "R3"), c("B", "R3"), c("C", "R3")), 4)

# (2) 25 cases on 1-5 with a reversed (negatively agreeing) reader and unequal margins
set.seed(8)
n <- 25
x <- sample(1:5, n, TRUE, prob = c(.1, .15, .2, .25, .3))
rev <- 6 - x
part <- ifelse(runif(n) < .5, x, sample(1:5, n, TRUE))
long2 <- rbind(data.frame(reader_id = "ref", case_id = sprintf("s%02d", 1:n), category = x),
               data.frame(reader_id = "rev", case_id = sprintf("s%02d", 1:n), category = rev),
               data.frame(reader_id = "part", case_id = sprintf("s%02d", 1:n), category = part))
add_cohen("reversed_25", long2, 1:5, list(c("rev", "ref"), c("part", "ref"), c("part", "rev")), 3)

# (3) 40 cases on 0-6: an identical copy (kappa 1) and a one-step-off reader
set.seed(13)
n <- 40
x <- sample(0:6, n, TRUE)
long3 <- rbind(data.frame(reader_id = "ref", case_id = 1:n, category = x),
               data.frame(reader_id = "copy", case_id = 1:n, category = x),
               data.frame(reader_id = "shift", case_id = 1:n, category = pmin(6, x + 1)))
add_cohen("copy_40", long3, 0:6, list(c("copy", "ref"), c("shift", "ref")), 4)

# ------------------------------------------------------------------ Fleiss' kappa
fleiss_ref <- function(counts, conf = 0.95) {
  # counts: N x q matrix of the number of ratings of each case in each category
  n <- nrow(counts); m <- sum(counts[1, ])
  pj <- colSums(counts) / (n * m)
  pi <- (rowSums(counts^2) - m) / (m * (m - 1))
  pbar <- mean(pi); pe <- sum(pj^2)
  kappa <- (pbar - pe) / (1 - pe)
  # Fleiss, Nee & Landis (1979), as the SPSS extension's MATRIX code computes it
  qj <- 1 - pj
  num_ <- 2 * ((sum(pj * qj))^2 - sum(pj * qj * (qj - pj)))
  den_ <- n * m * (m - 1) * (sum(pj * qj))^2
  ase <- sqrt(num_ / den_)
  z <- kappa / ase
  crit <- sqrt(qchisq(conf, 1))
  # Gwet (2008) linearisation variance (unweighted, every case rated m times)
  ki <- (pi - pe) / (1 - pe)
  pei <- as.vector((counts / m) %*% pj)
  kstar <- ki - 2 * (1 - kappa) * (pei - pe) / (1 - pe)
  gwet_se <- sqrt(sum((kstar - kappa)^2) / (n * (n - 1)))
  list(n_cases = n, n_ratings = m, observed = pbar, expected = pe, kappa = kappa,
       se = ase, z = z, p = 1 - pchisq(z^2, 1),
       ci = c(kappa - crit * ase, kappa + crit * ase),
       gwet_se = gwet_se, gwet_ci = c(kappa - qt(.975, n - 1) * gwet_se,
                                      min(1, kappa + qt(.975, n - 1) * gwet_se)))
}

counts_of <- function(long, levels) {
  as.matrix(unclass(table(long$case_id, factor(long$category, levels = levels))))
}

fleiss_sets <- list()
add_fleiss <- function(name, long, levels, threshold) {
  entry <- list(name = name, levels = levels, threshold = threshold, data = long,
                category = fleiss_ref(counts_of(long, levels)))
  if (!is.null(threshold)) {
    lb <- long; lb$category <- as.integer(lb$category >= threshold)
    entry$binary <- fleiss_ref(counts_of(lb, 0:1))
  }
  fleiss_sets[[length(fleiss_sets) + 1]] <<- entry
}

runs_long <- function(mat) {
  data.frame(case_id = rep(seq_len(nrow(mat)), ncol(mat)),
             run = rep(seq_len(ncol(mat)), each = nrow(mat)), category = as.vector(mat))
}

# (1) three runs of a model on 114 cases, BI-RADS 0-6 (0 and 6 unused)
set.seed(21)
n <- 114
base <- sample(2:5, n, TRUE, prob = c(.2, .25, .3, .25))
runs <- sapply(1:3, function(r) ifelse(runif(n) < .65, base,
                                       pmin(5, pmax(1, base + sample(c(-1, 1), n, TRUE)))))
add_fleiss("runs_114", runs_long(runs), 0:6, 4)

# (2) four runs on 15 cases, 1-5, one case unanimous, weaker agreement
set.seed(34)
n <- 15
base <- sample(1:4, n, TRUE)
runs <- sapply(1:4, function(r) ifelse(runif(n) < .45, base, sample(1:4, n, TRUE)))
runs[1, ] <- 3
add_fleiss("runs_15x4", runs_long(runs), 1:5, 3)

# (3) three runs that disagree more than chance (negative kappa)
set.seed(55)
n <- 30
runs <- t(sapply(1:n, function(i) sample(c(2, 3, 4, sample(2:4, 1)))[1:3]))
add_fleiss("disagree_30", runs_long(runs), 0:6, 4)

# (4) the classic worked example: 10 subjects, 14 raters, 5 categories (kappa = 0.210)
wiki <- rbind(c(0, 0, 0, 0, 14), c(0, 2, 6, 4, 2), c(0, 0, 3, 5, 6), c(0, 3, 9, 2, 0),
              c(2, 2, 8, 1, 1), c(7, 7, 0, 0, 0), c(3, 2, 6, 3, 0), c(2, 5, 3, 2, 2),
              c(6, 5, 2, 1, 0), c(0, 2, 2, 3, 7))
wl <- do.call(rbind, lapply(1:10, function(i) {
  v <- rep(1:5, wiki[i, ])
  data.frame(case_id = i, run = seq_along(v), category = v)
}))
add_fleiss("fourteen_raters", wl, 1:5, NULL)

# ------------------------------------------------------------------ ICC (psych, ANOVA)
icc_sets <- list()
add_icc <- function(name, wide) {
  r <- ICC(wide, lmer = FALSE)$results
  long <- data.frame(target = rep(seq_len(nrow(wide)), ncol(wide)),
                     rater_id = rep(colnames(wide), each = nrow(wide)),
                     score = as.vector(as.matrix(wide)))
  icc_sets[[length(icc_sets) + 1]] <<- list(name = name, data = long,
    type = r$type, icc = num(r$ICC), f = num(r$F), df1 = num(r$df1), df2 = num(r$df2),
    p = num(r$p), ci_low = num(r[["lower bound"]]), ci_high = num(r[["upper bound"]]))
}
set.seed(3)
n <- 45
true <- sample(2:5, n, TRUE)
w1 <- data.frame(r1 = pmin(5, true + rbinom(n, 1, .2)), r2 = true,
                 r3 = pmax(1, true - rbinom(n, 1, .4)))
add_icc("likert_45x3", w1)
set.seed(4)
n <- 20
true <- sample(1:5, n, TRUE)
w2 <- data.frame(a = true, b = pmin(5, pmax(1, true + sample(-1:1, n, TRUE))),
                 c = sample(1:5, n, TRUE), d = pmin(5, true + 1))
add_icc("mixed_20x4", w2)
set.seed(6)
n <- 60
w3 <- data.frame(x = sample(4:5, n, TRUE, prob = c(.2, .8)))
w3$y <- ifelse(runif(n) < .8, w3$x, 9 - w3$x)
add_icc("ceiling_60x2", w3)

write_json(list(cohen = cohen_sets, fleiss = fleiss_sets, icc = icc_sets,
                r_version = R.version.string,
                packages = list(psych = as.character(packageVersion("psych")),
                                vcd = as.character(packageVersion("vcd")))),
           out_file, auto_unbox = TRUE, digits = NA, na = "null", dataframe = "columns")
cat("wrote", out_file, "\n")
