"""CSV exports that a spreadsheet cannot be tricked by (formula injection, OWASP)."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Sequence
from datetime import datetime

from fastapi import Request
from fastapi.responses import Response

_FORMULA_START = ("=", "+", "-", "@", "\t", "\r", "\n")


def safe_cell(value: object) -> str:
    """A cell as text; text a spreadsheet would run as a formula is prefixed with a quote.
    Numbers are left alone, so -3.5 stays a number."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return str(round(value, 3)) if isinstance(value, float) else str(value)
    if isinstance(value, datetime):
        return value.isoformat()
    text = str(value)
    return "'" + text if text.startswith(_FORMULA_START) else text


def to_csv(header: Sequence[str], rows: Iterable[Sequence[object]]) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(header)
    for row in rows:
        writer.writerow([safe_cell(v) for v in row])
    return out.getvalue()


def csv_response(
    header: Sequence[str], rows: Iterable[Sequence[object]], *, filename: str
) -> Response:
    return Response(
        to_csv(header, rows),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )


def wants_csv(request: Request, format: str | None = None) -> bool:
    return format == "csv" or "text/csv" in request.headers.get("accept", "")


def csv_requested(request: Request) -> bool:
    """`wants_csv` for a route's `?format=`: lists whose CSV export is audited write only then
    (`writes_audit(when=csv_requested)`), their JSON pages stay read-only."""
    return wants_csv(request, request.query_params.get("format"))
