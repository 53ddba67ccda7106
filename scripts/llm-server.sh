#!/usr/bin/env bash
# Runs a real local LLM (Qwen2.5-Coder-1.5B-Instruct, GGUF Q4_K_M, via
# llama-cpp-python's OpenAI-compatible server) for AgentHost. Installs it first if needed
# (scripts/llm-venv.sh).
#
# Usage:
#   scripts/llm-server.sh [start]   start in the background (idempotent), wait
#                                   until GET /v1/models answers, print
#                                   "ready <base_url>" (base_url ends in /v1)
#   scripts/llm-server.sh stop      stop the server started by `start`
#   scripts/llm-server.sh restart
#   scripts/llm-server.sh status    print "running <base_url> pid <pid>" or
#                                   "stopped" (exit 1 when stopped)
#   scripts/llm-server.sh run       run in the foreground (exec; logs to stderr)
#
# Typical use from a test script:
#   base_url=$(scripts/llm-server.sh start | awk '/^ready /{print $2}')
#   trap 'scripts/llm-server.sh stop' EXIT
#
# Environment (all optional):
#   AGENTHOST_LOCAL_LLM_PORT     port (default 8088)
#   AGENTHOST_LOCAL_LLM_HOST     bind address (default 127.0.0.1)
#   AGENTHOST_LLM_LOG            log file (default <repo>/data/llm-server.log)
#   AGENTHOST_LLM_PIDFILE        pid file (default <repo>/data/llm-server.pid)
#   AGENTHOST_LLM_READY_TIMEOUT  seconds to wait for readiness (default 120)
#   AGENTHOST_LLM_CTX            context size in tokens (default 8192)
#   AGENTHOST_LLM_THREADS        CPU threads for generation and prompt (default 1,
#                                see below)
#   AGENTHOST_LLM_CHAT_FORMAT    llama-cpp-python chat format
#                                (default chat_template.default = the GGUF's own)
#   AGENTHOST_LLM_MODEL_ALIAS    model id reported by /v1/models
#                                (default Qwen2.5-Coder-1.5B-Instruct; requests may
#                                name any model, the server answers with this one)
#   AGENTHOST_LLM_SEED           sampling seed (default -1 = random)
#   AGENTHOST_VENV               see scripts/llm-venv.sh
#
# Why these settings:
#   * chat_template.default: the GGUF's own (Qwen2.5) Jinja template. It renders
#     system/user/assistant as ChatML, OpenAI `tools` as Qwen's "# Tools <tools>…"
#     block, role "tool" messages as <tool_response> user turns and assistant
#     `tool_calls` as <tool_call> blocks, so tool results reach the model (the old
#     chatml-function-calling dropped them, which broke step 2 of an agent run).
#     A forced `tool_choice: {"type":"function","function":{"name":…}}` is
#     grammar-constrained to the function's schema and streams as `tool_calls`;
#     with "auto"/no tool_choice the model writes its call as text
#     (`{"name":…,"arguments":…}`, often without the <tool_call> tags), which is
#     what AgentHost's prompted tool calling parses. Requests may also carry a
#     GBNF `grammar` (llama-cpp-python extension) to constrain a step to "one of
#     these calls or a plain answer". Temperature: the server default is 0.8;
#     the measured success rates (README, "The local model") are at that default.
#   * Prompt reuse: llama-cpp-python keeps the KV cache of the last request and
#     evaluates only the tokens after the longest common prefix ("prefix-match
#     hit" in the log), so an agent's step 2 does not reprocess step 1's prompt
#     and a fixed tools prefix is shared by consecutive runs. `cache_prompt` in
#     a request is accepted and ignored (that is llama.cpp's C++ server).
#   * One request at a time: this server has ONE sequence slot (no parallel
#     decoding); with --interrupt_requests False further requests queue behind
#     it. A client-side queue for this provider should allow concurrency 1.
#   * 8192 tokens of context: the tools block is ~250 tokens and agent runs grow
#     by every tool call and result; the KV cache costs ~28 KB a token (~230 MB).
#   * 1 thread: on 2 cores, llama.cpp with 2 threads is faster when the machine
#     is idle (Qwen2.5-Coder-1.5B: ~13 tok/s generation, ~70 tok/s prompt) but
#     collapses (measured 0.8 tok/s) as soon as something else (swift build,
#     tests) uses a core, since its threads wait on each other; 1 thread stays
#     at ~5-7 tok/s generation and ~25-35 tok/s prompt whatever else runs.
#   * --interrupt_requests False: by default a new request cuts off a running
#     stream (it ends with [DONE] mid-answer); with False requests queue.
set -euo pipefail

