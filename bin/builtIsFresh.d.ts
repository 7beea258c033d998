/** Whether dist/.built under `root` is newer than every file under `root`/src. */
export function builtIsFresh(root: string): boolean
