"""The query editor in a real browser (Debian's chromium, headless), against a real server."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import parse_qs, urlencode, urlsplit

import pytest
import requests
from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.remote.webelement import WebElement
from selenium.webdriver.support import expected_conditions as ec
from selenium.webdriver.support.ui import Select, WebDriverWait

from tests.support import Server

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CHROMEDRIVER = shutil.which("chromedriver") or "/usr/bin/chromedriver"


@pytest.fixture(scope="module")
def browser(tmp_path_factory: pytest.TempPathFactory) -> Iterator[webdriver.Chrome]:
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in (
        "--headless=new",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-dev-shm-usage",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        f"--user-data-dir={tmp_path_factory.mktemp('chromium')}",
        "--window-size=1280,1000",
    ):
        options.add_argument(flag)
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
    yield driver
    driver.quit()


def set_query(browser: webdriver.Chrome, text: str) -> None:
    browser.execute_script(
        "document.querySelector('.tabPanel.active .CodeMirror').CodeMirror.setValue(arguments[0])", text
    )


def open_editor(browser: webdriver.Chrome, url: str) -> None:
    browser.get(url)
    WebDriverWait(browser, 20).until(ec.presence_of_element_located((By.CSS_SELECTOR, ".tabPanel.active .CodeMirror")))


def run_and_wait(browser: webdriver.Chrome) -> None:
    """Run the active tab's query with YASGUI's own button, and wait for its answer (or error) to be drawn."""
    browser.execute_script(
        "window.answered = false;window.careerkgEditor.on('queryResponse', () => { window.answered = true; });"
    )
    browser.find_element(By.CSS_SELECTOR, ".tabPanel.active .yasqe_queryButton").click()
    WebDriverWait(browser, 20).until(lambda d: d.execute_script("return window.answered"))


def results(browser: webdriver.Chrome) -> WebElement:
    return browser.find_element(By.CSS_SELECTOR, ".tabPanel.active .yasr_results")


def test_editor_runs_examples_pages_filters_and_offers_downloads(
    browser: webdriver.Chrome, writable_server: Server
) -> None:
    open_editor(browser, writable_server.url + "/sparql")
    Select(browser.find_element(By.ID, "examples")).select_by_index(1)  # the first example query
    assert browser.find_elements(By.CSS_SELECTOR, ".tabPanel.active .cm-keyword")  # highlighted as SPARQL
    run_and_wait(browser)
    rows = results(browser).find_elements(By.CSS_SELECTOR, "tbody tr")
    assert len(rows) >= 10
    assert "AI Engineer" in results(browser).text
    chip = browser.find_element(By.CSS_SELECTOR, ".tabPanel.active .yasr_response_chip").text
    total = int(chip.split()[0])
    assert total > 50  # more than one page

    # Paging: 50 rows a page by default; a larger page shows them all.
    assert len(results(browser).find_elements(By.CSS_SELECTOR, "tbody tr")) == 50
    Select(browser.find_element(By.CSS_SELECTOR, ".tabPanel.active select.tableSizer")).select_by_value("-1")
    WebDriverWait(browser, 10).until(lambda d: len(results(d).find_elements(By.CSS_SELECTOR, "tbody tr")) == total)
    # Filtering: only the rows that mention the text stay.
    browser.find_element(By.CSS_SELECTOR, ".tabPanel.active input.tableFilter").send_keys("Statistical modelling")
    WebDriverWait(browser, 10).until(lambda d: len(results(d).find_elements(By.CSS_SELECTOR, "tbody tr")) < total)
    assert all(
        "Statistical modelling" in row.text for row in results(browser).find_elements(By.CSS_SELECTOR, "tbody tr")
    )

    links = {
        a.get_attribute("data-format"): a.get_attribute("href")
        for a in browser.find_elements(By.CSS_SELECTOR, "#download-links a")
    }
    assert set(links) == {"json", "xml", "csv", "tsv"}
    download = requests.get(links["csv"], timeout=10)
    assert download.headers["Content-Type"].startswith("text/csv")
    assert "AI Engineer" in download.text


def test_editor_shows_graphs_and_errors(browser: webdriver.Chrome, writable_server: Server) -> None:
    open_editor(browser, writable_server.url + "/sparql")
    select = Select(browser.find_element(By.ID, "examples"))
    select.select_by_visible_text("Everything the graph says about the AI Engineer (a graph, not a table)")
    run_and_wait(browser)
    assert "ai-engineer" in results(browser).text
    formats = {a.get_attribute("data-format") for a in browser.find_elements(By.CSS_SELECTOR, "#download-links a")}
    assert "ttl" in formats

    set_query(browser, "SELECT * WHERE { ?s ?p }")
    run_and_wait(browser)
    assert "SPARQL syntax error" in results(browser).text


def test_editor_completes_careerkg_prefixes_and_terms(browser: webdriver.Chrome, writable_server: Server) -> None:
    open_editor(browser, writable_server.url + "/sparql")
    browser.find_element(By.CSS_SELECTOR, ".tabPanel.active .CodeMirror").click()
    set_query(browser, "")
    field = browser.switch_to.active_element
    field.send_keys("PREFIX rol")
    field.send_keys(Keys.CONTROL, " ")
    hints = WebDriverWait(browser, 10).until(lambda d: d.find_elements(By.CSS_SELECTOR, ".CodeMirror-hints li"))
    assert "role: <https://w3id.org/careerkg/id/role/>" in [hint.text for hint in hints]
    field.send_keys(Keys.ENTER)
    field.send_keys(Keys.ENTER, "PREFIX ckg: <https://w3id.org/careerkg/ontology#>", Keys.ENTER)
    field.send_keys("SELECT * WHERE { ?role ckg:essen")
    field.send_keys(Keys.CONTROL, " ")
    WebDriverWait(browser, 10).until(
        lambda d: (
            "ckg:essentialSkill"
            in d.execute_script("return document.querySelector('.tabPanel.active .CodeMirror').CodeMirror.getValue()")
            or "ckg:essentialSkill"
            in " ".join(h.text for h in d.find_elements(By.CSS_SELECTOR, ".CodeMirror-hints li"))
        )
    )
    # Completion comes from the page: nothing was asked of another host (prefix.cc, LOV) on the way.
    resources = browser.execute_script("return performance.getEntriesByType('resource').map(e => e.name)")
    assert all(name.startswith(writable_server.url) for name in resources), resources


def test_editor_keeps_tabs_in_the_browser(browser: webdriver.Chrome, writable_server: Server) -> None:
    open_editor(browser, writable_server.url + "/sparql")
    before = len(browser.find_elements(By.CSS_SELECTOR, ".tabsList .tab"))
    browser.find_element(By.CSS_SELECTOR, "button.addTab").click()
    WebDriverWait(browser, 10).until(lambda d: len(d.find_elements(By.CSS_SELECTOR, ".tabsList .tab")) == before + 1)
    set_query(browser, "ASK { ?s a <https://w3id.org/careerkg/ontology#Role> }")
    run_and_wait(browser)
    open_editor(browser, writable_server.url + "/sparql")  # a later visit: the tabs and their queries are there
    assert len(browser.find_elements(By.CSS_SELECTOR, ".tabsList .tab")) == before + 1
    queries = browser.execute_script(
        "const y = window.careerkgEditor; return y.persistentConfig.getTabs().map(id => y.persistentConfig.getTab(id).yasqe.value)"
    )
    assert "ASK { ?s a <https://w3id.org/careerkg/ontology#Role> }" in queries


def test_editor_loads_nothing_from_other_hosts(browser: webdriver.Chrome, writable_server: Server) -> None:
    open_editor(browser, writable_server.url + "/sparql")
    run_and_wait(browser)
    resources = browser.execute_script("return performance.getEntriesByType('resource').map(e => e.name)")
    assert resources
    assert all(name.startswith(writable_server.url) for name in resources), resources


def test_api_docs_page_lists_every_operation(browser: webdriver.Chrome, writable_server: Server) -> None:
    browser.get(writable_server.url + "/docs")
    WebDriverWait(browser, 30).until(ec.presence_of_element_located((By.CSS_SELECTOR, ".opblock")))
    paths = {e.text for e in browser.find_elements(By.CSS_SELECTOR, ".opblock-summary-path")}
    assert "/api/v1/roles/{id}/gap" in {p.replace("\u200b", "") for p in paths}
    assert len(paths) >= 26
    resources = browser.execute_script("return performance.getEntriesByType('resource').map(e => e.name)")
    assert all(name.startswith(writable_server.url) for name in resources), resources


def test_explorer_lists_roles_and_compares_them(browser: webdriver.Chrome, writable_server: Server) -> None:
    roles = requests.get(writable_server.url + "/api/v1/roles?limit=100", timeout=30).json()["total"]
    browser.get(writable_server.url + "/")
    WebDriverWait(browser, 20).until(lambda d: len(d.find_elements(By.CSS_SELECTOR, "#roles li")) == roles)
    browser.find_element(By.CSS_SELECTOR, "#roles a[data-role='ml-engineer']").click()
    WebDriverWait(browser, 20).until(lambda d: "ML Engineer" in d.find_element(By.ID, "detail").text)
    assert "Statistical modelling" in browser.find_element(By.ID, "detail").text
    Select(browser.find_element(By.ID, "compare-a")).select_by_value("ai-engineer")
    Select(browser.find_element(By.ID, "compare-b")).select_by_value("ml-engineer")
    browser.find_element(By.ID, "compare").click()
    WebDriverWait(browser, 20).until(lambda d: "Similarity" in d.find_element(By.ID, "detail").text)
    assert "AI Engineer and ML Engineer" in browser.find_element(By.ID, "detail").text
    assert "Shared skills" in browser.find_element(By.ID, "detail").text
    search = browser.find_element(By.ID, "search")
    search.send_keys("pyt")
    WebDriverWait(browser, 20).until(lambda d: "PyTorch" in d.find_element(By.ID, "suggestions").text)


ARTEFACTS = Path(__file__).resolve().parents[2] / "artefacts" / "screenshots"


def test_a_role_page_links_to_the_pages_of_what_it_names(browser: webdriver.Chrome, writable_server: Server) -> None:
    browser.get(writable_server.url + "/id/role/ai-engineer")
    assert browser.find_element(By.TAG_NAME, "h1").text == "AI Engineer"
    link = browser.find_element(By.LINK_TEXT, "Deep learning")
    assert link.get_attribute("href") == writable_server.url + "/id/skill/deep-learning"
    link.click()
    WebDriverWait(browser, 20).until(lambda d: d.find_element(By.TAG_NAME, "h1").text == "Deep learning")
    assert "AI Engineer" in browser.find_element(By.TAG_NAME, "main").text  # it points back, by label
    browser.back()
    WebDriverWait(browser, 20).until(lambda d: d.find_element(By.TAG_NAME, "h1").text == "AI Engineer")
    browser.find_element(By.LINK_TEXT, "Role").click()  # the class, documented at the ontology's namespace
    WebDriverWait(browser, 20).until(lambda d: d.current_url.endswith("/ontology#Role"))
    assert browser.find_element(By.ID, "Role").is_displayed()


def test_a_source_page_lists_what_it_states_and_links_each_part(
    browser: webdriver.Chrome, writable_server: Server
) -> None:
    browser.get(writable_server.url + "/id/source/ai-engineer-vs-ml-engineer")
    states = browser.find_element(By.CSS_SELECTOR, "ul.states")
    first = states.find_element(By.TAG_NAME, "li")
    subject = first.find_element(By.TAG_NAME, "a")
    name = subject.text
    subject.click()
    WebDriverWait(browser, 20).until(lambda d: d.find_element(By.TAG_NAME, "h1").text == name)
    assert "AI Engineer vs ML Engineer (article, 2024)" in browser.find_element(By.TAG_NAME, "main").text


def test_a_missing_page_is_a_page_for_a_browser(browser: webdriver.Chrome, writable_server: Server) -> None:
    browser.get(writable_server.url + "/id/role/no-such-role")
    assert browser.find_element(By.TAG_NAME, "h1").text == "Not found"
    assert (
        "no resource https://w3id.org/careerkg/id/role/no-such-role" in browser.find_element(By.TAG_NAME, "main").text
    )
    assert browser.find_element(By.LINK_TEXT, "the explorer").get_attribute("href") == writable_server.url + "/"


def test_a_shared_query_link_opens_the_editor_and_runs_it(browser: webdriver.Chrome, writable_server: Server) -> None:
    query = "SELECT ?tool WHERE { <https://w3id.org/careerkg/id/role/ml-engineer> <https://w3id.org/careerkg/ontology#usesTool> ?tool } ORDER BY ?tool"
    shared = writable_server.url + "/sparql?" + urlencode({"query": query})
    open_editor(browser, shared)
    WebDriverWait(browser, 20).until(lambda d: "keras" in results(d).text)
    keras = results(browser).find_element(By.LINK_TEXT, "https://w3id.org/careerkg/id/tool/keras")
    assert keras.get_attribute("href") == writable_server.url + "/id/tool/keras"  # a local page, not w3id.org
    set_query(browser, "ASK { ?s ?p ?o }")
    run_and_wait(browser)
    assert parse_qs(urlsplit(browser.current_url).query)["query"] == ["ASK { ?s ?p ?o }"]  # the address shares it
    browser.back()
    WebDriverWait(browser, 20).until(lambda d: "keras" in results(d).text)
    assert browser.execute_script("return window.careerkgEditor.getTab().getQuery()") == query
    open_editor(browser, shared)  # opened again: the same tab, not one more
    names = [tab.text for tab in browser.find_elements(By.CSS_SELECTOR, ".tabsList .tab")]
    assert [name.split("\n")[0] for name in names].count("Shared query") == 1, names


# --- the explorer: addresses, keyboard, widths; axe-core on every kind of page ---------------------------------

AXE = Path(__file__).resolve().parent / "vendor" / "axe-core" / "axe.min.js"  # axe-core 4.14.1 (MPL-2.0), from npm


def axe_violations(browser: webdriver.Chrome) -> list[dict[str, object]]:
    """axe-core's critical and serious violations on the page shown (run in the page, as its docs show)."""
    browser.execute_script(AXE.read_text(encoding="utf-8"))
    result = browser.execute_async_script("const done = arguments[arguments.length - 1]; axe.run().then(done);")
    return [
        {"id": v["id"], "impact": v["impact"], "nodes": [n["target"] for n in v["nodes"]]}
        for v in result["violations"]
        if v["impact"] in ("critical", "serious")
    ]


