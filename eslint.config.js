// ESLint (flat config): the recommended rules of ESLint and typescript-eslint, and the project's
// own: no `new Error` in src/ (every error xdplab throws is an XdplabError, errors.ts).
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

/** What Node gives every module (the .js and .mjs files; TypeScript knows them itself). */
const nodeGlobals = Object.fromEntries([
  'process', 'console', 'Buffer', 'URL', 'URLSearchParams', 'setTimeout', 'clearTimeout', 'setInterval', 'clearInterval',
  'setImmediate', 'performance', 'WebAssembly', 'TextEncoder', 'TextDecoder', 'queueMicrotask', 'structuredClone', 'globalThis',
].map((name) => [name, 'readonly']));

export default tseslint.config(
  { ignores: ['dist/', 'out/', 'node_modules/', '**/*.d.ts', 'native/*/build/'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: { globals: nodeGlobals },
    rules: {
      // `_name`: unused on purpose (a parameter a signature needs).
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
    },
  },
  {
    files: ['src/**/*.ts'],
    rules: {
      'no-restricted-syntax': ['error', {
        selector: "NewExpression[callee.name='Error'], CallExpression[callee.name='Error']",
        message: 'throw an XdplabError (or a subclass) with a stable code, not a bare Error (src/errors.ts)',
      }],
    },
  },
);
