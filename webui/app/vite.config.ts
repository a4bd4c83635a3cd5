import { defineConfig } from "vite";
import react from "@vitejs/plugin-react";

// The built app is embedded into the Go binary from ../dist (webui/embed.go).
export default defineConfig({
  base: "/",
  plugins: [react()],
  build: {
    outDir: process.env.OPENCOM_WEBUI_OUT ?? "../dist",
    emptyOutDir: true,
    sourcemap: false,
    target: "es2022",
    chunkSizeWarningLimit: 600,
  },
});
