# Reference values for analysis/stats/judge.py (an LLM judge against the human panel, issue 21).
# Run from the repository root:
#   R_LIBS_USER=/root/R/library Rscript tests/stats/r/judge_reference.R
# Writes the data sets tests/stats/data/judge_{scores,pairwise,runs}.csv and
# tests/stats/r/judge_reference.json.
#
# Scripted judges on a synthetic study (3 humans, 4 sources, 30 cases, 2 domains):
#   faithful  - scores like a fourth human (same latent quality, its own noise);
#   biased    - the faithful judge's score + 1 (capped at 5);
#   position  - pairwise: picks the option shown first 75 % of the time, else the better one.
#
# Packages: irr 0.84.1 (kappa2, kripp.alpha), psych (ICC), vcd (Kappa: ASE on a fixed
# category grid), dunn.test, base R (binom.test, prop.test, cor.test, Bland-Altman formulas).
# irr::kripp.alpha is wrong on complete data with > 2 raters (docs/statistics.md): the
# 3-run self-consistency alpha is taken with one extra unit that only one run scored.
suppressMessages({
  library(jsonlite); library(irr); library(psych); library(vcd); library(dunn.test)
})
out_file <- "tests/stats/r/judge_reference.json"
num <- function(x) unname(as.numeric(x))

# ------------------------------------------------------------------ data
set.seed(21)
humans <- c("h1", "h2", "h3")
sources <- c("s1", "s2", "s3", "s4")
src_eff <- c(s1 = 0.9, s2 = 0.1, s3 = -0.9, s4 = 0.0)
domains <- c("accuracy", "clarity")
cases <- sprintf("c%02d", 1:30)
clip <- function(x) pmin(5, pmax(1, x))
rows <- list()
for (d in domains) {
  case_eff <- rnorm(length(cases), 0, 0.8)
  for (j in seq_along(cases)) for (s in sources) {
    q <- 2.7 + case_eff[j] + src_eff[[s]]
    for (h in humans) {
      rows[[length(rows) + 1]] <- data.frame(rater_id = h, kind = "human", case_id = cases[j],
        reader_id = s, domain = d, score = clip(round(q + rnorm(1, 0, 0.55))))
    }
    faithful <- clip(round(q + rnorm(1, 0, 0.55)))
    rows[[length(rows) + 1]] <- data.frame(rater_id = "faithful", kind = "model",
      case_id = cases[j], reader_id = s, domain = d, score = faithful)
    rows[[length(rows) + 1]] <- data.frame(rater_id = "biased", kind = "model",
      case_id = cases[j], reader_id = s, domain = d, score = clip(faithful + 1))
  }
}
scores <- do.call(rbind, rows)
write.csv(scores, "tests/stats/data/judge_scores.csv", row.names = FALSE)

# pairwise judgments, each pair asked in both orders (a = reader, b = comparator)
prows <- list()
pairs <- list(c("s1", "s2"), c("s1", "s3"), c("s2", "s4"))
for (pp in pairs) for (j in seq_along(cases)) {
  diff <- src_eff[[pp[1]]] - src_eff[[pp[2]]] + rnorm(1, 0, 0.6)
  truth <- if (diff > 0.25) "a" else if (diff < -0.25) "b" else "tie"
  for (judge in c("faithful", "position")) for (ord in c("ab", "ba")) {
    choice <- truth
    if (judge == "faithful" && runif(1) < 0.1) choice <- sample(c("a", "b", "tie"), 1)
    if (judge == "position" && runif(1) < 0.75) choice <- if (ord == "ab") "a" else "b"
    prows[[length(prows) + 1]] <- data.frame(rater_id = judge, case_id = cases[j],
      reader = pp[1], comparator = pp[2], order = ord, choice = choice)
  }
}
pairwise <- do.call(rbind, prows)
write.csv(pairwise, "tests/stats/data/judge_pairwise.csv", row.names = FALSE)

