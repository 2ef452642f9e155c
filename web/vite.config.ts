import path from 'node:path';
import react from '@vitejs/plugin-react';
import { defineConfig } from 'vite';

const root = import.meta.dirname;

// One project, two pages: the wallet (/) and the ops console (/console), sharing the API
// client, money formatting and translations. Output: web/dist, served by src/web.
export default defineConfig({
  root,
  base: '/',
  mode: 'production',
  plugins: [react()],
  build: {
    outDir: path.join(root, 'dist'),
    emptyOutDir: true,
    target: 'es2022',
    reportCompressedSize: false,
    rollupOptions: {
      input: {
        wallet: path.join(root, 'index.html'),
        console: path.join(root, 'console/index.html'),
      },
    },
  },
});
