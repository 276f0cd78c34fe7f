"""``[flow]`` of study.toml: how the cases were selected (Fig. 1, the STARD flow diagram).

::

    [flow]
    unit = "patients"        # what was assessed (default "cases")
    assessed = 1006          # assessed for eligibility (default: included + excluded)
    included = 229           # included, in `unit` (default: assessed - excluded)

    [[flow.excluded]]
    reason = "Poor image quality or inconsistent imaging parameters"
    n = 19

    [[flow.excluded]]        # excluded after allocation to a split (below that split in Fig. 1)
    reason = "Lost to follow-up"
    n = 3
    split = "test"

Exclusions without ``split`` come between "assessed" and "included" (``assessed`` = included
+ those); exclusions with a ``split`` are of cases already included and allocated to it.
The table is kept verbatim in the study's config (written back on export, like
``[modalities]``); the analysis draws Fig. 1 from it and from the study's cases per split.
"""

from __future__ import annotations

from typing import Any

from readerstudy.studies.models import CaseSplit

#: Longest exclusion reason and unit name.
FLOW_TEXT_MAX = 200
FLOW_KEYS = ("unit", "assessed", "included", "excluded")
EXCLUDED_KEYS = ("reason", "n", "split")


def _count(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= 0


def flow_problems(raw: object) -> list[tuple[str, str]]:
    """Every problem of a ``[flow]`` table as (key, message); [] when absent or valid."""
    if raw is None:
        return []
    if not isinstance(raw, dict):
        return [("flow", "must be a table: [flow] with assessed, excluded, unit")]
    out: list[tuple[str, str]] = []
    for key in sorted(set(raw) - set(FLOW_KEYS)):
        out.append((f"flow.{key}", f"unknown key (expected {', '.join(FLOW_KEYS)})"))
    unit = raw.get("unit", "cases")
    if not isinstance(unit, str) or not unit.strip() or len(unit) > FLOW_TEXT_MAX:
        out.append(
            ("flow.unit", f"must be a non-empty string of at most {FLOW_TEXT_MAX} characters")
        )
    for key in ("assessed", "included"):
        if key in raw and not _count(raw[key]):
            out.append((f"flow.{key}", "must be a whole number, 0 or more"))
    excluded = raw.get("excluded", [])
    total = 0
    if not isinstance(excluded, list):
        out.append(
            ("flow.excluded", "must be an array of tables: [[flow.excluded]] reason, n, split")
        )
        excluded = []
    for i, item in enumerate(excluded, start=1):
        where = f"flow.excluded[{i}]"
        if not isinstance(item, dict):
            out.append((where, "must be a table with reason, n and optionally split"))
            continue
        reason = item.get("reason")
        if not isinstance(reason, str) or not reason.strip() or len(reason) > FLOW_TEXT_MAX:
            out.append(
                (
                    f"{where}.reason",
                    f"must be a non-empty string of at most {FLOW_TEXT_MAX} characters",
                )
            )
        split = item.get("split")
        if split is not None and split not in CaseSplit.values:
            out.append(
                (f"{where}.split", f"must be one of {', '.join(CaseSplit.values)}, got {split!r}")
            )
        if not _count(item.get("n")):
            out.append((f"{where}.n", "must be a whole number, 0 or more"))
        elif split is None:
            total += int(item["n"])
        for key in sorted(set(item) - set(EXCLUDED_KEYS)):
            out.append((f"{where}.{key}", f"unknown key (expected {', '.join(EXCLUDED_KEYS)})"))
    assessed = int(raw["assessed"]) if _count(raw.get("assessed")) else None
    included = int(raw["included"]) if _count(raw.get("included")) else None
    if out or assessed is None:
        return out
    if included is not None and assessed != included + total:
        out.append(
            (
                "flow.assessed",
                f"{assessed} assessed is not {included} included + {total} excluded "
                f"(= {included + total})",
            )
        )
    elif assessed < total:
        out.append(("flow.assessed", f"{assessed} assessed is fewer than the {total} excluded"))
    return out


def flow_summary(raw: object) -> dict[str, Any] | None:
    """A valid ``[flow]`` table with its defaults filled in (None when absent or invalid):
    unit, assessed (None: included + excluded), included (None: the cases), excluded (before
    inclusion) and split_excluded (``{split: [{reason, n}]}``, after allocation)."""
    if not isinstance(raw, dict) or flow_problems(raw):
        return None
    excluded: list[dict[str, Any]] = [
        {"reason": str(e["reason"]).strip(), "n": int(e["n"])}
        for e in raw.get("excluded", [])
        if e.get("split") is None
    ]
    by_split: dict[str, list[dict[str, Any]]] = {}
    for e in raw.get("excluded", []):
        if e.get("split") is not None:
            by_split.setdefault(str(e["split"]), []).append(
                {"reason": str(e["reason"]).strip(), "n": int(e["n"])}
            )
    total = sum(int(e["n"]) for e in excluded)
    assessed = raw.get("assessed")
    included = raw.get("included")
    if included is None and assessed is not None:
        included = int(assessed) - total
    return {
        "unit": str(raw.get("unit", "cases")).strip(),
        "assessed": None if assessed is None else int(assessed),
        "included": None if included is None else int(included),
        "excluded": excluded,
        "split_excluded": by_split,
    }
