"""The AG-UI endpoint (PROTOCOL §10) against a real server and the fake model, checked with the
official `ag-ui-protocol` models: every event validates, the ordering rules hold, server tools run
inline, frontend tools round-trip over two runs, streams resume exactly, errors are RUN_ERROR or a
§1 error before the stream."""
import json
import uuid

import httpx
import pydantic
import pytest
from ag_ui.core import Event, RunAgentInput

from conftest import Answer

EVENT = pydantic.TypeAdapter(Event)
TIMEOUT = 30


def workspace(server, name="agui"):
    response = httpx.post(f"{server.url}/api/workspaces", json={"name": name})
    assert response.status_code in (200, 201), response.text
    return response.json()["slug"]


def run_input(thread, run, messages, tools=None, context=None):
    body = {"threadId": thread, "runId": run, "messages": messages, "tools": tools or [], "context": context or [],
            "state": {}, "forwardedProps": {}}
    RunAgentInput.model_validate(body)  # what we send is a valid AG-UI input too
    return body


def user(text):
    return {"id": f"msg-{uuid.uuid4().hex[:8]}", "role": "user", "content": text}


def read_events(response, limit=None):
    """The stream's events as (id, event JSON); stops after `limit` events when given. `response`
    may be a line iterator, to read on where an earlier call stopped."""
    events, current_id = [], None
    lines = response.iter_lines() if isinstance(response, httpx.Response) else response
    for line in lines:
        if line.startswith("id:"):
            current_id = int(line[3:].strip())
        elif line.startswith("data:"):
            events.append((current_id, json.loads(line[5:])))
            current_id = None
            if limit is not None and len(events) >= limit:
                break
    return events


def post_run(server, slug, body, headers=None, limit=None):
    with httpx.stream("POST", f"{server.url}/api/agui/{slug}", json=body, headers=headers, timeout=TIMEOUT) as response:
        assert response.status_code == 200, response.read()
        assert response.headers["content-type"].startswith("text/event-stream")
        return read_events(response, limit)


def check_stream(events, first_id=0):
    """Every event validates with ag_ui.core.Event; ids count up by one; the ordering rules hold."""
    ids = [event_id for event_id, _ in events]
    assert ids == list(range(first_id, first_id + len(events))), ids
    for _, event in events:
        EVENT.validate_python(event)
    types = [event["type"] for _, event in events]
    assert types[0] == "RUN_STARTED", types
    assert types[-1] in ("RUN_FINISHED", "RUN_ERROR"), types
    assert not {"RUN_STARTED", "RUN_FINISHED", "RUN_ERROR"} & set(types[1:-1]), types
    open_messages, open_calls, ended_calls, open_steps = set(), set(), set(), set()
    for _, event in events:
        kind = event["type"]
        if kind == "TEXT_MESSAGE_START":
            assert event["messageId"] not in open_messages
            open_messages.add(event["messageId"])
        elif kind == "TEXT_MESSAGE_CONTENT":
            assert event["messageId"] in open_messages, (event, types)
        elif kind == "TEXT_MESSAGE_END":
            open_messages.remove(event["messageId"])
        elif kind == "TOOL_CALL_START":
            assert event["toolCallId"] not in open_calls | ended_calls
            open_calls.add(event["toolCallId"])
        elif kind == "TOOL_CALL_ARGS":
            assert event["toolCallId"] in open_calls, (event, types)
        elif kind == "TOOL_CALL_END":
            open_calls.remove(event["toolCallId"])
            ended_calls.add(event["toolCallId"])
        elif kind == "TOOL_CALL_RESULT":
            assert event["toolCallId"] in ended_calls, (event, types)
        elif kind == "STEP_STARTED":
            assert not open_steps, types  # steps do not nest
            open_steps.add(event["stepName"])
        elif kind == "STEP_FINISHED":
            open_steps.remove(event["stepName"])
    assert not open_messages and not open_calls and not open_steps, types
    return [event for _, event in events]


def text_of(events):
    return "".join(event["delta"] for event in events if event["type"] == "TEXT_MESSAGE_CONTENT")


