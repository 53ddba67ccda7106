#!/usr/bin/env bash
# Runs AgentHost for real: builds it (release), and unless a provider is configured, installs and
# starts the bundled local model (Qwen2.5-Coder-1.5B-Instruct on llama-cpp-python) on loopback first.
#
#   scripts/run.sh [agenthost serve flags…]
#
# Use another provider by setting AGENTHOST_LLM_BASE_URL / AGENTHOST_LLM_PROVIDER / AGENTHOST_LLM_MODEL /
# AGENTHOST_LLM_API_KEY, or OPENAI_API_KEY, ANTHROPIC_API_KEY or COHERE_API_KEY.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

provider_configured() {
  [[ -n "${AGENTHOST_LLM_BASE_URL:-}${AGENTHOST_LLM_PROVIDER:-}${OPENAI_API_KEY:-}${ANTHROPIC_API_KEY:-}${COHERE_API_KEY:-}" ]]
}

if ! command -v swift >/dev/null && [[ -x /opt/swift/usr/bin/swift ]]; then export PATH="/opt/swift/usr/bin:$PATH"; fi

echo "AgentHost: building (release; the first build takes several minutes)…" >&2
swift build -c release --product agenthost >&2
binary="$(swift build -c release --show-bin-path)/agenthost"

llm_started=0
stop_llm() { if [[ $llm_started == 1 ]]; then scripts/llm-server.sh stop >&2 || true; fi; }
trap stop_llm EXIT

if ! provider_configured; then
  echo "AgentHost: no provider configured; starting the local model on loopback…" >&2
  base_url="$(scripts/llm-server.sh start | awk '/^ready /{print $2}')"
  llm_started=1
  export AGENTHOST_LLM_BASE_URL="$base_url"
fi

# Not exec: the local model must be stopped when the server exits. Signals go to the server,
# which shuts down gracefully; then the trap stops the model.
"$binary" serve "$@" &
server=$!
trap 'kill -TERM $server 2>/dev/null || true' INT TERM
wait $server || status=$?
wait $server 2>/dev/null || true
exit "${status:-0}"
