// The console benchmark's browser side (run by bench/console.sh, which starts the infra and
// passes BENCH_MESSAGES, BENCH_RATE, BENCH_DURATION). Prints Markdown on stdout.
import { execFile, spawn } from 'node:child_process';
import { gzipSync } from 'node:zlib';
import { promisify } from 'node:util';
import { launchBrowser, Stack, sleep, waitFor } from './lib/stack.mjs';

const run = promisify(execFile);
const MESSAGES = Number(process.env.BENCH_MESSAGES || 1000000);
const RATE = Number(process.env.BENCH_RATE || 10000);
const DURATION = Number(process.env.BENCH_DURATION || 30);
const KEY_STORAGE = 'tributary.key';  // console/web/src/api.ts

const log = (...args) => console.error('[console-bench]', ...args);
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const ms = (x) => `${Math.round(x)} ms`;

const stack = new Stack();
let browser;

// A context whose tabs start signed in with `key` (what the sign-in form stores).
async function signedContext(key, viewport = { width: 1280, height: 800 }) {
    const context = await browser.newContext({ viewport, baseURL: stack.consoleUrl });
    await context.addInitScript(([name, value]) => sessionStorage.setItem(name, value), [KEY_STORAGE, key.secret]);
    return context;
}

async function firstLoad() {
    const times = [];
    let navigation;
    for (let i = 0; i < 5; ++i) {
        const context = await signedContext(stack.keys.aQuery);  // a new context: cold cache
        const page = await context.newPage();
        await page.goto('/overview', { waitUntil: 'commit' });
        // performance.now() is measured from navigation start.
        const handle = await page.waitForFunction(() => {
            const el = document.querySelector('[data-testid="overview-ingest-rate"][data-value]');
            return el ? performance.now() : null;
        }, null, { polling: 'raf', timeout: 30000 });
        times.push(await handle.jsonValue());
        navigation = await page.evaluate(() => {
            const n = performance.getEntriesByType('navigation')[0];
            return { dcl: n.domContentLoadedEventEnd, load: n.loadEventEnd };
        });
        await context.close();
    }
    // The bundle: what index.html references, fetched as the browser does.
    const index = await (await fetch(`${stack.consoleUrl}/index.html`)).text();
    const refs = [...index.matchAll(/(?:src|href)="(\/[^"]+\.(?:js|css))"/g)].map((m) => m[1]);
    const assets = [];
    for (const ref of refs) {
        const body = Buffer.from(await (await fetch(`${stack.consoleUrl}${ref}`)).arrayBuffer());
        assets.push({ ref, raw: body.length, gzip: gzipSync(body, { level: 9 }).length });
    }
    const indexBytes = Buffer.byteLength(index);
    return { times, navigation, assets, indexBytes, indexGzip: gzipSync(Buffer.from(index), { level: 9 }).length };
}

async function produceBigTopic() {
    const topic = stack.topic('bench.million');
    log(`producing ${MESSAGES} messages to ${topic}`);
    const started = Date.now();
    const { stdout } = await run(stack.binary('bench/tributary-raw-producer'), [
        '--bootstrap', stack.kafka, '--topic', topic, '--partitions', '1', '--messages', String(MESSAGES),
        '--prefix', 'million', '--event-bytes', '300',
    ], { maxBuffer: 16 * 1024 * 1024 });
    const seconds = (Date.now() - started) / 1000;
    log(`produced in ${seconds.toFixed(1)} s: ${stdout.trim().split('\n').pop()}`);
    return { topic, seconds };
}

