# Reference values for analysis/stats/likert.py.
# Run from the repository root:  Rscript tests/stats/r/likert_reference.R
# Writes tests/stats/r/likert_reference.json (with the data sets).
#
# Summaries: t.test (mean CI), median / quantile(type = 7); Kruskal-Wallis: kruskal.test;
# Dunn's test: dunn.test, FSA and PMCMRplus are not packaged for Debian 12 (and CRAN is
# not reachable here), so Dunn's z is computed below from Dunn (1964) with the tie
# correction, and the adjustments come from p.adjust.
suppressMessages(library(jsonlite))
out_file <- "tests/stats/r/likert_reference.json"
num <- function(x) unname(as.numeric(x))

summ <- function(x) {
  n <- length(x); m <- mean(x); s <- if (n > 1) sd(x) else NA
  ci <- if (n < 2) c(NA, NA) else if (s == 0) c(m, m) else num(t.test(x)$conf.int)
  q <- quantile(x, c(.25, .5, .75), type = 7)
  list(n = n, mean = m, sd = s, ci = ci, median = num(q[2]), q1 = num(q[1]), q3 = num(q[3]))
}

dunn <- function(x, g) {
  g <- factor(g, levels = sort(unique(as.character(g))))
  r <- rank(x); N <- length(x)
  ties <- table(x)
  C <- sum(ties^3 - ties) / (12 * (N - 1))
  mr <- tapply(r, g, mean); n <- tapply(r, g, length)
  lv <- levels(g); res <- list()
  for (i in 1:(length(lv) - 1)) for (j in (i + 1):length(lv)) {
    z <- (mr[i] - mr[j]) / sqrt((N * (N + 1) / 12 - C) * (1 / n[i] + 1 / n[j]))
    res[[length(res) + 1]] <- list(reader_a = lv[i], reader_b = lv[j], z = num(z),
                                   p = num(2 * pnorm(-abs(z))))
  }
  p <- sapply(res, function(e) e$p)
  pb <- p.adjust(p, "bonferroni"); ph <- p.adjust(p, "holm")
  for (k in seq_along(res)) { res[[k]]$p_bonferroni <- pb[k]; res[[k]]$p_holm <- ph[k] }
  res
}

analyse <- function(name, d) {
  runs <- sort(unique(d$run))
  by_run <- list(); kw <- list(); dn <- list()
  for (rr in runs) {
    s <- d[d$run == rr, ]
    for (rd in sort(unique(s$reader_id))) {
      by_run[[length(by_run) + 1]] <- c(list(reader = rd, run = rr),
                                        summ(s$score[s$reader_id == rd]))
    }
    k <- kruskal.test(s$score, factor(s$reader_id))
    kw[[length(kw) + 1]] <- list(run = rr, h = num(k$statistic), df = num(k$parameter),
                                 p = num(k$p.value))
    dn[[length(dn) + 1]] <- list(run = rr, pairs = dunn(s$score, s$reader_id))
  }
  overall <- lapply(sort(unique(d$reader_id)), function(rd)
    c(list(reader = rd), summ(d$score[d$reader_id == rd])))
  by_domain <- list()
  for (rd in sort(unique(d$reader_id))) for (dm in sort(unique(d$domain))) {
    x <- d$score[d$reader_id == rd & d$domain == dm]
    by_domain[[length(by_domain) + 1]] <- c(list(reader = rd, domain = dm), summ(x))
  }
  by_group <- list()
  for (rd in sort(unique(d$reader_id))) for (gr in sort(unique(d$group))) {
    x <- d$score[d$reader_id == rd & d$group == gr]
    by_group[[length(by_group) + 1]] <- c(list(reader = rd, group = gr), summ(x))
  }
  k_all <- kruskal.test(d$score, factor(d$reader_id))
  list(name = name, data = d, by_run = by_run, overall = overall, by_domain = by_domain,
       by_group = by_group, kruskal = kw, dunn = dn,
       kruskal_pooled = list(h = num(k_all$statistic), df = num(k_all$parameter),
                             p = num(k_all$p.value)),
       dunn_pooled = dunn(d$score, d$reader_id))
}

domains <- data.frame(
  domain = c("specific_diagnosis", "differential_diagnosis", "scientific_terminology",
             "correctness", "coherence", "comprehensiveness", "management_recommendations",
             "harmlessness", "lack_of_bias"),
  group = c("Professional judgment", "Professional judgment", "Knowledge accuracy",
            "Knowledge accuracy", "Report structure", "Report structure", "Report structure",
            "Safety and ethics", "Safety and ethics"))

sets <- list()
# (1) six models, 3 raters x 9 domains x 8 cases x 3 runs, ceiling effects and many ties
set.seed(101)
models <- c("A1", "A2", "B", "C", "D", "E")
quality <- c(A1 = .75, A2 = .6, B = .55, C = .9, D = .88, E = .94)
d1 <- expand.grid(rater_id = c("X", "Y", "Z"), domain = domains$domain, case_id = 1:8,
                  run = 1:3, reader_id = models, stringsAsFactors = FALSE)
d1$score <- ifelse(runif(nrow(d1)) < quality[d1$reader_id], 5,
                   sample(2:4, nrow(d1), TRUE, prob = c(.1, .3, .6)))
d1$group <- domains$group[match(d1$domain, domains$domain)]
sets[[1]] <- analyse("six_models", d1)

# (2) four readers with unequal numbers of scores and a constant reader (all 5)
set.seed(202)
mk <- function(reader, n, probs) data.frame(reader_id = reader, run = rep(1:2, length.out = n),
  domain = sample(domains$domain, n, TRUE), score = sample(1:5, n, TRUE, prob = probs))
d2 <- rbind(mk("p", 30, c(.1, .2, .3, .2, .2)), mk("q", 17, c(0, .1, .2, .3, .4)),
            mk("r", 9, c(.3, .3, .2, .1, .1)))
d2 <- rbind(d2, data.frame(reader_id = "s", run = rep(1:2, length.out = 12),
                           domain = sample(domains$domain, 12, TRUE), score = 5))
d2$group <- domains$group[match(d2$domain, domains$domain)]
sets[[2]] <- analyse("unequal_groups", d2)

# (3) three small groups with few ties, one run
set.seed(303)
d3 <- data.frame(reader_id = rep(c("m1", "m2", "m3"), c(5, 7, 4)), run = 1,
                 score = c(round(runif(5, 1, 5), 1), round(runif(7, 2, 5), 1),
                           round(runif(4, 1, 3), 1)))
d3$domain <- sample(domains$domain[1:3], nrow(d3), TRUE)
d3$group <- domains$group[match(d3$domain, domains$domain)]
sets[[3]] <- analyse("small_groups", d3)

write_json(list(sets = sets, domains = domains, r_version = R.version.string), out_file,
           auto_unbox = TRUE, digits = NA, na = "null", dataframe = "columns")
cat("wrote", out_file, "\n")
