"""A real Slurm on this host for the launcher tests: one slurmctld and four logical nodes
(one slurmd each, own port), everything it writes under one folder.

Nodes and partitions, CPU counts as the host has them:
- `cpu`  (default): c1, c2, no GPUs (a CPU-only partition; --gpus is refused there);
- `gpu4`: g4 with 4 GPUs, `gpu8`: g8 with 8 GPUs. The GPUs are gres entries backed by
  plain files (`SlurmdParameters=config_overrides` lets a node declare what it lacks), so
  GPU requests are scheduled and checked as on a GPU cluster; nothing runs on a GPU.

munged is the host's (socket /run/munge); it is started when none answers and stopped
again at the end only if this module started it.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

NODES = {"c1": 0, "c2": 0, "g4": 4, "g8": 8}  # logical node -> fake GPUs
PARTITIONS = {"cpu": ["c1", "c2"], "gpu4": ["g4"], "gpu8": ["g8"]}
MUNGE_DIR = Path("/run/munge")


class SlurmUnavailable(Exception):
    """Slurm is not installed here or its daemons would not start (the reason)."""


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _run(*command: str, env: dict[str, str] | None = None,
         timeout: float = 30) -> subprocess.CompletedProcess:
    return subprocess.run(command, env=env, capture_output=True, text=True, timeout=timeout)


def _munge_answers() -> bool:
    if not shutil.which("munge"):
        return False
    try:
        return _run("munge", "-n").returncode == 0
    except (subprocess.TimeoutExpired, OSError):
        return False


def _start_munged() -> int | None:
    """The pid of a munged started here, or None when one already answers."""
    if _munge_answers():
        return None
    if os.geteuid() != 0:
        raise SlurmUnavailable("munged is not running and starting it needs root")
    for command in (["install", "-d", "-o", "munge", "-g", "munge", "-m", "755", str(MUNGE_DIR)],
                    ["runuser", "-u", "munge", "--", "munged"]):
        result = _run(*command)
        if result.returncode != 0:
            raise SlurmUnavailable(f"{' '.join(command)}: {result.stderr.strip()}")
    for _ in range(50):
        if _munge_answers():
            pid_file = MUNGE_DIR / "munged.pid"
            return int(pid_file.read_text()) if pid_file.is_file() else None
        time.sleep(0.1)
    raise SlurmUnavailable("munged started but does not answer `munge -n`")


def write_config(folder: Path, cpus: int) -> Path:
    """slurm.conf and gres.conf for the nodes above, under `folder`; returns slurm.conf."""
    state, spool, logs = folder / "state", folder / "spool", folder / "log"
    for path in (state, spool, logs):
        path.mkdir(parents=True, exist_ok=True)
    lines = [
        "ClusterName=cotpdtest",
        "SlurmctldHost=localhost(127.0.0.1)",
        f"SlurmctldPort={_free_port()}",
        "SlurmUser=root",
        "AuthType=auth/munge",
        f"StateSaveLocation={state}",
        f"SlurmdSpoolDir={spool}/%n",
        f"SlurmctldPidFile={folder}/slurmctld.pid",
        f"SlurmdPidFile={folder}/slurmd.%n.pid",
        f"SlurmctldLogFile={logs}/slurmctld.log",
        f"SlurmdLogFile={logs}/slurmd.%n.log",
        "ProctrackType=proctrack/linuxproc",
        "TaskPlugin=task/none",
        "SelectType=select/cons_tres",
        "SelectTypeParameters=CR_Core",
        "SchedulerType=sched/backfill",
        "SchedulerParameters=sched_interval=1",
        "AccountingStorageType=accounting_storage/none",
        "JobAcctGatherType=jobacct_gather/none",
        "JobCompType=jobcomp/none",
        "MpiDefault=none",
        "ReturnToService=2",
        "SlurmdParameters=config_overrides",
        "GresTypes=gpu",
        "MinJobAge=300",
        "MailProg=/bin/true",
        "KillWait=5",
        "InactiveLimit=0",
        "SlurmctldTimeout=30",
        "SlurmdTimeout=60",
    ]
    gres = []
    for name, gpus in NODES.items():
        devices = ""
        if gpus:
            files = [folder / "gpus" / f"{name}-{i}" for i in range(gpus)]
            files[0].parent.mkdir(exist_ok=True)
            for file in files:
                file.touch()
            gres.append(f"NodeName={name} Name=gpu File={folder / 'gpus'}/{name}-[0-{gpus - 1}]")
            devices = f" Gres=gpu:{gpus}"
        lines.append(f"NodeName={name} NodeAddr=127.0.0.1 NodeHostname=localhost "
                     f"Port={_free_port()} CPUs={cpus} RealMemory=1000{devices} State=UNKNOWN")
    for index, (partition, nodes) in enumerate(PARTITIONS.items()):
        default = "YES" if index == 0 else "NO"
        lines.append(f"PartitionName={partition} Nodes={','.join(nodes)} Default={default} "
                     "MaxTime=INFINITE State=UP")
    conf = folder / "slurm.conf"
    conf.write_text("\n".join(lines) + "\n")
    (folder / "gres.conf").write_text("\n".join(gres) + "\n")
    return conf


class SlurmCluster:
    """The running daemons; `env` is what a client (sbatch, squeue) needs."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.conf = write_config(folder, os.cpu_count() or 1)
        self.env = {**os.environ, "SLURM_CONF": str(self.conf)}
        self._daemons: list[subprocess.Popen] = []
        self._munged: int | None = None

    def start(self, timeout_s: float = 60) -> None:
        for program in ("slurmctld", "slurmd", "sbatch", "munged"):
            if not shutil.which(program):
                raise SlurmUnavailable(f"{program} is not installed "
                                       "(bash scripts/setup.sh slurm installs Slurm)")
        if os.geteuid() != 0:
            raise SlurmUnavailable("the one-host Slurm runs slurmd as root; this is not root")
        self._munged = _start_munged()
        log = self.folder / "log"
        # -D: in the foreground, so the Popen is the daemon and stopping it is exact.
        self._spawn(["slurmctld", "-D", "-c", "-i", "-f", str(self.conf)], log / "slurmctld.out")
        for name in NODES:
            self._spawn(["slurmd", "-D", "-N", name, "-f", str(self.conf)],
                        log / f"slurmd.{name}.out")
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            for daemon in self._daemons:
                if daemon.poll() is not None:
                    raise SlurmUnavailable(f"{' '.join(daemon.args[:1])} exited "
                                           f"({daemon.returncode}); see {log}")
            if self.idle_nodes() == set(NODES):
                return
            time.sleep(0.5)
        raise SlurmUnavailable(f"the nodes are not idle after {timeout_s:.0f} s "
                               f"({self.sinfo()}); see {log}")

    def _spawn(self, command: list[str], output: Path) -> None:
        with open(output, "w") as out:  # the daemon keeps its own copy of the descriptor
            self._daemons.append(subprocess.Popen(command, env=self.env, stdout=out,
                                                  stderr=subprocess.STDOUT))

    def sinfo(self) -> str:
        return self.run("sinfo", "-h", "-N", "-o", "%N %T").stdout.strip()

    def idle_nodes(self) -> set[str]:
        result = self.run("sinfo", "-h", "-N", "-o", "%N %T")
        if result.returncode != 0:
            return set()
        return {line.split()[0] for line in result.stdout.splitlines()
                if line.split()[1] == "idle"}

    def run(self, *command: str, env: dict[str, str] | None = None,
            timeout: float = 60) -> subprocess.CompletedProcess:
        return _run(*command, env={**self.env, **(env or {})}, timeout=timeout)

    def queue(self) -> list[str]:
        """Ids of the jobs still pending or running."""
        result = self.run("squeue", "-h", "-o", "%i")
        return result.stdout.split()

    def job(self, job_id: str) -> dict[str, str]:
        """`scontrol show job` as key -> value (JobState, ExitCode, Reason, RunTime...)."""
        result = self.run("scontrol", "-o", "show", "job", job_id)
        fields = {}
        for item in result.stdout.split():
            key, _, value = item.partition("=")
            fields[key] = value
        return fields

    def wait(self, job_ids: list[str], timeout_s: float) -> dict[str, dict[str, str]]:
        """Wait until none of `job_ids` is pending or running; their final records."""
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if not set(job_ids) & set(self.queue()):
                break
            time.sleep(1)
        return {job_id: self.job(job_id) for job_id in job_ids}

    def cancel_all(self) -> None:
        jobs = self.queue()
        if jobs:
            self.run("scancel", *jobs)
            self.wait(jobs, 30)

    def stop(self) -> None:
        with contextlib.suppress(Exception):
            self.cancel_all()
        for daemon in reversed(self._daemons):
            daemon.terminate()
        for daemon in reversed(self._daemons):
            try:
                daemon.wait(20)
            except subprocess.TimeoutExpired:
                daemon.kill()
                daemon.wait(5)
        self._daemons.clear()
        if self._munged is not None:
            with contextlib.suppress(ProcessLookupError):
                os.kill(self._munged, 15)
            self._munged = None


@contextlib.contextmanager
def slurm_cluster(folder: Path) -> Iterator[SlurmCluster]:
    cluster = SlurmCluster(folder)
    try:
        cluster.start()
        yield cluster
    finally:
        cluster.stop()
