#!/usr/bin/env bash
# Stop the daemons cluster/start-slurm.sh started, and only those: the
# pids it recorded in $AFRAME_SLURM_CLUSTER_DIR/pids/.  A munged that was running
# before (the system's) is not in that list and keeps running.
set -euo pipefail

STATE="${AFRAME_SLURM_CLUSTER_DIR:-/tmp/aframe-slurm}"
PIDS="$STATE/pids"

# a zombie (PID 1 here does not reap) is a stopped daemon
running() {
    local pid="$1" state
    [ -r "/proc/$pid/stat" ] || return 1
    state="$(sed -E 's/^[0-9]+ \(.*\) ([A-Za-z]).*/\1/' "/proc/$pid/stat")"
    [ "$state" != "Z" ] && [ "$state" != "X" ]
}

# jobs first: slurmstepd would outlive slurmd and keep them running.
# Every job in this cluster's queue is one of its own (its slurm.conf is
# private to it)
if [ -f "$PIDS/slurmctld.pid" ] && running "$(cat "$PIDS/slurmctld.pid")"
then
    jobs="$(SLURM_CONF="$STATE/slurm.conf" squeue -h -o %i 2>/dev/null \
        || true)"
    if [ -n "$jobs" ]; then
        # shellcheck disable=SC2086 # one id a word
        SLURM_CONF="$STATE/slurm.conf" scancel $jobs || true
        for _ in $(seq 50); do
            [ -z "$(SLURM_CONF="$STATE/slurm.conf" squeue -h -o %i \
                2>/dev/null)" ] && break
            sleep 0.2
        done
    fi
fi

# then the daemons that run them, the accounting database after
# slurmdbd, and munged (which signs their messages) last
for name in slurmd slurmctld slurmdbd mariadbd munged; do
    file="$PIDS/$name.pid"
    [ -f "$file" ] || continue
    pid="$(cat "$file")"
    # a pid reused by another program since is not ours to end
    if running "$pid" && [ "$(cat "/proc/$pid/comm")" = "$name" ]; then
        kill -TERM "$pid"
        for _ in $(seq 100); do
            running "$pid" || break
            sleep 0.1
        done
        if running "$pid"; then
            >&2 echo "stop-slurm: $name ($pid) ignored SIGTERM for 10 s;" \
                "killing it"
            kill -KILL "$pid"
        fi
        echo "stop-slurm: stopped $name ($pid)"
    fi
    rm -f "$file"
done
