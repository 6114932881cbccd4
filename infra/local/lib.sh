# Helpers for infra/local/stack.sh (sourced, not run). Expects STACK_DIR, LOGS, RUN, IS_ROOT,
# PG_OS_USER to be set by the caller.
# Note: functions called from `cmd || ...` run with errexit ignored (bash rule), so the start and
# setup steps below check each critical command themselves (`|| return 1`).

# ---- output -----------------------------------------------------------------------------------
now_us() { local t=${EPOCHREALTIME//[!0-9]/}; echo "$((10#$t))"; }
secs_since() { local d=$(($(now_us) - $1)); printf '%d.%d' $((d / 1000000)) $((d / 100000 % 10)); }
say() { printf '%s\n' "$*"; }
die() { printf 'stack: %s\n' "$*" >&2; exit 1; }
# step KIND NAME STATUS T0_US [DETAIL]: one aligned line with the seconds since T0
step() { step_s "$1" "$2" "$3" "$(secs_since "$4")" "${5:-}"; }
step_s() { printf '%-8s %-12s %-11s %6ss  %s\n' "$1" "$2" "$3" "$4" "${5:-}"; }
log_tail() { # name: last lines of a server's log, indented, to stderr
  [[ -f $LOGS/$1.log ]] || return 0
  echo "    --- tail of ${LOGS}/$1.log" >&2
  tail -n 30 "$LOGS/$1.log" | sed 's/^/    | /' >&2
}

# ---- small utilities -----------------------------------------------------------------------------
stamp_is() { [[ -f $1 && "$(<"$1")" == "$2" ]]; }
adopt_stamp() { # a binary without a stamp (built by hand) is taken as is: never rebuild MinIO needlessly
  [[ -f $1 ]] || echo "$2" >"$1"
  stamp_is "$1" "$2"
}
write_if_changed() { # file <stdin>: rewrite only on change, so a warm 'up' touches nothing
  local content; content=$(cat)
  [[ -f $1 && "$(<"$1")" == "$content" ]] && return 0
  printf '%s\n' "$content" >"$1"
}
sql_str() { local s=${1//\\/\\\\}; printf "'%s'" "${s//\'/\'\'}"; } # MariaDB string literal

# Unix socket paths are limited to ~107 bytes; a deep checkout would overflow, so fall back to /tmp.
socket_dir() { # preferred_dir name
  if ((${#1} + 20 <= 100)); then echo "$1"; return; fi
  echo "/tmp/spokeflow-$(id -u)-$(printf '%s' "$STACK_DIR" | md5sum | cut -c1-8)/$2"
}

port_open() { timeout 1 bash -c ">/dev/tcp/$1/$2" 2>/dev/null; }
port_owner() { # port name: explain a port conflict
  local who=""
  command -v ss >/dev/null && who=$(ss -Hltnp "sport = :$1" 2>/dev/null | awk '{print $4, $6}' | head -n 3 | paste -sd ' ')
  echo "    port $1 (needed by $2) is already in use by another process${who:+: $who}"
  echo "    stop that process, or choose another port through the variable for it (see 'stack.sh env')"
}
free_port() {
  local p i
  for ((i = 0; i < 50; i++)); do
    p=$((20000 + RANDOM % 30000))
    port_open 127.0.0.1 "$p" || { echo "$p"; return 0; }
  done
  return 1
}

# ---- processes -----------------------------------------------------------------------------------
pid_matches() { # pid pattern: alive, and its command line is ours (pattern + our stack dir)
  local cmd
  [[ -n $1 && -r /proc/$1/cmdline ]] || return 1
  cmd=$(tr '\0' ' ' <"/proc/$1/cmdline" 2>/dev/null) || return 1
  [[ $cmd == *"$2"* && $cmd == *"$STACK_DIR"* ]]
}
pidfile_pid() { # name pattern: print the pid from run/<name>.pid if that process is still ours
  local pid
  pid=$(cat "$RUN/$1.pid" 2>/dev/null) || return 1
  pid_matches "$pid" "$2" && echo "$pid"
}
spawn() { # name cmd...: detach (own session, so Ctrl-C or a CI job's end doesn't reach it), log, pid
  local name=$1; shift
  setsid "$@" </dev/null >>"$LOGS/$name.log" 2>&1 9>&- & # 9>&-: don't inherit the stack lock
  echo $! >"$RUN/$name.pid"
}

# One stack command at a time per stack dir (two 'up's racing would start servers twice). fd 9 is
# closed for every long-lived child, so the lock ends with this script.
take_lock() {
  mkdir -p "$STACK_DIR"
  exec 9>"$STACK_DIR/.lock"
  flock -n 9 && return 0
  echo "stack: another stack.sh is running on $STACK_DIR; waiting for it..." >&2
  flock -w 900 9 || die "gave up waiting for the lock on $STACK_DIR/.lock"
}

# ---- privileges ----------------------------------------------------------------------------------
as_root() {
  if ((IS_ROOT)); then "$@"
  elif command -v sudo >/dev/null; then sudo "$@"
  else die "need root for: $* (run as root or install sudo)"; fi
}
as_pg() { # run as the Postgres OS user, from / so its cwd is always readable
  if ((IS_ROOT)); then (cd / && runuser -u "$PG_OS_USER" -- "$@")
  else "$@"; fi
}
ensure_pg_user() {
  id -u "$PG_OS_USER" >/dev/null 2>&1 && return 0
  useradd --system --user-group --no-create-home --home-dir /nonexistent \
    --shell /usr/sbin/nologin "$PG_OS_USER"
}
# A service user must be able to traverse every parent of its data dir (e.g. a checkout under
# /root is 0700). Add only the search bit (o+x: no listing) where it is missing, and say so.
ensure_reachable() { # user path
  local user=$1 path=$2 d=""
  local IFS=/ part
  for part in ${path#/}; do
    d="$d/$part"
    [[ -d $d ]] || break
    if ! runuser -u "$user" -- test -x "$d" 2>/dev/null; then
      chmod o+x "$d" && echo "    note: chmod o+x $d so that $user can reach ${path}" >&2
    fi
  done
}

# ---- apt -----------------------------------------------------------------------------------------
apt_install() { # pkgs...: 'apt-get update' only if a package has no candidate in the current lists
  local p
  for p in "$@"; do
    if ! apt-cache policy "$p" 2>/dev/null | grep -q 'Candidate: [0-9]'; then
      as_root apt-get update -qq
      break
    fi
  done
  # policy-rc.d returning 101 tells maintainer scripts not to start services. If the machine has
  # none, put one in place for the duration of the install (removed even on failure).
  (
    local f=/usr/sbin/policy-rc.d
    if [[ ! -e $f ]]; then
      trap 'as_root rm -f /usr/sbin/policy-rc.d' EXIT
      printf '#!/bin/sh\n# temporary, from spokeflow infra/local/stack.sh\nexit 101\n' | as_root tee "$f" >/dev/null
      as_root chmod 755 "$f"
    fi
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
      -o DPkg::Lock::Timeout=300 "$@"
  )
}
stop_system_mariadb() { # if the package started Debian's own server anyway, stop it (it's on 3306)
  local pid
  pid=$(cat /run/mysqld/mysqld.pid 2>/dev/null) || return 0
  kill -0 "$pid" 2>/dev/null || return 0
  echo "stopping the system mariadb (pid $pid) that the package started"
  as_root invoke-rc.d mariadb stop 2>/dev/null || as_root kill "$pid" || true
}

# Tools the installs need; installs missing ones from apt first (before any parallel apt job).
preflight() { # needed-installs...
  local need=" $* " pkgs=()
  command -v curl >/dev/null || pkgs+=(curl)
  command -v setsid >/dev/null || pkgs+=(util-linux)
  if [[ $need == *" py "* || $need == *" model "* ]] && ! python3 -m pip --version >/dev/null 2>&1; then pkgs+=(python3 python3-pip); fi
  if [[ $need == *" test-server "* ]]; then
    command -v java >/dev/null || pkgs+=(default-jre-headless)
    command -v mvn >/dev/null || pkgs+=(maven)
  fi
  if ((${#pkgs[@]})); then
    local t; t=$(now_us)
    apt_install "${pkgs[@]}" >"$LOGS/install-prerequisites.log" 2>&1 ||
      { tail -n 20 "$LOGS/install-prerequisites.log" >&2; die "apt-get install ${pkgs[*]} failed"; }
    step install prereqs done "$t" "${pkgs[*]}"
  fi
  if [[ $need == *" minio "* || $need == *" influxd "* ]]; then
    command -v go >/dev/null || die "Go is needed to build MinIO and InfluxDB (go install); install Go >= 1.24 and retry"
  fi
}

# ---- background installs ---------------------------------------------------------------------------
bg_install() { # name fn args...: run in the background, output to logs/install-<name>.log
  local name=$1; shift
  (
    t=$(now_us)
    "$@"
    secs_since "$t" >"$RUN/install-$name.secs"
  ) </dev/null >"$LOGS/install-$name.log" 2>&1 &
  BG_PID=$!
}
await_install() { # name pid
  local name=$1 pid=$2 t
  if kill -0 "$pid" 2>/dev/null && [[ $name == minio || $name == influxd ]]; then
    say "install  $(printf '%-12s' "$name") still building... (tail -f ${LOGS}/install-$name.log)"
  fi
  t=$(now_us)
  if wait "$pid"; then
    step_s install "$name" done "$(cat "$RUN/install-$name.secs" 2>/dev/null || secs_since "$t")"
  else
    step install "$name" FAILED "$t"
    echo "    --- tail of ${LOGS}/install-$name.log" >&2
    tail -n 30 "$LOGS/install-$name.log" | sed 's/^/    | /' >&2
    return 1
  fi
}
