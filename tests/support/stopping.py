"""Stopping a child started in its own session: SIGTERM to its process group, SIGKILL after a grace."""

from __future__ import annotations

import os
import signal
import subprocess


def stop_process_group(proc: subprocess.Popen | None, grace: float = 15.0) -> bool:
    """Stop ``proc`` and its children; returns False when it had to be killed."""
    if proc is None or proc.poll() is not None:
        return True
    os.killpg(proc.pid, signal.SIGTERM)
    try:
        proc.wait(grace)
        return True
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
        return False
