#!/usr/bin/env python3
"""A minimal AgentHost agent client.

Connects to ws/agent/{workspace}/, declares a client-side tool, answers the agent's tool calls,
and survives a dropped connection: after the first tool call it disconnects on purpose, reconnects,
resumes from the last frame it saw, and answers the call that is sent again.

    python Examples/agent_client.py --url ws://127.0.0.1:8080 --workspace support "What's the weather in Paris?"

Needs `pip install websockets`. Pass --token for a server with users (JWT or API key).
"""
import argparse
import asyncio
import json

import websockets

WEATHER_TOOL = {
    "name": "get_weather",
    "description": "Current weather for a city.",
    "parameters": {
        "type": "object",
        "properties": {"city": {"type": "string", "description": "City name, e.g. Paris"}},
        "required": ["city"],
    },
    "timeout_ms": 30000,
}


def get_weather(arguments):
    """The client-side implementation: runs here, not on the server."""
    return {"city": arguments.get("city", "?"), "temperature_c": 18, "conditions": "light rain"}


async def run(url, workspace, message, token, force_disconnect, max_steps):
    endpoint = f"{url}/ws/agent/{workspace}/" + (f"?token={token}" if token else "")
    last_seq = -1
    invocation_id = None
    disconnected_once = False

    while True:
        async with websockets.connect(endpoint, max_size=None) as socket:
            if invocation_id is None:
                await socket.send(json.dumps({
                    "type": "agent_invoke", "message": message, "client_tools": [WEATHER_TOOL],
                    "max_steps": max_steps,
                }))
            else:
                print(f"resuming {invocation_id} after seq {last_seq}")
                await socket.send(json.dumps({"type": "resume", "invocation_id": invocation_id, "after_seq": last_seq}))

            async for raw in socket:
                frame = json.loads(raw)
                kind = frame["type"]
                if kind == "error" and "seq" not in frame:
                    raise SystemExit(f"server refused a frame: {frame['code']}: {frame['message']}")
                invocation_id = frame.get("invocation_id", invocation_id)
                last_seq = max(last_seq, frame.get("seq", last_seq))
                if kind == "agent_token":
                    print(frame["token"], end="", flush=True)
                elif kind == "tool_call" and frame["executor"] == "client":
                    if force_disconnect and not disconnected_once:
                        disconnected_once = True
                        print(f"\n[tool_call {frame['call_id']} received; dropping the connection on purpose]")
                        break  # leaves the `async with`, closing the socket mid-run
                    output = get_weather(frame["arguments"])
                    print(f"\n[tool_call {frame['name']}({json.dumps(frame['arguments'])}) -> {json.dumps(output)}]")
                    await socket.send(json.dumps({"type": "tool_result", "invocation_id": invocation_id,
                                                  "call_id": frame["call_id"], "output": output}))
                elif kind == "agent_complete":
                    print(f"\n[{frame['status']} after {frame['steps']} steps; stored as chat {frame['db_id']}]")
                    return frame
            else:
                raise SystemExit("the server closed the connection")


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("message")
    parser.add_argument("--url", default="ws://127.0.0.1:8080")
    parser.add_argument("--workspace", required=True)
    parser.add_argument("--token")
    parser.add_argument("--no-disconnect", action="store_true", help="do not drop the connection on purpose")
    parser.add_argument("--max-steps", type=int, default=4)
    args = parser.parse_args()
    frame = asyncio.run(run(args.url, args.workspace, args.message, args.token, not args.no_disconnect, args.max_steps))
    raise SystemExit(0 if frame["status"] == "completed" else 1)


if __name__ == "__main__":
    main()
