# Reference values for analysis/stats/chance_agreement.py.
# Run from the repository root:
#   R_LIBS_USER=/root/R/library Rscript tests/stats/r/chance_agreement_reference.R
# Writes tests/stats/r/chance_agreement_reference.json and chance_agreement_ratings.csv.
#
# R 4.2.2; irrCAC 1.0 (gwet.ac1.raw, bp.coeff.raw, fleiss.kappa.raw), irr 0.84.1
# (kappam.fleiss(detail = TRUE)), jsonlite 1.8.4.
# irrCAC rounds its coefficient and SE to 5 decimals and irr its category table to 3, so
# the functions are run in an environment whose `round` is the identity: the values are
# irrCAC's / irr's own code, unrounded.
suppressMessages({library(jsonlite); library(irrCAC); library(irr)})
RNGkind("Mersenne-Twister", "Inversion", "Rejection")
set.seed(20261202)
dir <- "tests/stats/r"
unrounded <- function(f) {
  e <- new.env(parent = environment(f))
  e$round <- function(x, digits = 0) x
  environment(f) <- e
  f
}
ac1 <- unrounded(gwet.ac1.raw); bp <- unrounded(bp.coeff.raw)
fk <- unrounded(fleiss.kappa.raw); kmf <- unrounded(kappam.fleiss)

# 80 cases, 3 raters, BI-RADS-like categories 0..6 skewed towards 1-2, a truth-like latent
n <- 80; cats <- 0:6
latent <- sample(cats, n, replace = TRUE, prob = c(0.02, 0.45, 0.25, 0.1, 0.08, 0.07, 0.03))
rate <- function() pmin(6, pmax(0, latent + sample(c(-1, 0, 0, 0, 1), n, replace = TRUE)))
x <- cbind(r1 = rate(), r2 = rate(), r3 = rate())
xm <- x; xm[sample(n * 3, 12)] <- NA   # 12 missing ratings
write.csv(data.frame(case_id = rep(1:n, 3), rater_id = rep(colnames(x), each = n),
                     category = as.vector(x), category_missing = as.vector(xm)),
          file.path(dir, "chance_agreement_ratings.csv"), row.names = FALSE, na = "")

coef_of <- function(f, ratings, weights, labels) {
  est <- f(ratings, weights = weights, categ.labels = labels)$est
  ci <- as.numeric(strsplit(gsub("[()]", "", est$conf.int), ",")[[1]])
  list(pa = est$pa, pe = est$pe, coef = est$coeff.val, se = est$coeff.se,
       ci = ci, p = est$p.value)
}
cases <- list()
add <- function(name, ratings, threshold, weights, labels) {
  r <- if (is.na(threshold)) ratings else (ratings >= threshold) * 1
  for (coef in c("gwet", "brennan-prediger", "fleiss")) {
    f <- switch(coef, gwet = ac1, "brennan-prediger" = bp, fleiss = fk)
    cases[[length(cases) + 1]] <<- c(list(name = name, threshold = threshold,
                                          weights = weights, coefficient = coef),
                                     coef_of(f, r, weights, labels))
  }
}
for (w in c("unweighted", "linear", "quadratic")) {
  add("three raters", x, NA, w, cats)
  add("three raters, missing", xm, NA, w, cats)
  add("two raters", x[, 1:2], NA, w, cats)
}
add("three raters binary", x, 3, "unweighted", c(0, 1))
add("two raters binary", x[, 1:2], 3, "unweighted", c(0, 1))
add("two raters binary, missing", xm[, 1:2], 3, "unweighted", c(0, 1))

# category-wise kappa (irr) and the non-null CI of each dichotomised Fleiss kappa (irrCAC)
det <- kmf(x, detail = TRUE)$detail
lev <- as.numeric(rownames(det))
cat_ci <- lapply(lev, function(k) {
  est <- fk((x == k) * 1, categ.labels = c(0, 1))$est
  list(category = k, kappa = unname(det[as.character(k), "Kappa"]),
       z = unname(det[as.character(k), "z"]), p = unname(det[as.character(k), "p.value"]),
       se = est$coeff.se,
       ci = as.numeric(strsplit(gsub("[()]", "", est$conf.int), ",")[[1]]))
})
json <- toJSON(list(coefficients = cases, category = cat_ci,
                    versions = list(R = R.version.string,
                                    irrCAC = as.character(packageVersion("irrCAC")),
                                    irr = as.character(packageVersion("irr")))),
               auto_unbox = TRUE, digits = NA, na = "string", pretty = TRUE)
writeLines(json, file.path(dir, "chance_agreement_reference.json"))
