"""Browser tests of the web console (PROTOCOL §11): Debian's chromium + chromedriver driven headless
by selenium against a real agenthost and the scriptable fake model. Screenshots of every view go to
`.build/test-output/console/`."""
import base64
import json
import os
import shutil
import tempfile
import time
from pathlib import Path

import httpx
import pytest

from conftest import REPO, Answer

from selenium import webdriver
from selenium.common.exceptions import NoAlertPresentException, TimeoutException
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.support.ui import WebDriverWait

SHOTS = REPO / ".build" / "test-output" / "console"
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
CHROMEDRIVER = shutil.which("chromedriver")



@pytest.fixture()
def browser():
    # Not a skip: scripts/test.sh installs them, and a missing browser must not pass silently.
    assert CHROMIUM and CHROMEDRIVER, "install chromium and chromium-driver (scripts/test.sh does it with apt-get)"
    downloads = tempfile.mkdtemp(prefix="agenthost-console-downloads-")
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for argument in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--window-size=1280,900",
                     "--lang=en-US"):
        options.add_argument(argument)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    options.add_experimental_option("prefs", {
        "download.default_directory": downloads, "download.prompt_for_download": False,
        "download.directory_upgrade": True, "safebrowsing.enabled": True,
        # Several exports in a row are several downloads from one page: allowed without asking.
        "profile.default_content_setting_values.automatic_downloads": 1,
    })
    driver = webdriver.Chrome(options=options, service=webdriver.ChromeService(executable_path=CHROMEDRIVER))
    driver.downloads = Path(downloads)
    driver.execute_cdp_cmd("Browser.setDownloadBehavior", {"behavior": "allow", "downloadPath": downloads})
    driver.set_page_load_timeout(30)
    yield driver
    driver.quit()
    shutil.rmtree(downloads, ignore_errors=True)


def wait(driver, condition, timeout=15, message=""):
    """Waits (bounded) until `condition(driver)` is truthy and returns its value."""
    try:
        return WebDriverWait(driver, timeout, poll_frequency=0.05).until(condition)
    except TimeoutException:
        raise AssertionError(f"timed out after {timeout} s: {message() if callable(message) else message}") from None


def console_errors(driver, allowed=()):
    entries = driver.get_log("browser")
    return [e for e in entries if e["level"] == "SEVERE" and not any(a in e["message"] for a in allowed)]


def screenshot(driver, name):
    SHOTS.mkdir(parents=True, exist_ok=True)
    path = SHOTS / f"{name}.png"
    driver.save_screenshot(str(path))
    return path


def make_workspace(server, name="Demo", headers=None):
    response = httpx.post(f"{server.url}/api/workspaces/", json={"name": name}, headers=headers or {})
    assert response.status_code in (200, 201), response.text
    return response.json()["slug"]


def upload_document(server, slug, name, text, headers=None):
    response = httpx.post(f"{server.url}/api/workspaces/{slug}/documents/", headers=headers or {}, json={
        "name": name, "mime": "text/plain", "content_base64": base64.b64encode(text.encode()).decode()})
    assert response.status_code in (200, 201), response.text
    return response.json()


def open_view(driver, server, view):
    driver.get(f"{server.url}/#{view}")
    wait(driver, lambda d: d.find_element(By.ID, f"view-{view}").is_displayed(), message=f"{view} view shown")
    wait(driver, lambda d: d.find_element(By.ID, "workspace-select").get_attribute("value"), message="workspace picked")


def assistant_text(driver):
    answers = driver.find_elements(By.CSS_SELECTOR, "#chat-log .msg.assistant .content")
    return answers[-1].text if answers else ""


