# Reference values for analysis/stats/clustered_roc.py.
# Run from the repository root:
#   R_LIBS_USER=/root/R/library Rscript tests/stats/r/clustered_roc_reference.R
# Writes tests/stats/r/clustered_roc_reference.json.
#  - Clustered AUC (Obuchowski 1997, Biometrics 53:567): an independent implementation written
#    here from the paper by brute-force kernel sums (no CRAN package implements it).
#  - Sanity: with one unit per cluster it is pROC's DeLong variance times the small-sample
#    factor I/(I-1) (M-1)/M resp. (N-1)/N (checked below on the DeLong components).
#  - Omnibus test of k correlated AUCs (DeLong et al. 1988): chi-square of the contrasts of
#    successive differences with the covariance matrix from pROC::var and pROC::cov.
suppressMessages({library(jsonlite); library(pROC)})
out_file <- "tests/stats/r/clustered_roc_reference.json"

psi <- function(x, y) (x > y) + 0.5 * (x == y)

# V10 of each positive unit, V01 of each negative unit
components <- function(score, truth) {
  pos <- score[truth == 1]; neg <- score[truth == 0]
  v10 <- sapply(pos, function(x) mean(psi(x, neg)))
  v01 <- sapply(neg, function(y) mean(psi(pos, y)))
  list(auc = mean(v10), v10 = v10, v01 = v01)
}

# Obuchowski (1997): covariance matrix of the AUCs of several readers on clustered data
obuchowski <- function(scores, truth, cluster) {
  cl <- sort(unique(cluster)); I <- length(cl)
  M <- sum(truth == 1); N <- sum(truth == 0)
  k <- ncol(scores)
  auc <- numeric(k); D10 <- matrix(0, I, k); D01 <- matrix(0, I, k)
  for (r in seq_len(k)) {
    cp <- components(scores[, r], truth)
    auc[r] <- cp$auc
    v10 <- numeric(length(truth)); v01 <- numeric(length(truth))
    v10[truth == 1] <- cp$v10; v01[truth == 0] <- cp$v01
    for (i in seq_len(I)) {
      u <- cluster == cl[i]
      m_i <- sum(u & truth == 1); n_i <- sum(u & truth == 0)
      D10[i, r] <- sum(v10[u & truth == 1]) - m_i * cp$auc
      D01[i, r] <- sum(v01[u & truth == 0]) - n_i * cp$auc
    }
  }
  S10 <- I / ((I - 1) * M) * crossprod(D10)
  S01 <- I / ((I - 1) * N) * crossprod(D01)
  S11 <- I / (I - 1) * crossprod(D10, D01)
  list(auc = auc, cov = S10 / M + S01 / N + (S11 + t(S11)) / (M * N), I = I, M = M, N = N)
}

# ---- clustered data: 60 patients with 1-4 lesions, positive and negative lesions mixed
set.seed(1997)
n_pat <- 60
n_les <- sample(1:4, n_pat, TRUE, prob = c(.4, .3, .2, .1))
patient <- rep(sprintf("p%02d", seq_len(n_pat)), n_les)
lesion <- sprintf("l%03d", seq_along(patient))
frailty <- rep(rnorm(n_pat, 0, 0.8), n_les)
truth <- rbinom(length(patient), 1, plogis(-0.3 + frailty))
latent <- 1.2 * truth + frailty + rnorm(length(truth))
scores <- cbind(
  A = round(latent + rnorm(length(truth), 0, .5), 1),
  B = cut(latent + rnorm(length(truth), 0, .9), c(-Inf, -1, 0, .7, 1.5, Inf), labels = FALSE),
  C = round(0.6 * latent + rnorm(length(truth)), 1))
