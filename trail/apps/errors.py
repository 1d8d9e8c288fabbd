"""The one error type of ``trail app``: a message a person can act on."""

from __future__ import annotations


class AppError(Exception):
    """Something ``trail app`` refuses or cannot do.

    ``code`` is a short machine string (``not-found``, ``unsupported-media-type``,
    ``unsupported-platform``, ``digest-mismatch``, ``bad-layer``, ``name-taken``,
    ``bad-name``, ``no-such-app``, ``registry``, ``auth``, ``insecure``,
    ``bad-image``, ``bad-source``, ``not-a-working-copy``, ``mksquashfs``).
    Whenever one is raised, the working copy is as it was before the command.
    """

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
