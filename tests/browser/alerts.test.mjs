// Alerts in the console, in a real browser (headless chromium driven by playwright-core) against
// a stack of its own (lib/stack.mjs) whose query API evaluates every second and may deliver to
// loopback: a rule made in the form (a refused threshold first), error events sent through the
// publisher until it fires, the alert acknowledged in the UI, its signed webhook received by a
// small HTTP server here and its delivery log shown as sent; a query-only key refused, another
// tenant's key shown nothing; a manual resolve and the rule deleted. Selectors are the front
// end's test hooks (console/web/TESTIDS.md). TRIBUTARY_SCREENSHOTS=DIR saves console-alerts.png.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { createServer } from 'node:http';
import { launchBrowser, Stack, sleep, waitFor } from './lib/stack.mjs';
import { makeUi, tid } from './lib/ui.mjs';

const SECRET = 'browser-test-secret';

// The services take their environment from this process's (lib/stack.mjs): only the query API
// reads these. One evaluation a second keeps the test short; the webhook receiver below listens
// on loopback, which the query API refuses by default.
process.env.ALERTS_INTERVAL_S = '1';
process.env.ALERTS_ALLOW_PRIVATE_TARGETS = 'true';

const stack = new Stack();
let browser;
const tag = `t${stack.suffix.replace(/_/g, '')}`;

// The webhook receiver: every request as it came (headers, raw body); answers 200.
const received = [];
const receiver = createServer((request, response) => {
    const chunks = [];
    request.on('data', (chunk) => chunks.push(chunk));
    request.on('end', () => {
        received.push({ method: request.method, url: request.url, headers: request.headers, body: Buffer.concat(chunks).toString('utf8') });
        response.writeHead(200, { 'Content-Type': 'text/plain' });
        response.end('ok');
    });
});
let hookUrl;

const { shot, uiTest, signIn, openPage } = makeUi(stack, () => browser, {
    onFailure: () => `--- query log ---\n${stack.logTail('query', 4000)}`,
});

// What the query API says, through the console's proxy (the path the pages use).
const api = (key, path, init) => stack.consoleApi(key, path, init);

// Sends `count` error events of tenant A, stamped now.
let sent = 0;
async function sendErrors(count) {
    const events = [];
    for (let i = 0; i < count; ++i, ++sent) {
        events.push({ event_id: `${tag}-error-${sent}`, user_id: `${tag}-user-${sent % 3}`, event_type: 'error', context: { page: { path: '/checkout' } } });
    }
    await stack.ingest(stack.keys.aIngest, 'analytics', { events });
}

// Filled in as the tests go, in order.
const state = { ruleId: null, alertId: null };

