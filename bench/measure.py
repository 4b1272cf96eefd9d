"""Run a candidate in a child process and read its wall time and peak RSS; print result tables.

Standard library only: the parent must stay small. Linux carries the parent's high-water RSS
over into a child when it execs (the child's ru_maxrss is never below it), so a parent holding
frames would inflate every child's figure.
"""
from __future__ import annotations

import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

WORKER = Path(__file__).resolve().parent / "worker.py"


@dataclass
class Run:
    argv: list[str]
    returncode: int
    seconds: float  # wall time, start to exit
    peak_mb: float  # the child's peak resident set size
    stdout: str
    stderr: str
    cpu_seconds: float = 0.0  # user + system time of the child: what it cost, whatever else ran beside it

    @property
    def ok(self) -> bool:
        return self.returncode == 0

    def result(self) -> dict:
        """The JSON a worker task printed last."""
        return json.loads(self.stdout.strip().splitlines()[-1])

    @property
    def work_seconds(self) -> float:
        """The time that counts for fps: a worker's own timing (start-up left out), else wall time."""
        return self.result()["seconds"] if self.stdout.strip() else self.seconds

    def failure(self) -> str:
        tail = (self.stderr.strip() or self.stdout.strip()).splitlines()[-3:]
        return f"{Path(self.argv[0]).name} exited {self.returncode}: " + " | ".join(tail)


def run_child(argv: list[str]) -> Run:
    """Run `argv` to the end; its peak RSS comes from wait4, the kernel's own account of it."""
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        started = time.perf_counter()
        process = subprocess.Popen(argv, stdout=out, stderr=err, stdin=subprocess.DEVNULL)
        _, status, usage = os.wait4(process.pid, 0)
        seconds = time.perf_counter() - started
        process.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        err.seek(0)
        # ru_maxrss is in KiB on Linux.
        return Run(argv, process.returncode, seconds, usage.ru_maxrss / 1024, out.read().decode(errors="replace"),
                   err.read().decode(errors="replace"), cpu_seconds=usage.ru_utime + usage.ru_stime)


def run_worker(task: str, spec: dict) -> Run:
    return run_child([sys.executable, str(WORKER), task, json.dumps(spec)])


def own_peak_mb() -> float:
    """This (parent) process's peak RSS: the floor under every child's figure."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


class Table:
    """A markdown table, printed when complete."""

    def __init__(self, title: str, columns: list[str], notes: list[str] | None = None):
        self.title = title
        self.columns = columns
        self.rows: list[list[str]] = []
        self.notes = notes or []

    def add(self, *cells) -> None:
        self.rows.append([_cell(c) for c in cells])

    def render(self) -> str:
        widths = [max(len(c), *(len(r[i]) for r in self.rows)) if self.rows else len(c)
                  for i, c in enumerate(self.columns)]
        line = lambda cells: "| " + " | ".join(c.ljust(w) for c, w in zip(cells, widths)) + " |"  # noqa: E731
        parts = [f"### {self.title}", "", line(self.columns), "| " + " | ".join("-" * w for w in widths) + " |"]
        parts += [line(row) for row in self.rows]
        parts += [""] + [f"- {note}" for note in self.notes] if self.notes else []
        return "\n".join(parts) + "\n"


def _cell(value) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:.3f}" if abs(value) < 1 else f"{value:.2f}" if abs(value) < 10 else f"{value:.1f}"
    return str(value)


def ratio(ours: float | None, peer: float | None) -> str:
    """ours / peer as "1.23x"; "-" when either is missing."""
    if not ours or not peer:
        return "-"
    value = ours / peer
    return f"{value:.2f}x" if value >= 0.1 else f"{value:.2g}x"
