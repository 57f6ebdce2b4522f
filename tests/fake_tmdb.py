"""A local stand-in for the TMDB API v3: real HTTP on 127.0.0.1, one thread per connection.

It answers the endpoints ``moviedl ingest-tmdb`` uses, the way TMDB does:

* ``GET /find/{imdb_id}?external_source=imdb_id`` -> ``movie_results`` / ``tv_results`` / ...
* ``GET /movie/{id}`` and ``GET /tv/{id}`` (``append_to_response=external_ids,credits,...``)
* ``GET /movie/changes`` and ``GET /tv/changes`` (``start_date``, ``end_date``, ``page``): the ids
  changed in the window, ``changes_page_size`` (100) per page, as ``{"id", "adult"}`` objects with
  ``page``, ``total_pages`` and ``total_results``. :meth:`FakeTmdb.change` records a change; an id
  changed twice is listed twice (TMDB does the same), possibly on two pages. A window of more than
  14 days is refused with TMDB's error (HTTP 422, ``status_code`` 47); no dates mean the last
  day. ``changes_empty_pages`` lists page numbers answered with no results (counted in
  ``total_pages``), as TMDB sometimes does; no page beyond ``changes_max_page`` (1000) is served. :attr:`FakeTmdb.overrides` changes fields of a
  title's details answer (``vote_average``...), so a refetch sees new values.

Any ``tt`` id is a movie unless listed in :attr:`FakeTmdb.tv_ids` (a series),
:attr:`FakeTmdb.both_ids` (``/find`` lists a movie and a series), :attr:`FakeTmdb.missing_ids`
(``/find`` answers empty lists) or :attr:`FakeTmdb.gone_ids` (``/find`` names a movie whose
``/movie/{id}`` answers 404). The TMDB id is the number of the
IMDb id, so ``tt0012349`` is movie ``12349``.

Auth is checked like TMDB does it: ``api_key`` in the query or ``Authorization: Bearer``;
anything else gets 401 with TMDB's own error body (``status_code`` 7). Faults are programmed
per path (glob patterns) and consumed in order::

    fake.fail("/find/tt0012349", 429, retry_after=2)      # once
    fake.fail("/movie/*", 503, times=2)
    fake.fail("/find/*", "slow", delay=1.0)               # answers after 1 s
    fake.fail("/tv/*", "truncated")                       # 200 with half a JSON body
    fake.fail("/find/*", "reset")                         # closes the connection, no answer
    fake.fail("/find/*", 503, times=100, every=3)         # 1 request in 3 (a flaky server)
    fake.fail("/movie/changes", 429, after=2)             # the third page asked for

``latency`` delays every answer; ``rate_limit`` (requests per second, token bucket with a
burst of one second's worth) answers 429 (``status_code`` 25, ``Retry-After: 1``) beyond it.
Every request is logged in :attr:`FakeTmdb.requests`.

:class:`SilentServer` is a TCP endpoint on 127.0.0.1 that accepts connections and never
answers: a frozen TMDB or S3 endpoint.
"""

from __future__ import annotations

import datetime as dt
import fnmatch
import json
import re
import socket
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

API_KEY = "fake-api-key-0123456789abcdef"
TOKEN = "fake-read-token-eyJhbGciOiJIUzI1NiJ9.abcdef"

ERRORS: dict[int, tuple[int, str]] = {
    401: (7, "Invalid API key: You must be granted a valid key."),
    404: (34, "The resource you requested could not be found."),
    429: (25, "Your request count (41) is over the allowed limit of (40)."),
    500: (11, "Internal error: Something went wrong, contact TMDb."),
    503: (9, "Service offline: This service is temporarily offline, try again later."),
    400: (22, "Invalid page: Pages start at 1 and max at 500. They are expected to be an integer."),
    422: (47, "The input is not valid."),
    403: (3, "Authentication failed: You do not have permissions to access the service."),
}
GENRES = [{"id": 18, "name": "Drama"}, {"id": 35, "name": "Comedy"}, {"id": 80, "name": "Crime"}]


@dataclass
class Fault:
    pattern: str
    kind: int | str  # an HTTP status, or "slow", "truncated", "reset"
    times: int = 1
    retry_after: str | None = None
    delay: float = 0.0
    every: int = 1  # applies to one matching request in ``every`` (the first, then every n-th)
    after: int = 0  # the first ``after`` matching requests are answered normally
    seen: int = 0


@dataclass(frozen=True)
class LoggedRequest:
    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    status: int | str
    at: float = field(default_factory=time.monotonic)


