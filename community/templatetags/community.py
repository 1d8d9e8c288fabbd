"""Small display helpers for the community pages."""

from django import template

from trail import status as st

register = template.Library()

_OK = st.RUNNING_OK
_BAD = {st.ERROR, st.WONTGO}


@register.filter
def status_class(status: str | None) -> str:
    """The badge colour of a revision status: ok, bad, muted or warn (in flight)."""
    if not status:
        return "muted"
    if status in _OK:
        return "ok"
    if status in _BAD:
        return "bad"
    if status == st.CANCEL:
        return "muted"
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
