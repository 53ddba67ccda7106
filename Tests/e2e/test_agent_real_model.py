"""The agent engine against the real local model, with forced tool choice (the tiny model follows it).

The bundled llama.cpp server (chat format chatml-function-calling) honours a forced tool choice but
fails a streamed `tool_choice: auto` request, so these runs are one forced step (`max_steps: 1`):
the real model's tool call, the real round trip, then the run ends with `max_steps`.
"""
import asyncio
import json
import os
import subprocess
import sys

import websockets

WEATHER_TOOL = {
    "name": "get_weather",
    "description": "Current weather for a city.",
    "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]},
}


async def run_agent(base_url, workspace, invoke, on_tool_call=None):
    url = base_url.replace("http://", "ws://") + f"/ws/agent/{workspace}/"
    frames = []
    async with websockets.connect(url, max_size=None) as socket:
        await socket.send(json.dumps({"type": "agent_invoke", **invoke}))
        async for raw in socket:
            frame = json.loads(raw)
            frames.append(frame)
            if frame["type"] == "tool_call" and frame["executor"] == "client" and on_tool_call:
                await socket.send(json.dumps({
                    "type": "tool_result", "invocation_id": frame["invocation_id"], "call_id": frame["call_id"],
                    "output": on_tool_call(frame),
                }))
            if frame["type"] == "agent_complete":
                return frames
    raise AssertionError(f"socket closed before agent_complete: {frames[-3:]}")


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
    example = os.path.join(os.path.dirname(__file__), "..", "..", "Examples", "agent_client.py")
    completed = subprocess.run(
        [sys.executable, example, "--url", base_url.replace("http://", "ws://"), "--workspace", workspace,
         "--max-steps", "1", "What is the weather in Lyon?"],
        capture_output=True, text=True, timeout=300,
    )
    assert completed.returncode == 0, completed.stdout + completed.stderr
    assert "dropping the connection on purpose" in completed.stdout
    assert "resuming" in completed.stdout
    assert "get_weather" in completed.stdout
