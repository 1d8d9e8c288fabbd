"""Small display helpers for the community pages."""

from django import template

from trail import status as st

register = template.Library()

#: What a device without hardware shows instead of NEW: nothing will ever install it.
TEMPLATE = "template"


@register.filter
def status_word(status: str | None, has_hardware: bool = True) -> str:
    """The status as a page shows it: a template's NEW revision is no pending update."""
    if status == st.NEW and has_hardware is False:
        return TEMPLATE
    return status or ""


@register.filter
def status_class(status: str | None, has_hardware: bool = True) -> str:
    """The badge (and progress bar) colour of a revision status: ok, bad, muted or warn
    (in flight). The groupings are trail.status's; a template's revision is muted."""
    if not status or status == st.CANCEL or status_word(status, has_hardware) == TEMPLATE:
        return "muted"
    if status in st.RUNNING_OK:
        return "ok"
    if status in st.FAILED:
        return "bad"
    return "warn"


@register.filter
def short_sha(value: str | None) -> str:
    return (value or "")[:12]


@register.simple_tag(takes_context=True)
def query_with(context, **changes) -> str:
    """The current query string with some parameters replaced (for sort and page links)."""
    params = context["request"].GET.copy()
    for key, value in changes.items():
        if value in (None, ""):
            params.pop(key, None)
        else:
            params[key] = value
    encoded = params.urlencode()
    return f"?{encoded}" if encoded else "?"


@register.filter
def spec(state) -> str:
    """A state's ``#spec`` (a template cannot spell the key)."""
    return state.get("#spec", "") if isinstance(state, dict) else ""
