/// <reference types="vitest/config" />
/**
 * Build and dev-server configuration for the Trainyard web UI.
 *
 * The dev server proxies `/api` to the API (default http://127.0.0.1:8000, override with
 * TRAINYARD_API_URL, e.g. an API on another machine). The production build goes to `dist/`,
 * which the API serves at `/` with an SPA fallback.
 */
import react from "@vitejs/plugin-react";
import { defineConfig } from "vite";

const apiTarget = process.env.TRAINYARD_API_URL ?? "http://127.0.0.1:8000";

export default defineConfig({
  plugins: [react()],
  server: {
    port: 5173,
    strictPort: true,
    proxy: {
      "/api": { target: apiTarget, changeOrigin: true },
    },
  },
  preview: {
    port: 4173,
    proxy: {
      "/api": { target: apiTarget, changeOrigin: true },
    },
  },
  build: {
    outDir: "dist",
    emptyOutDir: true,
    sourcemap: false,
    rolldownOptions: {
      // uPlot and the chart helpers form their own chunk, loaded with the first chart page.
      output: { advancedChunks: { groups: [{ name: "charts", test: /uplot|src[\\/]lib[\\/](series|smoothing)/ }] } },
    },
  },
  test: {
    include: ["src/**/*.test.ts"],
    environment: "node",
  },
});
