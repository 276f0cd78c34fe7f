"""The allowed values of the statistics' method options, each list defined once.

Plain Python without numpy, so that ``manage.py analyze`` can offer them as choices
before it loads the statistics (it starts Chromium first).
"""

from __future__ import annotations

#: p-value adjustments within a family of tests (``fdr`` is Benjamini-Hochberg).
P_ADJUST_METHODS: tuple[str, ...] = ("none", "holm", "bonferroni", "fdr")
#: Short names of the adjustments (table labels, form choices).
P_ADJUST_NAMES: dict[str, str] = {
    "none": "unadjusted",
    "holm": "Holm",
    "bonferroni": "Bonferroni",
    "fdr": "Benjamini–Hochberg",
}
#: Families of tests adjusted together, with their default adjustment (the worked example
#: adjusted Dunn's test with Bonferroni and nothing else).
P_ADJUST_DEFAULTS: dict[str, str] = {"delong": "none", "mcnemar": "none", "dunn": "bonferroni"}
#: Binomial CIs of sensitivity, specificity, accuracy, PPV, NPV (the first is the default).
PROPORTION_CI_METHODS: tuple[str, ...] = ("exact", "wilson")
#: Standard errors of the analytic Fleiss kappa CI (the first is the default).
FLEISS_SE_METHODS: tuple[str, ...] = ("gwet", "fleiss-nee-landis")
#: The analysis option ``kappa_ci`` -> the Fleiss kappa ``se_method`` it selects.
KAPPA_CI_METHODS: dict[str, str] = {"gwet": "gwet", "spss": "fleiss-nee-landis"}
#: Covariance estimators of the MRMC figures of merit (the first is the default).
MRMC_COVARIANCES: tuple[str, ...] = ("jackknife", "delong", "unbiased")
#: Chance-corrected agreement coefficients of ``agreement_coefficients`` (Gwet 2014, ch. 2-5).
AGREEMENT_COEFFICIENTS: tuple[str, ...] = ("gwet", "brennan-prediger", "fleiss")
