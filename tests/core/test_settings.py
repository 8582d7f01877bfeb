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
ODD_TOKEN = "a/b+c=d:e@f%g"  # characters a URI must encode
API = "https://lakesail.test"
BARE = ConnectionSettings("https://lakesail.example.com", **bearer(TOKEN))
LIST = f"{API}/api/flink/v1/workspaces/WS1/sessions/SESS1/jobs/JOB1/savepoints"

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


@pytest.mark.parametrize(
    ("host", "schema", "port", "expected"),
    [
        ("https://lakesail.example.com", None, None, "https://lakesail.example.com"),
        ("https://lakesail.example.com/", None, None, "https://lakesail.example.com"),
        ("  https://lakesail.example.com  ", None, None, "https://lakesail.example.com"),
        ("HTTPS://lakesail.example.com", None, None, "https://lakesail.example.com"),
        ("http://127.0.0.1:8080", None, None, "http://127.0.0.1:8080"),
        ("lakesail.example.com", None, None, "https://lakesail.example.com"),
        ("lakesail.example.com", "", None, "https://lakesail.example.com"),
        ("lakesail.example.com", "http", None, "http://lakesail.example.com"),
        ("lakesail.example.com", " HTTPS ", None, "https://lakesail.example.com"),
        ("lakesail.example.com", "https", 8443, "https://lakesail.example.com:8443"),
        ("https://lakesail.example.com", "http", None, "https://lakesail.example.com"),
        ("https://gw.example.com/lakesail", None, None, "https://gw.example.com/lakesail"),
        ("https://gw.example.com/lakesail/", None, None, "https://gw.example.com/lakesail"),
        ("https://gw.example.com/a/b/", None, 8443, "https://gw.example.com:8443/a/b"),
        ("gw.example.com/lakesail", "http", None, "http://gw.example.com/lakesail"),
        ("https://lakesail.example.com", None, 9443, "https://lakesail.example.com:9443"),
        ("https://lakesail.example.com:7443", None, 9443, "https://lakesail.example.com:7443"),
        ("http://[::1]", None, 8080, "http://[::1]:8080"),
    ],
)
def test_build_base_url(host: str, schema: str | None, port: int | None, expected: str) -> None:
    assert build_base_url(host, schema, port) == expected


@pytest.mark.parametrize(
    ("host", "schema", "needle"),
    [
        ("ftp://lakesail.example.com", None, "not an http"),
        ("https://", None, "not an http"),
        ("http://", None, "not an http"),
        ("https:///", None, "not an http"),
        ("https://user:pw@lakesail.example.com", None, "credentials"),
        ("https://user@lakesail.example.com", None, "credentials"),
        ("https://lakesail.example.com:99999", None, "invalid port"),
        ("https://lakesail.example.com:abc", None, "invalid port"),
        # A URI's path lands in the schema field; a path prefix written that way must not vanish.
        ("gw.example.com", "lakesail", r"schema .* is not http or https"),
        ("gw.example.com", "ftp", r"schema .* is not http or https"),
        ("gw.example.com", "api/v2", r"schema .* is not http or https"),
    ],
)
def test_build_base_url_rejects(host: str, schema: str | None, needle: str) -> None:
    with pytest.raises(LakeSailError, match=needle) as info:
        build_base_url(host, schema, None, conn_id="my_conn")
    assert "my_conn" in str(info.value)
    assert "pw@" not in str(info.value)


