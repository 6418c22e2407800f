"""`make cluster`: a local Kubernetes for development, until Ctrl-C.

Builds the binaries if needed (scripts/k8s/build.sh), starts etcd, kube-apiserver and
kube-controller-manager (tests/support/kube/controlplane.py) and the pod runner that stands in for
a kubelet (tests/support/kube/podrunner.py), writes the admin kubeconfig to .dev/kubeconfig and
then the processes in EXTRA_PROCESSES, each with KUBECONFIG set. State lives in .dev/cluster/ and
is wiped on the next start; logs in .dev/cluster/*.log and .dev/cluster/pods/logs/.
"""

from __future__ import annotations

import logging
import os
import shutil
import signal
import subprocess
import sys
import threading
from dataclasses import dataclass, field
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO))

from tests.support.kube.controlplane import ControlPlane  # noqa: E402
from tests.support.kube.podrunner import PodRunner  # noqa: E402

DEV = REPO / ".dev"
log = logging.getLogger("cluster")


@dataclass(frozen=True)
class ExtraProcess:
    """A process started after the cluster is up (argv relative to the repo root), stopped first."""

    name: str
    argv: list[str]
    env: dict[str, str] = field(default_factory=dict)


# The hook for the rest of the stack (FerretDB, the API, the operator), e.g.
#   ExtraProcess("operator", [".venv/bin/kopf", "run", "--standalone", "-A", "-m", "trainyard_operator.main"])
EXTRA_PROCESSES: list[ExtraProcess] = []


def build() -> Path:
    out = subprocess.run(
        ["bash", str(REPO / "scripts" / "k8s" / "build.sh")], check=True, stdout=subprocess.PIPE, text=True
    )
    return Path(out.stdout.strip().splitlines()[-1])


def start_extra(extra: ExtraProcess, kubeconfig: Path, logs: Path) -> subprocess.Popen:
    env = {**os.environ, "KUBECONFIG": str(kubeconfig), **extra.env}
    with (logs / f"{extra.name}.log").open("ab") as out:
        proc = subprocess.Popen(
            extra.argv,
            cwd=REPO,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    log.info("started %s (pid %d), log %s", extra.name, proc.pid, logs / f"{extra.name}.log")
    return proc


def stop_extra(name: str, proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            log.warning("%s did not stop in 10s: SIGKILL", name)
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()


def main() -> int:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s: %(message)s")
    bin_dir = build()
    work = DEV / "cluster"
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):  # SIGINT too: it may arrive ignored from a parent
        signal.signal(sig, lambda *_: stop.set())
    extras: list[tuple[str, subprocess.Popen]] = []
    with ControlPlane(bin_dir, work) as cp, cp.api_client() as api:
        kubeconfig = DEV / "kubeconfig"
        shutil.copyfile(cp.kubeconfig, kubeconfig)
        runner = PodRunner(api, work / "pods").start()
        try:
            for extra in EXTRA_PROCESSES:
                extras.append((extra.name, start_extra(extra, kubeconfig, work)))
            print(
                f"\ncluster ready ({cp.server}); in another shell:\n"
                f"  export KUBECONFIG={kubeconfig}\n  kubectl get nodes\n"
                f"Ctrl-C stops it.\n",
                flush=True,
            )
            while not stop.wait(1):
                for name, proc in extras:
                    if proc.poll() is not None:
                        log.error("%s exited with %s; see %s", name, proc.returncode, work / f"{name}.log")
                        stop.set()
        finally:
            log.info("stopping")
            for name, proc in reversed(extras):
                stop_extra(name, proc)
            runner.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
