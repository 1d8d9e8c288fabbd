"""Packs: devices (followers) that follow a leader device's revisions, in staged rollouts.

``models`` (Pack, PackMember, Rollout, Wave, Delivery), ``rollout`` (the
rollout and wave state machines, as data), ``services`` (membership rules,
loop detection, wave planning, propagation), ``tasks`` (Celery), ``receivers``
(revisions' step signals), ``api`` and ``views`` (the API and the pages).
docs/packs.md describes the behaviour.
"""
