"""Finding and killing the processes of one deployment (psutil, which Airflow itself depends on).

Airflow's task processes call ``setpgid``/``setsid``, so killing a component's process group is not
enough to stop everything it started: these helpers also walk the process tree and find every
process whose environment carries the deployment's ``AIRFLOW_HOME``.
"""

from __future__ import annotations

import contextlib
import os
import signal

import psutil


def descendants(pid: int) -> list[int]:
    """Every live process below ``pid`` in the process tree (none when ``pid`` is gone).

    :param pid: the root process ID
    """
    try:
        return [child.pid for child in psutil.Process(pid).children(recursive=True)]
    except psutil.Error:
        return []


def with_title(*fragments: str) -> list[int]:
    """PIDs whose title (command line as setproctitle leaves it) contains every one of ``fragments``.

    :param fragments: the texts to look for
    """
    found = []
    for proc in psutil.process_iter(["cmdline"]):
        title = " ".join(proc.info["cmdline"] or ())
        if all(fragment in title for fragment in fragments):
            found.append(proc.pid)
    return found


def with_env(name: str, value: str) -> list[int]:
    """PIDs of this user's processes (not this one) whose environment has ``name=value``.

    :param name: the variable name
    :param value: its exact value
    """
    found = []
    for proc in psutil.process_iter():
        if proc.pid == os.getpid():
            continue
        with contextlib.suppress(psutil.Error):
            if proc.environ().get(name) == value:
                found.append(proc.pid)
    return found


def title_of(pid: int) -> str:
    """The title of ``pid``, or "" when it is gone.

    :param pid: a process ID
    """
    try:
        return " ".join(psutil.Process(pid).cmdline())
    except psutil.Error:
        return ""


def kill(pids: list[int], sig: int = signal.SIGKILL) -> None:
    """Send ``sig`` to each PID that still exists.

    :param pids: the processes
    :param sig: the signal
    """
    for pid in pids:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.kill(pid, sig)


def kill_group(pgid: int, sig: int = signal.SIGKILL) -> None:
    """Send ``sig`` to a process group, if it still exists.

    :param pgid: the process group ID
    :param sig: the signal
    """
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pgid, sig)


def alive(pids: list[int]) -> list[int]:
    """The PIDs of ``pids`` still running (zombies count as gone).

    :param pids: the processes
    """
    running = []
    for pid in pids:
        with contextlib.suppress(psutil.Error):
            if psutil.Process(pid).status() != psutil.STATUS_ZOMBIE:
                running.append(pid)
    return running
