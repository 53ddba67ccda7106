"""End-to-end fixtures: a running agenthost (AGENTHOST_URL) backed by the real local model."""
import asyncio
import json
import os
import subprocess
import uuid

import httpx
import pytest
import websockets


@pytest.fixture(scope="session")
def base_url():
    url = os.environ.get("AGENTHOST_URL")
    if not url:
        pytest.fail("AGENTHOST_URL is not set; run the suite through scripts/test.sh")
    return url


@pytest.fixture(scope="session")
def http(base_url):
    with httpx.Client(base_url=base_url, timeout=120) as client:
        yield client


@pytest.fixture(scope="session")
def api_key():
    """An API key minted with the CLI, as a user would (`agenthost api-keys create`)."""
    created = subprocess.run(
        [os.environ["AGENTHOST_BIN"], "api-keys", "create", "--name", "e2e", "--data-dir", os.environ["AGENTHOST_DATA_DIR"]],
        capture_output=True, text=True, check=True, timeout=60,
    )
    key = created.stdout.strip().splitlines()[-1]
    assert key.startswith("ahk_"), created.stdout
    return key


@pytest.fixture()
def workspace(http):
    """A fresh workspace with a short, deterministic-leaning setup for the tiny model."""
    response = http.post("/api/workspaces", json={
        "name": f"e2e-{uuid.uuid4().hex[:8]}",
        "system_prompt": "You are a helpful assistant. Answer briefly.",
        "temperature": 0.2,
        "history_length": 4,
    })
    assert response.status_code == 201, response.text
    return response.json()["slug"]


def sse_events(response):
    """Parses an SSE body into (event, id, data) tuples."""
    event, event_id, data = "message", None, []
    for line in response.iter_lines():
        if line == "":
            if data:
                yield event, event_id, "\n".join(data)
            event, data = "message", []
            continue
        if line.startswith(":"):
            continue
        field, _, value = line.partition(":")
        value = value[1:] if value.startswith(" ") else value
        if field == "event":
            event = value
        elif field == "data":
            data.append(value)
        elif field == "id":
            event_id = value


WEATHER_TOOL = {
    "name": "get_weather",
    "description": "Current weather for a city.",
    "parameters": {
        "type": "object",
        "properties": {"city": {"type": "string", "description": "City name, e.g. Paris"}},
        "required": ["city"],
    },
}


async def run_agent(base_url, workspace, invoke, on_tool_call=None, timeout=180):
    """Invokes an agent over ws/agent and answers client tool calls with `on_tool_call(frame)`.

    Returns every frame up to and including `agent_complete`.
    """
    url = base_url.replace("http://", "ws://") + f"/ws/agent/{workspace}/"
    frames = []

    async def converse():
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

    return await asyncio.wait_for(converse(), timeout)
