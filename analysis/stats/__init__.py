"""Statistics engine of readerstudy.

Plain numpy/pandas/scipy; this package never imports Django. Every public function
takes a long DataFrame with keyword column names and returns a DataFrame with one row
per estimate and fixed snake_case columns: the estimate in ``statistic``, its interval in
``ci_low``/``ci_high``, ``p_value`` where it tests, the level as ``confidence=0.95``
(docs/statistics.md, "Output contract", lists the documented exceptions). Bad input
raises ``ValueError`` naming the argument.
"""
