#!/usr/bin/env bash
# Set up a Tracemark development environment; safe to run again at any time.
#
#   scripts/bootstrap.sh                  .venv with the project (editable) and the dev tools
#   scripts/bootstrap.sh --with bench     the same plus the benchmark extras
#   scripts/bootstrap.sh --with container the same plus podman, buildah, debootstrap
#   scripts/bootstrap.sh --force          reinstall even if the stamp says it is done
#
# Steps: (1) check python3 >= 3.11; (2) install the Debian packages in SYSTEM_PACKAGES
# when missing and we may (root or passwordless sudo, apt-get present), else print how;
# (3) create .venv, upgrade pip, `pip install -c requirements.lock -e '.[dev]'`, and the
# Python client `-e clients/python` (tracemark_client: the CLI's --server mode, the demo).
# Step 3 is skipped when .venv/.bootstrap-<extras>.stamp holds the hash of
# pyproject.toml + requirements.lock + clients/python/pyproject.toml + this script, so a
# second run takes well under 2 s.
# (4) with Node.js 20+, `npm ci` in clients/typescript and api/http/web, each only when its package.json or
# package-lock.json changed (a stamp in its node_modules).
#
# Environment: PYTHON (interpreter to create .venv with, default python3).
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
SELF="scripts/bootstrap.sh"

export DEBIAN_FRONTEND=noninteractive
export PIP_DISABLE_PIP_VERSION_CHECK=1
export PIP_NO_INPUT=1

# Debian packages wanted on the machine. Each is optional for most work: when one cannot be
# installed we say how and carry on. To add one, append it here (and, if `dpkg -s` is not
# the right presence check, add a case to system_package_present).
SYSTEM_PACKAGES=(
  libzbar0      # pyzbar's shared library: needed only for scanning codes from images
  poppler-utils # pdftoppm: the label tests rasterize print sheets to decode them
  chromium      # headless browser for the page tests (driven by playwright, no download)
  golang-go                # Go, and Go's reference tlog and signed-note code, to check our
  golang-golang-x-mod-dev  # tiles, proofs and checkpoints independently (tests/independent)
)

MIN_PYTHON="3.11"
PYTHON="${PYTHON:-python3}"
VENV=".venv"
CLIENT="clients/python" # the Python client, its own distribution (tracemark-client)
EXTRAS="dev"
FORCE=0

say() { printf 'bootstrap: %s\n' "$*"; }
die() {
  printf 'bootstrap: error: %s\n' "$*" >&2
  exit 1
}

while (($#)); do
  case "$1" in
    --with)
      [[ $# -ge 2 ]] || die "--with needs an extra name, e.g. --with bench"
      EXTRAS="$EXTRAS,$2"
      shift 2
      ;;
    --with=*)
      EXTRAS="$EXTRAS,${1#--with=}"
      shift
      ;;
    --force)
      FORCE=1
      shift
      ;;
    -h | --help)
      sed -n '2,19p' "$SELF" | sed 's/^# \{0,1\}//'
      exit 0
      ;;
    *) die "unknown argument '$1' (try --help)" ;;
  esac
done

# --- 1. Python ------------------------------------------------------------------------

python_ok() { # python_ok INTERPRETER: true if it runs and is >= MIN_PYTHON
  "$1" -c 'import sys; sys.exit(sys.version_info < (3, 11))' >/dev/null 2>&1
}

check_python() {
  if ! command -v "$PYTHON" >/dev/null 2>&1; then
    die "$PYTHON not found. Tracemark needs Python >= $MIN_PYTHON: on Debian 12 run
  'apt-get install python3 python3-venv' (or set PYTHON=/path/to/python3.11+)."
  fi
  if ! python_ok "$PYTHON"; then
    die "$PYTHON is $("$PYTHON" -c 'import platform; print(platform.python_version())' 2>/dev/null || echo unknown); Tracemark needs Python >= $MIN_PYTHON.
  Install it (Debian 12: 'apt-get install python3 python3-venv'; older systems: pyenv or
  deadsnakes) and run again, or set PYTHON=/path/to/python3.11+."
  fi
}

