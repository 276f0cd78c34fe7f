# A known difference between MRMC programs (docs/statistics.md), on published data:
# Kundel et al. (2008) as MRMCaov ships it (4 readers; treatment 1 on cases 1-95,
# treatments 2 and 3 on cases 96-190). The fully crossed part -- treatments 2 and 3 on
# cases 96-190 -- is analysed by MRMCaov 0.3.0 and RJafroc 2.1.2 (OR, jackknife, empirical
# AUC), for the three analyses. There Cov2 < Cov3: RJafroc (as the Iowa program) takes
# max(Cov2 - Cov3, 0) in the fixed-readers (FRRC) statistic, MRMCaov the raw difference.
# Run from the repository root:
#   R_LIBS_USER=~/R/library Rscript tests/stats/r/mrmc_kundel_reference.R
# Writes tests/stats/r/kundel_23.csv and tests/stats/r/mrmc_kundel_reference.json.
suppressMessages({library(jsonlite); library(MRMCaov); library(RJafroc)})
out_file <- "tests/stats/r/mrmc_kundel_reference.json"
num <- function(x) unname(as.numeric(x))

data(Kundel)
k <- as.data.frame(Kundel[Kundel$treatment %in% c(2, 3),
                          c("reader", "treatment", "case", "truth", "rating")])
write.csv(k, "tests/stats/r/kundel_23.csv", row.names = FALSE)

mrmcaov <- list()
for (f in c("RRRC", "FRRC", "RRFC")) {
  fit <- switch(f,
    RRRC = mrmc(empirical_auc(truth, rating), treatment, reader, case, data = k,
                cov = jackknife),
    FRRC = mrmc(empirical_auc(truth, rating), treatment, fixed(reader), case, data = k,
                cov = jackknife),
    RRFC = mrmc(empirical_auc(truth, rating), treatment, reader, fixed(case), data = k,
                cov = jackknife))
  t <- summary(fit)$test_equality
  stat <- if (f == "FRRC") t$X2 else t$F
  mrmcaov[[f]] <- list(statistic = num(stat), p = num(t[["p-value"]]),
                       denominator = num(t$Denominator))
}
comps <- summary(mrmc(empirical_auc(truth, rating), treatment, reader, case, data = k,
                      cov = jackknife))$vcov_comps
mrmcaov$cov2 <- num(comps["Cov2", "Estimate"])
mrmcaov$cov3 <- num(comps["Cov3", "Estimate"])
mrmcaov$var_error <- num(comps["Error", "Estimate"])
mrmcaov$cov1 <- num(comps["Cov1", "Estimate"])

# RJafroc reads the Iowa "MRMC" csv layout; its truth table is filled in as for its own
# data sets (the reader leaves it NA, which StSignificanceTesting cannot use)
tmp <- tempfile(fileext = ".csv")
iowa <- data.frame(ReaderID = paste0("R", k$reader), ModalityID = paste0("M", k$treatment),
                   CaseID = k$case, TruthStatus = k$truth, Rating = k$rating)
write.csv(iowa, tmp, row.names = FALSE, quote = FALSE)
ds <- DfReadDataFile(tmp, format = "MRMC")
n_all <- dim(ds$ratings$NL)[3]; n_pos <- dim(ds$ratings$LL)[3]; n_neg <- n_all - n_pos
tt <- array(NA, c(2, 4, n_all, 2)); tt[, , 1:n_neg, 1] <- 1; tt[, , (n_neg + 1):n_all, 2] <- 1
ds$descriptions$truthTableStr <- tt
rjafroc <- list()
for (f in c("RRRC", "FRRC", "RRFC")) {
  st <- StSignificanceTesting(ds, FOM = "Wilcoxon", method = "OR", analysisOption = f)[[f]]
  tests <- st$FTests
  stat <- if (f == "FRRC") tests["Treatment", "Chisq"] else if (f == "RRFC") tests["T", "F"]
          else tests["Treatment", "FStat"]
  p <- if (f == "RRFC") tests["T", "p"] else tests["Treatment", "p"]
  rjafroc[[f]] <- list(statistic = num(stat), p = num(p))
}

write_json(list(mrmcaov = mrmcaov, rjafroc = rjafroc, r_version = R.version.string,
                packages = list(MRMCaov = as.character(packageVersion("MRMCaov")),
                                RJafroc = as.character(packageVersion("RJafroc")))),
           out_file, auto_unbox = TRUE, digits = NA, na = "null")
cat("wrote", out_file, "\n")
