export * from './catalogue.ts'
export { decode, encode, validate } from './codec.ts'
export {
  type Bus,
  type BusStats,
  createBus,
  DEAD_LETTER_MAX_BYTES,
  expectType,
  type Handler,
  type Reply,
  type Subscription,
} from './createBus.ts'
export { createMemoryBus } from './createMemoryBus.ts'
export { type AnyEnvelope, type Envelope, envelope, newId, PROTOCOL_VERSION } from './envelope.ts'
export * from './errors.ts'
export { createNatsBus, type NatsOptions } from './NatsBus.ts'
export { type Address, assertToken, subject, subjectMatches } from './subjects.ts'
export type { BusStatus } from './transport.ts'
