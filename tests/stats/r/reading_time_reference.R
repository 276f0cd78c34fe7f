# Reading time by reader and condition: median and IQR (quantile type 7), the effect of the
# aid from the linear mixed model log(t) ~ condition + (1|reader) + (1|case) fitted by REML
# (lme4; Wald CI and p of the coefficient, as statsmodels reports it), and the paired
# Wilcoxon signed-rank test per reader (wilcox.test(aided, unaided, paired = TRUE)).
# Data: seeded, 5 readers x 30 cases x 2 conditions (plus an incomplete reader, R6, who read
# 20 cases aided only); log-normal times with reader and case effects.
# Run from the repository root (R 4.2.2, lme4, jsonlite):
#   R_LIBS_USER=/root/R/library Rscript tests/stats/r/reading_time_reference.R
# Writes tests/stats/r/reading_time.csv and tests/stats/r/reading_time_reference.json.
suppressMessages({library(jsonlite); library(lme4)})
RNGkind("Mersenne-Twister", "Inversion", "Rejection")
set.seed(170017)
readers <- paste0("R", 1:5); cases <- 1:30
u_r <- rnorm(5, sd = 0.3); u_c <- rnorm(30, sd = 0.4)
rows <- list()
for (j in 1:5) for (m in 1:2) {
  t <- exp(4 + u_r[j] + u_c - 0.25 * (m == 2) + rnorm(30, sd = 0.35))
  rows[[length(rows) + 1]] <- data.frame(reader_id = readers[j], case_id = cases,
                                         modality = m, seconds = round(t, 1))
}
rows[[length(rows) + 1]] <- data.frame(reader_id = "R6", case_id = 1:20, modality = 2,
                                       seconds = round(exp(4 + u_c[1:20] + rnorm(20, sd = 0.35)), 1))
d <- do.call(rbind, rows)
write.csv(d, "tests/stats/r/reading_time.csv", row.names = FALSE)

summ <- list()
for (key in unique(paste(d$reader_id, d$modality))) {
  s <- d[paste(d$reader_id, d$modality) == key, ]
  q <- quantile(s$seconds, c(0.25, 0.5, 0.75), type = 7)
  summ[[length(summ) + 1]] <- list(reader = s$reader_id[1], modality = s$modality[1],
                                   n = nrow(s), q1 = unname(q[1]), median = unname(q[2]),
                                   q3 = unname(q[3]))
}
d$aided <- as.numeric(d$modality == 2)
fit <- lmer(log(seconds) ~ aided + (1 | reader_id) + (1 | case_id), data = d, REML = TRUE)
b <- unname(fixef(fit)["aided"]); se <- unname(sqrt(diag(vcov(fit)))[2])
vc <- as.data.frame(VarCorr(fit))
model <- list(beta = b, se = se, ratio = exp(b), ci = exp(b + c(-1, 1) * qnorm(0.975) * se),
              p = 2 * pnorm(-abs(b / se)),
              var_reader = vc$vcov[vc$grp == "reader_id"], var_case = vc$vcov[vc$grp == "case_id"],
              var_residual = vc$vcov[vc$grp == "Residual"], n = nrow(d))
wil <- list()
for (r in readers) {
  a <- d[d$reader_id == r & d$modality == 1, ]; b2 <- d[d$reader_id == r & d$modality == 2, ]
  b2 <- b2[match(a$case_id, b2$case_id), ]
  w <- suppressWarnings(wilcox.test(b2$seconds, a$seconds, paired = TRUE))
  wil[[length(wil) + 1]] <- list(reader = r, n = nrow(a), V = unname(w$statistic), p = w$p.value,
                                 median_diff = median(b2$seconds - a$seconds))
}
# a reader with tied differences and a zero: the normal approximation with continuity
# correction (R's choice when there are ties or zeros)
x <- c(10, 12, 15, 15, 20, 22, 30, 31); y <- c(12, 12, 13, 17, 18, 18, 33, 35)
wt <- suppressWarnings(wilcox.test(y, x, paired = TRUE))
ties <- list(unaided = x, aided = y, V = unname(wt$statistic), p = wt$p.value)
res <- list(versions = list(R = R.version.string, lme4 = as.character(packageVersion("lme4"))),
            summary = summ, model = model, wilcoxon = wil, ties = ties)
write(toJSON(res, auto_unbox = TRUE, digits = NA, pretty = TRUE),
      "tests/stats/r/reading_time_reference.json")
