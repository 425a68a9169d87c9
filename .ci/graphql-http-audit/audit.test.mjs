// Runs every server audit of graphql-http against GRAPHQL_URL with node's test runner.
// A failed MUST audit fails its test; a SHOULD or MAY audit that is not "ok" is printed as a
// diagnostic line starting with "warn:" or "notice:", which .ci/run counts.
import { test } from 'node:test';
import { serverAudits } from 'graphql-http';

const url = process.env.GRAPHQL_URL;
if (!url) throw new Error('set GRAPHQL_URL to the endpoint, such as http://127.0.0.1:8080/graphql');
const authorization = process.env.GRAPHQL_AUTHORIZATION;

const fetchFn = (input, init = {}) =>
  fetch(input, {
    ...init,
    headers: { ...(authorization ? { authorization } : {}), ...(init.headers ?? {}) },
  });

for (const audit of serverAudits({ url, fetchFn })) {
  test(`${audit.id} ${audit.name}`, async (t) => {
    const result = await audit.fn();
    if (result.status === 'error') throw new Error(result.reason);
    if (result.status !== 'ok') t.diagnostic(`${result.status}: ${result.reason}`);
  });
}