def test_plain_http_warns_once_and_only_for_a_remote_host(
    caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(settings_module, "_warned_plain_http", set())
    remote = "http://plain-http-warning.example.com"
    local = ["http://127.0.0.1:8080", "http://localhost", "http://[::1]:9000", "http://127.9.9.9"]
    with caplog.at_level("WARNING", logger="airflow_provider_flinksp.hooks"):
        for host in [remote, remote, *local, "https://remote.example"]:
            assert settings_for(host=host).base_url == host
    warned = [r.getMessage() for r in caplog.records if "plain http" in r.getMessage()]
    assert len(warned) == 1
    assert remote in warned[0]
    assert TOKEN not in caplog.text


VERIFY = [(True, True), (False, False), ("true", True), ("True", True), ("false", False), ("FALSE", False)]
VERIFY += [(" false ", False), ("0", False), ("no", False), ("1", True), ("/etc/ca.pem", "/etc/ca.pem")]


@pytest.mark.parametrize(
    ("key", "value", "expected"),
    [
        ("timeout", v, e)
        for v, e in [(30, 30.0), (0.5, 0.5), ("12", 12.0), ("2.5", 2.5), (None, None), ("", None)]
    ]
    + [("verify", v, e) for v, e in VERIFY]
    + [("retry_limit", v, e) for v, e in [(1, 1), (5, 5), ("4", 4), (" 2 ", 2), (None, None), ("", None)]]
    + [("retry_delay", v, e) for v, e in [(0, 0.0), (0.01, 0.01), ("1.5", 1.5), (3, 3.0)]],
)
def test_extra_value(key: str, value: Any, expected: Any) -> None:
    assert getattr(settings_for(extra={key: value}), key) == expected


BAD_EXTRAS = [("timeout", v) for v in (0, -1, "abc", True, "inf", "nan", [30], {"read": 30})]
BAD_EXTRAS += [("verify", v) for v in (1, "", ["/ca.pem"])]
BAD_EXTRAS += [("retry_limit", v) for v in (0, -2, 2.5, "three", True)]
BAD_EXTRAS += [("retry_delay", v) for v in (-0.5, "soon", False, "nan")]


@pytest.mark.parametrize(
    ("fields", "needle"),
    [
        ({"host": None}, "no host"),
        ({"host": ""}, "no host"),
        ({"password": None}, "no password"),
        ({"password": ""}, "no password"),
        ({"extra": "[1, 2]"}, "extra that is not a JSON object"),
        ({"extra": '{"timeout": 5,'}, "extra that is not valid JSON"),
    ]
    + [({"extra": {key: value}}, f"'{key}'") for key, value in BAD_EXTRAS],
)
def test_bad_connection_names_the_field(fields: dict[str, Any], needle: str) -> None:
    with pytest.raises(LakeSailError, match=needle) as info:
        LakeSailHook().read_settings(make_connection(**{"host": "lakesail.example.com", **fields}))
    assert "'c1'" in str(info.value)
    assert TOKEN not in str(info.value)


def _json(**fields: Any) -> str:
    return json.dumps({"conn_type": "lakesail", "password": TOKEN, **fields})


def cs(base_url: str, token: str = TOKEN, **fields: Any) -> ConnectionSettings:
    return ConnectionSettings(base_url, **bearer(token), **fields)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (
            f"lakesail://:{quote(ODD_TOKEN, safe='')}@lakesail.example.com:8443/http"
            "?timeout=12&verify=false&retry_limit=5&retry_delay=0.5",
            cs(
                "http://lakesail.example.com:8443",
                ODD_TOKEN,
                timeout=12.0,
                verify=False,
                retry_limit=5,
                retry_delay=0.5,
            ),
        ),
        (
            f"lakesail://:{TOKEN}@{quote('https://gw.example.com/lakesail', safe='')}?verify=%2Fetc%2Fca.pem",
            cs("https://gw.example.com/lakesail", verify="/etc/ca.pem"),
        ),
        (f"lakesail://:{TOKEN}@lakesail.example.com", BARE),
        (
            _json(
                host="https://gw.example.com/lakesail/",
                port=9443,
                extra={"timeout": 7, "verify": "false", "retry_limit": "2", "retry_delay": 0},
            ),
            cs(
                "https://gw.example.com:9443/lakesail",
                timeout=7.0,
                verify=False,
                retry_limit=2,
                retry_delay=0.0,
            ),
        ),
        (
            _json(host="ls.internal", schema="http", extra=json.dumps({"verify": True, "timeout": "3"})),
            cs("http://ls.internal", timeout=3.0),
        ),
    ],
    ids=["uri-every-setting", "uri-full-url-host", "uri-bare-host", "json-every-setting", "json-extra-text"],
)
def test_airflow_conn_forms(
    monkeypatch: pytest.MonkeyPatch, value: str, expected: ConnectionSettings
) -> None:
    monkeypatch.setenv("AIRFLOW_CONN_LS_ENV", value)
    assert LakeSailHook("ls_env").settings == expected


@pytest.mark.parametrize("verify", [False, "/etc/ca.pem"])
def test_connection_settings_used_on_the_wire(
    monkeypatch: pytest.MonkeyPatch, requests_mock: Any, verify: bool | str
) -> None:
    """URL with prefix and port, token, timeout and verify (over REQUESTS_CA_BUNDLE) reach requests."""
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", "/etc/ssl/certs/ca-certificates.crt")
    host = "https://gw.example.com/lakesail"
    set_json_conn(
        monkeypatch, "ls_wire", host=host, port=9443, password=TOKEN, extra={"timeout": 4, "verify": verify}
    )
    url = f"https://gw.example.com:9443/lakesail{LIST.removeprefix(API)}"
    requests_mock.get(url, json={"pending": [], "completed": []})
    LakeSailHook("ls_wire").list_session_job_savepoints("WS1", "SESS1", "JOB1")
    sent = requests_mock.request_history[0]
    assert sent.url == url
    assert sent.headers["Authorization"] == f"Bearer {TOKEN}"
    assert sent.timeout == pytest.approx((3.6, 4.0))  # connecting gets 90 % of the whole deadline
    assert sent.verify == verify


