/* host_main.c - runs a conformance program compiled through the product's
   pipeline (porffor Wasm -> wasm2c) as a Linux process: argv[1] is the
   command line the program reads through the __cmdline intrinsics. */
#include <stdio.h>
#include "prog.h"

Z_prog_instance_t host_instance;
const char *host_cmdline = "";

int main(int argc, char **argv) {
  if (argc > 1) host_cmdline = argv[1];
  wasm_rt_init();
  Z_prog_init_module();
  Z_prog_instantiate(&host_instance, NULL);
  Z_progZ_m(&host_instance);
  fflush(stdout);
  return 0;
}
