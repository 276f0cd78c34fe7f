# Reference values for analysis/stats/diagnostic.py, computed with base R.
# Run from the repository root:  Rscript tests/stats/r/diagnostic_reference.R
# Writes tests/stats/r/diagnostic_reference.json (the data sets are written with it).
suppressMessages(library(jsonlite))
out_file <- "tests/stats/r/diagnostic_reference.json"

num <- function(x) if (is.null(x) || length(x) == 0) NA else unname(as.numeric(x))

# ---- binomial intervals: binom.test (Clopper-Pearson) and prop.test(correct=FALSE) (Wilson)
grid <- data.frame(
  k = c(0, 1, 0, 2, 5, 0, 1, 28, 55, 57, 89, 113, 114, 3),
  n = c(1, 1, 5, 5, 5, 57, 57, 57, 57, 57, 114, 114, 114, 10)
)
binom <- list()
for (conf in c(0.95, 0.90)) {
  for (i in seq_len(nrow(grid))) {
    k <- grid$k[i]; n <- grid$n[i]
    bt <- binom.test(k, n, conf.level = conf)
    pt <- suppressWarnings(prop.test(k, n, correct = FALSE, conf.level = conf))
    binom[[length(binom) + 1]] <- list(k = k, n = n, confidence = conf,
      estimate = num(bt$estimate), exact = num(bt$conf.int), wilson = num(pt$conf.int))
  }
}

# ---- reader data sets: counts, metrics with exact and Wilson CIs, McNemar tests
metric_ci <- function(k, n) {
  if (n == 0) return(list(k = k, n = n, estimate = NA, exact = c(NA, NA), wilson = c(NA, NA)))
  list(k = k, n = n, estimate = k / n, exact = num(binom.test(k, n)$conf.int),
       wilson = num(suppressWarnings(prop.test(k, n, correct = FALSE))$conf.int))
}

make_readings <- function(seed, n_cases, prev) {
  set.seed(seed)
  truth <- rbinom(n_cases, 1, prev)
  case <- sprintf("c%03d", seq_len(n_cases))
  good <- ifelse(truth == 1, sample(3:6, n_cases, TRUE, prob = c(.1, .2, .3, .4)),
                 sample(1:5, n_cases, TRUE, prob = c(.2, .3, .3, .15, .05)))
  fair <- ifelse(truth == 1, sample(2:5, n_cases, TRUE), sample(1:5, n_cases, TRUE))
  random <- sample(0:6, n_cases, TRUE)
  perfect <- ifelse(truth == 1, 5, 2)
  constant <- rep(4, n_cases)      # always positive: specificity 0, NPV 0/0
  never <- rep(2, n_cases)         # never positive: sensitivity 0, PPV 0/0
  readers <- list(good = good, fair = fair, random = random, perfect = perfect,
                  constant = constant, never = never)
  long <- do.call(rbind, lapply(names(readers), function(r)
    data.frame(reader_id = r, case_id = case, truth = truth, category = readers[[r]])))
  long
}

analyse_readings <- function(long, threshold) {
  res <- list()
  for (r in sort(unique(long$reader_id))) {
    d <- long[long$reader_id == r, ]
    call <- d$category >= threshold
    tp <- sum(call & d$truth == 1); fp <- sum(call & d$truth == 0)
    tn <- sum(!call & d$truth == 0); fn <- sum(!call & d$truth == 1)
    res[[r]] <- list(tp = tp, fp = fp, tn = tn, fn = fn,
      sensitivity = metric_ci(tp, tp + fn), specificity = metric_ci(tn, tn + fp),
      accuracy = metric_ci(tp + tn, nrow(d)), ppv = metric_ci(tp, tp + fp),
      npv = metric_ci(tn, tn + fn))
  }
  res
}

mcnemar_pair <- function(long, a, b, threshold) {
  da <- long[long$reader_id == a, ]; db <- long[long$reader_id == b, ]
  db <- db[match(da$case_id, db$case_id), ]
  res <- list()
  for (metric in c("sensitivity", "specificity")) {
    keep <- if (metric == "sensitivity") da$truth == 1 else da$truth == 0
    ca <- if (metric == "sensitivity") da$category >= threshold else da$category < threshold
    cb <- if (metric == "sensitivity") db$category >= threshold else db$category < threshold
    ca <- ca[keep]; cb <- cb[keep]
    tab <- table(factor(ca, levels = c(TRUE, FALSE)), factor(cb, levels = c(TRUE, FALSE)))
    bb <- tab[1, 2]; cc <- tab[2, 1]
    m1 <- suppressWarnings(mcnemar.test(tab, correct = TRUE))
    m0 <- suppressWarnings(mcnemar.test(tab, correct = FALSE))
    pe <- if (bb + cc > 0) binom.test(bb, bb + cc)$p.value else NA
    res[[metric]] <- list(b = bb, c = cc, statistic_corrected = num(m1$statistic),
      p_corrected = num(m1$p.value), statistic = num(m0$statistic), p = num(m0$p.value),
      p_exact = num(pe))
  }
  res
}

