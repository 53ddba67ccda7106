"""Two `agenthost serve` instances on one PostgreSQL database behave as one service (PROTOCOL §9):
runs resume and take commands on either instance, `ws/chat` rooms span both, limits hold across
both, and a killed instance's waiting run is taken over by the other. Real processes, a real
PostgreSQL cluster, real sockets, the scriptable fake model."""
import json
import threading
import time
import uuid

import httpx
import pytest
from websockets.sync.client import connect

from conftest import Answer
from postgres import PostgresCluster

TIMEOUT = 30
LOCATION_TOOL = {"name": "get_location", "description": "Where the user is.",
                 "parameters": {"type": "object", "properties": {}}}


@pytest.fixture(scope="module")
def postgres():
    cluster = PostgresCluster()
    yield cluster
    cluster.stop()


@pytest.fixture()
def start_pair(start_server, postgres):
    """Starts instances A and B on one fresh database (extra `args` for both)."""
    def start(args=()):
        env = {"AGENTHOST_DATABASE_URL": postgres.new_database()}
        first = start_server(args=list(args), env=env)
        second = start_server(args=list(args), env=env)
        return first, second
    return start


def ws_url(server, path):
    return server.url.replace("http://", "ws://") + path


def receive(socket, until, limit=500):
    """Frames until one satisfies `until` (included)."""
    frames = []
    for _ in range(limit):
        frame = json.loads(socket.recv(timeout=TIMEOUT))
        frames.append(frame)
        if until(frame):
            return frames
    raise AssertionError(f"no matching frame in {frames}")


def workspace(server, name, headers=None):
    response = httpx.post(f"{server.url}/api/workspaces", json={"name": name}, headers=headers)
    assert response.status_code in (200, 201), response.text
    return response.json()["slug"]


def sse_frames(response, until):
    """Frames of an SSE response until one satisfies `until`; call again on the same response to read on."""
    if not hasattr(response, "line_iterator"):
        response.line_iterator = response.iter_lines()
    frames = []
    for line in response.line_iterator:
        if line.startswith("data: "):
            frames.append(json.loads(line[6:]))
            if until(frames[-1]):
                return frames
    raise AssertionError(f"the stream ended before a matching frame: {frames}")


def assert_continuous(frames):
    seqs = [frame["seq"] for frame in frames]
    assert seqs == list(range(len(seqs))), seqs


def test_agent_run_started_on_a_resumes_and_is_answered_on_b(start_pair, llm):
    a, b = start_pair()
    slug = workspace(a, "cluster")
    llm.enqueue(Answer.calls(("call_1", "get_location", {})), Answer.text("You are in Paris"))

    with connect(ws_url(a, f"/ws/agent/{slug}/")) as socket:
        socket.send(json.dumps({"type": "agent_invoke", "message": "Where am I?", "client_tools": [LOCATION_TOOL], "tools": []}))
        on_a = receive(socket, lambda f: f["type"] == "tool_call")
    invocation = on_a[0]["invocation_id"]
    call = on_a[-1]
    assert call["executor"] == "client" and call["call_id"] == "call_1"

    # The client comes back through the load balancer, which sends it to B.
    with connect(ws_url(b, f"/ws/agent/{slug}/")) as socket:
        socket.send(json.dumps({"type": "resume", "invocation_id": invocation, "after_seq": call["seq"]}))
        again = receive(socket, lambda f: f["type"] == "tool_call")
        assert again[-1]["call_id"] == "call_1" and again[-1]["seq"] == call["seq"], "the unanswered call is sent again"
        # The inspector on B shows the run as A has it: live, waiting on its client.
        shown = httpx.get(f"{b.url}/api/agent/invocations/{invocation}").json()
        assert shown["status"] == "waiting" and shown["live"] is True, shown
        answered = httpx.post(f"{b.url}/api/agent/invocations/{invocation}/tool_results",
                              json={"call_id": "call_1", "output": {"city": "Paris"}}, timeout=TIMEOUT)
        assert answered.status_code == 200, answered.text
        rest = receive(socket, lambda f: f["type"] == "agent_complete")
    assert_continuous(on_a + rest)
    assert rest[-1]["status"] == "completed" and rest[-1]["response"] == "You are in Paris"
    # The model got the answer given on B, on A.
    assert any(m.get("role") == "tool" and "Paris" in m.get("content", "") for m in llm.requests[-1]["messages"])
    # A second answer to the same call is refused by the owner, through B.
    again = httpx.post(f"{b.url}/api/agent/invocations/{invocation}/tool_results", json={"call_id": "call_1", "output": {}})
    assert again.status_code in (404, 409), again.text
    stored = httpx.get(f"{b.url}/api/agent/invocations/{invocation}").json()
    assert stored["status"] == "completed" and stored["response"] == "You are in Paris"
    # The whole log replays on either instance.
    with httpx.stream("GET", f"{b.url}/api/runs/{invocation}/events", timeout=TIMEOUT) as replay:
        assert_continuous(sse_frames(replay, lambda f: f["type"] == "agent_complete"))


