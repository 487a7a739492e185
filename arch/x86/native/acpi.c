/* acpi.c - see acpi.h. */
#include <stdbool.h>
#include <stdint.h>
#include "acpi.h"

uint64_t acpi_phys_offset;
uint64_t acpi_phys_limit = UINT64_MAX;

/* [pa, pa + n) lies below acpi_phys_limit (no wrap). */
static bool in_range(uint64_t pa, uint64_t n) { return pa + n >= pa && pa + n <= acpi_phys_limit; }

static const char *err = "";

static bool fail(const char *why) {
  err = why;
  return false;
}

const char *acpi_error(void) { return err; }

static inline const uint8_t *at(uint64_t pa) { return (const uint8_t *)(uintptr_t)(pa + acpi_phys_offset); }
static inline uint32_t rd32(const uint8_t *p) { return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24; }
static inline uint64_t rd64(const uint8_t *p) { return rd32(p) | (uint64_t)rd32(p + 4) << 32; }

static uint8_t sum(const uint8_t *p, uint32_t n) {
  uint8_t s = 0;
  for (uint32_t i = 0; i < n; i++) s = (uint8_t)(s + p[i]);
  return s;
}

static bool sig_is(const uint8_t *p, const char *sig, uint32_t n) {
  for (uint32_t i = 0; i < n; i++)
    if (p[i] != (uint8_t)sig[i]) return false;
  return true;
}

/* RSDP (ACPI 5.2.5.3): "RSD PTR " +0, checksum over 20 bytes, revision +15,
   RSDT address +16 (u32), length +20 (u32), XSDT address +24 (u64),
   extended checksum over `length` bytes. */
bool acpi_rsdp_valid(uint64_t pa) {
  if (pa == 0 || !in_range(pa, 36)) return false;
  const uint8_t *p = at(pa);
  if (!sig_is(p, "RSD PTR ", 8) || sum(p, 20) != 0) return false;
  if (p[15] >= 2) {
    uint32_t len = rd32(p + 20);
    if (len < 36 || len > 4096 || !in_range(pa, len) || sum(p, len) != 0) return false;
  }
  return true;
}

static uint64_t scan(uint64_t base, uint64_t size) {
  for (uint64_t pa = base; pa + 36 <= base + size; pa += 16)
    if (acpi_rsdp_valid(pa)) return pa;
  return 0;
}

uint64_t acpi_find_rsdp_bios(void) {
  /* BDA 0x40E: the EBDA's real-mode segment. */
  if (!in_range(0x100000, 0)) return 0;
  uint64_t ebda = (uint64_t)(at(0x40E)[0] | at(0x40E)[1] << 8) << 4;
  if (ebda >= 0x80000 && ebda < 0xA0000) {
    uint64_t r = scan(ebda, 1024);
    if (r) return r;
  }
  return scan(0xE0000, 0x20000);
}

/* A system description table header (ACPI 5.2.6): signature +0, length +4,
   36 bytes in all; the checksum covers `length` bytes. */
static bool sdt_ok(uint64_t pa, const char *sig, uint32_t *len_out) {
  if (pa == 0 || !in_range(pa, 36)) return false;
  const uint8_t *p = at(pa);
  if (!sig_is(p, sig, 4)) return false;
  uint32_t len = rd32(p + 4);
  if (len < 36 || len > ACPI_MAX_TABLE || !in_range(pa, len)) return false;
  if (sum(p, len) != 0) return false;
  *len_out = len;
  return true;
}

static void add_cpu(struct acpi_cpus *out, uint32_t id) {
  for (uint32_t i = 0; i < out->count; i++)
    if (out->apic_id[i] == id) return;
  if (out->count == ACPI_MAX_CPUS) {
    out->dropped++;
    return;
  }
  out->apic_id[out->count++] = id;
}

