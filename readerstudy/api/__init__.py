"""The REST API under ``/api/`` (Django REST framework, schema by drf-spectacular).

Each app keeps its own endpoints: the core ones (studies, cases, readers, readings, reading
sessions, generation runs) live here, rating in ``evaluation/api/``, analysis in ``analysis/api.py``.
They share this package's access control (``access``), pagination and JSON error format.
"""
