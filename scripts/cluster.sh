#!/usr/bin/env bash
# Tries AgentHost as a cluster (PROTOCOL §9) on this machine: a private PostgreSQL in a temporary
# directory, two `agenthost serve` instances on it, and nginx balancing between them round-robin.
# Everything stops (and the temporary directory goes) on Ctrl-C.
#
#   scripts/cluster.sh [agenthost serve flags for both instances…]
#
#   PORT=8080          where nginx listens (the instances take PORT+1 and PORT+2, PostgreSQL PORT+3)
#   model: as scripts/run.sh (the local model unless AGENTHOST_LLM_BASE_URL / a vendor key is set)
#
# Installs postgresql and nginx from Debian when they are missing. A sample for trying it out, not
# a production set-up: for that, point every instance's --database-url at your PostgreSQL and put
# your load balancer in front (WebSockets need its upgrade headers, as below).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
if ! command -v swift >/dev/null && [[ -x /opt/swift/usr/bin/swift ]]; then export PATH="/opt/swift/usr/bin:$PATH"; fi

port="${PORT:-8080}"
a_port=$((port + 1)); b_port=$((port + 2)); pg_port=$((port + 3))

missing=()
compgen -G "/usr/lib/postgresql/*/bin/initdb" >/dev/null || missing+=(postgresql)
command -v nginx >/dev/null || [[ -x /usr/sbin/nginx ]] || missing+=(nginx)
if ((${#missing[@]})); then
  echo "cluster: installing ${missing[*]}…" >&2
  sudo=""; [[ $(id -u) == 0 ]] || sudo="sudo"
  $sudo apt-get update -qq >&2 && DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${missing[@]}" >&2
  # Debian starts the packaged services; this script runs its own.
  $sudo systemctl disable --now nginx postgresql >/dev/null 2>&1 || true
fi
pg_bin="$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -1)"
nginx_bin="$(command -v nginx || echo /usr/sbin/nginx)"

work="$(mktemp -d /tmp/agenthost-cluster-XXXXXX)"
as_pg=(); if [[ $(id -u) == 0 ]]; then chown postgres:postgres "$work"; as_pg=(runuser -u postgres --); fi
pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
  for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
  "${as_pg[@]}" "$pg_bin/pg_ctl" -D "$work/pg" -m fast -w stop >/dev/null 2>&1 || true
  [[ -n "${llm_started:-}" ]] && scripts/llm-server.sh stop >&2 || true
  rm -rf "$work"
}
trap cleanup EXIT

echo "cluster: PostgreSQL on 127.0.0.1:$pg_port ($work/pg)" >&2
"${as_pg[@]}" "$pg_bin/initdb" -D "$work/pg" -U postgres --auth=trust -E UTF8 --locale=C >/dev/null
"${as_pg[@]}" "$pg_bin/pg_ctl" -D "$work/pg" -l "$work/pg.log" -w \
  -o "-p $pg_port -k $work -c listen_addresses=127.0.0.1" start >/dev/null
database_url="postgres://postgres@127.0.0.1:$pg_port/postgres?sslmode=disable"

echo "cluster: building AgentHost (release)…" >&2
swift build -c release --product agenthost >&2
binary="$(swift build -c release --show-bin-path)/agenthost"
"$binary" migrate --database-url "$database_url" >&2

if [[ -z "${AGENTHOST_LLM_BASE_URL:-}${AGENTHOST_LLM_PROVIDER:-}${OPENAI_API_KEY:-}${ANTHROPIC_API_KEY:-}${COHERE_API_KEY:-}" ]]; then
  echo "cluster: starting the local model…" >&2
  AGENTHOST_LLM_BASE_URL="$(scripts/llm-server.sh start | awk '/^ready /{print $2}')"
  export AGENTHOST_LLM_BASE_URL
  llm_started=1
fi

for instance in a b; do
  instance_port=$a_port; [[ $instance == b ]] && instance_port=$b_port
  mkdir -p "$work/$instance"
  "$binary" serve --port "$instance_port" --data-dir "$work/$instance" --database-url "$database_url" "$@" \
    >"$work/$instance.log" 2>&1 &
  pids+=($!)
  echo "cluster: instance $instance on 127.0.0.1:$instance_port (log $work/$instance.log)" >&2
done
for instance_port in $a_port $b_port; do
  for _ in $(seq 1 100); do curl -fs "http://127.0.0.1:$instance_port/api/health" >/dev/null && break; sleep 0.2; done
done

cat >"$work/nginx.conf" <<EOF
worker_processes 1;
daemon off;
pid $work/nginx.pid;
error_log $work/nginx-error.log warn;
events { worker_connections 4096; }
http {
  access_log off;
  client_body_temp_path $work/nginx-body;
  proxy_temp_path $work/nginx-proxy;
  map \$http_upgrade \$connection_upgrade { default upgrade; '' close; }
  upstream agenthost { server 127.0.0.1:$a_port; server 127.0.0.1:$b_port; }
  server {
    listen 127.0.0.1:$port;
    client_max_body_size 64m;
    location / {
      proxy_pass http://agenthost;
      proxy_http_version 1.1;
      proxy_set_header Host \$host;
      proxy_set_header Upgrade \$http_upgrade;
      proxy_set_header Connection \$connection_upgrade;
      # Server-sent events and WebSockets stream: no buffering, long reads.
      proxy_buffering off;
      proxy_read_timeout 1h;
    }
  }
}
EOF
"$nginx_bin" -c "$work/nginx.conf" &
pids+=($!)
echo "cluster: ready at http://127.0.0.1:$port (round-robin over both instances; Ctrl-C stops everything)" >&2
wait -n "${pids[@]}" || true
