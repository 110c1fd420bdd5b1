#!/usr/bin/env bash
# Validate every deployment file without a Docker engine or a cluster:
#   1. the compose file with `docker compose config` / `docker-compose config`
#      (Debian's docker-compose is installed with apt-get when missing and possible);
#   2. the structural checks of deploy/validate.py (compose, Kubernetes manifests,
#      Dockerfile), which tests/unit/test_deploy.py runs too.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)

compose_cli() {
  if docker compose version >/dev/null 2>&1; then
    echo "docker compose"
  elif command -v docker-compose >/dev/null 2>&1; then
    echo "docker-compose"
  fi
}

cli=$(compose_cli)
if [ -z "$cli" ] && command -v apt-get >/dev/null 2>&1 && [ "$(id -u)" = 0 ]; then
  echo "installing docker-compose (apt-get)"
  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq docker-compose \
    >/dev/null) || echo "docker-compose could not be installed"
  cli=$(compose_cli)
fi

if [ -n "$cli" ]; then
  tmp=$(mktemp -d)
  trap 'rm -rf "$tmp"' EXIT
  printf 'placeholder\n' >"$tmp/secret"
  echo "compose: $cli config"
  OPPCHAIN_SECRET_PATH="$tmp/secret" $cli --env-file "$root/deploy/compose/.env.example" \
    -f "$root/deploy/compose/compose.yaml" config -q
else
  echo "compose: no compose CLI; structural checks only"
fi

"${PYTHON:-python3}" deploy/validate.py
