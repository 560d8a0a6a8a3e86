// The console in a real browser (headless chromium driven by playwright-core) against the whole
// stack started here (lib/stack.mjs) with a known dataset (lib/dataset.mjs). Selectors are the
// front end's test hooks (console/web/TESTIDS.md). Tests run in order and share the stack: the
// dead-letter test fixes the poison the setup sent, the isolation test reuses earlier ids.
// TRIBUTARY_SCREENSHOTS=DIR saves one screenshot per page (docs/images/console-*.png).
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { launchBrowser, Stack, sleep, waitFor } from './lib/stack.mjs';
import * as D from './lib/dataset.mjs';
import { makeUi, tid, UI_TIMEOUT, VIEWPORT } from './lib/ui.mjs';


const stack = new Stack();
let browser;
const tag = `t${stack.suffix.replace(/_/g, '')}`;  // ids of this run: `${tag}-signup-3`, ...
const tagB = `${tag}b`;
const known = {};  // filled in `before`: the Kafka coordinates of known messages

const { shot, newContext, uiTest, signIn, openPage } = makeUi(stack, () => browser);

const dataValue = async (locator) => Number(await locator.getAttribute('data-value'));

// Sends `perSecond` live analytics events (current time) every second until `signal` aborts.
async function sendLive(signal, perSecond) {
    let n = 0;
    while (!signal.aborted) {
        const events = [];
        for (let i = 0; i < perSecond; ++i, ++n) {
            events.push({ event_id: `${tag}-live-${n}`, user_id: `${tag}-live-${n % 20}`, event_type: 'page_view' });
        }
        await stack.ingest(stack.keys.aIngest, 'analytics', { events });
        await sleep(1000);
    }
    return n;
}

