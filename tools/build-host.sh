#!/bin/sh
# build-host.sh entry.ts out-dir: build a TypeScript program through the
# product's native pipeline (esbuild -> porffor Wasm -> wasm2c), then link it
# as a hosted Linux executable (out-dir/prog) with the conformance tier's
# hosted intrinsics. Same compiler passes as the hypervisor, other runtime.
set -eu
entry=$1 out=$2
root=$(cd "$(dirname "$0")/.." && pwd)
mkdir -p "$out"
"$root/node_modules/.bin/esbuild" "$entry" --bundle --format=esm --target=es2022 \
  --define:__NATIVE__=true --outfile="$out/prog.js" --log-level=error
node "$root/tools/porfc.mjs" "$out/prog.js" "$out/prog.wasm" "$out/intrinsics_gen.h" >/dev/null
sh "$root/tools/wasm2c.sh" "$out/prog.wasm" "$out" prog
gcc -O2 -w -I"$out" -I/usr/src/wasm2c -DWASM_RT_USE_STACK_DEPTH_COUNT=0 -o "$out/prog" \
  "$out/prog.c" /usr/src/wasm2c/wasm-rt-impl.c \
  "$root/test/conformance/host/host_main.c" "$root/test/conformance/host/host_intrinsics.c" -lm
