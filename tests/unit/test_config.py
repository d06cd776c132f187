"""Typed settings: defaults, then CAREERKG_* variables, then explicit values; what no service can run with refused."""

from __future__ import annotations

from pathlib import Path

import pytest

from service.config import Settings
from service.errors import CareerKGError


def test_defaults() -> None:
    settings = Settings.load(environ={})
    assert (settings.host, settings.port, settings.threads, settings.query_timeout) == ("127.0.0.1", 8080, 8, 10.0)
    assert settings.max_body == 10 * 1024 * 1024
    assert settings.write_token is None
    assert settings.network_allow == ()
    assert settings.store.endswith("store")


@pytest.mark.parametrize(
    ("variable", "raw", "field", "value"),
    [
        ("CAREERKG_PORT", "9000", "port", 9000),
        ("CAREERKG_QUERY_TIMEOUT", "2.5", "query_timeout", 2.5),
        ("CAREERKG_WRITE_TOKEN", "s3cret", "write_token", "s3cret"),
        ("CAREERKG_STORE", "memory", "store", "memory"),
        ("CAREERKG_DATA", "a.ttl:b", "data", (Path("a.ttl"), Path("b"))),
        ("CAREERKG_NETWORK_ALLOW", "http://a:1 http://b:2", "network_allow", ("http://a:1", "http://b:2")),
        ("CAREERKG_MAX_LITERAL", "10", "max_literal", 10),
        ("CAREERKG_PORT", "", "port", 8080),  # empty means unset
    ],
)
def test_environment(variable: str, raw: str, field: str, value: object) -> None:
    assert getattr(Settings.load(environ={variable: raw}), field) == value


def test_explicit_values_win_and_none_is_ignored() -> None:
    settings = Settings.load(
        {"port": 7000, "threads": None}, environ={"CAREERKG_PORT": "9000", "CAREERKG_THREADS": "3"}
    )
    assert (settings.port, settings.threads) == (7000, 3)


@pytest.mark.parametrize(
    ("values", "message"),
    [
        ({"port": 0}, "port"),
        ({"port": 70000}, "port"),
        ({"threads": 0}, "threads"),
        ({"query_timeout": 0.0}, "timeout"),
        ({"query_workers": 0}, "query workers"),
        ({"max_body": 0}, "max body"),
        ({"max_literal": 0}, "max literal"),
        ({"workers": 2, "store": "memory"}, "remote store"),
    ],
)
def test_impossible_settings_are_refused(values: dict[str, object], message: str) -> None:
    with pytest.raises(CareerKGError, match=message):
        Settings.load(values, environ={})


@pytest.mark.parametrize(("variable", "raw"), [("CAREERKG_PORT", "eighty"), ("CAREERKG_QUERY_TIMEOUT", "soon")])
def test_values_that_do_not_parse_name_the_variable(variable: str, raw: str) -> None:
    with pytest.raises(CareerKGError, match=variable):
        Settings.load(environ={variable: raw})