def wait_for_detail(browser: webdriver.Chrome, text: str) -> None:
    WebDriverWait(browser, 20).until(lambda d: text in d.find_element(By.ID, "detail").text)


def test_every_explorer_view_has_an_address(browser: webdriver.Chrome, writable_server: Server) -> None:
    browser.get(writable_server.url + "/")
    WebDriverWait(browser, 20).until(lambda d: d.find_elements(By.CSS_SELECTOR, "#roles a[data-role='ml-engineer']"))
    browser.find_element(By.CSS_SELECTOR, "#roles a[data-role='ml-engineer']").click()
    wait_for_detail(browser, "Moves from here")
    assert browser.current_url.endswith("/#/role/ml-engineer")
    browser.find_element(By.CSS_SELECTOR, "#roles a[data-role='ai-engineer']").click()
    wait_for_detail(browser, "AI Engineer")
    browser.back()
    WebDriverWait(browser, 20).until(lambda d: d.find_element(By.CSS_SELECTOR, "#detail h2").text == "ML Engineer")
    shared = browser.current_url
    browser.get("about:blank")
    browser.get(shared)  # a bookmark or a shared link opens the same view
    WebDriverWait(browser, 20).until(lambda d: d.find_element(By.CSS_SELECTOR, "#detail h2").text == "ML Engineer")
    Select(browser.find_element(By.ID, "gap-from")).select_by_value("data-scientist")
    browser.find_element(By.CSS_SELECTOR, "#gap-form button").click()
    WebDriverWait(browser, 20).until(lambda d: "of what this role asks for" in d.find_element(By.ID, "gap").text)


