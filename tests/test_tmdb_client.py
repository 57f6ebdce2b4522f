"""The TMDB client against a local fake TMDB server (real HTTP): routing, auth, retries, secrets."""

from __future__ import annotations

import datetime as dt
import logging
import threading
import time
import traceback

import pytest

from moviedl.core.config import Secret
from moviedl.core.errors import UsageError
from moviedl.stages.tmdb.client import (
    Backoff,
    Cancelled,
    RateLimiter,
    TmdbAuthError,
    TmdbClient,
    TmdbGiveUp,
    TmdbOutage,
    check_appends,
    parse_retry_after,
    redact,
)
from tests.fake_tmdb import API_KEY, TOKEN, FakeTmdb

FAST = Backoff(initial=0.001, maximum=0.01)


class VirtualTime:
    """A clock that only moves when someone sleeps; records retry waits and rate-limit waits."""

    def __init__(self) -> None:
        self.now = 0.0
        self.retry_waits: list[float] = []
        self.limiter_waits: list[float] = []

    def clock(self) -> float:
        return self.now

    def retry_sleep(self, seconds: float) -> None:
        self.retry_waits.append(round(seconds, 6))
        self.now += seconds

    def limiter_sleep(self, seconds: float) -> None:
        self.limiter_waits.append(round(seconds, 6))
        self.now += seconds


def client_for(fake: FakeTmdb, time: VirtualTime | None = None, **overrides) -> TmdbClient:
    """A client with fast backoff; with ``time``, every wait is virtual and recorded."""
    options = {"api_key": Secret(API_KEY), "requests_per_second": 1000.0, "timeout": 2.0,
               "max_attempts": 4, "backoff": FAST}
    if time is not None:
        options["sleep"] = time.retry_sleep
        options["limiter"] = RateLimiter(1000.0, clock=time.clock, sleep=time.limiter_sleep)
    options.update(overrides)
    return TmdbClient(fake.url, **options)


# --- lookup by id, routing ------------------------------------------------------------------


def test_a_movie_is_found_by_imdb_id_then_fetched_from_movie_with_external_ids(fake_tmdb: FakeTmdb) -> None:
    found = client_for(fake_tmdb).lookup("tt0012349")

    assert found.media_type == "movie" and found.tmdb_id == 12349
    assert found.record is not None
    assert found.record["imdb_id"] == "tt0012349"
    assert found.record["title"] == "Movie tt0012349"
    assert found.record["external_ids"]["imdb_id"] == "tt0012349"
    assert dt.datetime.fromisoformat(found.record["fetched_at"].replace("Z", "+00:00"))
    assert fake_tmdb.paths() == ["/find/tt0012349", "/movie/12349"]
    find, details = fake_tmdb.requests
    assert find.query["external_source"] == "imdb_id"
    assert details.query["append_to_response"] == "external_ids"


def test_a_series_is_fetched_from_tv_not_movie(fake_tmdb: FakeTmdb) -> None:
    fake_tmdb.tv_ids.add("tt0098904")
    found = client_for(fake_tmdb).lookup("tt0098904", prefer="tv")

    assert found.media_type == "tv"
    assert found.record and found.record["name"] == "Series tt0098904"
    assert found.record["imdb_id"] == "tt0098904" and found.record["media_type"] == "tv"
    assert fake_tmdb.paths() == ["/find/tt0098904", "/tv/98904"]


@pytest.mark.parametrize(("prefer", "path"), [("movie", "/movie/98904"), ("tv", "/tv/98904")])
def test_when_find_lists_a_movie_and_a_series_the_csv_kind_decides(fake_tmdb: FakeTmdb, prefer: str, path: str) -> None:
    fake_tmdb.both_ids.add("tt0098904")
    found = client_for(fake_tmdb).lookup("tt0098904", prefer=prefer)

    assert found.media_type == prefer
    assert fake_tmdb.paths() == ["/find/tt0098904", path]


def test_an_empty_find_answer_is_not_found_after_one_request(fake_tmdb: FakeTmdb) -> None:
    fake_tmdb.missing_ids.add("tt0000001")
    found = client_for(fake_tmdb).lookup("tt0000001")

    assert not found.found and found.media_type is None
    assert fake_tmdb.paths() == ["/find/tt0000001"]


def test_a_404_for_the_details_is_not_found_and_not_retried(fake_tmdb: FakeTmdb) -> None:
    fake_tmdb.gone_ids.add("tt0000002")
    client = client_for(fake_tmdb)
    found = client.lookup("tt0000002")

    assert not found.found
    assert fake_tmdb.paths() == ["/find/tt0000002", "/movie/2"]
    assert fake_tmdb.requests[-1].status == 404
    assert client.stats.retries == 0


def test_more_appends_are_requested_and_kept(fake_tmdb: FakeTmdb) -> None:
    client = client_for(fake_tmdb, appends=check_appends(["credits", "CREDITS"]))
    found = client.lookup("tt0012349")

    assert fake_tmdb.requests[-1].query["append_to_response"] == "external_ids,credits"
    assert found.record and found.record["credits"]["cast"][0]["name"] == "Someone"


