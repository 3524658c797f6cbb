// Polls a condition (work done by a job worker, a server in another process) until it holds,
// failing with a clear message after a bounded time rather than at the test timeout.
export async function until(check: () => Promise<boolean>, timeoutMs = 15_000, what = 'condition'): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await check()) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`${what} not met in ${timeoutMs} ms`);
}
