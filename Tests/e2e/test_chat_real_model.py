"""The chat pipeline against the real local model (Qwen2.5-Coder-1.5B-Instruct on llama.cpp)."""
import json

from openai import OpenAI

from conftest import sse_events


def test_stream_chat_returns_real_text_and_stores_it(http, workspace):
    with http.stream("POST", "/api/chats/stream_chat/", json={
        "workspace": workspace, "message": "Name three colours.", "session_id": "e2e",
    }) as response:
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/event-stream")
        events = [(event, event_id, json.loads(data)) for event, event_id, data in sse_events(response)]

    kinds = [event for event, _, _ in events]
    assert kinds[0] == "chat_start"
    assert kinds[-1] == "chat_complete", events[-1]
    assert kinds.count("chat_token") >= 2, "the answer streams token by token"
    assert [int(event_id) for _, event_id, _ in events] == list(range(len(events)))
    complete = events[-1][2]
    streamed = "".join(frame["token"] for event, _, frame in events if event == "chat_token")
    assert complete["response"] == streamed
    assert len(streamed.strip()) > 0
    assert complete["usage"]["completion_tokens"] > 0
    assert complete["metrics"]["ttft_ms"] > 0

    stored = http.get("/api/chats/", params={"workspace": workspace}).json()["chats"]
    assert stored[0]["db_id"] == complete["db_id"]
    assert stored[0]["response"] == streamed
    assert stored[0]["status"] == "completed"
    assert stored[0]["api_session_id"] == "e2e"
    history = http.get("/api/chats/history/", params={"workspace": workspace}).json()["history"]
    assert [message["role"] for message in history] == ["user", "assistant"]


def test_official_openai_client_streams_and_completes(base_url, http, workspace, api_key):
    client = OpenAI(base_url=f"{base_url}/v1", api_key=api_key)
    stream = client.chat.completions.create(
        model=workspace, stream=True, stream_options={"include_usage": True},
        messages=[{"role": "user", "content": "Say hello in one short sentence."}],
    )
    pieces, usage = [], None
    for chunk in stream:
        if chunk.choices and chunk.choices[0].delta.content:
            pieces.append(chunk.choices[0].delta.content)
        if chunk.usage:
            usage = chunk.usage
    text = "".join(pieces)
    assert text.strip(), "real text from the model"
    assert len(pieces) >= 2, "streamed in pieces"
    assert usage is not None and usage.completion_tokens > 0

    completion = client.chat.completions.create(
        model=workspace, messages=[{"role": "user", "content": "What is the capital of France? One word."}],
    )
    assert completion.choices[0].message.content.strip()
    assert completion.usage.total_tokens > 0
    stored = http.get("/api/chats/", params={"workspace": workspace}).json()["chats"]
    assert len(stored) == 2
    assert stored[0]["response"] == completion.choices[0].message.content
    assert workspace in [model.id for model in client.models.list()]


def test_unknown_workspace_is_a_clear_openai_error_and_a_placeholder_key_works(base_url, api_key):
    """This server has no users (single-user mode), which ignores credentials (PROTOCOL §2): the OpenAI
    SDK insists on some key, and whatever it sends must not get in the way."""
    import openai

    client = OpenAI(base_url=f"{base_url}/v1", api_key=api_key, max_retries=0)
    try:
        client.chat.completions.create(model="no-such-workspace", messages=[{"role": "user", "content": "hi"}])
    except openai.NotFoundError as error:
        assert "no-such-workspace" in str(error)
    else:
        raise AssertionError("expected a 404")
    placeholder = OpenAI(base_url=f"{base_url}/v1", api_key="sk-placeholder", max_retries=0)
    assert placeholder.models.list().data is not None