SCRIPT_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO_ROOT="$(cd "$SCRIPT_DIR/.." && pwd)"
VENV="${AGENTHOST_VENV:-$REPO_ROOT/.venv}"

HOST="${AGENTHOST_LOCAL_LLM_HOST:-127.0.0.1}"
PORT="${AGENTHOST_LOCAL_LLM_PORT:-8088}"
LOG_FILE="${AGENTHOST_LLM_LOG:-$REPO_ROOT/data/llm-server.log}"
PID_FILE="${AGENTHOST_LLM_PIDFILE:-$REPO_ROOT/data/llm-server.pid}"
READY_TIMEOUT="${AGENTHOST_LLM_READY_TIMEOUT:-120}"
N_CTX="${AGENTHOST_LLM_CTX:-8192}"
THREADS="${AGENTHOST_LLM_THREADS:-1}"
CHAT_FORMAT="${AGENTHOST_LLM_CHAT_FORMAT:-chat_template.default}"
MODEL_ALIAS="${AGENTHOST_LLM_MODEL_ALIAS:-Qwen2.5-Coder-1.5B-Instruct}"
SEED="${AGENTHOST_LLM_SEED:--1}"
BASE_URL="http://${HOST}:${PORT}/v1"
PY="$VENV/bin/python"

log() { printf 'llm-server: %s\n' "$*" >&2; }

usage() {
    sed -n '2,/^set -euo/p' "${BASH_SOURCE[0]}" | sed -e '/^set -euo/d' -e 's/^# \{0,1\}//' >&2
}

# Prints the GGUF path (installing the venv on first use).
model_path() {
    local out
    out="$("$SCRIPT_DIR/llm-venv.sh")" || { log "scripts/llm-venv.sh failed"; return 1; }
    out="$(printf '%s\n' "$out" | tail -n 1)"
    [[ -f "$out" ]] || { log "model file not found: '$out'"; return 1; }
    printf '%s\n' "$out"
}

server_args() {
    local model="$1"
    printf '%s\n' -m llama_cpp.server \
        --model "$model" \
        --model_alias "$MODEL_ALIAS" \
        --host "$HOST" --port "$PORT" \
        --n_ctx "$N_CTX" \
        --n_batch 512 \
        --n_threads "$THREADS" --n_threads_batch "$THREADS" \
        --chat_format "$CHAT_FORMAT" \
        --seed "$SEED" \
        --interrupt_requests False \
        --verbose True
}

# 0 when GET /v1/models answers 200.
models_ok() {
    "$PY" - "$BASE_URL/models" <<'PY' >/dev/null 2>&1
import sys, urllib.request
with urllib.request.urlopen(sys.argv[1], timeout=2) as r:
    sys.exit(0 if r.status == 200 else 1)
PY
}

# 0 when something accepts TCP connections on HOST:PORT.
port_busy() {
    (exec 3<>"/dev/tcp/${HOST}/${PORT}") >/dev/null 2>&1
}

# Prints the pid from the pid file if that process is alive and is our server.
live_pid() {
    [[ -f "$PID_FILE" ]] || return 1
    local pid
    pid="$(tr -dc '0-9' <"$PID_FILE")"
    [[ -n "$pid" ]] || return 1
    kill -0 "$pid" 2>/dev/null || return 1
    tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -q 'llama_cpp.server' || return 1
    printf '%s\n' "$pid"
}

log_tail() {
    if [[ -f "$LOG_FILE" ]]; then
        log "---- last 40 lines of $LOG_FILE ----"
        tail -n 40 "$LOG_FILE" >&2 || true
        log "---- end of log ----"
    fi
}

