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
    rolldownOptions: {
      output: {
        // What the library's first render needs goes in one chunk: React, zustand, the stores, the bridge, the contract
        // checks and the small shared helpers. Left alone they split by sharing pattern into ten files requested
        // before the first row; grouped, four. Views, dialogs, menus, toasts and noVNC stay lazy (interleaved A/B of
        // the cold first render, 6 pairs: median about 20 ms sooner).
        codeSplitting: {
          groups: [
            {
              name: 'app',
              test: /node_modules[\\/](react|react-dom|scheduler|zustand|use-sync-external-store)[\\/]|app[\\/]api[\\/]|app[\\/]renderer[\\/]src[\\/](stores|lib|bridge)[\\/]|app[\\/]renderer[\\/]src[\\/]components[\\/](vmActions|icons|StateBadge|Thumbnail|TaskError)\.tsx?$/,
            },
          ],
        },
      },
    },
  },
});
