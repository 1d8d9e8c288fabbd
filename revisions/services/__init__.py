"""What the API, the portal, packs and forks call to change trails, steps and objects.

Every write goes through here: revision numbers are allocated under the
trail's row lock, the progress state machine is enforced in one function
(:func:`revisions.services.steps.move_status`), and object rights and bytes
change under the rows' locks.
"""

from revisions.services.objects import (
    ObjectView,
    delete_object,
    ensure_present,
    find_object,
    held_blobs,
    link_public_objects,
    missing_objects,
    object_owner,
    receive_upload,
    request_upload,
    small_contents,
    step_objects,
)
from revisions.services.signing import check_signatures, meets_rule
from revisions.services.steps import (
    cancel_step,
    create_trail,
    move_status,
    post_step,
    replace_state,
    report_progress,
    set_meta,
    validated_state_sha,
    wontgo_step,
)

__all__ = [
    "ObjectView",
    "cancel_step",
    "check_signatures",
    "create_trail",
    "delete_object",
    "ensure_present",
    "find_object",
    "held_blobs",
    "link_public_objects",
    "meets_rule",
    "missing_objects",
    "move_status",
    "object_owner",
    "post_step",
    "receive_upload",
    "replace_state",
    "report_progress",
    "request_upload",
    "set_meta",
    "small_contents",
    "step_objects",
    "validated_state_sha",
    "wontgo_step",
]
