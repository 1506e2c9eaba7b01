"""A stored recording as an HTTP response, with single byte ranges (206) so a player can seek,
streamed from whichever store holds it."""

from __future__ import annotations

from fastapi.responses import Response, StreamingResponse

from app.storage import AudioStore


def byte_range(header: str | None, size: int) -> tuple[int, int] | None:
    """The (start, end exclusive) of one `bytes=` range; None: send the whole recording (no
    range, a form we do not serve, such as several ranges, which HTTP lets a server ignore).
    ValueError: a range that starts past the end (416)."""
    if not header:
        return None
    unit, _, spec = header.replace(" ", "").partition("=")
    if unit != "bytes" or "," in spec:
        return None
    first, dash, last = spec.partition("-")
    if not dash or not (first.isdigit() or last.isdigit()):
        return None
    if not first:  # `-500`: the last 500 bytes
        if (suffix := int(last)) == 0:
            raise ValueError("an empty suffix range")
        return max(0, size - suffix), size
    start = int(first)
    if start >= size:
        raise ValueError("the range starts past the end")
    if not last:
        return start, size
    if not last.isdigit() or int(last) < start:
        return None
    return start, min(int(last) + 1, size)


def recording_response(
    store: AudioStore,
    key: str,
    *,
    size: int,
    range_header: str | None,
    media_type: str | None,
    filename: str,
    disposition: str,
) -> Response:
    headers = {
        "accept-ranges": "bytes",
        "content-disposition": f'{disposition}; filename="{filename}"',
    }
    try:
        wanted = byte_range(range_header, size)
    except ValueError:
        return Response(status_code=416, headers={**headers, "content-range": f"bytes */{size}"})
    start, end = wanted or (0, size)
    headers["content-length"] = str(end - start)
    if wanted is not None:
        headers["content-range"] = f"bytes {start}-{end - 1}/{size}"
    # A sync iterator: Starlette reads it in a worker thread, so a slow store blocks no loop.
    return StreamingResponse(
        store.read(key, start, end),
        status_code=206 if wanted is not None else 200,
        headers=headers,
        media_type=media_type,
    )
