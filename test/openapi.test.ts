import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { Validator } from '@seriousme/openapi-schema-validator';
import { createTestApp, type TestApp } from '../src/platform/testing/app.ts';

let app: TestApp;
before(async () => {
  app = await createTestApp();
});
after(async () => {
  await app.close();
});

test('/openapi.json is a valid OpenAPI 3.1 document', async () => {
  const response = await app.http.inject({ method: 'GET', url: '/openapi.json' });
  assert.equal(response.statusCode, 200);
  const document = response.json();
  assert.equal(document.openapi, '3.1.0');
  const validator = new Validator();
  const result = await validator.validate(document);
  assert.ok(result.valid, JSON.stringify(result.errors, null, 2));
});

test('every operation documents its error envelope and is reachable from the docs UI', async () => {
  const document = (await app.http.inject({ method: 'GET', url: '/openapi.json' })).json();
  let operations = 0;
  for (const [path, item] of Object.entries<Record<string, { responses?: Record<string, unknown> }>>(
    document.paths,
  )) {
    for (const [method, operation] of Object.entries(item)) {
      if (['/metrics', '/health', '/ready'].includes(path)) continue;
      operations++;
      assert.ok(
        operation.responses?.['4XX'] ?? operation.responses?.['4xx'],
        `${method.toUpperCase()} ${path} documents no 4xx error`,
      );
    }
  }
  assert.ok(operations >= 0);
  const docs = await app.http.inject({ method: 'GET', url: '/docs' });
  assert.ok([200, 302].includes(docs.statusCode));
});
