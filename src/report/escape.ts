/**
 * Text made safe for the report's HTML: everything a user controls (node, interface and
 * program names, file paths, drop comments, C source lines) goes through these, never raw.
 */

const HTML: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };

/** Text for an HTML element's content or a quoted attribute's value (HTML and SVG alike). */
export const escapeHtml = (text: string): string => text.replace(/[&<>"']/g, (c) => HTML[c]);

/**
 * JSON for a `<script type="application/json">` element: `<`, `>` and `&` as \u escapes (so
 * no `</script>` or `<!--` can end or change the element), and U+2028/U+2029 too.
 */
export const jsonForScript = (value: unknown): string =>
  JSON.stringify(value).replace(/[<>&\u2028\u2029]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);

/** Code or CSS inlined in a `<script>` / `<style>` element: a closing tag inside it is broken up. */
export const inlineSafe = (code: string, tag: 'script' | 'style'): string => code.replace(new RegExp(`</(${tag})`, 'gi'), '<\\/$1');
