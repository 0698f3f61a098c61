// Types for hazel.js, hazel's WebSocket client (wire protocol v1).

export declare const VERSION: 1;
export declare const HEADER_SIZE: 16;
export declare const SUBPROTOCOL: 'hazel.v1';

export declare const KIND: Readonly<{ REQUEST: 1; REPLY: 2; SEND: 3; PUSH: 4; GOODBYE: 5 }>;
export declare const STATUS: Readonly<{
  OK: 0; BAD_REQUEST: 1; NO_SERVICE: 2; NO_OP: 3; NOT_FOUND: 4; TIMEOUT: 5;
  UNAVAILABLE: 6; TOO_LARGE: 7; BUSY: 8; INTERNAL: 9; DENIED: 10;
}>;
export declare const GOODBYE: Readonly<{
  PROTOCOL: 1; TOO_LARGE: 2; IDLE: 3; SLOW: 4; SHUTDOWN: 5; FULL: 6; KICKED: 7; LIMIT: 8;
}>;
export declare const SERVICE: Readonly<{ SYS: 0; ECHO: 1; KV: 2; ROOM: 3 }>;
export declare const SYS: Readonly<{
  PING: 1; HELLO: 2; RESOLVE: 3; SERVICES: 4; INFO: 5; TELL: 6; AUTH: 7;
}>;
export declare const ECHO: Readonly<{ ECHO: 1 }>;
export declare const KV: Readonly<{ GET: 1; SET: 2; DEL: 3; INCR: 4 }>;
export declare const ROOM: Readonly<{ JOIN: 1; LEAVE: 2; PUBLISH: 3; MEMBERS: 4 }>;

/** 'NOT_FOUND' for 4; an unknown code as its number. */
export declare function statusName(status: number): string;
export declare function goodbyeName(code: number): string;

/** A body: text (sent as UTF-8) or bytes. */
export type Body = string | Uint8Array | ArrayBuffer | ArrayBufferView | null | undefined;
/** A client id: a u64. */
export type ClientId = bigint;

export declare function toBytes(body: Body): Uint8Array;
export declare function text(bytes: Uint8Array): string;

export interface Frame {
  kind: number;
  service: number;
  code: number;
  session: number;
  body: Uint8Array;
}
export declare function encodeFrame(kind: number, service: number, code: number,
                                    session: number, body?: Body): Uint8Array;
/** Throws unless `bytes` is exactly one frame of a kind servers send. */
export declare function decodeFrame(bytes: Uint8Array): Frame;

export declare class HazelError extends Error {
  /** The REPLY's status, when the server answered. */
  status?: number;
  statusName?: string;
  /** A status name, or 'TIMEOUT' (no reply in time) / 'CLOSED'. */
  code?: string;
  body?: Uint8Array;
}

export interface Reply {
  status: number;
  readonly statusName: string;
  readonly ok: boolean;
  body: Uint8Array;
  readonly text: string;
  service: number;
}

export interface Push {
  service: number;
  code: number;
  body: Uint8Array;
}

export interface Goodbye {
  code: number;
  name: string;
  reason: string;
}

export interface CloseInfo {
  code: number;
  reason: string;
  goodbye: Goodbye | null;
}

export interface RoomMessage {
  room: string;
  from: ClientId;
  payload: Uint8Array;
  readonly text: string;
}

export interface Tell {
  from: ClientId;
  payload: Uint8Array;
  readonly text: string;
}

export interface Hello {
  protocol: number;
  server: string;
  client: ClientId;
  worker: number;
  maxFrame: number;
  idleTimeoutMs: number;
  [key: string]: unknown;
}

export declare function parseRoomMessage(push: Push): RoomMessage;
export declare function parseTell(push: Push): Tell;

export interface ConnectOptions {
  /** ms a call waits for its REPLY (default 10000). */
  timeout?: number;
  /** sys PING below the server's idle timeout (default true). */
  keepalive?: boolean;
  /** A WebSocket implementation (default globalThis.WebSocket). */
  WebSocket?: typeof WebSocket;
}

export declare class Client {
  /** HELLO's keys. */
  info: Hello | null;
  id: ClientId | null;
  goodbye: Goodbye | null;
  closed: boolean;
  timeout: number;

  call(service: number, op: number, body?: Body, options?: { timeout?: number }): Promise<Reply>;
  send(service: number, op: number, body?: Body): void;
  onPush(fn: (push: Push) => void): () => void;
  onGoodbye(fn: (goodbye: Goodbye) => void): () => void;
  onClose(fn: (info: CloseInfo) => void): () => void;
  onTell(fn: (tell: Tell) => void): () => void;
  close(): void;

  hello(): Promise<Hello>;
  /** Round trip in ms. */
  ping(data?: Body): Promise<number>;
  /** False if there is no such client. */
  tell(to: ClientId | number, payload?: Body): Promise<boolean>;
  echo(body?: Body): Promise<Uint8Array>;
  serverInfo(): Promise<Record<string, number>>;
  auth(token: string): Promise<Record<string, string>>;

  kv: {
    /** null if absent. */
    get(key: Body): Promise<Uint8Array | null>;
    set(key: Body, value: Body, options?: { ttl?: number }): Promise<void>;
    /** True if it was there. */
    del(key: Body): Promise<boolean>;
    incr(key: Body, delta?: bigint | number): Promise<bigint>;
  };
  room: {
    /** Members after joining. */
    join(name: Body): Promise<number>;
    /** False if not a member. */
    leave(name: Body): Promise<boolean>;
    /** Members it was delivered to. */
    publish(name: Body, payload?: Body): Promise<number>;
    members(name: Body): Promise<ClientId[]>;
    onMessage(fn: (message: RoomMessage) => void): () => void;
  };
}

export declare function connect(url: string, options?: ConnectOptions): Promise<Client>;
