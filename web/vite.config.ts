import { defineConfig } from 'vite';

/**
 * The dashboard, built into web/dist/ (served by the service at /ui/, see src/http/dashboard.ts). Preact's
 * JSX through Vite's own transform: no plugin, no Babel.
 */
export const config = defineConfig({
  base: '/ui/',
  oxc: { jsx: { runtime: 'automatic', importSource: 'preact' } },
  // `npm run dev -w web`: the page from source, the API from a service started with `npm start`.
  server: { proxy: { '/api': 'http://127.0.0.1:5000', '/docs': 'http://127.0.0.1:5000' } },
  build: {
    outDir: 'dist',
    emptyOutDir: true,
    // The page's content security policy allows no inline script: nothing may be inlined.
    assetsInlineLimit: 0,
    modulePreload: { polyfill: false },
    target: 'es2022',
    reportCompressedSize: true,
  },
});

// Vite reads the config file's default export.
// eslint-disable-next-line no-restricted-syntax
export default config;