# three runs of the faithful judge: run 1 is its score, runs 2 and 3 re-draw 20 % of them
base <- scores[scores$rater_id == "faithful", ]
rrows <- list()
for (r in 1:3) {
  sc <- base$score
  if (r > 1) {
    redo <- runif(length(sc)) < 0.2
    sc[redo] <- clip(sc[redo] + sample(c(-1, 1), sum(redo), replace = TRUE))
  }
  rrows[[r]] <- data.frame(rater_id = "faithful", case_id = base$case_id,
    reader_id = base$reader_id, domain = base$domain, run = r, score = sc)
}
runs <- do.call(rbind, rrows)
write.csv(runs, "tests/stats/data/judge_runs.csv", row.names = FALSE)

# ------------------------------------------------------------------ helpers
grid <- seq(1, 5, by = 0.5)
vcd_kappa <- function(x, y) {
  tab <- table(factor(x, levels = grid), factor(y, levels = grid))
  k <- Kappa(tab, weights = "Fleiss-Cohen")$Weighted
  num(c(k[["value"]], k[["ASE"]]))
}
wide_of <- function(sub, id) {
  w <- sub[sub$rater_id == id, ]
  w[order(w$case_id, w$reader_id), "score"]
}
bland_altman <- function(d, cluster, conf = 0.95) {
  n <- length(d); m <- mean(d); s <- sd(d); z <- qnorm(0.975)
  se_naive <- s / sqrt(n)
  tot <- tapply(d, cluster, sum); cnt <- tapply(d, cluster, length); C <- length(tot)
  se_cl <- sqrt(C / (C - 1) * sum((tot - cnt * m)^2)) / n
  out <- list(n = n, n_clusters = C, mean = m, sd = s, loa_low = m - z * s, loa_high = m + z * s)
  for (kind in c("naive", "cluster")) {
    se <- if (kind == "naive") se_naive else se_cl
    dfree <- if (kind == "naive") n - 1 else C - 1
    tq <- qt(0.5 + conf / 2, dfree)
    se_loa <- sqrt(se^2 + z^2 * s^2 / (2 * (n - 1)))
    out[[kind]] <- list(
      se = se, df = dfree,
      mean_ci = c(m - tq * se, m + tq * se),
      p_value = 2 * pt(-abs(m / se), dfree),
      loa_low_ci = c(m - z * s - tq * se_loa, m - z * s + tq * se_loa),
      loa_high_ci = c(m + z * s - tq * se_loa, m + z * s + tq * se_loa))
  }
  # base R check of the naive mean-difference CI
  out$t_test_ci <- num(t.test(d, conf.level = conf)$conf.int)
  out
}

# ------------------------------------------------------------------ agreement with the panel
agreement <- list()
within <- list()
for (d in domains) {
  sub <- scores[scores$domain == d, ]
  H <- sapply(humans, function(h) wide_of(sub, h))
  key <- sub[sub$rater_id == "h1", ]; key <- key[order(key$case_id, key$reader_id), ]
  panel <- apply(H, 1, median)
  for (judge in c("faithful", "biased")) {
    J <- wide_of(sub, judge)
    for (against in c(humans, "panel")) {
      y <- if (against == "panel") panel else H[, against]
      ka <- kappa2(cbind(J, y), weight = "squared")
      vk <- vcd_kappa(J, y)
      al <- kripp.alpha(rbind(J, y), method = "ordinal")$value
      ic <- ICC(cbind(J, y), lmer = FALSE)$results
      ic2 <- ic[ic$type == "ICC2", ]
      ic95 <- icc(cbind(J, y), model = "twoway", type = "agreement", unit = "single")
      res <- list(domain = d, judge = judge, against = against, n = length(J),
        kappa = ka$value, kappa_vcd = vk[1], kappa_ase = vk[2],
        kappa_ci = vk[1] + c(-1, 1) * qnorm(0.975) * vk[2],
        alpha = al, icc2 = ic2$ICC, icc2_p = ic2$p, icc2_ci = c(ic2$`lower bound`,
        ic2$`upper bound`), irr_icc = ic95$value, irr_icc_ci = c(ic95$lbound, ic95$ubound))
      if (against == "panel") {
        res$bland_altman <- bland_altman(J - y, key$case_id)
      }
      agreement[[length(agreement) + 1]] <- res
    }
    # leave-one-rater-out: judge vs median(rest) and h vs median(rest), weighted kappa
    for (h in humans) {
      rest <- apply(H[, setdiff(humans, h), drop = FALSE], 1, median)
      kj <- vcd_kappa(J, rest)[1]; kh <- vcd_kappa(H[, h], rest)[1]
      within[[length(within) + 1]] <- list(domain = d, judge = judge, human = h,
        judge_agreement = kj, human_agreement = kh, difference = kj - kh)
    }
  }
}

