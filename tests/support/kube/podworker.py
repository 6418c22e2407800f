"""One thread per Pod bound to the runner's node: runs its containers as local processes and
reports the Pod's status the way a kubelet does. Created and fed by podrunner.py; the pod is
translated into processes by podspec.py.

Lifecycle: Pending (ContainerCreating) -> Running (processes started) -> Succeeded/Failed with
each container's real exit code (a signal N is 128+N), reason Completed/Error (OOMKilled after
`kill_like_oom`, StartError when the executable is missing). restartPolicy OnFailure/Always
restarts a container in place (restartCount) after a back-off of 0.5 s doubling up to 15 s.
On deletion: SIGTERM to each process group, wait the grace period, SIGKILL, report the terminal
phase (Succeeded only if every container exited 0, as the kubelet's getPhase does for a terminal
pod), then delete the pod with grace 0.
`spec.activeDeadlineSeconds` ends the pod Failed with reason DeadlineExceeded.
"""

from __future__ import annotations

import contextlib
import logging
import os
import signal
import subprocess
import threading
import time
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from .controlplane import die_with_parent
from .podspec import POD_IP, ConfigMissing, ContainerPlan, PodPlan
from .rest import KubeError

if TYPE_CHECKING:
    from .podrunner import PodRunner

log = logging.getLogger(__name__)
_POLL = 0.1


def now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


class _Container:
    """A container's process and its containerStatus."""

    def __init__(self, plan: ContainerPlan) -> None:
        self.plan = plan
        self.proc: subprocess.Popen | None = None
        self.restarts = 0
        self.restart_at: float | None = None  # a restart waiting out its back-off
        self.oom = False
        self.state: dict = {"waiting": {"reason": "ContainerCreating"}}
        self.last_state: dict = {}

    @property
    def running(self) -> bool:
        return self.proc is not None and "running" in self.state

    @property
    def exit_code(self) -> int | None:
        term = self.state.get("terminated")
        return term["exitCode"] if term else None

    def start(self) -> None:
        started = now()
        if self.plan.error:
            self.state = {
                "terminated": {
                    "exitCode": 128,
                    "reason": "StartError",
                    "message": self.plan.error,
                    "startedAt": started,
                    "finishedAt": started,
                }
            }
            with self.plan.log_path.open("a") as out:
                out.write(f"[pod-runner] cannot start: {self.plan.error}\n")
            return
        log.info("container %s (image %s ignored): %s", self.plan.name, self.plan.image, self.plan.argv)
        with self.plan.log_path.open("ab") as out:
            self.proc = subprocess.Popen(
                [*die_with_parent(), *self.plan.argv],
                env=self.plan.env,
                cwd=self.plan.cwd,
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        self.oom = False
        self.state = {"running": {"startedAt": started}}

    def poll(self) -> bool:
        """Records the exit if the process ended; True when it just did."""
        if not self.running or self.proc.poll() is None:
            return False
        code = self.proc.returncode if self.proc.returncode >= 0 else 128 - self.proc.returncode
        reason = "OOMKilled" if self.oom and code == 137 else ("Completed" if code == 0 else "Error")
        self.state = {
            "terminated": {
                "exitCode": code,
                "reason": reason,
                "startedAt": self.state["running"]["startedAt"],
                "finishedAt": now(),
                "containerID": f"trainyard://{self.proc.pid}",
            }
        }
        return True

    def signal(self, sig: int) -> None:
        if self.running:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.proc.pid, sig)

    def schedule_restart(self) -> None:
        """Like the kubelet's CrashLoopBackOff, shorter: 0.5 s doubling up to 15 s."""
        delay = min(0.5 * 2**self.restarts, 15.0)
        self.last_state, self.restart_at = self.state, time.monotonic() + delay
        self.state = {
            "waiting": {"reason": "CrashLoopBackOff", "message": f"back-off {delay:.1f}s restarting failed container"}
        }

    def restart_if_due(self) -> bool:
        if self.restart_at is None or time.monotonic() < self.restart_at:
            return False
        self.restart_at, self.restarts = None, self.restarts + 1
        self.start()
        return True

    def cancel_restart(self) -> None:
        if self.restart_at is not None:
            self.restart_at, self.state = None, self.last_state

    def status(self) -> dict:
        return {
            "name": self.plan.name,
            "image": self.plan.image,
            "imageID": "",
            "containerID": f"trainyard://{self.proc.pid}" if self.proc else "",
            "ready": self.running,
            "started": self.running,
            "restartCount": self.restarts,
            "state": self.state,
            "lastState": self.last_state,
        }


