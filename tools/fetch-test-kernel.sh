#!/bin/sh
# Fetch a real Linux bzImage for the loader tests (test/unit/sw-loader-linux.test.ts):
# Debian's linux-image package, downloaded with `apt-get download` and unpacked
# with dpkg-deb, keeping only /boot/vmlinuz-*. The result goes to a cache that
# is not committed:
#
#   build/cache/linux/vmlinuz   the bzImage
#   build/cache/linux/VERSION   "<package> <version>" (the test prints it)
#
# usage: sh tools/fetch-test-kernel.sh
#   KERNEL_PACKAGE=<name>  a given package (default: what linux-image-amd64 depends on)
#   KERNEL_CACHE=<dir>     another cache directory
# Runs `apt-get update` once when apt knows no such package yet. Does nothing
# when the cache already holds a kernel. Exit status 0 on success.
set -eu

root=$(cd "$(dirname "$0")/.." && pwd)
cache=${KERNEL_CACHE:-$root/build/cache/linux}

if [ -s "$cache/vmlinuz" ] && [ -s "$cache/VERSION" ]; then
  echo "fetch-test-kernel: cached: $(cat "$cache/VERSION") in $cache"
  exit 0
fi

for tool in apt-get apt-cache dpkg-deb tar; do
  command -v "$tool" >/dev/null 2>&1 || { echo "fetch-test-kernel: $tool not found (a Debian-based machine is needed)" >&2; exit 1; }
done

# The real image package behind the linux-image-amd64 metapackage.
pick_package() {
  apt-cache depends linux-image-amd64 2>/dev/null | awk '$1 ~ /Depends:/ && $2 ~ /^linux-image-/ { print $2; exit }'
}

pkg=${KERNEL_PACKAGE:-}
if [ -z "$pkg" ]; then
  pkg=$(pick_package || true)
  if [ -z "$pkg" ]; then
    echo "fetch-test-kernel: apt knows no linux-image-amd64 yet; running apt-get update"
    apt-get update -qq
    pkg=$(pick_package || true)
  fi
  [ -n "$pkg" ] || { echo "fetch-test-kernel: cannot find the package behind linux-image-amd64" >&2; exit 1; }
fi

work="$cache/download.$$"
rm -rf "$work"
mkdir -p "$work"
trap 'rm -rf "$work"' EXIT INT TERM

echo "fetch-test-kernel: apt-get download $pkg"
if ! (cd "$work" && apt-get download -q "$pkg" >/dev/null 2>"$work/apt.err"); then
  # A stale package list names a version the mirror no longer has: refresh once.
  echo "fetch-test-kernel: download failed; running apt-get update and retrying"
  apt-get update -qq
  (cd "$work" && apt-get download -q "$pkg") || { cat "$work/apt.err" >&2; exit 1; }
fi

deb=$(ls "$work"/*.deb 2>/dev/null | head -n 1)
[ -n "$deb" ] || { echo "fetch-test-kernel: apt-get download left no .deb" >&2; exit 1; }
version=$(dpkg-deb -f "$deb" Version)
package=$(dpkg-deb -f "$deb" Package)

# Only the kernel image: the modules are hundreds of MiB we do not need.
dpkg-deb --fsys-tarfile "$deb" | (cd "$work" && tar -xf - --wildcards './boot/vmlinuz-*')
image=$(ls "$work"/boot/vmlinuz-* 2>/dev/null | head -n 1)
[ -n "$image" ] || { echo "fetch-test-kernel: $package has no /boot/vmlinuz-*" >&2; exit 1; }

mkdir -p "$cache"
cp "$image" "$cache/vmlinuz.tmp"
mv "$cache/vmlinuz.tmp" "$cache/vmlinuz"
echo "$package $version" >"$cache/VERSION"
echo "fetch-test-kernel: $package $version -> $cache/vmlinuz ($(wc -c <"$cache/vmlinuz") bytes)"
