// Types for the part of the vendored socket.io-client 4.8.4 ESM build (socket.io.esm.min.js) that the page
// uses; written for MUG's type check (tsconfig.json), not shipped by socket.io. Event payloads are whatever
// the server sent: listeners receive them untyped and narrow them (see wire.js).

export interface ManagerOptions {
  path?: string;
  autoConnect?: boolean;
  reconnection?: boolean;
  reconnectionDelay?: number;
  reconnectionDelayMax?: number;
  timeout?: number;
  transports?: string[];
}

// Socket.IO payloads cross a trust boundary: an untyped socket's listeners get the server's JSON as `any`.
export type Listener = (...args: any[]) => void;
// Listeners by event name, like socket.io-client's own `Socket<ListenEvents>` (wire.js declares the page's).
export type EventsMap = { [event: string]: Listener };

export interface Socket<Listen extends EventsMap = EventsMap> {
  readonly id: string | undefined;
  readonly connected: boolean;
  connect(): this;
  disconnect(): this;
  on<E extends keyof Listen & string>(event: E, listener: Listen[E]): this;
  off<E extends keyof Listen & string>(event: E, listener?: Listen[E]): this;
  emit(event: string, ...args: unknown[]): this;
  /** The same socket, whose next emitWithAck rejects with an Error after `ms` milliseconds without an ack. */
  timeout(ms: number): this;
  emitWithAck(event: string, ...args: unknown[]): Promise<unknown>;
}

export function io<Listen extends EventsMap = EventsMap>(opts?: Partial<ManagerOptions>): Socket<Listen>;
export function io<Listen extends EventsMap = EventsMap>(uri: string, opts?: Partial<ManagerOptions>): Socket<Listen>;
export { io as connect };
export default io;
