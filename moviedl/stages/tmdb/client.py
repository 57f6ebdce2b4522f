"""A polite TMDB API v3 client: lookup by IMDb id, shared rate limit, retries, no leaked secrets.

* :class:`RateLimiter` is a thread-safe token bucket shared by every worker; a ``429`` with
  ``Retry-After`` holds every worker off, not only the one that received it.
* :class:`TmdbClient` keeps one ``requests.Session`` (one keep-alive connection) per worker
  thread and retries with tenacity: on 429 (``Retry-After`` honoured, otherwise exponential
  backoff with full jitter), 500/502/503/504, timeouts, connection failures and bodies that are
  not JSON. A 401 stops everything at once (:class:`TmdbAuthError`, exit 3); a 404 or an empty
  ``/find`` answer means *not found*; any other 4xx, or the last failed attempt, gives up on
  that id (:class:`TmdbGiveUp`).
* :class:`CircuitBreaker` is shared by every worker: when every request has failed
  (connection error, timeout, 5xx, a 429 without ``Retry-After``, a body that is not JSON) for
  ``outage_seconds`` with no answer in between, it opens; the client then cancels every worker
  and raises :class:`TmdbOutage` (exit 3) instead of retrying each id for hours. Any answer
  that is not such a failure (a 200, a 404, a 429 with ``Retry-After`` is neutral) closes it.
* The API key or token never appears in a message: every text that leaves this module goes
  through :func:`redact`.
"""

from __future__ import annotations

import datetime as dt
import email.utils
import logging
import re
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import requests
from requests.adapters import HTTPAdapter
from tenacity import (
    RetryCallState,
    Retrying,
    retry_if_exception_type,
    stop_after_attempt,
    wait_random_exponential,
)

from moviedl import __version__
from moviedl.core.errors import ConfigError, ServiceError, UsageError
from moviedl.core.sources import KINDS

if TYPE_CHECKING:
    from moviedl.core.config import Secret, Settings

API_KEY_PAGE = "https://www.themoviedb.org/settings/api"
DEFAULT_APPENDS: tuple[str, ...] = ("external_ids",)
MAX_APPENDS = 20  # TMDB's limit for append_to_response
RETRY_STATUSES = frozenset({500, 502, 503, 504})
MEDIA_TYPES = tuple(kind.tmdb_media for kind in KINDS)  # ("movie", "tv")

_API_KEY_IN_TEXT = re.compile(r"(api_key=)[^&\s'\"]+", re.IGNORECASE)
_BEARER_IN_TEXT = re.compile(r"(Bearer\s+)[A-Za-z0-9._~+/=-]+", re.IGNORECASE)
_APPEND_NAME = re.compile(r"[a-z][a-z0-9_/]*")


def redact(text: str, secrets: Iterable[str] = ()) -> str:
    """``text`` with ``api_key=...`` values, bearer tokens and the given secret values masked."""
    text = _API_KEY_IN_TEXT.sub(r"\1****", text)
    text = _BEARER_IN_TEXT.sub(r"\1****", text)
    for secret in secrets:
        if secret:
            text = text.replace(secret, "****")
    return text


class _RedactUrllib3(logging.Filter):
    """urllib3 logs request lines (with ``api_key=``) at DEBUG level: mask them."""

    def filter(self, record: logging.LogRecord) -> bool:
        if record.args:
            record.args = tuple(redact(a) if isinstance(a, str) else a for a in record.args)
        record.msg = redact(str(record.msg))
        return True


logging.getLogger("urllib3.connectionpool").addFilter(_RedactUrllib3())


# --- errors -----------------------------------------------------------------------------------


class TmdbAuthError(ServiceError):
    """TMDB refused the credentials (HTTP 401): stop at once, exit 3."""


