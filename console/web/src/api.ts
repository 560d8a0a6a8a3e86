// The console's API client: the key (sessionStorage only), JSON requests with the
// Authorization header, errors with status and message, and Server-Sent Events read with
// fetch() + ReadableStream (EventSource cannot send headers; the key must never be in a URL).

const KEY = "tributary.key";

export function getKey(): string | null {
  return sessionStorage.getItem(KEY);
}
export function setKey(key: string): void {
  sessionStorage.setItem(KEY, key);
}
export function clearKey(): void {
  sessionStorage.removeItem(KEY);
}

// One field the server refused ({"error": {"details": [{"field", "reason"}]}}), e.g.
// {field: "condition.threshold", reason: "must be a number"}.
export interface FieldError {
  field: string;
  reason: string;
}

export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly details: FieldError[] = [],
  ) {
    super(message);
  }
  toString(): string {
    return this.status ? `${this.status} ${this.code}: ${this.message}` : this.message;
  }
}

// Called on any 401: the key is gone or revoked; the app goes back to the sign-in page.
let onUnauthorized: () => void = () => {};
export function setUnauthorizedHandler(handler: () => void): void {
  onUnauthorized = handler;
}

export type Query = Record<string, string | number | boolean | undefined | null | string[]>;

export function withQuery(path: string, query?: Query): string {
  if (!query) return path;
  const params = new URLSearchParams();
  for (const [name, value] of Object.entries(query)) {
    if (value === undefined || value === null || value === "") continue;
    if (Array.isArray(value)) value.forEach((v) => params.append(name, v));
    else params.set(name, String(value));
  }
  const text = params.toString();
  return text ? `${path}?${text}` : path;
}

function headers(extra?: Record<string, string>, key?: string): Headers {
  const h = new Headers(extra);
  const k = key ?? getKey();
  if (k) h.set("Authorization", `Bearer ${k}`);
  return h;
}

async function errorOf(response: Response): Promise<ApiError> {
  let code = response.statusText || "error";
  let message = `HTTP ${response.status}`;
  let details: FieldError[] = [];
  try {
    const text = await response.text();
    try {
      const body = JSON.parse(text);
      if (body && body.error) {
        code = body.error.code ?? code;
        message = body.error.message ?? message;
        if (Array.isArray(body.error.details)) {
          details = body.error.details
            .filter((d: unknown) => d && typeof d === "object")
            .map((d: { field?: unknown; reason?: unknown }) => ({ field: String(d.field ?? ""), reason: String(d.reason ?? "") }));
        }
      } else if (text) message = text.slice(0, 300);
    } catch {
      if (text) message = text.slice(0, 300);
    }
  } catch {
    /* body unreadable: keep the status */
  }
  return new ApiError(response.status, code, message, details);
}

async function send(path: string, init: RequestInit, key?: string): Promise<Response> {
  let response: Response;
  try {
    response = await fetch(path, init);
  } catch (e) {
    if ((e as Error).name === "AbortError") throw e;
    throw new ApiError(0, "network", `Cannot reach the console: ${(e as Error).message}`);
  }
  if (!response.ok) {
    const error = await errorOf(response);
    if (response.status === 401 && key === undefined) onUnauthorized();
    throw error;
  }
  return response;
}

export async function apiGet<T>(path: string, query?: Query, signal?: AbortSignal, key?: string): Promise<T> {
  const response = await send(withQuery(path, query), { headers: headers({ Accept: "application/json" }, key), signal }, key);
  return (await response.json()) as T;
}

async function apiSend<T>(method: "POST" | "PUT" | "DELETE", path: string, body: unknown, signal?: AbortSignal): Promise<T> {
  const response = await send(path, {
    method,
    headers: headers(body === undefined ? { Accept: "application/json" } : { Accept: "application/json", "Content-Type": "application/json" }),
    body: body === undefined ? undefined : JSON.stringify(body),
    signal,
  });
  const text = await response.text();
  return (text ? JSON.parse(text) : {}) as T;
}

export function apiPost<T>(path: string, body: unknown, signal?: AbortSignal): Promise<T> {
  return apiSend<T>("POST", path, body ?? {}, signal);
}
export function apiPut<T>(path: string, body: unknown, signal?: AbortSignal): Promise<T> {
  return apiSend<T>("PUT", path, body ?? {}, signal);
}
export function apiDelete<T>(path: string, signal?: AbortSignal): Promise<T> {
  return apiSend<T>("DELETE", path, undefined, signal);
}

