/*
 * acpi.h - the processors of the machine, from the ACPI MADT.
 *
 * ACPI 6.x: RSDP (5.2.5) -> XSDT (5.2.8, 64-bit entries; revision >= 2 with
 * a non-zero address) or RSDT (5.2.7, 32-bit entries) -> the table with
 * signature "APIC", the MADT (5.2.12), whose Processor Local APIC (type 0,
 * 5.2.12.2) and Processor Local x2APIC (type 9, 5.2.12.12) entries name the
 * processors; bit 0 of their flags is "Enabled". Its I/O APIC entries (type
 * 1, 5.2.12.3: ID +2, address +4, global system interrupt base +8) name the
 * I/O APICs, which the Service VM gets one vIOAPIC each of.
 *
 * Every table is checked (signature, length bounds, checksum) before it is
 * used; anything garbled leaves the result at "no MADT" with a constant
 * reason, and the caller boots on the boot CPU alone. Physical memory is read
 * through the identity map (in the hosted test, through acpi_phys_offset).
 */
#pragma once
#include <stdbool.h>
#include <stdint.h>

#define ACPI_MAX_CPUS 8              /* = HV_MAX_CPUS (smp.h) */
#define ACPI_MAX_IOAPICS 8           /* = MAX_VIOAPICS (hv/vm/vm-devices.ts) */
#define ACPI_MAX_TABLE (1u << 20)    /* a sane upper bound for one table  */
#define ACPI_MAX_SDT_ENTRIES 256

struct acpi_cpus {
  uint32_t count;                    /* enabled processors kept (<= ACPI_MAX_CPUS) */
  uint32_t apic_id[ACPI_MAX_CPUS];   /* boot CPU first, then MADT order   */
  uint32_t dropped;                  /* enabled processors beyond ACPI_MAX_CPUS */
  uint32_t disabled;                 /* entries without the Enabled flag  */
  uint32_t x2apic_only;              /* enabled x2APIC entries with an ID > 255 (not startable in xAPIC mode) */
  uint64_t rsdp, sdt, madt;          /* where the tables were found (0: not) */
  uint32_t sdt_len, madt_len;
  uint32_t lapic_base;               /* MADT "Local Interrupt Controller Address" */
  uint64_t mmcfg_base, mmcfg_size;   /* MCFG's first ECAM window, from its start bus (0, 0: no MCFG) */
  uint32_t ioapic_count;             /* MADT I/O APIC entries kept (type 1, 5.2.12.3), MADT order */
  uint32_t ioapic_id[ACPI_MAX_IOAPICS];
  uint32_t ioapic_addr[ACPI_MAX_IOAPICS];
  uint32_t ioapic_gsi_base[ACPI_MAX_IOAPICS];
  uint32_t ioapics_dropped;          /* I/O APIC entries beyond ACPI_MAX_IOAPICS */
  bool bsp_listed;                   /* the boot CPU's APIC ID is in the MADT */
};

/* Added to every physical address before it is dereferenced (0 on the machine). */
extern uint64_t acpi_phys_offset;
/* Tables must lie below this physical address (the end of the identity map). */
extern uint64_t acpi_phys_limit;

/* A valid RSDP at pa (signature, checksum; extended checksum for revision >= 2)? */
bool acpi_rsdp_valid(uint64_t pa);

/* Search the EBDA's first KiB and 0xE0000-0xFFFFF (ACPI 5.2.5.1); 0 if none. */
uint64_t acpi_find_rsdp_bios(void);

/*
 * Fill *out from the tables reached from the RSDP at rsdp, with the boot
 * CPU (APIC ID bsp_apic_id) first. False, with a reason in acpi_error(), when
 * there is no usable MADT; *out then lists the boot CPU alone.
 */
bool acpi_read_cpus(uint64_t rsdp, uint32_t bsp_apic_id, struct acpi_cpus *out);

const char *acpi_error(void);
