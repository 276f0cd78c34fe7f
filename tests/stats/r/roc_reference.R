# Reference values for analysis/stats/roc.py, computed with R pROC.
#
# Run from anywhere:  Rscript tests/stats/r/roc_reference.R
# Tested with R 4.x and pROC 1.18.0. Writes, next to this script:
#   roc_<name>.csv        the synthetic datasets (long: reader_id, case_id, truth, rating)
#   roc_reference.json    pROC results for every dataset
# The datasets are generated deterministically (fixed seeds, R's default RNG kinds) and
# are committed together with the JSON, so the Python tests never need R.
#
# Non-finite numbers are written as the strings "Inf", "-Inf", "NaN" (JSON has no
# literal for them).

suppressPackageStartupMessages(library(pROC))
library(jsonlite)

args <- commandArgs(trailingOnly = FALSE)
script <- sub("^--file=", "", args[grep("^--file=", args)])
out_dir <- if (length(script)) dirname(normalizePath(script)) else getwd()

RNGkind("Mersenne-Twister", "Inversion", "Rejection")

ordinal <- function(latent, cuts = c(-Inf, -0.5, 0.3, 1.0, 1.8, Inf)) {
  as.numeric(cut(latent, breaks = cuts, labels = FALSE))
}

make_discrete <- function() {
  # 3 readers, ordinal 1-5 ratings (many ties), 37 positives and 58 negatives
  set.seed(20240101)
  m <- 37; n <- 58
  truth <- c(rep(1, m), rep(0, n))
  case_effect <- rnorm(m + n)
  rows <- list()
  for (r in c("A", "B", "C")) {
    shift <- c(A = 1.2, B = 0.8, C = 1.5)[[r]]
    latent <- 0.6 * case_effect + rnorm(m + n) + shift * truth - 0.2
    rows[[r]] <- data.frame(reader_id = r, case_id = seq_len(m + n), truth = truth,
                            rating = ordinal(latent))
  }
  do.call(rbind, rows)
}

make_continuous <- function() {
  # 4 readers, continuous ratings rounded to 0.1 (some ties), 120 positives, 45 negatives.
  # Reader D is an exact copy of reader A (zero-variance paired difference).
  set.seed(777)
  m <- 120; n <- 45
  truth <- c(rep(0, n), rep(1, m))
  case_effect <- rnorm(m + n)
  rows <- list()
  for (r in c("A", "B", "C")) {
    shift <- c(A = 1.0, B = 1.4, C = 0.6)[[r]]
    latent <- 0.5 * case_effect + rnorm(m + n) + shift * truth
    rows[[r]] <- data.frame(reader_id = r, case_id = 1000 + seq_len(m + n), truth = truth,
                            rating = round(latent, 1))
  }
  rows[["D"]] <- transform(rows[["A"]], reader_id = "D")
  do.call(rbind, rows)
}

make_edge <- function() {
  # 25 positives, 31 negatives; a perfect reader with distinct ratings, a perfect reader
  # with only two rating values, a constant reader, and an ordinary ordinal reader.
  set.seed(4242)
  m <- 25; n <- 31
  truth <- c(rep(1, m), rep(0, n))[sample.int(m + n)]
  perfect <- ifelse(truth == 1, runif(m + n, 0.6, 1.0), runif(m + n, 0.0, 0.4))
  perfect_ties <- ifelse(truth == 1, 2, 1)
  constant <- rep(3, m + n)
  ordinary <- ordinal(rnorm(m + n) + 1.0 * truth)
  ids <- sprintf("e%02d", seq_len(m + n))
  rbind(
    data.frame(reader_id = "constant", case_id = ids, truth = truth, rating = constant),
    data.frame(reader_id = "ordinary", case_id = ids, truth = truth, rating = ordinary),
    data.frame(reader_id = "perfect", case_id = ids, truth = truth, rating = perfect),
    data.frame(reader_id = "perfect_ties", case_id = ids, truth = truth, rating = perfect_ties)
  )
}

num <- function(x) {
  x <- as.numeric(x)
  ifelse(is.nan(x), "NaN", ifelse(is.infinite(x), ifelse(x > 0, "Inf", "-Inf"),
                                    ifelse(is.na(x), "NA", sprintf("%.17g", x))))
}

make_roc <- function(d) {
  roc(d$truth, d$rating, levels = c(0, 1), direction = "<", quiet = TRUE)
}

analyse <- function(d, paired = TRUE) {
  readers <- sort(unique(d$reader_id))
  rocs <- lapply(readers, function(r) {
    s <- d[d$reader_id == r, ]
    s <- s[order(s$case_id), ]
    make_roc(s)
  })
  names(rocs) <- readers
  per_reader <- lapply(readers, function(r) {
    x <- rocs[[r]]
    ci <- suppressWarnings(ci.auc(x, method = "delong", conf.level = 0.95))
    v <- suppressWarnings(var(x, method = "delong"))
    co <- coords(x, "all", ret = c("threshold", "specificity", "sensitivity"),
                 transpose = FALSE)
    list(reader = r, n_positive = length(x$cases), n_negative = length(x$controls),
         auc = num(as.numeric(auc(x))), var = num(v),
         ci_low = num(ci[1]), ci_high = num(ci[3]),
         roc_fpr = num(1 - co$specificity), roc_tpr = num(co$sensitivity))
  })
  pairs <- list()
  unpaired <- list()
  if (length(readers) > 1) {
    for (i in seq_len(length(readers) - 1)) for (j in (i + 1):length(readers)) {
      a <- readers[i]; b <- readers[j]
      if (paired) {
        tp <- suppressWarnings(roc.test(rocs[[a]], rocs[[b]], method = "delong",
                                        paired = TRUE))
        pairs[[length(pairs) + 1]] <- list(
          reader_a = a, reader_b = b, z = num(tp$statistic), p_value = num(tp$p.value),
          ci_low = num(tp$conf.int[1]), ci_high = num(tp$conf.int[2]),
          auc_a = num(tp$estimate[1]), auc_b = num(tp$estimate[2]))
      }
      tu <- suppressWarnings(roc.test(rocs[[a]], rocs[[b]], method = "delong", paired = FALSE))
      unpaired[[length(unpaired) + 1]] <- list(
        reader_a = a, reader_b = b, t = num(tu$statistic), df = num(tu$parameter),
        p_value = num(tu$p.value))
    }
  }
  list(readers = per_reader, paired = pairs, unpaired = unpaired)
}

datasets <- list(discrete = make_discrete(), continuous = make_continuous(),
                 edge = make_edge())

# Unpaired curves on different case sets: reader A of "discrete" vs reader B of "continuous"
mixed <- rbind(
  transform(datasets$discrete[datasets$discrete$reader_id == "A", ], reader_id = "discrete_A"),
  transform(datasets$continuous[datasets$continuous$reader_id == "B", ],
            reader_id = "continuous_B")
)
mixed$case_id <- as.character(mixed$case_id)

result <- list(pROC_version = as.character(packageVersion("pROC")),
               R_version = R.version.string, datasets = list())
for (name in names(datasets)) {
  d <- datasets[[name]]
  write.csv(d, file.path(out_dir, sprintf("roc_%s.csv", name)), row.names = FALSE)
  result$datasets[[name]] <- analyse(d)
}
rm_ <- analyse(mixed, paired = FALSE)
result$mixed_unpaired <- rm_$unpaired
result$mixed_readers <- rm_$readers

writeLines(toJSON(result, auto_unbox = TRUE, pretty = TRUE),
           file.path(out_dir, "roc_reference.json"))
cat("wrote", file.path(out_dir, "roc_reference.json"), "\n")