export async function apiBlob(path: string, query?: Query, signal?: AbortSignal): Promise<Blob> {
  const response = await send(withQuery(path, query), { headers: headers(), signal });
  return await response.blob();
}

export interface SseEvent {
  event: string;
  data: string;
  id?: string;
}
export interface SseOptions {
  onEvent: (event: SseEvent) => void;
  onState?: (state: "open" | "retrying" | "closed", error?: ApiError) => void;
  signal: AbortSignal;
  reconnect?: boolean; // default true: resume with Last-Event-ID after a drop
}

// Reads an SSE stream until `signal` aborts. Reconnects (with Last-Event-ID) after network
// drops; an HTTP error ends it (a 401 also signs out).
export async function sse(path: string, options: SseOptions): Promise<void> {
  const { onEvent, onState, signal } = options;
  let lastId: string | undefined;
  let delay = 500;
  while (!signal.aborted) {
    try {
      const extra: Record<string, string> = { Accept: "text/event-stream" };
      if (lastId) extra["Last-Event-ID"] = lastId;
      const response = await send(path, { headers: headers(extra), signal, cache: "no-store" });
      onState?.("open");
      delay = 500;
      const reader = response.body!.pipeThrough(new TextDecoderStream()).getReader();
      let buffer = "";
      let ev: SseEvent = { event: "message", data: "" };
      let hasData = false;
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        buffer += value;
        let nl: number;
        while ((nl = buffer.indexOf("\n")) >= 0) {
          let line = buffer.slice(0, nl);
          buffer = buffer.slice(nl + 1);
          if (line.endsWith("\r")) line = line.slice(0, -1);
          if (line === "") {
            if (hasData) {
              if (ev.id !== undefined) lastId = ev.id;
              onEvent(ev);
            }
            ev = { event: "message", data: "" };
            hasData = false;
            continue;
          }
          if (line.startsWith(":")) continue; // heartbeat comment
          const colon = line.indexOf(":");
          const field = colon < 0 ? line : line.slice(0, colon);
          let val = colon < 0 ? "" : line.slice(colon + 1);
          if (val.startsWith(" ")) val = val.slice(1);
          if (field === "event") ev.event = val;
          else if (field === "data") {
            ev.data = hasData ? `${ev.data}\n${val}` : val;
            hasData = true;
          } else if (field === "id") ev.id = val;
        }
      }
      if (options.reconnect === false) break;
    } catch (e) {
      if (signal.aborted || (e as Error).name === "AbortError") break;
      if (e instanceof ApiError && e.status !== 0) {
        onState?.("closed", e);
        return;
      }
      onState?.("retrying", e instanceof ApiError ? e : new ApiError(0, "network", String(e)));
      if (options.reconnect === false) return;
    }
    if (signal.aborted) break;
    onState?.("retrying");
    await new Promise((r) => setTimeout(r, delay));
    delay = Math.min(delay * 2, 10000);
  }
  onState?.("closed");
}

export interface WhoAmI {
  tenant_id: string;
  scopes: string[];
  operator: boolean;
  links?: Record<string, string>;
}

// A stored analytics event as the query API's GET /api/v1/events lists it (through the
// console's proxy): the event as sent, plus where the subscriber read it and when it stored it.
export interface StoredEvent {
  event_id: string;
  user_id: string;
  event_type: string;
  timestamp: string; // the event's own time: what the charts count by
  received_at: string;
  session_id: string | null;
  page: string | null;
  referrer: string | null;
  source: string | null;
  device: string | null;
  os: string | null;
  browser: string | null;
  country: string | null;
  metadata: unknown;
  context: unknown;
  properties: unknown;
  kafka_partition: number | null;
  kafka_offset: number | null;
  stored_at: string | null;
}
// [from, to) by event time; `dimension` + `value` as the breakdowns of /api/v1/analytics/top.
export interface EventFilter {
  from: string;
  to: string;
  event_type?: string;
  dimension?: string;
  value?: string;
}
export interface EventPage {
  events: StoredEvent[];
  count: number;
  next_cursor: string | null; // bound to this key's tenant and this very filter
}

// One page (newest first) of the tenant's stored events matching `filter`.
export function listEvents(filter: EventFilter, limit: number, cursor?: string, signal?: AbortSignal): Promise<EventPage> {
  return apiGet<EventPage>("/api/v1/events", { ...filter, limit, cursor }, signal);
}

