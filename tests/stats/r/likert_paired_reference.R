# Reference values for analysis/stats/likert_paired.py.
# Run from the repository root:  Rscript tests/stats/r/likert_paired_reference.R
# Writes tests/stats/r/likert_paired_reference.json.
#
# Blocks are rater x case; a source's replicate scores (runs) in a block are averaged and
# only complete blocks are kept. Friedman: friedman.test; pairs: wilcox.test(paired = TRUE)
# (R's defaults: exact when n < 50 without ties or zeros, else normal with continuity
# correction), p.adjust(method = "holm"). The two-way (pigeonhole) bootstrap of the mean
# difference is written out here independently (its own RNG), so Python and R agree up
# to Monte Carlo error only.
suppressMessages(library(jsonlite))
out_file <- "tests/stats/r/likert_paired_reference.json"
num <- function(x) unname(as.numeric(x))

blocks <- function(d) {
  a <- aggregate(score ~ rater_id + case_id + reader_id, data = d, FUN = mean)
  w <- reshape(a, idvar = c("rater_id", "case_id"), timevar = "reader_id", direction = "wide")
  names(w) <- sub("^score\\.", "", names(w))
  n_all <- nrow(w)
  w <- w[complete.cases(w), ]
  w <- w[order(w$rater_id, w$case_id), ]
  list(w = w, sources = sort(unique(as.character(d$reader_id))), n_dropped = n_all - nrow(w))
}

pigeonhole <- function(diff, rater, case, B, conf) {
  r <- as.integer(factor(rater)); c <- as.integer(factor(case))
  nr <- max(r); nc <- max(c)
  stat <- numeric(B)
  for (b in seq_len(B)) {
    u <- tabulate(sample.int(nr, nr, replace = TRUE), nr)
    v <- tabulate(sample.int(nc, nc, replace = TRUE), nc)
    wt <- u[r] * v[c]
    stat[b] <- sum(wt * diff) / sum(wt)
  }
  num(quantile(stat, c((1 - conf) / 2, 1 - (1 - conf) / 2), type = 7))
}

analyse <- function(d, B = 20000) {
  bl <- blocks(d); w <- bl$w; src <- bl$sources
  y <- as.matrix(w[, src])
  fr <- friedman.test(y)
  pairs <- list(); p <- c()
  for (i in 1:(length(src) - 1)) for (j in (i + 1):length(src)) {
    x1 <- y[, i]; x2 <- y[, j]
    wt <- suppressWarnings(wilcox.test(x1, x2, paired = TRUE))
    dd <- x1 - x2
    nz <- dd[dd != 0]
    exact <- length(nz) < 50 && !any(duplicated(abs(nz))) && length(nz) == length(dd)
    pairs[[length(pairs) + 1]] <- list(
      source_a = src[i], source_b = src[j], n_blocks = length(dd), mean_diff = mean(dd),
      mean_a = mean(x1), mean_b = mean(x2), v = num(wt$statistic), p = num(wt$p.value),
      method = if (exact) "exact" else "normal",
      boot_ci = pigeonhole(dd, w$rater_id, w$case_id, B, 0.95))
    p <- c(p, wt$p.value)
  }
  adj <- p.adjust(p, method = "holm")
  for (k in seq_along(pairs)) pairs[[k]]$p_adjusted <- num(adj[k])
  list(friedman = list(n_blocks = nrow(y), n_dropped = bl$n_dropped, k = ncol(y),
                       statistic = num(fr$statistic), df = num(fr$parameter),
                       p = num(fr$p.value)),
       pairs = pairs)
}

set.seed(20140218)
likert <- read.csv("tests/stats/r/likert_paired.csv", stringsAsFactors = FALSE)
by_domain <- lapply(split(likert, likert$domain), analyse)
exact <- read.csv("tests/stats/r/likert_paired_exact.csv", stringsAsFactors = FALSE)
out <- list(
  boot_replicates = 20000,
  domains = by_domain,
  exact = analyse(exact),
  R = R.version.string
)
writeLines(toJSON(out, auto_unbox = TRUE, digits = NA, pretty = TRUE), out_file)
cat("wrote", out_file, "\n")
