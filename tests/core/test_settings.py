"""The ``lakesail`` connection: URL building, extras, look-up discipline, and provider registration."""

from __future__ import annotations

import asyncio
import functools
import importlib
import json
import warnings
from collections.abc import Callable
from importlib.metadata import entry_points
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest

from airflow_provider_flinksp import CONNECTION_FORM, get_provider_info
from airflow_provider_flinksp._compat import AIRFLOW_V3
from airflow_provider_flinksp.core.transport import settings as settings_module
from airflow_provider_flinksp.core.transport.settings import ConnectionSettings
from airflow_provider_flinksp.core.transport.settings import build_base_url as _build_base_url
from airflow_provider_flinksp.exceptions import LakeSailError
from airflow_provider_flinksp.hooks import FlinkRestHook, LakeSailHook
from tests.conftest import bearer

TOKEN = "conn-token-s3cr3t-XYZ"
API = "https://lakesail.test"
ME = f"{API}/api/org/v1/me"
LIST = f"{API}/api/flink/v1/workspaces/WS1/sessions/SESS1/jobs/JOB1/savepoints"
EMPTY_LIST = {"pending": [], "completed": []}

# The LakeSail hook reads its connection with these errors.
build_base_url = functools.partial(_build_base_url, error=LakeSailError)


def make_connection(**kwargs: Any) -> Any:
    """A real Airflow Connection object of the running Airflow version."""
    try:
        from airflow.sdk import Connection
    except ImportError:  # Airflow 2.11
        from airflow.models import Connection  # type: ignore[no-redef]
    extra = kwargs.pop("extra", None)
    if extra is not None and not isinstance(extra, str):
        extra = json.dumps(extra)
    values: dict[str, Any] = {"conn_id": "c1", "conn_type": "lakesail", "password": TOKEN, **kwargs}
    return Connection(extra=extra, **values)


def settings_for(**kwargs: Any) -> ConnectionSettings:
    kwargs.setdefault("host", "lakesail.example.com")
    return LakeSailHook().read_settings(make_connection(**kwargs))


def set_json_conn(monkeypatch: pytest.MonkeyPatch, conn_id: str, **fields: Any) -> None:
    monkeypatch.setenv(f"AIRFLOW_CONN_{conn_id.upper()}", json.dumps({"conn_type": "lakesail", **fields}))


