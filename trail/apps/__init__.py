"""Platforms from container images: ``trail app add/update/ls/info/rm``.

An image (an OCI image layout directory, a ``docker save`` tarball, or a
reference pulled from a registry over the HTTP API v2) becomes a platform
directory in a working copy::

    <name>/root.squashfs               the image's layers, applied in order
    <name>/root.squashfs.docker-digest the image digest it was built from
    <name>/run.json                    service-manifest-run@1
    <name>/lxc.container.conf          from the image config (entrypoint, env, …)
    <name>/src.json                    service-manifest-src@1: name, tag, digest, config

The modules, in the order an image flows through them: :mod:`.reference`
(what the user typed), :mod:`.sources` (finding the manifest, config and
layer blobs), :mod:`.layers` (applying layers with whiteouts into a
root filesystem tree), :mod:`.squashfs` (the reproducible image),
:mod:`.platform` (the files of a platform) and :mod:`.commands` (the CLI).
"""
