/// <reference types="vite/client" />

/**
 * The courier page reads its message types from src/live/courier-messages.ts, which also parses frames
 * as Node Buffers on the server; the pages never call that, and need only the name.
 */
interface Buffer extends Uint8Array {
  toString(encoding?: string): string;
}
