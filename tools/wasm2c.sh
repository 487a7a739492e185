#!/bin/sh
# wasm2c.sh in.wasm out-dir name: Wasm -> C with Debian's wabt 1.0.32, with the
# fix-ups its wasm2c needs for porffor's output (see tools/PORFFOR.md):
#  - wasm2c aborts on SIMD: tools/desimd.mjs rewrites porffor's one v128 use;
#  - multi-value exception payloads are packed in reverse: tools/w2cfix.sh;
#  - locals changed inside a try lose their value after a throw: tools/w2c-volatile.mjs.
set -eu
in=$1 out=$2 name=$3
tools=$(dirname "$0")
wasm2wat --enable-exceptions "$in" -o "$out/$name.wat"
node "$tools/desimd.mjs" "$out/$name.wat" "$out/$name.ds.wat" 2>/dev/null
wat2wasm --enable-exceptions "$out/$name.ds.wat" -o "$out/$name.ds.wasm"
wasm2c --enable-exceptions "$out/$name.ds.wasm" -n prog -o "$out/$name.c"
sh "$tools/w2cfix.sh" "$out/$name.c"
node "$tools/w2c-volatile.mjs" "$out/$name.c" 2>/dev/null
