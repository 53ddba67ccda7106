"""MCP servers as tool sources (PROTOCOL §10), against a real MCP server written with the official
Python SDK (`mcp_servers/demo_server.py`), over stdio and over streamable HTTP, with agent runs over
`ws/agent` and over REST and the fake model scripted to call `demo__<tool>`."""
import json
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx
import pytest
from websockets.sync.client import connect

from conftest import Answer, agenthost_binary, free_port

DEMO = str(Path(__file__).resolve().parent / "mcp_servers" / "demo_server.py")


def read_records(path):
    p = Path(path)
    return [json.loads(line) for line in p.read_text().splitlines()] if p.exists() else []


def wait_for(predicate, timeout=10.0, what="condition"):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


def has_exited(pid):
    """Whether process `pid` is gone or a zombie; it may be reaped between any two reads of /proc."""
    try:
        return "zombie" in Path(f"/proc/{pid}/status").read_text().lower()
    except (FileNotFoundError, ProcessLookupError):
        return True


@pytest.fixture()
def record_file():
    return tempfile.mktemp(prefix="mcp-demo-", suffix=".jsonl")


@pytest.fixture()
def http_demo(record_file):
    """The demo server over streamable HTTP, as its own process."""
    port = free_port()
    process = subprocess.Popen([sys.executable, DEMO, "http", str(port)], env={"DEMO_RECORD": record_file, "PATH": "/usr/bin:/bin"},
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

    def listening():
        with socket.socket() as s:
            return s.connect_ex(("127.0.0.1", port)) == 0
    wait_for(listening, 20, "the HTTP MCP server")
    yield f"http://127.0.0.1:{port}/mcp"
    process.terminate()
    process.wait(timeout=10)


def stdio_config(record_file, **extra):
    return {"name": "demo", "transport": "stdio", "command": sys.executable, "args": [DEMO, "stdio"],
            "env": {"DEMO_RECORD": record_file, "DEMO_SECRET": "s3cret"}, **extra}


def http_config(url, **extra):
    return {"name": "demo", "transport": "http", "url": url, "headers": {"Authorization": "Bearer t0ken"}, **extra}


def make_workspace(server, mcp_servers, headers=None):
    response = httpx.post(f"{server.url}/api/workspaces", json={"name": "mcp", "mcp_servers": mcp_servers},
                          headers=headers or {}, timeout=10)
    assert response.status_code == 201, response.text
    return response.json()["slug"]


def run_over_ws(server, slug, message="go"):
    frames = []
    with connect(f"ws://127.0.0.1:{server.port}/ws/agent/{slug}/") as ws:
        ws.send(json.dumps({"type": "agent_invoke", "message": message}))
        for _ in range(500):
            frame = json.loads(ws.recv(timeout=30))
            if frame["type"] in ("connected",):
                continue
            frames.append(frame)
            if frame["type"] == "agent_complete":
                return frames
    raise AssertionError(f"no agent_complete: {frames}")


def run_over_rest(server, slug, message="go"):
    frames = []
    with httpx.stream("POST", f"{server.url}/api/agent/invocations/", json={"workspace": slug, "message": message}, timeout=60) as response:
        assert response.status_code == 200, response.read()
        for line in response.iter_lines():
            if line.startswith("data:"):
                frames.append(json.loads(line[5:]))
    assert frames[-1]["type"] == "agent_complete", frames
    return frames


def tool_results(frames):
    return [f for f in frames if f["type"] == "tool_result"]


def tool_messages(request):
    return [m for m in request["messages"] if m.get("role") == "tool"]


@pytest.mark.parametrize("transport", ["stdio", "http"])
@pytest.mark.parametrize("channel", ["ws", "rest"])
def test_agent_run_calls_an_mcp_tool_and_the_model_gets_the_result(server, llm, record_file, request, transport, channel):
    config = stdio_config(record_file) if transport == "stdio" else http_config(request.getfixturevalue("http_demo"))
    slug = make_workspace(server, [config])
    llm.enqueue(Answer.calls(("call_1", "demo__echo", {"text": "hi there"})), Answer.text("it said hi"))
    frames = (run_over_ws if channel == "ws" else run_over_rest)(server, slug)

    assert frames[-1]["status"] == "completed", frames
    calls = [f for f in frames if f["type"] == "tool_call"]
    assert calls and calls[0]["name"] == "demo__echo" and calls[0]["executor"] == "server"
    (result,) = tool_results(frames)
    assert result["is_error"] is False, result
    assert "echo: hi there" in json.dumps(result["output"])
    # The model was offered the tool, and its next request carries the result.
    offered = [t["function"]["name"] for t in llm.requests[0]["tools"]]
    assert "demo__echo" in offered and "calculator" in offered
    (message,) = tool_messages(llm.requests[1])
    assert "echo: hi there" in message["content"]
    (call,) = [r for r in read_records(record_file) if r["event"] == "call" and r["tool"] == "echo"]
    if transport == "http":
        assert call["authorization"] == "Bearer t0ken"  # the configured headers reach the server
    # The run's step log has the call.
    invocation = httpx.get(f"{server.url}/api/agent/invocations/{frames[0]['invocation_id']}", timeout=10).json()
    assert "demo__echo" in json.dumps(invocation)


@pytest.mark.parametrize("transport", ["stdio", "http"])
def test_a_hanging_mcp_tool_times_out_and_is_cancelled_at_the_server(server, llm, record_file, request, transport):
    config = stdio_config(record_file, timeout_ms=1500) if transport == "stdio" \
        else http_config(request.getfixturevalue("http_demo"), timeout_ms=1500)
    slug = make_workspace(server, [config])
    llm.enqueue(Answer.calls(("call_1", "demo__hang", {"seconds": 60})), Answer.text("gave up"))
    started = time.monotonic()
    frames = run_over_ws(server, slug)
    assert time.monotonic() - started < 20
    (result,) = tool_results(frames)
    assert result["is_error"] is True
    assert result["output"]["code"] == "tool_timeout", result
    assert frames[-1]["status"] == "completed"
    assert tool_messages(llm.requests[1])[0]["content"].find("tool_timeout") >= 0
    # The server received notifications/cancelled and cancelled the running handler.
    wait_for(lambda: any(r["event"] == "cancelled" for r in read_records(record_file)), 10, "the cancellation at the MCP server")


def test_a_crashing_server_gives_an_error_result_and_is_restarted(server, llm, record_file):
    slug = make_workspace(server, [stdio_config(record_file)])
    llm.enqueue(Answer.calls(("call_1", "demo__crash", {})),
                Answer.calls(("call_2", "demo__echo", {"text": "again"})),
                Answer.text("recovered"))
    frames = run_over_ws(server, slug)
    crash, echo = tool_results(frames)
    assert crash["is_error"] is True and "demo" in json.dumps(crash["output"])
    assert echo["is_error"] is False and "echo: again" in json.dumps(echo["output"]), echo
    assert frames[-1]["status"] == "completed"
    starts = [r["pid"] for r in read_records(record_file) if r["event"] == "start"]
    assert len(starts) == 2 and starts[0] != starts[1], starts
    log = server.log()
    assert "MCP server exited" in log
    # The child's stderr is in our log, with the server's name.
    (line,) = [line for line in log.splitlines() if f"demo server {starts[0]} starting" in line]
    assert "mcp_server=demo" in line, line


def test_a_server_that_cannot_start_is_an_error_result_not_a_failed_run(server, llm):
    slug = make_workspace(server, [{"name": "broken", "transport": "stdio", "command": "/nonexistent/mcp-server"}])
    started = time.monotonic()
    tools = httpx.get(f"{server.url}/api/workspaces/{slug}/tools", timeout=30).json()
    # The child's exit ends the start at once, not after the start timeout (20 s).
    assert time.monotonic() - started < 10
    assert tools["unavailable"] and tools["unavailable"][0]["source"] == "mcp:broken", tools
    assert all(t["source"] == "builtin" for t in tools["tools"])
    llm.enqueue(Answer.calls(("call_1", "broken__anything", {})), Answer.text("no luck"))
    frames = run_over_ws(server, slug)
    assert frames[-1]["status"] == "completed"
    (result,) = tool_results(frames)
    assert result["is_error"] is True
    assert "warning" in server.log() and "broken" in server.log()


def test_secrets_are_masked_and_the_tools_listing_names_sources(server, llm, record_file, http_demo):
    slug = make_workspace(server, [stdio_config(record_file, requires_approval=False, tools=["echo", "add"]),
                                   http_config(http_demo) | {"name": "remote", "tools": ["add"], "requires_approval": True}])
    shown = httpx.get(f"{server.url}/api/workspaces/{slug}", timeout=10).json()
    body = json.dumps(shown)
    assert "s3cret" not in body and "t0ken" not in body
    local, remote = shown["mcp_servers"]
    assert local["env"] == {"DEMO_RECORD": "********", "DEMO_SECRET": "********"}
    assert remote["headers"] == {"Authorization": "********"}
    listing = httpx.get(f"{server.url}/api/workspaces/{slug}", timeout=10).json()
    assert "s3cret" not in json.dumps(listing)

    tools = httpx.get(f"{server.url}/api/workspaces/{slug}/tools/", timeout=30).json()
    by_name = {t["name"]: t for t in tools["tools"]}
    assert by_name["calculator"]["source"] == "builtin"
    assert by_name["demo__echo"]["source"] == "mcp:demo"
    assert by_name["demo__echo"]["parameters"]["properties"]["text"]["type"] == "string"
    assert by_name["remote__add"]["source"] == "mcp:remote" and by_name["remote__add"]["requires_approval"] is True
    assert "demo__hang" not in by_name and "remote__echo" not in by_name  # allow-lists
    assert tools["unavailable"] == []

    # Sending the masked values back keeps the stored secrets.
    patched = httpx.patch(f"{server.url}/api/workspaces/{slug}", json={"mcp_servers": shown["mcp_servers"]}, timeout=10)
    assert patched.status_code == 200, patched.text
    assert "s3cret" not in patched.text
    llm.enqueue(Answer.calls(("call_1", "demo__echo", {"text": "x"})), Answer.text("ok"))
    run_over_rest(server, slug)
    assert [r["secret"] for r in read_records(record_file) if r.get("tool") == "echo"] == ["s3cret"]


def test_invalid_mcp_configurations_are_refused(server):
    slug = make_workspace(server, [])
    bad = [
        [{"name": "Bad Name", "transport": "stdio", "command": "x"}],
        [{"name": "a", "transport": "stdio", "command": "x"}, {"name": "a", "transport": "stdio", "command": "y"}],
        [{"name": "a", "transport": "http", "url": "file:///etc/passwd"}],
        [{"name": "a", "transport": "stdio"}],
        [{"name": "a", "transport": "stdio", "command": "x", "env": {"K": "********"}}],
    ]
    for servers in bad:
        response = httpx.patch(f"{server.url}/api/workspaces/{slug}", json={"mcp_servers": servers}, timeout=10)
        assert response.status_code == 400, (servers, response.text)
        assert response.json()["error"]["code"] == "validation_failed"


def test_only_admins_may_set_mcp_servers(start_server, llm, record_file):
    data_dir = tempfile.mkdtemp(prefix="agenthost-mcp-users-")
    binary = agenthost_binary()
    for args in (["users", "add", "root", "--password", "rootpass1", "--role", "admin"], ["users", "add", "bob", "--password", "bobpass12"]):
        done = subprocess.run([binary, *args, "--data-dir", data_dir], capture_output=True, text=True, timeout=60)
        assert done.returncode == 0, done.stderr
    server = start_server(data_dir=data_dir)

    def login(user, password):
        response = httpx.post(f"{server.url}/api/auth/login", json={"username": user, "password": password}, timeout=10)
        assert response.status_code == 200, response.text
        return {"Authorization": f"Bearer {response.json()['token']}"}
    admin, bob = login("root", "rootpass1"), login("bob", "bobpass12")
    slug = make_workspace(server, [], headers=admin)
    config = [stdio_config(record_file)]
    refused = httpx.patch(f"{server.url}/api/workspaces/{slug}", json={"mcp_servers": config}, headers=bob, timeout=10)
    assert refused.status_code == 403 and refused.json()["error"]["code"] == "forbidden"
    assert httpx.post(f"{server.url}/api/workspaces", json={"name": "b", "mcp_servers": config}, headers=bob, timeout=10).status_code == 403
    assert httpx.get(f"{server.url}/api/workspaces/{slug}", headers=bob, timeout=10).json()["mcp_servers"] == []
    accepted = httpx.patch(f"{server.url}/api/workspaces/{slug}", json={"mcp_servers": config}, headers=admin, timeout=10)
    assert accepted.status_code == 200
    # Everyone signed in sees the configuration masked.
    shown = httpx.get(f"{server.url}/api/workspaces/{slug}", headers=bob, timeout=10).json()["mcp_servers"]
    assert shown[0]["env"]["DEMO_SECRET"] == "********"


@pytest.mark.parametrize("transport", ["stdio", "http"])
def test_the_tool_list_is_refreshed_on_list_changed(server, llm, record_file, request, transport):
    config = stdio_config(record_file) if transport == "stdio" else http_config(request.getfixturevalue("http_demo"))
    slug = make_workspace(server, [config])
    names = lambda: {t["name"] for t in httpx.get(f"{server.url}/api/workspaces/{slug}/tools", timeout=30).json()["tools"]}
    assert "demo__enable_extra" in names() and "demo__extra" not in names()
    llm.enqueue(Answer.calls(("call_1", "demo__enable_extra", {})), Answer.text("enabled"))
    assert run_over_ws(server, slug)[-1]["status"] == "completed"
    wait_for(lambda: "demo__extra" in names(), 10, "demo__extra in the listing")
    llm.enqueue(Answer.calls(("call_1", "demo__extra", {})), Answer.text("done"))
    frames = run_over_ws(server, slug)
    assert tool_results(frames)[0]["output"] == {"result": "extra!"}


def test_cancelling_a_run_cancels_the_mcp_call_at_the_server(server, llm, record_file):
    slug = make_workspace(server, [stdio_config(record_file)])
    llm.enqueue(Answer.calls(("call_1", "demo__hang", {"seconds": 60})), Answer.text("unused"))
    with connect(f"ws://127.0.0.1:{server.port}/ws/agent/{slug}/") as ws:
        ws.send(json.dumps({"type": "agent_invoke", "message": "go"}))
        frames = []
        for _ in range(500):
            frame = json.loads(ws.recv(timeout=30))
            frames.append(frame)
            if frame["type"] == "tool_call":
                wait_for(lambda: any(r.get("tool") == "hang" for r in read_records(record_file)), 10, "the hang call")
                ws.send(json.dumps({"type": "cancel", "invocation_id": frame["invocation_id"]}))
            if frame["type"] == "agent_complete":
                break
    assert frames[-1]["type"] == "agent_complete" and frames[-1]["status"] == "cancelled", frames
    wait_for(lambda: any(r["event"] == "cancelled" for r in read_records(record_file)), 10, "the cancellation at the MCP server")


def test_an_idle_stdio_server_is_stopped_and_started_again_on_next_use(start_server, llm, record_file):
    server = start_server(args=["--mcp-idle-stop", "1"])
    # The server takes longer to start than the idle time, and the model answers slowly enough
    # for an idle sweep (every 0.25 s) to fall between the listing and the call: idleness counts
    # from the end of the listing, so the call still finds the server the run started.
    config = stdio_config(record_file)
    config["env"]["DEMO_START_DELAY"] = "1.5"
    slug = make_workspace(server, [config])
    llm.enqueue(Answer.calls(("call_1", "demo__echo", {"text": "one"}), delay=0.05), Answer.text("ok"))
    run_over_ws(server, slug)
    (first,) = [r["pid"] for r in read_records(record_file) if r["event"] == "start"]
    wait_for(lambda: has_exited(first), 10, "the idle server to exit")
    # The child exits as soon as its input closes; the manager logs the stop once it has seen that.
    wait_for(lambda: "stopped an idle MCP server" in server.log(), 10, "the idle stop to be logged")
    llm.enqueue(Answer.calls(("call_1", "demo__echo", {"text": "two"})), Answer.text("ok"))
    frames = run_over_ws(server, slug)
    assert tool_results(frames)[0]["is_error"] is False
    starts = [r["pid"] for r in read_records(record_file) if r["event"] == "start"]
    assert len(starts) == 2 and starts[1] != first


def test_agenthost_environment_is_not_passed_to_stdio_servers(start_server, llm, record_file):
    server = start_server(env={"AGENTHOST_JWT_SECRET": "x" * 40})
    slug = make_workspace(server, [stdio_config(record_file)])
    llm.enqueue(Answer.calls(("call_1", "demo__echo", {"text": "hi"})), Answer.text("ok"))
    run_over_ws(server, slug)
    (call,) = [r for r in read_records(record_file) if r.get("tool") == "echo"]
    assert call["secret"] == "s3cret" and call["agenthost_secret"] is None


def test_an_mcp_tool_that_requires_approval_waits_for_it(server, llm, record_file):
    slug = make_workspace(server, [stdio_config(record_file, requires_approval=True)])
    llm.enqueue(Answer.calls(("call_1", "demo__echo", {"text": "approved"})), Answer.text("ok"))
    with connect(f"ws://127.0.0.1:{server.port}/ws/agent/{slug}/") as ws:
        ws.send(json.dumps({"type": "agent_invoke", "message": "go"}))
        frames = []
        for _ in range(500):
            frame = json.loads(ws.recv(timeout=30))
            frames.append(frame)
            if frame["type"] == "approval_required":
                assert frame["name"] == "demo__echo"
                assert read_records(record_file) == [] or all(r.get("tool") != "echo" for r in read_records(record_file))
                ws.send(json.dumps({"type": "approval", "invocation_id": frame["invocation_id"], "call_id": frame["call_id"], "approved": True}))
            if frame["type"] == "agent_complete":
                break
    assert [f["type"] for f in frames].count("approval_required") == 1
    (result,) = tool_results(frames)
    assert result["is_error"] is False and "echo: approved" in json.dumps(result["output"])


def test_a_tool_failure_is_an_error_result(server, llm, record_file):
    slug = make_workspace(server, [stdio_config(record_file)])
    llm.enqueue(Answer.calls(("call_1", "demo__fail", {"reason": "the city is unknown"}),
                             ("call_2", "demo__add", {"a": "not a number", "b": 2})), Answer.text("ok"))
    frames = run_over_ws(server, slug)
    results = {r["call_id"]: r for r in tool_results(frames)}
    failed, invalid = results["call_1"], results["call_2"]
    # The server's error text (the Python SDK does not pass the exception's message on).
    assert failed["is_error"] is True and "Error executing tool fail" in failed["output"]["error"], failed
    # Our schema validation stops invalid arguments before they reach the server.
    assert invalid["is_error"] is True and "add" not in [r.get("tool") for r in read_records(record_file)]
    llm.enqueue(Answer.calls(("call_1", "demo__add", {"a": 1, "b": 2})), Answer.text("ok"))
    # A dict without an output schema comes back as JSON text.
    assert json.loads(tool_results(run_over_ws(server, slug))[0]["output"]) == {"sum": 3}