@pytest.fixture
def count_lookups(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Record every ``get_connection`` call made through the hook class (and still perform it)."""
    calls: list[str] = []
    original = LakeSailHook.get_connection

    def counting(cls: type, conn_id: str) -> Any:
        calls.append(conn_id)
        return original(conn_id)

    monkeypatch.setattr(LakeSailHook, "get_connection", classmethod(counting))
    return calls


# ---------------------------------------------------------------------------- the URL


@pytest.mark.parametrize(
    ("host", "schema", "port", "expected"),
    [
        ("https://lakesail.example.com", None, None, "https://lakesail.example.com"),
        ("https://lakesail.example.com/", None, None, "https://lakesail.example.com"),
        ("  https://lakesail.example.com  ", None, None, "https://lakesail.example.com"),
        ("HTTPS://lakesail.example.com", None, None, "https://lakesail.example.com"),
        ("http://127.0.0.1:8080", None, None, "http://127.0.0.1:8080"),
        # No scheme: https, or the schema field's.
        ("lakesail.example.com", None, None, "https://lakesail.example.com"),
        ("lakesail.example.com", "", None, "https://lakesail.example.com"),
        ("lakesail.example.com", "http", None, "http://lakesail.example.com"),
        ("lakesail.example.com", " HTTPS ", None, "https://lakesail.example.com"),
        ("lakesail.example.com", "https", 8443, "https://lakesail.example.com:8443"),
        # A scheme in the host wins over the schema field.
        ("https://lakesail.example.com", "http", None, "https://lakesail.example.com"),
        # Path prefix (a gateway) is kept, without a trailing slash.
        ("https://gw.example.com/lakesail", None, None, "https://gw.example.com/lakesail"),
        ("https://gw.example.com/lakesail/", None, None, "https://gw.example.com/lakesail"),
        ("https://gw.example.com/a/b/", None, 8443, "https://gw.example.com:8443/a/b"),
        ("gw.example.com/lakesail", "http", None, "http://gw.example.com/lakesail"),
        # Port: added when the host has none; the host's own port wins.
        ("https://lakesail.example.com", None, 9443, "https://lakesail.example.com:9443"),
        ("https://lakesail.example.com:7443", None, 9443, "https://lakesail.example.com:7443"),
        ("http://[::1]", None, 8080, "http://[::1]:8080"),
    ],
)
def test_build_base_url(host: str, schema: str | None, port: int | None, expected: str) -> None:
    assert build_base_url(host, schema, port) == expected


@pytest.mark.parametrize(
    ("host", "needle"),
    [
        ("ftp://lakesail.example.com", "not an http"),
        ("https://user:pw@lakesail.example.com", "credentials"),
        ("https://lakesail.example.com:99999", "invalid port"),
        ("https://lakesail.example.com:abc", "invalid port"),
    ],
)
def test_build_base_url_rejects(host: str, needle: str) -> None:
    with pytest.raises(LakeSailError, match=needle) as info:
        build_base_url(host, None, None, conn_id="my_conn")
    assert "my_conn" in str(info.value)
    assert "pw@" not in str(info.value) or needle != "credentials"


@pytest.mark.parametrize("host", ["https://", "http://", "https:///"])
def test_build_base_url_rejects_a_scheme_without_host(host: str) -> None:
    with pytest.raises(LakeSailError, match="not an http"):
        build_base_url(host, None, None, conn_id="my_conn")


def test_plain_http_to_a_remote_host_warns_without_the_token(
    caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(settings_module, "_warned_plain_http", set())
    with caplog.at_level("WARNING", logger="airflow_provider_flinksp.hooks"):
        settings = settings_for(host="http://plain-http-warning.example.com")
        loopback = settings_for(host="http://127.0.0.1:9")
    assert settings.base_url == "http://plain-http-warning.example.com"
    assert loopback.base_url == "http://127.0.0.1:9"
    warned = [r for r in caplog.records if "plain http" in r.getMessage()]
    assert len(warned) == 1
    assert "plain-http-warning.example.com" in warned[0].getMessage()
    assert TOKEN not in caplog.text


# ---------------------------------------------------------------------------- fields and extras


def test_from_connection_reads_every_field() -> None:
    settings = settings_for(
        host="gw.example.com/lakesail",
        schema="http",
        port=8080,
        extra={"timeout": 12, "verify": "/etc/ssl/ca.pem", "retry_limit": 5, "retry_delay": 0.25},
    )
    assert settings == ConnectionSettings(
        base_url="http://gw.example.com:8080/lakesail",
        **bearer(TOKEN),
        timeout=12.0,
        verify="/etc/ssl/ca.pem",
        retry_limit=5,
        retry_delay=0.25,
    )


def test_defaults_when_extra_is_empty() -> None:
    settings = settings_for(extra=None)
    assert (settings.timeout, settings.verify, settings.retry_limit, settings.retry_delay) == (
        None,
        True,
        None,
        None,
    )


def test_token_is_registered_for_masking(monkeypatch: pytest.MonkeyPatch) -> None:
    masked: list[str] = []
    monkeypatch.setattr(settings_module, "mask_secret", masked.append)
    settings_for()
    assert masked == [TOKEN]


@pytest.mark.parametrize(
    ("fields", "needle"),
    [
        ({"host": None}, "no host"),
        ({"host": ""}, "no host"),
        ({"password": None}, "no password"),
        ({"password": ""}, "no password"),
        ({"extra": "[1, 2]"}, "extra that is not a JSON object"),
    ],
)
def test_missing_fields_name_the_field(fields: dict[str, Any], needle: str) -> None:
    fields.setdefault("host", "lakesail.example.com")
    with pytest.raises(LakeSailError, match=needle) as info:
        LakeSailHook().read_settings(make_connection(**fields))
    assert "'c1'" in str(info.value)


def test_extra_that_is_not_json_is_an_error() -> None:
    with pytest.raises(LakeSailError, match="extra"):
        settings_for(extra='{"timeout": 5,')


@pytest.mark.parametrize(
    ("value", "expected"),
    [(30, 30.0), (0.5, 0.5), ("12", 12.0), ("2.5", 2.5), (None, None), ("", None)],
)
def test_extra_timeout(value: Any, expected: float | None) -> None:
    assert settings_for(extra={"timeout": value}).timeout == expected


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (True, True),
        (False, False),
        ("true", True),
        ("True", True),
        ("false", False),
        ("FALSE", False),
        (" false ", False),
        ("0", False),
        ("no", False),
        ("1", True),
        ("/etc/ssl/certs/lakesail-ca.pem", "/etc/ssl/certs/lakesail-ca.pem"),
    ],
)
def test_extra_verify(value: Any, expected: bool | str) -> None:
    assert settings_for(extra={"verify": value}).verify == expected


def test_extra_verify_absent_means_true() -> None:
    assert settings_for(extra={"timeout": 5}).verify is True


@pytest.mark.parametrize(
    ("value", "expected"), [(1, 1), (5, 5), ("4", 4), (" 2 ", 2), (None, None), ("", None)]
)
def test_extra_retry_limit(value: Any, expected: int | None) -> None:
    assert settings_for(extra={"retry_limit": value}).retry_limit == expected


@pytest.mark.parametrize(("value", "expected"), [(0, 0.0), (0.01, 0.01), ("1.5", 1.5), (3, 3.0)])
def test_extra_retry_delay(value: Any, expected: float) -> None:
    assert settings_for(extra={"retry_delay": value}).retry_delay == expected


@pytest.mark.parametrize(
    ("key", "value"),
    [
        ("timeout", 0),
        ("timeout", -1),
        ("timeout", "abc"),
        ("timeout", True),
        ("timeout", "inf"),
        ("timeout", "nan"),
        ("timeout", [30]),
        ("timeout", {"read": 30}),
        ("verify", 1),
        ("verify", ""),
        ("verify", ["/ca.pem"]),
        ("retry_limit", 0),
        ("retry_limit", -2),
        ("retry_limit", 2.5),
        ("retry_limit", "three"),
        ("retry_limit", True),
        ("retry_delay", -0.5),
        ("retry_delay", "soon"),
        ("retry_delay", False),
        ("retry_delay", "nan"),
    ],
)
def test_bad_extra_values_name_the_field(key: str, value: Any) -> None:
    with pytest.raises(LakeSailError, match=f"'{key}'") as info:
        settings_for(extra={key: value})
    assert "'c1'" in str(info.value)
    assert TOKEN not in str(info.value)


# ---------------------------------------------------------------------------- AIRFLOW_CONN_ URI and JSON


def test_airflow_conn_uri_with_every_setting(monkeypatch: pytest.MonkeyPatch) -> None:
    token = "a/b+c=d:e@f%g"  # characters a URI must encode
    uri = (
        f"lakesail://:{quote(token, safe='')}@lakesail.example.com:8443/http"
        "?timeout=12&verify=false&retry_limit=5&retry_delay=0.5"
    )
    monkeypatch.setenv("AIRFLOW_CONN_LS_URI", uri)
    settings = LakeSailHook("ls_uri").settings
    assert settings == ConnectionSettings(
        base_url="http://lakesail.example.com:8443",
        **bearer(token),
        timeout=12.0,
        verify=False,
        retry_limit=5,
        retry_delay=0.5,
    )


def test_airflow_conn_uri_with_full_url_host_and_path_prefix(monkeypatch: pytest.MonkeyPatch) -> None:
    host = quote("https://gw.example.com/lakesail", safe="")
    monkeypatch.setenv("AIRFLOW_CONN_LS_PREFIX", f"lakesail://:{TOKEN}@{host}?verify=%2Fetc%2Fca.pem")
    settings = LakeSailHook("ls_prefix").settings
    assert settings.base_url == "https://gw.example.com/lakesail"
    assert settings.verify == "/etc/ca.pem"
    assert settings.authorization == f"Bearer {TOKEN}"


def test_airflow_conn_uri_bare_host_means_https(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AIRFLOW_CONN_LS_BARE", f"lakesail://:{TOKEN}@lakesail.example.com")
    assert LakeSailHook("ls_bare").settings.base_url == "https://lakesail.example.com"


def test_airflow_conn_json_with_every_setting(monkeypatch: pytest.MonkeyPatch) -> None:
    set_json_conn(
        monkeypatch,
        "ls_json",
        host="https://gw.example.com/lakesail/",
        port=9443,
        password=TOKEN,
        extra={"timeout": 7, "verify": "false", "retry_limit": "2", "retry_delay": 0},
    )
    assert LakeSailHook("ls_json").settings == ConnectionSettings(
        base_url="https://gw.example.com:9443/lakesail",
        **bearer(TOKEN),
        timeout=7.0,
        verify=False,
        retry_limit=2,
        retry_delay=0.0,
    )


def test_airflow_conn_json_with_extra_as_text_and_schema(monkeypatch: pytest.MonkeyPatch) -> None:
    set_json_conn(
        monkeypatch,
        "ls_json_text",
        host="lakesail.internal",
        schema="http",
        password=TOKEN,
        extra=json.dumps({"verify": True, "timeout": "3"}),
    )
    settings = LakeSailHook("ls_json_text").settings
    assert settings.base_url == "http://lakesail.internal"
    assert settings.timeout == 3.0
    assert settings.verify is True


def test_connection_settings_used_on_the_wire(monkeypatch: pytest.MonkeyPatch, requests_mock: Any) -> None:
    """What the connection says is what requests gets: URL with prefix and port, token, timeout, verify."""
    for name in ("REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE"):
        monkeypatch.delenv(name, raising=False)
    set_json_conn(
        monkeypatch,
        "ls_wire",
        host="https://gw.example.com/lakesail",
        port=9443,
        password=TOKEN,
        extra={"timeout": 4, "verify": "/etc/ca.pem"},
    )
    url = f"https://gw.example.com:9443/lakesail{LIST.removeprefix(API)}"
    requests_mock.get(url, json=EMPTY_LIST)
    LakeSailHook("ls_wire").list_session_job_savepoints("WS1", "SESS1", "JOB1")
    sent = requests_mock.request_history[0]
    assert sent.url == url
    assert sent.headers["Authorization"] == f"Bearer {TOKEN}"
    assert sent.timeout == pytest.approx((3.6, 4.0))  # connecting gets 90 % of the whole deadline
    assert sent.verify == "/etc/ca.pem"


@pytest.mark.parametrize("verify", [False, "/etc/lakesail-ca.pem"])
def test_extra_verify_wins_over_a_ca_bundle_in_the_environment(
    monkeypatch: pytest.MonkeyPatch, requests_mock: Any, verify: bool | str
) -> None:
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", "/etc/ssl/certs/ca-certificates.crt")
    set_json_conn(monkeypatch, "ls_env_ca", host=API, password=TOKEN, extra={"verify": verify})
    requests_mock.get(LIST, json=EMPTY_LIST)
    LakeSailHook("ls_env_ca").list_session_job_savepoints("WS1", "SESS1", "JOB1")
    assert requests_mock.request_history[0].verify == verify


# ---------------------------------------------------------------------------- look-up discipline


def test_connection_not_looked_up_at_construction(count_lookups: list[str]) -> None:
    hook = LakeSailHook("does_not_exist_anywhere", retry_limit=2, retry_delay=0.0, timeout=5)
    assert count_lookups == []
    assert "does_not_exist_anywhere" in repr(hook)


def test_connection_looked_up_once_per_hook(
    monkeypatch: pytest.MonkeyPatch, requests_mock: Any, count_lookups: list[str]
) -> None:
    set_json_conn(monkeypatch, "ls_once", host=API, password=TOKEN)
    requests_mock.get(LIST, json=EMPTY_LIST)
    requests_mock.post(LIST, status_code=202, json={"triggerType": "MANUAL", "triggerNonce": "n1"})
    requests_mock.get(ME, json={"type": "serviceAccount", "name": "sa"})
    requests_mock.get(LIST.removesuffix("/savepoints"), json={"state": "RUNNING"})
    hook = LakeSailHook("ls_once")
    assert count_lookups == []
    hook.list_session_job_savepoints("WS1", "SESS1", "JOB1")
    hook.trigger_session_job_savepoint("WS1", "SESS1", "JOB1")
    hook.describe_session_job("WS1", "SESS1", "JOB1")
    assert hook.test_connection()[0] is True
    hook.get_conn()
    assert count_lookups == ["ls_once"]
    LakeSailHook("ls_once").list_session_job_savepoints("WS1", "SESS1", "JOB1")
    assert count_lookups == ["ls_once", "ls_once"]
    assert requests_mock.call_count == 5


def test_test_connection_reports_a_broken_connection(monkeypatch: pytest.MonkeyPatch) -> None:
    set_json_conn(monkeypatch, "ls_no_password", host=API)
    ok, message = LakeSailHook("ls_no_password").test_connection()
    assert ok is False
    assert "no password" in message


# ---------------------------------------------------------------------------- provider registration


def test_provider_info_declares_the_connection_type_and_form() -> None:
    info = get_provider_info()
    assert info["package-name"] == "airflow-provider-flinksp"
    conn_type, flink = info["connection-types"]
    assert conn_type["connection-type"] == "lakesail"
    assert conn_type["hook-class-name"] == "airflow_provider_flinksp.hooks.LakeSailHook"
    form = conn_type["ui-field-behaviour"]
    assert form["hidden-fields"] == ["login"]
    assert form["relabeling"]["host"]
    assert form["relabeling"]["password"]
    assert form["relabeling"]["host"] != "Host"
    assert form["relabeling"]["password"] != "Password"
    assert form["placeholders"]["host"].startswith("https://")
    assert form["placeholders"]["password"]
    placeholder_extra = json.loads(form["placeholders"]["extra"])
    assert set(placeholder_extra) == {"timeout", "verify", "retry_limit", "retry_delay"}
    # The placeholder is itself a valid extra.
    settings_for(extra=placeholder_extra)
    # The flink form: the login stays (basic auth), the extra shows the default savepoint directory.
    assert flink["connection-type"] == "flink"
    assert flink["hook-class-name"] == "airflow_provider_flinksp.hooks.FlinkRestHook"
    flink_form = flink["ui-field-behaviour"]
    assert flink_form["hidden-fields"] == []
    assert flink_form["relabeling"]["host"] == "REST URL"
    assert flink_form["placeholders"]["host"].startswith("http://")
    flink_extra = json.loads(flink_form["placeholders"]["extra"])
    assert set(flink_extra) == {"timeout", "verify", "retry_limit", "retry_delay", "savepoint_dir"}


@pytest.mark.parametrize(
    ("index", "expected", "default", "attr"),
    [
        (0, LakeSailHook, "lakesail_default", "lakesail_conn_id"),
        (1, FlinkRestHook, "flink_default", "flink_conn_id"),
    ],
    ids=["lakesail", "flink"],
)
def test_provider_info_matches_the_hook_class(index: int, expected: type, default: str, attr: str) -> None:
    conn_type = get_provider_info()["connection-types"][index]
    module_name, _, class_name = conn_type["hook-class-name"].rpartition(".")
    hook_class = getattr(importlib.import_module(module_name), class_name)
    assert hook_class is expected
    assert hook_class.conn_type == conn_type["connection-type"]
    assert hook_class.hook_name == conn_type["hook-name"]
    assert hook_class.default_conn_name == default
    assert hook_class.conn_name_attr == attr


@pytest.mark.parametrize(
    ("section", "expected_class"),
    [
        ("hooks", "LakeSailHook"),
        ("sensors", "LakeSailSavepointSensor"),
        ("operators", "LakeSailLatestSavepointOperator"),
        ("operators", "LakeSailTriggerSavepointOperator"),
        ("triggers", "LakeSailSavepointTrigger"),
        ("hooks", "FlinkRestHook"),
        ("sensors", "FlinkSavepointSensor"),
        ("operators", "FlinkTriggerSavepointOperator"),
        ("operators", "FlinkLatestSavepointOperator"),
        ("operators", "FlinkRunJarOperator"),
        ("triggers", "FlinkSavepointTrigger"),
    ],
)
def test_provider_info_modules_import(section: str, expected_class: str) -> None:
    entries = get_provider_info()[section]
    modules = [importlib.import_module(name) for entry in entries for name in entry["python-modules"]]
    assert modules
    assert any(hasattr(module, expected_class) for module in modules)


def test_provider_info_validates_against_airflows_schema() -> None:
    import airflow
    import jsonschema

    root = Path(airflow.__file__).parent
    jsonschema.validate(get_provider_info(), json.loads((root / "provider_info.schema.json").read_text()))
    form_schema = json.loads((root / "customized_form_field_behaviours.schema.json").read_text())
    jsonschema.validate(LakeSailHook.get_ui_field_behaviour(), form_schema)


def test_get_ui_field_behaviour_for_airflow_2() -> None:
    behaviour = LakeSailHook.get_ui_field_behaviour()
    assert set(behaviour) == {"hidden_fields", "relabeling", "placeholders"}
    assert behaviour["hidden_fields"] == ["login"]
    assert behaviour["relabeling"] == CONNECTION_FORM["relabeling"]
    assert behaviour["placeholders"] == CONNECTION_FORM["placeholders"]
    assert {"host", "password"} <= set(behaviour["relabeling"])


def test_entry_point_is_registered() -> None:
    found = [
        ep
        for ep in entry_points(group="apache_airflow_provider")
        if ep.dist.name == "airflow-provider-flinksp"
    ]
    assert len(found) == 1
    assert found[0].value == "airflow_provider_flinksp:get_provider_info"
    loaded: Callable[[], dict[str, Any]] = found[0].load()
    assert loaded() == get_provider_info()


def test_providers_manager_lists_the_hook_and_form() -> None:
    from airflow.providers_manager import ProvidersManager

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        manager = ProvidersManager()
        providers = manager.providers
        hook_info = manager.hooks.get("lakesail")
        behaviours = manager.field_behaviours
        trigger_classes = [info.trigger_class_name for info in manager.trigger]
    assert "airflow-provider-flinksp" in providers
    assert hook_info is not None
    assert hook_info.hook_class_name == "airflow_provider_flinksp.hooks.LakeSailHook"
    assert hook_info.connection_id_attribute_name == "lakesail_conn_id"
    assert hook_info.package_name == "airflow-provider-flinksp"
    assert behaviours["lakesail"]["hidden_fields"] == ["login"]
    assert "flink" in behaviours  # Airflow 2.11 reads the form from each hook class's own namespace
    assert behaviours["lakesail"]["relabeling"]["host"] == CONNECTION_FORM["relabeling"]["host"]
    assert "airflow_provider_flinksp.triggers" in trigger_classes


@pytest.mark.skipif(not AIRFLOW_V3, reason="the task-SDK providers manager exists on Airflow 3 only")
def test_task_sdk_providers_manager_lists_the_hook() -> None:
    from airflow.sdk.providers_manager_runtime import ProvidersManagerTaskRuntime

    hook_info = ProvidersManagerTaskRuntime().hooks.get("lakesail")
    assert hook_info is not None
    assert hook_info.hook_class_name == "airflow_provider_flinksp.hooks.LakeSailHook"


@pytest.mark.parametrize("schema", ["lakesail", "ftp", "api/v2"])
def test_schema_that_is_not_a_scheme_is_an_error(schema: str) -> None:
    """A URI's path lands in the schema field; a path prefix written that way must not vanish silently."""
    with pytest.raises(LakeSailError, match=r"schema .* is not http or https"):
        build_base_url("gw.example.com", schema, None, conn_id="x")


def test_missing_ca_bundle_is_a_provider_error_on_both_paths(
    tmp_path: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A CA bundle path that does not exist: a LakeSailError naming 'verify', never a bare OSError."""
    missing = str(tmp_path / "no-such-ca.pem")
    conn = {
        "conn_type": "lakesail",
        "host": "https://127.0.0.1:9",
        "password": "tok",
        "extra": {"verify": missing},
    }
    monkeypatch.setenv("AIRFLOW_CONN_CA_TEST", json.dumps(conn))
    with pytest.raises(LakeSailError, match="verify"):
        LakeSailHook("ca_test", retry_limit=1).list_session_job_savepoints("WS1", "SESS1", "JOB1")
    with pytest.raises(LakeSailError, match="verify"):
        asyncio.run(
            LakeSailHook("ca_test", retry_limit=1).a_list_session_job_savepoints("WS1", "SESS1", "JOB1")
        )
