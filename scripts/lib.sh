# Shared by scripts/test, scripts/run-local, scripts/smoke and scripts/lock.
#
# Every command runs in a virtual environment built by uv from the project's
# own requirement files, never in the system's site-packages, so what a command
# needs is what its file names: .venv by default, or $OAUTH_EXCHANGE_VENV.
# scripts/test rebuilds it from nothing on every run; run-local and smoke add
# their own requirements to it, held to the versions of requirements-dev.lock.
# uv keeps downloaded wheels in its cache (~/.cache/uv), which holds files, not
# an environment: it cannot hide a missing requirement.

as_root() {
  if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi
}

apt_install() {
  as_root apt-get update -qq
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "$@" >/dev/null
}

ensure_chromium() {
  if [ ! -x /usr/bin/chromium ]; then
    echo "Installing Debian's chromium for the browser tests..."
    apt_install chromium
  fi
}

# Runs a command quietly, showing its output only when it fails.
quietly() {
  local log status=0
  log=$(mktemp)
  "$@" >"$log" 2>&1 || status=$?
  [ "$status" -eq 0 ] || cat "$log" >&2
  rm -f "$log"
  return "$status"
}

# Sets UV: the release requirements-dev.txt pins, in a tool environment of its
# own under .cache/uv (it holds uv alone, so it can stand in for no requirement).
ensure_uv() {
  local version tool=.cache/uv
  version=$(sed -n 's/^uv==\([0-9.]*\).*/\1/p' requirements-dev.txt)
  UV=$PWD/$tool/bin/uv
  case $("$UV" --version 2>/dev/null) in "uv $version "* | "uv $version") return 0 ;; esac
  echo "Installing uv $version into $tool ..."
  python3 -m venv --clear "$tool" 2>/dev/null || { apt_install python3-venv && python3 -m venv --clear "$tool"; }
  quietly "$tool/bin/python" -m pip install --disable-pip-version-check --root-user-action=ignore "uv==$version"
}

# Sets VENV and PYTHON. With "fresh", the environment is made anew (empty);
# otherwise one left by an earlier command is kept.
use_venv() {
  ensure_uv
  VENV=${OAUTH_EXCHANGE_VENV:-$PWD/.venv}
  PYTHON=$VENV/bin/python
  export UV_PYTHON_DOWNLOADS=never  # the machine's python3, never one uv would download
  if [ "${1:-}" = fresh ] || [ ! -x "$PYTHON" ]; then
    quietly "$UV" venv --clear --python "$(command -v python3)" "$VENV"
  fi
}

# Installs requirement files into VENV at the versions requirements-dev.lock pins.
venv_install() {
  local args=()
  for file in "$@"; do args+=(-r "$file"); done
  quietly "$UV" pip install --python "$PYTHON" "${args[@]}" -c requirements-dev.lock
}

# Makes VENV exactly requirements-dev.lock: nothing more, nothing less, hashes checked.
venv_sync_lock() {
  quietly "$UV" pip sync --python "$PYTHON" --require-hashes requirements-dev.lock
}

ensure_node() {
  if ! command -v npm >/dev/null 2>&1; then
    echo "Installing Debian's nodejs and npm for the TypeScript check..."
    apt_install nodejs npm
  fi
}

# The npm packages of the TypeScript and Vite checks (tests/typescript), made
# anew from their lockfile on every run, as the Python environment is.
npm_install_tests() {
  quietly npm ci --prefix tests/typescript --no-audit --no-fund --loglevel=error
}

# The CMSs' published bundles (Decap, Sveltia, Static CMS), for the CMS browser
# tests and run-local --cms: fetched from the npm registry into .cache/
# (gitignored) once, pinned and integrity-checked, then reused.
ensure_cms_bundles() {
  ensure_node
  "$PYTHON" -m local.cms_bundles
}
