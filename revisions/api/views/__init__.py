"""``/trails/…``, ``/objects/…`` and ``/exports/…``: thin views over ``revisions.services``."""
