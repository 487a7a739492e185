# ACRN-TS: TypeScript -> esbuild -> porffor (Wasm) -> wasm2c -> gcc (freestanding)
#          + nasm boot stub -> linker.ld -> ELF -> grub-mkrescue -> build/hv.iso
#
#   make          build build/hv.iso
#   make run      boot it in an emulator, serial console on this terminal
#   make test     every test tier; ends with "N passed, N failed"
#   make bench    build/boot figures
#
# Build configuration (host memory the hypervisor keeps for itself):
WASM_WINDOW_MB ?= 48    # fixed window for the TypeScript heap (Wasm linear memory)
POOL_MB        ?= 16    # 4 KiB page pool (VMCS, EPT, hypervisor-owned guest memory)

B       := build
NM      := node_modules/.bin
CC      := gcc
NATIVE  := arch/x86/native
TS_SRC  := $(shell find arch hv -name '*.ts' -not -path '*/native/*' | sort)
C_SRC   := $(wildcard $(NATIVE)/*.c)
C_OBJ   := $(patsubst $(NATIVE)/%.c,$(B)/native/%.o,$(C_SRC))
CFLAGS  := -O2 -std=gnu11 -ffreestanding -nostdinc -isystem $(shell $(CC) -print-file-name=include) \
           -I$(NATIVE)/include -I$(NATIVE) -I$(B) -I/usr/src/wasm2c \
           -fno-stack-protector -fno-pic -fno-pie -mno-red-zone -mcmodel=small \
           -fno-asynchronous-unwind-tables -fno-exceptions -fno-builtin -Wall -Wextra \
           -DWASM_RT_MEMCHECK_SIGNAL_HANDLER=0 -DWASM_RT_USE_STACK_DEPTH_COUNT=0 \
           -DWASM_WINDOW_MB=$(WASM_WINDOW_MB) -DPOOL_MB=$(POOL_MB)
LDFLAGS := -nostdlib -static -no-pie -T linker.ld -Wl,--build-id=none -Wl,-z,max-page-size=4096

all: $(B)/hv.iso

deps: $(B)/.deps
$(B)/.deps: tools/ensure-deps.sh package-lock.json
	@mkdir -p $(B)
	bash tools/ensure-deps.sh
	@touch $@

$(B)/hv.js: $(TS_SRC) $(B)/.deps
	$(NM)/esbuild hv/main.ts --bundle --format=esm --target=es2022 --define:__NATIVE__=true \
	  --outfile=$@ --log-level=warning

$(B)/hv.wasm $(B)/intrinsics_gen.h &: $(B)/hv.js tools/porfc.mjs tools/intrinsics.json tools/patch-porffor.mjs
	node tools/porfc.mjs $(B)/hv.js $(B)/hv.wasm $(B)/intrinsics_gen.h >/dev/null

$(B)/prog.c $(B)/prog.h &: $(B)/hv.wasm tools/wasm2c.sh tools/desimd.mjs tools/w2cfix.sh tools/w2c-volatile.mjs
	sh tools/wasm2c.sh $(B)/hv.wasm $(B) prog

# wasm2c's output is machine-made: its warnings are not ours.
$(B)/prog.o: $(B)/prog.c
	$(CC) $(CFLAGS) -w -c $< -o $@

$(B)/native/%.o: $(NATIVE)/%.c $(wildcard $(NATIVE)/*.h) $(B)/prog.h $(B)/intrinsics_gen.h Makefile
	@mkdir -p $(B)/native
	$(CC) $(CFLAGS) -c $< -o $@

ASM_SRC := $(wildcard boot/*.asm)
ASM_OBJ := $(patsubst boot/%.asm,$(B)/boot/%.o,$(ASM_SRC))

$(B)/boot/%.o: boot/%.asm
	@mkdir -p $(B)/boot
	nasm -f elf64 $< -o $@

$(B)/hv.elf: $(ASM_OBJ) $(C_OBJ) $(B)/prog.o linker.ld
	$(CC) $(LDFLAGS) -o $@ $(ASM_OBJ) $(C_OBJ) $(B)/prog.o -lgcc
	grub-file --is-x86-multiboot2 $@

$(B)/hv.iso: $(B)/hv.elf iso/grub.cfg
	rm -rf $(B)/iso && mkdir -p $(B)/iso/boot/grub
	cp $(B)/hv.elf $(B)/iso/boot/hv.elf
	cp iso/grub.cfg $(B)/iso/boot/grub/grub.cfg
	grub-mkrescue -o $@ $(B)/iso 2>$(B)/grub-mkrescue.log || { cat $(B)/grub-mkrescue.log; exit 1; }

# Test guests (guests/README.md): flat binaries loaded as GRUB modules.
GUEST_SRC := $(wildcard guests/*.asm)
GUEST_BIN := $(patsubst guests/%.asm,$(B)/guests/%.bin,$(GUEST_SRC))
guests: $(GUEST_BIN)
$(B)/guests/%.bin: guests/%.asm $(wildcard guests/*.inc)
	@mkdir -p $(B)/guests
	nasm -f bin -i guests/ $< -o $@

# The default scenario's VMs (tools/run.mjs): KERNEL=<bzImage> [INITRD=<initrd>] for the Service VM, SCENARIO=<image.bin>.
run: $(B)/hv.iso guests
	node tools/run.mjs

test: $(B)/hv.iso guests
	sh tools/fetch-test-kernel.sh || echo "make test: no Debian kernel for the loader tests (they report themselves skipped)"
	node test/run-all.mjs

bench: $(B)/.deps
	node tools/bench.mjs

typecheck: $(B)/.deps
	$(NM)/tsc -p tsconfig.json --noEmit

clean:
	rm -rf $(B)

.PHONY: all deps guests run test bench typecheck clean
