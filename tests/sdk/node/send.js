// Segment's Node SDK (@segment/analytics-node) as an unchanged client of Tributary's
// Segment-compatible routes. Used by tests/integration/segment_itest.cpp.
//
// Usage: SEGMENT_HOST=http://127.0.0.1:8000 SEGMENT_WRITE_KEY=trb_... SEGMENT_RUN=abc \
//          node send.js calls|burst|one [COUNT]
//   calls  track ("Order Completed" with properties, a Unicode event name), identify (traits,
//          linking an anonymousId), page (name + properties.path; one earlier anonymous page),
//          screen, group, alias, 60 events flushed as one batch, and one message sent twice
//          (in two requests) with one messageId
//   burst  COUNT track events (default 3000) in batches of 100, all queued at once: with a
//          key of a low rate limit some batches get 429 + Retry-After and the SDK retries them
//   one    a single track event (e.g. with a wrong key: the SDK reports the 401)
// Prints one JSON line last: {sdk, version, mode, sent: [...], requests: [{status, events,
// retry_after, body}], errors: [{code, reason}]}. Exits 0 unless the script itself breaks.
'use strict';

const { Analytics } = require('@segment/analytics-node');

const mode = process.argv[2] || 'calls';
const host = process.env.SEGMENT_HOST;
const writeKey = process.env.SEGMENT_WRITE_KEY;
const run = process.env.SEGMENT_RUN || String(Date.now());
if (!host || !writeKey) {
  console.error('SEGMENT_HOST and SEGMENT_WRITE_KEY are required');
  process.exit(2);
}

const analytics = new Analytics({
  writeKey,
  host,
  path: '/v1/batch',
  maxRetries: 10,
  flushAt: mode === 'calls' ? 200 : 100,
  flushInterval: 60000, // batches leave on flush() (or when full), never on a timer
  httpRequestTimeout: 30000,
});

const sent = [];
const requests = [];
const errors = [];
analytics.on('http_response', (r) => {
  let events = null;
  try {
    events = JSON.parse(r.body).batch.map((e) => e.messageId);
  } catch (_) {
    // a body we cannot parse: leave events unknown
  }
  requests.push({
    status: r.status,
    events,
    retry_after: r.headers['retry-after'] ?? null,
  });
});
analytics.on('error', (err) => {
  errors.push({ code: err.code, reason: String(err.reason && err.reason.message ? err.reason.message : err.reason) });
});

const user = `node-user-${run}`;
const anon = `node-anon-${run}`;

function call(type, params) {
  sent.push({ type, ...params });
  analytics[type](params);
}

async function calls() {
  // Before the user is known: an anonymous page view, later linked by identify.
  call('page', { anonymousId: anon, name: 'Landing', properties: { path: '/landing', title: 'Welcome' } });
  call('track', {
    userId: user,
    event: 'Order Completed',
    messageId: `node-order-${run}`,
    properties: { order_id: `o-${run}`, revenue: 99.99, currency: 'EUR', products: [{ sku: 'A-1', quantity: 2 }] },
    context: { os: { name: 'Linux' }, userAgent: 'segment-itest', location: { country: 'FR' } },
  });
  call('track', { userId: user, event: 'Paiement réussi — 注文完了 ✓', properties: { method: 'carte' } });
  call('identify', {
    userId: user,
    anonymousId: anon,
    traits: { email: `${user}@example.com`, plan: 'pro', name: 'Zoë Node' },
  });
  call('page', {
    userId: user,
    name: 'Pricing',
    properties: { path: '/pricing', url: 'https://example.com/pricing', title: 'Pricing', referrer: 'https://search.example/' },
  });
  call('screen', { userId: user, name: 'Home Screen', properties: { variant: 'dark' } });
  call('group', { userId: user, groupId: `g-${run}`, traits: { name: 'Acme', employees: 42 } });
  call('alias', { userId: user, previousId: anon });
  call('track', { userId: user, event: 'Dup Event', messageId: `node-dup-${run}`, properties: { attempt: 1 } });
  await analytics.flush();
  // Many events flushed as one batch (flushAt is larger), plus the duplicate again.
  for (let i = 0; i < 60; ++i) {
    call('track', { userId: user, event: 'Batch Item', messageId: `node-batch-${run}-${i}`, properties: { i } });
  }
  call('track', { userId: user, event: 'Dup Event', messageId: `node-dup-${run}`, properties: { attempt: 2 } });
}

async function burst(count) {
  for (let i = 0; i < count; ++i) {
    call('track', {
      userId: `node-burst-${run}-${i % 10}`,
      event: 'Burst Event',
      messageId: `node-burst-${run}-${i}`,
      properties: { i },
    });
  }
}

async function one() {
  call('track', { userId: user, event: 'Order Completed', messageId: `node-one-${run}`, properties: { revenue: 1 } });
}

async function main() {
  if (mode === 'calls') await calls();
  else if (mode === 'burst') await burst(Number(process.argv[3] || 3000));
  else if (mode === 'one') await one();
  else throw new Error(`unknown mode ${mode}`);
  await analytics.closeAndFlush({ timeout: 120000 });
  const summary = sent.map((m) => ({ type: m.type, userId: m.userId, anonymousId: m.anonymousId, event: m.event, messageId: m.messageId }));
  const out = { sdk: '@segment/analytics-node', version: analytics.VERSION, mode, run, sent: mode === 'burst' ? sent.length : summary, requests, errors };
  if (mode === 'burst') {
    // The burst's requests, without their message ids (too many to print).
    out.requests = requests.map((r) => ({ status: r.status, events: r.events ? r.events.length : null, retry_after: r.retry_after }));
  }
  process.stdout.write('\n' + JSON.stringify(out) + '\n');
}

main().catch((e) => {
  process.stdout.write('\n' + JSON.stringify({ sdk: '@segment/analytics-node', mode, fatal: String(e && e.stack ? e.stack : e), requests, errors }) + '\n');
  process.exit(1);
});