def test_text_run_streams_valid_ordered_events(server, llm):
    slug = workspace(server)
    llm.enqueue(Answer.text("Hello there from the agent", delay=0.01))
    thread, run = str(uuid.uuid4()), str(uuid.uuid4())
    events = check_stream(post_run(server, slug, run_input(thread, run, [user("Say hello")])))
    assert events[0]["threadId"] == thread and events[0]["runId"] == run
    assert events[-1]["type"] == "RUN_FINISHED" and events[-1]["threadId"] == thread and events[-1]["runId"] == run
    assert events[-1]["outcome"] == {"type": "success"}
    assert text_of(events) == "Hello there from the agent"
    types = [event["type"] for event in events]
    assert types.index("STEP_STARTED") < types.index("TEXT_MESSAGE_START") < types.index("TEXT_MESSAGE_CONTENT")
    assert types.index("TEXT_MESSAGE_END") < types.index("STEP_FINISHED") < types.index("RUN_FINISHED")
    assert llm.requests[-1]["messages"][-1] == {"role": "user", "content": "Say hello"}
    # The run is an agent invocation like any other: runId is its id.
    shown = httpx.get(f"{server.url}/api/agent/invocations/{run}").json()
    assert shown["status"] == "completed" and shown["response"] == "Hello there from the agent"


def test_server_tool_runs_inline_with_tool_call_result(server, llm):
    slug = workspace(server)
    llm.enqueue(Answer.calls(("call_calc", "calculator", {"expression": "6*7"})), Answer.text("It is 42."))
    events = check_stream(post_run(server, slug, run_input("t-calc", "r-calc", [user("What is 6*7?")])))
    types = [event["type"] for event in events]
    start = next(event for event in events if event["type"] == "TOOL_CALL_START")
    assert start["toolCallName"] == "calculator" and start["toolCallId"] == "call_calc"
    args = "".join(event["delta"] for event in events if event["type"] == "TOOL_CALL_ARGS")
    assert json.loads(args) == {"expression": "6*7"}
    result = next(event for event in events if event["type"] == "TOOL_CALL_RESULT")
    assert result["toolCallId"] == "call_calc" and "42" in result["content"]
    assert types.count("STEP_STARTED") == 2 and types.count("STEP_FINISHED") == 2
    assert types.index("TOOL_CALL_RESULT") < types.index("TEXT_MESSAGE_START")
    assert text_of(events) == "It is 42."
    assert events[-1]["type"] == "RUN_FINISHED" and "pendingToolCallIds" not in events[-1]["outcome"]
    tool_messages = [m for m in llm.requests[-1]["messages"] if m["role"] == "tool"]
    assert len(tool_messages) == 1 and tool_messages[0]["tool_call_id"] == "call_calc" and "42" in tool_messages[0]["content"]


FRONTEND_TOOL = {"name": "change_background", "description": "Changes the page's background colour.",
                 "parameters": {"type": "object", "properties": {"color": {"type": "string"}}, "required": ["color"]}}