ob <- obuchowski(scores, truth, patient)
z <- qnorm(0.975)
pairs <- list()
for (a in 1:2) for (b in (a + 1):3) {
  d <- ob$auc[a] - ob$auc[b]
  se <- sqrt(ob$cov[a, a] + ob$cov[b, b] - 2 * ob$cov[a, b])
  pairs[[length(pairs) + 1]] <- list(reader_a = colnames(scores)[a], reader_b = colnames(scores)[b],
    statistic = d, se = se, z = d / se, p_value = 2 * pnorm(-abs(d / se)),
    ci = c(d - z * se, d + z * se))
}
omnibus <- function(auc, S) {
  k <- length(auc)
  L <- cbind(diag(k - 1), 0) - cbind(0, diag(k - 1))
  d <- L %*% auc
  chi <- as.numeric(t(d) %*% solve(L %*% S %*% t(L)) %*% d)
  list(statistic = chi, df = k - 1, p_value = pchisq(chi, k - 1, lower.tail = FALSE))
}
long <- do.call(rbind, lapply(colnames(scores), function(r)
  data.frame(reader_id = r, case_id = lesion, patient_id = patient, truth = truth,
             rating = scores[, r])))
clustered <- list(data = long, auc = ob$auc, cov = ob$cov, n_clusters = ob$I,
  n_positive = ob$M, n_negative = ob$N, pairs = pairs, omnibus = omnibus(ob$auc, ob$cov))

# ---- sanity: one unit per cluster, against pROC's DeLong variance
single <- obuchowski(scores, truth, lesion)
rocs <- lapply(colnames(scores), function(r) roc(truth, scores[, r], direction = "<",
                                                  levels = c(0, 1), quiet = TRUE))
S_delong <- matrix(0, 3, 3)
for (a in 1:3) for (b in 1:3)
  S_delong[a, b] <- if (a == b) var(rocs[[a]]) else cov(rocs[[a]], rocs[[b]])
# exact link on the components: DeLong uses 1/(M-1), Obuchowski I/((I-1) M)
cp <- lapply(1:3, function(r) components(scores[, r], truth))
M <- single$M; N <- single$N; I <- single$I
s10 <- sapply(1:3, function(r) var(cp[[r]]$v10)); s01 <- sapply(1:3, function(r) var(cp[[r]]$v01))
linked <- I / (I - 1) * ((M - 1) / M * s10 / M + (N - 1) / N * s01 / N)
stopifnot(max(abs(linked - diag(single$cov))) < 1e-12)
stopifnot(max(abs(s10 / M + s01 / N - diag(S_delong))) < 1e-12)

# ---- omnibus test on independent units with pROC's covariance (DeLong 1988)
delong_omnibus <- omnibus(sapply(rocs, function(r) as.numeric(auc(r))), S_delong)
# pROC's aSAH: s100b, ndka, wfns (three markers on the same 113 patients)
data(aSAH)
arocs <- lapply(c("s100b", "ndka", "wfns"), function(v)
  roc(aSAH$outcome, as.numeric(aSAH[[v]]), levels = c("Good", "Poor"), direction = "<", quiet = TRUE))
S_asah <- matrix(0, 3, 3)
for (a in 1:3) for (b in 1:3)
  S_asah[a, b] <- if (a == b) var(arocs[[a]]) else cov(arocs[[a]], arocs[[b]])
asah <- data.frame(case_id = seq_len(nrow(aSAH)), truth = as.integer(aSAH$outcome == "Poor"),
                   s100b = aSAH$s100b, ndka = aSAH$ndka, wfns = as.numeric(aSAH$wfns))
asah_omnibus <- omnibus(sapply(arocs, function(r) as.numeric(auc(r))), S_asah)
asah_omnibus$auc <- sapply(arocs, function(r) as.numeric(auc(r)))
asah_omnibus$pair_p <- c(roc.test(arocs[[1]], arocs[[2]], method = "delong")$p.value)

write_json(list(clustered = clustered,
                single = list(auc = single$auc, cov = single$cov, delong_cov = S_delong,
                              omnibus = delong_omnibus),
                asah = list(data = asah, omnibus = asah_omnibus)),
           out_file, digits = NA, auto_unbox = TRUE, pretty = FALSE, na = "null")
cat("wrote", out_file, "\n")
