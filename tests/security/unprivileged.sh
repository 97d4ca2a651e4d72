#!/bin/sh
# Run a command as uid 65534 (`make test-unprivileged`), from root. In a mount namespace of its own, the
# user sees root's task runtimes in a cache of its own and, where Python lives under root's home (pyenv),
# a home that holds only that interpreter: root's home itself is not readable by others. Each run gets
# its own folder, so runs side by side do not disturb each other.
# Usage: unprivileged.sh RUNTIMES_DIR BASE_PREFIX COMMAND...
set -eu
runtimes=$1 base=$2
shift 2
view=$(mktemp -d /tmp/synthml-nobody.XXXXXX)
trap 'rm -rf "$view"' EXIT
install -d -o 65534 -g 65534 "$view/home" "$view/cache" "$view/cache/runtimes" "$view/tmp"
install -d "$view/.base"
chmod 755 "$view"
unshare --mount --propagation private sh -eu -c '
  runtimes=$1 base=$2 view=$3; shift 3
  mount --bind "$runtimes" "$view/cache/runtimes"
  case "$base" in
    "$HOME"/*) mount --bind "$base" "$view/.base"
               mount -t tmpfs -o mode=755 tmpfs "$HOME"
               mkdir -p "$base" && mount --bind "$view/.base" "$base" ;;
  esac
  exec setpriv --reuid 65534 --regid 65534 --clear-groups env -i HOME="$view/home" SYNTHML_CACHE="$view/cache" \
    TMPDIR="$view/tmp" HF_HUB_OFFLINE=1 PYTHONDONTWRITEBYTECODE=1 PATH=/usr/bin:/bin "$@"
' sh "$runtimes" "$base" "$view" "$@"