describe('console in a real browser', { timeout: 240000 }, () => {
    before(async () => {
        await stack.start();
        browser = await launchBrowser(stack);
        // The dataset: tenant A's analytics and research records, tenant B's analytics, and
        // A's fixable poison (refused by a CHECK constraint until the test drops it).
        await stack.ingest(stack.keys.aIngest, 'analytics', { events: D.analyticsA(tag) });
        await stack.ingest(stack.keys.bIngest, 'analytics', { events: D.analyticsB(tagB) });
        for (const record of D.researchA(tag)) await stack.ingest(stack.keys.aIngest, 'chemical', record);
        await stack.sql(`ALTER TABLE user_analytics_events ADD CONSTRAINT ${D.POISON_CONSTRAINT} ` +
                        `CHECK (event_type <> '${D.POISON_TYPE}')`);
        await stack.ingest(stack.keys.aIngest, 'analytics', D.poisonA(tag));
        const analytics = D.analyticsA(tag).length + D.analyticsB(tagB).length;
        await waitFor('the dataset stored', async () =>
            (await stack.scalar('SELECT count(*) FROM user_analytics_events')) === analytics &&
            (await stack.scalar("SELECT count(*) FROM chemical_research_events WHERE enrichment_status <> 'pending'")) === 3,
        60000);
        await waitFor('the poison dead-lettered', async () =>
            (await stack.readTopic(stack.topic('analytics.events.dlq'))).length === 1, 30000);
        const messages = await stack.readTopic(stack.topic('analytics.events'));
        const find = (id) => messages.find((m) => m.value.includes(`"event_id":"${id}"`));
        known.message = find(`${tag}-signup-3`);
        known.messageB = find(`${tagB}-signup-1`);
        assert.ok(known.message && known.messageB, 'the known messages are in Kafka');
    });

    after(async () => {
        await browser?.close().catch(() => {});
        await stack.stop();
    });
    // A signal (ctest's timeout, Ctrl-C) skips `after`: stop everything here, then leave.
    for (const signal of ['SIGINT', 'SIGTERM']) {
        process.once(signal, async () => {
            await browser?.close().catch(() => {});
            await stack.stop().catch(() => {});
            process.exit(128 + (signal === 'SIGINT' ? 2 : 15));
        });
    }

    uiTest('sign-in: a wrong key shows a clear error, a right key opens the overview', async () => {
        const context = await newContext({ viewport: VIEWPORT });
        const page = await context.newPage();
        // Signed out, any page leads to the sign-in form.
        await page.goto('/overview');
        await page.locator('main[data-page="signin"]').waitFor({ timeout: UI_TIMEOUT });
        await tid(page, 'signin-key').fill('trb_this_is_not_a_key_0000000000000000');
        await tid(page, 'signin-submit').click();
        const error = tid(page, 'signin-error');
        await error.waitFor({ timeout: UI_TIMEOUT });
        assert.equal(await error.getAttribute('role'), 'alert');
        assert.match(await error.innerText(), /^401\b.*not accepted/is);
        await shot(page, 'signin-error');
        await context.close();

        const signed = await signIn(stack.keys.aQuery);
        assert.equal(await signed.locator('main').getAttribute('data-page'), 'overview');
        assert.match(await tid(signed, 'whoami').innerText(), new RegExp(stack.tenantA));
        // The key lives in this tab's sessionStorage only: never in the URL or localStorage.
        const storage = await signed.evaluate(() => ({
            session: JSON.stringify({ ...sessionStorage }), local: JSON.stringify({ ...localStorage }),
        }));
        assert.ok(storage.session.includes(stack.keys.aQuery.secret));
        assert.ok(!storage.local.includes(stack.keys.aQuery.secret));
        assert.ok(!signed.url().includes(stack.keys.aQuery.secret));
        const other = await signed.context().newPage();  // another tab: signed out
        await other.goto('/overview');
        await other.locator('main[data-page="signin"]').waitFor({ timeout: UI_TIMEOUT });
        await signed.context().close();
    });

    uiTest('overview: the live ingest rate rises while events are sent', async () => {
        const page = await signIn(stack.keys.aQuery);
        const rate = tid(page, 'overview-ingest-rate');
        await page.locator('[data-testid="overview-stream-state"]', { hasText: 'live' }).waitFor();
        // Quiet first: the dataset went in seconds ago.
        await waitFor('a quiet ingest rate', async () => (await rate.getAttribute('data-value')) !== null &&
            (await dataValue(rate)) < 5, 30000, 250);
        const quiet = await dataValue(rate);
        const updatesBefore = Number(await page.locator('main').getAttribute('data-updates'));
        const stop = new AbortController();
        const sending = sendLive(stop.signal, 100);
        try {
            const peak = await waitFor('the ingest rate to rise', async () => {
                const v = await dataValue(rate);
                return v >= 40 ? v : 0;
            }, 30000, 250);
            assert.ok(peak > quiet, `ingest rate ${peak} > ${quiet}`);
            assert.ok(Number(await page.locator('main').getAttribute('data-updates')) > updatesBefore);
            assert.ok(Number(await tid(page, 'overview-ingest-chart').getAttribute('data-points')) >= 2);
            await sleep(2500);  // a chart with the rise in it
            await shot(page, 'overview');
        } finally {
            stop.abort();
            await sending;
        }
        await page.context().close();
    });

    uiTest('analytics: the trends chart has one point per hour, with the dataset\'s counts', async () => {
        const page = await signIn(stack.keys.aQuery);
        const range = `from=${D.WINDOW.from}&to=${D.WINDOW.to}`;
        await openPage(page, `/analytics?view=trends&${range}&interval=hour&display=line`, 'analytics');
        const chart = tid(page, 'trends-chart');
        await page.locator(`[data-testid="trends-chart"][data-points="${D.TREND_COUNTS.length}"]`).waitFor();
        const summary = tid(page, 'trends-summary');
        assert.equal(Number(await summary.getAttribute('data-buckets')), D.TREND_COUNTS.length);
        assert.equal(Number(await summary.getAttribute('data-total')), D.TREND_COUNTS.reduce((a, b) => a + b, 0));
        assert.ok(await chart.locator('canvas').count() > 0, 'the chart is drawn');
        await shot(page, 'analytics-trends');
        // The same data as a table (state in the URL): one row per hour with its count.
        await tid(page, 'trends-display').selectOption('table');
        await tid(page, 'trends-table').waitFor();
        assert.match(page.url(), /display=table/);
        const counts = await tid(page, 'trends-table').locator('tbody tr').evaluateAll(
            (rows) => rows.map((r) => Number(r.cells[1].textContent.replace(/,/g, ''))));
        assert.deepEqual(counts, D.TREND_COUNTS);
        // A minute interval over the same window: 360 points.
        await openPage(page, `/analytics?view=trends&${range}&interval=minute&display=line`, 'analytics');
        await page.locator('[data-testid="trends-chart"][data-points="360"]').waitFor();
        await page.context().close();
    });

    uiTest('analytics: the funnel builder shows the expected users at each step', async () => {
        const page = await signIn(stack.keys.aQuery);
        await openPage(page, `/analytics?view=funnel&from=${D.WINDOW.from}&to=${D.WINDOW.to}`, 'analytics');
        await tid(page, 'funnel-step-0').fill(D.FUNNEL_STEPS[0]);
        await tid(page, 'funnel-step-1').fill(D.FUNNEL_STEPS[1]);
        await tid(page, 'funnel-add-step').click();
        await tid(page, 'funnel-step-2').fill(D.FUNNEL_STEPS[2]);
        await tid(page, 'funnel-run').click();
        await tid(page, 'funnel-bars').waitFor();
        const users = [];
        for (let i = 0; i < D.FUNNEL_STEPS.length; ++i) users.push(await dataValue(tid(page, `funnel-users-${i}`)));
        assert.deepEqual(users, D.FUNNEL_USERS);
        const table = await tid(page, 'funnel-table').innerText();
        assert.match(table, /60(\.0)?\s*%/);  // view_item from signup: 6 of 10
        assert.match(table, /50(\.0)?\s*%/);  // purchase from view_item: 3 of 6
        // The funnel is in the URL: reloading the link shows the same counts.
        assert.match(page.url(), /step=signup&step=view_item&step=purchase/);
        await page.reload();
        await page.locator(`[data-testid="funnel-users-2"][data-value="${D.FUNNEL_USERS[2]}"]`).waitFor();
        await shot(page, 'analytics-funnel');
        await page.context().close();
    });

    uiTest('analytics: the live event stream shows new events, filtered by type', async () => {
        const page = await signIn(stack.keys.aQuery);
        await openPage(page, '/analytics?view=live&event_type=purchase', 'analytics');
        await page.locator('[data-testid="live-state"]', { hasText: 'live' }).waitFor();
        const events = [];
        for (let i = 0; i < 6; ++i) {
            events.push({ event_id: `${tag}-stream-${i}`, user_id: `${tag}-stream-user`, event_type: i % 2 ? 'purchase' : 'click' });
        }
        await stack.ingest(stack.keys.aIngest, 'analytics', { events });
        const rows = tid(page, 'live-events-rows');
        await page.locator('[data-testid="live-events-status"][data-received="3"]').waitFor();
        await rows.locator(':scope > *', { hasText: `${tag}-stream-user` }).nth(2).waitFor();
        const text = await rows.innerText();
        assert.equal((text.match(/purchase/g) || []).length, 3, text);
        assert.ok(!text.includes('click'), 'the filter keeps other types out');
        await page.context().close();
    });

    uiTest('research: a record shows its structure, descriptors and enrichment', async () => {
        const page = await signIn(stack.keys.aAdmin);
        const record = D.researchA(tag)[1];  // aspirin
        await openPage(page, `/research/${encodeURIComponent(record.molecule_id)}`, 'record');
        // The structure: RDKit's SVG from the server, decoded by the browser into an image.
        const structure = page.locator('[data-testid="record-structure"] img');
        await structure.waitFor();
        await page.waitForFunction(() => {
            const img = document.querySelector('[data-testid="record-structure"] img');
            return img && img.complete && img.naturalWidth > 0;
        });
        assert.match(await tid(page, 'record-name').innerText(), /aspirin/i);
        assert.match(await tid(page, 'record-status').innerText(), /llm|fallback/i);
        assert.match(await tid(page, 'record-descriptors').innerText(), /180\.[12]/);  // molecular weight
        assert.ok(await tid(page, 'record-reenrich').isVisible(), 'an admin key may re-enrich');
        await shot(page, 'research-record');
        await page.context().close();
    });

    uiTest('kafka: the topic list shows every topic with its partition count', async () => {
        const page = await signIn(stack.keys.aQuery);
        await openPage(page, '/kafka', 'kafka');
        await tid(page, 'topics-table').waitFor();
        const shown = new Map(await tid(page, 'topics-table').locator('tbody tr[data-topic]').evaluateAll((rows) =>
            rows.map((r) => [r.dataset.topic, Number(r.querySelector('[data-testid="topic-partitions"]').textContent)])));
        const broker = await stack.topicPartitions();
        const ours = [...broker.keys()].filter((t) => t.startsWith(stack.prefix));
        assert.equal(ours.length, 4, `analytics, research and their dead-letter topics: ${ours}`);
        for (const topic of ours) assert.equal(shown.get(topic), broker.get(topic), topic);
        for (const [topic, partitions] of shown) {
            if (broker.has(topic)) assert.equal(partitions, broker.get(topic), topic);
        }
        await tid(page, 'topics-filter').fill(stack.prefix);
        await page.waitForFunction((n) => document.querySelectorAll('[data-testid="topics-table"] tbody tr[data-topic]').length === n, ours.length);
        await shot(page, 'kafka-topics');
        await page.context().close();
    });

    uiTest('kafka: the message browser finds a known message by offset and by timestamp', async () => {
        const page = await signIn(stack.keys.aQuery);
        const topic = stack.topic('analytics.events');
        const { partition, offset, timestamp } = known.message;
        await openPage(page, `/kafka/${encodeURIComponent(topic)}`, 'topic');
        await tid(page, 'partitions-table').waitFor();
        // By offset, through the form.
        await tid(page, 'browse-tab-offset').click();
        await tid(page, 'browse-offset').waitFor();
        await tid(page, 'browse-partition').selectOption(String(partition));
        await tid(page, 'browse-offset').fill(String(offset));
        await tid(page, 'browse-go').click();
        const byOffset = page.locator(`[data-testid="message"][data-partition="${partition}"][data-offset="${offset}"]`);
        await byOffset.waitFor();
        const first = tid(page, 'message').first();
        assert.equal(await first.getAttribute('data-offset'), String(offset), 'the first message is the one asked for');
        await byOffset.locator('summary').click();
        assert.match(await byOffset.locator('[data-testid="message-value"]').innerText(), new RegExp(`"event_id": "${tag}-signup-3"`));
        assert.match(page.url(), new RegExp(`mode=offset.*partition=${partition}.*offset=${offset}|offset=${offset}.*partition=${partition}`));
        await shot(page, 'kafka-messages');

        // By timestamp (to the second, UTC): the known message is among the first shown, and
        // nothing before that second is.
        const second = new Date(Math.floor(timestamp / 1000) * 1000).toISOString().slice(0, 19);
        await tid(page, 'browse-tab-timestamp').click();
        await tid(page, 'browse-timestamp').waitFor();
        await tid(page, 'browse-partition').selectOption(String(partition));
        await tid(page, 'browse-timestamp').fill(second);
        await tid(page, 'browse-go').click();
        await page.locator(`[data-testid="message"][data-partition="${partition}"][data-offset="${offset}"]`).waitFor();
        const offsets = await tid(page, 'message').evaluateAll((els) => els.map((e) => Number(e.dataset.offset)));
        const messages = (await stack.readTopic(topic)).filter((m) => m.partition === partition);
        const firstAtOrAfter = messages.filter((m) => m.timestamp >= Math.floor(timestamp / 1000) * 1000)
            .reduce((min, m) => Math.min(min, m.offset), Infinity);
        assert.equal(offsets[0], firstAtOrAfter, 'starts at the first message of that second');
        assert.ok(offsets.includes(offset));
        await page.context().close();
    });

    uiTest('consumer groups: the subscriber\'s group with its lag per partition', async () => {
        const page = await signIn(stack.keys.aQuery);
        await openPage(page, '/groups', 'groups');
        const group = `btest-subscriber-${stack.suffix}`;
        const row = page.locator(`[data-testid="groups-table"] tr[data-group="${group}"]`);
        await row.waitFor();
        await row.locator('[data-testid="group-link"]').click();
        await page.locator('main[data-page="group"]').waitFor();
        const partitions = tid(page, 'group-partitions-table');
        await partitions.waitFor();
        // Both source topics, every partition (3 each), committed offsets at their high marks.
        assert.equal(await partitions.locator('tbody tr').count(), 6);
        await page.locator('[data-testid="group-lag-chart"][data-points]').waitFor();
        await shot(page, 'consumer-lag');
        await page.context().close();
    });

    uiTest('dead letters: a poison appears with its reason, is replayed after the fix, then is stored', async () => {
        const poison = D.poisonA(tag);
        const page = await signIn(stack.keys.aAdmin);
        await openPage(page, '/dead-letters', 'deadletters');
        const group = page.locator('[data-testid="dlq-group"][data-stage="store"]', { hasText: D.POISON_CONSTRAINT });
        await group.waitFor();
        assert.equal(await group.getAttribute('data-count'), '1');
        assert.match(await group.locator('[data-testid="dlq-reason-text"]').innerText(), new RegExp(D.POISON_CONSTRAINT));
        await shot(page, 'dead-letters');
        await group.locator('[data-testid="dlq-group-open"]').click();
        const messages = tid(page, 'dlq-messages');
        await messages.locator('[data-testid="message"]', { hasText: poison.event_id }).waitFor();
        await messages.locator('[data-testid="dlq-select"]').first().check();
        await tid(page, 'replay-dry-run').click();
        await page.locator('[data-testid="replay-preview"][data-count="1"]').waitFor();
        assert.equal(await stack.scalar(`SELECT count(*) FROM user_analytics_events WHERE event_id = '${poison.event_id}'`), 0,
            'a dry run sends nothing');

        // Fix the cause, then replay: the row is stored, once.
        await stack.sql(`ALTER TABLE user_analytics_events DROP CONSTRAINT ${D.POISON_CONSTRAINT}`);
        await tid(page, 'replay-send').click();
        const started = tid(page, 'replay-started');
        await started.waitFor();
        const replayId = await started.getAttribute('data-replay-id');
        await waitFor('the replayed poison stored', async () =>
            (await stack.scalar(`SELECT count(*) FROM user_analytics_events WHERE event_id = '${poison.event_id}'`)) === 1, 30000);
        // The audit shows the replay with one message sent.
        await page.locator('[data-testid="replays-table"] tr', { hasText: replayId }).filter({ hasText: /done/ }).waitFor({ timeout: 30000 });

        // The stored row, in the browser: its trace ends stored, after the dead letter and the replay.
        await openPage(page, `/trace/${encodeURIComponent(poison.event_id)}`, 'trace');
        await tid(page, 'trace-step-stored').waitFor();
        const steps = await tid(page, 'trace-steps').locator('[data-step]').evaluateAll((els) => els.map((e) => e.dataset.step));
        assert.deepEqual(steps, ['accepted', 'produced', 'dead_lettered', 'replayed', 'stored']);
        // A query-only key sees the dead letters but may not replay.
        const reader = await signIn(stack.keys.aQuery);
        await openPage(reader, '/dead-letters', 'deadletters');
        await reader.locator('[data-testid="dlq-group"]').first().locator('[data-testid="dlq-group-open"]').click();
        await reader.locator('[data-testid="dlq-select"]').first().check();
        await tid(reader, 'replay-dry-run').click();
        // Replaying (a dry run too) needs the admin scope: the server says so, nothing is sent.
        const refused = tid(reader, 'replay-result').locator('[role="alert"]');
        await refused.waitFor();
        assert.match(await refused.innerText(), /^403\b.*admin/s);
        assert.ok(await tid(reader, 'replay-send').isDisabled(), 'replay needs the admin scope');
        await reader.context().close();
        await page.context().close();
    });

    uiTest('trace: a known research record shows every step of its path', async () => {
        const record = D.researchA(tag)[2];  // caffeine
        const page = await signIn(stack.keys.aQuery);
        await openPage(page, '/trace', 'trace');
        await tid(page, 'trace-input').fill(record.event_id);
        await tid(page, 'trace-go').click();
        await tid(page, 'trace-step-stored').waitFor();
        assert.equal(new URL(page.url()).pathname, `/trace/${encodeURIComponent(record.event_id)}`);
        const steps = await tid(page, 'trace-steps').locator('[data-step]').evaluateAll((els) => els.map((e) => e.dataset.step));
        // Accepted, produced, stored, and each enrichment attempt (the inline fallback, then
        // the LLM's), the last one the LLM's.
        assert.deepEqual(steps.slice(0, 2), ['accepted', 'produced'], steps.join());
        assert.ok(steps.includes('stored'), steps.join());
        const rest = steps.slice(2).filter((s) => s !== 'stored');
        assert.ok(rest.length >= 1 && rest.every((s) => s === 'enrichment'), steps.join());
        assert.match(await tid(page, 'trace-step-enrichment').last().innerText(), /llm/);
        // Where it went in Kafka, as the broker has it.
        const produced = await tid(page, 'trace-step-produced').innerText();
        const inKafka = (await stack.readTopic(stack.topic('research.records'))).find((m) => m.value.includes(record.event_id));
        assert.match(produced, new RegExp(`\\b${inKafka.offset}\\b`));
        await shot(page, 'trace');
        await page.context().close();
    });

    uiTest('isolation: tenant B\'s key never sees tenant A\'s messages or rows', async () => {
        const topic = stack.topic('analytics.events');
        const { partition, offset } = known.message;
        const aEvent = `${tag}-signup-3`;
        const aRecord = D.researchA(tag)[0];
        // Control: an operator sees A's message where B is about to look.
        const control = await stack.consoleApi(stack.keys.operator,
            `/api/v1/console/topics/${encodeURIComponent(topic)}/messages?partition=${partition}&offset=${offset}&limit=1`);
        assert.equal(control.status, 200, control.text);
        assert.equal(control.json.messages[0]?.event_id, aEvent);

        const page = await signIn(stack.keys.bQuery);
        // `asked` is the id in the URL, which a "not found" message may repeat.
        const noA = async (what, asked = '') => {
            const text = (await page.locator('main').innerText()).replaceAll(asked, '');
            // A's ids all start `${tag}-`; B's start `${tag}b-`.
            assert.ok(!text.includes(`${tag}-`), `${what} shows nothing of tenant A`);
            assert.ok(!text.includes(stack.tenantA), `${what} does not name tenant A`);
        };
        // A's offset, by URL.
        await openPage(page, `/kafka/${encodeURIComponent(topic)}?mode=offset&partition=${partition}&offset=${offset}&limit=500`, 'topic');
        await tid(page, 'browse-count').waitFor();
        await noA('A\'s topic offsets');
        // The whole partition that holds B's own known message: B's are there, A's are not.
        await openPage(page, `/kafka/${encodeURIComponent(topic)}?mode=offset&partition=${known.messageB.partition}&offset=0&limit=500`, 'topic');
        await tid(page, 'browse-count').waitFor();
        await page.locator(`[data-testid="message"][data-offset="${known.messageB.offset}"]`, { hasText: `${tagB}-signup-1` }).waitFor();
        await noA('a whole partition');
        // A server-side search for A's event id.
        await openPage(page, `/kafka/${encodeURIComponent(topic)}?mode=search&q=${aEvent}&search=1`, 'topic');
        await page.locator('[data-testid="search-progress"][data-done="true"]').waitFor();
        assert.equal(await tid(page, 'search-matches').locator('[data-testid="message"]').count(), 0);
        // A's event in trace, A's record page, A's dead letters.
        for (const [id, path, dataPage] of [[aEvent, `/trace/${aEvent}`, 'trace'],
                                            [D.poisonA(tag).event_id, `/trace/${D.poisonA(tag).event_id}`, 'trace'],
                                            [aRecord.molecule_id, `/research/${encodeURIComponent(aRecord.molecule_id)}`, 'record']]) {
            await openPage(page, path, dataPage);
            const alert = page.locator('[role="alert"]');
            await alert.waitFor();
            assert.match(await alert.innerText(), /^404\b/, path);
            await noA(path, id);
        }
        await openPage(page, '/dead-letters', 'deadletters');
        await page.locator('[data-testid="dlq-groups"] .empty, [data-testid="dlq-group"]').first().waitFor();
        await noA('dead letters');
        assert.ok(!(await tid(page, 'dlq-groups').innerText()).includes(D.POISON_CONSTRAINT));
        // B's overview counts none of A's dead letters.
        await openPage(page, '/overview', 'overview');
        await page.locator('[data-testid="overview-dlq-rate"][data-value]').waitFor();
        assert.match(await tid(page, 'overview-dlq-rate').innerText(), /total 0\b/);
        // The same funnel link counts only B's users.
        await openPage(page, `/analytics?view=funnel&from=${D.WINDOW.from}&to=${D.WINDOW.to}&step=signup&step=view_item&step=purchase`, 'analytics');
        await tid(page, 'funnel-bars').waitFor();
        const users = [];
        for (let i = 0; i < 3; ++i) users.push(await dataValue(tid(page, `funnel-users-${i}`)));
        assert.deepEqual(users, D.FUNNEL_USERS_B);
        // And the API itself, as an attacker would call it.
        const api = (path, init) => stack.consoleApi(stack.keys.bQuery, path, init);
        const raw = await api(`/api/v1/console/topics/${encodeURIComponent(topic)}/messages?partition=${partition}&offset=${offset}&limit=500`);
        assert.equal(raw.status, 200);
        assert.ok(raw.json.messages.every((m) => m.tenant_id === stack.tenantB), 'only B\'s messages');
        assert.equal((await api(`/api/v1/console/trace/${aEvent}`)).status, 404);
        assert.equal((await api(`/api/v1/research/molecules/${encodeURIComponent(aRecord.molecule_id)}`)).status, 404);
        // B's key has the admin scope: replaying A's dead letter by its coordinates is refused
        // like a missing one, and nothing reaches A's topic.
        const [letter] = await stack.readTopic(stack.topic('analytics.events.dlq'));
        const before = (await stack.readTopic(topic)).length;
        const replay = await api('/api/v1/console/dead-letters/replay', {
            method: 'POST',
            body: JSON.stringify({ topic: stack.topic('analytics.events.dlq'), messages: [{ partition: letter.partition, offset: letter.offset }] }),
        });
        assert.equal(replay.status, 404, replay.text);
        await sleep(1000);
        assert.equal((await stack.readTopic(topic)).length, before);
        await page.context().close();
    });

    uiTest('a 390 px wide screen renders the overview without horizontal overflow', async () => {
        const page = await signIn(stack.keys.aQuery, { viewport: { width: 390, height: 844 } });
        await page.locator('[data-testid="overview-ingest-rate"][data-value]').waitFor();
        await sleep(500);
        const widths = await page.evaluate(() => ({
            doc: document.documentElement.scrollWidth, body: document.body.scrollWidth, view: window.innerWidth,
        }));
        assert.ok(widths.doc <= widths.view && widths.body <= widths.view, JSON.stringify(widths));
        assert.ok(await tid(page, 'nav-toggle').isVisible(), 'the menu button replaces the nav');
        await shot(page, 'overview-phone');
        await page.context().close();
    });
});
