/*
 * early_console.c - polled 16550 UART on COM1; see early_console.h.
 *
 * Register interface of the National Semiconductor PC16550D (the PC "COM"
 * port): offsets from the base port, DLAB = LCR bit 7 selecting the divisor
 * latch at offsets 0 and 1.
 */
#include "early_console.h"

#include <stdbool.h>
#include <stdint.h>

#include "portio.h"

#define COM1_BASE 0x3F8

#define UART_THR 0 /* transmit holding register (DLAB = 0) */
#define UART_DLL 0 /* divisor latch, low byte (DLAB = 1)   */
#define UART_IER 1 /* interrupt enable (DLAB = 0)          */
#define UART_DLM 1 /* divisor latch, high byte (DLAB = 1)  */
#define UART_FCR 2 /* FIFO control (write only)            */
#define UART_LCR 3 /* line control                         */
#define UART_MCR 4 /* modem control                        */
#define UART_LSR 5 /* line status                          */

#define UART_LCR_DLAB 0x80
#define UART_LCR_8N1 0x03        /* 8 data bits, no parity, 1 stop bit   */
#define UART_FCR_ENABLE 0x01     /* FIFOs on                             */
#define UART_FCR_CLEAR_RX 0x02
#define UART_FCR_CLEAR_TX 0x04
#define UART_MCR_DTR_RTS 0x03    /* OUT2 off: the UART raises no IRQ     */
#define UART_LSR_THRE 0x20       /* transmit holding register / FIFO empty */
#define UART_LSR_TEMT 0x40       /* holding and shift registers empty    */

#define UART_CLOCK_DIV16 115200u /* 1.8432 MHz input clock / 16          */
#define UART_BAUD 115200u

/*
 * LSR polls before giving up on a wait.  At 115200 baud a byte takes about
 * 87 us and a legacy port read about 1 us, so a working UART is ready long
 * before this; a missing UART reads 0xFF (ready) at once.
 */
#define UART_SPIN_LIMIT 100000u

static bool console_ready;

static bool uart_wait(uint8_t lsr_bits)
{
	for (uint32_t i = 0; i < UART_SPIN_LIMIT; i++) {
		if ((inb(COM1_BASE + UART_LSR) & lsr_bits) == lsr_bits)
			return true;
		__asm__ volatile("pause");
	}
	return false;
}

void early_console_init(void)
{
	const uint16_t divisor = UART_CLOCK_DIV16 / UART_BAUD;

	if (console_ready)
		return;
	console_ready = true;
	/* Let a previous user's bytes (boot loader, boot stub) leave first. */
	uart_wait(UART_LSR_TEMT);
	outb(COM1_BASE + UART_IER, 0);
	outb(COM1_BASE + UART_LCR, UART_LCR_DLAB);
	outb(COM1_BASE + UART_DLL, (uint8_t)(divisor & 0xFF));
	outb(COM1_BASE + UART_DLM, (uint8_t)(divisor >> 8));
	outb(COM1_BASE + UART_LCR, UART_LCR_8N1);
	outb(COM1_BASE + UART_FCR,
	     UART_FCR_ENABLE | UART_FCR_CLEAR_RX | UART_FCR_CLEAR_TX);
	outb(COM1_BASE + UART_MCR, UART_MCR_DTR_RTS);
}

void kputc(char c)
{
	if (!console_ready)
		early_console_init();
	uart_wait(UART_LSR_THRE);
	outb(COM1_BASE + UART_THR, (uint8_t)c);
}

void kputs(const char *s)
{
	while (*s)
		kputc(*s++);
}

void kputhex(uint64_t v)
{
	static const char digits[] = "0123456789abcdef";
	int shift = 60;

	while (shift > 0 && ((v >> shift) & 0xF) == 0)
		shift -= 4;
	for (; shift >= 0; shift -= 4)
		kputc(digits[(v >> shift) & 0xF]);
}

void kputdec(uint64_t v)
{
	char buf[20]; /* 2^64 - 1 has 20 digits */
	int n = 0;

	do {
		buf[n++] = (char)('0' + v % 10);
		v /= 10;
	} while (v != 0);
	while (n > 0)
		kputc(buf[--n]);
}

void early_console_drain(void)
{
	uart_wait(UART_LSR_TEMT);
}
