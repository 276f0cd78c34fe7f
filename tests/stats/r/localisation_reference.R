# Reference values for analysis/stats/localisation.py, computed with RJafroc 2.1.2.
# Run from the repository root:
#   R_LIBS_USER=/root/R/library Rscript tests/stats/r/localisation_reference.R
# Writes tests/stats/r/localisation_marks.csv (RJafroc's dataset04, Zanca et al.'s FROC
# study: 5 modalities x 4 readers x 200 cases, 100 with 1-3 lesions, as one row per mark:
# NL = a mark on no lesion, LL = a mark on lesion `lesion`), localisation_truth.csv (the
# lesions and their weights) and localisation_reference.json: UtilFigureOfMerit's wAFROC and
# AFROC figures of merit per modality x reader, the case-jackknife variance of each
# (UtilPseudoValues' jkFomValues, (K-1)/K * sum of squares) and StSignificanceTesting's
# fixed-reader (FRRC) reader-average CI per modality (method = "OR", jackknife covariances).
suppressMessages({library(jsonlite); library(RJafroc)})
ds <- dataset04
nl <- ds$ratings$NL; ll <- ds$ratings$LL
I <- dim(nl)[1]; J <- dim(nl)[2]; K <- dim(nl)[3]; K2 <- dim(ll)[3]; K1 <- K - K2
mods <- ds$descriptions$modalityID; rdrs <- ds$descriptions$readerID
rows <- list()
for (i in 1:I) for (j in 1:J) {
  for (k in 1:K) for (n in 1:dim(nl)[4]) if (is.finite(nl[i, j, k, n]))
    rows[[length(rows) + 1]] <- data.frame(modality = mods[i], reader_id = rdrs[j],
      case_id = k, kind = "NL", lesion = 0, rating = nl[i, j, k, n])
  for (k in 1:K2) for (l in 1:ds$lesions$perCase[k]) if (is.finite(ll[i, j, k, l]))
    rows[[length(rows) + 1]] <- data.frame(modality = mods[i], reader_id = rdrs[j],
      case_id = K1 + k, kind = "LL", lesion = l, rating = ll[i, j, k, l])
}
write.csv(do.call(rbind, rows), "tests/stats/r/localisation_marks.csv", row.names = FALSE)
truth <- list()
for (k in 1:K) {
  if (k <= K1) { truth[[k]] <- data.frame(case_id = k, lesion = 0, weight = 0); next }
  n <- ds$lesions$perCase[k - K1]
  truth[[k]] <- data.frame(case_id = k, lesion = 1:n, weight = ds$lesions$weights[k - K1, 1:n])
}
write.csv(do.call(rbind, truth), "tests/stats/r/localisation_truth.csv", row.names = FALSE)

out <- list(cases = K, normal = K1, abnormal = K2)
for (fom in c("wAFROC", "AFROC")) {
  f <- UtilFigureOfMerit(ds, FOM = fom)
  jk <- UtilPseudoValues(ds, FOM = fom)$jkFomValues
  cells <- list()
  for (i in 1:I) for (j in 1:J) {
    x <- jk[i, j, ]
    cells[[length(cells) + 1]] <- list(modality = unname(mods[i]), reader_id = unname(rdrs[j]),
      statistic = f[i, j], jackknife_var = (K - 1) / K * sum((x - mean(x))^2))
  }
  st <- StSignificanceTesting(ds, FOM = fom, method = "OR", analysisOption = "FRRC")
  avg <- st$FRRC$ciAvgRdrEachTrt
  out[[fom]] <- list(cells = cells, frrc = lapply(1:I, function(i) list(
    modality = unname(mods[i]), statistic = avg$Estimate[i], std_err = avg$StdErr[i],
    df = avg$DF[i], ci_low = avg$CILower[i], ci_high = avg$CIUpper[i])))
}
write(toJSON(out, auto_unbox = TRUE, digits = NA, pretty = FALSE),
      "tests/stats/r/localisation_reference.json")
