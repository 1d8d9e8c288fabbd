"""``{% task_worker_missing as warning %}``: the no-worker warning, or None (one cache read)."""

import re

from django import template
from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe

from trailhub import workers

register = template.Library()


@register.simple_tag
def task_worker_missing() -> SafeString | None:
    """workers.MISSING as HTML (its `command` in <code>) when no worker runs, else None."""
    if not workers.missing():
        return None
    return mark_safe(re.sub(r"`([^`]*)`", r"<code>\1</code>", escape(workers.MISSING)))