readings <- list()
specs <- list(list(seed = 11, n = 114, prev = 0.5), list(seed = 23, n = 60, prev = 0.3),
              list(seed = 37, n = 25, prev = 0.6))
pairs <- list(c("good", "fair"), c("good", "random"), c("perfect", "constant"),
              c("fair", "never"), c("perfect", "good"))
for (s in specs) {
  long <- make_readings(s$seed, s$n, s$prev)
  for (threshold in c(4, 3)) {
    mc <- lapply(pairs, function(p) c(list(reader_a = p[1], reader_b = p[2]),
                                      mcnemar_pair(long, p[1], p[2], threshold)))
    readings[[length(readings) + 1]] <- list(
      name = sprintf("seed%d_n%d_t%d", s$seed, s$n, threshold), threshold = threshold,
      data = long, readers = analyse_readings(long, threshold), mcnemar = mc)
  }
}

# ---- attribute by truth: chisq.test, fisher.test, glm + LRT + confint.default
expand_table <- function(tab, levels) {
  # tab: 2 x L counts, row 1 = positive (truth 1), row 2 = negative (truth 0)
  truth <- c(rep(1, sum(tab[1, ])), rep(0, sum(tab[2, ])))
  level <- c(rep(levels, tab[1, ]), rep(levels, tab[2, ]))
  data.frame(case_id = sprintf("k%04d", seq_along(truth)), truth = truth, level = level)
}

attribute_case <- function(name, tab, levels) {
  d <- expand_table(tab, levels)
  d$level <- factor(d$level, levels = levels)
  x <- table(factor(d$truth, levels = c(1, 0)), d$level)
  chi0 <- suppressWarnings(chisq.test(x, correct = FALSE))
  chi1 <- suppressWarnings(chisq.test(x, correct = TRUE))
  fis <- fisher.test(x)
  fit <- glm(truth ~ level, family = binomial, data = d,
             control = glm.control(epsilon = 1e-14, maxit = 100))
  lrt <- anova(fit, test = "LRT")
  co <- summary(fit)$coefficients
  ci <- confint.default(fit)
  lv <- levels[-1]
  list(name = name, levels = levels, data = list(case_id = d$case_id, truth = d$truth,
       level = as.character(d$level)),
       expected = unname(chi0$expected),
       chisq = list(statistic = num(chi0$statistic), df = num(chi0$parameter), p = num(chi0$p.value)),
       chisq_corrected = list(statistic = num(chi1$statistic), df = num(chi1$parameter),
                              p = num(chi1$p.value)),
       fisher_p = num(fis$p.value),
       lr = list(statistic = num(lrt[2, "Deviance"]), df = num(lrt[2, "Df"]),
                 p = num(lrt[2, "Pr(>Chi)"])),
       odds_ratio = list(level = I(lv), estimate = I(num(exp(co[-1, 1]))),
                         ci_low = I(num(exp(ci[-1, 1]))), ci_high = I(num(exp(ci[-1, 2]))),
                         p = I(num(co[-1, 4]))))
}

attributes <- list(
  # the three MRI features of Table 3 of the worked example (counts by truth)
  attribute_case("table3_distribution", rbind(c(27, 5, 63, 19, 8, 5), c(30, 5, 38, 12, 19, 2)),
                 c("Focal", "Linear", "Segmental", "Regional", "Multiple regions", "Diffuse")),
  attribute_case("table3_enhancement", rbind(c(8, 66, 36, 17), c(7, 45, 13, 41)),
                 c("Homogeneous", "Heterogeneous", "Clumped", "Clustered ring")),
  attribute_case("table3_tic", rbind(c(9, 45, 73), c(45, 36, 25)),
                 c("Persistent", "Plateau", "Washout")),
  attribute_case("two_levels", rbind(c(12, 30), c(20, 18)), c("no", "yes")),
  attribute_case("small_counts", rbind(c(3, 1, 4), c(1, 5, 2)), c("a", "b", "c"))
)

write_json(list(binom = binom, readings = readings, attributes = attributes,
                r_version = R.version.string),
           out_file, auto_unbox = TRUE, digits = NA, na = "null", dataframe = "columns")
cat("wrote", out_file, "\n")