def test_appends_are_limited_to_twenty_like_tmdb() -> None:
    assert check_appends(["credits", " keywords ", "credits"]) == ("external_ids", "credits", "keywords")
    with pytest.raises(UsageError, match="at most 20"):
        check_appends([f"part{i}" for i in range(20)])
    with pytest.raises(UsageError, match="not a TMDB append"):
        check_appends(["credits&api_key=x"])


# --- auth ---------------------------------------------------------------------------------------


def test_a_bearer_token_goes_in_the_header_and_no_key_in_the_url(fake_tmdb: FakeTmdb) -> None:
    client_for(fake_tmdb, api_key=None, token=Secret(TOKEN)).lookup("tt0012349")

    assert all(r.headers["authorization"] == f"Bearer {TOKEN}" for r in fake_tmdb.requests)
    assert all("api_key" not in r.query for r in fake_tmdb.requests)


def test_no_credentials_is_a_config_error_naming_where_to_get_them(fake_tmdb: FakeTmdb) -> None:
    with pytest.raises(Exception) as caught:
        TmdbClient(fake_tmdb.url)
    assert caught.value.exit_code == 2  # type: ignore[attr-defined]
    assert "https://www.themoviedb.org/settings/api" in str(caught.value)


def test_a_refused_key_stops_at_once_without_retry_or_leaking_it(fake_tmdb: FakeTmdb) -> None:
    wrong = "wrong-key-5f2b9c"
    client = client_for(fake_tmdb, api_key=Secret(wrong))
    with pytest.raises(TmdbAuthError) as caught:
        client.lookup("tt0012349")

    assert caught.value.exit_code == 3
    assert "HTTP 401" in str(caught.value) and "status_code 7" in str(caught.value)
    assert wrong not in str(caught.value)
    assert len(fake_tmdb.requests) == 1
    with pytest.raises(Cancelled):  # every other worker stops too
        client.lookup("tt0015648")
    assert len(fake_tmdb.requests) == 1


# --- retries ------------------------------------------------------------------------------------


def test_429_with_retry_after_waits_exactly_that_long(fake_tmdb: FakeTmdb) -> None:
    fake_tmdb.fail("/find/tt0012349", 429, retry_after=7)
    time = VirtualTime()
    client = client_for(fake_tmdb, time)
    found = client.lookup("tt0012349")

    assert found.found
    assert time.retry_waits == [7.0]
    assert time.now == pytest.approx(7.001)  # nobody went earlier: 7 s, then one rate-limit slot
    assert (client.stats.rate_limited, client.stats.retries, client.stats.requests) == (1, 1, 3)
    assert fake_tmdb.requests[0].status == 429


def test_429_without_retry_after_backs_off_exponentially_with_jitter(fake_tmdb: FakeTmdb) -> None:
    fake_tmdb.fail("/find/*", 429, times=7)
    time = VirtualTime()
    client = client_for(fake_tmdb, time, max_attempts=8, backoff=Backoff(initial=1.0, maximum=1000.0))
    assert client.lookup("tt0012349").found
    sleeps = time.retry_waits

    assert len(sleeps) == 7 and client.stats.rate_limited == 7
    for attempt, wait in enumerate(sleeps):
        assert 0 <= wait <= 2**attempt  # full jitter under an exponential ceiling
    assert max(sleeps) > 1.0  # the ceiling grows: some wait exceeds the first one's bound
    assert len(set(sleeps)) == len(sleeps)  # jittered, not a fixed schedule


@pytest.mark.parametrize("status", [500, 502, 503, 504])
def test_server_errors_are_retried(fake_tmdb: FakeTmdb, status: int) -> None:
    fake_tmdb.fail("/movie/*", status, times=2)
    client = client_for(fake_tmdb)
    found = client.lookup("tt0012349")

    assert found.found
    assert [r.status for r in fake_tmdb.requests] == [200, status, status, 200]
    assert client.stats.retries == 2


def test_an_answer_slower_than_the_timeout_is_retried(fake_tmdb: FakeTmdb) -> None:
    fake_tmdb.fail("/find/*", "slow", delay=1.5)
    client = client_for(fake_tmdb, timeout=0.3)
    found = client.lookup("tt0012349")

    assert found.found
    assert client.stats.requests == 3 and client.stats.retries == 1


@pytest.mark.parametrize("fault", ["truncated", "reset"])
def test_truncated_json_and_dropped_connections_are_retried(fake_tmdb: FakeTmdb, fault: str) -> None:
    fake_tmdb.fail("/movie/*", fault)
    client = client_for(fake_tmdb)
    found = client.lookup("tt0012349")

    assert found.found and found.record and found.record["budget"] == 63_000_000
    assert client.stats.retries == 1


