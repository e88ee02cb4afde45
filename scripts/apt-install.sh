# Sourced by the install-*.sh scripts: `apt_install NAME PACKAGE...` installs Debian packages as root, through sudo
# when not root, non-interactively and without recommended packages. NAME prefixes the messages.
apt_install() {
  local name="$1"
  shift
  local sudo=""
  if [ "$(id -u)" != "0" ]; then
    if command -v sudo >/dev/null 2>&1; then sudo="sudo"; else
      echo "$name: need root to install: $*" >&2
      return 1
    fi
  fi
  echo "$name: installing $*" >&2
  export DEBIAN_FRONTEND=noninteractive
  $sudo apt-get update -qq >&2
  $sudo apt-get install -y -qq --no-install-recommends "$@" >&2
}
