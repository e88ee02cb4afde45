# Sourced by the install-*.sh scripts.
# `as_root NAME COMMAND...` runs a command as root: directly when root, else through sudo; without sudo it fails
# with a message prefixed by NAME.
as_root() {
  local name="$1"
  shift
  if [ "$(id -u)" = "0" ]; then "$@"; return; fi
  if ! command -v sudo >/dev/null 2>&1; then
    echo "$name: need root for: $*" >&2
    return 1
  fi
  sudo "$@"
}

# `apt_install NAME PACKAGE...` installs Debian packages as root, non-interactively and without recommended packages.
apt_install() {
  local name="$1"
  shift
  echo "$name: installing $*" >&2
  as_root "$name" env DEBIAN_FRONTEND=noninteractive apt-get update -qq >&2
  as_root "$name" env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "$@" >&2
}
