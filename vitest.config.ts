import { defineConfig } from 'vitest/config';

export default defineConfig({
  define: { __NATIVE__: 'false' },
  test: {
    include: ['test/unit/**/*.test.ts'],
    environment: 'node',
  },
});
