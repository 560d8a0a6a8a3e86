// The console's shell: sign-in gate, navigation, and the route table.
import "./styles.css";
import { apiGet, clearKey, getKey, setUnauthorizedHandler, type WhoAmI } from "./api";
import { clear, errorBox, h, loading } from "./dom";
import { installLinkInterception, navigate, setQuery, setRenderer, type Route } from "./router";
import { signinPage } from "./pages/signin";
import { overviewPage } from "./pages/overview";
import { analyticsPage } from "./pages/analytics";
import { recordPage, researchPage } from "./pages/research";
import { kafkaPage, topicPage } from "./pages/kafka";
import { groupPage, groupsPage } from "./pages/groups";
import { deadLettersPage } from "./pages/deadletters";
import { tracePage } from "./pages/trace";
import { alertPage, alertRulesPage, alertsPage } from "./pages/alerts";
import { alertRulePage } from "./pages/alertrule";

const routes: Route[] = [
  { pattern: /^\/overview\/?$/, name: "overview", nav: "overview", page: overviewPage },
  { pattern: /^\/analytics\/?$/, name: "analytics", nav: "analytics", page: analyticsPage },
  { pattern: /^\/research\/?$/, name: "research", nav: "research", page: researchPage },
  { pattern: /^\/research\/([^/]+)$/, name: "record", nav: "research", page: recordPage },
  { pattern: /^\/kafka\/?$/, name: "kafka", nav: "kafka", page: kafkaPage },
  { pattern: /^\/kafka\/([^/]+)$/, name: "topic", nav: "kafka", page: topicPage },
  { pattern: /^\/groups\/?$/, name: "groups", nav: "groups", page: groupsPage },
  { pattern: /^\/groups\/([^/]+)$/, name: "group", nav: "groups", page: groupPage },
  { pattern: /^\/dead-letters\/?$/, name: "deadletters", nav: "deadletters", page: deadLettersPage },
  { pattern: /^\/trace\/?$/, name: "trace", nav: "trace", page: tracePage },
  { pattern: /^\/trace\/([^/]+)$/, name: "trace", nav: "trace", page: tracePage },
  { pattern: /^\/alerts\/?$/, name: "alerts", nav: "alerts", page: alertsPage },
  { pattern: /^\/alerts\/rules\/?$/, name: "alerts", nav: "alerts", page: alertRulesPage },
  { pattern: /^\/alerts\/rules\/new$/, name: "alertrule", nav: "alerts", page: alertRulePage },
  { pattern: /^\/alerts\/rules\/([^/]+)$/, name: "alertrule", nav: "alerts", page: alertRulePage },
  { pattern: /^\/alerts\/([^/]+)$/, name: "alert", nav: "alerts", page: alertPage },
];

const NAV: [string, string, string][] = [
  ["overview", "/overview", "Overview"],
  ["analytics", "/analytics", "Analytics"],
  ["research", "/research", "Research"],
  ["kafka", "/kafka", "Kafka"],
  ["groups", "/groups", "Consumer groups"],
  ["deadletters", "/dead-letters", "Dead letters"],
  ["trace", "/trace", "Trace"],
  ["alerts", "/alerts", "Alerts"],
];

const app = document.getElementById("app")!;
let who: WhoAmI | null = null;
let controller: AbortController | null = null;

function docsLinks(): [string, string][] {
  const base = `${location.protocol}//${location.hostname}`;
  const links = who?.links ?? {};
  const publisher = links.publisher_docs ?? (links.publisher ? `${links.publisher.replace(/\/$/, "")}/docs` : `${base}:8000/docs`);
  const query = links.query_docs ?? (links.query ? `${links.query.replace(/\/$/, "")}/docs` : `${base}:8001/docs`);
  return [["Publisher API docs", publisher], ["Query API docs", query]];
}

