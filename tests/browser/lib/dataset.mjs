// The known dataset the browser tests send through the publisher, and what the pages must show
// for it. Analytics events sit in a fixed past window (2026-01-05, 00:00–06:00 UTC) so their
// hourly counts and the funnel do not depend on when the test runs; live events (the overview
// test) carry the current time and fall outside it.
export const WINDOW = { from: '2026-01-05T00:00:00Z', to: '2026-01-05T06:00:00Z' };

// Hourly counts of tenant A's events in WINDOW, all types together: 10 signups (hour 0),
// 6 view_item (hour 1), 3 purchases (hour 2), page views in hours 3 and 5, none in hour 4.
export const TREND_COUNTS = [10, 6, 3, 4, 0, 7];
export const FUNNEL_STEPS = ['signup', 'view_item', 'purchase'];
export const FUNNEL_USERS = [10, 6, 3];
// Tenant B's funnel over the same window (same steps): 5 signups, 2 of them view an item.
export const FUNNEL_USERS_B = [5, 2, 0];

const at = (hour, minute) => `2026-01-05T${String(hour).padStart(2, '0')}:${String(minute).padStart(2, '0')}:00Z`;

function event(tenantTag, userIndex, type, hour, minute, n) {
    return {
        event_id: `${tenantTag}-${type}-${n}`,
        user_id: `${tenantTag}-user-${userIndex}`,
        event_type: type,
        timestamp: at(hour, minute),
        session_id: `${tenantTag}-session-${userIndex}`,
        context: { page: { path: `/${type}` }, device: { type: userIndex % 2 ? 'mobile' : 'desktop' } },
        metadata: { source: 'browser-test', step: type },
    };
}

// Tenant A's analytics events; ids are `${tag}-${type}-${n}`.
export function analyticsA(tag) {
    const events = [];
    for (let u = 0; u < 10; ++u) events.push(event(tag, u, 'signup', 0, u * 5, u));
    for (let u = 0; u < 6; ++u) events.push(event(tag, u, 'view_item', 1, u * 5, u));
    for (let u = 0; u < 3; ++u) events.push(event(tag, u, 'purchase', 2, u * 5, u));
    for (let i = 0; i < 4; ++i) events.push(event(tag, i, 'page_view', 3, i * 7, i));
    for (let i = 0; i < 7; ++i) events.push(event(tag, i, 'page_view', 5, i * 7, 4 + i));
    return events;
}

export function analyticsB(tag) {
    const events = [];
    for (let u = 0; u < 5; ++u) events.push(event(tag, u, 'signup', 0, u * 3, u));
    for (let u = 0; u < 2; ++u) events.push(event(tag, u, 'view_item', 1, u * 3, u));
    return events;
}

// Research records with structures RDKit draws; `${tag}-mol-${name}` ids.
export function researchA(tag) {
    const molecules = [
        ['ethanol', 'CCO'],
        ['aspirin', 'CC(=O)OC1=CC=CC=C1C(=O)O'],
        ['caffeine', 'CN1C=NC2=C1C(=O)N(C(=O)N2C)C'],
    ];
    return molecules.map(([name, smiles]) => ({
        event_id: `${tag}-rec-${name}`,
        molecule_id: `${tag}-mol-${name}`,
        researcher: `Dr. Browser ${tag}`,
        data: { smiles, name, notes: `${name} sample measured by the browser test; melting point noted` },
    }));
}

// The fixable poison: PostgreSQL refuses the row while the test's CHECK constraint exists
// (SQLSTATE 23514, a data error: the subscriber dead-letters it at stage "store"); dropping
// the constraint is "fixing the cause", after which a replay stores it.
export const POISON_CONSTRAINT = 'btest_checkout_blocked';
export const POISON_TYPE = 'checkout_blocked';
export function poisonA(tag) {
    return {
        event_id: `${tag}-poison-1`,
        user_id: `${tag}-user-poison`,
        event_type: POISON_TYPE,
        metadata: { source: 'browser-test', note: 'refused until the constraint is dropped' },
    };
}
