/**
 * A skipped test says why in its title: `titled('equals bpftool btf dump file', why)` is the
 * title itself when `why` is undefined (the test runs), else `… — skipped: ${why}`, for
 * `it.skipIf(why !== undefined)(titled(…, why), …)`. Never an empty test that passes instead.
 */
export const titled = (title: string, why: string | undefined): string => (why === undefined ? title : `${title} — skipped: ${why}`);