def test_a_broken_address_shows_the_welcome_view(browser: webdriver.Chrome, writable_server: Server) -> None:
    browser.get(writable_server.url + "/#/search/%E0%A4%A")  # a % escape cut short
    wait_for_detail(browser, "Pick a role")


def test_search_works_from_the_keyboard_alone(browser: webdriver.Chrome, writable_server: Server) -> None:
    browser.get(writable_server.url + "/")
    search = WebDriverWait(browser, 20).until(ec.element_to_be_clickable((By.ID, "search")))
    search.send_keys("learning")
    WebDriverWait(browser, 20).until(lambda d: d.find_element(By.ID, "search").get_attribute("aria-expanded") == "true")
    search.send_keys(Keys.ENTER)  # no suggestion chosen: the results page
    wait_for_detail(browser, "for “learning”")
    assert "#/search/learning" in browser.current_url
    # The results, not the loading text ("Searching for “learning”…") that the wait above may have seen.
    assert WebDriverWait(browser, 20).until(lambda d: d.find_elements(By.CSS_SELECTOR, "#detail li a"))
    search.clear()
    search.send_keys("pytorch")
    WebDriverWait(browser, 20).until(lambda d: "PyTorch" in d.find_element(By.ID, "suggestions").text)
    search.send_keys(Keys.ARROW_DOWN)
    assert search.get_attribute("aria-activedescendant") == "suggestion-0"
    search.send_keys(Keys.ENTER)
    WebDriverWait(browser, 20).until(lambda d: d.current_url.endswith("/id/tool/pytorch"))


