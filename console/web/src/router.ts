// History-API routing: every page's state lives in its URL (path + query), so links are
// shareable and back/forward work. Pages get an AbortSignal that fires when they are left.
import type { WhoAmI } from "./api";

export interface PageContext {
  params: string[];
  query: URLSearchParams;
  signal: AbortSignal;
  who: WhoAmI;
  // Replaces the URL's query (no new history entry unless push) without re-rendering.
  setQuery: (values: Record<string, string | string[] | undefined | null>, push?: boolean) => void;
}
export type Page = (root: HTMLElement, ctx: PageContext) => void | Promise<void>;
export interface Route {
  pattern: RegExp;
  name: string; // data-page value and the nav item it highlights
  nav: string;
  page: Page;
}

let renderCurrent: () => void = () => {};
export function setRenderer(render: () => void): void {
  renderCurrent = render;
}

export function navigate(url: string, replace = false): void {
  if (replace) history.replaceState(null, "", url);
  else history.pushState(null, "", url);
  renderCurrent();
}

export function setQuery(values: Record<string, string | string[] | undefined | null>, push = false): void {
  const params = new URLSearchParams();
  for (const [name, value] of Object.entries(values)) {
    if (value === undefined || value === null || value === "") continue;
    if (Array.isArray(value)) value.forEach((v) => v !== "" && params.append(name, v));
    else params.set(name, value);
  }
  const text = params.toString();
  const url = location.pathname + (text ? `?${text}` : "");
  if (url === location.pathname + location.search) return;
  if (push) history.pushState(null, "", url);
  else history.replaceState(null, "", url);
}

// In-app links: plain <a href> elements, intercepted so the page doesn't reload.
export function installLinkInterception(): void {
  document.addEventListener("click", (event) => {
    if (event.defaultPrevented || event.button !== 0 || event.metaKey || event.ctrlKey || event.shiftKey || event.altKey) return;
    const a = (event.target as Element).closest?.("a");
    if (!a || a.target || a.hasAttribute("download") || a.dataset.external !== undefined) return;
    const href = a.getAttribute("href");
    if (!href || !href.startsWith("/") || href.startsWith("//") || href.startsWith("/docs") || href.startsWith("/api/")) return;
    event.preventDefault();
    navigate(href);
  });
  window.addEventListener("popstate", () => renderCurrent());
}
