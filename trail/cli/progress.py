"""Progress bars for object transfers, on stderr, only on a terminal."""

from __future__ import annotations

from rich.console import Console
from rich.progress import (
    BarColumn,
    DownloadColumn,
    Progress,
    TaskID,
    TextColumn,
    TimeRemainingColumn,
    TransferSpeedColumn,
)

from trail.objects import Meter


class Bars(Meter):
    """A bar per object in flight and one for the whole transfer."""

    def __init__(self, console: Console, verb: str, count: int) -> None:
        self.progress = Progress(
            TextColumn("{task.description}", justify="left", markup=False),  # names as they are
            BarColumn(bar_width=30),
            DownloadColumn(),
            TransferSpeedColumn(),
            TimeRemainingColumn(),
            console=console,
            transient=True,
            disable=not console.is_terminal,
        )
        self.verb = verb
        self.count = count
        self.done = 0
        self.total = self.progress.add_task(self._title(), total=0)
        self.total_size = 0
        self.tasks: dict[str, TaskID] = {}
        self.moved: dict[str, int] = {}

    def _title(self) -> str:
        return f"{self.verb} {self.done}/{self.count} objects"

    def __enter__(self) -> Bars:
        self.progress.start()
        return self

    def __exit__(self, *exc) -> None:
        self.progress.stop()

    def start(self, sha: str, name: str, size: int) -> None:
        label = name if len(name) <= 40 else "…" + name[-39:]
        self.tasks[sha] = self.progress.add_task(f"  {label}", total=size)
        self.moved[sha] = 0
        self.total_size += size
        self.progress.update(self.total, total=self.total_size)

    def advance(self, sha: str, nbytes: int) -> None:
        self.moved[sha] += nbytes
        self.progress.advance(self.tasks[sha], nbytes)
        self.progress.advance(self.total, nbytes)

    def restart(self, sha: str) -> None:
        self.progress.advance(self.total, -self.moved[sha])
        self.moved[sha] = 0
        self.progress.reset(self.tasks[sha])

    def finish(self, sha: str) -> None:
        self.done += 1
        self.progress.remove_task(self.tasks.pop(sha))
        self.progress.update(self.total, description=self._title())


def human(nbytes: int) -> str:
    """``1536`` -> ``1.5 KiB``."""
    size = float(nbytes)
    for unit in ("B", "KiB", "MiB", "GiB"):
        if size < 1024 or unit == "GiB":
            return f"{size:.0f} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1024
    return f"{nbytes} B"


def plural(count: int, noun: str) -> str:
    """``plural(1, "object")`` -> ``1 object``; ``plural(2, "object")`` -> ``2 objects``."""
    return f"{count} {noun}" if count == 1 else f"{count} {noun}s"
