import { mkdirSync, mkdtempSync, rmSync, utimesSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { builtIsFresh } from '../../bin/builtIsFresh.js'

describe('builtIsFresh (which code bin/hive.js runs)', () => {
  const dirs: string[] = []
  afterEach(() => {
    for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true })
  })

  /** A package with src/a.ts and src/deep/b.ts at time 1000 s, and a stamp at `stamp` s if given. */
  function pkg(stamp?: number): string {
    const root = mkdtempSync(join(tmpdir(), 'hive-built-'))
    dirs.push(root)
    mkdirSync(join(root, 'src', 'deep'), { recursive: true })
    for (const f of ['a.ts', 'deep/b.ts']) {
      writeFileSync(join(root, 'src', f), '')
      utimesSync(join(root, 'src', f), 1000, 1000)
    }
    if (stamp !== undefined) {
      mkdirSync(join(root, 'dist'))
      writeFileSync(join(root, 'dist', '.built'), '')
      utimesSync(join(root, 'dist', '.built'), stamp, stamp)
    }
    return root
  }

  it('builtIsFresh - a build stamped after every source is used', () => {
    expect(builtIsFresh(pkg(2000))).toBe(true)
  })

  it('builtIsFresh - no build, or a stamp older than a source, means run the sources', () => {
    expect(builtIsFresh(pkg())).toBe(false)
    expect(builtIsFresh(pkg(500))).toBe(false)
  })

  it('builtIsFresh - a source edited after the build, however deep, makes it stale', () => {
    const root = pkg(2000)
    utimesSync(join(root, 'src', 'deep', 'b.ts'), 3000, 3000)
    expect(builtIsFresh(root)).toBe(false)
  })
})
