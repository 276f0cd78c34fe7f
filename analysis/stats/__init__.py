"""Statistics engine of readerstudy.

Plain numpy/pandas/scipy; this package never imports Django. Every public function
takes a long DataFrame with keyword column names and returns a DataFrame with one row
per estimate and fixed snake_case columns. Bad input raises ``ValueError`` naming the
argument.
"""