def test_frontend_tool_round_trip_over_two_runs(server, llm):
    slug = workspace(server)
    thread = str(uuid.uuid4())
    first = user("Make the background blue")
    llm.enqueue(Answer.calls(("call_bg", "change_background", {"color": "blue"})))
    events = check_stream(post_run(server, slug, run_input(thread, "run-1", [first], tools=[FRONTEND_TOOL])))
    assert events[-1]["type"] == "RUN_FINISHED"
    assert events[-1]["outcome"] == {"type": "success", "pendingToolCallIds": ["call_bg"]}
    start = next(event for event in events if event["type"] == "TOOL_CALL_START")
    assert start["toolCallName"] == "change_background"
    args = "".join(event["delta"] for event in events if event["type"] == "TOOL_CALL_ARGS")
    assert json.loads(args) == {"color": "blue"}
    assert "TOOL_CALL_RESULT" not in [event["type"] for event in events]  # the client executes it
    # The model was offered the frontend tool.
    assert [tool["function"]["name"] for tool in llm.requests[-1]["tools"]].count("change_background") == 1

    # The client ran the tool; the next run on the thread carries the result.
    assistant = {"id": start["parentMessageId"], "role": "assistant",
                 "toolCalls": [{"id": "call_bg", "type": "function", "function": {"name": "change_background", "arguments": args}}]}
    tool = {"id": "tool-msg-1", "role": "tool", "toolCallId": "call_bg", "content": "background is now blue"}
    llm.enqueue(Answer.text("Done, the background is blue."))
    events = check_stream(post_run(server, slug, run_input(thread, "run-2", [first, assistant, tool], tools=[FRONTEND_TOOL])))
    assert events[0]["runId"] == "run-2" and events[0]["threadId"] == thread
    assert text_of(events) == "Done, the background is blue."
    assert events[-1]["outcome"] == {"type": "success"}
    sent = llm.requests[-1]["messages"]
    assert [m["role"] for m in sent[-3:]] == ["user", "assistant", "tool"], sent
    assert sent[-3]["content"] == "Make the background blue"
    assert sent[-2]["tool_calls"][0]["id"] == "call_bg"
    assert sent[-1]["tool_call_id"] == "call_bg" and "background is now blue" in sent[-1]["content"]

    # Those calls are answered now: the same results again are a conflict, before any stream.
    again = httpx.post(f"{server.url}/api/agui/{slug}", json=run_input(thread, "run-3", [first, assistant, tool]), timeout=TIMEOUT)
    assert again.status_code == 409 and again.json()["error"]["code"] == "conflict"

    # A new turn's history comes from storage, not from the client's copy of the conversation.
    llm.enqueue(Answer.text("Still blue."))
    events = check_stream(post_run(server, slug, run_input(thread, "run-4", [user("Which colour is it?")])))
    sent = llm.requests[-1]["messages"]
    assert {"role": "user", "content": "Make the background blue"} in sent
    assert {"role": "assistant", "content": "Done, the background is blue."} in sent
    assert sent[-1] == {"role": "user", "content": "Which colour is it?"}


def test_resumed_stream_has_no_gaps_or_repeats(server, llm):
    slug = workspace(server)
    tokens = [f"w{i} " for i in range(40)]
    llm.enqueue(Answer.text(tokens, delay=0.03))
    body = run_input("t-resume", "r-resume", [user("Count")])
    head = post_run(server, slug, body, limit=6)  # the client drops mid-run
    assert [event_id for event_id, _ in head] == list(range(6))
    last_id = head[-1][0]
    # The same POST with Last-Event-ID picks the run up where the client left it.
    tail = post_run(server, slug, body, headers={"Last-Event-ID": str(last_id)})
    assert tail[0][0] == last_id + 1
    events = check_stream(head + tail)
    assert text_of(events) == "".join(tokens)
    # GET …/events?after_seq=N replays from the log (or memory), the same events.
    with httpx.stream("GET", f"{server.url}/api/agui/runs/r-resume/events", params={"after_seq": 3}, timeout=TIMEOUT) as response:
        assert response.status_code == 200
        replayed = read_events(response)
    assert replayed == (head + tail)[4:]
    with httpx.stream("GET", f"{server.url}/api/agui/runs/r-resume/events", timeout=TIMEOUT) as response:
        assert read_events(response) == head + tail


def test_resume_after_seq_while_the_run_is_live(server, llm):
    slug = workspace(server)
    tokens = [f"t{i} " for i in range(30)]
    llm.enqueue(Answer.text(tokens, delay=0.05))
    body = run_input("t-live", "r-live", [user("Go")])
    head = post_run(server, slug, body, limit=5)
    with httpx.stream("GET", f"{server.url}/api/agui/runs/r-live/events", params={"after_seq": head[-1][0]},
                      timeout=TIMEOUT) as response:
        tail = read_events(response)
    events = check_stream(head + tail)
    assert text_of(events) == "".join(tokens)


def test_upstream_failure_is_run_error(server, llm):
    slug = workspace(server)
    llm.enqueue(*[Answer(status=500) for _ in range(5)])
    events = check_stream(post_run(server, slug, run_input("t-fail", "r-fail", [user("Hi")])))
    assert events[-1]["type"] == "RUN_ERROR" and events[-1]["code"] == "provider_error", events[-1]
    assert events[-1]["message"]


