"""The ``lakesail`` connection form and the upgrade example, driven in a real browser (Airflow 3.3).

Headless Chromium (Debian's ``chromium`` and ``chromium-driver``) drives the UI of a deployment of its
own, which has no ``AIRFLOW_CONN_*`` variable: the connection the DAG uses exists only because the
test made it through Admin > Connections > Add. The tests run in file order and share the deployment:

1. the form: labels "API URL" and "API key", no login, the typed extras, no JSON typed; saved, and
   its extra read back through the REST API and by the provider's own settings reader;
2. its "Test" button, against the fake LakeSail server (and what a port-less connection gets);
3. the upgrade example triggered from the UI: the run succeeds, and the task's XCom tab shows
   ``savepoint_location``.

Screenshots of every step go to ``build/e2e/screenshots/``. Run with ``make test-e2e`` (or
``make test-browser`` for this file alone).
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any
from urllib.parse import quote, unquote

import pytest

from airflow_provider_flinksp.testing import FakeLakeSail
from tests.conftest import REPO
from tests.e2e.conftest import add_job, started_deployment
from tests.e2e.deployment import AIRFLOW_3, AIRFLOW_VERSION, Deployment
from tests.e2e.runs import SESSION, WORKSPACE, wait_for_dags

if TYPE_CHECKING:
    from tests.e2e.browser import Browser

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.browser,
    pytest.mark.timeout(900),
    pytest.mark.skipif(not AIRFLOW_3, reason="the browser test drives the Airflow 3 UI"),
]

BUILD = REPO / "build" / "e2e" / f"browser-airflow-{AIRFLOW_VERSION}"
SCREENSHOTS = REPO / "build" / "e2e" / "screenshots"
DAG_ID = "lakesail_savepoint_upgrade"
CONN_ID = "lakesail_default"
JOB = "JOB1"  # the example's default params: WS1 / SESS1 / JOB1
#: What the test types into the typed extras (none is the default), and what the extra must hold.
TYPED = {"timeout": "12", "verify": "false", "retry_limit": "5", "retry_delay": "0.5"}
EXPECTED_EXTRA = {"timeout": 12, "verify": "false", "retry_limit": 5, "retry_delay": 0.5}
LABELS = ("Request timeout (s)", "TLS verification", "Attempts", "First backoff (s)")
DIALOG = "//*[@role='dialog' and .//h2]"


@pytest.fixture(scope="module")
def airflow(lakesail: FakeLakeSail) -> Iterator[Deployment]:
    """A deployment without any connection, the Test button enabled, the example DAG parsed."""
    add_job(lakesail, JOB, periodic=None)
    env = {"AIRFLOW__CORE__TEST_CONNECTION": "Enabled", "LAKESAIL_EXAMPLE_POLL_SECONDS": "2"}
    with started_deployment(BUILD, env) as deployment:
        wait_for_dags(deployment, [DAG_ID])
        yield deployment


@pytest.fixture(scope="module")
def browser(airflow: Deployment) -> Iterator[Browser]:
    """Headless Chromium on the deployment's UI; quit (and checked gone) at the end."""
    from tests.e2e.browser import Browser

    chromium = Browser(f"http://127.0.0.1:{airflow.api_port}", SCREENSHOTS, timeout=60)
    try:
        yield chromium
    finally:
        chromium.save_page("last-page")  # where a failed step left it
        chromium.close()
        assert not chromium.leftovers(), f"Chromium processes left behind: {chromium.leftovers()}"


def add_connection(browser: Browser, conn_id: str, fields: dict[str, str]) -> None:
    """Open Admin > Connections > Add, pick the LakeSail type and fill the standard fields.

    :param browser: the browser
    :param conn_id: the connection ID
    :param fields: standard field name to text (``host``, ``password``, ``port``)
    """
    browser.open("/connections")
    browser.click("//button[contains(normalize-space(), 'Add Connection')]")
    browser.visible(f"{DIALOG}//h2[normalize-space()='Add Connection']")
    browser.fill("connection_id", conn_id)
    kind = browser.visible(f"{DIALOG}//input[@role='combobox']")
    kind.send_keys("LakeSail")
    browser.click("//*[@role='option' and normalize-space()='LakeSail']")
    browser.visible(f"{DIALOG}//label[normalize-space()='API URL']")
    for name, value in fields.items():
        browser.fill(name, value)


