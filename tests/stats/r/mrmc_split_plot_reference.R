# Reference values of the split-plot OR/Hillis analysis (analysis.stats.mrmc_split_plot).
#
# Run from anywhere:  Rscript tests/stats/r/mrmc_split_plot_reference.R
# Tested with R 4.2, MRMCaov 0.3.0 and RJafroc 2.1.2. Reads tests/stats/data/vandyke.csv and
# writes, next to this script, mrmc_split_plot_reference.json, and to tests/stats/data/:
#   rjafroc_split_plot_c.csv   RJafroc's datasetFROCSpC (2 modalities, 4 readers, each reading
#                              its own block of 50 of the 200 cases) as ROC data (highest
#                              rating of a case, DfFroc2Roc): modality, reader, case_id, truth,
#                              rating, one row per case a reader read
# Three designs:
#   rjafroc_spc      RJafroc StSignificanceTesting(method = "OR") on the SPLIT-PLOT-C dataset
#                    (FOM Wilcoxon = empirical AUC; RRRC, FRRC, RRFC)
#   vandyke_nested   Van Dyke with cases nested within readers (MRMCaov's `case2`:
#                    reader r reads "r.k"), MRMCaov design 2 (native). MRMCaov's own
#                    jackknife leaves out each of all N = 570 cases (a reader's AUC is
#                    unchanged by leaving out a case it did not read), so its Var and Cov1
#                    carry the factor (N - 1)/N instead of (K - 1)/K over the reader's K
#                    cases; also given with the group jackknife (vandyke_nested_group_jackknife)
#   vandyke_groups   Van Dyke split into two reader groups: readers 1-2 read the odd-numbered
#                    cases, readers 3-5 the even-numbered ones. MRMCaov has no jackknife for reader groups
#                    (its own gives NaN), so this script gives mrmc() a covariance method
#                    written here: the jackknife within each group (readers with the same
#                    cases), 0 between groups; MRMCaov computes the rest (design -1: the
#                    covariances averaged over all cells). Checked first on the crossed data
#                    and on the nested design against MRMCaov's own jackknife.
#   vandyke_binary   sensitivity and specificity (binary_sens, binary_spec) of the
#                    decisions rating >= 4, crossed (MRMCaov's jackknife) and in the two
#                    reader groups (the group jackknife)

suppressPackageStartupMessages({
  library(MRMCaov)
  library(RJafroc)
  library(jsonlite)
})

args <- commandArgs(trailingOnly = FALSE)
script <- sub("^--file=", "", args[grep("^--file=", args)])
here <- if (length(script)) dirname(normalizePath(script)) else getwd()
data_dir <- file.path(dirname(here), "data")

group_jackknife <- function() {
  structure(function(data, ...) {
    metric_call <- attr(data, "metric_call")
    # rows and columns in the order of MRMCaov's own jackknife: test-major, as the data are
    # sorted (by test, reader, case)
    groups <- as.character(interaction(data$test, data$reader))
    lv <- unique(groups)
    out <- matrix(0, length(lv), length(lv), dimnames = list(lv, lv))
    key <- tapply(as.character(data$case), data$reader,
                  function(x) paste(sort(unique(x)), collapse = "|"))
    key <- key[!is.na(key)]
    for (k in unique(key)) {
      rdrs <- names(key)[key == k]
      cases <- sort(unique(as.character(data$case[data$reader %in% rdrs])))
      cols <- lv[lv %in% unique(as.character(groups[data$reader %in% rdrs]))]
      jk <- sapply(cols, function(g) {
        x <- data[groups == g, c("truth", "rating", "case")]
        sapply(cases, function(cs) eval(metric_call, x[x$case != cs, ]))
      })
      n <- length(cases)
      out[cols, cols] <- ((n - 1) / n) * crossprod(scale(jk, scale = FALSE))
    }
    structure(out, class = c("cov_jackknife", "cov_matrix"))
  }, class = c("cov_method", "function"))
}

# mrmc() and summary() evaluate their arguments where they were called: the data and the
# covariance method live in the global environment while a fit is summarised
fit3 <- function(d, cov, metric = quote(empirical_auc)) {
  assign(".d", d, envir = globalenv())
  assign(".cov", cov, envir = globalenv())
  fits <- list(
    RRRC = eval(bquote(mrmc(.(metric)(truth, rating), modality, reader, case_id, data = .d,
                            cov = .cov))),
    FRRC = eval(bquote(mrmc(.(metric)(truth, rating), modality, fixed(reader), case_id,
                            data = .d, cov = .cov))),
    RRFC = eval(bquote(mrmc(.(metric)(truth, rating), modality, reader, fixed(case_id),
                            data = .d, cov = .cov)))
  )
  lapply(fits, function(f) list(fit = f, summary = summary(f)))
}