def test_streamed_chat_appears_token_by_token_and_ends_with_its_sources(server, llm, browser):
    slug = make_workspace(server)
    upload_document(server, slug, "falcons.txt", "The peregrine falcon dives at more than three hundred kilometres per hour.")
    words = "The peregrine falcon is the fastest bird when it dives on its prey".split(" ")
    llm.enqueue(Answer.text(" ".join(words), delay=0.12))
    open_view(browser, server, "chat")

    box = browser.find_element(By.ID, "chat-input")
    box.send_keys("How fast does the peregrine falcon dive?", Keys.ENTER)

    snapshots = []
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        text = assistant_text(browser)
        if text and (not snapshots or snapshots[-1] != text):
            snapshots.append(text)
        busy = browser.find_elements(By.CSS_SELECTOR, "#chat-log .msg.assistant[aria-busy]")
        if snapshots and not busy:
            break
        time.sleep(0.03)
    final = " ".join(words)
    assert assistant_text(browser) == final
    # Token by token: many growing prefixes of the answer were on screen before it was complete.
    assert len(snapshots) >= 5, snapshots
    for earlier, later in zip(snapshots, snapshots[1:]):
        assert later.startswith(earlier), (earlier, later)
    assert snapshots[0] != final

    sources = browser.find_element(By.CSS_SELECTOR, "#chat-log .turn:last-child .sources")
    assert "falcons.txt" in sources.text
    assert "peregrine" in llm.requests[-1]["messages"][0]["content"] or any(
        "three hundred" in str(m.get("content")) for m in llm.requests[-1]["messages"])
    # The finished answer has its controls: feedback and include.
    up = browser.find_element(By.CSS_SELECTOR, "#chat-log .turn:last-child button[aria-label='Good answer']")
    up.click()
    wait(browser, lambda d: up.get_attribute("aria-pressed") == "true", message="feedback saved")
    chats = httpx.get(f"{server.url}/api/chats/", params={"workspace": slug}).json()["chats"]
    assert chats[0]["feedback"] is True
    include = browser.find_element(By.CSS_SELECTOR, "#chat-log .turn:last-child .include input")
    include.click()
    wait(browser, lambda d: httpx.get(f"{server.url}/api/chats/", params={"workspace": slug}).json()["chats"][0]["include"] is False,
         message="excluded")
    browser.find_element(By.CSS_SELECTOR, "#chat-log .turn:last-child details.source-list summary").click()
    screenshot(browser, "chat")

    # The history is there after a reload, with the sources and the feedback.
    browser.refresh()
    wait(browser, lambda d: assistant_text(d) == final, message="history reloaded")
    assert "falcons.txt" in browser.find_element(By.CSS_SELECTOR, "#chat-log .turn:last-child .sources").get_attribute("textContent")

    # A phone-sized window still shows the conversation and the composer.
    browser.set_window_size(390, 844)
    time.sleep(0.2)
    assert browser.find_element(By.ID, "chat-input").is_displayed()
    assert browser.execute_script("return document.documentElement.scrollWidth") <= 390
    screenshot(browser, "chat-phone")
    assert console_errors(browser) == []


def test_stop_cancels_the_stream(server, llm, browser):
    slug = make_workspace(server)
    llm.enqueue(Answer.text(" ".join(f"w{i}" for i in range(60)), delay=0.1))
    open_view(browser, server, "chat")
    browser.find_element(By.ID, "chat-input").send_keys("count slowly", Keys.ENTER)
    wait(browser, lambda d: "w3" in assistant_text(d), message="streaming")
    browser.find_element(By.ID, "chat-stop").click()
    wait(browser, lambda d: "stopped" in d.find_element(By.CSS_SELECTOR, "#chat-log .turn:last-child .meta").text)
    shown = assistant_text(browser)
    assert "w59" not in shown

    def stored(_):
        chats = httpx.get(f"{server.url}/api/chats/", params={"workspace": slug}).json()["chats"]
        return chats and chats[0]["response"] and "w59" not in chats[0]["response"] and chats[0]
    chat = wait(browser, stored, message="partial answer stored")
    assert chat["response"].startswith("w0 w1")
    assert console_errors(browser) == []


def test_model_html_renders_as_text(server, llm, browser):
    make_workspace(server)
    llm.enqueue(Answer.text(["Look: ", "<img src=x onerror=alert(1)>", " and **bold** <script>alert(2)</script>"]))
    open_view(browser, server, "chat")
    browser.find_element(By.ID, "chat-input").send_keys("show me html", Keys.ENTER)
    wait(browser, lambda d: "alert(2)" in assistant_text(d), message="answer shown")
    log = browser.find_element(By.ID, "chat-log")
    assert log.find_elements(By.TAG_NAME, "img") == []
    assert log.find_elements(By.TAG_NAME, "script") == []
    assert "<img src=x onerror=alert(1)>" in assistant_text(browser)
    assert log.find_element(By.CSS_SELECTOR, ".msg.assistant strong").text == "bold"
    time.sleep(0.3)
    with pytest.raises(NoAlertPresentException):
        browser.switch_to.alert.text
    screenshot(browser, "chat-html-as-text")
    assert console_errors(browser) == []


