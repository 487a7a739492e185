// The product's version, printed in the banner and by the shell's `version`.
export const HV_NAME = 'ACRN-TS';
export const HV_VERSION = '0.1.0';
export const HV_DESCRIPTION = 'x86-64 hypervisor modelled on ACRN, TypeScript compiled ahead of time';
