// The stack the browser tests run against: our real binaries (mock LLM, publisher, subscriber,
// query API, console) as child processes on free ports, over the Kafka, PostgreSQL and Redis
// that test.sh starts (KAFKA_BOOTSTRAP_SERVERS, DATABASE_URL, REDIS_URL). Like the C++
// harness (tests/integration/harness.cpp): a fresh database and a unique KAFKA_TOPIC_PREFIX per
// run, keys created with the real tributary-admin, and nothing left running afterwards — every
// pid goes into $TRIBUTARY_TEST_TMPDIR/.../pids, which run.sh's trap kills even if node dies.
import { spawn, execFile } from 'node:child_process';
import { appendFileSync, mkdirSync, openSync, readFileSync, closeSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { chromium } from 'playwright-core';

const run = promisify(execFile);

export function requireEnv(name) {
    const value = process.env[name];
    if (!value) {
        throw new Error(`the browser tests need ${name} (run them through ./test.sh or tests/browser/run.sh)`);
    }
    return value;
}

export const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

export async function waitFor(what, condition, timeoutMs, intervalMs = 200) {
    const deadline = Date.now() + timeoutMs;
    let last;
    while (Date.now() < deadline) {
        try {
            last = await condition();
            if (last) return last;
        } catch (e) {
            last = e;
        }
        await sleep(intervalMs);
    }
    throw new Error(`timed out after ${timeoutMs} ms waiting for ${what} (last: ${last?.message ?? last})`);
}

export function freePort() {
    return new Promise((resolve, reject) => {
        const server = createServer();
        server.once('error', reject);
        server.listen(0, '127.0.0.1', () => {
            const { port } = server.address();
            server.close(() => resolve(port));
        });
    });
}

export function uniqueSuffix() {
    return `${process.pid}_${Math.floor(Math.random() * 100000)}`;
}

// psql against `url`; returns the trimmed unaligned output.
export async function psql(url, sql) {
    const { stdout } = await run('psql', [url, '-X', '-q', '-t', '-A', '-v', 'ON_ERROR_STOP=1', '-c', sql]);
    return stdout.trim();
}

// Debian's chromium, headless, through playwright-core (never a downloaded browser). Launched
// as a server so its pid goes into the pids file like the services' (run.sh kills it if node
// dies); closing the returned browser stops it.
export async function launchBrowser(stack) {
    const server = await chromium.launchServer({
        executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
        headless: true,
        args: ['--no-sandbox'],
    });
    appendFileSync(stack.pidsFile, `${server.process().pid}\n`);
    const browser = await chromium.connect(server.wsEndpoint());
    const close = browser.close.bind(browser);
    browser.close = async () => {
        await close().catch(() => {});
        await server.close();
    };
    return browser;
}

export class Stack {
    constructor() {
        this.kafka = requireEnv('KAFKA_BOOTSTRAP_SERVERS');
        this.adminDatabaseUrl = requireEnv('DATABASE_URL');
        this.redisUrl = requireEnv('REDIS_URL');
        this.buildDir = requireEnv('TRIBUTARY_BUILD_DIR');
        this.scratch = join(requireEnv('TRIBUTARY_TEST_TMPDIR'), `browser-${uniqueSuffix()}`);
        mkdirSync(join(this.scratch, 'logs'), { recursive: true });
        this.pidsFile = process.env.TRIBUTARY_BROWSER_PIDS || join(this.scratch, 'pids');
        this.suffix = uniqueSuffix();
        this.prefix = `btest-${this.suffix}.`;
        this.processes = [];
        this.databaseName = null;
    }

    binary(relative) {
        return join(this.buildDir, relative);
    }

    topic(name) {
        return this.prefix + name;
    }

    async createDatabase() {
        this.databaseName = `btest_${this.suffix}`;
        await psql(this.adminDatabaseUrl, `CREATE DATABASE ${this.databaseName}`);
        this.databaseUrl = this.adminDatabaseUrl.replace(/\/[^/]*$/, `/${this.databaseName}`);
        // run.sh drops it too when node dies before `stop`.
        if (process.env.TRIBUTARY_BROWSER_DATABASES) {
            appendFileSync(process.env.TRIBUTARY_BROWSER_DATABASES, `${this.databaseName}\n`);
        }
    }

    sql(text) {
        return psql(this.databaseUrl, text);
    }

    async scalar(text) {
        return Number(await this.sql(text));
    }

    async admin(args) {
        const { stdout } = await run(this.binary('tools/admin/tributary-admin'), [...args, '--json'], {
            env: { ...process.env, DATABASE_URL: this.databaseUrl },
        });
        return JSON.parse(stdout);
    }

    async createKey(tenant, scopes, extra = []) {
        const json = await this.admin(['key', 'create', '--tenant', tenant, '--scopes', scopes, ...extra]);
        return { id: json.id, secret: json.key, tenant };
    }

    // Environment shared by our services (see ServiceEnv in the C++ harness), without an
    // anonymous tenant: every request needs a key.
    serviceEnv() {
        return {
            KAFKA_BOOTSTRAP_SERVERS: this.kafka,
            KAFKA_TOPIC_PREFIX: this.prefix,
            KAFKA_TOPIC_PARTITIONS: '3',
            DATABASE_URL: this.databaseUrl,
            REDIS_URL: this.redisUrl,
            REDIS_KEY_PREFIX: `btest-${this.suffix}`,
            SUBSCRIBER_GROUP_ID: `btest-subscriber-${this.suffix}`,
            SUBSCRIBER_WORKERS: '2',
            PUBLISHER_HOST: '127.0.0.1',
            QUERY_HOST: '127.0.0.1',
            SUBSCRIBER_HOST: '127.0.0.1',
            CONSOLE_HOST: '127.0.0.1',
            PUBLISHER_PORT: String(this.ports.publisher),
            QUERY_PORT: String(this.ports.query),
            SUBSCRIBER_PORT: String(this.ports.subscriber),
            CONSOLE_PORT: String(this.ports.console),
            QUERY_URL: `http://127.0.0.1:${this.ports.query}`,
            PUBLISHER_URL: `http://127.0.0.1:${this.ports.publisher}`,
            LLM_BASE_URL: `http://127.0.0.1:${this.ports.llm}/v1`,
            MOCK_LLM_PORT: String(this.ports.llm),
            AUTH_CACHE_TTL_MS: '1000',
            CONSOLE_LAG_SAMPLE_S: '1',
            LOG_LEVEL: 'info',
        };
    }

    startProcess(name, relative, extraEnv = {}) {
        const logPath = join(this.scratch, 'logs', `${name}.log`);
        const fd = openSync(logPath, 'a');
        const env = { ...process.env, ...this.serviceEnv(), ...extraEnv };
        delete env.TRIBUTARY_ANONYMOUS_TENANT;
        const child = spawn(this.binary(relative), [], { env, stdio: ['ignore', fd, fd] });
        closeSync(fd);
        appendFileSync(this.pidsFile, `${child.pid}\n`);
        const entry = { name, child, logPath, exited: null };
        child.on('exit', (code, signal) => {
            entry.exited = code ?? 128;
            entry.signal = signal;
        });
        this.processes.push(entry);
        return entry;
    }

    logTail(name, bytes = 3000) {
        const entry = this.processes.find((p) => p.name === name);
        if (!entry) return '';
        const text = readFileSync(entry.logPath, 'utf8');
        return text.slice(-bytes);
    }

    async waitHttp(name, port, path) {
        const entry = this.processes.find((p) => p.name === name);
        await waitFor(`${name} ${path}`, async () => {
            if (entry.exited !== null) {
                throw new Error(`${name} exited (${entry.exited}):\n${this.logTail(name)}`);
            }
            const response = await fetch(`http://127.0.0.1:${port}${path}`).catch(() => null);
            return response?.status === 200;
        }, 60000).catch((e) => {
            throw new Error(`${e.message}\n--- ${name} log ---\n${this.logTail(name)}`);
        });
    }

    async start({ withConsole = true } = {}) {
        this.ports = {
            publisher: await freePort(),
            query: await freePort(),
            subscriber: await freePort(),
            console: await freePort(),
            llm: await freePort(),
        };
        await this.createDatabase();
        // tributary-admin applies the migrations before the services start.
        this.tenantA = `acme-${this.suffix}`.replace(/_/g, '-');
        this.tenantB = `globex-${this.suffix}`.replace(/_/g, '-');
        this.tenantOps = `platform-${this.suffix}`.replace(/_/g, '-');
        for (const t of [this.tenantA, this.tenantB, this.tenantOps]) {
            await this.admin(['tenant', 'create', t]);
        }
        this.keys = {
            aIngest: await this.createKey(this.tenantA, 'ingest'),
            aQuery: await this.createKey(this.tenantA, 'query'),
            aAdmin: await this.createKey(this.tenantA, 'query,admin'),
            bIngest: await this.createKey(this.tenantB, 'ingest'),
            bQuery: await this.createKey(this.tenantB, 'query,admin'),
            operator: await this.createKey(this.tenantOps, 'query,admin,operator'),
        };
        this.startProcess('mock-llm', 'llm_client/mock_server/tributary-mock-llm');
        await this.waitHttp('mock-llm', this.ports.llm, '/healthz');
        this.startProcess('publisher', 'publisher/tributary-publisher');
        this.startProcess('subscriber', 'subscriber/tributary-subscriber');
        this.startProcess('query', 'query/tributary-query');
        await this.waitHttp('publisher', this.ports.publisher, '/readyz');
        await this.waitHttp('subscriber', this.ports.subscriber, '/readyz');
        await this.waitHttp('query', this.ports.query, '/readyz');
        this.consoleUrl = `http://127.0.0.1:${this.ports.console}`;
        if (!withConsole) return;
        this.startProcess('console', 'console/tributary-console');
        await this.waitHttp('console', this.ports.console, '/readyz');
        this.consoleUrl = `http://127.0.0.1:${this.ports.console}`;
    }

    async stop() {
        for (const entry of [...this.processes].reverse()) {
            if (entry.exited !== null) continue;
            entry.child.kill('SIGTERM');
        }
        const deadline = Date.now() + 20000;
        while (this.processes.some((p) => p.exited === null) && Date.now() < deadline) await sleep(50);
        for (const entry of this.processes) {
            if (entry.exited === null) entry.child.kill('SIGKILL');
        }
        if (this.databaseName) {
            await psql(this.adminDatabaseUrl, `DROP DATABASE IF EXISTS ${this.databaseName} WITH (FORCE)`)
                .catch((e) => console.error(`could not drop ${this.databaseName}: ${e.message}`));
        }
    }

    // --- HTTP helpers ---------------------------------------------------------------------

    async ingest(key, kind, body) {
        const response = await fetch(`http://127.0.0.1:${this.ports.publisher}/api/v1/events/${kind}`, {
            method: 'POST',
            headers: { Authorization: `Bearer ${key.secret}`, 'Content-Type': 'application/json' },
            body: JSON.stringify(body),
        });
        const text = await response.text();
        if (response.status !== 202) throw new Error(`ingest ${kind}: ${response.status} ${text}`);
        return JSON.parse(text);
    }

    // GET (or other) on the console with a key; returns {status, json, text}.
    async consoleApi(key, path, init = {}) {
        const response = await fetch(`${this.consoleUrl}${path}`, {
            ...init,
            headers: {
                Authorization: `Bearer ${key.secret}`,
                ...(init.body ? { 'Content-Type': 'application/json' } : {}),
                Accept: 'application/json',
                ...(init.headers || {}),
            },
        });
        const text = await response.text();
        let json = null;
        try {
            json = JSON.parse(text);
        } catch {
            // not JSON
        }
        return { status: response.status, json, text };
    }

    // Every message of a topic as kcat prints it: partition, offset, timestamp (ms), key, value.
    // Independent of the console, so the tests compare the UI against Kafka itself.
    async readTopic(topic) {
        const { stdout } = await run('kcat', [
            '-C', '-b', this.kafka, '-t', topic, '-e', '-q',
            '-f', '%p\t%o\t%T\t%k\t%s\n',
        ], { maxBuffer: 64 * 1024 * 1024 });
        return stdout.split('\n').filter(Boolean).map((line) => {
            const [partition, offset, timestamp, key, ...rest] = line.split('\t');
            return { partition: Number(partition), offset: Number(offset), timestamp: Number(timestamp), key, value: rest.join('\t') };
        });
    }

    // Topic name → partition count, from the broker's metadata.
    async topicPartitions() {
        const { stdout } = await run('kcat', ['-L', '-b', this.kafka, '-J'], { maxBuffer: 64 * 1024 * 1024 });
        const meta = JSON.parse(stdout);
        return new Map(meta.topics.map((t) => [t.topic, t.partitions.length]));
    }
}