# --- 2. System packages ---------------------------------------------------------------

APT_UPDATED=0
SUDO=()

can_install_system_packages() {
  command -v apt-get >/dev/null 2>&1 || return 1
  if [[ $(id -u) -eq 0 ]]; then
    SUDO=()
  elif command -v sudo >/dev/null 2>&1 && sudo -n true >/dev/null 2>&1; then
    SUDO=(sudo -n env DEBIAN_FRONTEND=noninteractive)
  else
    return 1
  fi
}

system_package_present() {
  case "$1" in
    libzbar0) ldconfig -p 2>/dev/null | grep -q libzbar && return 0 ;;
    chromium) command -v chromium >/dev/null 2>&1 && return 0 ;;
    poppler-utils) command -v pdftoppm >/dev/null 2>&1 && return 0 ;;
  esac
  dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q 'install ok installed'
}

apt_install() {
  if ((!APT_UPDATED)); then
    say "apt-get update"
    "${SUDO[@]}" apt-get update -qq || return 1
    APT_UPDATED=1
  fi
  say "apt-get install $*"
  "${SUDO[@]}" apt-get install -y -qq --no-install-recommends "$@" </dev/null
}

ensure_system_packages() { # ensure_system_packages PKG...
  local pkg missing=()
  for pkg in "$@"; do
    system_package_present "$pkg" || missing+=("$pkg")
  done
  ((${#missing[@]})) || return 0
  if can_install_system_packages && apt_install "${missing[@]}"; then
    return 0
  fi
  say "warning: missing system package(s) ${missing[*]}; install with:" \
    "sudo apt-get install --no-install-recommends ${missing[*]} (continuing without them)"
}

# Debian's own python3 ships without ensurepip, so `python3 -m venv` needs python3.X-venv.
ensure_venv_module() {
  [[ -e $VENV ]] && return 0
  "$PYTHON" -c 'import ensurepip' >/dev/null 2>&1 && return 0
  if [[ "$("$PYTHON" -c 'import sys; print(sys.prefix)')" == /usr ]]; then
    ensure_system_packages "python$("$PYTHON" -c 'import sys; print("%d.%d" % sys.version_info[:2])')-venv"
  fi
}

# --- 3. Virtual environment -----------------------------------------------------------

stamp_key() {
  cat pyproject.toml requirements.lock "$CLIENT/pyproject.toml" "$SELF" | sha256sum | cut -d' ' -f1
}

stamp_file() { # stamp_file EXTRAS
  echo "$VENV/.bootstrap-${1//,/-}.stamp"
}

venv_ok() {
  [[ -x $VENV/bin/python ]] && python_ok "$VENV/bin/python"
}

ensure_venv() {
  local key stamp
  key="$(stamp_key)"
  stamp="$(stamp_file "$EXTRAS")"
  if ((!FORCE)) && venv_ok && [[ -f $stamp && "$(cat "$stamp")" == "$key" ]]; then
    say "$VENV up to date (.[$EXTRAS])"
    return 0
  fi

  if [[ -e $VENV ]] && ! venv_ok; then
    say "$VENV is broken or older than Python $MIN_PYTHON; recreating it"
    rm -rf "$VENV"
  fi
  if [[ ! -e $VENV ]]; then
    say "creating $VENV with $("$PYTHON" -c 'import sys; print(sys.executable, sys.version.split()[0])')"
    if ! "$PYTHON" -m venv "$VENV"; then
      rm -rf "$VENV"
      die "could not create $VENV. On Debian install the venv module:" \
        "'apt-get install python3-venv', then run again."
    fi
  fi

  rm -f "$VENV"/.bootstrap-*.stamp
  say "upgrading pip"
  "$VENV/bin/python" -m pip install -q --upgrade pip
  say "installing tracemark -e .[$EXTRAS] (constrained by requirements.lock)"
  "$VENV/bin/python" -m pip install -q -c requirements.lock -e ".[$EXTRAS]"
  say "installing the Python client -e $CLIENT"
  "$VENV/bin/python" -m pip install -q -c requirements.lock -e "$CLIENT"

  echo "$key" >"$stamp"
  # A superset of extras satisfies the plain dev set too.
  [[ $EXTRAS == dev ]] || echo "$key" >"$(stamp_file dev)"
  say "done: $VENV ready (.[$EXTRAS])"
}

# The OpenAPI client generator in its own venv (requirements-codegen.lock: its typer pin
# clashes with the project's), for tests/api/test_openapi_client.py.
CODEGEN="$VENV/tools/codegen"
ensure_codegen() {
  local key stamp="$CODEGEN/.bootstrap.stamp"
  key="$(sha256sum requirements-codegen.lock | cut -d' ' -f1)"
  if ((!FORCE)) && [[ -x $CODEGEN/bin/openapi-python-client && -f $stamp && "$(cat "$stamp")" == "$key" ]]; then
    return 0
  fi
  say "installing the OpenAPI client generator in $CODEGEN (requirements-codegen.lock)"
  rm -rf "$CODEGEN"
  "$VENV/bin/python" -m venv "$CODEGEN"
  "$CODEGEN/bin/python" -m pip install -q -r requirements-codegen.lock
  echo "$key" >"$stamp"
}

# The npm projects' dev dependencies (package-lock.json): the TypeScript client
# (clients/typescript, for tests/clients/test_typescript*.py) and the scan page's browser
# sources (api/http/web, whose built files are committed; tests/pages/test_scan_routes.py
# rebuilds them and compares). Optional: without Node.js 20+ those tests are skipped.
NPM_PROJECTS=("clients/typescript" "api/http/web")
ensure_npm_project() {
  local dir="$1" key stamp="$1/node_modules/.bootstrap.stamp" major
  if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then
    say "node/npm not found: the tests needing $dir are skipped (install Node.js 20+ and npm)"
    return 0
  fi
  major="$(node -p 'process.versions.node.split(".")[0]' 2>/dev/null || echo 0)"
  if ((major < 20)); then
    say "node $(node --version) is older than 20: the tests needing $dir are skipped"
    return 0
  fi
  key="$(cat "$dir/package.json" "$dir/package-lock.json" | sha256sum | cut -d' ' -f1)"
  if ((!FORCE)) && [[ -f $stamp && "$(cat "$stamp")" == "$key" ]]; then
    return 0
  fi
  say "npm ci in $dir (package-lock.json)"
  if ! (cd "$dir" && npm ci --no-audit --no-fund --loglevel=error); then
    say "warning: npm ci failed in $dir (offline, or the registry is unreachable)." \
      "Fix: run 'make setup' again when online, or point npm at a mirror" \
      "(npm config set registry https://<mirror>/). Until then the tests needing it are skipped."
    return 0
  fi
  echo "$key" >"$stamp"
}

[[ -f requirements.lock ]] || die "requirements.lock is missing; restore it from git or run 'make lock'"
check_python
ensure_system_packages "${SYSTEM_PACKAGES[@]}"
if [[ ",$EXTRAS," == *,bench,* ]]; then
  ensure_system_packages wrk nginx-light # load generator (service, tiles); static tile server (tiles)
fi
if [[ ",$EXTRAS," == *,container,* ]]; then
  # make image / make test-container: build and run the image without a Docker daemon
  ensure_system_packages podman buildah debootstrap uidmap
  EXTRAS="${EXTRAS//,container/}" # system packages only, no Python extra
fi
ensure_venv_module
ensure_venv
ensure_codegen
for project in "${NPM_PROJECTS[@]}"; do ensure_npm_project "$project"; done
