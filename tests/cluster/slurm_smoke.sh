#!/usr/bin/env bash
# A one-node SLURM cluster on this machine, and the tiny experiment run through it with the
# shipped profile (profiles/slurm), changed only in its SITE BLOCK.
#
#   tests/cluster/slurm_smoke.sh                          --gres, select/cons_tres
#   tests/cluster/slurm_smoke.sh --gpus                   GPU requests as --gpus=1
#   tests/cluster/slurm_smoke.sh --select cons_res        the older SelectType (use --gres)
#   tests/cluster/slurm_smoke.sh --kill-rerun             Ctrl-C the run while it trains,
#                                                         then rerun the same command
#                                   (SIGINT cancels the run's jobs; SIGTERM lets running jobs
#                                   finish and submits no more)
#   tests/cluster/slurm_smoke.sh --kill-rerun --kill-at export --kill-signal TERM
#   tests/cluster/slurm_smoke.sh --kill-rerun --kill-signal KILL
#                                   kill -9 instead: cancel the orphaned jobs, --unlock, rerun
#
# What it does (idempotent; run as root on Debian/Ubuntu):
#  1. installs slurmctld, slurmd, munge and the SLURM client with apt-get if they are missing;
#  2. writes a private slurm.conf/gres.conf under the work folder (default
#     /tmp/mec-slurm-smoke, or $MEC_SLURM_SMOKE_DIR): one node with this machine's CPUs, a
#     GPU declared on a dummy device file, partitions "cpu" (default) and "gpu", no
#     accounting database; its own munge key and socket and its own ports (16817/16818),
#     so it leaves any system munge alone. Job steps (srun inside a job) read SLURM's
#     default /etc/slurm/slurm.conf, so a copy goes there while the cluster runs; the script
#     stops if that file exists and is not its own (a machine that is part of a real cluster);
#  3. starts munged, slurmctld and slurmd and waits until the node is idle;
#  4. copies profiles/slurm/config.yaml, changes values inside its SITE BLOCK only (and
#     checks that nothing outside changed), and runs
#        snakemake --profile <copy> --configfile tests/data/tiny.yaml
#     in a fresh folder (with SLURM_CONF pointing at the private cluster);
#  5. checks that every job except the local `all` went through sbatch and is COMPLETED, that
#     GPU rules ran in partition gpu with a GPU visible and the others in cpu without one,
#     and that each job's log header names its SLURM job id and its thread budget;
#  6. stops the daemons it started, by their PIDs, after cancelling leftover test jobs.
#
# Options: --gres | --gpus, --select cons_tres|cons_res, --kill-rerun [--kill-signal
# INT|TERM|KILL] [--kill-at train|export] (when train_model's or export_ratemaps' job is
# running), --workdir DIR, --python PATH (default: .venv/bin/python of the repository, else
# python3). Exit status 0 when every check passed. Takes 5-7 minutes on 2 cores (most of
# it the executor's status polling), twice that with --kill-rerun.
set -euo pipefail

REPO=$(cd "$(dirname "$0")/../.." && pwd)
GPU_STYLE=gres
SELECT=cons_tres
KILL_RERUN=0
KILL_SIGNAL=INT
KILL_AT=train
WORK=${MEC_SLURM_SMOKE_DIR:-/tmp/mec-slurm-smoke}
PY=${PYTHON:-}
CTLD_PORT=${MEC_SLURM_SMOKE_CTLD_PORT:-16817}
SLURMD_PORT=${MEC_SLURM_SMOKE_SLURMD_PORT:-16818}

while [ $# -gt 0 ]; do
    case "$1" in
        --gres) GPU_STYLE=gres ;;
        --gpus) GPU_STYLE=gpus ;;
        --select) SELECT=${2:?--select needs cons_tres or cons_res}; shift ;;
        --kill-rerun) KILL_RERUN=1 ;;
        --kill-signal) KILL_SIGNAL=${2:?--kill-signal needs INT, TERM or KILL}; shift ;;
        --kill-at) KILL_AT=${2:?--kill-at needs train or export}; shift ;;
        --workdir) WORK=${2:?--workdir needs a folder}; shift ;;
        --python) PY=${2:?--python needs a path}; shift ;;
        -h|--help) sed -n '2,39p' "$0"; exit 0 ;;
        *) echo "slurm_smoke: unknown option $1 (see --help)" >&2; exit 2 ;;
    esac
    shift
