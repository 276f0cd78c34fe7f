"""Problems found in a bundle, reported as ``file:line: column: message``."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass


@dataclass(frozen=True, order=True)
class Problem:
    file: str
    line: int
    column: str
    message: str
    #: How many rows this entry stands for (>1 for "... and N more rows with this problem").
    count: int = 1

    def __str__(self) -> str:
        return f"{self.file}:{self.line}: {self.column}: {self.message}"


class BundleError(Exception):
    """A bundle is invalid; ``problems`` lists everything wrong with it."""

    def __init__(self, problems: list[Problem]) -> None:
        self.problems = sorted(problems, key=_file_order)
        super().__init__(self.summary())

    @property
    def total(self) -> int:
        """Every problem, counting the rows a summarised entry stands for."""
        return sum(p.count for p in self.problems)

    def summary(self, limit: int | None = None) -> str:
        shown = self.problems if not limit else self.problems[:limit]
        lines = [str(p) for p in shown]
        hidden = sum(p.count for p in self.problems[len(shown) :])
        if hidden:
            counts: Counter[tuple[str, str]] = Counter()
            for p in self.problems[len(shown) :]:
                counts[(p.file, p.column)] += p.count
            detail = ", ".join(f"{f} {c}: {n}" for (f, c), n in counts.most_common(5))
            lines.append(f"... and {hidden} more problems ({detail})")
        return "\n".join(lines)


_FILE_ORDER = {
    "study.toml": 0,
    "cases.csv": 1,
    "readers.csv": 2,
    "readings.csv": 3,
    "ratings.csv": 4,
    "images.csv": 5,
    "marks.csv": 6,
}


def _file_order(problem: Problem) -> tuple[int, str, int, str, str]:
    return (
        _FILE_ORDER.get(problem.file, 9),
        problem.file,
        problem.line,
        problem.column,
        problem.message,
    )
