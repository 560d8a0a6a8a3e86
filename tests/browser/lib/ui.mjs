// What every browser test file uses to drive the console: test hooks, screenshots, contexts
// that a failing test reports on, sign-in through the form, opening a page.
import { test } from 'node:test';
import { join } from 'node:path';

export const SHOTS = process.env.TRIBUTARY_SCREENSHOTS || '';
export const VIEWPORT = { width: 1280, height: 800 };
export const UI_TIMEOUT = 20000;

export const tid = (page, id) => page.locator(`[data-testid="${id}"]`);

// `stack`: the file's lib/stack.mjs Stack; `getBrowser()`: its browser once launched;
// `onFailure()`: extra text printed when a test fails (e.g. a service's log tail).
export function makeUi(stack, getBrowser, { onFailure } = {}) {
    async function shot(page, name) {
        if (!SHOTS) return;
        await page.evaluate(() => document.fonts?.ready);
        await page.screenshot({ path: join(SHOTS, `console-${name}.png`) });
    }

    // Every context a test opens, so a failing test can leave a screenshot and the page's text.
    const contexts = new Set();
    async function newContext(options) {
        const context = await getBrowser().newContext({ baseURL: stack.consoleUrl, ...options });
        contexts.add(context);
        context.on('close', () => contexts.delete(context));
        return context;
    }

    // Runs a test; when it fails, saves what each open page showed into the scratch folder
    // (run.sh keeps it and prints where), then closes the test's contexts either way.
    function uiTest(name, fn) {
        test(name, async (t) => {
            try {
                await fn(t);
            } catch (error) {
                let i = 0;
                for (const context of contexts) {
                    for (const page of context.pages()) {
                        const base = join(stack.scratch, `failed-${name.replace(/[^a-z0-9]+/gi, '-').slice(0, 40)}-${i++}`);
                        await page.screenshot({ path: `${base}.png` }).catch(() => {});
                        const text = await page.locator('body').innerText().catch(() => '');
                        console.error(`--- ${page.url()} (screenshot ${base}.png) ---\n${text.slice(0, 3000)}`);
                    }
                }
                if (onFailure) console.error(onFailure());
                throw error;
            } finally {
                for (const context of [...contexts]) await context.close().catch(() => {});
            }
        });
    }

    // A fresh tab (its own sessionStorage) signed in with `key` through the sign-in form.
    async function signIn(key, { viewport = VIEWPORT, path = '/overview' } = {}) {
        const context = await newContext({ viewport });
        context.setDefaultTimeout(UI_TIMEOUT);
        const page = await context.newPage();
        page.on('pageerror', (e) => console.error(`page error: ${e.message}`));
        await page.goto(`/signin?next=${encodeURIComponent(path)}`);
        await tid(page, 'signin-key').fill(key.secret);
        await tid(page, 'signin-submit').click();
        await page.locator('main[data-page]:not([data-page="signin"])').waitFor();
        return page;
    }

    async function openPage(page, path, dataPage) {
        await page.goto(path);
        await page.locator(`main[data-page="${dataPage}"]`).waitFor();
    }

    return { shot, newContext, uiTest, signIn, openPage };
}