def test_connection_form_makes_the_connection(
    airflow: Deployment, browser: Browser, lakesail: FakeLakeSail, api_key: str
) -> None:
    """The form shows the LakeSail labels, hides login and offers typed extras; saved, the
    connection's extra holds the typed values, which the provider's settings reader takes."""
    add_connection(browser, CONN_ID, {"host": lakesail.url, "password": api_key, "port": str(lakesail.port)})
    dialog = browser.visible(DIALOG)
    labels = [label.text.strip() for label in dialog.find_elements("xpath", ".//label")]
    assert "API URL" in labels, labels
    assert "API key" in labels, labels
    assert not [label for label in labels if label.lower().startswith("login")], labels
    assert not dialog.find_elements("xpath", ".//input[@name='login']"), "the login field is shown"
    assert dialog.find_element("name", "password").get_attribute("type") == "password"
    browser.screenshot("connection-form", dialog)

    browser.click(f"{DIALOG}//button[normalize-space()='Extra Fields']")
    for label in LABELS:
        browser.visible(f"{DIALOG}//label[contains(normalize-space(), {label!r})]")
    for name, value in TYPED.items():
        browser.fill(f"element_{name}", value)
    browser.screenshot("typed-extras", browser.visible(DIALOG))

    # The JSON box is filled from the typed fields: the test typed no JSON.
    browser.click(f"{DIALOG}//button[normalize-space()='Extra Fields JSON']")
    browser.wait(
        lambda _d: '"retry_delay": 0.5' in browser.visible(DIALOG).text, "the extra JSON made from the fields"
    )
    browser.screenshot("extra-json-from-fields", browser.visible(DIALOG))

    browser.click(f"{DIALOG}//button[normalize-space()='Save']")
    browser.gone(DIALOG)
    browser.wait_for_text("Connection has been successfully created")
    browser.visible(f"//tr[.//td[normalize-space()={CONN_ID!r}]]")
    browser.screenshot("connection-saved")

    saved = airflow.api("GET", f"/api/v2/connections/{CONN_ID}")
    assert (saved["conn_type"], saved["host"], saved["port"]) == ("lakesail", lakesail.url, lakesail.port)
    assert not saved["login"]
    assert json.loads(saved["extra"]) == EXPECTED_EXTRA

    from airflow.models.connection import Connection

    from airflow_provider_flinksp.hooks import LakeSailHook

    # What the REST API answered (it masks the password: the fake's key stands in), as the hook reads it.
    stored = Connection(
        conn_id=CONN_ID,
        conn_type=saved["conn_type"],
        host=saved["host"],
        port=saved["port"],
        password=api_key,
        extra=saved["extra"],
    )
    settings = LakeSailHook(lakesail_conn_id=CONN_ID).read_settings(stored)
    assert (settings.timeout, settings.verify, settings.retry_limit, settings.retry_delay) == (
        12.0,
        False,
        5,
        0.5,
    )
    assert settings.base_url == lakesail.url


def test_connection_test_button(
    airflow: Deployment, browser: Browser, lakesail: FakeLakeSail, api_key: str
) -> None:
    """The list's Test button reaches the fake with the saved key (the port set, see below); a
    connection saved without a port meets Airflow 3.3.2's UI quirk, recorded, not asserted."""
    before = lakesail.count("GET", "/api/org/v1/me")
    browser.open("/connections")
    browser.click(f"//tr[.//td[normalize-space()={CONN_ID!r}]]//button[@aria-label='Test Connection']")
    browser.wait_for_text("Test Connection Successful", "Connected to LakeSail as")
    browser.screenshot("test-button-ok")
    assert lakesail.count("GET", "/api/org/v1/me") > before

    # Airflow 3.3.2's UI sends port 0 for a connection without one, which the API refuses with 400
    # ("The host or port to test differs from the stored connection"). Record what this version does.
    add_connection(browser, "lakesail_no_port", {"host": lakesail.url, "password": api_key})
    browser.click(f"{DIALOG}//button[normalize-space()='Save']")
    browser.gone(DIALOG)
    browser.visible("//tr[.//td[normalize-space()='lakesail_no_port']]")
    browser.wait(lambda _d: "Test Connection Successful" not in browser.text(), "the earlier toast gone", 60)
    browser.click("//tr[.//td[normalize-space()='lakesail_no_port']]//button[@aria-label='Test Connection']")
    title = "starts-with(normalize-space(), 'Test Connection ')"
    toast = f"//*[@data-scope='toast' and @data-part='root'][.//*[@data-part='title' and {title}]]"
    answer = " / ".join(line.strip() for line in browser.visible(toast).text.splitlines() if line.strip())
    browser.screenshot("test-button-without-port")
    (SCREENSHOTS / "port-quirk.txt").write_text(f"Airflow {AIRFLOW_VERSION}, no port: {answer}\n")
    print(f"\nTest button, connection without a port, Airflow {AIRFLOW_VERSION}: {answer!r}")


