// Whether dist/ (see scripts/build.mjs) was built after the last change under src/: the stamp
// dist/.built is newer than every file under src/. A source edited, pulled or checked out
// since makes it stale, and hive then runs the sources instead of an old build.
import { readdirSync, statSync } from 'node:fs'
import { join } from 'node:path'

/** @param {string} root the package's directory */
export function builtIsFresh(root) {
  let built
  try {
    built = statSync(join(root, 'dist', '.built')).mtimeMs
  } catch {
    return false
  }
  const newer = (dir) => {
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      const path = join(dir, entry.name)
      if (entry.isDirectory() ? newer(path) : statSync(path).mtimeMs > built) return true
    }
    return false
  }
  return !newer(join(root, 'src'))
}
