/*
 * acpi_test.c - hosted test of arch/x86/native/acpi.c: RSDP (1.0 and 2.0+),
 * RSDT and XSDT, the MADT's Local APIC and Local x2APIC entries, and every
 * garbled form falling back to the boot CPU alone. Physical addresses are
 * offsets into a buffer (acpi_phys_offset / acpi_phys_limit).
 */
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include "acpi.h"

static uint8_t mem[0x10000];
static int failures, checks;

#define CHECK(cond, ...) do { checks++; if (!(cond)) { failures++; printf("  FAIL %s:%d: ", __FILE__, __LINE__); printf(__VA_ARGS__); printf("\n"); } } while (0)

static void w32(uint32_t at, uint32_t v) { memcpy(mem + at, &v, 4); }
static void w64(uint32_t at, uint64_t v) { memcpy(mem + at, &v, 8); }
static uint8_t sum(uint32_t at, uint32_t n) { uint8_t s = 0; for (uint32_t i = 0; i < n; i++) s += mem[at + i]; return s; }
static void fix(uint32_t at, uint32_t n, uint32_t csum_at) { mem[csum_at] = 0; mem[csum_at] = (uint8_t)(0 - sum(at, n)); }

#define RSDP 0x100
#define XSDT 0x200
#define RSDT 0x300
#define FACP 0x400
#define MADT 0x500

static void header(uint32_t at, const char *sig, uint32_t len) {
  memcpy(mem + at, sig, 4);
  w32(at + 4, len);
  mem[at + 8] = 1;
  memcpy(mem + at + 10, "HVTEST", 6);
}

static uint32_t madt_len;
static void madt_begin(void) { header(MADT, "APIC", 44); w32(MADT + 36, 0xFEE00000); w32(MADT + 40, 1); madt_len = 44; }
static void lapic(uint8_t uid, uint8_t id, uint32_t flags) {
  uint32_t e = MADT + madt_len;
  mem[e] = 0; mem[e + 1] = 8; mem[e + 2] = uid; mem[e + 3] = id; w32(e + 4, flags);
  madt_len += 8;
}
static void x2apic(uint32_t id, uint32_t flags) {
  uint32_t e = MADT + madt_len;
  mem[e] = 9; mem[e + 1] = 16; mem[e + 2] = 0; mem[e + 3] = 0; w32(e + 4, id); w32(e + 8, flags); w32(e + 12, id);
  madt_len += 16;
}
static void ioapic_at(uint8_t id, uint32_t addr, uint32_t gsi_base) {
  uint32_t e = MADT + madt_len;
  mem[e] = 1; mem[e + 1] = 12; mem[e + 2] = id; w32(e + 4, addr); w32(e + 8, gsi_base);
  madt_len += 12;
}
static void ioapic(void) { ioapic_at(0, 0xFEC00000, 0); }
static void madt_end(void) { w32(MADT + 4, madt_len); fix(MADT, madt_len, MADT + 9); }

/* RSDP revision 2 -> XSDT [FACP, MADT], and RSDT [FACP, MADT] for revision 0. */
static void tables(int revision) {
  memset(mem, 0, sizeof mem);
  memcpy(mem + RSDP, "RSD PTR ", 8);
  memcpy(mem + RSDP + 9, "HVTEST", 6);
  mem[RSDP + 15] = (uint8_t)revision;
  w32(RSDP + 16, RSDT);
  w32(RSDP + 20, 36);
  w64(RSDP + 24, revision >= 2 ? XSDT : 0);
  fix(RSDP, 20, RSDP + 8);
  if (revision >= 2) fix(RSDP, 36, RSDP + 32);
  header(XSDT, "XSDT", 36 + 16); w64(XSDT + 36, FACP); w64(XSDT + 44, MADT); fix(XSDT, 52, XSDT + 9);
  header(RSDT, "RSDT", 36 + 8); w32(RSDT + 36, FACP); w32(RSDT + 40, MADT); fix(RSDT, 44, RSDT + 9);
  header(FACP, "FACP", 36); fix(FACP, 36, FACP + 9);
  madt_begin();
}

