"""The agent engine against the real local model with a forced tool choice.

`tool_choice` names the tool the first step must call; in prompted mode (the default for the local
model) the call is constrained to that tool by a grammar. The run is one step (`max_steps: 1`): the
real model's call, the real round trip, then `max_steps`. Runs where the model chooses for itself
are in test_agent_tools_auto.py.
"""
import asyncio
import os
import subprocess
import sys

from conftest import WEATHER_TOOL, run_agent


def test_forced_server_tool_runs_for_real(base_url, http, workspace):
    frames = asyncio.run(run_agent(base_url, workspace, {
        "message": "Use the calculator to compute 12*7.", "tools": ["calculator"],
        "tool_choice": {"name": "calculator"}, "max_steps": 1,
    }))
    kinds = [frame["type"] for frame in frames]
    assert kinds[0] == "agent_start"
    assert [frame["seq"] for frame in frames] == list(range(len(frames)))
    call = next(frame for frame in frames if frame["type"] == "tool_call")
    assert call["name"] == "calculator" and call["executor"] == "server"
    assert isinstance(call["arguments"].get("expression"), str), "the model's arguments match the schema"
    result = next(frame for frame in frames if frame["type"] == "tool_result")
    assert result["call_id"] == call["call_id"]
    complete = frames[-1]
    assert complete["status"] in ("completed", "max_steps"), complete
    run = http.get(f"/api/agent/invocations/{complete['invocation_id']}").json()
    assert run["step_log"][0]["tool_calls"][0]["name"] == "calculator"
    assert run["db_id"] == complete["db_id"]


def test_forced_client_tool_round_trip(base_url, http, workspace):
    answered = []

    def weather(frame):
        answered.append(frame["arguments"])
        return {"city": frame["arguments"].get("city"), "temperature_c": 21}

    frames = asyncio.run(run_agent(base_url, workspace, {
        "message": "What is the weather in Paris?", "client_tools": [WEATHER_TOOL],
        "tool_choice": {"name": "get_weather"}, "max_steps": 1,
    }, on_tool_call=weather))
    assert answered and isinstance(answered[0].get("city"), str)
    results = [frame for frame in frames if frame["type"] == "tool_result"]
    assert results[0]["output"]["temperature_c"] == 21
    assert frames[-1]["status"] in ("completed", "max_steps")
    history = http.get("/api/chats/history/", params={"workspace": workspace}).json()["history"]
    assert history[0]["content"] == "What is the weather in Paris?"


def test_example_client_resumes_after_a_forced_disconnect(base_url, workspace):
    """The README's quick start: the example client, unmodified, against the default model.

    The model chooses whether to call the tool (no forced tool choice), so one retry absorbs a run
    where it answers from its own head; the call, the dropped connection, the resume and the
    completed run must all happen in one of them.
    """
    example = os.path.join(os.path.dirname(__file__), "..", "..", "Examples", "agent_client.py")
    outputs = []
    for city in ("Paris", "Lyon"):
        completed = subprocess.run(
            [sys.executable, example, "--url", base_url.replace("http://", "ws://"), "--workspace", workspace,
             f"What's the weather in {city} right now?"],
            capture_output=True, text=True, timeout=300,
        )
        outputs.append(completed.stdout + completed.stderr)
        if (completed.returncode == 0 and "dropping the connection on purpose" in completed.stdout
                and "resuming" in completed.stdout and "[completed after" in completed.stdout):
            return
    raise AssertionError("the example client never completed a tool round trip:\n" + "\n---\n".join(outputs))