def test_the_explorer_by_tab_reaches_roles_as_links(browser: webdriver.Chrome, writable_server: Server) -> None:
    browser.get(writable_server.url + "/")
    WebDriverWait(browser, 20).until(lambda d: d.find_elements(By.CSS_SELECTOR, "#roles a"))
    body = browser.find_element(By.TAG_NAME, "body")
    reached = []
    for _ in range(40):
        body.send_keys(Keys.TAB) if not reached else browser.switch_to.active_element.send_keys(Keys.TAB)
        reached.append(browser.switch_to.active_element.get_attribute("data-role"))
        if reached[-1]:
            break
    assert reached[-1], "Tab never reached a role"
    browser.switch_to.active_element.send_keys(Keys.ENTER)
    WebDriverWait(browser, 20).until(lambda d: f"#/role/{reached[-1]}" in d.current_url)


PAGES = {
    "explorer": "/#/role/ml-engineer",
    "explorer-compare": "/#/compare/ai-engineer,ml-engineer",
    "explorer-match": "/#/match/data-analysis,scikit-learn",
    "role": "/id/role/ai-engineer",
    "tool": "/id/tool/pytorch",
    "id-skill": "/id/skill/deep-learning",
    "source": "/id/source/careerkg-curation",
    "sparql": "/sparql",
    "ontology": "/ontology",
    "not-found": "/id/role/no-such-role",
}


