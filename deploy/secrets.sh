#!/usr/bin/env bash
# Create the secrets compose.yaml reads, once: deploy/secrets/{postgres_password,
# service_password,key_passphrase,scan_salt,secrets_key}, random, never overwritten (the key passphrase
# must stay the one the operator key was encrypted with: back it up with the key).
# `make up` runs this.
#
# The folder is private to you (0700); the files are 0644 because Docker Compose bind-mounts
# them into containers that do not run as you.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/secrets"
chmod 0700 .
umask 022
for name in postgres_password service_password key_passphrase scan_salt; do
  if [[ ! -s $name ]]; then
    head -c 30 /dev/urandom | base64 | tr -d '/+=\n' >"$name"
    echo "deploy/secrets.sh: created deploy/secrets/$name"
  fi
done
# The key that encrypts webhook secrets at rest: <key id>:<base64url of 32 bytes>.
if [[ ! -s secrets_key ]]; then
  printf 'compose1:%s' "$(head -c 32 /dev/urandom | base64 | tr '+/' '-_' | tr -d '=\n')" \
    >secrets_key
  echo "deploy/secrets.sh: created deploy/secrets/secrets_key"
fi