class _Bucket:
    """Server-side token bucket: ``rate`` per second, bursts up to ``rate``."""

    def __init__(self, rate: float) -> None:
        self.rate = rate
        self.tokens = rate
        self.stamp = time.monotonic()
        self.lock = threading.Lock()

    def take(self) -> bool:
        with self.lock:
            now = time.monotonic()
            self.tokens = min(self.rate, self.tokens + (now - self.stamp) * self.rate)
            self.stamp = now
            if self.tokens >= 1:
                self.tokens -= 1
                return True
            return False


VARIED_LANGUAGES = ["en", "en", "en", "en", "fr", "ja", "ko", "es", "pt", "de", "it", "en"]


class FakeTmdb:
    """Start with ``with FakeTmdb() as fake:``; ``fake.url`` is the base URL (``.../3``)."""

    def __init__(self, *, latency: float = 0.0, rate_limit: float | None = None,
                 api_key: str = API_KEY, token: str = TOKEN, padding: int = 0, varied: bool = False) -> None:
        self.api_key = api_key
        # varied: budget, revenue and language differ per title (deterministic), for demos; by
        # default every movie answers the same figures, which tests rely on.
        self.varied = varied
        self.token = token
        self.latency = latency
        self.rate_limit = rate_limit
        self.padding = padding  # extra characters in each details answer (file-size tests)
        self.tv_ids: set[str] = set()
        self.missing_ids: set[str] = set()
        self.gone_ids: set[str] = set()
        self.both_ids: set[str] = set()  # /find lists a movie and a series
        self.overrides: dict[str, dict[str, Any]] = {}  # imdb id -> fields of its details answer
        self.changes: dict[str, list[tuple[dt.date, int]]] = {"movie": [], "tv": []}
        self.changes_page_size = 100
        self.changes_empty_pages: set[int] = set()
        self.changes_max_days = 14
        self.changes_max_page = 1000  # TMDB answers no page beyond (400, status_code 22)
        self.requests: list[LoggedRequest] = []
        self.faults: list[Fault] = []
        self._lock = threading.Lock()
        self._bucket: _Bucket | None = None
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    # --- lifecycle ------------------------------------------------------------------------
    def start(self) -> FakeTmdb:
        fake = self

        class Handler(_Handler):
            server_fake = fake

        self._bucket = _Bucket(self.rate_limit) if self.rate_limit else None
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self._server.handle_error = lambda request, address: None  # type: ignore[method-assign]
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05},
                                        daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def __enter__(self) -> FakeTmdb:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def url(self) -> str:
        assert self._server is not None, "start the fake first"
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}/3"

    # --- programming and inspection -------------------------------------------------------
    def fail(self, pattern: str, kind: int | str, *, times: int = 1, retry_after: str | int | None = None,
             delay: float = 0.0, every: int = 1, after: int = 0) -> None:
        """Answer requests whose path (after ``/3``) matches ``pattern`` with a fault; with
        ``every=n`` only one matching request in n (the others are answered normally); with
        ``after=n`` from the (n+1)-th matching request on (e.g. in the middle of paging)."""
        with self._lock:
            self.faults.append(Fault(pattern, kind, times, None if retry_after is None else str(retry_after),
                                     delay, every, after))

    def change(self, media: str, ids: int | str | list[int | str], on: dt.date | None = None) -> None:
        """Record a change of each id (a TMDB id, or ``tt...`` for the title's TMDB id) on ``on``
        (default today, UTC): ``/{media}/changes`` lists it for a window holding that day."""
        day = on or dt.datetime.now(dt.UTC).date()
        for one in ids if isinstance(ids, list) else [ids]:
            tmdb_id = int(one[2:]) if isinstance(one, str) else one
            with self._lock:
                self.changes[media].append((day, tmdb_id))

    def paths(self, pattern: str = "*") -> list[str]:
        with self._lock:
            return [r.path for r in self.requests if fnmatch.fnmatchcase(r.path, pattern)]

    def found_ids(self) -> list[str]:
        """The IMDb ids asked for with ``/find``, in request order."""
        return [p.rsplit("/", 1)[1] for p in self.paths("/find/*")]

    def clear(self) -> None:
        with self._lock:
            self.requests.clear()
            self.faults.clear()

    # --- behaviour ------------------------------------------------------------------------
    def _take_fault(self, path: str) -> Fault | None:
        with self._lock:
            for fault in self.faults:
                if fault.times > 0 and fnmatch.fnmatchcase(path, fault.pattern):
                    fault.seen += 1
                    if fault.seen <= fault.after or (fault.seen - 1 - fault.after) % fault.every:
                        continue
                    fault.times -= 1
                    return fault
        return None

    def _log(self, entry: LoggedRequest) -> None:
        with self._lock:
            self.requests.append(entry)

    def answer(self, path: str, query: dict[str, str]) -> tuple[int, Any]:
        if match := re.fullmatch(r"/(movie|tv)/changes", path):
            return self._changes(match.group(1), query)
        if match := re.fullmatch(r"/find/(tt\d+)", path):
            return 200, self._find(match.group(1))
        if match := re.fullmatch(r"/(movie|tv)/(\d+)", path):
            imdb_id = f"tt{int(match.group(2)):07d}"
            media = match.group(1)
            is_tv = imdb_id in self.tv_ids
            wrong_kind = is_tv != (media == "tv") and imdb_id not in self.both_ids
            if imdb_id in self.missing_ids or imdb_id in self.gone_ids or wrong_kind:
                return 404, None
            appends = [a for a in query.get("append_to_response", "").split(",") if a]
            return 200, self._details(imdb_id, media, appends)
        if re.fullmatch(r"/find/[^/]+", path):
            return 200, _empty_find()
        return 404, None

    def _changes(self, media: str, query: dict[str, str]) -> tuple[int, Any]:
        today = dt.datetime.now(dt.UTC).date()
        try:
            end = dt.date.fromisoformat(query["end_date"]) if "end_date" in query else today
            start = dt.date.fromisoformat(query["start_date"]) if "start_date" in query else end - dt.timedelta(days=1)
            page = int(query.get("page", "1"))
        except ValueError:
            return 422, _error_body(422)
        if not 1 <= page <= self.changes_max_page:
            return 400, _error_body(400)
        if (end - start).days > self.changes_max_days or end < start:
            body = _error_body(422)
            body["errors"] = [f"Invalid date range: should be a range no longer than {self.changes_max_days} days."]
            return 422, body
        with self._lock:
            ids = [tmdb_id for day, tmdb_id in self.changes[media] if start <= day <= end]
        size = self.changes_page_size
        pages: list[list[int]] = [ids[i:i + size] for i in range(0, len(ids), size)]
        for empty in sorted(self.changes_empty_pages):
            if empty <= len(pages) + 1:
                pages.insert(empty - 1, [])
        results = pages[page - 1] if page <= len(pages) else []
        return 200, {"results": [{"id": i, "adult": False} for i in results], "page": page,
                     "total_pages": max(len(pages), 1), "total_results": len(ids)}

    def _find(self, imdb_id: str) -> dict[str, Any]:
        result = _empty_find()
        if imdb_id in self.missing_ids:
            return result
        tmdb_id = int(imdb_id[2:])
        if imdb_id in self.tv_ids or imdb_id in self.both_ids:
            result["tv_results"] = [{"id": tmdb_id, "name": f"Series {imdb_id}", "media_type": "tv",
                                     "original_name": f"Series {imdb_id}", "genre_ids": [18]}]
        if imdb_id not in self.tv_ids:
            result["movie_results"] = [{"id": tmdb_id, "title": f"Movie {imdb_id}", "media_type": "movie",
                                        "original_title": f"Movie {imdb_id}", "genre_ids": [18]}]
        return result

    def _details(self, imdb_id: str, media: str, appends: list[str]) -> dict[str, Any]:
        tmdb_id = int(imdb_id[2:])
        common: dict[str, Any] = {
            "id": tmdb_id, "original_language": "en", "popularity": round(tmdb_id % 1000 / 7, 3),
            "vote_average": 7.5, "vote_count": tmdb_id % 5000, "genres": GENRES[: 1 + tmdb_id % 3],
            "overview": "x" * self.padding,
        }
        budget, revenue = 63_000_000, 463_517_383
        if self.varied:
            common["original_language"] = VARIED_LANGUAGES[tmdb_id % len(VARIED_LANGUAGES)]
            budget = 0 if tmdb_id % 7 == 0 else (tmdb_id % 190 + 5) * 1_000_000  # 0: TMDB's "unknown"
            revenue = round(budget * (0.3 + (tmdb_id % 61) / 10))
        if media == "movie":
            body = {**common, "imdb_id": imdb_id, "title": f"Movie {imdb_id}",
                    "original_title": f"Movie {imdb_id}", "release_date": "1999-03-31",
                    "budget": budget, "revenue": revenue, "runtime": 136}
        else:
            body = {**common, "name": f"Series {imdb_id}", "original_name": f"Series {imdb_id}",
                    "first_air_date": "1989-07-05", "last_air_date": "1998-05-14",
                    "number_of_seasons": 9, "number_of_episodes": 180}
        body.update(self.overrides.get(imdb_id, {}))
        if "external_ids" in appends:
            body["external_ids"] = {"imdb_id": imdb_id, "wikidata_id": None}
        if "credits" in appends:
            body["credits"] = {"cast": [{"id": 1, "name": "Someone", "character": "Self"}], "crew": []}
        return body


