"""Progress reporting for downloads and layer application.

The code that moves bytes calls ``reporter.task(description, total)`` and
``task.advance(n)``; the CLI passes a :class:`RichReporter` (bars on stderr),
library callers and tests whatever they like (:class:`NullReporter` by
default).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager
from typing import Protocol

from rich.console import Console
from rich.filesize import decimal
from rich.progress import (
    BarColumn,
    DownloadColumn,
    Progress,
    TaskProgressColumn,
    TextColumn,
    TimeRemainingColumn,
    TransferSpeedColumn,
)


class Task(Protocol):
    def advance(self, amount: int) -> None: ...


class Reporter(Protocol):
    def task(self, description: str, total: int | None) -> AbstractContextManager[Task]:
        """A context manager yielding a :class:`Task` for one transfer."""

    def note(self, message: str) -> None:
        """One line for the person watching."""


class _NullTask:
    def advance(self, amount: int) -> None:
        pass


class NullReporter:
    """Reports nothing."""

    @contextmanager
    def task(self, description: str, total: int | None) -> Iterator[Task]:
        yield _NullTask()

    def note(self, message: str) -> None:
        pass


class _RichTask:
    def __init__(self, progress: Progress, task_id: int) -> None:
        self.progress = progress
        self.task_id = task_id

    def advance(self, amount: int) -> None:
        self.progress.advance(self.task_id, amount)


class _CountingTask:
    def __init__(self) -> None:
        self.done = 0

    def advance(self, amount: int) -> None:
        self.done += amount


class RichReporter:
    """Progress bars on stderr; on something that is not a terminal (a CI
    log), one line per finished transfer instead."""

    def __init__(self, console: Console | None = None) -> None:
        self.console = console or Console(stderr=True)

    @contextmanager
    def task(self, description: str, total: int | None) -> Iterator[Task]:
        if not self.console.is_terminal:
            counter = _CountingTask()
            yield counter
            self.note(f"{description}: {decimal(counter.done)}")
            return
        progress = Progress(
            TextColumn("{task.description}"),
            BarColumn(),
            TaskProgressColumn(),
            DownloadColumn(),
            TransferSpeedColumn(),
            TimeRemainingColumn(),
            console=self.console,
            transient=True,
        )
        with progress:
            task_id = progress.add_task(description, total=total)
            yield _RichTask(progress, task_id)
        self.note(f"{description}: {decimal(int(progress.tasks[0].completed))}")

    def note(self, message: str) -> None:
        self.console.print(message, highlight=False, markup=False)
