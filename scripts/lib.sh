# Shared by scripts/test and scripts/run-local.

as_root() {
  if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi
}

ensure_chromium() {
  if [ ! -x /usr/bin/chromium ]; then
    echo "Installing Debian's chromium for the browser tests..."
    as_root apt-get update -qq
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends chromium >/dev/null
  fi
}

pip_install() {
  local log
  log=$(mktemp)
  if ! python3 -m pip install --quiet --disable-pip-version-check --root-user-action=ignore "$@" >"$log" 2>&1; then
    cat "$log"
    rm -f "$log"
    return 1
  fi
  grep -v -e "neither a file nor a directory" -e "^$" "$log" || true
  rm -f "$log"
}
