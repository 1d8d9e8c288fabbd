# Sourced by .ci/run and .ci/deployed-smoke.sh. claim_redis_db takes a Redis database
# of this run's own and exports CI_REDIS_URL; release_redis_db gives it back. The
# claim is conftest.py's redis_db fixture's: a SET NX in database 0 with an expiry (in
# case the run dies), so two runs at once, or a run and a pytest inside it, never share one.
REDIS_DB_LOCK="trailhub-tests:redis-db"

claim_redis_db() {
  local number
  for number in $(seq 15 -1 1); do
    if [ "$(redis-cli -h 127.0.0.1 -p 6379 -n 0 SET "$REDIS_DB_LOCK:$number" "$(hostname):$$" NX EX 7200)" = OK ]; then
      CI_REDIS_DB=$number
      export CI_REDIS_URL="redis://127.0.0.1:6379/$number"
      return 0
    fi
  done
  echo "no free Redis database on 127.0.0.1:6379: 15 runs hold them all" >&2
  return 1
}

release_redis_db() {
  if [ -n "${CI_REDIS_DB:-}" ]; then
    redis-cli -h 127.0.0.1 -p 6379 -n 0 DEL "$REDIS_DB_LOCK:$CI_REDIS_DB" >/dev/null || true
  fi
}
