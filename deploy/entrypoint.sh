#!/bin/sh
# Entry point of the Tracemark image: read secrets from files, then run the command.
#
# For each NAME below, when NAME_FILE is set (a Docker secret, /run/secrets/...), NAME is
# set to that file's content, so secrets never sit in the container's configuration:
#   TRACEMARK_KEY_PASSPHRASE  decrypts the operator key
#   TRACEMARK_SCAN_SALT       pepper of the device hashes (their salts rotate in the
#                             database); every replica must use the same
#   PGPASSWORD                PostgreSQL password (libpq reads it; the URL carries none)
#   TRACEMARK_SECRETS_KEY     encrypts webhook secrets at rest; every replica the same
set -eu

for name in TRACEMARK_KEY_PASSPHRASE TRACEMARK_SCAN_SALT PGPASSWORD TRACEMARK_SECRETS_KEY; do
  eval "file=\${${name}_FILE:-}"
  [ -n "$file" ] || continue
  if [ ! -r "$file" ]; then
    echo "tracemark-entrypoint: error: ${name}_FILE: cannot read $file" >&2
    exit 2
  fi
  value=$(cat "$file")
  export "$name=$value"
  unset "${name}_FILE"
done

exec "$@"
