"""What the tests and the benchmarks share: Trailhub, ``trail-agent`` and other servers
in subprocesses (:mod:`testsupport.live`), deploy/nginx.conf on other ports (:mod:`testsupport.nginx`)
and the real states the tests read (:mod:`testsupport.testdata`).

It imports no Django and nothing of the server, so ``trail``'s own tests can use it
as the server's tests and ``bench/`` do; the server runs in a subprocess.
"""
