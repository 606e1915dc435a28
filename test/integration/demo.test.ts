import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { describe, it } from 'node:test';

const MAIN = new URL('../../src/main.ts', import.meta.url).pathname;

describe('otel-lb demo (npm start)', () => {
  it('runs otel-lb in front of sinks and proves every trace arrived whole at one backend', async () => {
    const child = spawn(process.execPath, [MAIN, 'demo', '--duration', '2', '--rate', '5000'], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (c: string) => {
      stdout += c;
    });
    child.stderr.setEncoding('utf8').on('data', (c: string) => {
      stderr += c;
    });

    const code = await new Promise<number | null>((resolve) => child.on('close', resolve));

    assert.equal(code, 0, stdout + stderr);
    assert.match(stdout, /split traces: 0/);
    assert.match(stdout, /none lost/);
    assert.match(stdout, /Every trace arrived whole at exactly one backend\./);
    assert.equal(stderr, '');
  });

  it('stops early and cleanly on SIGINT', async () => {
    const child = spawn(process.execPath, [MAIN, 'demo', '--duration', '600', '--rate', '2000'], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let interrupted = false;
    child.stdout.setEncoding('utf8').on('data', (c: string) => {
      stdout += c;
      if (!interrupted && stdout.includes('Ctrl-C stops')) {
        interrupted = true;
        child.kill('SIGINT');
      }
    });

    const code = await new Promise<number | null>((resolve) => child.on('close', resolve));

    assert.equal(code, 0, stdout);
    assert.match(stdout, /Summary: /);
  });

  it('rejects a bad --duration with exit code 2', async () => {
    const child = spawn(process.execPath, [MAIN, 'demo', '--duration', 'soon'], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stderr = '';
    child.stderr.setEncoding('utf8').on('data', (c: string) => {
      stderr += c;
    });

    const code = await new Promise<number | null>((resolve) => child.on('close', resolve));

    assert.equal(code, 2);
    assert.match(stderr, /--duration "soon": give a number above 0/);
  });
});