class PodWorker(threading.Thread):
    def __init__(self, runner: PodRunner, pod: dict) -> None:
        meta = pod["metadata"]
        super().__init__(name=f"pod-{meta['namespace']}/{meta['name']}", daemon=True)
        self.runner = runner
        self.pod = pod
        self.key = (meta["namespace"], meta["name"])
        self.deleting = threading.Event()
        self.shutdown = threading.Event()  # the runner stops: kill, report nothing
        self.done = False
        self.init: list[_Container] = []
        self.main: list[_Container] = []
        self.phase, self.reason, self.message = "Pending", "", ""
        self.start_time = now()
        self.conditions: dict[str, tuple[str, str]] = {}
        self.update(pod)

    # -- called from the runner's threads -------------------------------------------------
    def update(self, pod: dict) -> None:
        self.pod = pod
        if pod["metadata"].get("deletionTimestamp"):
            self.deleting.set()
            if self.done:
                self.runner.force_delete(pod)

    def kill_like_oom(self, container: str | None) -> bool:
        hit = False
        for c in self.init + self.main:
            if c.running and container in (None, c.plan.name):
                c.oom = hit = True
                c.signal(signal.SIGKILL)
        return hit

    def kill_now(self) -> None:
        self.shutdown.set()
        for c in self.init + self.main:
            c.signal(signal.SIGKILL)

    # -- the pod's life -------------------------------------------------------------------
    def run(self) -> None:
        try:
            plan = self._prepare()
            if plan is not None and self._run_init(plan):
                self._run_main(plan)
            elif plan is None and not self.shutdown.is_set():
                self._finish_unstarted()
        except Exception:  # a harness bug must still end the pod
            log.exception("pod %s/%s: harness error", *self.key)
            self.phase, self.reason, self.message = "Failed", "HarnessError", "see the pod runner's log"
            self._patch()
        finally:
            for c in self.init + self.main:
                c.signal(signal.SIGKILL)
            self.done = True
            if self.deleting.is_set() and not self.shutdown.is_set():
                self.runner.force_delete(self.pod)

    def _prepare(self) -> PodPlan | None:
        """The plan, retried while a referenced Secret/ConfigMap is missing; None if the pod is
        deleted (or the runner stops) first."""
        reported = ""
        while not (self.deleting.is_set() or self.shutdown.is_set()):
            try:
                plan = self.runner.translator.plan(self.pod, self.runner.node)
                self.init = [_Container(p) for p in plan.init_containers]
                self.main = [_Container(p) for p in plan.containers]
                return plan
            except ConfigMissing as e:
                if str(e) != reported:
                    reported = str(e)
                    log.info("pod %s/%s waits: %s", *self.key, e)
                    self.main = [
                        _Container(ContainerPlan(c["name"], c.get("image", ""), [], {}, None, None))
                        for c in self.pod["spec"]["containers"]
                    ]
                    for c in self.main:
                        c.state = {"waiting": {"reason": "CreateContainerConfigError", "message": reported}}
                    self._patch()
                self.deleting.wait(1.0)
        return None

    def _run_init(self, plan: PodPlan) -> bool:
        for c in self.main:
            c.state = {"waiting": {"reason": "PodInitializing"}}
        for c in self.init:
            c.start()
            self._patch()
            if not self._supervise([c], final=False):
                return False
        return True

    def _run_main(self, plan: PodPlan) -> None:
        for c in self.main:
            c.start()
        self.phase = "Running"
        self._patch()
        self._supervise(self.main, final=True)

    def _supervise(self, containers: list[_Container], final: bool) -> bool:
        """Waits for `containers`, restarting them per restartPolicy and handling deletion and the
        active deadline. Returns True when they all exited 0 and the pod goes on (init containers)."""
        spec = self.pod["spec"]
        policy = spec.get("restartPolicy", "Always")
        if not final and policy == "Always":  # an init container is restarted only until it succeeds
            policy = "OnFailure"
        deadline = spec.get("activeDeadlineSeconds")
        started = time.monotonic()
        while True:
            if self.shutdown.is_set():
                return False
            if self.deleting.is_set():
                self._terminate(containers, self._grace())
                return self._finish(containers)
            if deadline and time.monotonic() - started > deadline:
                self._terminate(containers, spec.get("terminationGracePeriodSeconds", 30))
                self.reason = "DeadlineExceeded"
                self.message = f"Pod was active on the node longer than the specified deadline ({deadline}s)"
                return self._finish(containers, force_failed=True)
            changed = False
            for c in containers:
                if c.poll():
                    changed = True
                    if policy == "Always" or (policy == "OnFailure" and c.exit_code != 0):
                        c.schedule_restart()
                elif c.restart_if_due():
                    changed = True
            if all(not c.running and c.restart_at is None for c in containers):
                if final or any(c.exit_code != 0 for c in containers):
                    return self._finish(containers)
                return True
            if changed:
                self._patch()
            self.deleting.wait(_POLL)

    def _grace(self) -> float:
        meta, spec = self.pod["metadata"], self.pod["spec"]
        grace = meta.get("deletionGracePeriodSeconds")
        return float(grace if grace is not None else spec.get("terminationGracePeriodSeconds", 30))

    def _terminate(self, containers: list[_Container], grace: float) -> None:
        log.info("pod %s/%s: SIGTERM, grace %.0fs", *self.key, grace)
        for c in containers:
            c.cancel_restart()
            c.signal(signal.SIGTERM)
        end = time.monotonic() + grace
        while any(c.running and not c.poll() for c in containers) and time.monotonic() < end:
            if self.shutdown.wait(_POLL):
                break
        for c in containers:
            if c.running:
                c.signal(signal.SIGKILL)
                c.proc.wait()
                c.poll()

    def _finish(self, containers: list[_Container], force_failed: bool = False) -> bool:
        ok = all(c.exit_code == 0 for c in containers) and not force_failed
        self.phase = "Succeeded" if ok and containers is self.main else "Failed"
        if self.phase == "Failed" and containers is not self.main:
            self.reason = self.reason or "InitContainerFailed"
        self._patch()
        return False

    def _finish_unstarted(self) -> None:
        """Deleted before it started: every container is unknown, the pod Failed (as the kubelet)."""
        for c in self.init + self.main:
            c.state = {
                "terminated": {
                    "exitCode": 137,
                    "reason": "ContainerStatusUnknown",
                    "message": "The container could not be located when the pod was terminated",
                    "startedAt": None,
                    "finishedAt": now(),
                }
            }
        if not self.main:
            self.main = [
                _Container(ContainerPlan(c["name"], c.get("image", ""), [], {}, None, None))
                for c in self.pod["spec"]["containers"]
            ]
        self.phase = "Failed"
        self._patch()

    # -- status ---------------------------------------------------------------------------
    def _condition(self, kind: str, value: bool) -> dict:
        status = "True" if value else "False"
        if self.conditions.get(kind, ("",))[0] != status:
            self.conditions[kind] = (status, now())
        return {"type": kind, "status": status, "lastProbeTime": None, "lastTransitionTime": self.conditions[kind][1]}

    def _patch(self) -> None:
        if self.shutdown.is_set():
            return
        initialized = all(c.exit_code == 0 for c in self.init)
        ready = self.phase == "Running" and all(c.running for c in self.main)
        status = {
            "phase": self.phase,
            "hostIP": POD_IP,
            "hostIPs": [{"ip": POD_IP}],
            "podIP": POD_IP,
            "podIPs": [{"ip": POD_IP}],
            "startTime": self.start_time,
            "conditions": [
                self._condition("PodReadyToStartContainers", True),
                self._condition("Initialized", initialized),
                self._condition("ContainersReady", ready),
                self._condition("Ready", ready),
                self._condition("PodScheduled", True),
            ],
            "containerStatuses": [c.status() for c in self.main],
        }
        if self.init:
            status["initContainerStatuses"] = [c.status() for c in self.init]
        if self.reason:
            status["reason"], status["message"] = self.reason, self.message
        ns, name = self.key
        for attempt in range(5):
            try:
                self.runner.rest.patch(f"/api/v1/namespaces/{ns}/pods/{name}/status", {"status": status})
                return
            except KubeError as e:
                if e.status == 404:
                    return
                log.warning("pod %s/%s: status patch failed (%s)", ns, name, e)
            except Exception as e:  # noqa: BLE001 - connection trouble: try again
                log.warning("pod %s/%s: status patch failed (%s)", ns, name, e)
            time.sleep(0.5 * (attempt + 1))
