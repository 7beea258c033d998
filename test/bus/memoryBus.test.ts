import { memoryBusFactory } from '../helpers/busFactories.ts'
import { busContract } from './busContract.ts'

busContract('MemoryBus', memoryBusFactory())
