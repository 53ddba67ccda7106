"""A private PostgreSQL cluster for the Python suites, like the Swift suites' `PostgresTestCluster`:
`initdb` into a temporary directory, `pg_ctl start` on a free loopback port, removed at the end.
It fails (never skips) when PostgreSQL is not installed: `scripts/test.sh` installs it."""
import glob
import os
import shutil
import socket
import subprocess
import tempfile
import uuid


def _binaries():
    explicit = os.environ.get("AGENTHOST_TEST_PG_BIN")
    if explicit:
        return explicit
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin"), key=lambda p: int(p.split("/")[-2]))
    if not found:
        raise RuntimeError("PostgreSQL is not installed (no /usr/lib/postgresql/*/bin); "
                           "install it with `apt-get install -y postgresql` (scripts/test.sh does), or set AGENTHOST_TEST_PG_BIN.")
    return found[-1]


def _free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class PostgresCluster:
    def __init__(self):
        self.bin = _binaries()
        self.port = _free_port()
        self.directory = tempfile.mkdtemp(prefix="agenthost-interop-pg-")
        self.as_postgres = os.geteuid() == 0
        if self.as_postgres:
            shutil.chown(self.directory, "postgres", "postgres")
        data = os.path.join(self.directory, "data")
        self._tool("initdb", "-D", data, "-U", "postgres", "--auth=trust", "-E", "UTF8", "--locale=C", "--no-sync")
        self._tool("pg_ctl", "-D", data, "-l", os.path.join(self.directory, "server.log"), "-o",
                   f"-p {self.port} -k {self.directory} -c listen_addresses=127.0.0.1 -c fsync=off "
                   "-c synchronous_commit=off -c full_page_writes=off -c max_connections=300", "-w", "-t", "30", "start")

    def _tool(self, name, *args):
        command = [os.path.join(self.bin, name), *args]
        if self.as_postgres:
            command = ["/usr/sbin/runuser", "-u", "postgres", "--", *command]
        done = subprocess.run(command, capture_output=True, text=True, timeout=60)
        if done.returncode != 0:
            raise RuntimeError(f"{name} failed: {done.stdout}{done.stderr}")

    def new_database(self):
        """A fresh database; its URL."""
        name = "t_" + uuid.uuid4().hex[:12]
        done = subprocess.run([os.path.join(self.bin, "psql"), "-h", "127.0.0.1", "-p", str(self.port), "-U", "postgres",
                               "-d", "postgres", "-c", f"CREATE DATABASE {name}"], capture_output=True, text=True, timeout=30)
        if done.returncode != 0:
            raise RuntimeError(f"CREATE DATABASE failed: {done.stderr}")
        return f"postgres://postgres@127.0.0.1:{self.port}/{name}?sslmode=disable"

    def stop(self):
        try:
            self._tool("pg_ctl", "-D", os.path.join(self.directory, "data"), "-m", "immediate", "-w", "stop")
        finally:
            shutil.rmtree(self.directory, ignore_errors=True)