async function messageBrowser(topic) {
    const context = await signedContext(stack.keys.operator);  // raw messages carry no tenant
    const page = await context.newPage();
    const results = [];
    // Time from the UI action to the first message on screen, and the API time the page shows.
    const measure = async (label, path, action) => {
        const samples = [];
        for (let i = 0; i < 3; ++i) {
            await page.goto(path);
            await page.locator('main[data-page="topic"]').waitFor();
            await page.locator('[data-testid="partitions-table"]').waitFor();
            const t0 = Date.now();
            await action();
            await page.locator('[data-testid="message"]').first().waitFor({ timeout: 60000 });
            samples.push(Date.now() - t0);
        }
        results.push({ label, samples });
        log(label, samples);
    };
    const encoded = encodeURIComponent(topic);
    const middle = Math.floor(MESSAGES / 2);
    const { stdout } = await run('kcat', ['-C', '-b', stack.kafka, '-t', topic, '-p', '0', '-o', String(middle), '-c', '1', '-e', '-q', '-f', '%T']);
    const middleTime = new Date(Number(stdout.trim())).toISOString().slice(0, 19);
    const go = () => page.locator('[data-testid="browse-go"]').click();
    await measure('newest 50', `/kafka/${encoded}?mode=newest&partition=0`, go);
    await measure(`by offset (${middle.toLocaleString('en')})`, `/kafka/${encoded}?mode=offset&partition=0`, async () => {
        await page.locator('[data-testid="browse-offset"]').fill(String(middle));
        await go();
    });
    await measure(`by timestamp (${middleTime}Z)`, `/kafka/${encoded}?mode=timestamp&partition=0`, async () => {
        await page.locator('[data-testid="browse-timestamp"]').fill(middleTime);
        await go();
    });
    // Search: the only match sits 99.9 % into the partition; budget: the whole topic, 60 s.
    const needle = `million-${MESSAGES - Math.ceil(MESSAGES / 1000)}"`;
    const search = [];
    for (let i = 0; i < 2; ++i) {
        await page.goto(`/kafka/${encoded}?mode=search&partition=0`);
        await page.locator('[data-testid="search-q"]').fill(needle.slice(0, -1));
        await page.locator('[data-testid="search-max-messages"]').fill(String(MESSAGES));
        await page.locator('[data-testid="search-max-seconds"]').fill('60');
        const t0 = Date.now();
        await page.locator('[data-testid="search-go"]').click();
        await page.locator('[data-testid="search-progress"][data-scanned]').waitFor({ timeout: 60000 });
        const firstProgress = Date.now() - t0;
        await page.locator('[data-testid="search-matches"] [data-testid="message"]').first().waitFor({ timeout: 90000 });
        const firstMatch = Date.now() - t0;
        await page.locator('[data-testid="search-progress"][data-done="true"]').waitFor({ timeout: 90000 });
        const done = Date.now() - t0;
        const scanned = Number(await page.locator('[data-testid="search-progress"]').getAttribute('data-scanned'));
        search.push({ firstProgress, firstMatch, done, scanned });
        log('search', search.at(-1));
    }
    // The default budget (100,000 messages / 5 s) on a text that is nowhere: stops with a cursor.
    await page.goto(`/kafka/${encoded}?mode=search&partition=0&q=nowhere-to-be-found&search=1`);
    const t0 = Date.now();
    await page.locator('[data-testid="search-progress"][data-done="true"]').waitFor({ timeout: 60000 });
    const budget = {
        ms: Date.now() - t0,
        scanned: Number(await page.locator('[data-testid="search-progress"]').getAttribute('data-scanned')),
        cursor: await page.locator('[data-testid="search-continue"]').count() > 0,
    };
    await context.close();
    return { results, search, budget };
}

// In the page: counts what the live stream delivers (by reading a copy of the SSE body the
// app reads), long tasks and frames. Installed before the app's scripts run.
function instrument() {
    const stats = { batches: 0, messages: 0, dropped: 0, longTasks: 0, longTaskMs: 0, frames: 0, started: 0 };
    window.__bench = stats;
    const original = window.fetch;
    window.fetch = async (...args) => {
        const response = await original(...args);
        const url = String(args[0]?.url ?? args[0]);
        if (!url.includes('/api/v1/console/events/stream') || !response.body) return response;
        const [mine, theirs] = response.body.tee();
        (async () => {
            const reader = mine.getReader();
            const decoder = new TextDecoder();
            let buffer = '';
            for (;;) {
                const { value, done } = await reader.read();
                if (done) break;
                buffer += decoder.decode(value, { stream: true });
                let end;
                while ((end = buffer.indexOf('\n\n')) >= 0) {
                    const block = buffer.slice(0, end);
                    buffer = buffer.slice(end + 2);
                    const data = block.split('\n').filter((l) => l.startsWith('data:')).map((l) => l.slice(5).trimStart()).join('\n');
                    if (!data) continue;
                    try {
                        const batch = JSON.parse(data);
                        stats.batches++;
                        stats.messages += (Array.isArray(batch) ? batch : batch.messages ?? []).length;
                        stats.dropped += Number(batch.dropped) || 0;
                    } catch { /* a heartbeat or partial */ }
                }
            }
        })();
        return new Response(theirs, { status: response.status, statusText: response.statusText, headers: response.headers });
    };
    new PerformanceObserver((list) => {
        for (const entry of list.getEntries()) {
            stats.longTasks++;
            stats.longTaskMs += entry.duration;
        }
    }).observe({ type: 'longtask', buffered: true });
    const frame = () => {
        stats.frames++;
        requestAnimationFrame(frame);
    };
    requestAnimationFrame(frame);
}