@pytest.mark.parametrize("mutate, code, status", [
    (lambda body: body.pop("threadId"), "validation_failed", 400),
    (lambda body: body.update(runId="bad id with spaces"), "validation_failed", 400),
    (lambda body: body.update(messages=[]), "validation_failed", 400),
    (lambda body: body.update(messages=[{"id": "a1", "role": "assistant", "content": "hi"}]), "validation_failed", 400),
    (lambda body: body.update(tools=[{"name": "calculator", "description": "clash with a server tool"}]), "validation_failed", 400),
    (lambda body: body.update(messages=[{"id": "t1", "role": "tool", "toolCallId": "nope", "content": "x"}]), "conflict", 409),
])
def test_bad_input_is_refused_before_the_stream(server, llm, mutate, code, status):
    slug = workspace(server)
    body = {"threadId": "t-bad", "runId": "r-bad", "messages": [user("Hi")], "tools": [], "context": []}
    mutate(body)
    response = httpx.post(f"{server.url}/api/agui/{slug}", json=body, timeout=TIMEOUT)
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/json")
    assert response.json()["error"]["code"] == code
    assert llm.requests == []


def test_invalid_json_unknown_workspace_and_taken_run_id(server, llm):
    slug = workspace(server)
    response = httpx.post(f"{server.url}/api/agui/{slug}", content=b"{not json", headers={"Content-Type": "application/json"})
    assert response.status_code == 400 and response.json()["error"]["code"] == "invalid_json"
    body = run_input("t-x", "r-x", [user("Hi")])
    response = httpx.post(f"{server.url}/api/agui/no-such-workspace", json=body)
    assert response.status_code == 404 and response.json()["error"]["code"] == "not_found"
    llm.enqueue(Answer.text("once"))
    check_stream(post_run(server, slug, body))
    # The same runId again without Last-Event-ID would be a second run under one id.
    response = httpx.post(f"{server.url}/api/agui/{slug}", json=body)
    assert response.status_code == 409 and response.json()["error"]["code"] == "conflict"
    response = httpx.get(f"{server.url}/api/agui/runs/no-such-run/events")
    assert response.status_code == 404


def login(server, username, password):
    response = httpx.post(f"{server.url}/api/auth/login", json={"username": username, "password": password})
    assert response.status_code == 200, response.text
    return {"Authorization": f"Bearer {response.json()['token']}"}


def test_auth_daily_limit_and_run_cap_apply_as_on_other_transports(start_server, llm):
    server = start_server(args=["--agent-max-runs-per-user", "1"])
    server.cli("users", "add", "admin", "--password", "admin-password-1", "--role", "admin")
    server.cli("users", "add", "alice", "--password", "alice-password-1", "--daily-limit", "2")
    server.cli("users", "add", "bob", "--password", "bob-password-1")
    admin, alice, bob = (login(server, "admin", "admin-password-1"), login(server, "alice", "alice-password-1"),
                         login(server, "bob", "bob-password-1"))
    slug = httpx.post(f"{server.url}/api/workspaces", json={"name": "team"}, headers=admin).json()["slug"]

    body = run_input("t-auth", "r-alice-1", [user("Hi")])
    response = httpx.post(f"{server.url}/api/agui/{slug}", json=body)
    assert response.status_code == 401 and response.json()["error"]["code"] == "unauthorized"

    # Per-user run cap: alice's slow run occupies her one slot.
    llm.enqueue(Answer.text([f"x{i} " for i in range(20)], delay=0.1))
    with httpx.stream("POST", f"{server.url}/api/agui/{slug}", json=body, headers=alice, timeout=TIMEOUT) as slow:
        assert slow.status_code == 200
        lines = slow.iter_lines()
        head = read_events(lines, limit=3)
        second = httpx.post(f"{server.url}/api/agui/{slug}", json=run_input("t-auth", "r-alice-2", [user("Again")]), headers=alice)
        assert second.status_code == 429 and second.json()["error"]["code"] == "rate_limited"
        # Another user can neither resume alice's run nor reuse its id.
        stolen = httpx.get(f"{server.url}/api/agui/runs/r-alice-1/events", headers=bob)
        assert stolen.status_code in (403, 404)
        reused = httpx.post(f"{server.url}/api/agui/{slug}", json=body, headers={**bob, "Last-Event-ID": "0"})
        assert reused.status_code == 409
        tail = read_events(lines)
    check_stream(head + tail)

    # Daily limit: alice's limit is 2 messages; the second run was refused, so one is left.
    llm.enqueue(Answer.text("second"))
    check_stream(post_run(server, slug, run_input("t-auth", "r-alice-3", [user("Two")]), headers=alice))
    over = httpx.post(f"{server.url}/api/agui/{slug}", json=run_input("t-auth", "r-alice-4", [user("Three")]), headers=alice)
    assert over.status_code == 429 and over.json()["error"]["code"] == "rate_limited"
    assert over.json()["error"]["limit"] == 2 and over.json()["error"]["used"] == 2, over.json()


