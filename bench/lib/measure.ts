/**
 * Measuring helpers shared by the benchmarks: CPU-timed samples, closed-loop request drivers
 * (keep N outstanding for a fixed time), percentiles and number formatting.
 */

/** One measurement: operations per second, and this process's CPU microseconds per operation. */
export interface Sample {
  rate: number
  cpuUs: number
}

/** Runs `work` (which resolves with how many operations it did) and measures it. */
export async function sample(work: () => Promise<number>): Promise<Sample> {
  const cpu0 = process.cpuUsage()
  const t0 = performance.now()
  const n = await work()
  const seconds = (performance.now() - t0) / 1000
  const cpu = process.cpuUsage(cpu0)
  return { rate: n / seconds, cpuUs: (cpu.user + cpu.system) / n }
}

/**
 * Closed loop: keeps `inFlight` requests outstanding for `ms` (each worker issues its next request
 * when the previous one resolves); resolves with the number completed. With `latencies`, pushes
 * each request's submit→resolve time in ms.
 */
export async function roundTrips(
  request: () => Promise<unknown>,
  inFlight: number,
  ms: number,
  latencies?: number[],
): Promise<number> {
  let done = 0
  const end = performance.now() + ms
  const worker = async () => {
    for (let t = performance.now(); t < end; ) {
      await request()
      done++
      const after = performance.now()
      latencies?.push(after - t)
      t = after
    }
  }
  await Promise.all(Array.from({ length: inFlight }, worker))
  return done
}

/** The `p`-th percentile (0..100) of `xs`, nearest rank; sorts `xs` in place. NaN when empty. */
export function percentile(xs: number[], p: number): number {
  if (xs.length === 0) return Number.NaN
  xs.sort((a, b) => a - b)
  const rank = Math.ceil((p / 100) * xs.length) - 1
  return xs[Math.min(xs.length - 1, Math.max(0, rank))]
}

/** An integer with thousands separators, right-aligned in 10 columns. */
export const fmt = (n: number): string => Math.round(n).toLocaleString('en-US').padStart(10)

/** Rounds to 3 decimals (ratios in JSON output). */
export const round3 = (x: number): number => Math.round(x * 1000) / 1000

/** Reads `--name value` from argv as a number, or `dflt`. */
export function numberArg(args: string[], name: string, dflt: number): number {
  const i = args.indexOf(`--${name}`)
  return i >= 0 ? Number(args[i + 1]) : dflt
}

/** Reads `--name value` from argv as a string. */
export function stringArg(args: string[], name: string): string | undefined {
  const i = args.indexOf(`--${name}`)
  return i >= 0 ? args[i + 1] : undefined
}
