// A live list that keeps a tab responsive under a fast stream (10,000 events/s): items are
// queued as they arrive and rendered in an animation frame at most every `intervalMs`, at most
// `perRender` rows at a time (nobody reads faster); only the newest `cap` rows stay in the
// DOM, and everything not shown is counted as dropped.
import { h } from "./dom";

export class LiveList<T> {
  readonly el: HTMLElement;
  private readonly body: HTMLElement;
  private readonly status: HTMLElement;
  private queue: T[] = [];
  private frame = 0;
  private received = 0;
  private dropped = 0; // server-side sampling + not rendered here
  private paused = false;
  private lastRender = 0;
  private timer = 0;

  constructor(
    private readonly row: (item: T) => HTMLElement,
    private readonly cap = 200,
    testid = "live-list",
    private readonly intervalMs = 250,
    private readonly perRender = 50,
  ) {
    this.body = h("div", { class: "live-rows", "data-testid": `${testid}-rows` });
    this.status = h("div", { class: "live-status", "data-testid": `${testid}-status` }, "Waiting for events…");
    const pause = h("button", { type: "button", class: "small", "data-testid": `${testid}-pause` }, "Pause");
    pause.addEventListener("click", () => {
      this.paused = !this.paused;
      pause.textContent = this.paused ? "Resume" : "Pause";
    });
    this.el = h("div", { class: "live", "data-testid": testid }, h("div", { class: "live-head" }, this.status, pause), this.body);
  }

  push(items: T[], serverDropped = 0): void {
    this.received += items.length;
    this.dropped += serverDropped;
    if (this.paused) {
      this.dropped += items.length;
    } else {
      this.queue.push(...items);
      if (this.queue.length > this.perRender) {
        this.dropped += this.queue.length - this.perRender;
        this.queue.splice(0, this.queue.length - this.perRender);
      }
    }
    this.schedule();
  }

  private schedule(): void {
    if (this.frame || this.timer) return;
    const wait = this.lastRender + this.intervalMs - performance.now();
    if (wait > 0) {
      this.timer = window.setTimeout(() => {
        this.timer = 0;
        this.schedule();
      }, wait);
    } else {
      this.frame = requestAnimationFrame(() => this.flush());
    }
  }

  private flush(): void {
    this.frame = 0;
    this.lastRender = performance.now();
    const items = this.queue;
    this.queue = [];
    if (items.length) {
      const fragment = document.createDocumentFragment();
      for (let i = items.length - 1; i >= 0; i--) fragment.appendChild(this.row(items[i]));
      this.body.prepend(fragment);
      while (this.body.childElementCount > this.cap) this.body.lastElementChild!.remove();
    }
    this.status.textContent = `${this.received.toLocaleString("en-US")} received · ${this.dropped.toLocaleString("en-US")} not shown (sampled by the server or too fast to show)${this.paused ? " · paused" : ""}`;
    this.status.dataset.received = String(this.received);
    this.status.dataset.dropped = String(this.dropped);
  }

  destroy(): void {
    if (this.frame) cancelAnimationFrame(this.frame);
    if (this.timer) clearTimeout(this.timer);
  }
}