mrmcaov_out <- function(fits) {
  # the same data through MRMCaov with the group jackknife (gives Var, Cov1 and FRRC too)
spc_mrmcaov <- spc
spc_mrmcaov$modality <- factor(spc_mrmcaov$modality)
spc_mrmcaov$reader <- factor(spc_mrmcaov$reader)
spc_mrmcaov$case_id <- factor(spc_mrmcaov$case_id)
spc_fits <- fit3(spc_mrmcaov, group_jackknife())
stopifnot(isTRUE(all.equal(spc_fits$RRRC$summary$test_equality$F, rj$RRRC$f, tolerance = 1e-10)))

out <- list()
  for (name in names(fits)) {
    f <- fits[[name]]$fit
    s <- fits[[name]]$summary
    te <- s$test_equality
    td <- s$test_diffs
    tm <- s$test_means
    vc <- s$vcov_comps
    aucs <- as.data.frame(f$data)
    frrc <- !is.null(te$X2)  # FRRC: chi-square X2 on df (MRMCaov names)
    out[[name]] <- list(
      design = f$design,
      f = if (frrc) te$X2 / te$df else te$F,
      df1 = if (frrc) te$df else te$df1,
      df2 = if (frrc) "Inf" else te$df2,
      p = te[["p-value"]],
      diff = td$Estimate, se = td$StdErr, df = if (frrc) "Inf" else td$df,
      ci = as.vector(td$CI), p_diff = td[["p-value"]],
      means = tm$Estimate, means_se = tm$StdErr,
      means_df = if (!is.null(tm$df)) tm$df else rep("Inf", nrow(tm)),
      means_ci_low = tm$CI[, 1], means_ci_high = tm$CI[, 2],
      var_r = vc$Estimate[1], var_tr = vc$Estimate[2], var = vc$Estimate[3],
      cov1 = vc$Estimate[4], cov2 = vc$Estimate[5], cov3 = vc$Estimate[6],
      reader_aucs = list(modality = as.character(aucs$modality),
                         reader = as.character(aucs$reader),
                         auc = aucs[[1]])
    )
  }
  out
}

vd <- read.csv(file.path(data_dir, "vandyke.csv"))
vd$modality <- factor(vd$modality)
vd$reader <- factor(vd$reader)

# the covariance method agrees with MRMCaov's jackknife on the crossed data
crossed <- vd
crossed$case_id <- factor(crossed$case_id)
own <- fit3(crossed, jackknife)$RRRC$summary$test_equality
mine <- fit3(crossed, group_jackknife())$RRRC$summary$test_equality
stopifnot(isTRUE(all.equal(own, mine, tolerance = 1e-10)))

nested <- vd
nested$case_id <- factor(paste(nested$reader, nested$case_id, sep = "."))
nested_fits <- fit3(nested, jackknife)
stopifnot(nested_fits$RRRC$fit$design == 2)
nested_group_fits <- fit3(nested, group_jackknife())
mine <- nested_group_fits$RRRC$summary$test_equality
own <- nested_fits$RRRC$summary$test_equality
stopifnot(isTRUE(all.equal(own$F, mine$F, tolerance = 1e-10)),
          isTRUE(all.equal(own$df2, mine$df2, tolerance = 1e-10)))

in_block <- (vd$reader %in% c("1", "2") & vd$case_id %% 2 == 1) |
  (vd$reader %in% c("3", "4", "5") & vd$case_id %% 2 == 0)
grouped <- vd[in_block, ]
grouped$case_id <- factor(grouped$case_id)
grouped_fits <- fit3(grouped, group_jackknife())

# sensitivity and specificity (binary_sens / binary_spec) at rating >= 4, crossed and in
# the two reader groups: MRMCaov keeps only the cases of the relevant class
binary <- function(d) transform(d, rating = as.integer(rating >= 4))
binary_fits <- list(
  crossed_sensitivity = fit3(binary(crossed), jackknife, quote(binary_sens)),
  crossed_specificity = fit3(binary(crossed), jackknife, quote(binary_spec)),
  groups_sensitivity = fit3(binary(grouped), group_jackknife(), quote(binary_sens)),
  groups_specificity = fit3(binary(grouped), group_jackknife(), quote(binary_spec))
)

