#!/usr/bin/env node
// Compiles src/ to dist/ (run by `npm ci` through `prepare`, or `npm run build`), so `hive`
// starts without compiling TypeScript on every run: bin/hive.js uses dist/ while it is newer
// than every file under src/, and the sources through tsx otherwise. Without the compiler (an
// install without dev dependencies) or when the build fails, it says so and leaves the sources
// to tsx.
import { execFileSync } from 'node:child_process'
import { cpSync, existsSync, rmSync, writeFileSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'

const root = join(dirname(fileURLToPath(import.meta.url)), '..')
const tsc = join(root, 'node_modules', '.bin', 'tsc')
const dist = join(root, 'dist')

if (!existsSync(tsc)) {
  console.log(
    'build: no TypeScript compiler (dev dependencies not installed); hive will run its sources through tsx',
  )
  process.exit(0)
}
rmSync(dist, { recursive: true, force: true })
try {
  execFileSync(tsc, ['-p', join(root, 'tsconfig.build.json')], { stdio: 'inherit' })
} catch {
  // An install must not fail for want of a build: without the stamp, hive runs the sources (and
  // `npm test` fails on the same type errors, in its type check and in test/cli/compiledBuild).
  console.log('build: the TypeScript build failed (above); hive will run its sources through tsx')
  process.exit(0)
}
// Files the code reads at run time next to itself.
cpSync(join(root, 'src', 'workflow', 'templates'), join(dist, 'src', 'workflow', 'templates'), {
  recursive: true,
})
// Written last: bin/hive.js trusts dist/ only when this stamp is newer than every source file.
writeFileSync(join(dist, '.built'), `${new Date().toISOString()}\n`)
console.log('build: compiled src/ to dist/')
