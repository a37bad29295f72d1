# Shared by scripts/test and scripts/run-local.

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

# Sets PYTHON: the interpreter to install into and run with. That is python3
# itself, unless it is a system Python that refuses pip installs (PEP 668, as
# Debian's does); then it is a virtualenv in .venv, made on first use.
choose_python() {
  PYTHON=python3
  local managed
  managed=$(python3 -c 'import os, sys, sysconfig
in_venv = sys.prefix != sys.base_prefix
marker = os.path.join(sysconfig.get_path("stdlib"), "EXTERNALLY-MANAGED")
print(int(not in_venv and os.path.exists(marker)))')
  [ "$managed" = 1 ] || return 0
  if [ ! -x .venv/bin/python ]; then
    echo "The system Python is externally managed: creating .venv ..."
    python3 -m venv .venv 2>/dev/null || { apt_install python3-venv && python3 -m venv .venv; }
  fi
  PYTHON=$PWD/.venv/bin/python
}

pip_install() {
  local log
  log=$(mktemp)
  if ! "$PYTHON" -m pip install --quiet --disable-pip-version-check --root-user-action=ignore "$@" >"$log" 2>&1; then
    cat "$log"
    rm -f "$log"
    return 1
  fi
  grep -v -e "neither a file nor a directory" -e "^$" "$log" || true
  rm -f "$log"
}

ensure_node() {
  if ! command -v npm >/dev/null 2>&1; then
    echo "Installing Debian's nodejs and npm for the TypeScript check..."
    apt_install nodejs npm
  fi
}

# The npm packages of the TypeScript check (tests/typescript), exactly as its
# lockfile says; skipped while the installed tree is newer than the lockfile.
npm_install_tests() {
  local dir=tests/typescript log
  if [ -f "$dir/node_modules/.package-lock.json" ] && [ "$dir/node_modules/.package-lock.json" -nt "$dir/package-lock.json" ]; then
    return 0
  fi
  log=$(mktemp)
  if ! npm ci --prefix "$dir" --no-audit --no-fund --loglevel=error >"$log" 2>&1; then
    cat "$log"
    rm -f "$log"
    return 1
  fi
  rm -f "$log"
}
