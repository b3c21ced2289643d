#!/usr/bin/env bash
# Build the Tracemark container image without a Docker daemon and without pulling an image:
# Debian's debootstrap makes a bookworm base from Debian's packages, `podman import` turns it
# into a local image, and buildah builds the Dockerfile on it (`--isolation chroot`).
#
#   scripts/image.sh            the base image (once) and the Tracemark image
#   scripts/image.sh base       only the base image (skipped when it exists)
#   scripts/image.sh --rebase   make the base image again first (e.g. for Debian updates)
#
# Environment: TRACEMARK_IMAGE (tracemark:local), TRACEMARK_BASE_IMAGE
# (localhost/tracemark-base:bookworm), DEBIAN_MIRROR (http://deb.debian.org/debian).
# Installs podman, buildah and debootstrap with apt-get when missing (root or passwordless
# sudo). Prints the build time and the image size. `make image` runs it; `make
# test-container` builds and smoke-tests the image (tests/e2e/test_container.py).
#
# The base is Debian's python3 (3.11 on bookworm) with python3-venv, python-is-python3 and
# ca-certificates, plus the CA certificates this machine trusts (/usr/local/share/
# ca-certificates): with a TLS-inspecting proxy between the build and PyPI, pip in the build
# must trust what the host trusts. The Dockerfile's default base, python:3.11-slim-bookworm,
# is what a machine with a registry uses instead (`docker build .`).
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."

IMAGE="${TRACEMARK_IMAGE:-tracemark:local}"
BASE="${TRACEMARK_BASE_IMAGE:-localhost/tracemark-base:bookworm}"
MIRROR="${DEBIAN_MIRROR:-http://deb.debian.org/debian}"
BASE_PACKAGES="python3,python3-venv,python-is-python3,ca-certificates"

say() { printf 'image: %s\n' "$*" >&2; }
die() {
  printf 'image: error: %s\n' "$*" >&2
  exit 1
}

SUDO=()
if [[ $(id -u) -ne 0 ]]; then
  SUDO=(sudo -n)
fi

ensure_tools() {
  local missing=()
  command -v podman >/dev/null 2>&1 || missing+=(podman)
  command -v buildah >/dev/null 2>&1 || missing+=(buildah)
  command -v debootstrap >/dev/null 2>&1 || missing+=(debootstrap)
  ((${#missing[@]})) || return 0
  command -v apt-get >/dev/null 2>&1 || die "needs ${missing[*]} (no apt-get here: install them)"
  say "apt-get install ${missing[*]}"
  "${SUDO[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update -qq ||
    die "apt-get update failed (root or passwordless sudo needed to install ${missing[*]})"
  "${SUDO[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
    --no-install-recommends "${missing[@]}" uidmap </dev/null >/dev/null ||
    die "could not install ${missing[*]}"
}

make_base() {
  if ((!REBASE)) && "${SUDO[@]}" podman image exists "$BASE"; then
    say "base image $BASE exists"
    return 0
  fi
  local root started
  started=$SECONDS
  root="$(mktemp -d /var/tmp/tracemark-base.XXXXXX)"
  # shellcheck disable=SC2064 # expand now: the folder to remove is this one
  trap "\"\${SUDO[@]}\" rm -rf '$root'" EXIT
  say "debootstrap bookworm into $root (about a minute)"
  "${SUDO[@]}" debootstrap --variant=minbase --include="$BASE_PACKAGES" bookworm "$root/fs" \
    "$MIRROR" >"$root/debootstrap.log" 2>&1 || {
    tail -n 20 "$root/debootstrap.log" >&2
    die "debootstrap failed (log above)"
  }
  if compgen -G "/usr/local/share/ca-certificates/*.crt" >/dev/null; then
    "${SUDO[@]}" cp /usr/local/share/ca-certificates/*.crt "$root/fs/usr/local/share/ca-certificates/"
    "${SUDO[@]}" chroot "$root/fs" update-ca-certificates >/dev/null
  fi
  "${SUDO[@]}" rm -rf "$root"/fs/var/cache/apt/archives/*.deb "$root"/fs/var/lib/apt/lists/* \
    "$root"/fs/var/log/* "$root"/fs/usr/share/doc "$root"/fs/usr/share/man
  "${SUDO[@]}" rm -f "$root/fs/etc/hostname" "$root/fs/etc/resolv.conf"
  "${SUDO[@]}" tar -C "$root/fs" -c . | "${SUDO[@]}" podman import \
    --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
    --change 'ENV LANG=C.UTF-8' \
    --change 'CMD ["/bin/bash"]' - "$BASE" >/dev/null
  "${SUDO[@]}" rm -rf "$root"
  trap - EXIT
  say "base image $BASE made in $((SECONDS - started)) s"
}

build_image() {
  local started size
  started=$SECONDS
  say "building $IMAGE on $BASE"
  "${SUDO[@]}" buildah bud --isolation chroot --network host --layers --format docker \
    --build-arg "PYTHON_IMAGE=$BASE" -t "$IMAGE" . >&2
  size="$("${SUDO[@]}" podman image inspect --format '{{.Size}}' "$IMAGE")"
  say "built $IMAGE in $((SECONDS - started)) s; size $((size / 1000000)) MB"
}

REBASE=0
ONLY_BASE=0
while (($#)); do
  case "$1" in
    base) ONLY_BASE=1 ;;
    --rebase) REBASE=1 ;;
    -h | --help)
      sed -n '2,14p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'
      exit 0
      ;;
    *) die "unknown argument '$1' (try --help)" ;;
  esac
  shift
done

ensure_tools
make_base
((ONLY_BASE)) || build_image
