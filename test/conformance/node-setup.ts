// Injected into the Node build of each conformance program (esbuild --inject):
// a SimMachine whose COM1 transmitter is stdout and whose command line is
// CONFORMANCE_CMDLINE, mirroring host/host_intrinsics.c.
import { attachSimMachine } from '../../arch/x86/intrinsics';
import { SimMachine } from '../../arch/x86/sim-machine';

const machine = new SimMachine();
machine.cmdline = process.env.CONFORMANCE_CMDLINE ?? '';
machine.serialSink = (c: number) => process.stdout.write(String.fromCharCode(c));
attachSimMachine(machine);