bool acpi_read_cpus(uint64_t rsdp, uint32_t bsp_apic_id, struct acpi_cpus *o) {
  *o = (struct acpi_cpus){0};
  o->count = 1;
  o->apic_id[0] = bsp_apic_id;
  err = "";
  if (!acpi_rsdp_valid(rsdp)) return fail("no valid ACPI RSDP");
  o->rsdp = rsdp;
  const uint8_t *r = at(rsdp);
  uint64_t xsdt = r[15] >= 2 ? rd64(r + 24) : 0;
  uint32_t len = 0, esize = 8;
  uint64_t sdt = 0;
  if (xsdt && sdt_ok(xsdt, "XSDT", &len)) {
    sdt = xsdt;
  } else if (sdt_ok(rd32(r + 16), "RSDT", &len)) {
    sdt = rd32(r + 16);
    esize = 4;
  } else {
    return fail("no valid RSDT or XSDT");
  }
  o->sdt = sdt;
  o->sdt_len = len;
  uint32_t n = (len - 36) / esize;
  if (n > ACPI_MAX_SDT_ENTRIES) n = ACPI_MAX_SDT_ENTRIES;
  uint64_t madt = 0;
  uint32_t mlen = 0, clen = 0;
  for (uint32_t i = 0; i < n; i++) {
    const uint8_t *e = at(sdt) + 36 + i * esize;
    uint64_t t = esize == 8 ? rd64(e) : rd32(e);
    if (!madt && sdt_ok(t, "APIC", &mlen)) madt = t;
    else if (!o->mmcfg_size && sdt_ok(t, "MCFG", &clen) && clen >= 60) {
      /* PCI Firmware Spec 3.2 4.1.2: the first allocation at +44: base u64,
       * segment u16, start bus u8, end bus u8; 1 MiB of ECAM per bus. */
      const uint8_t *a = at(t) + 44;
      uint32_t start = a[10], end = a[11];
      if (end >= start) {
        o->mmcfg_base = rd64(a) + ((uint64_t)start << 20);
        o->mmcfg_size = (uint64_t)(end - start + 1) << 20;
      }
    }
  }
  if (!madt) return fail("no valid MADT (\"APIC\" table)");
  if (mlen < 44) return fail("MADT too short");
  o->madt = madt;
  o->madt_len = mlen;
  const uint8_t *m = at(madt);
  o->lapic_base = rd32(m + 36);
  /* Interrupt controller structures from +44: type u8, length u8. */
  uint32_t off = 44;
  bool bsp_seen = false;
  while (off + 2 <= mlen) {
    uint8_t type = m[off], elen = m[off + 1];
    if (elen < 2 || off + elen > mlen) return fail("MADT entry runs past the table");
    const uint8_t *e = m + off;
    uint32_t id = 0, flags = 0;
    bool cpu = false;
    if (type == 0 && elen >= 8) {        /* Processor Local APIC: uid +2, APIC ID +3, flags +4 */
      id = e[3];
      flags = rd32(e + 4);
      cpu = true;
    } else if (type == 9 && elen >= 16) { /* Processor Local x2APIC: x2APIC ID +4, flags +8, uid +12 */
      id = rd32(e + 4);
      flags = rd32(e + 8);
      cpu = true;
    } else if (type == 1 && elen >= 12) { /* I/O APIC: ID +2, address +4, GSI base +8 */
      if (o->ioapic_count < ACPI_MAX_IOAPICS) {
        o->ioapic_id[o->ioapic_count] = e[2];
        o->ioapic_addr[o->ioapic_count] = rd32(e + 4);
        o->ioapic_gsi_base[o->ioapic_count] = rd32(e + 8);
        o->ioapic_count++;
      } else {
        o->ioapics_dropped++;
      }
    }
    if (cpu) {
      if (!(flags & 1)) {
        o->disabled++;
      } else if (id == bsp_apic_id) {
        bsp_seen = true;
      } else if (id > 255) {
        o->x2apic_only++;
      } else {
        add_cpu(o, id);
      }
    }
    off += elen;
  }
  o->bsp_listed = bsp_seen;
  return true;
}