def _error_body(status: int) -> dict[str, Any]:
    code, message = ERRORS.get(status, (0, f"HTTP {status}"))
    return {"status_code": code, "status_message": message, "success": False}


def _empty_find() -> dict[str, list[Any]]:
    return {"movie_results": [], "person_results": [], "tv_results": [], "tv_episode_results": [],
            "tv_season_results": []}


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, like the real API
    disable_nagle_algorithm = True  # headers and body go out in two writes
    server_fake: FakeTmdb

    def log_message(self, format: str, *args: Any) -> None:  # silence the access log
        pass

    def do_GET(self) -> None:  # noqa: N802 - http.server's naming
        fake = self.server_fake
        parts = urlsplit(self.path)
        path = parts.path.removeprefix("/3")
        query = {k: v[0] for k, v in parse_qs(parts.query).items()}
        headers = {k.lower(): v for k, v in self.headers.items()}

        def log(status: int | str) -> None:
            fake._log(LoggedRequest("GET", path, query, headers, status))

        if fake.latency:
            time.sleep(fake.latency)
        if fake._bucket is not None and not fake._bucket.take():
            log(429)
            return self._send_error(429, retry_after="1")
        if not self._authorized(query, headers):
            log(401)
            return self._send_error(401)
        fault = fake._take_fault(path)
        if fault is not None:
            if fault.kind == "reset":
                log("reset")
                self.close_connection = True
                return
            if fault.kind == "slow":
                time.sleep(fault.delay)
            elif fault.kind == "truncated":
                status, body = fake.answer(path, query)
                data = json.dumps(body).encode()
                log("truncated")
                return self._send(200, data[: len(data) // 2])
            else:
                log(int(fault.kind))
                return self._send_error(int(fault.kind), retry_after=fault.retry_after)
        status, body = fake.answer(path, query)
        log(status)
        if status != 200 and isinstance(body, dict):  # TMDB's error body, with details
            return self._send(status, json.dumps(body).encode())
        if status != 200:
            return self._send_error(status)
        self._send(200, json.dumps(body).encode())

    def _authorized(self, query: dict[str, str], headers: dict[str, str]) -> bool:
        fake = self.server_fake
        bearer = headers.get("authorization", "")
        if bearer:
            return bearer == f"Bearer {fake.token}"
        return query.get("api_key") == fake.api_key

    def _send_error(self, status: int, retry_after: str | None = None) -> None:
        if status in (502, 504):  # a proxy in front of TMDB answers in HTML
            body = f"<html><body><h1>{status} Gateway error</h1></body></html>".encode()
            return self._send(status, body, "text/html", retry_after)
        code, message = ERRORS.get(status, (0, f"HTTP {status}"))
        body = json.dumps({"status_code": code, "status_message": message, "success": False}).encode()
        self._send(status, body, retry_after=retry_after)

    def _send(self, status: int, body: bytes, content_type: str = "application/json;charset=utf-8",
              retry_after: str | None = None) -> None:
        try:
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            if retry_after is not None:
                self.send_header("Retry-After", retry_after)
            self.end_headers()
            self.wfile.write(body)
        except OSError:  # the client gave up (timeout) and closed the connection
            self.close_connection = True


class SilentServer:
    """Accepts TCP connections on 127.0.0.1 and never answers; bounded:
    ``stop()`` (or leaving the ``with`` block) closes every connection and the thread ends."""

    def __init__(self) -> None:
        self._listener = socket.create_server(("127.0.0.1", 0))
        self._listener.settimeout(0.05)
        self._stop = threading.Event()
        self._connections: list[socket.socket] = []
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self.accepted = 0

    @property
    def port(self) -> int:
        return int(self._listener.getsockname()[1])

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def _serve(self) -> None:
        while not self._stop.is_set():
            try:
                connection, _ = self._listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            self._connections.append(connection)
            self.accepted += 1

    def __enter__(self) -> SilentServer:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=5)
        for connection in self._connections:
            connection.close()
        self._listener.close()


def closed_port() -> int:
    """A local port nobody listens on (connections are refused)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])
