// Type declarations for switchboard.js (protocol v1, docs/protocol.md).

export interface BackoffOptions {
  /** Cap of the first reconnect delay, in ms (default 250). */
  initialMs?: number;
  /** Largest cap; the cap doubles per failed attempt up to this (default 5000). */
  maxMs?: number;
}

export interface ClientOptions {
  /** WebSocket URL. Default in a browser: ws(s)://<page host>/ws. Required in Node. */
  url?: string;
  /** WebSocket implementation (Node: the 'ws' package). Default globalThis.WebSocket. */
  WebSocket?: unknown;
  /** Extra handshake headers for Node clients, e.g. { Cookie: 'sb.sid=…' }. */
  headers?: Record<string, string>;
  backoff?: BackoffOptions;
  /**
   * How long a call may wait for its reply, time queued before `ready` included,
   * before it fails with 'timeout' (default 30000). A positive number or Infinity.
   */
  rpcTimeoutMs?: number;
  /**
   * Token authentication instead of the session cookie (docs/protocol.md "Token
   * authentication"): a signed token, or a function returning one (or a Promise of
   * one), called before every connect. The server's close 4401 (invalid token) stops
   * the client; 4402 (expired) makes a token function fetch a new token and connect
   * again at once, and stops a client given a fixed string.
   */
  token?: string | (() => string | Promise<string>);
}

/** The error an RPC rejects with: the server's reply.err, or a client-side code. */
export interface RpcError extends Error {
  /** Server codes (docs/protocol.md) or client codes 'disconnected' | 'closed' | 'timeout' | 'bad_request'. */
  code: string;
}

export type Handler = (...args: any[]) => void;

export interface Emitter<Name extends string = string> {
  on(name: Name, fn: Handler): this;
  once(name: Name, fn: Handler): this;
  /** Removes fn, or every handler of name, or (no arguments) everything. */
  off(name?: Name, fn?: Handler): this;
}

export interface ServerEvents {
  /** 'ready' (), 'reconnect' (), 'disconnect' (closeCode, reason), 'error' ({code, message}). */
  on(name: 'ready' | 'reconnect', fn: () => void): this;
  on(name: 'disconnect', fn: (closeCode: number, reason: string) => void): this;
  on(name: 'error', fn: (err: { code?: string; message?: string }) => void): this;
  once(name: 'ready' | 'reconnect', fn: () => void): this;
  once(name: 'disconnect', fn: (closeCode: number, reason: string) => void): this;
  once(name: 'error', fn: (err: { code?: string; message?: string }) => void): this;
  off(name?: 'ready' | 'reconnect' | 'disconnect' | 'error', fn?: Handler): this;
}

export type Callback<T = any> = (err: RpcError | null, result?: T) => void;

export interface Client {
  /** Events from the server; a channel event's handler gets (...args, channelName). */
  readonly event: Emitter;
  readonly server: ServerEvents;
  /** Calls a server method with a trailing Node-style callback; returns nothing. */
  rpc<T = any>(method: string, ...argsThenCallback: [...any[], Callback<T>]): void;
  /** Calls a server method; resolves with reply.r. Queued while disconnected. */
  rpc<T = any>(method: string, ...args: any[]): Promise<T>;
  /** The socketId from the latest ready frame (undefined before the first). */
  readonly socketId: string | undefined;
  /** True between a ready frame and the socket closing. */
  readonly connected: boolean;
  /**
   * Drops the current connection and connects again at once (no backoff delay): for
   * an app whose network changed, and for tests. Calls awaiting a reply fail with
   * 'disconnected'; 'disconnect' (1000, 'client reconnect') is emitted if it was ready.
   */
  reconnect(): void;
  /** Closes for good: no reconnect; pending and queued calls fail with 'closed'. */
  close(): void;
}

export function createClient(options?: ClientOptions): Client;
/** Alias of createClient. */
export const connect: typeof createClient;
export default createClient;
