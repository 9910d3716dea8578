"""Helpers the benchmark drivers share (they run as `python3 benches/NAME.py`, so this module is
on their path)."""

import socket
import subprocess
import sys
import time


def free_port() -> int:
    """A loopback port free at the moment of asking."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def peak_rss_mib(pid: int) -> float:
    """The process's peak resident set so far (VmHWM), in MiB."""
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return 0.0


def wait_for_log(proc, log_path: str, text: str, what: str, timeout: float = 180.0) -> None:
    """Wait until `text` shows in the process's log; exit with the log's tail if it dies or
    the time runs out."""
    deadline = time.time() + timeout
    while text not in open(log_path).read():
        if proc.poll() is not None or time.time() > deadline:
            sys.exit(f"{what} did not start:\n" + open(log_path).read()[-4000:])
        time.sleep(0.2)


def stop_all(procs) -> None:
    """Terminate the processes, last started first, and reap them (killed after a minute)."""
    for p in reversed(procs):
        p.terminate()
    for p in procs:
        try:
            p.wait(timeout=60)
        except subprocess.TimeoutExpired:
            p.kill()
