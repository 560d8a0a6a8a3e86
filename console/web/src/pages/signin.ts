import { ApiError, apiGet, setKey, type WhoAmI } from "../api";
import { clear, errorBox, h } from "../dom";

export function signinPage(app: HTMLElement, done: (who: WhoAmI) => void): void {
  const key = h("input", { id: "signin-key", name: "key", type: "password", autocomplete: "off", spellcheck: "false", required: true, placeholder: "trb_…", "data-testid": "signin-key" });
  const message = h("div", { "aria-live": "assertive" });
  const submit = h("button", { type: "submit", "data-testid": "signin-submit" }, "Sign in");
  const expired = new URLSearchParams(location.search).has("expired");
  const form = h("form", { class: "signin card", "data-testid": "signin-form", novalidate: true },
    h("h1", null, "Tributary console"),
    h("p", null, "Sign in with an API key of your tenant (scope ", h("code", null, "query"), "). The key is kept in this tab only."),
    expired ? h("div", { class: "notice", "data-testid": "signin-expired" }, "Your key was not accepted any more: sign in again.") : null,
    h("div", { class: "field" }, h("label", { for: "signin-key" }, "API key"), key),
    message,
    submit);
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const value = key.value.trim();
    if (!value) {
      clear(message, errorBox(new ApiError(0, "missing", "Enter an API key."), "signin-error"));
      return;
    }
    submit.disabled = true;
    clear(message, h("p", { class: "muted" }, "Checking the key…"));
    try {
      const who = await apiGet<WhoAmI>("/api/v1/console/whoami", undefined, undefined, value);
      setKey(value);
      done(who);
    } catch (e) {
      const err = e instanceof ApiError && (e.status === 401 || e.status === 403)
        ? new ApiError(e.status, e.code, e.status === 401 ? `This key was not accepted (${e.message}).` : `This key may not use the console: ${e.message}`)
        : e;
      clear(message, errorBox(err, "signin-error"));
      submit.disabled = false;
      key.focus();
    }
  });
  clear(app, h("main", { class: "signin-page", "data-page": "signin" }, form));
  key.focus();
}
