import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vite';

// The web register: Preact through esbuild's automatic JSX runtime (no framework plugin needed).
// Built into dist/, which the api-gateway serves at `/` (hashed files under /assets are cached for a
// year; index.html and sw.js are revalidated on every load).
export default defineConfig({
  root: fileURLToPath(new URL('.', import.meta.url)),
  base: '/',
  esbuild: { jsx: 'automatic', jsxImportSource: 'preact' },
  build: {
    outDir: 'dist',
    emptyOutDir: true,
    target: 'es2022',
    // No inline polyfill script: the gateway's CSP allows scripts from 'self' only.
    modulePreload: { polyfill: false },
    assetsInlineLimit: 0,
    sourcemap: true,
  },
  server: {
    // `npm run dev --workspace=apps/register` next to `npm start`: the API comes from the gateway.
    proxy: { '/api': 'http://127.0.0.1:3000', '/.well-known': 'http://127.0.0.1:3000' },
  },
});