done
case "$SELECT" in cons_tres|cons_res) ;; *)
    echo "slurm_smoke: --select $SELECT: use cons_tres or cons_res" >&2; exit 2 ;; esac
case "$KILL_SIGNAL" in INT|TERM|KILL) ;; *)
    echo "slurm_smoke: --kill-signal $KILL_SIGNAL: use INT, TERM or KILL" >&2; exit 2 ;; esac
case "$KILL_AT" in train) KILL_RULE=train_model ;; export) KILL_RULE=export_ratemaps ;; *)
    echo "slurm_smoke: --kill-at $KILL_AT: use train or export" >&2; exit 2 ;; esac
if [ -z "$PY" ]; then
    if [ -x "$REPO/.venv/bin/python" ]; then PY=$REPO/.venv/bin/python; else PY=$(command -v python3); fi
fi

log() { printf '[slurm_smoke %s] %s\n' "$(date +%H:%M:%S)" "$*"; }
die() { log "FAIL: $*"; exit 1; }
T0=$(date +%s)

# ---- 1. packages ------------------------------------------------------------------
export PATH=$PATH:/usr/sbin:/sbin
missing=()
for bin in slurmctld slurmd munged mungekey sbatch squeue scontrol; do
    command -v "$bin" >/dev/null 2>&1 || missing+=("$bin")