class TmdbGiveUp(Exception):
    """One id could not be looked up (retries exhausted, or a 4xx other than 401/404)."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class Cancelled(Exception):
    """The run is stopping (Ctrl-C, a 401 in another worker): no more requests."""


class TmdbOutage(ServiceError):
    """Every TMDB request failed for ``outage_seconds``: the circuit breaker opened (exit 3).

    ``base_url`` is where TMDB was asked, ``seen`` what the failures were (``HTTP 503 on 57
    requests in 30 s, no success``); the message is completed by whoever knows what was saved.
    """

    def __init__(self, message: str, *, base_url: str = "", seen: str = "", hint: str | None = None) -> None:
        super().__init__(message, hint=hint)
        self.base_url = base_url
        self.seen = seen


class _Transient(Exception):
    def __init__(self, reason: str, retry_after: float | None = None, kind: str | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.retry_after = retry_after
        self.kind = kind or reason  # short, for the outage message: "HTTP 503", "timeout (10 s)"


class _Permanent(Exception):
    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class _NotFound(Exception):
    pass


# --- rate limit and retry policy --------------------------------------------------------------


class RateLimiter:
    """Token bucket shared by threads: ``rate`` tokens per second, at most ``burst`` saved up.

    :meth:`acquire` reserves the next token and sleeps until it is due, so callers are spaced
    ``1/rate`` apart however many threads ask. :meth:`hold_off` pushes every later token back.
    """

    def __init__(self, rate: float, burst: int = 1, *, clock: Callable[[], float] = time.monotonic,
                 sleep: Callable[[float], Any] = time.sleep) -> None:
        if rate <= 0 or burst < 1:
            raise ValueError("rate must be > 0 and burst ≥ 1")
        self.rate = rate
        self.burst = burst
        self._clock = clock
        self._sleep = sleep
        self._tokens = float(burst)
        self._stamp = clock()
        self._lock = threading.Lock()

    def _refill(self) -> float:
        now = self._clock()
        self._tokens = min(float(self.burst), self._tokens + (now - self._stamp) * self.rate)
        self._stamp = now
        return now

    def acquire(self) -> float:
        """Take one token, sleeping as long as needed; returns the seconds waited."""
        with self._lock:
            self._refill()
            self._tokens -= 1
            wait = 0.0 if self._tokens >= 0 else -self._tokens / self.rate
        if wait > 0:
            self._sleep(wait)
        return wait

    def hold_off(self, seconds: float) -> None:
        """Give out no token for the next ``seconds`` (TMDB asked us to wait)."""
        with self._lock:
            self._refill()
            self._tokens = min(self._tokens, 1 - seconds * self.rate)


class CircuitBreaker:
    """Opens when every request has failed for ``outage_seconds`` with no success in between.

    Shared by all workers. A failure streak starts when the first failing request *started*
    (a request that hangs until its timeout counts from when it was sent), but never before the
    last success. :meth:`failure` returns True when this failure opened the breaker.
    """

    def __init__(self, outage_seconds: float = 30.0, *, clock: Callable[[], float] = time.monotonic) -> None:
        if outage_seconds <= 0:
            raise ValueError("outage_seconds must be > 0")
        self.outage_seconds = outage_seconds
        self._clock = clock
        self._lock = threading.Lock()
        self._last_success = float("-inf")
        self._streak_start: float | None = None
        self._kinds: Counter[str] = Counter()
        self._opened_at: float | None = None
        self._seen = ""

    def now(self) -> float:
        return self._clock()

    @property
    def is_open(self) -> bool:
        return self._opened_at is not None

    @property
    def seen(self) -> str:
        """What the failures were, once open: ``HTTP 503 on 57 requests in 30 s, no success``."""
        return self._seen

    def success(self) -> None:
        with self._lock:
            if self._opened_at is not None:
                return  # open stays open: the run is already stopping
            self._last_success = self._clock()
            self._streak_start = None
            self._kinds.clear()

    def failure(self, kind: str, started: float | None = None) -> bool:
        """Record one failed request (sent at ``started``); True if the breaker opens now."""
        with self._lock:
            if self._opened_at is not None:
                return False
            now = self._clock()
            began = max(now if started is None else started, self._last_success)
            if self._streak_start is None or began < self._streak_start:
                self._streak_start = began
            self._kinds[kind] += 1
            lasted = now - self._streak_start
            if lasted < self.outage_seconds:
                return False
            self._opened_at = now
            parts = [f"{k} on {n} request{'s' if n != 1 else ''}" for k, n in self._kinds.most_common(3)]
            if len(self._kinds) > 3:
                parts.append(f"other failures on {sum(n for _, n in self._kinds.most_common()[3:])}")
            self._seen = f"{', '.join(parts)} in {lasted:.0f} s, no success"
            return True


@dataclass(frozen=True)
class Backoff:
    """Waits between attempts: ``initial * 2**n`` with full jitter, capped at ``maximum``."""

    initial: float = 0.5
    maximum: float = 30.0
    retry_after_max: float = 300.0  # a longer Retry-After is honoured only up to this


def parse_retry_after(value: str | None, now: dt.datetime | None = None) -> float | None:
    """Seconds from a ``Retry-After`` header (delta-seconds or an HTTP date); None if absent/bad."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=dt.UTC)
    return max(0.0, (when - (now or dt.datetime.now(dt.UTC))).total_seconds())