def tool_messages(request_body):
    return [m for m in request_body["messages"] if m.get("role") == "tool"]


def test_agent_answers_a_browser_tool_and_an_approval_and_the_run_is_inspectable(server, llm, browser):
    make_workspace(server)
    llm.enqueue(
        Answer.calls(("call_tz", "browser_time_zone", {})),
        Answer.calls(("call_paste", "read_pasted_text", {"prompt": "Paste the error log"})),
        Answer.text("Your browser runs in a known zone and the log says the disk is full", delay=0.03),
    )
    open_view(browser, server, "agent")
    browser.find_element(By.ID, "agent-input").send_keys("Where am I and what does my log say?", Keys.ENTER)

    approve = wait(browser, lambda d: next(iter(d.find_elements(
        By.XPATH, "//li[@data-name='read_pasted_text']//button[normalize-space()='Approve']")), None), message="approval prompt")
    # The browser tool ran before the approval was asked: its result is on screen.
    tz_card = browser.find_element(By.CSS_SELECTOR, "li.tool-call[data-name='browser_time_zone']")
    assert "time_zone" in tz_card.find_element(By.CSS_SELECTOR, ".output").text
    screenshot(browser, "agent-approval")
    approve.click()
    area = wait(browser, lambda d: next(iter(d.find_elements(By.CSS_SELECTOR, "li[data-name='read_pasted_text'] textarea")), None),
                message="paste prompt")
    area.send_keys("ERROR: disk full on /var")
    browser.find_element(By.XPATH, "//li[@data-name='read_pasted_text']//button[normalize-space()='Send text']").click()
    wait(browser, lambda d: d.find_element(By.CSS_SELECTOR, "#agent-log .run").get_attribute("data-status") == "completed",
         timeout=20, message="run completed")
    assert "the disk is full" in browser.find_element(By.ID, "agent-log").text

    # What the model received: the page's time zone, then the pasted text.
    assert len(llm.requests) == 3
    zone = json.loads(tool_messages(llm.requests[1])[0]["content"])
    assert zone["time_zone"] and "utc_offset_minutes" in zone
    pasted = json.loads(tool_messages(llm.requests[2])[-1]["content"])
    assert pasted == {"text": "ERROR: disk full on /var"}
    paste_card = browser.find_element(By.CSS_SELECTOR, "li.tool-call[data-name='read_pasted_text']")
    assert "approved" in paste_card.text and "disk full on /var" in paste_card.text
    # The whole run in one picture (this one is the README's screenshot of the agent view).
    browser.set_window_size(1280, 1500)
    browser.execute_script("window.scrollTo(0, 0)")
    screenshot(browser, "agent")
    browser.set_window_size(1280, 900)

    # Runs view: the run is listed; the inspector shows its steps and tool calls.
    browser.get(f"{server.url}/#runs")
    link = wait(browser, lambda d: next(iter(d.find_elements(By.CSS_SELECTOR, "#runs-body button.link")), None), message="run listed")
    assert "Where am I" in link.text
    link.click()
    inspector = browser.find_element(By.ID, "run-inspector")
    wait(browser, lambda d: "Step 3" in inspector.text, message="inspector filled")
    assert "browser_time_zone" in inspector.text and "read_pasted_text" in inspector.text
    assert "completed" in inspector.text
    screenshot(browser, "runs")
    assert console_errors(browser) == []


