"""A polite TMDB API v3 client: lookup by IMDb id, shared rate limit, retries, no leaked secrets.

* :class:`RateLimiter` is a thread-safe token bucket shared by every worker; a ``429`` with
  ``Retry-After`` holds every worker off, not only the one that received it.
* :class:`TmdbClient` keeps one ``requests.Session`` (one keep-alive connection) per worker
  thread and retries with tenacity: on 429 (``Retry-After`` honoured, otherwise exponential
  backoff with full jitter), 500/502/503/504, timeouts, connection failures and bodies that are
  not JSON. A 401 stops everything at once (:class:`TmdbAuthError`, exit 3); a 404 or an empty
  ``/find`` answer means *not found*; any other 4xx, or the last failed attempt, gives up on
  that id (:class:`TmdbGiveUp`).
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
from moviedl.errors import ConfigError, ServiceError, UsageError

if TYPE_CHECKING:
    from moviedl.config import Secret, Settings

API_KEY_PAGE = "https://www.themoviedb.org/settings/api"
DEFAULT_APPENDS: tuple[str, ...] = ("external_ids",)
MAX_APPENDS = 20  # TMDB's limit for append_to_response
RETRY_STATUSES = frozenset({500, 502, 503, 504})
MEDIA_TYPES = ("movie", "tv")

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


class _Transient(Exception):
    def __init__(self, reason: str, retry_after: float | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.retry_after = retry_after


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
    ) -> None:
        """``sleep`` waits between retries (tests pass a recorder); ``limiter`` is built from
        ``requests_per_second`` unless given."""
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
        Raises :class:`TmdbGiveUp`, :class:`TmdbAuthError` or :class:`Cancelled`.
        """
        try:
            found = self.get(f"/find/{imdb_id}", {"external_source": "imdb_id"})
        except _NotFound:
            return Lookup(imdb_id)
        order = ("tv", "movie") if prefer == "tv" else ("movie", "tv")
        for media in order:
            hits = found.get(f"{media}_results") or []
            if hits:
                break
        else:
            return Lookup(imdb_id)
        tmdb_id = hits[0].get("id") if isinstance(hits[0], dict) else None
        if not isinstance(tmdb_id, int) or isinstance(tmdb_id, bool):
            raise TmdbGiveUp(f"GET /find/{imdb_id}: the {media} result has no numeric id")
        try:
            details = self.get(f"/{media}/{tmdb_id}", {"append_to_response": ",".join(self.appends)})
        except _NotFound:
            return Lookup(imdb_id)
        fetched_at = dt.datetime.now(dt.UTC).isoformat(timespec="seconds").replace("+00:00", "Z")
        # The id we looked up wins over TMDB's own imdb_id field (kept in external_ids).
        record = {"imdb_id": imdb_id, "media_type": media, "fetched_at": fetched_at}
        record.update({k: v for k, v in details.items() if k not in record})
        return Lookup(imdb_id, media, tmdb_id, record)

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

    def _attempt(self, path: str, params: dict[str, str]) -> dict[str, Any]:
        if self._cancelled.is_set():
            raise Cancelled()
        self.limiter.acquire()
        if self._cancelled.is_set():
            raise Cancelled()
        query = dict(params)
        if self._token is None and self._api_key is not None:
            query["api_key"] = self._api_key.reveal()
        with self._lock:
            self.stats.requests += 1
            if self.stats.first_request is None:
                self.stats.first_request = time.monotonic()
        try:
            response = self._session().get(self.base_url + path, params=query, timeout=self.timeout)
        except requests.Timeout:
            raise _Transient(f"no answer within {self.timeout:g} s") from None
        except requests.ConnectionError as exc:
            raise _Transient(self._redact(f"connection failed ({_short(exc)})")) from None
        except requests.RequestException as exc:
            raise _Transient(self._redact(f"transfer failed ({_short(exc)})")) from None
        finally:
            with self._lock:
                self.stats.last_answer = time.monotonic()
        return self._read(path, response)

    def _read(self, path: str, response: requests.Response) -> dict[str, Any]:
        status = response.status_code
        if status == 200:
            try:
                body = response.json()
            except ValueError:
                raise _Transient("the answer is not valid JSON") from None
            if not isinstance(body, dict):
                raise _Transient("the answer is not a JSON object")
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
            raise _Transient(f"HTTP 429{message}", retry_after)
        if status in RETRY_STATUSES:
            raise _Transient(f"HTTP {status}{message}")
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