def test_upgrade_dag_from_the_ui(airflow: Deployment, browser: Browser, lakesail: FakeLakeSail) -> None:
    """Trigger the upgrade example in the UI: the run succeeds, and push_latest's XCom tab shows the
    location of the savepoint the run took."""
    browser.open(f"/dags/{DAG_ID}")
    browser.click("//button[@aria-label='Trigger Dag']")
    trigger_dialog = browser.visible(f"{DIALOG}[.//h2[contains(normalize-space(), 'Trigger Dag')]]")
    browser.wait(
        lambda _d: trigger_dialog.find_element("name", "element_job_id").get_attribute("value") == JOB,
        "params",
    )
    browser.screenshot("trigger-dialog", trigger_dialog)
    browser.click(f"{DIALOG}//button[normalize-space()='Trigger']")
    triggered = time.monotonic()

    # The UI opens the new run's page once the API made the run (3.3.2 does); else the Runs tab lists it.
    if not browser.maybe(lambda driver: "/runs/manual__" in driver.current_url, 90):
        browser.click("//a[normalize-space()='Runs']")
        browser.click(f"//a[contains(@href, '/dags/{DAG_ID}/runs/manual__')]")
    run_url = browser.driver.current_url.split("?")[0].rstrip("/")
    run_id = unquote(run_url.rsplit("/", 1)[1])
    state = run_state(browser, run_id, timeout=300)
    seconds = time.monotonic() - triggered
    browser.screenshot(f"run-{state.lower()}")
    print(f"\nthe run, triggered from the UI, showed {state} after {seconds:.0f}s")
    assert state == "Success", f"the run ended {state}"
    api_run = airflow.api("GET", f"/api/v2/dags/{DAG_ID}/dagRuns/{quote(run_id, safe='')}")
    assert (api_run["state"], api_run["triggered_by"]) == ("success", "ui")
    assert lakesail.triggered_count(WORKSPACE, SESSION, JOB) == 1

    browser.driver.get(f"{run_url}/tasks/push_latest")
    browser.click("//a[normalize-space()='Storage']")
    browser.click("//a[normalize-space()='XCom']")
    row = browser.visible("//tr[.//td[normalize-space()='savepoint_location']]")
    browser.wait(lambda _d: "s3://" in row.text, "the savepoint location in the XCom row")
    location = next(word for word in row.text.split() if word.startswith("s3://"))
    browser.screenshot("xcom-savepoint-location")
    manual = [
        savepoint["location"]
        for savepoint in lakesail.savepoints(WORKSPACE, SESSION, JOB)["completed"]
        if savepoint.get("triggerType") == "MANUAL"
    ]
    assert location in manual, f"{location} is not the savepoint the run took: {manual}"


def run_state(browser: Browser, run_id: str, timeout: float) -> str:
    """Wait on the run's page until the state badge in its header is final; return its text.

    :param browser: the browser, on the run's page
    :param run_id: the run ID, which the header shows
    :param timeout: seconds
    """
    badge = f"//h2[normalize-space()={run_id!r}]/following-sibling::*[@data-testid='state-badge'][1]"

    def final(driver: Any) -> str | None:
        found = driver.find_elements("xpath", badge)
        text = str(found[0].text).strip() if found else ""
        return text if text in ("Success", "Failed") else None

    state: str = browser.wait_reloading(final, f"a final state in the header of run {run_id}", timeout)
    return state