function shell(active: string): { main: HTMLElement } {
  const menu = h("button", { type: "button", class: "menu-toggle", "aria-expanded": "false", "aria-controls": "nav-links", "data-testid": "nav-toggle" }, "Menu");
  const links = h("ul", { id: "nav-links", class: "nav-links" },
    NAV.map(([name, href, label]) =>
      h("li", null, h("a", { href, "data-testid": `nav-${name}`, "aria-current": name === active ? "page" : null }, label))),
    docsLinks().map(([label, href]) => h("li", null, h("a", { href, target: "_blank", rel: "noopener noreferrer", "data-external": "", class: "external", "data-testid": label.startsWith("Publisher") ? "nav-docs-publisher" : "nav-docs-query" }, label))));
  menu.addEventListener("click", () => {
    const open = links.classList.toggle("open");
    menu.setAttribute("aria-expanded", String(open));
  });
  links.addEventListener("click", () => links.classList.remove("open"));
  const signOut = h("button", { type: "button", class: "small secondary", "data-testid": "signout" }, "Sign out");
  signOut.addEventListener("click", () => {
    clearKey();
    who = null;
    navigate("/signin");
  });
  const header = h("header", { class: "topbar" },
    h("a", { href: "/overview", class: "brand" }, "Tributary"),
    menu,
    h("nav", { "aria-label": "Main" }, links),
    h("div", { class: "who", "data-testid": "whoami" },
      h("span", { title: `scopes: ${who!.scopes.join(", ")}` }, who!.tenant_id, who!.operator ? " (operator)" : ""),
      signOut));
  const main = h("main", { id: "main" });
  clear(app, h("a", { href: "#main", class: "skip", "data-external": "" }, "Skip to content"), header, main);
  return { main };
}

async function render(): Promise<void> {
  controller?.abort();
  controller = new AbortController();
  const signal = controller.signal;
  const path = location.pathname;
  if (path === "/signin" || !getKey()) {
    who = null;
    if (path !== "/signin") {
      const next = path === "/" ? "" : `?next=${encodeURIComponent(path + location.search)}`;
      history.replaceState(null, "", `/signin${next}`);
    }
    document.title = "Sign in · Tributary console";
    signinPage(app, (me) => {
      who = me;
      const next = new URLSearchParams(location.search).get("next");
      navigate(next && next.startsWith("/") && !next.startsWith("//") ? next : "/overview", true);
    });
    return;
  }
  if (!who) {
    clear(app, loading());
    try {
      who = await apiGet<WhoAmI>("/api/v1/console/whoami", undefined, signal);
    } catch (e) {
      if (signal.aborted) return;
      clear(app, h("main", { class: "narrow" }, errorBox(e), h("p", null, h("a", { href: "/signin" }, "Sign in again"))));
      return;
    }
  }
  if (path === "/" || path === "") {
    history.replaceState(null, "", "/overview");
    return render();
  }
  const route = routes.find((r) => r.pattern.test(path));
  const { main } = shell(route?.nav ?? "");
  if (!route) {
    main.setAttribute("data-page", "notfound");
    clear(main, h("h1", null, "Not found"), h("p", null, "No page at ", h("code", null, path), ". ", h("a", { href: "/overview" }, "Go to the overview")));
    return;
  }
  main.setAttribute("data-page", route.name);
  const params = (path.match(route.pattern) ?? []).slice(1).map((p) => decodeURIComponent(p));
  const label = NAV.find(([n]) => n === route.nav)?.[2] ?? "";
  document.title = `${label} · Tributary console`;
  try {
    await route.page(main, { params, query: new URLSearchParams(location.search), signal, who: who!, setQuery });
  } catch (e) {
    if (!signal.aborted) main.append(errorBox(e));
  }
}

setUnauthorizedHandler(() => {
  clearKey();
  who = null;
  const next = location.pathname === "/signin" ? "" : `?next=${encodeURIComponent(location.pathname + location.search)}&expired=1`;
  navigate(`/signin${next}`, true);
});
setRenderer(() => void render());
installLinkInterception();
void render();
