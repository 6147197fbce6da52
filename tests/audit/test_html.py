"""The HTML report in a real browser (Debian's headless Chromium through its chromedriver):
the tables per namespace, the highlighted findings, the page's own script, the tree."""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By

from tests.audit.helpers import CLUSTER, dump, pod, run
from tests.harness import push_index

CHROMIUM = "/usr/bin/chromium"
CHROMEDRIVER = "/usr/bin/chromedriver"
# Without these, the closed network makes Chromium wait on its background connections.
FLAGS = (
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
)
YELLOW = "rgba(255, 243, 205, 1)"
CLEAR = "rgba(0, 0, 0, 0)"


@pytest.fixture(scope="module")
def browser() -> Iterator[webdriver.Chrome]:
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    with tempfile.TemporaryDirectory() as profile:
        for flag in (*FLAGS, f"--user-data-dir={profile}"):
            options.add_argument(flag)
        driver = webdriver.Chrome(options=options, service=Service(CHROMEDRIVER))
        try:
            yield driver
        finally:
            driver.quit()


def page(tmp_path: Path, *args: str) -> str:
    p = run("--format", "html", *args)
    assert p.returncode in (0, 1), p.stderr
    out = tmp_path / "audit.html"
    out.write_text(p.stdout)
    return out.as_uri()


def test_a_table_per_namespace_with_findings_highlighted(browser, tmp_path) -> None:
    browser.get(page(tmp_path, "--offline", *CLUSTER))
    assert browser.find_element(By.TAG_NAME, "body").get_attribute("data-ready") == "1"
    sections = browser.find_elements(By.CSS_SELECTOR, "section")
    assert [s.get_attribute("data-namespace") for s in sections] == [
        "batch", "kube-system", "shop"
    ]
    rows = {
        s.get_attribute("data-namespace"): [
            (r.get_attribute("data-workload"), r.get_attribute("data-container"),
             r.get_attribute("data-findings"))
            for r in s.find_elements(By.CSS_SELECTOR, "tbody tr")
        ]
        for s in sections
    }
    assert rows == {
        "batch": [("CronJob/nightly", "report", ""), ("Job/once", "once", "")],
        "kube-system": [("DaemonSet/node-agent", "agent", "")],
        "shop": [
            ("Deployment/broken", "app", "not-running unpinned"),
            ("Deployment/web", "migrate", ""),
            ("Deployment/web", "web", "mixed unpinned"),
            ("Pod/debug", "shell", "unpinned"),
            ("Pod/debug", "debugger", ""),
            ("ReplicaSet/legacy-5c5c5", "legacy", "unpinned"),
            ("StatefulSet/db", "db", "mismatch mixed"),
        ],
    }
    for row in browser.find_elements(By.CSS_SELECTOR, "tbody tr"):
        expected = YELLOW if row.get_attribute("data-findings") else CLEAR
        assert row.value_of_css_property("background-color") == expected
    badges = {
        b.text: b.value_of_css_property("background-color")
        for b in browser.find_elements(By.CSS_SELECTOR, "span.finding")
    }
    assert badges == {
        "not-running": "rgba(87, 96, 106, 1)",
        "unpinned": "rgba(154, 103, 0, 1)",
        "mixed": "rgba(111, 66, 193, 1)",
        "mismatch": "rgba(176, 42, 55, 1)",
    }
    assert browser.find_element(By.ID, "rows").text == "10 rows, 5 with findings"
    # nothing outside the page: no stylesheet, script or image is fetched
    assert browser.execute_script("return document.querySelectorAll('[src],[href]').length") == 0


def test_findings_only_hides_the_clean_rows(browser, tmp_path) -> None:
    browser.get(page(tmp_path, "--offline", *CLUSTER))
    browser.find_element(By.ID, "only").click()
    shown = [r for r in browser.find_elements(By.CSS_SELECTOR, "tbody tr") if r.is_displayed()]
    assert [r.get_attribute("data-container") for r in shown] == [
        "app", "web", "shell", "legacy", "db"
    ]


def test_text_from_the_input_is_shown_never_run(browser, tmp_path) -> None:
    evil = "x<script>document.title='owned'</script>"
    items = [pod(evil, "nginx:1.25<b>bold</b>", "")]
    browser.get(page(tmp_path, "--offline", dump(tmp_path / "pods.json", items)))
    assert browser.title == "imgdigest audit"
    row = browser.find_element(By.CSS_SELECTOR, "tbody tr")
    assert row.get_attribute("data-workload") == f"Pod/{evil}"
    assert f"Pod/{evil}" in row.text
    assert browser.find_elements(By.CSS_SELECTOR, "tbody b") == []


def test_resolve_draws_the_index_and_platform_tree(browser, tmp_path, registry_http,
                                                   unique_repo, tmp_home) -> None:
    idx = push_index(registry_http, unique_repo, "1")
    name = f"{registry_http.host}/{unique_repo}"
    items = [pod("web", f"{name}:1", f"{name}@{idx.digest}")]
    browser.get(page(tmp_path, "--resolve", dump(tmp_path / "pods.json", items)))
    top = browser.find_element(By.CSS_SELECTOR, "ul.tree > li")
    assert top.text.splitlines()[0] == f"{name} → index {idx.digest}"
    leaves = [li.text for li in browser.find_elements(By.CSS_SELECTOR, "ul.tree ul.tree li")]
    assert leaves[:3] == [
        f"{idx.child('linux', 'amd64').digest} linux/amd64",
        f"{idx.child('linux', 'arm64', 'v8').digest} linux/arm64/v8",
        f"{idx.child('linux', 'arm', 'v7').digest} linux/arm/v7",
    ]
    assert leaves[3:] == [f"{a.digest} attestation" for a in idx.attestations]
