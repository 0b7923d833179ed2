#!/usr/bin/env bash
# A real single-node SLURM cluster on loopback (Debian's slurm-wlm + munge), for tests and laptops.
#
#   scripts/slurm/cluster.sh start|stop|status|env [STATE_DIR]
#
# Everything (confs, munge key/socket, state, logs, pid files) lives in STATE_DIR
# (argument, else $AMPLI_SLURM_DIR, else /tmp/ampli-slurm); /etc is not touched, so it coexists with a
# system munge/slurm. Daemons are stopped by the pids they recorded, never by process name.
# Clients need SLURM_CONF=STATE_DIR/slurm.conf (`eval "$(scripts/slurm/cluster.sh env)"`).
#
# Knobs (environment): AMPLI_SLURM_CTLD_PORT (6817), AMPLI_SLURM_D_PORT (6818), AMPLI_SLURM_CPUS (nproc),
# AMPLI_SLURM_MEM_MB (total minus 2 GiB), AMPLI_SLURM_GPUS (1 faked GPU), AMPLI_SLURM_PARTITION (debug).
# Exit codes: 0 ok, 1 failure, 2 usage, 3 packages missing and not installable (not root).
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
CMD="${1:-}"
DIR="${2:-${AMPLI_SLURM_DIR:-/tmp/ampli-slurm}}"
CTLD_PORT="${AMPLI_SLURM_CTLD_PORT:-6817}"
D_PORT="${AMPLI_SLURM_D_PORT:-6818}"
PARTITION="${AMPLI_SLURM_PARTITION:-debug}"
GPUS="${AMPLI_SLURM_GPUS:-1}"
CONF="$DIR/slurm.conf"
SOCKET="$DIR/munge/munge.socket"
PIDS=(slurmd slurmctld munged)   # stop order

die() { echo "cluster.sh: $*" >&2; exit "${2:-1}"; }
log() { echo "cluster.sh: $*" >&2; }

pidfile() {
  case "$1" in
    munged) echo "$DIR/munge/munged.pid" ;;
    *) echo "$DIR/run/$1.pid" ;;
  esac
}

# The pid recorded for daemon $1 if that process is alive and is that daemon (guards against pid reuse).
live_pid() {
  local f pid
  f="$(pidfile "$1")"
  [[ -s "$f" ]] || return 1
  pid="$(tr -dc 0-9 <"$f")"
  [[ -n "$pid" && -r "/proc/$pid/cmdline" ]] || return 1
  tr '\0' ' ' <"/proc/$pid/cmdline" | grep -q "$1" || return 1
  echo "$pid"
}