def test_cancel_and_approval_on_b_reach_a_run_on_a(start_pair, llm):
    a, b = start_pair()
    slug = workspace(a, "cluster")
    tool = {**LOCATION_TOOL, "requires_approval": True}
    llm.enqueue(Answer.calls(("call_1", "get_location", {})), Answer.text([f"w{i} " for i in range(200)], delay=0.05))
    with connect(ws_url(a, f"/ws/agent/{slug}/")) as socket:
        socket.send(json.dumps({"type": "agent_invoke", "message": "Where?", "client_tools": [tool], "tools": []}))
        frames = receive(socket, lambda f: f["type"] == "approval_required")
        invocation = frames[0]["invocation_id"]
        approved = httpx.post(f"{b.url}/api/agent/invocations/{invocation}/approvals",
                              json={"call_id": "call_1", "approved": True}, timeout=TIMEOUT)
        assert approved.status_code == 200, approved.text
        frames += receive(socket, lambda f: f["type"] == "tool_call")
        socket.send(json.dumps({"type": "tool_result", "invocation_id": invocation, "call_id": "call_1", "output": "Lyon"}))
        frames += receive(socket, lambda f: f["type"] == "agent_token")
        cancelled = httpx.post(f"{b.url}/api/agent/invocations/{invocation}/cancel", timeout=TIMEOUT)
        assert cancelled.status_code == 202, cancelled.text
        frames += receive(socket, lambda f: f["type"] == "agent_complete")
    assert frames[-1]["status"] == "cancelled"
    assert_continuous(frames)
    # Commands for runs that do not exist anywhere are 404 on every instance.
    missing = httpx.post(f"{b.url}/api/agent/invocations/{uuid.uuid4()}/cancel")
    assert missing.status_code == 404