async function liveStream() {
    const context = await signedContext(stack.keys.aQuery);
    await context.addInitScript(instrument);
    const page = await context.newPage();
    await page.goto('/analytics?view=live');
    await page.locator('[data-testid="live-state"]', { hasText: 'live' }).waitFor({ timeout: 30000 });
    const perRequest = 100;
    // A key whose own rate limit is above the load (the default limit is the service's).
    const ingest = await stack.createKey(stack.tenantA, 'ingest', ['--rate', String(RATE * 5), '--burst', String(RATE * 5)]);
    log(`loadgen: ${RATE} events/s for ${DURATION} s`);
    const loadgen = spawn(stack.binary('bench/tributary-loadgen'), [
        '--url', `http://127.0.0.1:${stack.ports.publisher}`, '--kind', 'analytics', '--connections', '8', '--threads', '2',
        '--rate', String(RATE / perRequest), '--batch', String(perRequest), '--duration', String(DURATION),
        '--warmup', '0', '--prefix', 'live', '--auth-env', 'BENCH_INGEST_KEY',
    ], { env: { ...process.env, BENCH_INGEST_KEY: ingest.secret }, stdio: ['ignore', 'pipe', 'pipe'] });
    let report = '';
    loadgen.stdout.on('data', (d) => { report += d; });
    loadgen.stderr.on('data', () => {});
    const exited = new Promise((resolve) => loadgen.on('exit', resolve));
    // Measure the middle of the run: skip the first 5 s (ramp-up), stop 2 s before the end.
    await sleep(5000);
    const a = await page.evaluate(() => ({ ...window.__bench, at: performance.now() }));
    const ui0 = await page.locator('[data-testid="live-events-status"]').evaluate((e) => ({ r: Number(e.dataset.received), d: Number(e.dataset.dropped) }));
    await sleep((DURATION - 7) * 1000);
    const b = await page.evaluate(() => ({ ...window.__bench, at: performance.now() }));
    const ui1 = await page.locator('[data-testid="live-events-status"]').evaluate((e) => ({ r: Number(e.dataset.received), d: Number(e.dataset.dropped) }));
    const rows = await page.locator('[data-testid="live-events-rows"] > *').count();
    // Responsiveness while the stream runs: a click on the pause button until its effect shows.
    const t0 = Date.now();
    await page.locator('[data-testid="live-events-pause"]').click({ timeout: 10000 });
    const clickMs = Date.now() - t0;
    await exited;
    await context.close();
    let sent = null;
    try {
        sent = JSON.parse(report.trim().split('\n').pop());
    } catch { /* report missing */ }
    const seconds = (b.at - a.at) / 1000;
    return {
        seconds,
        batchesPerS: (b.batches - a.batches) / seconds,
        shownPerS: (b.messages - a.messages) / seconds,
        droppedPerS: (b.dropped - a.dropped) / seconds,
        uiReceivedPerS: (ui1.r - ui0.r) / seconds,
        uiDroppedPerS: (ui1.d - ui0.d) / seconds,
        longTasks: b.longTasks - a.longTasks,
        longTaskMs: b.longTaskMs - a.longTaskMs,
        fps: (b.frames - a.frames) / seconds,
        rows,
        clickMs,
        sent,
    };
}