# ------------------------------------------------------------------ position bias
position <- list()
for (judge in c("faithful", "position")) {
  p <- pairwise[pairwise$rater_id == judge, ]
  nt <- p[p$choice != "tie", ]
  first <- (nt$order == "ab" & nt$choice == "a") | (nt$order == "ba" & nt$choice == "b")
  bt <- binom.test(sum(first), nrow(nt))
  ab <- p[p$order == "ab", ]; ba <- p[p$order == "ba", ]
  m <- merge(ab, ba, by = c("rater_id", "case_id", "reader", "comparator"))
  same <- sum(m$choice.x == m$choice.y)
  pt <- prop.test(same, nrow(m), correct = FALSE)
  position[[length(position) + 1]] <- list(judge = judge, n = nrow(nt), k = sum(first),
    rate = sum(first) / nrow(nt), p_value = bt$p.value, ci = num(bt$conf.int),
    n_pairs = nrow(m), consistent = same, consistency = same / nrow(m),
    consistency_ci = num(pt$conf.int))
}

# ------------------------------------------------------------------ self-consistency
self <- list()
for (d in domains) {
  sub <- runs[runs$domain == d, ]
  R <- sapply(1:3, function(r) {
    w <- sub[sub$run == r, ]; w[order(w$case_id, w$reader_id), "score"]
  })
  pad <- rbind(R, c(1, NA, NA))
  al <- kripp.alpha(t(pad), method = "ordinal")$value
  al_complete <- kripp.alpha(t(R), method = "ordinal")$value
  same <- sum(apply(R, 1, function(x) length(unique(x)) == 1))
  pt <- prop.test(same, nrow(R), correct = FALSE)
  self[[length(self) + 1]] <- list(domain = d, n_units = nrow(R), alpha = al,
    irr_alpha_complete = al_complete, exact = same / nrow(R), exact_ci = num(pt$conf.int))
}

# ------------------------------------------------------------------ conclusions
conclusions <- list()
for (d in domains) {
  sub <- scores[scores$domain == d, ]
  hum <- sub[sub$kind == "human", ]
  mp <- tapply(hum$score, hum$reader_id, mean)
  for (judge in c("faithful", "biased")) {
    js <- sub[sub$rater_id == judge, ]
    mj <- tapply(js$score, js$reader_id, mean)
    ct <- cor.test(mp, mj[names(mp)], method = "kendall")
    invisible(capture.output(dp <- dunn.test(hum$score, hum$reader_id, method = "bonferroni",
                                             altp = TRUE)))
    invisible(capture.output(dj <- dunn.test(js$score, js$reader_id, method = "bonferroni",
                                             altp = TRUE)))
    conclusions[[length(conclusions) + 1]] <- list(domain = d, judge = judge,
      mean_panel = as.list(mp), mean_judge = as.list(mj), tau = num(ct$estimate),
      tau_p = ct$p.value, comparisons = dp$comparisons, p_panel = num(dp$altP.adjusted),
      z_panel = num(dp$Z), p_judge = num(dj$altP.adjusted), z_judge = num(dj$Z))
  }
}

write(toJSON(list(agreement = agreement, within = within, position = position,
  self_consistency = self, conclusions = conclusions), auto_unbox = TRUE, digits = NA,
  pretty = TRUE), out_file)
cat("wrote", out_file, "\n")
