# Reference values for analysis/stats/sample_size.py.
# Run from the repository root:
#   R_LIBS_USER=/root/R/library Rscript tests/stats/r/sample_size_reference.R
# Writes tests/stats/r/sample_size_reference.json.
suppressMessages({library(jsonlite); library(pROC); library(epiR); library(irr)})
out_file <- "tests/stats/r/sample_size_reference.json"
z2 <- function(conf) qnorm(1 - (1 - conf) / 2)
# 1. single AUC precision: Hanley-McNeil (1982) variance, upward search in R;
#    Obuchowski binormal variance from pROC's internal var.params.obuchowski
hm_var <- function(th, na, nn) {
  q1 <- th / (2 - th); q2 <- 2 * th^2 / (1 + th)
  (th * (1 - th) + (na - 1) * (q1 - th^2) + (nn - 1) * (q2 - th^2)) / (na * nn)
}
auc_sets <- expand.grid(auc = c(0.7, 0.8, 0.9, 0.95), half_width = c(0.05, 0.1),
                        ratio = c(1, 2), conf = c(0.95, 0.9))
auc_rows <- lapply(seq_len(nrow(auc_sets)), function(i) {
  s <- auc_sets[i, ]; z <- z2(s$conf)
  na <- 1
  repeat { nn <- max(ceiling(s$ratio * na - 1e-9), 1)
    if (z * sqrt(hm_var(s$auc, na, nn)) <= s$half_width) break; na <- na + 1 }
  A <- qnorm(s$auc) * sqrt(2)
  v <- pROC:::var.params.obuchowski(A, 1, s$ratio)
  list(auc = s$auc, half_width = s$half_width, ratio = s$ratio, confidence = s$conf,
       hm_n_positive = na, hm_n_negative = nn,
       ob_n_positive = ceiling(z^2 * v / s$half_width^2), ob_var = v)
})
# 2. Buderer via epiR::epi.ssdxsesp
bud_sets <- expand.grid(expected = c(0.7, 0.85, 0.9, 0.95), half_width = c(0.03, 0.05, 0.1),
                        prevalence = c(0.05, 0.2, 0.5), type = c("se", "sp"),
                        stringsAsFactors = FALSE)
bud_rows <- lapply(seq_len(nrow(bud_sets)), function(i) {
  s <- bud_sets[i, ]
  n <- epi.ssdxsesp(test = s$expected, type = s$type, Py = s$prevalence,
                    epsilon = s$half_width, error = "absolute", nfractional = FALSE,
                    conf.level = 0.95)
  list(expected = s$expected, half_width = s$half_width, prevalence = s$prevalence,
       measure = ifelse(s$type == "se", "sensitivity", "specificity"), n_total = n)
})
# 3. two correlated AUCs via pROC::power.roc.test (Obuchowski & McClish 1997)
two_sets <- list(
  list(auc1 = 0.8, auc2 = 0.9, rp = 0.5, rn = 0.5, ratio = 1, b1 = 1, b2 = 1),
  list(auc1 = 0.75, auc2 = 0.85, rp = 0.3, rn = 0.6, ratio = 2, b1 = 1, b2 = 1),
  list(auc1 = 0.85, auc2 = 0.8, rp = 0.6, rn = 0.4, ratio = 1.5, b1 = 0.8, b2 = 1.2),
  list(auc1 = 0.7, auc2 = 0.8, rp = 0, rn = 0, ratio = 1, b1 = 1, b2 = 1)
)
two_rows <- lapply(two_sets, function(s) {
  A1 <- qnorm(s$auc1) * sqrt(1 + s$b1^2); A2 <- qnorm(s$auc2) * sqrt(1 + s$b2^2)
  pars <- list(A1 = A1, B1 = s$b1, A2 = A2, B2 = s$b2, rn = s$rn, ra = s$rp,
               delta = s$auc2 - s$auc1)
  r <- power.roc.test(pars, power = 0.8, sig.level = 0.05, kappa = s$ratio)
  r1 <- power.roc.test(pars, power = 0.9, sig.level = 0.05, kappa = s$ratio,
                       alternative = "one.sided")
  c(s, list(n_positive_exact = r$ncases, n_positive_exact_one_sided_90 = r1$ncases))
})
# 4. kappa: irr::N.cohen.kappa (Cantor 1996)
kap_sets <- list(c(0.5, 0.5, 0.8, 0.6), c(0.3, 0.4, 0.7, 0.4), c(0.2, 0.25, 0.6, 0.4),
                 c(0.6, 0.55, 0.85, 0.7), c(0.4, 0.4, 0.5, 0.2))
kap_rows <- lapply(kap_sets, function(s) {
  list(rate1 = s[1], rate2 = s[2], kappa1 = s[3], kappa0 = s[4],
       n_one_sided = N.cohen.kappa(s[1], s[2], s[3], s[4]),
       n_two_sided_90 = N.cohen.kappa(s[1], s[2], s[3], s[4], power = 0.9, twosided = TRUE))
})
# 5. non-inferiority of one proportion: base-R exact binomial search and normal formula
ni_sets <- list(c(0.9, 0.9, 0.1), c(0.85, 0.85, 0.05), c(0.95, 0.9, 0.05), c(0.8, 0.8, 0.1),
                c(0.7, 0.75, 0.15))
ni_rows <- lapply(ni_sets, function(s) {
  p1 <- s[1]; pl <- s[2] - s[3]; alpha <- 0.025; pw <- 0.8
  n <- 0
  repeat { n <- n + 1
    cs <- 0:(n + 1); ok <- cs[pbinom(cs - 1, n, pl, lower.tail = FALSE) <= alpha]
    if (length(ok)) { c0 <- min(ok); p <- pbinom(c0 - 1, n, p1, lower.tail = FALSE)
      if (p >= pw) break } }
  za <- qnorm(1 - alpha); zb <- qnorm(pw)
  nn <- ceiling((za * sqrt(pl * (1 - pl)) + zb * sqrt(p1 * (1 - p1)))^2 / (p1 - pl)^2)
  list(expected = p1, reference = s[2], margin = s[3], exact_n = n, exact_c = c0,
       exact_power = p, normal_n = nn)
})
write_json(list(auc_precision = auc_rows, buderer = bud_rows, two_auc = two_rows,
                kappa = kap_rows, noninferiority = ni_rows, r_version = R.version.string,
                packages = list(pROC = as.character(packageVersion("pROC")),
                                epiR = as.character(packageVersion("epiR")),
                                irr = as.character(packageVersion("irr")))),
           out_file, auto_unbox = TRUE, digits = NA)
cat("wrote", out_file, "\n")