def test_chat_room_spans_both_instances(start_pair, llm):
    a, b = start_pair()
    slug = workspace(a, "room")
    tokens = [f"t{i} " for i in range(30)]
    llm.enqueue(Answer.text(tokens, delay=0.01))
    with connect(ws_url(a, f"/ws/chat/{slug}/")) as on_a, connect(ws_url(b, f"/ws/chat/{slug}/")) as on_b:
        assert json.loads(on_a.recv(timeout=TIMEOUT))["type"] == "connected"
        assert json.loads(on_b.recv(timeout=TIMEOUT))["type"] == "connected"
        on_b.send(json.dumps({"type": "typing", "is_typing": True}))
        typing = receive(on_a, lambda f: f["type"] == "typing")
        assert typing[-1]["is_typing"] is True

        on_a.send(json.dumps({"type": "chat", "message": "hello room"}))
        seen_on_a = receive(on_a, lambda f: f["type"] == "chat_complete")
        seen_on_b = receive(on_b, lambda f: f["type"] == "chat_complete")
        generation = [f for f in seen_on_b if "seq" in f]
        assert_continuous(generation)
        assert [f for f in seen_on_a if "seq" in f] == generation, "members on both instances get the same frames"
        assert "".join(f["token"] for f in generation if f["type"] == "chat_token") == "".join(tokens)
        chat_id = generation[-1]["db_id"]

        # Feedback given on A reaches the member on B.
        on_a.send(json.dumps({"type": "feedback", "chat_id": chat_id, "feedback": True}))
        feedback = receive(on_b, lambda f: f["type"] == "feedback")
        assert feedback[-1]["chat_id"] == chat_id and feedback[-1]["feedback"] is True

        # A member joining on B while a generation runs on A is told about it and can resume it.
        llm.enqueue(Answer.text([f"s{i} " for i in range(100)], delay=0.03))
        on_a.send(json.dumps({"type": "chat", "message": "slow one"}))
        started = receive(on_a, lambda f: f["type"] == "chat_token")
        with connect(ws_url(b, f"/ws/chat/{slug}/")) as late:
            connected = json.loads(late.recv(timeout=TIMEOUT))
            running = [g["chat_id"] for g in connected["generations"]]
            assert started[-1]["chat_id"] in running, connected
            late.send(json.dumps({"type": "resume", "chat_id": started[-1]["chat_id"], "after_seq": -1}))
            replayed = receive(late, lambda f: f["type"] == "chat_complete")
            assert_continuous([f for f in replayed if "seq" in f])

        # A member on B who leaves while typing has stopped typing, for the members on A too.
        receive(on_a, lambda f: f["type"] == "chat_complete")
        with connect(ws_url(b, f"/ws/chat/{slug}/")) as leaving:
            assert json.loads(leaving.recv(timeout=TIMEOUT))["type"] == "connected"
            leaving.send(json.dumps({"type": "typing", "is_typing": True}))
            assert receive(on_a, lambda f: f["type"] == "typing")[-1]["is_typing"] is True
        stopped = receive(on_a, lambda f: f["type"] == "typing")
        assert stopped[-1]["is_typing"] is False, stopped


