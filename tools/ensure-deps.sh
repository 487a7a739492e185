#!/usr/bin/env bash
# ensure-deps.sh [build|run|test]: install what the build and the tests need
# on a fresh Debian machine. As root it runs apt-get and npm ci; otherwise it
# prints the exact command to run and fails.
set -euo pipefail
cd "$(dirname "$0")/.."

# command -> Debian package
declare -A PKG=(
  [nasm]=nasm [grub-mkrescue]=grub-common [xorriso]=xorriso [mformat]=mtools
  [qemu-system-x86_64]=qemu-system-x86 [bochs]=bochs [wasm2c]=wabt
)
# packages with no command of their own to look for
FILES=(/usr/lib/grub/i386-pc/moddep.lst:grub-pc-bin /usr/share/bochs/BIOS-bochs-latest:bochsbios
       /usr/share/vgabios/vgabios.bin:vgabios /usr/lib/x86_64-linux-gnu/bochs/plugins/libbx_term.so:bochs-term
       /usr/src/wasm2c/wasm-rt.h:wabt)

missing=()
for cmd in "${!PKG[@]}"; do command -v "$cmd" >/dev/null 2>&1 || missing+=("${PKG[$cmd]}"); done
for entry in "${FILES[@]}"; do [ -e "${entry%%:*}" ] || missing+=("${entry##*:}"); done
if [ ${#missing[@]} -gt 0 ]; then
  mapfile -t missing < <(printf '%s\n' "${missing[@]}" | sort -u)
  cmd="apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends ${missing[*]}"
  if [ "$(id -u)" -eq 0 ]; then
    echo "ensure-deps: installing ${missing[*]}"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  else
    echo "ensure-deps: missing Debian packages; run as root:" >&2
    echo "  sudo sh -c '$cmd'" >&2
    exit 1
  fi
fi

# node_modules: install from the lock file when absent or older than the lock.
if [ ! -d node_modules/porffor ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  echo "ensure-deps: npm ci"
  npm ci --no-audit --no-fund --loglevel=error
fi
# The porffor patches are idempotent; re-apply in case node_modules was restored without scripts.
node tools/patch-porffor.mjs >/dev/null
