#!/usr/bin/env bash
# Start a one-node Slurm cluster on this machine: munged, slurmctld and
# slurmd, from Debian's packages (installed when missing), for aframe's
# Slurm tests and for trying `workflow = slurm` without a real cluster.
#
#   cluster/start-slurm.sh          # then: export SLURM_CONF=<printed path>
#   cluster/stop-slurm.sh           # stops what this script started
#
# Idempotent: a cluster it started that still runs is left as it is.  It
# writes its own slurm.conf under $AFRAME_SLURM_CLUSTER_DIR (default
# /tmp/aframe-slurm) and never touches /etc/slurm, so a real cluster's
# configuration on the same machine is left alone; clients find the
# cluster through SLURM_CONF.  The daemons it starts are recorded in
# $AFRAME_SLURM_CLUSTER_DIR/pids/, which cluster/stop-slurm.sh reads.  Runs as
# root: slurmd starts jobs as their users, munged as the munge user.
set -euo pipefail

STATE="${AFRAME_SLURM_CLUSTER_DIR:-/tmp/aframe-slurm}"
CONF="$STATE/slurm.conf"
PIDS="$STATE/pids"
PARTITION="${AFRAME_SLURM_PARTITION:-debug}"
# seconds to wait for the node to become idle
WAIT="${AFRAME_SLURM_WAIT:-60}"

fail() {
    >&2 echo "start-slurm: $*"
    exit 1
}

# a pid runs when /proc has it and it is not a zombie: PID 1 on some
# machines does not reap, so `kill -0` would call a dead daemon alive
running() {
    local pid="$1" state
    [ -n "$pid" ] && [ -r "/proc/$pid/stat" ] || return 1
    state="$(sed -E 's/^[0-9]+ \(.*\) ([A-Za-z]).*/\1/' "/proc/$pid/stat")"
    [ "$state" != "Z" ] && [ "$state" != "X" ]
}

recorded_running() {
    local file="$PIDS/$1.pid"
    [ -f "$file" ] && running "$(cat "$file")"
}

[ "$(id -u)" = 0 ] || fail "must run as root (slurmd starts jobs as \
their users, munged runs as the munge user)"

missing=()
for command in munged slurmctld slurmd sbatch; do
    command -v "$command" >/dev/null 2>&1 || missing+=("$command")
done
if [ "${#missing[@]}" -gt 0 ]; then
    command -v apt-get >/dev/null 2>&1 \
        || fail "${missing[*]} not installed and no apt-get to install them"
    echo "start-slurm: installing slurmctld slurmd slurm-client munge"
    (apt-get update -qq \
        && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
            --no-install-recommends slurmctld slurmd slurm-client munge \
            >/dev/null) || fail "apt-get could not install Slurm and munge"
fi

mkdir -p "$STATE/ctld" "$STATE/slurmd" "$PIDS"
export SLURM_CONF="$CONF"

if recorded_running slurmctld && recorded_running slurmd \
    && sinfo -h -N -o '%t' 2>/dev/null | grep -qx 'idle\|mix\|alloc'; then
    echo "start-slurm: already running; export SLURM_CONF=$CONF"
    exit 0
fi

# ---------------------------------------------------------------- munge
# every Slurm message is signed by munged; one already running (the
# system's, or ours from before) is used as it is
if ! munge -n 2>/dev/null | unmunge >/dev/null 2>&1; then
    install -d -o munge -g munge -m 0755 /run/munge
    # munged refuses a key that others can read, or a directory it does
    # not own
    chown -R munge:munge /etc/munge /var/lib/munge /var/log/munge
    chmod 0700 /etc/munge
    [ -f /etc/munge/munge.key ] || fail "no /etc/munge/munge.key: \
reinstall munge (its postinst creates the key)"
    chmod 0600 /etc/munge/munge.key
    # a lock left by a munged that died would stop the new one
    rm -f /run/munge/munge.socket.2.lock /run/munge/munged.pid
    runuser -u munge -- munged \
        || fail "munged did not start: see /var/log/munge/munged.log"
    cp /run/munge/munged.pid "$PIDS/munged.pid"
    munge -n | unmunge >/dev/null \
        || fail "munged started but does not answer: see \
/var/log/munge/munged.log"
fi

# ----------------------------------------------------------- slurm.conf
host="$(hostname -s)"
# the node as slurmd sees it (CPUs, sockets, cores, memory)
node="$(slurmd -C | head -n 1)"
cat >"$CONF" <<EOF
# written by aframe's cluster/start-slurm.sh: a one-node cluster on
# localhost, without cgroups, systemd or an accounting database
ClusterName=aframe
SlurmctldHost=$host(127.0.0.1)
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
StateSaveLocation=$STATE/ctld
SlurmdSpoolDir=$STATE/slurmd
SlurmctldPidFile=$PIDS/slurmctld.pid
SlurmdPidFile=$PIDS/slurmd.pid
SlurmctldLogFile=$STATE/slurmctld.log
SlurmdLogFile=$STATE/slurmd.log
# no cgroups here: processes are tracked by parentage, and scancel still
# ends a job's children
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
MpiDefault=none
ReturnToService=2
# no slurmdbd: finished jobs stay in squeue --states=all for MinJobAge
# seconds, and every job's end is written to the completion log
AccountingStorageType=accounting_storage/none
JobCompType=jobcomp/filetxt
JobCompLoc=$STATE/jobcomp.log
MinJobAge=900
$node NodeAddr=127.0.0.1 State=UNKNOWN
PartitionName=$PARTITION Nodes=$host Default=YES MaxTime=INFINITE State=UP
EOF

# ------------------------------------------------------------- daemons
if ! recorded_running slurmctld; then
    rm -f "$PIDS/slurmctld.pid"
    slurmctld -f "$CONF" \
        || fail "slurmctld did not start: see $STATE/slurmctld.log"
fi
if ! recorded_running slurmd; then
    rm -f "$PIDS/slurmd.pid"
    slurmd -f "$CONF" || fail "slurmd did not start: see $STATE/slurmd.log"
fi

# the daemons fork before they write their pid files
for _ in $(seq 50); do
    recorded_running slurmctld && recorded_running slurmd && break
    sleep 0.1
done

deadline=$((SECONDS + WAIT))
until sinfo -h -N -o '%t' 2>/dev/null | grep -qx 'idle\|mix\|alloc'; do
    if [ "$SECONDS" -ge "$deadline" ]; then
        fail "the node is not idle after ${WAIT}s ($(sinfo -h -N \
-o '%t %E' 2>&1)): see $STATE/slurmctld.log and $STATE/slurmd.log"
    fi
    recorded_running slurmctld \
        || fail "slurmctld died: see $STATE/slurmctld.log"
    recorded_running slurmd || fail "slurmd died: see $STATE/slurmd.log"
    sleep 0.2
done
echo "start-slurm: node $host idle; export SLURM_CONF=$CONF"
