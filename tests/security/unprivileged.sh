#!/bin/sh
# Run a command as uid 65534 (`make test-unprivileged`), from root. In a mount namespace of its own,
# the user sees root's task runtimes in a cache of its own and, where Python or this checkout lives
# under root's home (pyenv), a home that holds only those: root's home is not readable by others.
# Each run gets its own folder, so runs side by side do not disturb each other.
# Usage: unprivileged.sh RUNTIMES_DIR BASE_PREFIX COMMAND...
set -eu
runtimes=$1 base=$2
shift 2
view=$(mktemp -d /tmp/synthml-nobody.XXXXXX)
trap 'rm -rf "$view"' EXIT
install -d -o 65534 -g 65534 "$view/home" "$view/cache" "$view/cache/runtimes" "$view/tmp"
install -d "$view/.keep"
chmod 755 "$view"
unshare --mount --propagation private sh -eu -c '
  runtimes=$1 base=$2 view=$3; shift 3
  mount --bind "$runtimes" "$view/cache/runtimes"
  # what lives under root home (pyenv Python, this checkout) is bound back over a bare home
  keep=""
  for path in "$base" "$PWD"; do
    case "$path" in "$HOME"/*) keep="$keep $path" ;; esac
  done
  if [ -n "$keep" ]; then
    mount --bind "$HOME" "$view/.keep"
    mount -t tmpfs -o mode=755 tmpfs "$HOME"
    for path in $keep; do
      mkdir -p "$path" && mount --bind "$view/.keep/${path#"$HOME"/}" "$path"
    done
  fi
  exec setpriv --reuid 65534 --regid 65534 --clear-groups env -i HOME="$view/home" SYNTHML_CACHE="$view/cache" \
    TMPDIR="$view/tmp" HF_HUB_OFFLINE=1 PYTHONDONTWRITEBYTECODE=1 PATH=/usr/bin:/bin "$@"
' sh "$runtimes" "$base" "$view" "$@"
