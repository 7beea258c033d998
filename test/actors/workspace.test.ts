import { existsSync } from 'node:fs'
import { readdir, writeFile } from 'node:fs/promises'
import { join, relative } from 'node:path'
import fc from 'fast-check'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { createWorkspaces, safeTaskDir } from '../../src/actors/workspace.ts'
import { tempDir } from './executorKit.ts'

let root: string
let remove: () => Promise<void>

beforeEach(async () => {
  ;({ dir: root, remove } = await tempDir('hive-ws-'))
})
afterEach(() => remove())

const isSafe = (name: string) =>
  name !== '.' && name !== '..' && !name.includes('/') && !name.includes('\0') && name.length <= 120

describe('createWorkspaces', () => {
  it('createWorkspaces - makes root/<task>/<attempt> and cleans up every attempt of a task', async () => {
    const ws = createWorkspaces(root)
    const a1 = await ws.forTask('build', 1)
    const a2 = await ws.forTask('build', 2)
    expect(a1).toBe(join(root, 'build', '1'))
    expect(await ws.forTask('build', 1)).toBe(a1)
    await writeFile(join(a2, 'out.txt'), 'x')
    await ws.forTask('other', 1)
    await ws.cleanup('build')
    expect(existsSync(join(root, 'build'))).toBe(false)
    expect(await readdir(root)).toEqual(['other'])
  })

  it('createWorkspaces - hostile task ids stay inside the root', async () => {
    const ws = createWorkspaces(root)
    for (const id of ['../../etc', '..', '.', '/abs/path', 'a/../../b', 'x\\..\\y']) {
      const dir = await ws.forTask(id, 1)
      const parts = relative(root, dir).split('/')
      expect(parts, `${id} -> ${dir}`).toHaveLength(2)
      expect(isSafe(parts[0]), `${id} -> ${dir}`).toBe(true)
    }
    await ws.cleanup('..')
    expect(existsSync(root)).toBe(true)
  })

  it('createWorkspaces - refuses a non-positive attempt', async () => {
    await expect(createWorkspaces(root).forTask('t', 0)).rejects.toThrow(/positive integer/)
  })

  it('createWorkspaces - lazy makes the directory on first use only, at the same path as forTask', async () => {
    const ws = createWorkspaces(root)
    const dir = ws.lazy('quick', 2)
    expect(existsSync(join(root, 'quick'))).toBe(false)
    expect(dir()).toBe(join(root, 'quick', '2'))
    expect(existsSync(join(root, 'quick', '2'))).toBe(true)
    expect(dir()).toBe(await ws.forTask('quick', 2))
    expect(() => ws.lazy('quick', 0)).toThrow(RangeError)
  })

  it('safeTaskDir - property: names are path-safe and distinct ids get distinct names', () => {
    const ids = fc.string({
      unit: fc.constantFrom('a', 'b', '.', '/', '_', '~', '-', '2', 'e', 'é'),
      minLength: 1,
      maxLength: 8,
    })
    fc.assert(
      fc.property(ids, ids, (a, b) => {
        expect(isSafe(safeTaskDir(a))).toBe(true)
        if (a !== b) expect(safeTaskDir(a)).not.toBe(safeTaskDir(b))
      }),
      { numRuns: 1000 },
    )
  })

  it('safeTaskDir - mutant check: the property catches replacing unsafe characters with "_"', () => {
    const lossy = (id: string) => id.replace(/[^A-Za-z0-9._-]/g, '_')
    const ids = fc.string({ unit: fc.constantFrom('a', '/', '_'), minLength: 1, maxLength: 4 })
    const distinct = (name: (id: string) => string) =>
      fc.property(ids, ids, (a, b) => a === b || name(a) !== name(b))
    expect(fc.check(distinct(safeTaskDir), { numRuns: 300 }).failed).toBe(false)
    expect(fc.check(distinct(lossy), { numRuns: 300 }).failed).toBe(true)
  })

  it('safeTaskDir - long ids are shortened with a hash and stay distinct', () => {
    const long = 'x'.repeat(300)
    expect(safeTaskDir(long)).toHaveLength(120)
    expect(safeTaskDir(long)).not.toBe(safeTaskDir(`${long}y`))
    expect(safeTaskDir('plain-id_1.2')).toBe('plain-id_1.2')
  })
})