async function main() {
    await stack.start();
    browser = await launchBrowser(stack);
    // Some data for the overview to show.
    await stack.ingest(stack.keys.aIngest, 'analytics', {
        events: Array.from({ length: 50 }, (_, i) => ({ event_id: `warm-${i}`, user_id: `u${i % 5}`, event_type: 'page_view' })),
    });
    await waitFor('warm-up events stored', async () => (await stack.scalar('SELECT count(*) FROM user_analytics_events')) === 50, 60000);

    const load = await firstLoad();
    console.log('## First load (cold cache, 1280×800)');
    console.log();
    console.log(`Navigation start → overview rendered with data (the SSE's first update): median ${ms(median(load.times))} ` +
        `(runs: ${load.times.map(ms).join(', ')}); last run DOMContentLoaded ${ms(load.navigation.dcl)}, load ${ms(load.navigation.load)}.`);
    console.log();
    console.log('| asset | raw bytes | gzip -9 bytes |');
    console.log('| --- | ---: | ---: |');
    console.log(`| /index.html | ${load.indexBytes.toLocaleString('en')} | ${load.indexGzip.toLocaleString('en')} |`);
    for (const a of load.assets) console.log(`| ${a.ref} | ${a.raw.toLocaleString('en')} | ${a.gzip.toLocaleString('en')} |`);
    const js = load.assets.reduce((s, a) => s + a.raw, 0), jsz = load.assets.reduce((s, a) => s + a.gzip, 0);
    console.log(`| **JS + CSS** | **${js.toLocaleString('en')}** | **${jsz.toLocaleString('en')}** |`);
    console.log();

    const big = await produceBigTopic();
    const browse = await messageBrowser(big.topic);
    console.log(`## Message browser on a ${MESSAGES.toLocaleString('en')}-message topic (one partition; produced in ${big.seconds.toFixed(1)} s)`);
    console.log();
    console.log('Time from the click to the first message on screen (3 runs each):');
    console.log();
    console.log('| seek | median | runs |');
    console.log('| --- | ---: | --- |');
    for (const r of browse.results) console.log(`| ${r.label} | ${ms(median(r.samples))} | ${r.samples.map(ms).join(', ')} |`);
    console.log();
    console.log('Server-side search, budget = the whole topic / 60 s, the only match 99.9 % in:');
    console.log();
    console.log('| run | first progress | first match | done | scanned |');
    console.log('| --- | ---: | ---: | ---: | ---: |');
    browse.search.forEach((s, i) => console.log(`| ${i + 1} | ${ms(s.firstProgress)} | ${ms(s.firstMatch)} | ${ms(s.done)} | ${s.scanned.toLocaleString('en')} |`));
    console.log();
    console.log(`Default budget (100,000 messages / 5 s) on a text that is nowhere: done in ${ms(browse.budget.ms)} after ` +
        `${browse.budget.scanned.toLocaleString('en')} messages, "Continue from here" cursor: ${browse.budget.cursor ? 'yes' : 'no'}.`);
    console.log();

    const live = await liveStream();
    const sentRate = live.sent?.events_per_s ?? null;
    console.log(`## Live event stream at ${RATE.toLocaleString('en')} events/s (tributary-loadgen → publisher, ${DURATION} s)`);
    console.log();
    console.log(`Measured in the tab over ${live.seconds.toFixed(1)} s of the run (/analytics?view=live, 1280×800, headless):`);
    console.log();
    console.log('| figure | value |');
    console.log('| --- | ---: |');
    console.log(`| events/s on the tab's stream (delivered + dropped by the server's sampling) | ${Math.round(live.shownPerS + live.droppedPerS).toLocaleString('en')} |`);
    console.log(`| events/s delivered to the page (sampled) | ${Math.round(live.shownPerS).toLocaleString('en')} |`);
    console.log(`| events/s dropped by the server's sampling | ${Math.round(live.droppedPerS).toLocaleString('en')} |`);
    console.log(`| the page's own counters (received/s, dropped/s) | ${Math.round(live.uiReceivedPerS).toLocaleString('en')} / ${Math.round(live.uiDroppedPerS).toLocaleString('en')} |`);
    console.log(`| SSE batches/s | ${live.batchesPerS.toFixed(1)} |`);
    console.log(`| long tasks (> 50 ms) on the main thread | ${live.longTasks} (${ms(live.longTaskMs)} in all) |`);
    console.log(`| frames/s (requestAnimationFrame) | ${live.fps.toFixed(1)} |`);
    console.log(`| rows kept in the list | ${live.rows} |`);
    console.log(`| a click on "Pause" while streaming | ${ms(live.clickMs)} |`);
    if (sentRate) console.log(`| events/s accepted by the publisher (loadgen, whole run) | ${Math.round(sentRate).toLocaleString('en')} |`);
    if (live.sent?.latency_ms) {
        console.log(`| publisher latency p50 / p99 (loadgen) | ${ms(live.sent.latency_ms.p50)} / ${ms(live.sent.latency_ms.p99)} |`);
        console.log(`| loadgen errors | ${JSON.stringify(live.sent.errors ?? {})} |`);
    }
    console.log();
}

try {
    await main();
} finally {
    await browser?.close().catch(() => {});
    await stack.stop();
}