@pytest.mark.parametrize(("width", "height"), [(390, 844), (1280, 900)])
def test_pages_fit_pass_axe_and_are_saved(
    browser: webdriver.Chrome, writable_server: Server, width: int, height: int
) -> None:
    browser.execute_cdp_cmd(
        "Emulation.setDeviceMetricsOverride",
        {"width": width, "height": height, "deviceScaleFactor": 1, "mobile": width < 600},
    )
    ARTEFACTS.mkdir(parents=True, exist_ok=True)
    found = {}
    try:
        for name, path in PAGES.items():
            browser.get(writable_server.url + path)
            WebDriverWait(browser, 20).until(ec.presence_of_element_located((By.TAG_NAME, "h1")))
            if name.startswith("explorer"):
                WebDriverWait(browser, 20).until(lambda d: d.find_elements(By.CSS_SELECTOR, "#detail h2"))
            if name == "sparql":
                run_and_wait(browser)  # YASGUI with a table of results drawn
            overflow = browser.execute_script("return document.documentElement.scrollWidth - window.innerWidth")
            assert overflow <= 0, f"{path} is {overflow} px wider than {width} px"
            browser.save_screenshot(str(ARTEFACTS / f"{name}-{width}.png"))
            violations = axe_violations(browser)
            if violations:
                found[path] = violations
    finally:
        browser.execute_cdp_cmd("Emulation.clearDeviceMetricsOverride", {})
    assert found == {}


def test_paths_and_roles_that_fit_what_a_person_has(browser: webdriver.Chrome, writable_server: Server) -> None:
    browser.get(writable_server.url + "/#/role/data-analyst")
    WebDriverWait(browser, 20).until(lambda d: d.find_elements(By.ID, "paths-to"))
    Select(browser.find_element(By.ID, "paths-to")).select_by_value("ml-engineer")
    browser.find_element(By.CSS_SELECTOR, "#paths-form button").click()
    WebDriverWait(browser, 20).until(lambda d: "→" in d.find_element(By.ID, "paths").text)
    assert "ML Engineer" in browser.find_element(By.ID, "paths").text
    browser.get(writable_server.url + "/#/match/-")
    add = WebDriverWait(browser, 20).until(ec.element_to_be_clickable((By.ID, "match-add")))
    add.send_keys("Data analysis", Keys.ENTER)
    WebDriverWait(browser, 20).until(lambda d: d.current_url.endswith("#/match/data-analysis"))
    WebDriverWait(browser, 20).until(lambda d: d.find_elements(By.CSS_SELECTOR, "#detail ol li"))
    assert "%" in browser.find_element(By.CSS_SELECTOR, "#detail ol li").text


def test_a_role_page_shows_pay_with_its_figures_and_source(browser: webdriver.Chrome, writable_server: Server) -> None:
    role = requests.get(writable_server.url + "/api/v1/roles/data-scientist", timeout=30).json()
    (insight,) = [i for i in role["salary_insights"] if i["figures"]]
    browser.get(writable_server.url + "/#/role/data-scientist")
    wait_for_detail(browser, "Pay and outlook")
    section = browser.find_element(By.CSS_SELECTOR, "#detail ul.pay").text
    assert insight["label"] in section
    figure = insight["figures"][0]
    assert f"median ${figure['median']:,.0f}" in section
    low, high = f"${figure['percentile10']:,.0f}", f"${figure['percentile90']:,.0f}"
    assert f"{low}\N{EN DASH}{high} a year ({figure['date']})" in section
    (source,) = figure["sources"]
    link = browser.find_element(By.CSS_SELECTOR, "#detail ul.pay").find_element(By.LINK_TEXT, source["label"])
    assert link.get_attribute("href") == source["url"]
