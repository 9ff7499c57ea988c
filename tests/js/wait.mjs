// Assertions and polling shared by the test pages (page-harness.mjs, persist-page.mjs) and
// the Node side of the persistence tests (persist.mjs): no browser or Node API beyond
// setTimeout and performance.now.

export class AssertionError extends Error {}
export function assert(cond, msg) {
  if (!cond) throw new AssertionError(msg);
}
export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
/** Polls `pred` every 20 ms until truthy (returns its value) or `ms` pass (throws `what`);
 *  for waits with no event to await (a server's log, a store written by a record). */
export async function until(pred, what, ms = 15_000) {
  const end = performance.now() + ms;
  for (;;) {
    const v = await pred();
    if (v) return v;
    if (performance.now() > end) throw new AssertionError(`timed out waiting for ${what}`);
    await sleep(20);
  }
}
