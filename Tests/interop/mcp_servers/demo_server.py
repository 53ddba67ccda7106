"""A small MCP server written with the official Python SDK, for the interop tests.

Run as `python demo_server.py stdio` or `python demo_server.py http PORT` (streamable HTTP at
`/mcp`). With `DEMO_RECORD=<file>` it appends one JSON line per event (calls, cancellations,
the request headers it saw over HTTP) so a test can check what the server received.
"""
import json
import os
import sys
import time

import anyio
from mcp.server.mcpserver import Context, MCPServer

app = MCPServer("demo")
RECORD = os.environ.get("DEMO_RECORD")


def record(event):
    if RECORD:
        with open(RECORD, "a") as f:
            f.write(json.dumps(event) + "\n")


@app.tool()
def echo(text: str, ctx: Context) -> str:
    """Echoes the text back."""
    headers = ctx.headers or {}
    record({"event": "call", "tool": "echo", "text": text, "secret": os.environ.get("DEMO_SECRET"),
            "authorization": headers.get("authorization"), "agenthost_secret": os.environ.get("AGENTHOST_JWT_SECRET")})
    return f"echo: {text}"


def extra() -> str:
    """A tool that appears after enable_extra."""
    return "extra!"


@app.tool()
async def enable_extra(ctx: Context) -> str:
    """Adds the tool 'extra' and tells the client that the tool list changed."""
    app.add_tool(extra)
    await ctx.session.send_tool_list_changed()
    return "enabled"


@app.tool()
def add(a: int, b: int) -> dict:
    """Adds two integers; the answer is structured."""
    record({"event": "call", "tool": "add"})
    return {"sum": a + b}


@app.tool()
def fail(reason: str) -> str:
    """Always fails with the given reason."""
    raise ValueError(reason)


@app.tool()
async def hang(seconds: float = 60) -> str:
    """Sleeps for a long time (cancellable)."""
    record({"event": "call", "tool": "hang"})
    try:
        await anyio.sleep(seconds)
    except anyio.get_cancelled_exc_class():
        record({"event": "cancelled", "tool": "hang"})
        raise
    return "woke up"


@app.tool()
def crash() -> str:
    """Exits the server process at once."""
    record({"event": "crash", "pid": os.getpid()})
    os._exit(3)


if __name__ == "__main__":
    record({"event": "start", "pid": os.getpid(), "mode": sys.argv[1]})
    print(f"demo server {os.getpid()} starting", file=sys.stderr, flush=True)
    # A slow start (seconds), for the idle-stop tests: a start may take longer than the idle time.
    time.sleep(float(os.environ.get("DEMO_START_DELAY", "0")))
    if sys.argv[1] == "stdio":
        app.run("stdio")
    else:
        app.run("streamable-http", host="127.0.0.1", port=int(sys.argv[2]))
