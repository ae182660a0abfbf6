import { defineConfig } from 'vite';
import react from '@vitejs/plugin-react';

// The renderer bundle is shared by the Electron window and `nestbox serve`.
export default defineConfig({
  root: 'app/renderer',
  base: './',
  plugins: [react()],
  build: {
    outDir: '../../dist/renderer',
    emptyOutDir: true,
    target: 'es2022',
    sourcemap: true,
    chunkSizeWarningLimit: 2048,
  },
});
