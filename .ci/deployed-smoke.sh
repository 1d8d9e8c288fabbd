#!/usr/bin/env bash
# The deployed layout from requirements.txt alone: a clean virtualenv with the
# runtime set only (as docs/deployment.md installs it), then gunicorn, granian,
# uvicorn, a Celery worker and beat on PostgreSQL and Redis, behind nginx with
# deploy/nginx.conf, deliver a pack rollout (.ci/deployed_smoke.py). A runtime dependency that only the dev requirements
# bring in fails here.
set -euo pipefail
cd "$(dirname "$0")/.."
export PIP_DISABLE_PIP_VERSION_CHECK=1
dir=$(mktemp -d /tmp/trailhub-deployed.XXXXXX)
. .ci/redis-db.sh
[ -n "${CI_REDIS_URL:-}" ] || claim_redis_db  # .ci/run has claimed one already
trap 'rm -rf "$dir"; release_redis_db' EXIT
python3 -m venv "$dir/venv"
"$dir/venv/bin/pip" install --quiet -r requirements.txt
"$dir/venv/bin/pip" install --quiet --no-deps -e .
if "$dir/venv/bin/python" -c "import pytest" 2>/dev/null; then
  echo "the runtime virtualenv has pytest: it is not requirements.txt alone" >&2
  exit 1
fi
SMOKE_DIR="$dir/run" "$dir/venv/bin/python" .ci/deployed_smoke.py
