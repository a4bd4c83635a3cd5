import { StrictMode } from "react";
import { createRoot } from "react-dom/client";
import { ConvexReactClient } from "convex/react";
import { ConvexAuthProvider } from "@convex-dev/auth/react";
import { App } from "./App";
import { ErrorBoundary } from "./ui";
import "./styles.css";

// The server that serves this page is the Convex-compatible backend.
const client = new ConvexReactClient(window.location.origin, { unsavedChangesWarning: false });

createRoot(document.getElementById("root")!).render(
  <StrictMode>
    <ErrorBoundary>
      <ConvexAuthProvider client={client}>
        <App client={client} />
      </ConvexAuthProvider>
    </ErrorBoundary>
  </StrictMode>,
);
