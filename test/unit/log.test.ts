import { describe, expect, it } from 'vitest';
import { LOG_DEBUG, LOG_ERROR, LOG_INFO, LOG_WARN, Logger } from '../../hv/log';

function capture(): { logger: Logger; text: () => string } {
  const out: number[] = [];
  const logger = new Logger();
  logger.attach({ putc: (c: number) => out.push(c) });
  return { logger, text: () => String.fromCharCode(...out) };
}

describe('Logger', () => {
  it('prints decimal integers, including 0, negatives and values past 2^32', () => {
    const { logger, text } = capture();
    logger.begin(LOG_INFO);
    for (const v of [0, 7, 10, -42, 4294967296, 9007199254740991]) {
      logger.dec(v);
      logger.char(32);
    }
    logger.end();
    expect(text()).toBe('0 7 10 -42 4294967296 9007199254740991 \n');
  });

  it('prints hex with a minimum width and 64-bit hi:lo pairs', () => {
    const { logger, text } = capture();
    logger.begin(LOG_INFO);
    logger.hex(0);
    logger.char(32);
    logger.hex(0xabc, 8);
    logger.char(32);
    logger.hex(0x1_0000_0000);
    logger.char(32);
    logger.hex64(0x00d81000, 0x2b);
    logger.end();
    expect(text()).toBe('0x0 0x00000abc 0x100000000 0x00d810000000002b\n');
  });

  it('prints CPUID-style packed ASCII and skips NULs', () => {
    const { logger, text } = capture();
    logger.begin(LOG_INFO);
    logger.ascii4(0x756e6547); // "Genu"
    logger.ascii4(0x00006968); // "hi"
    logger.end();
    expect(text()).toBe('Genuhi\n');
  });

  it('filters lines above the level and prefixes warnings, errors and debug lines', () => {
    const { logger, text } = capture();
    logger.level = LOG_WARN;
    logger.line(LOG_INFO, 'hidden');
    logger.line(LOG_DEBUG, 'hidden');
    logger.line(LOG_WARN, 'careful');
    logger.line(LOG_ERROR, 'broken');
    logger.level = LOG_DEBUG;
    logger.line(LOG_DEBUG, 'detail');
    expect(text()).toBe('warning: careful\nerror: broken\ndebug: detail\n');
  });

  it('prints nothing and does not fail without a sink', () => {
    const logger = new Logger();
    expect(() => logger.line(LOG_ERROR, 'nowhere')).not.toThrow();
  });
});
