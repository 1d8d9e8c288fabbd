"""Mutation testing of Trailhub's core with cosmic-ray: ``make mutate [MODULE=path]``.

Each module is mutated in a copy of the working tree (``var/mutation/tree``), never in
place, and each mutant is judged by the tests that concern that module only, so a
module takes minutes. A module with more mutants than its cap is sampled: the
mutants are sorted by (operator, line, column, occurrence) and ``SAMPLE_SEED`` picks
the same ones on every run of the same source. Results go to
``var/mutation/<module>.txt``: the counts, then each survivor with its diff.
Not part of ``make test`` nor of CI; docs/testing.md records the scores.
"""

from __future__ import annotations

import ast
import os
import random
import shutil
import subprocess
import sys
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "var" / "mutation"
TREE = OUT / "tree"
SAMPLE_SEED = 19
#: A mutant whose tests run past this has hung: cosmic-ray counts it as a timeout (detected).
TIMEOUT_SECONDS = 120
ANNOTATION = "in an annotation, never evaluated"

#: module -> (the tests that concern it, the most mutants to run; None: all of them).
MODULES: dict[str, tuple[list[str], int | None]] = {
    "trail/status.py": (["trail/tests/test_status.py", "revisions/tests/test_progress.py"], None),
    "trail/canonical.py": (["trail/tests/test_canonical.py", "trail/tests/test_state.py"], 40),
    "trail/state.py": (["trail/tests/test_state.py", "trail/tests/test_workcopy.py"], 40),
    "revisions/services": (
        [
            "revisions/tests/test_steps.py",
            "revisions/tests/test_state_posting.py",
            "revisions/tests/test_progress.py",
            "revisions/tests/test_dedupe_and_links.py",
            "revisions/tests/test_objects_fs.py",
            "revisions/tests/test_gc.py",
        ],
        12,
    ),
    "packs/rollout.py": (
        [
            "packs/tests/test_rollout_machine.py",
            "packs/tests/test_waves.py",
            "packs/tests/test_propagation.py",
            "packs/tests/test_api.py",
        ],
        12,
    ),
    "packs/services/rollouts.py": (
        [
            "packs/tests/test_waves.py",
            "packs/tests/test_propagation.py",
            "packs/tests/test_api.py",
        ],
        12,
    ),
    "revisions/storage/base.py": (
        ["revisions/tests/test_objects_fs.py", "revisions/tests/test_local_s3.py"],
        12,
    ),
    "revisions/storage/signing.py": (
        ["revisions/tests/test_local_s3.py", "revisions/tests/test_objects_fs.py"],
        12,
    ),
    "devices/querysets.py": (
        [
            "devices/tests/test_authz_matrix.py",
            "devices/tests/test_device_list.py",
            "devices/tests/test_presence.py",
            "community/tests/test_explore.py",
        ],
        12,
    ),
    "revisions/querysets.py": (
        ["revisions/tests/test_authz.py", "revisions/tests/test_progress.py"],
        12,
    ),
}

_SKIP = {".git", ".venv", "var", "__pycache__", ".pytest_cache", ".ruff_cache", "test-output"}


def copy_tree() -> None:
    """A fresh copy of the working tree: cosmic-ray rewrites the files it mutates."""
    shutil.rmtree(TREE, ignore_errors=True)
    shutil.copytree(
        ROOT,
        TREE,
        ignore=lambda _dir, names: [n for n in names if n in _SKIP or n.endswith(".egg-info")],
    )


def test_command(tests: list[str]) -> list[str]:
    return [sys.executable, "-m", "pytest", "-x", "-q", "-p", "no:cacheprovider", *tests]


def config(module: str, tests: list[str]) -> str:
    command = test_command(tests)
    return "\n".join(
        [
            "[cosmic-ray]",
            f'module-path = "{module}"',
            f"timeout = {TIMEOUT_SECONDS}",
            "excluded-modules = []",
            f"test-command = {command_toml(command)}",
            "[cosmic-ray.distributor]",
            'name = "local"',
            "",
        ]
    )


def command_toml(command: list[str]) -> str:
    return '"' + " ".join(command).replace("\\", "\\\\").replace('"', '\\"') + '"'


def annotation_spans(path: Path) -> list[tuple[tuple[int, int], tuple[int, int]]]:
    """Where the annotations of a module are, if it never evaluates them."""
    tree = ast.parse(path.read_text())
    postponed = any(
        isinstance(node, ast.ImportFrom)
        and node.module == "__future__"
        and any(alias.name == "annotations" for alias in node.names)
        for node in tree.body
    )
    if not postponed:
        return []
    found: list[ast.expr] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.arg | ast.AnnAssign) and node.annotation is not None:
            found.append(node.annotation)
        elif isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef) and node.returns:
            found.append(node.returns)
    return [
        ((a.lineno, a.col_offset), (a.end_lineno or a.lineno, a.end_col_offset or 0)) for a in found
    ]


