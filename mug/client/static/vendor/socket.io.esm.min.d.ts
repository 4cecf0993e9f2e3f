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

// Socket.IO payloads cross a trust boundary: the listener's parameters are the server's JSON.
export type Listener = (...args: any[]) => void;

export interface Socket {
  readonly id: string | undefined;
  readonly connected: boolean;
  connect(): this;
  disconnect(): this;
  on(event: string, listener: Listener): this;
  off(event: string, listener?: Listener): this;
  emit(event: string, ...args: unknown[]): this;
  /** A socket whose next emitWithAck rejects with an Error after `ms` milliseconds without an ack. */
  timeout(ms: number): Socket;
  emitWithAck(event: string, ...args: unknown[]): Promise<unknown>;
}

export function io(opts?: ManagerOptions): Socket;
export function io(uri: string, opts?: ManagerOptions): Socket;
export { io as connect };
export default io;