done
if [ ${#missing[@]} -gt 0 ]; then
    [ "$(id -u)" = 0 ] || die "missing ${missing[*]}; run as root to install them with apt-get"
    log "installing slurmctld slurmd munge slurm-client (missing: ${missing[*]})"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq slurmctld slurmd munge slurm-client >/dev/null
fi
[ "$(id -u)" = 0 ] || die "slurmd must run as root: run this script as root"
log "$(slurmctld -V), python $PY, SelectType select/$SELECT, GPU requests --$GPU_STYLE"

# ---- daemons of an earlier run of this script -----------------------------------------
PIDS=$WORK/pids
stop_daemons() {
    [ -d "$PIDS" ] || return 0
    if [ -f "$PIDS/slurmctld" ] && kill -0 "$(cat "$PIDS/slurmctld")" 2>/dev/null; then
        # cancel what is left of the test jobs, so that no slurmstepd outlives slurmd
        local left
        left=$(SLURM_CONF=$WORK/etc/slurm.conf squeue -h -o %i 2>/dev/null | tr '\n' ' ' || true)
        if [ -n "${left// /}" ]; then
            log "cancelling leftover test jobs: $left"
            SLURM_CONF=$WORK/etc/slurm.conf scancel $left 2>/dev/null || true
            for _ in $(seq 30); do
                [ -z "$(SLURM_CONF=$WORK/etc/slurm.conf squeue -h -o %i -t R,CG,PD 2>/dev/null)" ] && break
                sleep 1
            done
        fi
    fi
    local d pid
    for d in slurmd slurmctld munged; do
        [ -f "$PIDS/$d" ] || continue
        pid=$(cat "$PIDS/$d")
        # only a process this script started: its command line names the work folder
        if kill -0 "$pid" 2>/dev/null && tr '\0' ' ' <"/proc/$pid/cmdline" | grep -q -- "$WORK"; then
            kill "$pid" 2>/dev/null || true
            for _ in $(seq 20); do kill -0 "$pid" 2>/dev/null || break; sleep 0.5; done
            kill -0 "$pid" 2>/dev/null && kill -9 "$pid" 2>/dev/null || true
        fi
        rm -f "$PIDS/$d"
    done
}
stop_daemons
remove_sysconf() {
    if [ -f /etc/slurm/slurm.conf ] && head -1 /etc/slurm/slurm.conf | grep -qF "# written by tests/cluster/slurm_smoke.sh"; then
        rm -f /etc/slurm/slurm.conf
    fi
}
smk_pid=""
stop_run() {  # a background run this script started and left running (after a failure)
    if [ -n "$smk_pid" ] && kill -0 "$smk_pid" 2>/dev/null; then
        kill -TERM "$smk_pid" 2>/dev/null || true
        for _ in $(seq 30); do kill -0 "$smk_pid" 2>/dev/null || break; sleep 1; done
        kill -KILL "$smk_pid" 2>/dev/null || true
    fi
}
trap 'rc=$?; stop_run; stop_daemons; remove_sysconf; log "daemons stopped"; exit $rc' EXIT

# ---- 2. configuration ------------------------------------------------------------------
rm -rf "$WORK/etc" "$WORK/state" "$WORK/spool" "$WORK/log" "$WORK/munge" "$WORK/dev"
mkdir -p "$WORK"/{etc,state,spool,log,dev,pids} "$WORK/munge"
chmod 700 "$WORK/munge"
NODE=$(hostname -s)
CPUS=$(nproc)
MEM_MB=$(awk '/^MemTotal/ {print int($2 / 1024)}' /proc/meminfo)
NODE_MEM=$(( MEM_MB * 8 / 10 < 16000 ? MEM_MB * 8 / 10 : 16000 ))
# the dummy GPU: a character device (that of /dev/null), else a plain file (slurmd then logs
# "not a valid character or block device" and still counts the GPU)
mknod "$WORK/dev/nvidia0" c 1 3 2>/dev/null || : >"$WORK/dev/nvidia0"
# SLURM's default location: job steps find it there (the executor's job step drops
# SLURM_CONF from the environment of its srun). Written only where none exists, removed on exit.
SYSCONF=/etc/slurm/slurm.conf
MARK="# written by tests/cluster/slurm_smoke.sh"
if [ -e "$SYSCONF" ] && ! head -1 "$SYSCONF" | grep -qF "$MARK"; then
    die "$SYSCONF exists: this machine has its own SLURM configuration; run the harness on a machine without one"
fi
CONF=$WORK/etc/slurm.conf
cat >"$CONF" <<EOF
$MARK: a one-node test cluster, no accounting database
ClusterName=mecsmoke
SlurmctldHost=$NODE(127.0.0.1)
SlurmctldPort=$CTLD_PORT
SlurmdPort=$SLURMD_PORT
AuthType=auth/munge
AuthInfo=socket=$WORK/munge/munge.socket
SlurmUser=root
SlurmdUser=root
StateSaveLocation=$WORK/state
SlurmdSpoolDir=$WORK/spool
SlurmctldPidFile=$WORK/state/slurmctld.pid
SlurmdPidFile=$WORK/spool/slurmd.pid
SlurmctldLogFile=$WORK/log/slurmctld.log
SlurmdLogFile=$WORK/log/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
MpiDefault=none
SchedulerType=sched/backfill
SelectType=select/$SELECT
SelectTypeParameters=CR_Core_Memory
GresTypes=gpu
AccountingStorageType=accounting_storage/none
JobAcctGatherType=jobacct_gather/none
JobCompType=jobcomp/none
# finished jobs stay visible to squeue for an hour, so the checks below can see all of them
MinJobAge=3600
ReturnToService=2
KillWait=10
NodeName=$NODE NodeAddr=127.0.0.1 CPUs=$CPUS RealMemory=$NODE_MEM Gres=gpu:1 State=UNKNOWN
PartitionName=cpu Nodes=$NODE Default=YES MaxTime=INFINITE State=UP
PartitionName=gpu Nodes=$NODE MaxTime=INFINITE State=UP
EOF
cat >"$WORK/etc/gres.conf" <<EOF
NodeName=$NODE Name=gpu File=$WORK/dev/nvidia0
EOF
mkdir -p /etc/slurm
cp "$CONF" "$SYSCONF"
export SLURM_CONF=$CONF

# ---- 3. daemons ------------------------------------------------------------------------
mungekey --create --keyfile="$WORK/munge/munge.key" --force >/dev/null 2>&1 \
    || dd if=/dev/urandom of="$WORK/munge/munge.key" bs=1024 count=1 status=none
chmod 600 "$WORK/munge/munge.key"
munged --foreground --force --socket="$WORK/munge/munge.socket" \
    --key-file="$WORK/munge/munge.key" --pid-file="$WORK/munge/munged.pid" \
    --log-file="$WORK/log/munged.log" --seed-file="$WORK/munge/munged.seed" \
    >>"$WORK/log/munged.out" 2>&1 &
echo $! >"$PIDS/munged"
for _ in $(seq 20); do [ -S "$WORK/munge/munge.socket" ] && break; sleep 0.5; done
[ -S "$WORK/munge/munge.socket" ] || die "munged did not start: $(tail -5 "$WORK/log/munged.out" "$WORK/log/munged.log" 2>/dev/null)"
slurmctld -D -f "$CONF" >>"$WORK/log/slurmctld.out" 2>&1 &
echo $! >"$PIDS/slurmctld"
sleep 2
slurmd -D -f "$CONF" -N "$NODE" >>"$WORK/log/slurmd.out" 2>&1 &
echo $! >"$PIDS/slurmd"
state=""
for _ in $(seq 60); do
    state=$(sinfo -h -N -n "$NODE" -o %t 2>/dev/null | head -1 || true)
    case "$state" in idle) break ;; esac
    sleep 1
done
[ "$state" = idle ] || die "node $NODE is '${state:-unreachable}', not idle: $(scontrol show node "$NODE" 2>&1 | grep -E 'State|Reason' | tr -s ' ')
$(tail -5 "$WORK/log/slurmctld.log" "$WORK/log/slurmd.log" 2>/dev/null)"
log "cluster up: node $NODE ($CPUS CPUs, ${NODE_MEM} MB, $(sinfo -h -N -o %G | head -1)), partitions $(sinfo -h -o %P | tr '\n' ' ')"

# ---- 4. the profile, changed in its site block only ------------------------------------
PROFILE=$WORK/profile
mkdir -p "$PROFILE"
"$PY" - "$REPO/profiles/slurm/config.yaml" "$PROFILE/config.yaml" "$GPU_STYLE" <<'EOF'
import re, sys
src, dst, style = sys.argv[1:]
text = open(src).read()
start, end = text.index("# >>> SITE BLOCK"), text.index("# <<< SITE BLOCK")
site = text[start:end]
# The test cluster: partitions "cpu" and "gpu", 2 CPUs, no accounting (so no account).
values = {"account": '""', "cpu_partition": '"cpu"', "gpu_partition": '"gpu"',
          "gpu_request": f'"{style}"', "status_command": '"squeue"', "cpu_mem_mb": "1000",
          "gpu_mem_mb": "3000", "gpu_threads": "2"}
for key, value in values.items():
    site, n = re.subn(rf"^(\s+{key}=)[^,\n]*,", rf"\g<1>{value},", site, count=1, flags=re.M)
    if n != 1:
        sys.exit(f"site block of {src} has no line '{key}=...,'")
new = text[:start] + site + text[end:]
assert new[:start] == text[:start] and new[start + len(site):] == text[end:]
open(dst, "w").write(new)
EOF
diff -u "$REPO/profiles/slurm/config.yaml" "$PROFILE/config.yaml" | grep '^[-+] ' | sed 's/^/    site block: /' || true
# nothing outside the SITE BLOCK may differ
"$PY" - "$REPO/profiles/slurm/config.yaml" "$PROFILE/config.yaml" <<'EOF'
import sys
a, b = (open(p).read() for p in sys.argv[1:])
cut = lambda t: t[:t.index("# >>> SITE BLOCK")] + t[t.index("# <<< SITE BLOCK"):]
sys.exit(0 if cut(a) == cut(b) else "the profile copy differs outside its SITE BLOCK")
EOF

# ---- 5. the run ------------------------------------------------------------------------
RUN=$WORK/run
rm -rf "$RUN"
mkdir -p "$RUN"
SMK=("$PY" -m snakemake -s "$REPO/Snakefile" --profile "$PROFILE"
     --configfile "$REPO/tests/data/tiny.yaml" --directory "$RUN")
export PYTHONPATH=$REPO${PYTHONPATH:+:$PYTHONPATH}
log "run: snakemake --profile <site copy> --configfile tests/data/tiny.yaml"

if [ "$KILL_RERUN" = 1 ]; then
    # Start, wait until the job of $KILL_RULE runs, then signal the run's process group, as
    # Ctrl-C does (train: while TensorFlow starts or trains; the rerun trains again or resumes
    # from a checkpoint). Job control (set -m) gives the background run
    # its own process group and keeps SIGINT from being ignored, as it is for background
    # commands of a script.
    set -m
    "${SMK[@]}" >"$WORK/log/snakemake_killed.log" 2>&1 &
    smk_pid=$!
    set +m
    killed_at=""
    for _ in $(seq 1800); do
        kill -0 "$smk_pid" 2>/dev/null || break
        if squeue -h -t R -o %k 2>/dev/null | grep -q "^rule_${KILL_RULE}"; then
            killed_at=$(squeue -h -t R -o '%i %k' | tr '\n' ';')
            kill -"$KILL_SIGNAL" -- "-$smk_pid"
            break
        fi
        sleep 0.5
    done
    [ -n "$killed_at" ] || die "the run ended before it could be interrupted: $(tail -5 "$WORK/log/snakemake_killed.log")"
    log "sent SIG$KILL_SIGNAL to snakemake while these SLURM jobs ran: $killed_at"
    for _ in $(seq 120); do kill -0 "$smk_pid" 2>/dev/null || break; sleep 1; done
    kill -0 "$smk_pid" 2>/dev/null && die "snakemake still running 120 s after SIG$KILL_SIGNAL"
    wait "$smk_pid" && rc=0 || rc=$?
    sleep 2
    active=$(squeue -h -t PD,R,CG -o '%i %k' | tr '\n' ';')
    log "interrupted run exited with $rc; test jobs still queued or running: ${active:-none}"
    if [ "$KILL_SIGNAL" = KILL ]; then
        # Snakemake had no chance to cancel its jobs or release its lock: the README's
        # recovery, cancel the run's jobs (named after its run id), --unlock, same command.
        if [ -n "$(ls -A "$RUN/.snakemake/locks" 2>/dev/null)" ]; then
            log "as documented, the killed run left its lock behind (.snakemake/locks)"
        fi
        if [ -n "$active" ]; then
            scancel $(squeue -h -t PD,R,CG -o %i)
            log "cancelled the orphaned jobs"
        fi
        "${SMK[@]}" --unlock >"$WORK/log/snakemake_unlock.log" 2>&1 \
            || die "snakemake --unlock failed: $(tail -5 "$WORK/log/snakemake_unlock.log")"
        log "snakemake --unlock: $(grep -m1 -i unlock "$WORK/log/snakemake_unlock.log" || echo done)"
    else
        [ -z "$active" ] || die "jobs left behind by the interrupted run: $active"
    fi
    log "rerun with the same command"
fi

set +e
"${SMK[@]}" >"$WORK/log/snakemake.log" 2>&1
rc=$?
set -e
grep -E "steps \([0-9]+%\) done|Error|error:|Exception" "$WORK/log/snakemake.log" | tail -4 | sed 's/^/    /'
[ "$rc" = 0 ] || die "snakemake exited with $rc; see $WORK/log/snakemake.log:
$(tail -30 "$WORK/log/snakemake.log")"

# ---- 6. checks -------------------------------------------------------------------------
squeue -h --states=all -o '%i|%T|%P|%k|%C|%N' >"$WORK/log/squeue_all.txt"
# GPU requests: --gres and --gpus land in TresPerNode or TresPerJob
squeue -h --states=all -O 'JobID:|,tres-per-job:|,tres-per-node:|' >"$WORK/log/squeue_tres.txt"
{ [ -f "$WORK/log/snakemake_killed.log" ] && cat "$WORK/log/snakemake_killed.log"
  cat "$WORK/log/snakemake.log"; } | { grep -oE "submitted with SLURM jobid [0-9_]+" || true; } \
    | awk '{print $NF}' >"$WORK/log/submitted.txt"
"$PY" - "$WORK" "$RUN" <<'EOF'
import re, sys
from pathlib import Path
from mec.summary.executors import executor_table

work, run = Path(sys.argv[1]), Path(sys.argv[2])
GPU_RULES = {"train_model", "export_ratemaps", "knockouts"}
tres = {}
for line in (work / "log" / "squeue_tres.txt").read_text().splitlines():
    jid, per_job, per_node = line.split("|")[:3]
    tres[jid.strip()] = ",".join(t.strip() for t in (per_job, per_node) if t.strip() != "N/A")
jobs = {}
for line in (work / "log" / "squeue_all.txt").read_text().splitlines():
    jid, state, part, comment, cpus, node = line.split("|")
    rule = re.sub(r"^rule_", "", comment).split("_wildcards_")[0]
    jobs[jid] = dict(state=state, partition=part, rule=rule, tres=tres.get(jid, ""), cpus=cpus,
                     node=node)
submitted = (work / "log" / "submitted.txt").read_text().split()
problems = []
print(f"    {'job':>5} {'rule':<18} {'partition':<9} {'cpus':>4} {'gres':<14} state")
for jid in submitted:
    j = jobs.get(jid)
    if j is None:
        problems.append(f"SLURM job {jid} (submitted) is unknown to squeue --states=all")
        continue
    print(f"    {jid:>5} {j['rule']:<18} {j['partition']:<9} {j['cpus']:>4} {j['tres'][:14]:<14} {j['state']}")
    gpu_rule = j["rule"] in GPU_RULES
    want = "gpu" if gpu_rule else "cpu"
    if j["partition"] != want:
        problems.append(f"job {jid} ({j['rule']}) ran in partition {j['partition']}, not {want}")
    if gpu_rule != ("gpu" in j["tres"]):
        problems.append(f"job {jid} ({j['rule']}) GPU request {j['tres']!r} does not match the rule")
# The last run's jobs must all be COMPLETED (an interrupted run's cancelled ones may not).
last = [l for l in (work / "log" / "snakemake.log").read_text().splitlines()]
last_ids = re.findall(r"submitted with SLURM jobid ([0-9_]+)", "\n".join(last))
bad = [f"{i} ({jobs.get(i, {}).get('rule')}: {jobs.get(i, {}).get('state')})" for i in last_ids
       if jobs.get(i, {}).get("state") != "COMPLETED"]
if bad:
    problems.append(f"jobs of the final run not COMPLETED: {bad}")
steps = re.findall(r"(\d+) of (\d+) steps \(100%\) done", "\n".join(last))
# Every job's log: run under SLURM, by a submitted job that COMPLETED, with its threads.
table = executor_table(run / "results" / "logs")
for r in table.itertuples():
    where = f"log {r.rule}/{r.job}"
    if r.executor != "slurm":
        problems.append(f"{where}: executor {r.executor!r}, not slurm")
        continue
    if r.slurm_job_id not in submitted:
        problems.append(f"{where}: SLURM job {r.slurm_job_id} was not submitted by this workflow")
    elif jobs.get(r.slurm_job_id, {}).get("state") != "COMPLETED":
        problems.append(f"{where}: its job {r.slurm_job_id} is {jobs.get(r.slurm_job_id, {}).get('state')}")
    threads = "2" if r.rule in GPU_RULES else "1"
    if r.threads != threads or r.slurm_cpus_per_task not in (threads, ""):
        problems.append(f"{where}: threads {r.threads!r} / SLURM CPUs {r.slurm_cpus_per_task!r}, "
                        f"expected {threads}")
    if (r.rule in GPU_RULES) != (r.gpus not in ("-", "")):
        problems.append(f"{where}: GPUs visible {r.gpus!r} (rule needs one: {r.rule in GPU_RULES})")
n_logs = len(table)
print(f"    {len(submitted)} sbatch submissions, {n_logs} job logs, all from SLURM jobs: "
      f"{(table['executor'] == 'slurm').all() if n_logs else False}")
if steps:
    done, total = map(int, steps[-1])
    # every job but the local target rule `all` went through sbatch in the final run
    if len(last_ids) != total - 1:
        problems.append(f"final run: {len(last_ids)} sbatch submissions for {total} steps "
                        "(expected all but `all`)")
    print(f"    final run: {total} steps, {len(last_ids)} through sbatch, all COMPLETED: {not bad}")
else:
    problems.append("final run: no 'N of N steps (100%) done' line")
for p in problems:
    print(f"    PROBLEM: {p}")
sys.exit(1 if problems else 0)
EOF
log "PASS in $(( $(date +%s) - T0 )) s: select/$SELECT, --$GPU_STYLE$([ "$KILL_RERUN" = 1 ] && echo ', interrupted and rerun')"
