"""Fixtures of the interoperability and browser suites: a real `agenthost serve` process on a free
port with its own data directory, talking to the scriptable fake model of `fake_llm.py`."""
import os
import socket
import subprocess
import tempfile
import time
from pathlib import Path

import httpx
import pytest

from fake_llm import Answer, FakeLLM  # noqa: F401  (re-exported for the suites)

REPO = Path(__file__).resolve().parents[2]


def agenthost_binary():
    explicit = os.environ.get("AGENTHOST_BIN")
    if explicit:
        return explicit
    bin_path = subprocess.run(["swift", "build", "--show-bin-path"], cwd=REPO, capture_output=True, text=True, check=True)
    return str(Path(bin_path.stdout.strip()) / "agenthost")


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    """One running agenthost. `url` is its base URL; `log()` its stderr so far."""

    def __init__(self, fake, args=(), env=None, data_dir=None):
        self.port = free_port()
        self.data_dir = data_dir or tempfile.mkdtemp(prefix="agenthost-interop-")
        self.log_path = Path(self.data_dir) / "agenthost.log"
        self.binary = agenthost_binary()
        self.env = env or {}
        command = [self.binary, "serve", "--port", str(self.port), "--data-dir", self.data_dir,
                   "--llm-provider", "openai", "--llm-base-url", fake.base_url, "--llm-model", "fake",
                   "--llm-tool-calling", "native", "--tool-schemas", str(REPO / "tool-schemas"), *args]
        self._log = open(self.log_path, "wb")
        self.process = subprocess.Popen(command, cwd=REPO, stdout=self._log, stderr=subprocess.STDOUT,
                                        env={**os.environ, **(env or {})})
        self.url = f"http://127.0.0.1:{self.port}"
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"agenthost exited {self.process.returncode}:\n{self.log()}")
            try:
                if httpx.get(f"{self.url}/api/health", timeout=1).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.1)
        self.stop()
        raise RuntimeError(f"agenthost did not become healthy:\n{self.log()}")

    def cli(self, *args):
        """Runs an `agenthost` subcommand on this server's data directory; returns its stdout."""
        done = subprocess.run([self.binary, *args, "--data-dir", self.data_dir], capture_output=True, text=True, timeout=60)
        assert done.returncode == 0, done.stderr
        return done.stdout

    def log(self):
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def stop(self):
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self._log.close()


@pytest.fixture(scope="session")
def fake_llm():
    fake = FakeLLM().start()
    yield fake
    fake.stop()


@pytest.fixture()
def llm(fake_llm):
    """The fake model, emptied for this test."""
    fake_llm.reset()
    return fake_llm


@pytest.fixture()
def start_server(fake_llm, request):
    """Starts agenthost servers for one test (`start_server(args=[...], env={...})`); prints their
    logs when the test fails and stops them after it."""
    servers = []

    def start(args=(), env=None, data_dir=None):
        server = Server(fake_llm, args=args, env=env, data_dir=data_dir)
        servers.append(server)
        return server

    yield start
    failed = getattr(request.node, "rep_call", None) is not None and request.node.rep_call.failed
    for server in servers:
        server.stop()
        if failed:
            print(f"--- agenthost log ({server.url})\n{server.log()[-8000:]}")


@pytest.fixture()
def server(start_server, llm):
    """A single-user server with the fake model, fresh for this test."""
    return start_server()


@pytest.hookimpl(tryfirst=True, hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    report = outcome.get_result()
    setattr(item, f"rep_{report.when}", report)