@dataclass
class ClientStats:
    requests: int = 0
    retries: int = 0
    rate_limited: int = 0
    first_request: float | None = None
    last_answer: float | None = None

    @property
    def elapsed(self) -> float:
        if self.first_request is None or self.last_answer is None:
            return 0.0
        return max(self.last_answer - self.first_request, 1e-9)

    @property
    def requests_per_second(self) -> float:
        return self.requests / self.elapsed if self.requests else 0.0


@dataclass(frozen=True)
class Lookup:
    """The answer for one IMDb id: ``record`` is None when TMDB does not know the id."""

    imdb_id: str
    media_type: str | None = None  # "movie" or "tv"
    tmdb_id: int | None = None
    record: dict[str, Any] | None = None

    @property
    def found(self) -> bool:
        return self.record is not None


def check_appends(names: Sequence[str]) -> tuple[str, ...]:
    """``external_ids`` plus ``names`` (deduplicated), checked against TMDB's limit of 20."""
    appends = list(DEFAULT_APPENDS)
    for name in names:
        name = name.strip().lower()
        if not name:
            continue
        if not _APPEND_NAME.fullmatch(name):
            raise UsageError(f"--append {name!r}: not a TMDB append_to_response name (e.g. credits, keywords)")
        if name not in appends:
            appends.append(name)
    if len(appends) > MAX_APPENDS:
        raise UsageError(f"--append: {len(appends)} names with external_ids; TMDB allows at most {MAX_APPENDS}")
    return tuple(appends)


# --- the client -------------------------------------------------------------------------------