def test_daily_limit_and_run_cap_hold_across_instances(start_pair, llm, postgres):
    a, b = start_pair(args=["--agent-max-runs-per-user", "1"])
    a.cli("users", "add", "admin", "--password", "admin-password-1", "--role", "admin", "--database-url", db_url(a))
    a.cli("users", "add", "alice", "--password", "alice-password-1", "--daily-limit", "7", "--database-url", db_url(a))
    admin = login(a, "admin", "admin-password-1")
    slug = workspace(a, "limits", headers=admin)
    alice_a, alice_b = login(a, "alice", "alice-password-1"), login(b, "alice", "alice-password-1")
    # One service: a token any instance issued is valid on every instance.
    assert httpx.get(f"{b.url}/api/workspaces", headers=alice_a).status_code == 200
    assert httpx.get(f"{a.url}/api/workspaces", headers=alice_b).status_code == 200

    # The run cap: alice's waiting run on A fills her one slot on B too.
    llm.enqueue(Answer.calls(("call_1", "get_location", {})))
    with httpx.stream("POST", f"{a.url}/api/agent/invocations/", headers=alice_a, timeout=TIMEOUT,
                      json={"workspace": slug, "message": "Where?", "client_tools": [LOCATION_TOOL], "tools": []}) as first:
        assert first.status_code == 200
        frames = sse_frames(first, lambda f: f["type"] == "tool_call")
        second = httpx.post(f"{b.url}/api/agent/invocations/", headers=alice_b, timeout=TIMEOUT,
                            json={"workspace": slug, "message": "Again", "client_tools": [LOCATION_TOOL], "tools": []})
        assert second.status_code == 429 and second.json()["error"]["code"] == "rate_limited", second.text
        cancelled = httpx.post(f"{b.url}/api/agent/invocations/{frames[0]['invocation_id']}/cancel", headers=alice_b)
        assert cancelled.status_code == 202, cancelled.text
        sse_frames(first, lambda f: f["type"] == "agent_complete")

    # The daily limit: 7 in all today (the agent run above counted one), under 50 parallel requests split over A and B.
    llm.fallback = lambda body: Answer.text("fine")
    statuses = []
    lock = threading.Lock()

    def ask(index):
        server, headers = (a, alice_a) if index % 2 == 0 else (b, alice_b)
        response = httpx.post(f"{server.url}/v1/chat/completions", headers=headers, timeout=60,
                              json={"model": slug, "messages": [{"role": "user", "content": f"q{index}"}]})
        with lock:
            statuses.append(response.status_code)

    threads = [threading.Thread(target=ask, args=(i,)) for i in range(50)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert len(statuses) == 50
    assert statuses.count(200) == 6, statuses
    assert statuses.count(429) == 44, statuses


def test_killed_instance_waiting_run_is_taken_over_within_15_s(start_pair, llm):
    a, b = start_pair()
    slug = workspace(a, "failover")
    llm.enqueue(Answer.calls(("call_1", "get_location", {})), Answer.text("Taken over"))
    with httpx.stream("POST", f"{a.url}/api/agent/invocations/", timeout=TIMEOUT,
                      json={"workspace": slug, "message": "Where?", "client_tools": [LOCATION_TOOL], "tools": []}) as stream:
        frames = sse_frames(stream, lambda f: f["type"] == "tool_call")
        invocation = frames[0]["invocation_id"]
        a.process.kill()  # SIGKILL at once: no lease release, no clean shutdown; the wait is already in the log
        killed = time.monotonic()
    a.process.wait()

    # The client resumes on B at once; its answer is accepted once B has taken the run over.
    with httpx.stream("GET", f"{b.url}/api/agent/invocations/{invocation}/events?after_seq={frames[-1]['seq']}",
                      timeout=TIMEOUT) as resumed:
        assert resumed.status_code == 200
        accepted = None
        while time.monotonic() - killed < 20:
            answer = httpx.post(f"{b.url}/api/agent/invocations/{invocation}/tool_results",
                                json={"call_id": "call_1", "output": "Oslo"}, timeout=TIMEOUT)
            if answer.status_code == 200:
                accepted = time.monotonic() - killed
                break
            # Until then the dead owner cannot answer (503, retry) or B is mid-takeover (404).
            assert answer.status_code in (503, 404), answer.text
            assert answer.json()["error"]["code"] in ("overloaded", "not_found")
            time.sleep(0.5)
        assert accepted is not None and accepted < 15, f"taken over after {accepted} s"
        rest = sse_frames(resumed, lambda f: f["type"] == "agent_complete")
    assert_continuous(frames + [f for f in rest if f["seq"] > frames[-1]["seq"]])
    assert rest[-1]["status"] == "completed" and rest[-1]["response"] == "Taken over"
    assert "took over the runs of a stopped instance" in b.log()


def test_failed_logins_count_on_every_instance(start_pair):
    a, b = start_pair(args=["--login-max-failures-per-user", "4", "--login-max-failures-per-address", "100"])
    a.cli("users", "add", "carol", "--password", "carol-password-1", "--database-url", db_url(a))
    for index in range(4):
        server = (a, b)[index % 2]
        wrong = httpx.post(f"{server.url}/api/auth/login", json={"username": "carol", "password": "wrong"})
        assert wrong.status_code == 401, wrong.text
    # Two failures on each instance: four in all, the limit. Both refuse now, the right password too.
    for server in (a, b):
        refused = httpx.post(f"{server.url}/api/auth/login", json={"username": "carol", "password": "carol-password-1"})
        assert refused.status_code == 429 and refused.json()["error"]["code"] == "rate_limited", refused.text
        assert refused.json()["error"]["retry_after"] >= 1


def db_url(server):
    return server.env["AGENTHOST_DATABASE_URL"]


def login(server, username, password):
    response = httpx.post(f"{server.url}/api/auth/login", json={"username": username, "password": password})
    assert response.status_code == 200, response.text
    return {"Authorization": f"Bearer {response.json()['token']}"}
