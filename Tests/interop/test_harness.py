"""The harness itself: a streamed chat through a real server and the fake model."""
import json

from conftest import Answer


def test_streamed_chat_reaches_the_fake_model(server, llm):
    import httpx
    llm.enqueue(Answer.text("hello from the fake", delay=0.01))
    workspace = httpx.post(f"{server.url}/api/workspaces", json={"name": "harness"}).json()["slug"]
    with httpx.stream("POST", f"{server.url}/api/chats/stream_chat/", json={"message": "hi", "workspace": workspace}, timeout=30) as response:
        assert response.status_code == 200
        data = [json.loads(line[5:]) for line in response.iter_lines() if line.startswith("data:")]
    text = "".join(frame["token"] for frame in data if frame["type"] == "chat_token")
    assert data[-1]["type"] == "chat_complete" and data[-1]["response"] == text
    assert text == "hello from the fake", data
    assert llm.requests[0]["messages"][-1]["content"] == "hi"
