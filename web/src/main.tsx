/** Entry point: one QueryClient (retry policy from api/client) and the router. */
import { QueryClient, QueryClientProvider } from "@tanstack/react-query";
import { StrictMode } from "react";
import { createRoot } from "react-dom/client";
import { BrowserRouter } from "react-router";
import { retryDelay, shouldRetry } from "./api/client";
import { App, preloadRoute } from "./App";
import "./styles.css";

const queryClient = new QueryClient({
  defaultOptions: {
    queries: {
      retry: shouldRetry,
      retryDelay,
      staleTime: 5_000,
      refetchOnWindowFocus: true,
    },
  },
});

const root = createRoot(document.getElementById("root")!);
const render = () =>
  root.render(
    <StrictMode>
      <QueryClientProvider client={queryClient}>
        <BrowserRouter>
          <App />
        </BrowserRouter>
      </QueryClientProvider>
    </StrictMode>,
  );
const preloading = preloadRoute(queryClient, window.location.pathname);
if (preloading) void preloading.finally(render);
else render();