def test_mixed_server_and_frontend_calls_and_replay_from_the_log(start_server, llm):
    # --agent-retention 0: a finished run leaves memory at once, so its stream is read from the log.
    server = start_server(args=["--agent-retention", "0"])
    slug = workspace(server)
    thread = "thread-mixed"
    first = user("Compute 2^10 and show it in a dialog")
    llm.enqueue(Answer.calls(("call_calc", "calculator", {"expression": "2^10"}),
                             ("call_dialog", "show_dialog", {"text": "1024"})))
    dialog = {"name": "show_dialog", "description": "Shows a dialog.",
              "parameters": {"type": "object", "properties": {"text": {"type": "string"}}, "required": ["text"]}}
    run_1 = check_stream(post_run(server, slug, run_input(thread, "mixed-1", [first], tools=[dialog])))
    results = [event for event in run_1 if event["type"] == "TOOL_CALL_RESULT"]
    assert [event["toolCallId"] for event in results] == ["call_calc"] and "1024" in results[0]["content"]
    assert run_1[-1]["outcome"] == {"type": "success", "pendingToolCallIds": ["call_dialog"]}

    llm.enqueue(Answer.text("Shown."))
    messages = [first,
                {"id": "a1", "role": "assistant", "toolCalls": [
                    {"id": "call_calc", "type": "function", "function": {"name": "calculator", "arguments": "{}"}},
                    {"id": "call_dialog", "type": "function", "function": {"name": "show_dialog", "arguments": "{}"}}]},
                {"id": "tr1", "role": "tool", "toolCallId": "call_calc", "content": "forged by the client"},
                {"id": "tr2", "role": "tool", "toolCallId": "call_dialog", "content": "", "error": "the user closed it"}]
    # Only the pending frontend call may be answered; the server tool's result is not the client's to give.
    refused = httpx.post(f"{server.url}/api/agui/{slug}", json=run_input(thread, "mixed-2", messages, tools=[dialog]))
    assert refused.status_code == 409 and "call_calc" in refused.json()["error"]["message"]
    del messages[2]
    run_2 = check_stream(post_run(server, slug, run_input(thread, "mixed-2", messages, tools=[dialog])))
    assert text_of(run_2) == "Shown."
    tools = {m["tool_call_id"]: m["content"] for m in llm.requests[-1]["messages"] if m["role"] == "tool"}
    assert "1024" in tools["call_calc"] and "the user closed it" in tools["call_dialog"], tools

    # Both runs have left memory: their streams come from the log, the same events.
    for run_id, events in (("mixed-1", run_1), ("mixed-2", run_2)):
        with httpx.stream("GET", f"{server.url}/api/agui/runs/{run_id}/events", timeout=TIMEOUT) as response:
            assert response.status_code == 200
            assert [event for _, event in read_events(response)] == events


def test_context_reaches_the_model_and_is_bounded(start_server, llm):
    server = start_server(args=["--agui-max-context-chars", "120"])
    slug = workspace(server)
    llm.enqueue(Answer.text("Noted."))
    context = [{"description": "Current page", "value": "/settings/billing"}]
    check_stream(post_run(server, slug, run_input("t-ctx", "r-ctx", [user("Where am I?")], context=context)))
    system = llm.requests[-1]["messages"][0]
    assert system["role"] == "system" and "- Current page: /settings/billing" in system["content"]
    big = [{"description": "Blob", "value": "x" * 200}]
    response = httpx.post(f"{server.url}/api/agui/{slug}", json=run_input("t-ctx", "r-ctx-2", [user("Hi")], context=big))
    assert response.status_code == 400 and response.json()["error"]["code"] == "validation_failed"
    assert "--agui-max-context-chars" in response.json()["error"]["message"]
