"""System checks of the running deployment (``manage.py check --deploy``)."""

from __future__ import annotations

from django.core.checks import Warning, register

from trailhub import workers


@register("workers", deploy=True)
def task_worker_check(app_configs, **kwargs) -> list[Warning]:
    """Warn when tasks go to a broker and no Celery worker has sent a heartbeat lately.

    A deployment check (``--deploy``) rather than one every command runs:
    ``migrate`` and ``make run`` come before the workers start.
    """
    if not workers.expected():
        return []
    try:
        problem = workers.problem(workers.last_heartbeat())
    except Exception as exc:
        problem = f"the heartbeat could not be read: {exc}"
    if problem is None:
        return []
    return [Warning(workers.MISSING, hint=f"{problem[0].upper()}{problem[1:]}.", id="portal.W001")]