// --- Alerts (the query API's /api/v1/alerts, through the console's proxy) -------------------
// Reading needs the query scope; changing rules and acting on alerts needs admin (a 403
// otherwise, shown as it comes).
export type AlertState = "pending" | "firing" | "resolved";
export type RuleState = "ok" | "pending" | "firing" | "resolved";
export interface Dimension {
  name: string;
  value: string;
}
// One side of a ratio.
export interface RatioPart {
  event_type?: string;
  dimension?: Dimension;
}
export interface Condition {
  metric: string;
  event_type?: string;
  dimension?: Dimension;
  numerator?: RatioPart;
  denominator?: RatioPart;
  group?: string;
  window: string;
  op: string;
  threshold: number | string; // a string only when the form could not read a number: the server says why
  for?: string;
  resolve_threshold?: number | string | null;
}
export interface Channel {
  type: "webhook" | "slack" | "email";
  url?: string;
  secret?: string;
  has_secret?: boolean; // read answers: the secret itself is never returned
  to?: string;
}
export interface RuleBody {
  name: string;
  description?: string;
  enabled: boolean;
  condition: Condition;
  channels: Channel[];
  escalation?: { after: string; channels: Channel[] } | null;
  repeat_every?: string | null;
}
export interface Rule extends RuleBody {
  id: string;
  created_at: string;
  updated_at: string;
  state: RuleState;
  state_since: string | null;
  last_value: number | null;
  last_evaluated_at: string | null;
  alert_id: string | null;
  last_error?: string | null; // why the last evaluation failed, if it did
}
export interface Transition {
  alert_id: string | null;
  from: string;
  to: string;
  value: number | null;
  at: string;
  reason: string;
}
export interface Alert {
  id: string;
  rule_id: string;
  rule_name: string;
  state: AlertState;
  value: number | null;
  threshold: number | null;
  op: string;
  metric: string;
  window?: string;
  started_at: string;
  fired_at: string | null;
  resolved_at: string | null;
  acknowledged_at: string | null;
  acknowledged_by: string | null;
  ack_note?: string | null;
  snoozed_until: string | null;
  escalated_at: string | null;
  resolve_reason: "condition" | "manual" | "rule_changed" | null;
}
export interface Notification {
  id: string;
  alert_id: string;
  rule_id: string;
  kind: "firing" | "resolved" | "escalation" | "repeat";
  channel: { type: string; target: string };
  status: "pending" | "sent" | "failed";
  attempts: number;
  last_status: number | null;
  last_error: string | null;
  created_at: string;
  next_attempt_at: string | null;
  sent_at: string | null;
}
export type AlertDetail = Alert & { transitions: Transition[]; notifications: Notification[] };
export type AlertAction = "acknowledge" | "snooze" | "resolve";

const ALERTS = "/api/v1/alerts";
const seg = (s: string) => encodeURIComponent(s);

export const alertsApi = {
  rules: (signal?: AbortSignal) => apiGet<{ rules: Rule[] }>(`${ALERTS}/rules`, undefined, signal),
  rule: (ruleId: string, signal?: AbortSignal) => apiGet<Rule>(`${ALERTS}/rules/${seg(ruleId)}`, undefined, signal),
  createRule: (body: RuleBody) => apiPost<Rule>(`${ALERTS}/rules`, body),
  updateRule: (ruleId: string, body: RuleBody) => apiPut<Rule>(`${ALERTS}/rules/${seg(ruleId)}`, body),
  deleteRule: (ruleId: string) => apiDelete<{ id: string; deleted: boolean }>(`${ALERTS}/rules/${seg(ruleId)}`),
  ruleTransitions: (ruleId: string, limit: number, signal?: AbortSignal) =>
    apiGet<{ transitions: Transition[] }>(`${ALERTS}/rules/${seg(ruleId)}/transitions`, { limit }, signal),
  // state: active (pending + firing, the default), firing, pending, resolved or all; newest first.
  alerts: (query: { state?: string; rule_id?: string; limit?: number }, signal?: AbortSignal) =>
    apiGet<{ alerts: Alert[] }>(ALERTS, query, signal),
  alert: (alertId: string, signal?: AbortSignal) => apiGet<AlertDetail>(`${ALERTS}/${seg(alertId)}`, undefined, signal),
  // snooze takes {"for": "1h"} (or {"until": RFC 3339}); acknowledge an optional {"note"}.
  act: (alertId: string, action: AlertAction, body: Record<string, string> = {}) =>
    apiPost<Alert>(`${ALERTS}/${seg(alertId)}/${action}`, body),
};