int main(void) {
  struct acpi_cpus c;
  acpi_phys_offset = (uint64_t)(uintptr_t)mem;
  acpi_phys_limit = sizeof mem;

  /* 2.0+: XSDT; BSP (APIC ID 2) not first in the MADT; a disabled CPU; an IOAPIC entry; an x2APIC entry. */
  tables(2);
  lapic(0, 0, 1); lapic(1, 2, 1); ioapic(); lapic(2, 4, 0); lapic(3, 6, 1); x2apic(8, 1); x2apic(300, 1);
  madt_end();
  CHECK(acpi_rsdp_valid(RSDP), "RSDP 2.0 valid");
  CHECK(acpi_read_cpus(RSDP, 2, &c), "read: %s", acpi_error());
  CHECK(c.count == 4 && c.apic_id[0] == 2 && c.apic_id[1] == 0 && c.apic_id[2] == 6 && c.apic_id[3] == 8,
        "boot CPU first, then MADT order: %u: %u %u %u %u", c.count, c.apic_id[0], c.apic_id[1], c.apic_id[2], c.apic_id[3]);
  CHECK(c.disabled == 1 && c.x2apic_only == 1 && c.dropped == 0 && c.bsp_listed, "disabled %u x2only %u dropped %u", c.disabled, c.x2apic_only, c.dropped);
  CHECK(c.sdt == XSDT && c.madt == MADT && c.madt_len == madt_len && c.lapic_base == 0xFEE00000, "where the tables are");

  CHECK(c.mmcfg_base == 0 && c.mmcfg_size == 0, "no MCFG: no ECAM window");
  CHECK(c.ioapic_count == 1 && c.ioapic_addr[0] == 0xFEC00000 && c.ioapic_gsi_base[0] == 0 && c.ioapic_id[0] == 0,
        "one I/O APIC: %u at %x", c.ioapic_count, c.ioapic_addr[0]);

  /* Two I/O APICs (IDs 8 and 9, GSIs from 0 and 24) and more than ACPI_MAX_IOAPICS. */
  tables(2); lapic(0, 0, 1); ioapic_at(8, 0xFEC00000, 0); ioapic_at(9, 0xFEC01000, 24); madt_end();
  CHECK(acpi_read_cpus(RSDP, 0, &c) && c.ioapic_count == 2 && c.ioapic_id[1] == 9 && c.ioapic_addr[1] == 0xFEC01000
        && c.ioapic_gsi_base[1] == 24 && c.ioapics_dropped == 0, "two I/O APICs: %u", c.ioapic_count);
  tables(2); lapic(0, 0, 1);
  for (int k = 0; k < 10; k++) ioapic_at((uint8_t)k, 0xFEC00000u + (uint32_t)k * 0x1000u, (uint32_t)k * 24u);
  madt_end();
  CHECK(acpi_read_cpus(RSDP, 0, &c) && c.ioapic_count == ACPI_MAX_IOAPICS && c.ioapics_dropped == 2, "ten I/O APICs: %u kept, %u dropped",
        c.ioapic_count, c.ioapics_dropped);

  /* An MCFG (in the FACP's slot): the first allocation, from its start bus (PCI Firmware Spec 4.1.2). */
  tables(2); lapic(0, 0, 1); madt_end();
  header(FACP, "MCFG", 60); w64(FACP + 44, 0xB0000000ull); mem[FACP + 54] = 2; mem[FACP + 55] = 0x3F; fix(FACP, 60, FACP + 9);
  CHECK(acpi_read_cpus(RSDP, 0, &c) && c.mmcfg_base == 0xB0200000ull && c.mmcfg_size == (0x3Eull << 20),
        "MCFG window %llx + %llx", (unsigned long long)c.mmcfg_base, (unsigned long long)c.mmcfg_size);
  /* A corrupt MCFG is ignored; the MADT still reads. */
  mem[FACP + 50] ^= 1;
  CHECK(acpi_read_cpus(RSDP, 0, &c) && c.mmcfg_size == 0, "bad MCFG checksum: no window");

  /* 1.0: RSDT. */
  tables(0);
  lapic(0, 0, 1); lapic(1, 1, 1);
  madt_end();
  CHECK(acpi_read_cpus(RSDP, 0, &c) && c.count == 2 && c.sdt == RSDT, "RSDT path: %s count %u", acpi_error(), c.count);

  /* More than ACPI_MAX_CPUS enabled processors: the rest are counted as dropped. */
  tables(2);
  for (int i = 0; i < 11; i++) lapic((uint8_t)i, (uint8_t)i, 1);
  madt_end();
  CHECK(acpi_read_cpus(RSDP, 0, &c) && c.count == ACPI_MAX_CPUS && c.dropped == 3, "cap: count %u dropped %u", c.count, c.dropped);

  /* Garbled: bad RSDP checksum. */
  tables(2); lapic(0, 0, 1); lapic(1, 1, 1); madt_end();
  mem[RSDP + 8] ^= 1;
  CHECK(!acpi_read_cpus(RSDP, 0, &c) && c.count == 1 && c.apic_id[0] == 0, "bad RSDP -> boot CPU alone (%s)", acpi_error());
  /* Bad XSDT checksum, RSDT still good: the RSDT is used. */
  tables(2); lapic(0, 0, 1); lapic(1, 1, 1); madt_end();
  mem[XSDT + 40] ^= 0xFF;
  CHECK(acpi_read_cpus(RSDP, 0, &c) && c.sdt == RSDT && c.count == 2, "XSDT bad -> RSDT");
  /* Bad MADT checksum. */
  tables(2); lapic(0, 0, 1); lapic(1, 1, 1); madt_end();
  mem[MADT + 50] ^= 1;
  CHECK(!acpi_read_cpus(RSDP, 0, &c) && c.count == 1, "bad MADT checksum (%s)", acpi_error());
  /* An entry running past the table. */
  tables(2); lapic(0, 0, 1); lapic(1, 1, 1); mem[MADT + 44 + 8 + 1] = 40; madt_end();
  CHECK(!acpi_read_cpus(RSDP, 0, &c) && c.count == 1 && strstr(acpi_error(), "past"), "entry overrun (%s)", acpi_error());
  /* A zero-length entry (would loop forever). */
  tables(2); lapic(0, 0, 1); mem[MADT + 44 + 1] = 0; madt_end();
  CHECK(!acpi_read_cpus(RSDP, 0, &c) && c.count == 1, "zero-length entry");
  /* A table length far past the readable memory. */
  tables(2); lapic(0, 0, 1); madt_end(); w32(MADT + 4, 0x80000);
  CHECK(!acpi_read_cpus(RSDP, 0, &c) && c.count == 1, "MADT length past memory");
  /* Table pointers outside memory. */
  tables(2); madt_end(); w64(XSDT + 44, 0xFFFFFFFFFFFFF000ull); fix(XSDT, 52, XSDT + 9);
  w32(RSDT + 40, 0xFFFFF000u); fix(RSDT, 44, RSDT + 9);
  CHECK(!acpi_read_cpus(RSDP, 0, &c) && c.count == 1, "MADT pointer outside memory (%s)", acpi_error());
  /* No RSDP at all. */
  CHECK(!acpi_read_cpus(0, 5, &c) && c.count == 1 && c.apic_id[0] == 5, "no RSDP");

  printf("  acpi: %d checks, %d failed\n", checks, failures);
  return failures ? 1 : 0;
}
