import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { resolveConfig } from '../../src/config/resolved.js';
import { PipeError } from '../../src/errors.js';
import { createDockerRunner } from '../../src/runners/docker-runner.js';
import { RecordingStepReporter as RecordingReporter } from '../support/recording-reporter.js';

// No registry is reachable from these machines, so the pull path is exercised against a stand-in of the
// Docker Engine API that answers the calls a pull makes (ping, image inspect, POST /images/create) with
// the JSON progress stream Docker documents. Everything else about the runner is tested on the real engine.


type PullScript = { status: number; events: object[] };

describe('docker runner image pull (Docker API stand-in)', () => {
  let server: http.Server;
  let host: string;
  const pulled = new Set<string>();
  const scripts = new Map<string, PullScript>();
  const requests: string[] = [];

  before(async () => {
    server = http.createServer((req, res) => {
      const url = new URL(req.url ?? '/', 'http://engine');
      requests.push(`${req.method} ${url.pathname}${url.search}`);
      if (url.pathname.endsWith('/_ping')) return void res.end('OK');
      const inspect = /\/images\/(.+)\/json$/.exec(url.pathname);
      if (req.method === 'GET' && inspect) {
        const name = decodeURIComponent(inspect[1] ?? '');
        if (!pulled.has(name)) {
          res.writeHead(404, { 'content-type': 'application/json' });
          return void res.end(JSON.stringify({ message: `no such image: ${name}` }));
        }
        res.writeHead(200, { 'content-type': 'application/json' });
        return void res.end(JSON.stringify({ Id: `sha256:${'ab'.repeat(32)}`, RepoTags: [name] }));
      }
      if (req.method === 'POST' && url.pathname.endsWith('/images/create')) {
        const name = `${url.searchParams.get('fromImage')}:${url.searchParams.get('tag')}`;
        const script = scripts.get(name) ?? { status: 404, events: [] };
        if (script.status !== 200) {
          res.writeHead(script.status, { 'content-type': 'application/json' });
          return void res.end(JSON.stringify({ message: `pull access denied for ${name}` }));
        }
        res.writeHead(200, { 'content-type': 'application/json' });
        for (const event of script.events) res.write(`${JSON.stringify(event)}\r\n`);
        if (!script.events.some((event) => 'error' in event)) pulled.add(name);
        return void res.end();
      }
      res.writeHead(500).end('unexpected request');
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    host = `tcp://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });

  after(async () => {
    await new Promise<void>((resolve) => server.close(() => resolve()));
  });

  function config(image: string) {
    return resolveConfig({ app: 'pull-test', runtime: 'python3.11', image }, path.join('/tmp', 'pull-test', 'pipeline.config.ts'), undefined);
  }

  test('a missing image is pulled with per-layer progress', async () => {
    const image = 'registry.example/team/build:1';
    scripts.set(image, {
      status: 200,
      events: [
        { status: 'Pulling from team/build', id: '1' },
        { status: 'Pulling fs layer', progressDetail: {}, id: 'aaaaaaaaaaaa1111' },
        { status: 'Pulling fs layer', progressDetail: {}, id: 'bbbbbbbbbbbb2222' },
        { status: 'Downloading', progressDetail: { current: 100, total: 300 }, id: 'aaaaaaaaaaaa1111' },
        { status: 'Downloading', progressDetail: { current: 50, total: 80 }, id: 'bbbbbbbbbbbb2222' },
        { status: 'Downloading', progressDetail: { current: 300, total: 300 }, id: 'aaaaaaaaaaaa1111' },
        { status: 'Pull complete', progressDetail: {}, id: 'aaaaaaaaaaaa1111' },
        { status: 'Status: Downloaded newer image for registry.example/team/build:1' },
      ],
    });
    const reporter = new RecordingReporter();
    const runner = await createDockerRunner({ config: config(image), env: { DOCKER_HOST: host }, reporter, requirePython: false });
    assert.equal(runner.imageId, `sha256:${'ab'.repeat(32)}`);
    assert.deepEqual(reporter.progressUpdates, [
      { label: 'layer aaaaaaaaaaaa', current: 100, total: 300, unit: 'bytes' },
      { label: 'layer bbbbbbbbbbbb', current: 50, total: 80, unit: 'bytes' },
      { label: 'layer aaaaaaaaaaaa', current: 300, total: 300, unit: 'bytes' },
    ]);
    assert.ok(reporter.lines.some((l) => l.text === `pulling image ${image}`));
    assert.ok(reporter.lines.some((l) => l.text === 'layer aaaaaaaaaaaa: Pull complete'));
    assert.ok(requests.includes(`POST /images/create?fromImage=${encodeURIComponent('registry.example/team/build')}&tag=1`), requests.join('\n'));
  });

  test('an error in the pull stream fails with the registry message', async () => {
    const image = 'registry.example/team/broken:2';
    scripts.set(image, {
      status: 200,
      events: [
        { status: 'Pulling from team/broken', id: '2' },
        { errorDetail: { message: 'manifest unknown: manifest tagged by "2" is not found' }, error: 'manifest unknown' },
      ],
    });
    await assert.rejects(
      createDockerRunner({ config: config(image), env: { DOCKER_HOST: host }, reporter: new RecordingReporter(), requirePython: false }),
      (error: unknown) =>
        error instanceof PipeError &&
        error.code === 'IMAGE_PULL_FAILED' &&
        error.message === `could not pull image ${image}: manifest unknown: manifest tagged by "2" is not found`,
    );
  });

  test('an HTTP error from the pull request carries the engine message', async () => {
    const image = 'registry.example/private/thing:3';
    await assert.rejects(
      createDockerRunner({ config: config(image), env: { DOCKER_HOST: host }, requirePython: false }),
      (error: unknown) =>
        error instanceof PipeError &&
        error.code === 'IMAGE_PULL_FAILED' &&
        error.message === `could not pull image ${image}: pull access denied for ${image}`,
    );
  });
});
