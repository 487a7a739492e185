#!/bin/sh
# Hosted unit test of the native memory-management layer
# (arch/x86/native/{multiboot2,memmap,palloc,physaccess}.c).
#
#  1. compiles each source with the freestanding product flags (-Werror), to
#     catch anything the hosted build would let through;
#  2. builds test/native/mm_test.c with the host gcc and -DHOSTED_TEST, runs it;
#  3. does the same with -fsanitize=address,undefined when the toolchain and
#     the machine support it.
#
# Exit status: 0 when every step passed, 1 otherwise.
# Environment: CC (default gcc).
set -u

here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
native="$root/arch/x86/native"
CC=${CC:-gcc}
srcs="$native/multiboot2.c $native/memmap.c $native/palloc.c $native/physaccess.c"
# Compiled freestanding too, tested by acpi_test.c (MADT parsing).
extra_srcs="$native/acpi.c"
out=$(mktemp -d "${TMPDIR:-/tmp}/native-mm.XXXXXX") || exit 1
trap 'rm -rf "$out"' EXIT INT TERM
status=0

# 1. Freestanding compile check.
gccinc=$($CC -print-file-name=include)
for src in $srcs $extra_srcs; do
	if ! $CC -std=gnu11 -ffreestanding -nostdinc -isystem "$gccinc" \
		-fno-stack-protector -fno-pic -fno-pie -mno-red-zone -mcmodel=small \
		-O2 -Wall -Wextra -Werror -c "$src" -o "$out/$(basename "$src" .c).o"; then
		echo "native-mm: freestanding compile of $(basename "$src") failed"
		status=1
	fi
done

hosted_flags="-std=gnu11 -O1 -g -Wall -Wextra -Werror -DHOSTED_TEST -I$native"

# build_and_run LABEL EXTRA_FLAGS...
build_and_run() {
	label=$1
	shift
	# shellcheck disable=SC2086 # word splitting of the flag lists is intended
	if ! $CC $hosted_flags "$@" -o "$out/mm_test_$label" "$here/mm_test.c" $srcs; then
		echo "native-mm ($label): build failed"
		status=1
		return
	fi
	echo "native-mm ($label):"
	if ! ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
		"$out/mm_test_$label"; then
		status=1
	fi
}

# 2. Plain build.
build_and_run plain

# 3. Sanitizers, if a trivial program builds and runs with them.
san="-fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer"
printf 'int main(void){return 0;}\n' >"$out/probe.c"
# shellcheck disable=SC2086
if $CC $san -o "$out/probe" "$out/probe.c" 2>/dev/null && "$out/probe" 2>/dev/null; then
	# shellcheck disable=SC2086
	build_and_run sanitized $san
else
	echo "native-mm: sanitizers unavailable here, skipped"
fi

# 4. The ACPI MADT parser (arch/x86/native/acpi.c), plain and with sanitizers.
for flags in "" "$san"; do
	# shellcheck disable=SC2086
	if [ -n "$flags" ] && ! { $CC $san -o "$out/probe" "$out/probe.c" 2>/dev/null && "$out/probe" 2>/dev/null; }; then
		continue
	fi
	# shellcheck disable=SC2086
	if ! $CC $hosted_flags $flags -o "$out/acpi_test" "$here/acpi_test.c" "$native/acpi.c"; then
		echo "native-acpi: build failed"
		status=1
		continue
	fi
	if [ -n "$flags" ]; then echo "native-acpi (sanitized):"; else echo "native-acpi (plain):"; fi
	"$out/acpi_test" || status=1
done

exit $status
