import { describe, expect, it } from 'vitest';
import { Cmdline } from '../../hv/cmdline';
import { baseMachine } from './machines';

function parse(text: string): Cmdline {
  const m = baseMachine();
  m.cmdline = text;
  const c = new Cmdline();
  c.read();
  return c;
}

describe('Cmdline', () => {
  it('finds key=value options and bare words', () => {
    const c = parse('/boot/hv.elf hv.selftest=ud  quiet loglevel=4');
    expect(c.is('hv.selftest', 'ud')).toBe(true);
    expect(c.is('hv.selftest', 'u')).toBe(false);
    expect(c.is('loglevel', '4')).toBe(true);
    expect(c.find('quiet')).toBeGreaterThan(0);
    expect(c.find('quie')).toBe(-1);
    expect(c.find('hv')).toBe(-1);
    expect(c.find('absent')).toBe(-1);
  });

  it('keeps at most 1024 bytes', () => {
    const c = parse('x'.repeat(2000));
    expect(c.size).toBe(1024);
  });
});
