/* widget not built yet */ console.warn("opencom widget: not built");