ensure_packages() {
  local missing=()
  for bin in slurmctld slurmd munged munge sbatch scontrol sinfo; do
    command -v "$bin" >/dev/null || missing+=("$bin")
  done
  ((${#missing[@]} == 0)) && return 0
  [[ $(id -u) == 0 ]] || die "missing ${missing[*]}; install slurm-wlm and munge (needs root: apt-get install slurm-wlm munge)" 3
  command -v apt-get >/dev/null || die "missing ${missing[*]} and no apt-get to install slurm-wlm munge" 3
  log "installing slurm-wlm munge with apt-get (missing: ${missing[*]})"
  export DEBIAN_FRONTEND=noninteractive
  # Wait up to 10 minutes for an apt-get that holds dpkg's lock (the browser tests' installer, say) rather than fail.
  local apt=(apt-get -o DPkg::Lock::Timeout=600)
  "${apt[@]}" install -y -qq slurm-wlm munge >/dev/null 2>&1 \
    || { "${apt[@]}" update -qq >/dev/null && "${apt[@]}" install -y -qq slurm-wlm munge >/dev/null; } \
    || die "apt-get install slurm-wlm munge failed" 3
}

render() {
  local host cpus mem_mb user gres_lines
  host="$(hostname -s)"
  cpus="${AMPLI_SLURM_CPUS:-$(nproc)}"
  mem_mb="${AMPLI_SLURM_MEM_MB:-$(($(awk '/MemTotal/ {print int($2/1024)}' /proc/meminfo) - 2048))}"
  ((mem_mb >= 1024)) || die "AMPLI_SLURM_MEM_MB=$mem_mb is too small; give at least 1024"
  [[ "$GPUS" =~ ^[0-9]+$ ]] || die "AMPLI_SLURM_GPUS=$GPUS is not a count"
  [[ "$cpus" =~ ^[1-9][0-9]*$ ]] || die "AMPLI_SLURM_CPUS=$cpus is not a positive count"
  user="$(id -un)"
  if ((GPUS == 1)); then
    gres_lines="NodeName=$host Name=gpu File=/dev/null"
  else
    gres_lines="NodeName=$host Name=gpu Count=$GPUS"
  fi
  sed -e "s|@HOST@|$host|g" -e "s|@CTLD_PORT@|$CTLD_PORT|g" -e "s|@D_PORT@|$D_PORT|g" \
      -e "s|@USER@|$user|g" -e "s|@DIR@|$DIR|g" -e "s|@CPUS@|$cpus|g" -e "s|@MEM_MB@|$mem_mb|g" \
      -e "s|@DEF_MEM@|$((mem_mb / cpus))|g" -e "s|@GPUS@|$GPUS|g" -e "s|@PARTITION@|$PARTITION|g" \
      "$HERE/slurm.conf.in" >"$CONF"
  if ((GPUS == 0)); then sed -i -e 's/ Gres=gpu:0//' "$CONF"; gres_lines=""; fi
  sed -e "s|@GRES_LINES@|$gres_lines|" "$HERE/gres.conf.in" >"$DIR/gres.conf"
}

start_munge() {
  local mu=munge
  id munge >/dev/null 2>&1 || mu=root
  mkdir -p "$DIR/munge"
  [[ -s "$DIR/munge/munge.key" ]] || dd if=/dev/urandom of="$DIR/munge/munge.key" bs=1024 count=1 status=none
  chown -R "$mu:" "$DIR/munge"
  chmod 755 "$DIR/munge"   # munged: the socket directory must be searchable by all
  chmod 400 "$DIR/munge/munge.key"
  local args="--socket=$SOCKET --key-file=$DIR/munge/munge.key --pid-file=$(pidfile munged)"
  args+=" --log-file=$DIR/munge/munged.log --seed-file=$DIR/munge/munged.seed"
  if [[ $mu == munge && $(id -u) == 0 ]]; then
    su -s /bin/sh munge -c "munged $args"
  else
    # shellcheck disable=SC2086
    munged --force $args
  fi
  for _ in $(seq 50); do
    munge -S "$SOCKET" -n 2>/dev/null | unmunge -S "$SOCKET" >/dev/null 2>&1 && return 0
    sleep 0.1
  done
  die "munged did not answer on $SOCKET; see $DIR/munge/munged.log"
}

wait_idle() {
  local host state
  host="$(hostname -s)"
  for i in $(seq 150); do
    state="$(sinfo -h -n "$host" -o %t 2>/dev/null | head -1 || true)"
    case "$state" in
      idle|mix|alloc) return 0 ;;
      down*|drain*|drng*) ((i % 20 == 0)) && scontrol update nodename="$host" state=resume 2>/dev/null || true ;;
    esac
    sleep 0.2
  done
  die "node $host not idle after 30 s (state '${state:-none}'); see $DIR/log/"
}

cmd_start() {
  ensure_packages
  [[ $(id -u) == 0 ]] || die "slurmd must run as root to launch jobs; run as root" 3
  if live_pid slurmctld >/dev/null && live_pid slurmd >/dev/null; then
    log "already running in $DIR"; cmd_env; return 0
  fi
  cmd_stop >/dev/null 2>&1 || true
  mkdir -p "$DIR"/{state,spool,log,run}
  chmod 755 "$DIR"   # munged (user munge) must reach its socket under it
  render
  export SLURM_CONF="$CONF"
  start_munge
  slurmctld -f "$CONF" -c || die "slurmctld failed; see $DIR/log/slurmctld.log"
  slurmd -f "$CONF" -N "$(hostname -s)" || die "slurmd failed; see $DIR/log/slurmd.log"
  wait_idle
  log "started in $DIR (munged $(live_pid munged), slurmctld $(live_pid slurmctld), slurmd $(live_pid slurmd))"
  cmd_env
}

cmd_stop() {
  if [[ -s "$CONF" ]] && live_pid slurmctld >/dev/null; then
    # Cancel this cluster's jobs so that no slurmstepd outlives the daemons.
    local jobs
    jobs="$(SLURM_CONF="$CONF" squeue -h -o %A 2>/dev/null | sort -u | tr '\n' ' ' || true)"
    if [[ -n "${jobs// /}" ]]; then
      # shellcheck disable=SC2086
      SLURM_CONF="$CONF" scancel $jobs 2>/dev/null || true
      for _ in $(seq 50); do
        [[ -z "$(SLURM_CONF="$CONF" squeue -h -t R,CG -o %A 2>/dev/null)" ]] && break
        sleep 0.2
      done
    fi
  fi
  local name pid
  for name in "${PIDS[@]}"; do
    pid="$(live_pid "$name")" || continue
    kill "$pid" 2>/dev/null || true
    for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.2; done
    kill -0 "$pid" 2>/dev/null && kill -9 "$pid" 2>/dev/null
    log "stopped $name ($pid)"
  done
  rm -f "$(pidfile slurmd)" "$(pidfile slurmctld)" "$(pidfile munged)"
}

cmd_status() {
  local name pid rc=0
  for name in munged slurmctld slurmd; do
    if pid="$(live_pid "$name")"; then echo "$name running (pid $pid)"; else echo "$name stopped"; rc=1; fi
  done
  ((rc == 0)) && SLURM_CONF="$CONF" sinfo
  return $rc
}

cmd_env() { echo "export SLURM_CONF=$CONF"; }

case "$CMD" in
  start) cmd_start ;;
  stop) cmd_stop ;;
  status) cmd_status ;;
  env) cmd_env ;;
  *) die "unknown command '${CMD}'; use start|stop|status|env [STATE_DIR]" 2 ;;
esac
