#!/usr/bin/env bash
# Start a one-node Slurm cluster on this machine: munged, slurmctld and
# slurmd, from Debian's packages (installed when missing), for aframe's
# Slurm tests and for trying `workflow = slurm` without a real cluster.
# With accounting (the default; AFRAME_SLURM_ACCOUNTING=0: none), also a
# MariaDB server and slurmdbd, so that sacct reads finished jobs from a
# real accounting database; where those cannot be installed or started,
# the cluster starts without, and says so.
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
ACCOUNTING="${AFRAME_SLURM_ACCOUNTING:-1}"
# the accounting database's port, on 127.0.0.1 only
DB_PORT="${AFRAME_SLURM_DB_PORT:-33061}"

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

# ----------------------------------------------------------- accounting
# MariaDB as the mysql user, its data and socket in $STATE, listening on
# 127.0.0.1 only; slurmdbd as root, its slurmdbd.conf beside slurm.conf
# (where slurmdbd looks for it, through SLURM_CONF)
install_accounting() {
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
        --no-install-recommends mariadb-server slurmdbd >/dev/null
}

start_accounting() {
    local missing=() data="$STATE/mysql-data" run="$STATE/mysql-run"
    for command in mariadbd mariadb-install-db slurmdbd; do
        command -v "$command" >/dev/null 2>&1 || missing+=("$command")
    done
    if [ "${#missing[@]}" -gt 0 ]; then
        command -v apt-get >/dev/null 2>&1 || return 1
        echo "start-slurm: installing mariadb-server slurmdbd"
        # the package lists first, where they are missing or stale
        install_accounting || (apt-get update -qq && install_accounting) \
            || return 1
    fi
    mkdir -p "$data" "$run"
    chown mysql:mysql "$data" "$run"
    if [ ! -d "$data/mysql" ]; then
        mariadb-install-db --user=mysql --datadir="$data" \
            --auth-root-authentication-method=socket --skip-test-db \
            >"$STATE/mariadb-install.log" 2>&1 || return 1
    fi
    if ! recorded_running mariadbd; then
        rm -f "$run/mariadbd.pid"
        # its log in its own folder: it runs as mysql
        mariadbd --user=mysql --datadir="$data" --bind-address=127.0.0.1 \
            --port="$DB_PORT" --socket="$run/mysqld.sock" \
            --pid-file="$run/mariadbd.pid" --log-error="$run/mariadb.log" \
            >/dev/null 2>&1 &
        for _ in $(seq 100); do
            mariadb -S "$run/mysqld.sock" -e "SELECT 1" >/dev/null 2>&1 \
                && break
            sleep 0.1
        done
        [ -f "$run/mariadbd.pid" ] || return 1
        cp "$run/mariadbd.pid" "$PIDS/mariadbd.pid"
    fi
    mariadb -S "$run/mysqld.sock" -e "CREATE DATABASE IF NOT EXISTS
        slurm_acct_db; CREATE USER IF NOT EXISTS 'slurm'@'localhost'
        IDENTIFIED BY 'aframe'; GRANT ALL ON slurm_acct_db.* TO
        'slurm'@'localhost';" || return 1
    # slurmdbd refuses a configuration others can read
    install -m 0600 /dev/null "$STATE/slurmdbd.conf"
    cat >"$STATE/slurmdbd.conf" <<DBD
# written by aframe's cluster/start-slurm.sh: the test cluster's
# accounting, in its own MariaDB
AuthType=auth/munge
DbdHost=localhost
DbdAddr=127.0.0.1
SlurmUser=root
PidFile=$PIDS/slurmdbd.pid
LogFile=$STATE/slurmdbd.log
StorageType=accounting_storage/mysql
StorageHost=127.0.0.1
StoragePort=$DB_PORT
StorageUser=slurm
StoragePass=aframe
StorageLoc=slurm_acct_db
DBD
    if ! recorded_running slurmdbd; then
        rm -f "$PIDS/slurmdbd.pid"
        slurmdbd || return 1
    fi
    # slurmctld needs slurmdbd answering (it writes its pid file before
    # it listens, on its default port, 6819)
    for _ in $(seq 100); do
        (: <>/dev/tcp/127.0.0.1/6819) 2>/dev/null && break
        sleep 0.1
    done
    recorded_running mariadbd && recorded_running slurmdbd
}

storage="AccountingStorageType=accounting_storage/none"
if [ "$ACCOUNTING" != 0 ]; then
    if start_accounting; then
        storage="AccountingStorageType=accounting_storage/slurmdbd
AccountingStorageHost=127.0.0.1"
    else
        >&2 echo "start-slurm: no accounting database (see" \
            "$STATE/mysql-run/mariadb.log and $STATE/slurmdbd.log):" \
            "starting without; sacct reads the job completion log"
    fi
fi

# ----------------------------------------------------------- slurm.conf
host="$(hostname -s)"
# the node as slurmd sees it (CPUs, sockets, cores, memory)
node="$(slurmd -C | head -n 1)"
cat >"$CONF" <<EOF
# written by aframe's cluster/start-slurm.sh: a one-node cluster on
# localhost, without cgroups or systemd
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
# finished jobs stay in squeue --states=all for MinJobAge seconds, and
# every job's end is written to the completion log; with slurmdbd, the
# accounting database has them too
$storage
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
