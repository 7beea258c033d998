// Plain-node tests: `node test/slugify.test.mjs` exits 1 when any case fails.
import assert from 'node:assert/strict'
import { slugify } from '../src/slugify.mjs'

const cases = [
  ['hello', 'hello'],
  ['Hello World', 'hello-world'],
  ['  Trim me  ', 'trim-me'],
]

let failed = 0
for (const [input, want] of cases) {
  try {
    assert.equal(slugify(input), want)
  } catch (e) {
    failed++
    console.error(`FAIL slugify(${JSON.stringify(input)}): ${e.message.split('\n')[0]}`)
  }
}
console.error(`${cases.length - failed}/${cases.length} passed`)
process.exit(failed === 0 ? 0 : 1)
