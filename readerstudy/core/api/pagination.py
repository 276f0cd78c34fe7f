"""Pagination of API lists: page numbers, with a caller-chosen page size up to a bound."""

from __future__ import annotations

from rest_framework.pagination import PageNumberPagination


class StandardPagination(PageNumberPagination):
    """``?page=N&page_size=M`` (default 100, at most 5,000 rows per page)."""

    page_size = 100
    page_size_query_param = "page_size"
    max_page_size = 5000
