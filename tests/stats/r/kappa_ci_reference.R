# Reference values for the CIs of Fleiss' kappa (analysis/stats/agreement.py, fleiss_kappa).
# Run from the repository root:
#   R_LIBS_USER=~/R/library Rscript tests/stats/r/kappa_ci_reference.R
# Writes tests/stats/r/kappa_ci_reference.json.
#
# Packages: irrCAC 1.0 (fleiss.kappa.raw: Gwet's variance and its t(n-1) interval) and
# irr 0.84.1 (kappam.fleiss and the Fleiss (1971) `diagnoses` data), from
# /work/shared/r-packages (install.sh).
#
# irrCAC prints its standard error rounded to 5 digits and its interval to 3, so the
# unrounded values are taken from irrCAC's own code: the body of fleiss.kappa.raw with
# only its last line (the return value) replaced, checked below against the rounded
# output. The SPSS interval (Fleiss, Nee & Landis 1979 null SE, as IBM's STATS FLEISS
# KAPPA extension computes it) is irr::kappam.fleiss's SE: se = kappa / z.
#
# Data sets:
#   diagnoses   Fleiss (1971): 30 patients, 6 psychiatrists, 5 diagnoses (irr)
#   demo        the demo study's six models, three runs each on the 114 test cases
#               (tests/stats/r/demo_model_runs.csv), on BI-RADS 0-6 and on the positive
#               call (category >= 4)
#   the Fleiss data sets of agreement_reference.json (runs_114, runs_15x4, disagree_30,
#               fourteen_raters)
suppressMessages({library(jsonlite); library(irr); library(irrCAC)})
out_file <- "tests/stats/r/kappa_ci_reference.json"
num <- function(x) unname(as.numeric(x))

unrounded <- irrCAC::fleiss.kappa.raw
b <- body(unrounded)
b[[length(b)]] <- quote(return(list(est = df.out, kappa = fleiss.kappa, pa = pa, pe = pe,
                                    se = stderr, lcb = lcb, ucb = ucb, p = p.value)))
body(unrounded) <- b

fleiss_ref <- function(wide, conf = 0.95) {
  # wide: subjects x raters (runs) matrix of categories, complete
  g <- unrounded(wide, conflev = conf)
  stopifnot(abs(g$kappa - g$est$coeff.val) < 1e-5, abs(g$se - g$est$coeff.se) < 1e-5)
  stopifnot(g$est$conf.int == paste0("(", round(g$lcb, 3), ",", round(g$ucb, 3), ")"))
  f <- kappam.fleiss(wide)
  spss_se <- num(f$value / f$statistic)
  n <- nrow(wide)
  list(n_cases = n, n_ratings = ncol(wide), kappa = num(g$kappa), observed = num(g$pa),
       expected = num(g$pe), gwet_se = num(g$se), gwet_ci = num(c(g$lcb, g$ucb)),
       gwet_p = num(g$p), t_crit = qt(1 - (1 - conf) / 2, n - 1),
       irr_kappa = num(f$value), spss_se = spss_se, z = num(f$statistic),
       spss_ci = num(f$value + c(-1, 1) * qnorm(1 - (1 - conf) / 2) * spss_se),
       irrcac_printed = list(coeff_se = num(g$est$coeff.se),
                             conf_int = as.character(g$est$conf.int)))
}

wide_of <- function(long, id = "case_id") {
  w <- reshape(long[, c(id, "run", "category")], idvar = id, timevar = "run",
               direction = "wide")
  w <- w[order(w[[id]]), ]
  as.matrix(w[, setdiff(names(w), id)])
}

sets <- list()

# (1) Fleiss (1971), irr::diagnoses: factors "1. Depression" ... "5. Other"
data(diagnoses)
dx <- sapply(diagnoses, function(col) as.integer(substr(as.character(col), 1, 1)))
sets[[length(sets) + 1]] <- list(
  name = "diagnoses", levels = 1:5,
  data = data.frame(case_id = rep(seq_len(nrow(dx)), ncol(dx)),
                    run = rep(seq_len(ncol(dx)), each = nrow(dx)),
                    category = as.vector(dx)),
  category = fleiss_ref(dx))

# (2) the demo's models, both scales
demo <- read.csv("tests/stats/r/demo_model_runs.csv", stringsAsFactors = FALSE)
demo_rows <- list()
for (r in sort(unique(demo$reader_id))) {
  d <- demo[demo$reader_id == r, ]
  w <- wide_of(d)
  demo_rows[[length(demo_rows) + 1]] <- list(
    reader = r, category = fleiss_ref(w), binary = fleiss_ref((w >= 4) * 1L))
}

# (3) the data sets of agreement_reference.json
agreement <- fromJSON("tests/stats/r/agreement_reference.json", simplifyVector = TRUE)$fleiss
for (i in seq_len(nrow(agreement))) {
  long <- data.frame(case_id = unlist(agreement$data$case_id[i]),
                     run = unlist(agreement$data$run[i]),
                     category = unlist(agreement$data$category[i]))
  w <- wide_of(long)
  entry <- list(name = agreement$name[i], levels = unlist(agreement$levels[i]), data = long,
                category = fleiss_ref(w))
  thr <- unlist(agreement$threshold[i])
  if (length(thr) == 1) {
    entry$threshold <- thr
    entry$binary <- fleiss_ref((w >= thr) * 1L)
  }
  sets[[length(sets) + 1]] <- entry
}

write_json(list(sets = sets, demo = demo_rows, r_version = R.version.string,
                packages = list(irr = as.character(packageVersion("irr")),
                                irrCAC = as.character(packageVersion("irrCAC")))),
           out_file, auto_unbox = TRUE, digits = NA, na = "null", dataframe = "columns")
cat("wrote", out_file, "\n")
