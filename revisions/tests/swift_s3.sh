#!/bin/bash
# A real S3 API for the tests: OpenStack Swift (Debian packages) with s3api and tempauth,
# on loopback, all state under $SWIFT_S3_DIR. From /work/shared/recipes/swift-s3.sh, with
# ports of our own (so test runs side by side do not collide) and no installing: the
# packages come from .ci/system-packages.sh, and a missing one is an error.
# usage: swift_s3.sh start|stop
# S3: http://127.0.0.1:$SWIFT_S3_PORT, access key "test:tester", secret "testing",
# region us-east-1, path-style addressing.
set -euo pipefail
S=${SWIFT_S3_DIR:?set SWIFT_S3_DIR}
PROXY=${SWIFT_S3_PORT:-8080}
OBJECT=${SWIFT_S3_OBJECT_PORT:-6200}
CONTAINER=${SWIFT_S3_CONTAINER_PORT:-6201}
ACCOUNT=${SWIFT_S3_ACCOUNT_PORT:-6202}
MEMCACHED=${SWIFT_S3_MEMCACHED_PORT:-11212}
RUN_AS=$(id -un)
if [ "${1:-start}" = stop ]; then
  for f in "$S"/run/*.pid; do [ -f "$f" ] && kill "$(cat "$f")" 2>/dev/null || true; done; exit 0; fi
for bin in swift-proxy-server swift-object-server swift-container-server swift-account-server swift-ring-builder memcached; do
  command -v "$bin" >/dev/null || { echo "swift_s3.sh: $bin is missing; install the Debian packages of .ci/system-packages.sh" >&2; exit 2; }
done
mkdir -p "$S/etc" "$S/srv/d1" "$S/run"
printf '[swift-hash]\nswift_hash_path_suffix = ci\nswift_hash_path_prefix = ci\n[storage-policy:0]\nname = Policy-0\ndefault = yes\n' > "$S/etc/swift.conf"
for kp in object:$OBJECT container:$CONTAINER account:$ACCOUNT; do n=${kp%%:*}; p=${kp##*:}
  printf '[DEFAULT]\nbind_ip = 127.0.0.1\nbind_port = %s\ndevices = %s/srv\nmount_check = false\nswift_dir = %s/etc\nworkers = 0\nuser = %s\nlog_level = WARNING\n[pipeline:main]\npipeline = %s-server\n[app:%s-server]\nuse = egg:swift#%s\n' "$p" "$S" "$S" "$RUN_AS" $n $n $n > "$S/etc/$n-server.conf"
  if [ ! -f "$S/etc/$n.ring.gz" ]; then
    (cd "$S/etc" && swift-ring-builder $n.builder create 2 1 1 && swift-ring-builder $n.builder add "r1z1-127.0.0.1:$p/d1" 100 && swift-ring-builder $n.builder rebalance) >/dev/null; fi
done
cat > "$S/etc/proxy-server.conf" <<CONF
[DEFAULT]
bind_ip = 127.0.0.1
bind_port = $PROXY
swift_dir = $S/etc
workers = 0
user = $RUN_AS
log_level = WARNING
[pipeline:main]
pipeline = catch_errors gatekeeper proxy-logging cache listing_formats s3api tempauth copy slo dlo proxy-logging proxy-server
[app:proxy-server]
use = egg:swift#proxy
account_autocreate = true
[filter:catch_errors]
use = egg:swift#catch_errors
[filter:gatekeeper]
use = egg:swift#gatekeeper
[filter:proxy-logging]
use = egg:swift#proxy_logging
[filter:cache]
use = egg:swift#memcache
memcache_servers = 127.0.0.1:$MEMCACHED
[filter:listing_formats]
use = egg:swift#listing_formats
[filter:s3api]
use = egg:swift#s3api
location = us-east-1
[filter:tempauth]
use = egg:swift#tempauth
user_test_tester = testing .admin
[filter:copy]
use = egg:swift#copy
[filter:slo]
use = egg:swift#slo
[filter:dlo]
use = egg:swift#dlo
CONF
memcached -l 127.0.0.1 -p "$MEMCACHED" -U 0 -u "$RUN_AS" -m 64 > "$S/run/memcached.log" 2>&1 & echo $! > "$S/run/memcached.pid"
for n in object container account proxy; do
  "$(command -v swift-$n-server)" "$S/etc/$n-server.conf" -v > "$S/run/$n.log" 2>&1 & echo $! > "$S/run/$n.pid"; done
for _ in $(seq 1 200); do curl -sf -o /dev/null "http://127.0.0.1:$PROXY/info" && exit 0; sleep 0.1; done
echo "swift proxy did not come up" >&2; tail -n 20 "$S"/run/*.log >&2; exit 1