def test_after_the_last_attempt_the_id_is_given_up_with_the_reason(fake_tmdb: FakeTmdb) -> None:
    fake_tmdb.fail("/find/*", 503, times=100)
    with pytest.raises(TmdbGiveUp) as caught:
        client_for(fake_tmdb, max_attempts=3).lookup("tt0012349")

    assert "GET /find/tt0012349: HTTP 503" in caught.value.reason
    assert "Service offline" in caught.value.reason and "3 attempts" in caught.value.reason
    assert len(fake_tmdb.requests) == 3


@pytest.mark.parametrize("status", [400, 403])
def test_other_client_errors_are_not_retried(fake_tmdb: FakeTmdb, status: int) -> None:
    fake_tmdb.fail("/find/*", status)
    with pytest.raises(TmdbGiveUp, match=f"HTTP {status}.*not retried"):
        client_for(fake_tmdb).lookup("tt0012349")
    assert len(fake_tmdb.requests) == 1


def test_a_connection_failure_message_never_shows_the_key(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    client = TmdbClient("http://127.0.0.1:9/3", api_key=Secret(API_KEY), max_attempts=2, backoff=FAST,
                        requests_per_second=1000)
    with pytest.raises(TmdbGiveUp) as caught:
        client.lookup("tt0012349")

    assert "connection failed" in caught.value.reason
    assert API_KEY not in caught.value.reason and "api_key=****" in caught.value.reason
    assert API_KEY not in "".join(traceback.format_exception(caught.value))  # what a traceback shows
    assert API_KEY not in caplog.text


def test_urllib3_debug_logs_are_redacted(fake_tmdb: FakeTmdb, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG, logger="urllib3")
    client_for(fake_tmdb).lookup("tt0012349")

    assert "/find/tt0012349" in caplog.text  # the request line is logged...
    assert API_KEY not in caplog.text  # ...without the key


def test_redact_masks_keys_tokens_and_known_secrets() -> None:
    text = "GET /3/find/tt1?api_key=abc123&x=1 Authorization: Bearer eyJ.abc-def and sekret"
    assert redact(text, ["sekret"]) == "GET /3/find/tt1?api_key=****&x=1 Authorization: Bearer **** and ****"


# --- rate limit -----------------------------------------------------------------------------------


class FakeClock:
    def __init__(self) -> None:
        self.now = 100.0
        self.slept: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.slept.append(round(seconds, 6))


def test_the_rate_limiter_spaces_callers_at_the_rate() -> None:
    clock = FakeClock()
    limiter = RateLimiter(10, clock=clock, sleep=clock.sleep)
    waits = [round(limiter.acquire(), 6) for _ in range(5)]  # all at the same instant

    assert waits == [0.0, 0.1, 0.2, 0.3, 0.4]
    clock.now += 1.0  # idle time refills at most `burst` tokens
    assert [round(limiter.acquire(), 6) for _ in range(2)] == [0.0, 0.1]


def test_retry_after_holds_off_every_caller() -> None:
    clock = FakeClock()
    limiter = RateLimiter(10, clock=clock, sleep=clock.sleep)
    limiter.acquire()
    limiter.hold_off(2.0)
    assert round(limiter.acquire(), 6) == 2.0


def test_retry_after_header_forms() -> None:
    now = dt.datetime(2024, 5, 1, 12, 0, 0, tzinfo=dt.UTC)
    assert parse_retry_after("120", now) == 120.0
    assert parse_retry_after("Wed, 01 May 2024 12:00:30 GMT", now) == 30.0
    assert parse_retry_after("Wed, 01 May 2024 11:00:00 GMT", now) == 0.0
    assert parse_retry_after("soon", now) is None
    assert parse_retry_after(None, now) is None


# --- circuit breaker --------------------------------------------------------------------------


def test_workers_sleeping_in_a_long_backoff_stop_as_soon_as_the_breaker_opens(fake_tmdb: FakeTmdb) -> None:
    """16 workers, TMDB answers 503, retries would wait up to 10 s each: once every request has
    failed for 0.5 s the breaker opens and wakes every sleeper; nobody sends another request."""
    fake_tmdb.fail("*", 503, times=10**6)
    client = client_for(fake_tmdb, backoff=Backoff(initial=10, maximum=10), max_attempts=6, outage_seconds=0.5)
    errors: list[BaseException] = []

    def work(n: int) -> None:
        try:
            client.lookup(f"tt{n:07d}")
        except BaseException as exc:  # noqa: BLE001 - collected for the assertions
            errors.append(exc)

    started = time.monotonic()
    workers = [threading.Thread(target=work, args=(n,)) for n in range(1, 17)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(timeout=30)
    seconds = time.monotonic() - started

    assert len(errors) == 16 and all(isinstance(e, TmdbOutage) for e in errors), errors
    assert seconds < 5, seconds  # without waking the sleepers: until the last 10 s backoff ends
    assert len(fake_tmdb.requests) <= 20  # the first attempt each, and the one that opened it
    message = errors[0].message
    assert message.startswith(f"TMDB at {fake_tmdb.url} is not answering: HTTP 503 on ")
    assert "no success (tmdb.outage_seconds = 0.5)" in message