def test_a_reload_mid_run_resumes_without_losing_or_repeating_text(server, llm, browser):
    make_workspace(server)
    words = [f"word{i}" for i in range(40)]
    llm.enqueue(Answer.text(" ".join(words), delay=0.1))
    open_view(browser, server, "agent")
    browser.find_element(By.ID, "agent-input").send_keys("Count to forty slowly", Keys.ENTER)

    def step_text(driver):
        texts = driver.find_elements(By.CSS_SELECTOR, "#agent-log .step .content")
        return " ".join(t.text for t in texts)
    wait(browser, lambda d: "word5" in step_text(d), message="tokens arriving")
    saved = json.loads(browser.execute_script("return sessionStorage.getItem('agenthost.agent.run')"))
    assert saved["invocation_id"] and saved["last_seq"] > 0
    browser.refresh()
    wait(browser, lambda d: "Picked up again" in d.find_element(By.ID, "agent-log").text, message="resumed")
    # Still running when it was picked up: the rest arrives live.
    assert "word39" not in step_text(browser)
    wait(browser, lambda d: d.find_element(By.CSS_SELECTOR, "#agent-log .run").get_attribute("data-status") == "completed",
         timeout=20, message="run completed after reload")
    assert step_text(browser) == " ".join(words)
    assert browser.execute_script("return sessionStorage.getItem('agenthost.agent.run')") is None
    screenshot(browser, "agent-resumed")
    assert console_errors(browser) == []


def test_a_reload_while_an_approval_waits_asks_again_and_the_run_continues(server, llm, browser):
    make_workspace(server)
    llm.enqueue(
        Answer.calls(("call_paste", "read_pasted_text", {"prompt": "Paste the contract"})),
        Answer.text("The contract is signed"),
    )
    open_view(browser, server, "agent")
    browser.find_element(By.ID, "agent-input").send_keys("Read my contract", Keys.ENTER)
    approve_xpath = "//li[@data-name='read_pasted_text']//button[normalize-space()='Approve']"
    wait(browser, lambda d: d.find_elements(By.XPATH, approve_xpath), message="approval prompt")
    browser.refresh()
    # The pending approval is asked again on the reloaded page, once.
    wait(browser, lambda d: d.find_elements(By.XPATH, approve_xpath), message="approval asked again")
    time.sleep(0.3)
    assert len(browser.find_elements(By.XPATH, approve_xpath)) == 1
    assert len(browser.find_elements(By.CSS_SELECTOR, "li.tool-call[data-name='read_pasted_text']")) == 1
    browser.find_element(By.XPATH, approve_xpath).click()
    area = wait(browser, lambda d: next(iter(d.find_elements(By.CSS_SELECTOR, "li[data-name='read_pasted_text'] textarea")), None),
                message="paste prompt")
    area.send_keys("Signed by both parties")
    browser.find_element(By.XPATH, "//li[@data-name='read_pasted_text']//button[normalize-space()='Send text']").click()
    wait(browser, lambda d: d.find_element(By.CSS_SELECTOR, "#agent-log .run").get_attribute("data-status") == "completed",
         timeout=20, message="run completed")
    assert json.loads(tool_messages(llm.requests[1])[-1]["content"]) == {"text": "Signed by both parties"}
    assert "The contract is signed" in browser.find_element(By.ID, "agent-log").text
    assert console_errors(browser) == []


def test_the_confirm_tool_asks_in_the_page(server, llm, browser):
    make_workspace(server)
    llm.enqueue(Answer.calls(("call_ok", "confirm_with_user", {"question": "Delete the <b>old</b> backups?"})),
                Answer.text("Kept them"))
    open_view(browser, server, "agent")
    browser.find_element(By.ID, "agent-input").send_keys("Clean up", Keys.ENTER)
    no = wait(browser, lambda d: next(iter(d.find_elements(
        By.XPATH, "//li[@data-name='confirm_with_user']//button[normalize-space()='No']")), None), message="question shown")
    card = browser.find_element(By.CSS_SELECTOR, "li.tool-call[data-name='confirm_with_user']")
    assert "Delete the <b>old</b> backups?" in card.text and card.find_elements(By.TAG_NAME, "b") == []
    assert browser.switch_to.active_element.text == "Yes"  # the prompt takes the focus
    no.click()
    wait(browser, lambda d: d.find_element(By.CSS_SELECTOR, "#agent-log .run").get_attribute("data-status") == "completed",
         message="run completed")
    assert json.loads(tool_messages(llm.requests[1])[-1]["content"]) == {"confirmed": False}
    assert console_errors(browser) == []


