import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vite';

const root = fileURLToPath(new URL('.', import.meta.url));
/** One HTML entry per page; src/plugins/web-pages.ts serves each at its address. */
const PAGES = ['index', 'ops', 'customer', 'restaurant', 'courier'];
/** `npm run dev:web` serves the pages with live reload and forwards the API to `dabba up` on its default port. */
const API = 'http://127.0.0.1:3000';

/** JSX is Preact's: Vite reads `jsx` and `jsxImportSource` from web/tsconfig.json, as the type checker does; no plugin needed. */
export default defineConfig({
  root,
  base: '/',
  build: {
    outDir: 'dist',
    emptyOutDir: true,
    target: 'es2023',
    // Every asset a file of its own: the CSP admits no inline script, and `data:` only for images.
    assetsInlineLimit: 0,
    rolldownOptions: { input: Object.fromEntries(PAGES.map((name) => [name, `${root}${name}.html`])) },
  },
  server: {
    proxy: {
      '/v1': { target: API, ws: true },
      '/pages.json': API,
    },
  },
});