class TmdbClient:
    """Thread-safe: share one client across a worker pool; each thread gets its own session."""

    def __init__(
        self,
        base_url: str,
        *,
        api_key: Secret | None = None,
        token: Secret | None = None,
        requests_per_second: float = 40.0,
        timeout: float = 10.0,
        max_attempts: int = 6,
        appends: Sequence[str] = DEFAULT_APPENDS,
        backoff: Backoff = Backoff(),
        sleep: Callable[[float], Any] | None = None,
        limiter: RateLimiter | None = None,
        outage_seconds: float = 30.0,
        breaker: CircuitBreaker | None = None,
    ) -> None:
        """``sleep`` waits between retries (tests pass a recorder); ``limiter`` is built from
        ``requests_per_second`` and ``breaker`` from ``outage_seconds`` unless given."""
        if api_key is None and token is None:
            raise ConfigError(
                "no TMDB credentials: set TMDB_READ_ACCESS_TOKEN (bearer token) or TMDB_API_KEY "
                "in the environment",
                hint=f"Get an API key and read access token (free TMDB account) at {API_KEY_PAGE}",
            )
        self.base_url = base_url.rstrip("/")
        self._api_key = api_key
        self._token = token
        self._secrets = tuple(s.reveal() for s in (api_key, token) if s is not None)
        self.timeout = timeout
        self.max_attempts = max_attempts
        self.appends = tuple(appends)
        self.backoff = backoff
        self._cancelled = threading.Event()
        self._sleep = sleep or self._cancellable_sleep
        self.limiter = limiter or RateLimiter(requests_per_second, sleep=self._cancellable_sleep)
        self._jitter = wait_random_exponential(multiplier=backoff.initial, max=backoff.maximum)
        self.breaker = breaker or CircuitBreaker(outage_seconds)
        self._local = threading.local()
        self._sessions: list[requests.Session] = []
        self._lock = threading.Lock()
        self.stats = ClientStats()

    @classmethod
    def from_settings(cls, settings: Settings, *, appends: Sequence[str] = DEFAULT_APPENDS,
                      backoff: Backoff = Backoff(), sleep: Callable[[float], Any] | None = None) -> TmdbClient:
        return cls(
            settings.tmdb_base_url,
            api_key=settings.tmdb_api_key,
            token=settings.tmdb_read_access_token,
            requests_per_second=settings.tmdb_requests_per_second,
            timeout=settings.tmdb_timeout_seconds,
            max_attempts=settings.tmdb_max_attempts,
            outage_seconds=settings.tmdb_outage_seconds,
            appends=appends,
            backoff=backoff,
            sleep=sleep,
        )

    # --- lifecycle ----------------------------------------------------------------------------
    def cancel(self) -> None:
        """Stop: waiting workers wake up and no new request starts."""
        self._cancelled.set()

    @property
    def cancelled(self) -> bool:
        return self._cancelled.is_set()

    @property
    def outage(self) -> TmdbOutage | None:
        """The error to stop with once the circuit breaker has opened, else None."""
        if not self.breaker.is_open:
            return None
        seen = self.breaker.seen
        return TmdbOutage(
            f"TMDB at {self.base_url} is not answering: {seen} "
            f"(tmdb.outage_seconds = {self.breaker.outage_seconds:g})",
            base_url=self.base_url, seen=seen,
        )

    def close(self) -> None:
        with self._lock:
            for session in self._sessions:
                session.close()
            self._sessions.clear()

    def _cancellable_sleep(self, seconds: float) -> None:
        self._cancelled.wait(seconds)

    def _session(self) -> requests.Session:
        session: requests.Session | None = getattr(self._local, "session", None)
        if session is None:
            session = requests.Session()
            session.mount("http://", HTTPAdapter(pool_connections=1, pool_maxsize=1, max_retries=0))
            session.mount("https://", HTTPAdapter(pool_connections=1, pool_maxsize=1, max_retries=0))
            session.headers.update({"Accept": "application/json", "User-Agent": f"moviedl/{__version__}"})
            if self._token is not None:
                session.headers["Authorization"] = f"Bearer {self._token.reveal()}"
            self._local.session = session
            with self._lock:
                self._sessions.append(session)
        return session

    # --- lookups ------------------------------------------------------------------------------
    def lookup(self, imdb_id: str, prefer: str = "movie") -> Lookup:
        """Find ``imdb_id`` and fetch its movie or TV details; never matches by title.

        When ``/find`` lists both a movie and a series, ``prefer`` (``movie``/``tv``) decides.
        Raises :class:`TmdbGiveUp`, :class:`TmdbAuthError`, :class:`TmdbOutage` or
        :class:`Cancelled`.
        """
        try:
            found = self.get(f"/find/{imdb_id}", {"external_source": "imdb_id"})
        except _NotFound:
            return Lookup(imdb_id)
        order = sorted(MEDIA_TYPES, key=lambda media: media != prefer)  # ``prefer`` first
        for media in order:
            hits = found.get(f"{media}_results") or []
            if hits:
                break
        else:
            return Lookup(imdb_id)
        tmdb_id = hits[0].get("id") if isinstance(hits[0], dict) else None
        if not isinstance(tmdb_id, int) or isinstance(tmdb_id, bool):
            raise TmdbGiveUp(f"GET /find/{imdb_id}: the {media} result has no numeric id")
        return self.details(imdb_id, media, tmdb_id)

    def details(self, imdb_id: str, media: str, tmdb_id: int) -> Lookup:
        """Fetch the details of a title whose TMDB id is known (one request, no ``/find``):
        a title already in the lake, fetched again. A 404 gives a :class:`Lookup` without record."""
        try:
            details = self.get(f"/{media}/{tmdb_id}", {"append_to_response": ",".join(self.appends)})
        except _NotFound:
            return Lookup(imdb_id)
        fetched_at = dt.datetime.now(dt.UTC).isoformat(timespec="seconds").replace("+00:00", "Z")
        # The id we looked up wins over TMDB's own imdb_id field (kept in external_ids).
        record = {"imdb_id": imdb_id, "media_type": media, "fetched_at": fetched_at}
        record.update({k: v for k, v in details.items() if k not in record})
        return Lookup(imdb_id, media, tmdb_id, record)

    def changes(self, media: str, start: dt.date, end: dt.date, page: int = 1) -> tuple[list[int], int]:
        """Page ``page`` of the change list ``/{media}/changes`` for ``start``..``end`` (TMDB refuses
        more than 14 days): the TMDB ids listed and TMDB's ``total_pages``. Raises like :meth:`lookup`."""
        path = f"/{media}/changes"
        try:
            body = self.get(path, {"start_date": start.isoformat(), "end_date": end.isoformat(), "page": str(page)})
        except _NotFound:
            raise TmdbGiveUp(f"GET {path}: HTTP 404 (the change list is not there)") from None
        results = body.get("results")
        if not isinstance(results, list):
            raise TmdbGiveUp(f"GET {path} page {page}: the answer has no results list")
        ids = [r["id"] for r in results if isinstance(r, dict) and type(r.get("id")) is int]
        total = body.get("total_pages")
        return ids, total if type(total) is int else page

    def get(self, path: str, params: dict[str, str]) -> dict[str, Any]:
        """GET ``path`` with retries; the JSON object, or raises (see :meth:`lookup`)."""
        retrying = Retrying(
            stop=stop_after_attempt(self.max_attempts),
            wait=self._wait,
            retry=retry_if_exception_type(_Transient),
            sleep=self._sleep,
            before_sleep=self._before_sleep,
            reraise=True,
        )
        try:
            return retrying(self._attempt, path, params)
        except _Transient as exc:
            attempts = f"{self.max_attempts} attempt{'s' if self.max_attempts != 1 else ''}"
            raise TmdbGiveUp(self._redact(f"GET {path}: {exc.reason} (gave up after {attempts})")) from None
        except _Permanent as exc:
            raise TmdbGiveUp(self._redact(f"GET {path}: {exc.reason} (not retried)")) from None

    def _wait(self, state: RetryCallState) -> float:
        exc = state.outcome.exception() if state.outcome else None
        if isinstance(exc, _Transient) and exc.retry_after is not None:
            return min(exc.retry_after, self.backoff.retry_after_max)
        return float(self._jitter(state))

    def _before_sleep(self, state: RetryCallState) -> None:
        with self._lock:
            self.stats.retries += 1

    def _redact(self, text: str) -> str:
        return redact(text, self._secrets)

    def _check_running(self) -> None:
        if (outage := self.outage) is not None:
            raise outage
        if self._cancelled.is_set():
            raise Cancelled()

    def _attempt(self, path: str, params: dict[str, str]) -> dict[str, Any]:
        self._check_running()
        self.limiter.acquire()
        self._check_running()
        query = dict(params)
        if self._token is None and self._api_key is not None:
            query["api_key"] = self._api_key.reveal()
        with self._lock:
            self.stats.requests += 1
            if self.stats.first_request is None:
                self.stats.first_request = time.monotonic()
        started = self.breaker.now()
        try:
            try:
                response = self._session().get(self.base_url + path, params=query, timeout=self.timeout)
            except requests.Timeout:
                raise _Transient(f"no answer within {self.timeout:g} s",
                                 kind=f"no answer within {self.timeout:g} s") from None
            except requests.ConnectionError as exc:
                kind = "connection refused" if "refused" in str(exc).lower() else "connection failed"
                raise _Transient(self._redact(f"connection failed ({_short(exc)})"), kind=kind) from None
            except requests.RequestException as exc:
                raise _Transient(self._redact(f"transfer failed ({_short(exc)})"), kind="transfer failed") from None
            finally:
                with self._lock:
                    self.stats.last_answer = time.monotonic()
            body = self._read(path, response)
        except _Transient as exc:
            if exc.retry_after is None:  # a 429 with Retry-After is TMDB's rate limit working
                self._breaker_failure(exc.kind, started)
            raise
        except TmdbAuthError:
            raise
        except (_NotFound, _Permanent):
            self.breaker.success()  # TMDB answered: it is up
            raise
        self.breaker.success()
        return body

    def _breaker_failure(self, kind: str, started: float) -> None:
        if self.breaker.failure(kind, started):
            self.cancel()  # wake every worker (backoff sleeps, rate-limit waits): no more requests
        if (outage := self.outage) is not None:
            raise outage

    def _read(self, path: str, response: requests.Response) -> dict[str, Any]:
        status = response.status_code
        if status == 200:
            try:
                body = response.json()
            except ValueError:
                raise _Transient("the answer is not valid JSON", kind="invalid JSON") from None
            if not isinstance(body, dict):
                raise _Transient("the answer is not a JSON object", kind="invalid JSON")
            return body
        message = _tmdb_message(response)
        if status == 401:
            self.cancel()
            raise TmdbAuthError(
                self._redact(f"TMDB refused the credentials (HTTP 401{message}) for GET {path}"),
                hint=f"Check TMDB_READ_ACCESS_TOKEN / TMDB_API_KEY; get them at {API_KEY_PAGE}",
            )
        if status == 404:
            raise _NotFound()
        if status == 429:
            retry_after = parse_retry_after(response.headers.get("Retry-After"))
            with self._lock:
                self.stats.rate_limited += 1
            if retry_after is not None:
                self.limiter.hold_off(min(retry_after, self.backoff.retry_after_max))
            raise _Transient(f"HTTP 429{message}", retry_after, kind="HTTP 429")
        if status in RETRY_STATUSES:
            raise _Transient(f"HTTP {status}{message}", kind=f"HTTP {status}")
        raise _Permanent(f"HTTP {status}{message}")


def _tmdb_message(response: requests.Response) -> str:
    """``: <status_message> (status_code N)`` from a TMDB error body, or ``""``."""
    try:
        body = response.json()
    except ValueError:
        return ""
    if isinstance(body, dict) and body.get("status_message"):
        return f": {body['status_message']} (TMDB status_code {body.get('status_code')})"
    return ""


def _short(exc: BaseException) -> str:
    text = str(exc) or type(exc).__name__
    return text if len(text) <= 300 else text[:297] + "..."