def test_cancel_stops_an_agent_run(server, llm, browser):
    make_workspace(server)
    llm.enqueue(Answer.text(" ".join(f"t{i}" for i in range(80)), delay=0.1))
    open_view(browser, server, "agent")
    browser.find_element(By.ID, "agent-input").send_keys("Talk for a long time", Keys.ENTER)
    wait(browser, lambda d: "t3" in d.find_element(By.ID, "agent-log").text, message="tokens arriving")
    browser.find_element(By.ID, "agent-cancel").click()
    wait(browser, lambda d: d.find_element(By.CSS_SELECTOR, "#agent-log .run").get_attribute("data-status") == "cancelled",
         message="run cancelled")
    assert "t79" not in browser.find_element(By.ID, "agent-log").text
    run_id = browser.find_element(By.CSS_SELECTOR, "#agent-log .run").get_attribute("data-invocation-id")
    assert httpx.get(f"{server.url}/api/agent/invocations/{run_id}").json()["status"] == "cancelled"
    assert console_errors(browser) == []


def test_search_finds_the_chat_and_export_downloads_every_format(server, llm, browser):
    slug = make_workspace(server)
    llm.enqueue(Answer.text("Zebras migrate with wildebeest across the <Serengeti> plains"))
    with httpx.stream("POST", f"{server.url}/api/chats/stream_chat/", json={"message": "Tell me about zebra migration", "workspace": slug},
                      timeout=30) as response:
        assert response.status_code == 200
        assert "chat_complete" in response.read().decode()
    open_view(browser, server, "search")
    browser.find_element(By.ID, "search-q").send_keys("zebra", Keys.ENTER)
    result = wait(browser, lambda d: next(iter(d.find_elements(By.CSS_SELECTOR, "#search-results .result")), None), message="a hit")
    marks = result.find_elements(By.TAG_NAME, "mark")
    assert marks and all(m.text.lower().startswith("zebra") for m in marks)
    assert "<mark>" not in result.text
    assert "<Serengeti>" in result.text  # escaped by the API, shown as text
    screenshot(browser, "search")

    browser.find_element(By.ID, "export-scope").send_keys("every workspace")
    formats = ["json", "jsonl", "csv", "txt", "pdf"]
    for fmt in formats:
        browser.find_element(By.CSS_SELECTOR, f"#export-buttons button[data-format='{fmt}']").click()

    def downloaded(_):
        files = [p for p in browser.downloads.iterdir() if not p.name.endswith(".crdownload")]
        return files if len(files) == len(formats) else None
    files = wait(browser, downloaded, timeout=20, message=lambda: f"five downloads, got {list(browser.downloads.iterdir())}")
    by_suffix = {p.suffix.lstrip("."): p for p in files}
    assert set(by_suffix) == set(formats)
    assert "zebra migration" in by_suffix["json"].read_text()
    assert by_suffix["pdf"].read_bytes().startswith(b"%PDF")
    assert console_errors(browser) == []


def test_documents_upload_pin_and_delete(server, llm, browser, tmp_path):
    slug = make_workspace(server)
    note = tmp_path / "handbook.txt"
    note.write_text("The office opens at nine. Badges are at the front desk.")
    open_view(browser, server, "documents")
    browser.find_element(By.ID, "document-file").send_keys(str(note))
    browser.find_element(By.CSS_SELECTOR, "#document-upload button[type=submit]").click()
    row = wait(browser, lambda d: next(iter(d.find_elements(By.CSS_SELECTOR, "#documents-body tr[data-document-id]")), None),
               message="uploaded")
    assert "handbook.txt" in row.text
    row.find_element(By.CSS_SELECTOR, "input[type=checkbox]").click()
    documents = lambda: httpx.get(f"{server.url}/api/workspaces/{slug}/documents/").json()["documents"]  # noqa: E731
    wait(browser, lambda d: documents()[0]["pinned"] is True, message="pinned")
    screenshot(browser, "documents")
    row.find_element(By.XPATH, ".//button[normalize-space()='Delete']").click()
    wait(browser, lambda d: documents() == [], message="deleted")
    wait(browser, lambda d: not d.find_elements(By.CSS_SELECTOR, "#documents-body tr[data-document-id]"), message="row gone")
    assert console_errors(browser) == []