def in_annotation(mutation, spans_of: dict[str, list]) -> bool:
    path = str(mutation.module_path)
    if path not in spans_of:
        spans_of[path] = annotation_spans(TREE / path)
    return any(start <= tuple(mutation.start_pos) < end for start, end in spans_of[path])


def sample(session: Path, cap: int | None) -> tuple[int, int]:
    """Mark all but ``cap`` mutants skipped, chosen by ``SAMPLE_SEED``; (total, kept).

    Mutants inside annotations are set aside first: with ``from __future__ import
    annotations`` nothing evaluates them, so they are equivalent by construction.
    """
    from cosmic_ray.work_db import WorkDB, use_db
    from cosmic_ray.work_item import WorkerOutcome, WorkResult

    with use_db(str(session), WorkDB.Mode.open) as db:
        spans_of: dict[str, list] = {}
        annotated = [
            item.job_id
            for item in db.pending_work_items
            if all(in_annotation(m, spans_of) for m in item.mutations)
        ]
        if annotated:
            db.set_multiple_results(
                annotated, WorkResult(output=ANNOTATION, worker_outcome=WorkerOutcome.SKIPPED)
            )
        items = sorted(
            db.pending_work_items,
            key=lambda item: [
                (str(m.module_path), m.operator_name, m.start_pos, m.occurrence)
                for m in item.mutations
            ],
        )
        if cap is None or len(items) <= cap:
            return db.num_work_items, len(items)
        kept = {item.job_id for item in random.Random(SAMPLE_SEED).sample(items, cap)}
        skipped = [item.job_id for item in items if item.job_id not in kept]
        db.set_multiple_results(
            skipped, WorkResult(output="not sampled", worker_outcome=WorkerOutcome.SKIPPED)
        )
        return db.num_work_items, cap


def report(module: str, session: Path, total: int, kept: int) -> str:
    from cosmic_ray.work_db import WorkDB, use_db
    from cosmic_ray.work_item import WorkerOutcome

    counts: Counter[str] = Counter()
    survivors = []
    with use_db(str(session), WorkDB.Mode.open) as db:
        for item, result in db.completed_work_items:
            if result.worker_outcome == WorkerOutcome.SKIPPED:
                if result.output == ANNOTATION:
                    counts["equivalent (annotation, not run)"] += 1
                continue
            if result.worker_outcome != WorkerOutcome.NORMAL:
                counts[str(result.worker_outcome.value)] += 1
            elif result.output == "timeout":  # cosmic-ray counts a hang as killed
                counts["timeout"] += 1
            else:
                counts[str(result.test_outcome.value)] += 1
                if not result.is_killed:
                    survivors.append((item, result))
    lines = [
        f"{module}: {total} mutants, {kept} run (seed {SAMPLE_SEED}): "
        + ", ".join(f"{k} {v}" for k, v in sorted(counts.items()))
    ]
    survivors.sort(
        key=lambda pair: (str(pair[0].mutations[0].module_path), pair[0].mutations[0].start_pos)
    )
    for item, result in survivors:
        m = item.mutations[0]
        lines.append(
            f"\nSURVIVED {m.module_path}:{m.start_pos[0]} {m.operator_name} #{m.occurrence}"
        )
        lines.append(result.diff or "")
    return "\n".join(lines)


def run(module: str) -> None:
    tests, cap = MODULES[module]
    slug = module.replace("/", "_")
    session = OUT / f"{slug}.sqlite"
    cfg = OUT / f"{slug}.toml"
    cfg.write_text(config(module, tests))
    session.unlink(missing_ok=True)
    env = {**os.environ, "PYTHONPATH": str(TREE)}
    bin_ = Path(sys.executable).parent
    # Unmutated, the tests must pass, or every mutant would count as killed.
    baseline = subprocess.run(test_command(tests), cwd=TREE, env=env, capture_output=True)
    if baseline.returncode != 0:
        sys.exit(
            f"{module}: its tests fail before any mutation:\n{baseline.stdout.decode()[-3000:]}"
        )
    subprocess.run([bin_ / "cosmic-ray", "init", cfg, session], cwd=TREE, env=env, check=True)
    total, kept = sample(session, cap)
    print(f"{module}: {total} mutants, running {kept}", flush=True)
    subprocess.run([bin_ / "cosmic-ray", "exec", cfg, session], cwd=TREE, env=env, check=True)
    text = report(module, session, total, kept)
    (OUT / f"{slug}.txt").write_text(text + "\n")
    print(text.splitlines()[0], flush=True)


def main(argv: list[str]) -> int:
    modules = argv or list(MODULES)
    unknown = [m for m in modules if m not in MODULES]
    if unknown:
        print(f"not configured: {', '.join(unknown)}; one of {', '.join(MODULES)}")
        return 2
    OUT.mkdir(parents=True, exist_ok=True)
    copy_tree()
    for module in modules:  # one at a time: the machine is shared
        run(module)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
