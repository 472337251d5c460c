"""Bulk issue from CSV: one row per award, validated row by row.

Columns: `learner_email`, `achievement` (slug or id) are required; `learner_name`,
`evidence_url`, `evidence_name`, `evidence_narrative` are optional; `result:<key>` columns
carry result values for the achievement's result descriptions (empty cells are skipped).
"""

from __future__ import annotations

import csv
import io
import re

from microcred.credentials.service import BulkRow, EvidenceIn, ResultIn
from microcred.kit.errors import InvalidInput

REQUIRED = ("learner_email", "achievement")
OPTIONAL = ("learner_name", "evidence_url", "evidence_name", "evidence_narrative")
MAX_CELL = 10_000
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def parse(text: str) -> list[BulkRow | str]:
    """CSV text → rows, or an error string for each row that cannot be read."""
    if text.startswith("\ufeff"):
        text = text[1:]
    reader = csv.DictReader(io.StringIO(text, newline=""))
    header = [h.strip() for h in reader.fieldnames or []]
    if not header:
        raise InvalidInput("the CSV is empty: expected a header row")
    missing = [c for c in REQUIRED if c not in header]
    unknown = [c for c in header if c not in REQUIRED + OPTIONAL and not c.startswith("result:")]
    if missing or unknown:
        parts = []
        if missing:
            parts.append("missing columns: " + ", ".join(missing))
        if unknown:
            parts.append("unknown columns: " + ", ".join(unknown))
        raise InvalidInput("; ".join(parts))
    reader.fieldnames = header
    rows: list[BulkRow | str] = []
    try:
        for record in reader:
            rows.append(_row(record))
    except csv.Error as exc:
        raise InvalidInput(f"the CSV is malformed near line {reader.line_num}: {exc}") from exc
    if not rows:
        raise InvalidInput("the CSV has a header but no rows")
    return rows


def _row(record: dict[str | None, str | list[str] | None]) -> BulkRow | str:
    if None in record:
        return "more cells than columns"
    cells = {
        k: (v or "").strip()
        for k, v in record.items()
        if isinstance(k, str) and not isinstance(v, list)
    }
    if any(len(v) > MAX_CELL for v in cells.values()):
        return f"a cell is longer than {MAX_CELL} characters"
    if any(_CONTROL.search(v) for v in cells.values()):
        return "a cell contains control characters"
    if not cells.get("learner_email"):
        return "learner_email is empty"
    if not cells.get("achievement"):
        return "achievement is empty"
    results = tuple(
        ResultIn(key=k.removeprefix("result:"), value=v)
        for k, v in cells.items()
        if k.startswith("result:") and v
    )
    evidence: tuple[EvidenceIn, ...] = ()
    if cells.get("evidence_url") or cells.get("evidence_narrative"):
        url = cells.get("evidence_url") or None
        if url and not url.startswith(("https://", "http://")):
            return f"evidence_url must be an http(s) URL, not {url!r}"
        evidence = (
            EvidenceIn(
                url=url,
                name=cells.get("evidence_name") or None,
                narrative=cells.get("evidence_narrative") or None,
            ),
        )
    return BulkRow(
        learner_email=cells["learner_email"],
        achievement=cells["achievement"],
        learner_name=cells.get("learner_name") or None,
        results=results,
        evidence=evidence,
    )
