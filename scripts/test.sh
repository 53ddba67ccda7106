#!/usr/bin/env bash
# Runs every test: the Swift suites (unit and integration, against scripted fake upstreams on real
# sockets), then the end-to-end suite (Python clients: httpx, openai, websockets) against a real
# agenthost server talking to the real local model.
#
#   scripts/test.sh              everything
#   SKIP_E2E=1 scripts/test.sh   Swift suites only
#   SKIP_SWIFT=1 scripts/test.sh Python suites only (builds the server if needed)
#   SKIP_INTEROP=1               skip the interoperability and browser suite (Tests/interop, fake model)
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
repo="$(pwd)"

if ! command -v swift >/dev/null && [[ -x /opt/swift/usr/bin/swift ]]; then export PATH="/opt/swift/usr/bin:$PATH"; fi

# Debian packages the tests use, installed when missing (one apt-get for all of them).
packages=()
# The PDF export test reads its output back with poppler's pdftotext, and PDF uploads are read with it.
command -v pdftotext >/dev/null || packages+=(poppler-utils)
# The PostgreSQL backend's tests start a private cluster from PostgreSQL 15's programs (they fail,
# not skip, without them).
[[ -x /usr/lib/postgresql/15/bin/initdb || -n "${AGENTHOST_TEST_PG_BIN:-}" ]] || packages+=(postgresql)
# The web console's browser tests drive chromium headless through chromedriver (selenium).
if [[ "${SKIP_INTEROP:-}" != 1 ]] && ! { command -v chromium >/dev/null && command -v chromedriver >/dev/null; }; then
  packages+=(chromium chromium-driver)
fi
if (( ${#packages[@]} )); then
  echo "== Installing ${packages[*]}" >&2
  command -v apt-get >/dev/null || { echo "apt-get is not available: install ${packages[*]}" >&2; exit 1; }
  sudo_cmd=""; [[ "$(id -u)" != 0 ]] && sudo_cmd="sudo"
  $sudo_cmd apt-get install -y --no-install-recommends "${packages[@]}" >&2 \
    || { $sudo_cmd apt-get update >&2 && $sudo_cmd apt-get install -y --no-install-recommends "${packages[@]}" >&2; }
fi

if [[ "${SKIP_SWIFT:-}" != 1 ]]; then
  echo "== Swift tests" >&2
  swift build --build-tests >&2
  # Suites that assert on wall-clock time (1 s idle deadlines, exit within 5 s of SIGTERM, a queue
  # pause of 2 s, hashing that must leave the cooperative pool free) run after the rest, by
  # themselves. In the parallel run they share two cores with a hundred busy tests, and a test
  # process starved of its threads for a second fails them for reasons that are not the server's.
  timed='\.(ConnectionDeadlineTests|LifecycleTests|AuthHardeningTests|QueueTests|BrowserBoundaryTests|DocumentBombTests)/'
  swift_failed=0
  swift test --skip-build --skip "$timed" || swift_failed=1
  echo "== Swift tests that measure time, on their own" >&2
  swift test --skip-build --filter "$timed" || swift_failed=1
  (( swift_failed == 0 )) || exit 1
else
  swift build --product agenthost >&2
fi

if [[ "${SKIP_E2E:-}" == 1 && "${SKIP_INTEROP:-}" == 1 ]]; then exit 0; fi

scripts/llm-venv.sh >/dev/null
# The Python suites' own packages go into the same venv; a marker keyed on the requirements file
# makes this a no-op when nothing changed.
requirements="Tests/interop/requirements.txt"
marker=".venv/.agenthost-test-requirements"
wanted="$(sha256sum "$requirements" | cut -d' ' -f1)"
if [[ "$(cat "$marker" 2>/dev/null)" != "$wanted" ]]; then
  echo "== Installing the test suites' Python packages" >&2
  .venv/bin/python -m pip install -q -r "$requirements" >&2
  echo "$wanted" > "$marker"
fi

if [[ "${SKIP_INTEROP:-}" != 1 ]]; then
  echo "== Interoperability and browser tests (real server, fake model)" >&2
  AGENTHOST_BIN="$(swift build --show-bin-path)/agenthost" \
    .venv/bin/python -m pytest -q -p no:cacheprovider Tests/interop
fi

if [[ "${SKIP_E2E:-}" == 1 ]]; then exit 0; fi

echo "== End-to-end tests (real local model)" >&2
work="$(mktemp -d)"
free_port() { "$repo/.venv/bin/python" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()'; }
llm_port="$(free_port)"
server_pid=""
cleanup() {
  [[ -n "$server_pid" ]] && kill -TERM "$server_pid" 2>/dev/null && wait "$server_pid" 2>/dev/null || true
  AGENTHOST_LOCAL_LLM_PORT="$llm_port" AGENTHOST_LLM_PIDFILE="$work/llm.pid" scripts/llm-server.sh stop >/dev/null 2>&1 || true
  rm -rf "$work"
}
trap cleanup EXIT

llm_url="$(AGENTHOST_LOCAL_LLM_PORT="$llm_port" AGENTHOST_LLM_PIDFILE="$work/llm.pid" AGENTHOST_LLM_LOG="$work/llm.log" \
  scripts/llm-server.sh start | awk '/^ready /{print $2}')"
port="$(free_port)"
"$(swift build --show-bin-path)/agenthost" serve --port "$port" --data-dir "$work/data" \
  --llm-provider openai --llm-base-url "$llm_url" --llm-model Qwen2.5-Coder-1.5B-Instruct --log-level warning \
  2> "$work/agenthost.log" &
server_pid=$!
for _ in $(seq 1 100); do
  curl -fsS "http://127.0.0.1:$port/api/health" >/dev/null 2>&1 && break
  kill -0 "$server_pid" 2>/dev/null || { cat "$work/agenthost.log" >&2; exit 1; }
  sleep 0.1
done

AGENTHOST_URL="http://127.0.0.1:$port" AGENTHOST_DATA_DIR="$work/data" AGENTHOST_BIN="$(swift build --show-bin-path)/agenthost" \
  "$repo/.venv/bin/python" -m pytest -q -p no:cacheprovider Tests/e2e || { echo "--- agenthost log" >&2; tail -50 "$work/agenthost.log" >&2; exit 1; }