# RJafroc's split-plot-C dataset as ROC data
roc <- DfFroc2Roc(datasetFROCSpC)
stopifnot(roc$descriptions$design == "SPLIT-PLOT-C")
tt <- roc$descriptions$truthTableStr  # modality x reader x case x (normal, abnormal)
nl <- roc$ratings$NL
ll <- roc$ratings$LL
K <- dim(nl)[3]
K2 <- dim(ll)[3]
K1 <- K - K2
mods <- roc$descriptions$modalityID
rdrs <- roc$descriptions$readerID
rows <- list()
for (i in seq_along(mods)) for (j in seq_along(rdrs)) for (k in 1:K) {
  read <- !is.na(tt[i, j, k, 1]) || !is.na(tt[i, j, k, 2])
  if (!read) next
  pos <- k > K1
  value <- if (pos) ll[i, j, k - K1, 1] else nl[i, j, k, 1]
  rows[[length(rows) + 1]] <- data.frame(
    modality = mods[[i]], reader = rdrs[[j]], case_id = k, truth = as.integer(pos),
    rating = value
  )
}
spc <- do.call(rbind, rows)
write.csv(spc, file.path(data_dir, "rjafroc_split_plot_c.csv"), row.names = FALSE)

st <- StSignificanceTesting(roc, FOM = "Wilcoxon", method = "OR", analysisOption = "ALL")
rj <- list(foms = list(modality = rep(mods, length(rdrs)),
                       reader = rep(rdrs, each = length(mods)),
                       auc = as.vector(as.matrix(st$FOMs$foms))))
vcomp <- st$ANOVA$VarCom
# RJafroc 2.1.2 leaves Var, Cov1, VarR, VarTR and the FRRC analysis NA for SPLIT-PLOT-C
# (its RRRC and RRFC need only MS(T), MS(T*R) and Cov2 = Cov3 = 0)
rj$cov2 <- vcomp["Cov2", "Estimates"]
rj$cov3 <- vcomp["Cov3", "Estimates"]
rj$ms <- as.list(setNames(st$ANOVA$TRanova$MS, rownames(st$ANOVA$TRanova)))
for (an in c("RRRC", "RRFC")) {
  r <- st[[an]]
  ft <- r$FTests
  cd <- r$ciDiffTrt
  ca <- r$ciAvgRdrEachTrt
  rj[[an]] <- list(
    f = if (is.null(ft$FStat)) ft$F[1] else ft$FStat[1], df1 = ft$DF[1], df2 = ft$DF[2],
    p = ft$p[1],
    diff = cd$Estimate, se = cd$StdErr, df = cd$DF, ci = c(cd$CILower, cd$CIUpper),
    p_diff = cd[[grep("^Pr", names(cd))[1]]],
    means = ca$Estimate, means_se = ca$StdErr,
    means_df = if (!is.null(ca$DF)) ca$DF else NULL,
    means_ci_low = ca$CILower, means_ci_high = ca$CIUpper
  )
}

# the same data through MRMCaov with the group jackknife (gives Var, Cov1 and FRRC too)
spc_mrmcaov <- spc
spc_mrmcaov$modality <- factor(spc_mrmcaov$modality)
spc_mrmcaov$reader <- factor(spc_mrmcaov$reader)
spc_mrmcaov$case_id <- factor(spc_mrmcaov$case_id)
spc_fits <- fit3(spc_mrmcaov, group_jackknife())
stopifnot(isTRUE(all.equal(spc_fits$RRRC$summary$test_equality$F, rj$RRRC$f, tolerance = 1e-10)))

out <- list(
  source = paste0("MRMCaov ", packageVersion("MRMCaov"), ", RJafroc ",
                  packageVersion("RJafroc"), ", ", R.version.string),
  rjafroc_spc = rj,
  rjafroc_spc_mrmcaov = mrmcaov_out(spc_fits),
  vandyke_nested = mrmcaov_out(nested_fits),
  vandyke_nested_group_jackknife = mrmcaov_out(nested_group_fits),
  vandyke_groups = mrmcaov_out(grouped_fits),
  vandyke_binary = lapply(binary_fits, mrmcaov_out)
)
writeLines(toJSON(out, auto_unbox = TRUE, digits = NA, pretty = TRUE, na = "string"),
           file.path(here, "mrmc_split_plot_reference.json"))
cat("RJafroc SPLIT-PLOT-C RRRC F =", rj$RRRC$f, "df", rj$RRRC$df2, "p", rj$RRRC$p, "SE", rj$RRRC$se, "\n")
for (d in c("vandyke_nested", "vandyke_groups")) {
  r <- out[[d]]$RRRC
  cat(d, "RRRC F =", r$f, "df2", r$df2, "p", r$p, "\n")
}
