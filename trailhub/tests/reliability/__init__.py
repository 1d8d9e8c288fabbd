"""The reliability suite: cross-cutting checks over the whole hub.

``make check-reliability`` runs it (CI does, on the embedded default and on
PostgreSQL + Redis); ``make test`` leaves it out (``-m "not reliability"``)
because it takes minutes.

* test_authz_api.py, test_authz_pages.py, test_authz_websockets.py — every
  API operation (from the OpenAPI schema and the URL resolver), page, admin
  page and WebSocket, for anonymous, the owner, another user, the device,
  another device of the owner, another user's device and an admin, on a
  private and a public device: the right answer, refusals that change
  nothing, and no private datum (conftest.py's canaries) to anyone who may
  not see it. A new endpoint without a row fails.
* test_bad_input.py — malformed JSON, wrong types, NUL characters and
  oversized bodies on every JSON operation, wrong field types, traversal
  keys, unknown shas, wrong sizes and hashes, statuses out of order: a 4xx
  with a message, nothing stored.
* test_schemathesis.py — schemathesis over /api/schema/, a fixed seed and a
  few examples per operation: no server error.
* test_concurrency.py — 50 concurrent posts, racing progress reports.
* test_faults.py — the server killed mid-upload, a Celery worker killed in
  and after a task's transaction. (An agent killed mid-download is
  trail/tests/e2e/test_faults.py.)
"""