cmd_start() {
    local pid
    if pid="$(live_pid)"; then
        if models_ok; then
            log "already running (pid $pid)"
            printf 'ready %s\n' "$BASE_URL"
            return 0
        fi
        log "pid $pid is alive but not answering yet; waiting for it"
    else
        rm -f "$PID_FILE"
        if port_busy; then
            log "ERROR: port $PORT on $HOST is already in use by another process" \
                "(not started by this script). Set AGENTHOST_LOCAL_LLM_PORT to another port."
            return 1
        fi
        local model
        model="$(model_path)" || return 1
        mkdir -p "$(dirname "$LOG_FILE")" "$(dirname "$PID_FILE")"
        local args=()
        mapfile -t args < <(server_args "$model")
        printf '\n==== %s starting: %s %s\n' "$(date -u +%FT%TZ)" "$PY" "${args[*]}" >>"$LOG_FILE"
        # Own session, detached from the caller's terminal and stdin, so it
        # survives the calling script and ignores its Ctrl-C.
        # (setsid does not fork here: a background child of a non-interactive
        # shell is not a process-group leader, so $! is the server's pid.)
        local launcher=()
        command -v setsid >/dev/null 2>&1 && launcher=(setsid)
        PYTHONUNBUFFERED=1 nohup "${launcher[@]}" "$PY" "${args[@]}" >>"$LOG_FILE" 2>&1 </dev/null &
        pid=$!
        printf '%s\n' "$pid" >"$PID_FILE"
        log "started pid $pid (log: $LOG_FILE), waiting up to ${READY_TIMEOUT}s for $BASE_URL/models"
    fi

    local start now
    start=$(date +%s)
    while :; do
        if models_ok; then
            now=$(date +%s)
            log "ready after $(( now - start ))s"
            printf 'ready %s\n' "$BASE_URL"
            return 0
        fi
        if ! kill -0 "$pid" 2>/dev/null; then
            log "ERROR: the LLM server (pid $pid) exited before it became ready"
            rm -f "$PID_FILE"
            log_tail
            return 1
        fi
        now=$(date +%s)
        if (( now - start >= READY_TIMEOUT )); then
            log "ERROR: the LLM server (pid $pid) did not answer GET $BASE_URL/models within ${READY_TIMEOUT}s; stopping it"
            log_tail
            cmd_stop >/dev/null 2>&1 || true
            return 1
        fi
        sleep 0.25
    done
}

cmd_stop() {
    local pid
    if ! pid="$(live_pid)"; then
        rm -f "$PID_FILE"
        log "not running"
        return 0
    fi
    # An idle server exits on SIGTERM at once; a busy one waits for its running
    # generation (even a second SIGTERM does not interrupt llama.cpp's worker
    # thread), so it gets SIGKILL after 3 s.
    local i sig
    for sig in TERM KILL; do
        kill "-$sig" "$pid" 2>/dev/null || true
        for (( i = 0; i < 30; i++ )); do
            kill -0 "$pid" 2>/dev/null || break 2
            sleep 0.1
        done
        log "pid $pid still running 3s after SIG$sig"
    done
    rm -f "$PID_FILE"
    log "stopped pid $pid"
}

cmd_status() {
    local pid
    if pid="$(live_pid)" && models_ok; then
        printf 'running %s pid %s\n' "$BASE_URL" "$pid"
    elif [[ -n "${pid:-}" ]]; then
        printf 'starting %s pid %s\n' "$BASE_URL" "$pid"
    else
        printf 'stopped\n'
        return 1
    fi
}

cmd_run() {
    local model args=()
    model="$(model_path)" || return 1
    mapfile -t args < <(server_args "$model")
    log "serving $BASE_URL (foreground)"
    PYTHONUNBUFFERED=1 exec "$PY" "${args[@]}"
}

case "${1:-start}" in
    start) cmd_start ;;
    stop) cmd_stop ;;
    restart) cmd_stop; cmd_start ;;
    status) cmd_status ;;
    run) cmd_run ;;
    -h|--help|help) usage ;;
    *) usage; exit 2 ;;
esac
