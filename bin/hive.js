#!/usr/bin/env node
// Runs the compiled build (dist/, made by `npm ci` through `prepare`) when it is up to date with
// src/, and otherwise the TypeScript sources directly through tsx, so `npx hive` always runs the
// code as it is. HIVE_FROM_SOURCE=1 forces the sources.
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { builtIsFresh } from './builtIsFresh.js'

const root = join(dirname(fileURLToPath(import.meta.url)), '..')
if (process.env.HIVE_FROM_SOURCE !== '1' && builtIsFresh(root)) {
  await import('../dist/src/cli/main.js')
} else {
  const { register } = await import('tsx/esm/api')
  register()
  await import('../src/cli/main.ts')
}