describe('alerts in a real browser', { timeout: 240000 }, () => {
    before(async () => {
        await new Promise((resolve) => receiver.listen(0, '127.0.0.1', resolve));
        hookUrl = `http://127.0.0.1:${receiver.address().port}/hook`;
        await stack.start();
        browser = await launchBrowser(stack);
    });

    after(async () => {
        await browser?.close().catch(() => {});
        await stack.stop();
        await new Promise((resolve) => receiver.close(resolve));
    });
    for (const signal of ['SIGINT', 'SIGTERM']) {
        process.once(signal, async () => {
            await browser?.close().catch(() => {});
            await stack.stop().catch(() => {});
            process.exit(128 + (signal === 'SIGINT' ? 2 : 15));
        });
    }

    uiTest('alerts: a rule made in the form fires on error events, is acknowledged, and its webhook is delivered', async () => {
        const page = await signIn(stack.keys.aAdmin, { path: '/alerts' });
        assert.equal(await page.locator('main').getAttribute('data-page'), 'alerts');
        assert.equal(await tid(page, 'nav-alerts').getAttribute('aria-current'), 'page');
        await tid(page, 'alerts-none').waitFor();

        // The form: event_count of "error" > 2 in 1m, for 0s, a signed webhook to the receiver.
        await tid(page, 'alerts-new-rule').click();
        await page.locator('main[data-page="alertrule"]').waitFor();
        await tid(page, 'rule-name').fill('checkout errors');
        await tid(page, 'rule-metric').selectOption('event_count');
        await tid(page, 'rule-event-type').fill('error');
        await tid(page, 'rule-window').fill('1m');
        await tid(page, 'rule-op').selectOption('>');
        await tid(page, 'rule-for').fill('0s');
        await tid(page, 'rule-channels-add').click();
        const channel = tid(page, 'rule-channels').locator('[data-testid="rule-channel"]');
        await channel.locator('[data-testid="rule-channel-type"]').selectOption('webhook');
        await channel.locator('[data-testid="rule-channel-url"]').fill(hookUrl);
        await channel.locator('[data-testid="rule-channel-secret"]').fill(SECRET);

        // A negative count threshold: the API's 400 in the error box and next to the field.
        await tid(page, 'rule-threshold').fill('-5');
        await tid(page, 'rule-save').click();
        const error = tid(page, 'rule-error');
        await error.waitFor();
        assert.equal(await error.getAttribute('role'), 'alert');
        assert.match(await error.innerText(), /^400 validation_failed\b.*condition\.threshold/s);
        const fieldError = page.locator('[data-testid="rule-field-error"][data-field="condition.threshold"]');
        assert.match(await fieldError.innerText(), /negative/);
        assert.equal(await tid(page, 'rule-threshold').getAttribute('aria-invalid'), 'true');
        // The field error sits with the threshold's own field.
        assert.equal(await fieldError.evaluate((e) => e.parentElement.querySelector('[data-testid="rule-threshold"]') !== null), true);
        assert.equal(new URL(page.url()).pathname, '/alerts/rules/new');
        assert.equal((await api(stack.keys.aQuery, '/api/v1/alerts/rules')).json.rules.length, 0, 'nothing was created');

        await tid(page, 'rule-threshold').fill('2');
        await tid(page, 'rule-save').click();
        const saved = tid(page, 'rule-saved');
        await saved.waitFor();
        state.ruleId = await saved.getAttribute('data-rule-id');
        assert.match(state.ruleId, /^rul_/);
        assert.equal(new URL(page.url()).pathname, `/alerts/rules/${state.ruleId}`);
        assert.equal(await tid(page, 'rule-error').count(), 0);
        const created = await api(stack.keys.aQuery, `/api/v1/alerts/rules/${state.ruleId}`);
        assert.equal(created.status, 200, created.text);
        assert.deepEqual(
            { metric: created.json.condition.metric, event_type: created.json.condition.event_type, window: created.json.condition.window,
              op: created.json.condition.op, threshold: created.json.condition.threshold, for: created.json.condition.for },
            { metric: 'event_count', event_type: 'error', window: '1m', op: '>', threshold: 2, for: '0s' });
        assert.deepEqual(created.json.channels, [{ type: 'webhook', url: hookUrl, has_secret: true }]);

        // Edited in the form (PUT): the description changes, the webhook keeps its secret.
        await tid(page, 'rule-description').fill('more than two errors in a minute');
        await tid(page, 'rule-save').click();
        await page.locator('[data-testid="rule-saved"]', { hasText: 'updated' }).waitFor();
        const edited = (await api(stack.keys.aQuery, `/api/v1/alerts/rules/${state.ruleId}`)).json;
        assert.equal(edited.description, 'more than two errors in a minute');
        assert.equal(edited.channels[0].has_secret, true);

        // Errors through the publisher until the rule fires (the count is over the last minute).
        const firing = await waitFor('the rule to fire', async () => {
            const res = await api(stack.keys.aQuery, `/api/v1/alerts?state=firing&rule_id=${state.ruleId}`);
            if (res.json?.alerts?.length) return res.json.alerts[0];
            await sendErrors(3);
            return null;
        }, 60000, 1000);
        state.alertId = firing.id;
        assert.match(state.alertId, /^alt_/);

        // On /alerts (it refreshes itself) as firing; the rules tab shows the rule firing too.
        await tid(page, 'nav-alerts').click();
        const row = page.locator(`[data-testid="alert-row"][data-alert-id="${state.alertId}"]`);
        await page.locator(`[data-testid="alert-row"][data-alert-id="${state.alertId}"][data-state="firing"]`).waitFor();
        assert.match(await row.locator('[data-testid="alert-state"]').innerText(), /firing/);
        assert.match(await row.innerText(), /checkout errors/);
        await sleep(300);
        await shot(page, 'alerts');

        // Acknowledged in the UI; the API has who and when.
        await row.locator('[data-testid="alert-ack"]').click();
        await page.locator(`[data-testid="alert-action-done"][data-action="acknowledge"][data-alert-id="${state.alertId}"]`).waitFor();
        await page.locator(`[data-testid="alert-row"][data-alert-id="${state.alertId}"][data-acknowledged="true"]`).waitFor();
        const acknowledged = await api(stack.keys.aQuery, `/api/v1/alerts/${state.alertId}`);
        assert.equal(acknowledged.status, 200, acknowledged.text);
        assert.ok(acknowledged.json.acknowledged_at, 'acknowledged_at is set');
        assert.equal(acknowledged.json.state, 'firing');

        // The receiver got the firing notification, signed with the channel's secret.
        const hook = await waitFor('the firing webhook', async () =>
            received.find((r) => r.body.includes(state.alertId) && r.body.includes('alert.firing')), 30000);
        assert.equal(hook.method, 'POST');
        assert.match(hook.headers['content-type'], /^application\/json/);
        const timestamp = hook.headers['x-tributary-timestamp'];
        const expected = createHmac('sha256', SECRET).update(`${timestamp}.${hook.body}`).digest('hex');
        assert.equal(hook.headers['x-tributary-signature'], `sha256=${expected}`);
        const payload = JSON.parse(hook.body);
        assert.equal(payload.type, 'alert.firing');
        assert.equal(payload.rule_id, state.ruleId);
        assert.equal(payload.alert_id, state.alertId);
        assert.equal(hook.headers['x-tributary-notification-id'], payload.id);

        // The alert's page: its transitions and the delivery log with the notification sent.
        await row.locator('[data-testid="alert-link"]').click();
        await page.locator('main[data-page="alert"]').waitFor();
        assert.equal(new URL(page.url()).pathname, `/alerts/${state.alertId}`);
        assert.equal(await tid(page, 'alert-state').getAttribute('data-state'), 'firing');
        assert.notEqual((await tid(page, 'alert-acknowledged').innerText()).trim(), '–');
        await tid(page, 'alert-transitions-table').locator('tr[data-to="firing"]').first().waitFor();
        const delivered = page.locator(`[data-testid="alert-notification"][data-notification-id="${payload.id}"]`);
        await page.locator(`[data-testid="alert-notification"][data-notification-id="${payload.id}"][data-status="sent"]`).waitFor();
        assert.equal(await delivered.getAttribute('data-kind'), 'firing');
        assert.equal(await delivered.getAttribute('data-channel-type'), 'webhook');
        assert.match(await delivered.innerText(), new RegExp(hookUrl.replace(/[.]/g, '\\.')));
        assert.match(await delivered.locator('[data-testid="notification-status"]').innerText(), /sent/);

        // The rules tab and the history have it too.
        await openPage(page, '/alerts?view=rules', 'alerts');
        await page.locator(`[data-testid="alert-rule-row"][data-rule-id="${state.ruleId}"][data-state="firing"]`).waitFor();
        await openPage(page, '/alerts?view=history', 'alerts');
        await page.locator(`[data-testid="alert-history-row"][data-alert-id="${state.alertId}"]`).waitFor();
    });

    uiTest('alerts: a query-only key sees the alert but may not act on it; another tenant sees nothing', async () => {
        assert.ok(state.alertId, 'the first test made an alert');
        const page = await signIn(stack.keys.aQuery, { path: '/alerts' });
        const row = page.locator(`[data-testid="alert-row"][data-alert-id="${state.alertId}"]`);
        await row.waitFor();
        await row.locator('[data-testid="alert-snooze"]').click();
        const refused = tid(page, 'alerts-action-result').locator('[role="alert"]');
        await refused.waitFor();
        assert.match(await refused.innerText(), /^403\b/);
        assert.equal((await api(stack.keys.aQuery, `/api/v1/alerts/${state.alertId}`)).json.snoozed_until, null);

        // Tenant B: its lists are empty and A's alert and rule are not found.
        const other = await signIn(stack.keys.bQuery, { path: `/alerts/${state.alertId}` });
        const missing = other.locator('[role="alert"]');
        await missing.waitFor();
        assert.match(await missing.innerText(), /^404\b/);
        await openPage(other, `/alerts/rules/${state.ruleId}`, 'alertrule');
        await other.locator('[role="alert"]').waitFor();
        assert.match(await other.locator('[role="alert"]').innerText(), /^404\b/);
        await openPage(other, '/alerts', 'alerts');
        await tid(other, 'alerts-none').waitFor();
        assert.equal((await api(stack.keys.bQuery, '/api/v1/alerts?state=all')).json.alerts.length, 0);
        assert.equal((await api(stack.keys.bQuery, `/api/v1/alerts/${state.alertId}/acknowledge`, { method: 'POST', body: '{}' })).status, 404);
    });

    uiTest('alerts: resolved by hand, then the rule is deleted in the form', async () => {
        assert.ok(state.alertId, 'the first test made an alert');
        const page = await signIn(stack.keys.aAdmin, { path: `/alerts/${state.alertId}` });
        await tid(page, 'alert-snooze').waitFor();
        await tid(page, 'alerts-snooze-for').selectOption('1h');
        await tid(page, 'alert-snooze').click();
        await page.locator('[data-testid="alert-action-done"][data-action="snooze"]').waitFor();
        const snoozed = (await api(stack.keys.aQuery, `/api/v1/alerts/${state.alertId}`)).json;
        const until = Date.parse(snoozed.snoozed_until) - Date.now();
        assert.ok(until > 50 * 60000 && until <= 61 * 60000, `snoozed for about an hour (${until} ms)`);

        await tid(page, 'alert-resolve').click();
        await page.locator('[data-testid="alert-state"][data-state="resolved"]').waitFor();
        const resolved = (await api(stack.keys.aQuery, `/api/v1/alerts/${state.alertId}`)).json;
        assert.equal(resolved.state, 'resolved');
        assert.equal(resolved.resolve_reason, 'manual');
        assert.equal(await tid(page, 'alert-ack').count(), 0, 'no actions on a resolved alert');
        // The resolve notification goes out too and shows in the log.
        await page.locator('[data-testid="alert-notification"][data-kind="resolved"][data-status="sent"]').waitFor({ timeout: 30000 });
        assert.ok(received.some((r) => r.body.includes(state.alertId) && r.body.includes('alert.resolved')));

        // Deleted (DELETE through the proxy): gone from the API and from the rules list.
        await tid(page, 'alert-rule-link').click();
        await page.locator('main[data-page="alertrule"]').waitFor();
        await tid(page, 'rule-delete').click();
        await tid(page, 'rule-delete-confirm').click();
        await page.locator('main[data-page="alerts"] [data-testid="alerts-rules-table"]').waitFor();
        assert.equal(await page.locator(`[data-testid="alert-rule-row"][data-rule-id="${state.ruleId}"]`).count(), 0);
        assert.equal((await api(stack.keys.aQuery, `/api/v1/alerts/rules/${state.ruleId}`)).status, 404);
    });
});