def test_every_control_has_a_label_and_threads_can_be_made_in_the_page(server, llm, browser):
    slug = make_workspace(server)
    unlabelled_script = """
        const controls = [...document.querySelectorAll('input, select, textarea, button')];
        return controls.filter(c => !(c.labels && c.labels.length) && !c.getAttribute('aria-label')
                                    && !(c.tagName === 'BUTTON' && c.textContent.trim()))
                       .map(c => c.outerHTML.slice(0, 80));
    """
    for view in ("chat", "agent", "runs", "search", "documents"):
        open_view(browser, server, view)
        assert browser.execute_script(unlabelled_script) == [], view
    # Keyboard only: a thread made from the form, then a chat in it.
    open_view(browser, server, "chat")
    browser.find_element(By.ID, "thread-name").send_keys("Plans", Keys.ENTER)
    wait(browser, lambda d: d.find_element(By.ID, "thread-select").get_attribute("value"), message="thread made")
    thread = browser.find_element(By.ID, "thread-select").get_attribute("value")
    llm.enqueue(Answer.text("Planned"))
    browser.find_element(By.ID, "chat-input").send_keys("plan it", Keys.ENTER)
    wait(browser, lambda d: assistant_text(d) == "Planned", message="answered in the thread")
    chats = httpx.get(f"{server.url}/api/chats/", params={"workspace": slug, "thread": thread}).json()["chats"]
    assert [c["prompt"] for c in chats] == ["plan it"]
    assert console_errors(browser) == []


def test_multi_user_sign_in(start_server, llm, browser):
    server = start_server()
    server.cli("users", "add", "alice", "--password", "correct-horse-battery", "--role", "admin")
    browser.get(server.url)
    wait(browser, lambda d: d.find_element(By.ID, "view-signin").is_displayed(), message="sign-in form")
    assert not browser.find_element(By.ID, "nav").is_displayed()
    screenshot(browser, "signin")
    browser.find_element(By.ID, "signin-username").send_keys("alice")
    browser.find_element(By.ID, "signin-password").send_keys("wrong-password", Keys.ENTER)
    wait(browser, lambda d: d.find_element(By.ID, "signin-error").text, message="refused")
    password = browser.find_element(By.ID, "signin-password")
    password.clear()
    password.send_keys("correct-horse-battery", Keys.ENTER)
    wait(browser, lambda d: d.find_element(By.ID, "nav").is_displayed(), message="signed in")
    assert "alice" in browser.find_element(By.ID, "whoami").text
    assert browser.execute_script("return sessionStorage.getItem('agenthost.token')")

    # Signed in, the page uses the API with the token: a workspace made in the page, a streamed chat,
    # and an agent run over the WebSocket (?token=).
    browser.find_element(By.ID, "workspace-name").send_keys("Team", Keys.ENTER)
    wait(browser, lambda d: d.find_element(By.ID, "workspace-select").get_attribute("value") == "team", message="workspace made")
    llm.enqueue(Answer.text("Hello Alice"), Answer.text("Agent says hi"))
    browser.get(f"{server.url}/#chat")
    wait(browser, lambda d: d.find_element(By.ID, "view-chat").is_displayed())
    browser.find_element(By.ID, "chat-input").send_keys("hi", Keys.ENTER)
    wait(browser, lambda d: assistant_text(d) == "Hello Alice", message="chat answered")
    browser.get(f"{server.url}/#agent")
    wait(browser, lambda d: d.find_element(By.ID, "view-agent").is_displayed())
    browser.find_element(By.ID, "agent-input").send_keys("say hi", Keys.ENTER)
    wait(browser, lambda d: d.find_element(By.CSS_SELECTOR, "#agent-log .run").get_attribute("data-status") == "completed",
         message="agent over ws with token")
    assert "Agent says hi" in browser.find_element(By.ID, "agent-log").text
    browser.find_element(By.ID, "sign-out").click()
    wait(browser, lambda d: d.find_element(By.ID, "view-signin").is_displayed(), message="signed out")
    assert browser.execute_script("return sessionStorage.getItem('agenthost.token')") is None
    # The one expected error: the page's first, unauthenticated request is refused (that is how it
    # learns that the server has users), and the wrong password.
    assert console_errors(browser, allowed=("status of 401",)) == []
