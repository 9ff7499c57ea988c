// No React plugin (none among the repo's pinned devDependencies): Vite's own transform
// compiles the TSX with React's automatic JSX runtime.
import { defineConfig } from 'vite';

export default defineConfig({
  oxc: { jsx: { runtime: 'automatic' } },
  build: { target: 'es2022' },
});