def test_test_connection_reports_a_broken_connection(monkeypatch: pytest.MonkeyPatch) -> None:
    set_json_conn(monkeypatch, "ls_no_password", host=API)
    message = "Connection 'ls_no_password' has no password: set it to the LakeSail API key"
    assert LakeSailHook("ls_no_password").test_connection() == (False, message)


def test_missing_ca_bundle_is_a_provider_error_on_both_paths(
    tmp_path: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A CA bundle path that does not exist: a LakeSailError naming 'verify', never a bare OSError."""
    set_json_conn(
        monkeypatch,
        "ca",
        host="https://127.0.0.1:9",
        password="ca-token",
        extra={"verify": str(tmp_path / "no")},
    )
    hook = LakeSailHook("ca", retry_limit=1)
    with pytest.raises(LakeSailError, match="verify"):
        hook.list_session_job_savepoints("WS1", "SESS1", "JOB1")
    with pytest.raises(LakeSailError, match="verify"):
        asyncio.run(hook.a_list_session_job_savepoints("WS1", "SESS1", "JOB1"))


EXTRAS = {"timeout", "verify", "retry_limit", "retry_delay"}
#: name -> (index in connection-types, hook class, hidden fields, the host placeholder's scheme, the
#: host's label, the extra placeholder's keys)
FORMS = {
    "lakesail": (0, LakeSailHook, ["login"], "https://", "API URL", EXTRAS),
    "flink": (1, FlinkRestHook, [], "http://", "REST URL", EXTRAS | {"savepoint_dir"}),
}


@pytest.mark.parametrize("name", FORMS)
def test_provider_info_declares_the_connection_type_and_form(name: str) -> None:
    index, hook_class, hidden, scheme, host_label, extras = FORMS[name]
    info = get_provider_info()
    assert info["package-name"] == "airflow-provider-flinksp"
    conn_type = info["connection-types"][index]
    assert conn_type["connection-type"] == name == hook_class.conn_type
    assert conn_type["hook-class-name"] == f"airflow_provider_flinksp.hooks.{hook_class.__name__}"
    module_name, _, class_name = conn_type["hook-class-name"].rpartition(".")
    assert getattr(importlib.import_module(module_name), class_name) is hook_class
    assert hook_class.hook_name == conn_type["hook-name"]
    assert (hook_class.default_conn_name, hook_class.conn_name_attr) == (f"{name}_default", f"{name}_conn_id")
    form = conn_type["ui-field-behaviour"]
    assert form["hidden-fields"] == hidden  # the flink form keeps the login (basic auth)
    assert form["placeholders"]["host"].startswith(scheme)
    assert form["relabeling"]["host"] == host_label
    assert form["relabeling"]["password"] not in ("", "Password")
    assert form["placeholders"]["password"]
    assert set(json.loads(form["placeholders"]["extra"])) == extras
    settings_for(extra=json.loads(form["placeholders"]["extra"]))  # the placeholder is a valid extra


@pytest.mark.parametrize(
    ("section", "classes"),
    [
        ("hooks", ["LakeSailHook", "FlinkRestHook"]),
        ("sensors", ["LakeSailSavepointSensor", "FlinkSavepointSensor"]),
        ("triggers", ["LakeSailSavepointTrigger", "FlinkSavepointTrigger"]),
        ("operators", ["LakeSailLatestSavepointOperator", "LakeSailTriggerSavepointOperator"]),
        ("operators", ["FlinkTriggerSavepointOperator", "FlinkLatestSavepointOperator"]),
        ("operators", ["FlinkRunJarOperator"]),
    ],
)
def test_provider_info_modules_import(section: str, classes: list[str]) -> None:
    entries = get_provider_info()[section]
    modules = [importlib.import_module(name) for entry in entries for name in entry["python-modules"]]
    for expected_class in classes:
        assert any(hasattr(module, expected_class) for module in modules), expected_class


def test_provider_info_validates_against_airflows_schema() -> None:
    import airflow
    import jsonschema

    root = Path(airflow.__file__).parent
    jsonschema.validate(get_provider_info(), json.loads((root / "provider_info.schema.json").read_text()))
    behaviour = LakeSailHook.get_ui_field_behaviour()  # the form of Airflow 2
    jsonschema.validate(
        behaviour, json.loads((root / "customized_form_field_behaviours.schema.json").read_text())
    )
    form = {key: CONNECTION_FORM[key] for key in ("relabeling", "placeholders")}
    assert behaviour == {"hidden_fields": ["login"], **form}
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
    if AIRFLOW_V3:  # the task-SDK providers manager
        from airflow.sdk.providers_manager_runtime import ProvidersManagerTaskRuntime

        sdk_info = ProvidersManagerTaskRuntime().hooks.get("lakesail")
        assert sdk_info is not None
        assert sdk_info.hook_class_name == "airflow_provider_flinksp.hooks.LakeSailHook"
